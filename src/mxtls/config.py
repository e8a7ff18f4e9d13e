"""Configuration: the settings of a runtime and the defaults of its checks.

``CheckConfig`` is frozen; front ends build it once, a
:class:`~mxtls.engine.runtime.Runtime` is built from it (one resolver, one
trust store, one clock for every check), and the engine hands the same
object to every probe and check, so a lookup for an MX, a TLSA record or the
mta-sts host all go to the same place.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mxtls.errors import ConfigError
from mxtls.net.guard import ALLOW_ALL, AddressPolicy

if TYPE_CHECKING:  # the SASL module loads scramp: not at start-up (``mxtls --help``)
    from mxtls.exclusions import Exclusions
    from mxtls.protocol.sasl import Credentials

SUBMISSION_PORTS = frozenset({465, 587})  # RFC 8314, RFC 6409: where users authenticate
PING_MAX_SESSIONS = 100  # `mxtls ping`: sessions one run may open
PING_MIN_INTERVAL_S = 0.5  # a mail server sees at most two sessions a second from `mxtls ping`
MX_PORTS = (25,)  # RFC 5321 §4.5.4.1 / RFC 3207: MX hosts receive mail on port 25
SERVER_PORTS = (25, 465, 587)  # `mxtls server`: relay, submissions (RFC 8314), submission
DEFAULT_PORTS = MX_PORTS  # what `check` probes on every MX host unless --ports says otherwise
IMPLICIT_TLS_PORTS = frozenset({465, 993, 995})  # RFC 8314 §3.3: submissions, imaps, pop3s
MailProtocol = Literal["smtp", "imap", "pop3"]
# The protocol-by-port rule of the CLI contract (`mxtls server`): 143/993 IMAP,
# 110/995 POP3, any other port (25, 465, 587, 2525 …) SMTP, unless --protocol says so.
PORT_PROTOCOLS: dict[int, MailProtocol] = {143: "imap", 993: "imap", 110: "pop3", 995: "pop3"}


def protocol_for_port(port: int) -> MailProtocol:
    """The protocol a port speaks by the contract's rule (SMTP unless IMAP's or POP3's)."""
    return PORT_PROTOCOLS.get(port, "smtp")


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeouts:
    """Per-step time bounds in seconds (httpx-style: one number per phase)."""

    dns: float = 5.0
    connect: float = 10.0
    banner: float = 15.0
    command: float = 10.0
    handshake: float = 10.0
    https: float = 10.0
    endpoint_total: float = 60.0
    # The whole check: no endpoint probe starts or runs past it (a hostile DNS can
    # name 20 MX hosts x 16 addresses that all stall; without this bound a check
    # could take hours).  A DNS lookup under way ends within its own bound.
    check_total: float = 300.0

    @classmethod
    def uniform(cls, seconds: float) -> Timeouts:
        """All network steps bounded by ``seconds`` (``--timeout``); totals scale with it."""
        return cls(
            dns=seconds,
            connect=seconds,
            banner=seconds,
            command=seconds,
            handshake=seconds,
            https=seconds,
            endpoint_total=max(seconds * 6, seconds + 1),
            check_total=max(seconds * 30, seconds + 1),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Size and concurrency bounds that keep a hostile peer from exhausting us."""

    max_line_bytes: int = 4096  # RFC 5321 §4.5.3.1.5 says 512 for replies; be lenient, stay bounded
    max_reply_lines: int = 100
    max_transcript_lines: int = 400
    per_address_connections: int = 4  # 25, 465, 587 and the SNI-less handshake at once
    total_connections: int = 64
    throttle_backoff: float = 2.0  # seconds an address is left alone after it throttled us
    throttle_backoff_max: float = 60.0  # the pause doubles with each further pushback up to this
    dns_cache_entries: int = 10_000  # DNS answers (and DNSSEC states) a runtime keeps
    # Bulk scans (mxtls scan) set these; a single check leaves them off.
    network_prefix_v4: int = 32  # addresses in one such network share the per-address slots
    network_prefix_v6: int = 128
    connection_gap: float = 0.0  # least seconds between connection starts to one address
    connection_rate: float | None = None  # most new connections per second in the runtime
    throttle_retries: int = 0  # probes of an endpoint that throttled us, after its pause
    endpoint_reuse_s: float = 0.0  # an endpoint's observation serves other checks this long
    endpoint_cache_entries: int = 4096  # endpoint observations a runtime keeps for reuse
    max_mx_hosts: int = 20
    max_addresses_per_host: int = 16


def default_ehlo_name() -> str:
    """The machine's FQDN when it looks like one, else a sane fallback."""
    try:
        name = socket.getfqdn()
    except OSError:  # pragma: no cover - depends on the host's resolver
        name = ""
    if name and "." in name and not name.endswith(".localdomain") and name != "localhost":
        return name.rstrip(".")
    return "mxtls.invalid"


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckConfig:
    """Everything a run needs; immutable.

    Attributes:
        nameservers: ``(host, port)`` pairs; empty means the system resolver.
        ca_file: PEM bundle that *replaces* the default trust store (certifi).
        ports: logical SMTP ports to probe on every MX host (default: 25, the
            relay path; submission servers come from RFC 6186 SRV records).
        port_map: logical port -> local port actually connected (lab/testing).
        ehlo_name: the name sent in EHLO/HELO.
        warn_days: ``cert.expiring_soon`` threshold.
        now: a fixed clock (None: the wall clock, read once per check).
        check_nosni: also fetch the certificate without SNI (``cert.sni_differs``).
        dnssec_validate: validate DNSSEC in-process from ``trust_anchor``
            instead of trusting the resolver's AD bit.
        trust_anchor: DS/DNSKEY records (zone-file text) to validate from;
            None means the IANA root KSK built into mxtls.
        deep: run the deep TLS scan (protocols, ciphers, groups, flaws).
        auth: credentials for SMTP AUTH inside TLS (``--auth-user``); tried
            only on ``auth_ports`` and never in clear.  The secret never shows.
        auth_ports: the logical ports where ``auth`` is tried (None: every
            SMTP port, for servers the user named).
        auth_check_plaintext: test with throw-away credentials whether a
            STARTTLS port takes AUTH before TLS (``--auth-check-plaintext``).
        implicit_ports: ports where TLS starts with the first byte (RFC 8314
            §3.3); an SRV ``_submissions`` record adds the port it names.
        port_protocols: what each port speaks, where it is not SMTP
            (``((993, "imap"),)``); empty means SMTP everywhere (`check`'s MX
            hosts).  `mxtls server` fills it by the port rule or ``--protocol``.
        deadline: when the check's ``timeouts.check_total`` runs out, on the
            event loop's clock (``time.monotonic``); set by the runtime as a
            check begins, None outside a check.
        address_policy: where the run may connect (every connection asks it,
            :mod:`mxtls.net.guard`); the default allows every address.
        exclude: the opt-out list (domains, host names, address ranges) that
            no probe may contact (see :mod:`mxtls.engine.exclude`).
    """

    nameservers: tuple[tuple[str, int], ...] = ()
    ca_file: Path | None = None
    ports: tuple[int, ...] = DEFAULT_PORTS
    port_map: tuple[tuple[int, int], ...] = ()
    ehlo_name: str = field(default_factory=default_ehlo_name)
    warn_days: int = 30
    now: datetime | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)
    check_nosni: bool = True
    ipv4: bool = True
    ipv6: bool = True
    dnssec_validate: bool = False
    trust_anchor: Path | None = None
    deep: bool = False
    auth: Credentials | None = None
    auth_ports: frozenset[int] | None = SUBMISSION_PORTS
    auth_check_plaintext: bool = False
    implicit_ports: frozenset[int] = IMPLICIT_TLS_PORTS
    port_protocols: tuple[tuple[int, MailProtocol], ...] = ()
    deadline: float | None = None
    address_policy: AddressPolicy = ALLOW_ALL
    exclude: Exclusions | None = None

    def connect_port(self, port: int) -> int:
        """The local port to connect to for logical ``port`` (``--port-map``)."""
        for logical, actual in self.port_map:
            if logical == port:
                return actual
        return port

    def tries_auth(self, port: int) -> bool:
        """Are the ``auth`` credentials tried on logical ``port``?"""
        if self.auth is None or self.protocol(port) != "smtp":
            return False
        return self.auth_ports is None or port in self.auth_ports

    def protocol(self, port: int) -> MailProtocol:
        """What logical ``port`` speaks (:attr:`port_protocols`, else SMTP)."""
        for logical, protocol in self.port_protocols:
            if logical == port:
                return protocol
        return "smtp"

    def tls_mode(self, port: int) -> str:
        """``implicit`` on :attr:`implicit_ports` (465, 993, 995), ``starttls`` otherwise."""
        return "implicit" if port in self.implicit_ports else "starttls"


def parse_nameserver(spec: str) -> tuple[str, int]:
    """Parse ``HOST[:PORT]``, ``[V6]:PORT`` or a bare IPv6 address.

    Raises:
        ConfigError: not an IP address or an invalid port.
    """
    spec = spec.strip()
    host, port = spec, 53
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0:
            raise ConfigError(f"invalid nameserver {spec!r}: missing ']'")
        host, rest = spec[1:end], spec[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ConfigError(f"invalid nameserver {spec!r}")
            port = _port(spec, rest[1:])
    elif spec.count(":") == 1:
        host, raw = spec.split(":")
        port = _port(spec, raw)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(
            f"invalid nameserver {spec!r}: give an IP address (optionally :PORT)"
        ) from None
    return host, port


def _port(spec: str, raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"invalid nameserver {spec!r}: bad port {raw!r}")
    return int(raw)
