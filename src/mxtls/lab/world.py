"""The lab world: DNS, SMTP and HTTPS listeners and certificates for every scenario, on loopback.

Theory of operation: :class:`Lab` reads the scenario table, gives each
host its own loopback address ``127.77.<scenario>.<m>`` (Linux routes all
of 127/8 to ``lo``; one host may also get ``::1``), issues its certificates
from a throwaway :class:`~mxtls.lab.ca.LabCA`, and starts one listener per
(address, logical port): SMTP on 25/465/587, IMAP on 143/993 and POP3 on
110/995 (:mod:`~mxtls.lab.mailbox_server`).  All hosts share the same local
port per logical port, picked at start: the first listener of a logical
port binds port 0 and the others reuse its number; if any bind fails,
everything is closed and a new set is tried.  A domain with an MTA-STS
policy gets a policy host ``mta-sts.<domain>`` at ``127.77.<scenario>.250``,
served by one HTTPS listener per policy host on one more shared port.  A
checker reaches every host with ``--port-map 25:P25 --port-map 465:P465 …
--port-map 995:P995 --port-map 443:P443`` (:meth:`Lab.cli_args`).  A row
with an account gets a mail user whose password the lab picks at start
(:meth:`Lab.account`); its submission listeners authenticate it.

The DNS server answers for ``lab.`` and one zone per scenario.  ``lab.``
delegates every scenario zone and is DNSSEC-signed; the scenario zones are
signed (validly or not) as their rows say, with their DS in ``lab.``
(:mod:`~mxtls.lab.dnssec`), and :attr:`Lab.trust_anchor` is the file with
``lab.``'s DS that a validator starts from.  TLSA records are computed from
the certificates the SMTP listeners actually serve.

Use it as ``async with Lab() as lab:`` inside a running loop, or
``with Lab() as lab:`` (a background thread with its own loop) from
synchronous code.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re
import secrets
import shutil
import socket
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import dns.name
import dns.reversename
import dns.zone
from cryptography.hazmat.primitives.serialization import Encoding

from mxtls.config import CheckConfig
from mxtls.lab.ca import Issued, LabCA
from mxtls.lab.dns_server import DnsFault, DnsServer
from mxtls.lab.dnssec import DnssecMode, SignedLab, sign_lab
from mxtls.lab.https_server import HttpsServer
from mxtls.lab.listeners import (
    ADDRESS_PREFIX,
    bind_listeners,
    bind_policy_hosts,
    listener_plan,
)
from mxtls.lab.mailbox_server import MailboxBehaviour
from mxtls.lab.sasl_server import LabAccount
from mxtls.lab.scenarios import (
    HTTPS_PORT,
    SCENARIOS,
    CertSpec,
    HostSpec,
    MtaStsSpec,
    Scenario,
    TlsaSpec,
)
from mxtls.lab.smtp_server import (
    CONNECTION_LIFETIME_S,
    SmtpBehaviour,
    SmtpMode,
    SmtpServer,
)
from mxtls.lab.synthetic import SYNTH_ZONE, SyntheticWorld
from mxtls.lab.zones import (
    DNS_HOST,
    ZONE_TTL_S,
    LabHost,
    PolicyHost,
    parent_zone_text,
    reverse_zone_text,
    scenario_zone_text,
)
from mxtls.protocol.sasl import Credentials, Secret
from mxtls.protocol.tlsa import generate_tlsa

REVERSE_ZONE = "77.127.in-addr.arpa."  # their PTR records (RFC 1035 §3.5)
POLICY_HOST_OCTET = 250  # mta-sts.<domain> lives at 127.77.<scenario>.250
OTHER_KEY_SLOT = 97  # a key no lab server uses (TLSA records that must not match)
TRUST_ANCHOR_FILE = "lab-trust-anchor.txt"
START_TIMEOUT_S = 30.0  # sync start() gives up after this
STOP_TIMEOUT_S = 10.0
_IP_PLACEHOLDER = re.compile(r"\{ip:([^}]+)\}")


class Lab:
    """A real local mail world for the scenarios (all of :data:`SCENARIOS` by default).

    Args:
        scenarios: the rows to serve (a subset starts faster).
        now: the CA's clock; certificates' validity is relative to it.
        ipv6: give the host that asks for it an AAAA ``::1`` (if ``::1`` works here).
        lifetime: bound on any SMTP or HTTPS connection, seconds.
        latency: simulated round trip per SMTP exchange, seconds (benchmarks).
        synthetic: also serve this many synthetic domains ``dN.synth.lab`` on a
            handful of MX hosts, or this world (:mod:`mxtls.lab.synthetic`).
    """

    def __init__(
        self,
        scenarios: Sequence[Scenario] | None = None,
        *,
        now: dt.datetime | None = None,
        ipv6: bool = True,
        lifetime: float = CONNECTION_LIFETIME_S,
        latency: float = 0.0,
        synthetic: int | SyntheticWorld = 0,
    ) -> None:
        rows = tuple(SCENARIOS if scenarios is None else scenarios)
        world = SyntheticWorld(synthetic) if isinstance(synthetic, int) and synthetic else synthetic
        self.synthetic = world if isinstance(world, SyntheticWorld) else None
        if self.synthetic is not None:
            rows = (*rows, self.synthetic.scenario())
        self._scenarios = {sc.domain: sc for sc in rows}
        if len(self._scenarios) != len(rows):
            raise ValueError("lab scenarios must have distinct domains")
        self._index = {sc.domain: i for i, sc in enumerate(SCENARIOS, 1)}
        self.now = now if now is not None else dt.datetime.now(dt.UTC)
        self.ca = LabCA(now=self.now)
        self.rogue_ca = LabCA(name="mxtls rogue root", now=self.now, slot=1)
        self.want_ipv6 = ipv6
        self.lifetime = lifetime
        self.latency = latency
        self.notes: list[str] = []  # what the lab had to leave out on this machine
        self.hosts: dict[str, LabHost] = {}
        self.policy_hosts: dict[str, PolicyHost] = {}
        self.dnssec: SignedLab | None = None  # the zone keys, once started
        self.accounts: dict[str, LabAccount] = {}  # scenario domain -> its mail account
        self._port_map: dict[int, int] = {}
        self._workdir: Path | None = None
        self._dns: DnsServer | None = None
        self._smtp: SmtpServer | None = None
        self._https: HttpsServer | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- what a checker needs ----------------------------------------------

    @property
    def nameserver(self) -> tuple[str, int]:
        """``(ip, port)`` of the lab's DNS server (UDP and TCP)."""
        return self.dns_server.address

    @property
    def port_map(self) -> dict[int, int]:
        """Logical port (25, 465, 587, 143, 993, 110, 995, 443) -> the local port of every host."""
        self._require_started()
        return dict(self._port_map)

    @property
    def https_port(self) -> int:
        """The local port of every MTA-STS policy host (logical port 443)."""
        return self.port_map[HTTPS_PORT]

    @property
    def trust_anchor(self) -> Path:
        """File with ``lab.``'s DS record in zone-file form: the DNSSEC trust anchor."""
        return self._require_started() / TRUST_ANCHOR_FILE

    @property
    def ca_file(self) -> Path:
        """PEM file with the lab root: the whole trust store for ``--ca-file``."""
        return self._require_started() / "lab-root.pem"

    @property
    def domains(self) -> list[str]:
        """The lab's scenario domains, in table order (the synthetic ones are not listed)."""
        return [d for d in self._scenarios if self.synthetic is None or d != SYNTH_ZONE]

    def scenario(self, domain: str) -> Scenario:
        """The scenario served for ``domain`` (name, description, expected codes).

        Raises:
            KeyError: not a domain of this lab.
        """
        try:
            return self._scenarios[domain.rstrip(".").lower()]
        except KeyError:
            raise KeyError(f"not a lab domain: {domain}") from None

    def account(self, domain: str) -> Credentials | None:
        """The mail account of ``domain``'s row (user and password), if it has one.

        The password is picked when the lab starts; the submission listeners
        of the row authenticate it (SMTP AUTH inside TLS only).

        Raises:
            KeyError: not a domain of this lab.
        """
        sc = self.scenario(domain)
        found = self.accounts.get(sc.domain)
        if found is None:
            return None
        return Credentials(found.user, Secret(found.password.reveal()))

    def address(self, host: str) -> str:
        """The first IPv4 address of the lab host ``host``.

        Raises:
            KeyError: not a host of this lab.
        """
        return self.addresses(host)[0]

    def addresses(self, host: str) -> tuple[str, ...]:
        """All addresses (IPv4 first, then ``::1`` if any) of ``host`` (MX or policy host)."""
        name = host.rstrip(".").lower()
        if name in self.policy_hosts:
            return (self.policy_hosts[name].address,)
        try:
            return self.hosts[name].addresses
        except KeyError:
            raise KeyError(f"not a lab host: {host}") from None

    def check_config(self, **overrides: Any) -> CheckConfig:
        """A :class:`CheckConfig` aimed at the lab (resolver, trust store, port map, anchor).

        DNSSEC is validated in-process from :attr:`trust_anchor`: the lab's
        server is authoritative only and never sets the AD bit.
        """
        fields: dict[str, Any] = {
            "nameservers": (self.nameserver,),
            "ca_file": self.ca_file,
            "port_map": tuple(sorted(self.port_map.items())),
            "dnssec_validate": True,
            "trust_anchor": self.trust_anchor,
        }
        fields.update(overrides)
        return CheckConfig(**fields)

    def cli_args(self) -> list[str]:
        """``mxtls check`` options that aim it at the lab."""
        ip, port = self.nameserver
        args = ["--nameserver", f"{ip}:{port}", "--ca-file", str(self.ca_file)]
        for logical, local in sorted(self.port_map.items()):
            args += ["--port-map", f"{logical}:{local}"]
        return args

    # -- changing the world while it runs (monitor tests) -------------------

    def renew_certificate(
        self, host: str, *, key_slot: int = 0, days_valid: tuple[int, int] = (-1, 90)
    ) -> Issued:
        """Serve a freshly issued leaf on every listener of ``host``; DNS stays as it is.

        With a new ``key_slot`` this is the renewal that breaks DANE: a new key
        while the ``3 1 1`` TLSA record still pins the old one.  With the
        host's current slot (0 for every lab host) the key is kept, as a
        careful renewal does, and ``3 1 1`` keeps matching.

        Raises:
            KeyError: not an MX host of this lab.
        """
        lab_host = self._lab_host(host)
        issued = self._issue(
            dataclasses.replace(lab_host.spec.cert, days_valid=days_valid, per_address=False),
            lab_host.name,
            key_slot,
        )
        self.hosts[lab_host.name] = dataclasses.replace(
            lab_host, certs=(issued,) * len(lab_host.addresses)
        )
        self._change_listeners(lab_host.name, cert=issued)
        return issued

    def set_smtp_mode(self, host: str, mode: SmtpMode, *, port: int | None = None) -> None:
        """Switch the listeners of ``host`` (one logical ``port``, or all) to ``mode``.

        Raises:
            KeyError: not an MX host of this lab.
        """
        lab_host = self._lab_host(host)
        logical = [p for p in lab_host.spec.ports if port is None or p == port]
        locals_ = {self.port_map[p] for p in logical}
        self._change_listeners(lab_host.name, mode=mode, local_ports=locals_)

    def _lab_host(self, host: str) -> LabHost:
        try:
            return self.hosts[host.rstrip(".").lower()]
        except KeyError:
            raise KeyError(f"not a lab MX host: {host}") from None

    def _change_listeners(
        self,
        name: str,
        *,
        cert: Issued | None = None,
        mode: SmtpMode | None = None,
        local_ports: set[int] | None = None,
    ) -> None:
        for listener in list(self.smtp_server.listeners):
            behaviour = listener.behaviour
            if behaviour.hostname != name:
                continue
            if not isinstance(behaviour, SmtpBehaviour | MailboxBehaviour):
                continue  # every lab listener is one of these
            if local_ports is not None and listener.port not in local_ports:
                continue
            changes: dict[str, Any] = {}
            if cert is not None:
                changes["cert"] = cert
            if mode is not None:
                if not isinstance(behaviour, SmtpBehaviour):
                    continue  # an IMAP or POP3 listener of the host keeps its dialogue
                changes["mode"] = mode
            self.smtp_server.change_behaviour(listener, dataclasses.replace(behaviour, **changes))

    @property
    def dns_server(self) -> DnsServer:
        """The running DNS server (its zones can be replaced, e.g. once signed)."""
        if self._dns is None:
            raise RuntimeError("the lab is not started")
        return self._dns

    @property
    def smtp_server(self) -> SmtpServer:
        """The SMTP listeners."""
        if self._smtp is None:
            raise RuntimeError("the lab is not started")
        return self._smtp

    @property
    def https_server(self) -> HttpsServer:
        """The HTTPS listeners of the MTA-STS policy hosts."""
        if self._https is None:
            raise RuntimeError("the lab is not started")
        return self._https

    def _require_started(self) -> Path:
        if self._workdir is None:
            raise RuntimeError("the lab is not started")
        return self._workdir

    # -- async lifecycle ---------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.astart()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def astart(self) -> None:
        """Issue certificates, bind every listener, sign the zones, start the DNS server.

        Issuing and signing are CPU work (a few hundred milliseconds for the
        whole lab): they run in a worker thread so that the event loop, which
        may already serve other things, is never blocked by them.

        Raises:
            OSError: no set of ports could be bound on every lab address.
        """
        if self._workdir is not None:
            raise RuntimeError("the lab is already started")
        self._workdir = Path(tempfile.mkdtemp(prefix="mxtls-lab-"))
        self.hosts, self.policy_hosts, self.notes, self.accounts = {}, {}, [], {}
        try:
            self.ca.write_root(self._workdir / "lab-root.pem")
            self.rogue_ca.write_root(self._workdir / "rogue-root.pem")
            await asyncio.to_thread(self._plan_hosts)
            self._smtp = SmtpServer(self._workdir, lifetime=self.lifetime, latency=self.latency)
            await self._bind_smtp()
            self._https = HttpsServer(self._workdir, lifetime=self.lifetime)
            await self._bind_https()
            zones = await asyncio.to_thread(self._zones)
            (self._workdir / TRUST_ANCHOR_FILE).write_text(self._signed().trust_anchor())
            self._dns = DnsServer(zones, faults=self._faults())
            if self.synthetic is not None:
                self._dns.synthesizers.append(self.synthetic.answer)
            await self._dns.start(DNS_HOST, 0)
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Stop every server and remove the lab's temporary files."""
        if self._dns is not None:
            await self._dns.stop()
            self._dns = None
        if self._smtp is not None:
            await self._smtp.close()
            self._smtp = None
        if self._https is not None:
            await self._https.close()
            self._https = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    # -- sync lifecycle (a loop in a background thread) --------------------

    def start(self) -> Self:
        """Start the lab in a background thread (for synchronous callers).

        Raises:
            RuntimeError: the lab is already running.
            OSError: no set of ports could be bound on every lab address.
        """
        if self._loop is not None or self._workdir is not None:
            raise RuntimeError("the lab is already started")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="mxtls-lab", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            asyncio.run_coroutine_threadsafe(self.astart(), loop).result(START_TIMEOUT_S)
        except BaseException:
            self._stop_thread()
            raise
        return self

    def stop(self) -> None:
        """Stop a lab started with :meth:`start`."""
        if self._loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.aclose(), self._loop).result(STOP_TIMEOUT_S)
        finally:
            self._stop_thread()

    def _stop_thread(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT_S)
        if not thread.is_alive():
            loop.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- building the world ------------------------------------------------

    def _plan_hosts(self) -> None:
        """Addresses and certificates for every host of every scenario."""
        v6 = self.want_ipv6 and _ipv6_loopback_works()
        v6_taken: str | None = None
        spare = 200  # rows not in SCENARIOS get third octets from here
        password = secrets.token_urlsafe(12)  # one per lab: every account's, picked now
        for sc in self._scenarios.values():
            if sc.account is not None:
                self.accounts[sc.domain] = LabAccount.create(sc.account, password)
            n = self._index.get(sc.domain, 0)
            if not n:
                n, spare = spare, spare + 1
            m = 0
            for spec in sc.hosts:
                name = spec.name.rstrip(".").lower()
                if name in self.hosts:
                    raise ValueError(f"lab host {name} appears twice")
                addrs = []
                for _ in range(spec.addresses):
                    m += 1
                    addrs.append(f"{ADDRESS_PREFIX}.{n}.{m}")
                for _ in range(spec.mapped_v6):
                    m += 1
                    addrs.append(f"::ffff:{ADDRESS_PREFIX}.{n}.{m}")
                if spec.ipv6 and not v6:
                    self.notes.append(f"::1 is not usable here: {name} gets no AAAA")
                elif spec.ipv6:
                    if v6_taken is not None:
                        raise ValueError(f"::1 is already {v6_taken}; {name} cannot have it")
                    v6_taken = name
                    addrs.append("::1")
                certs = self._issue_all(spec, name, len(addrs))
                nosni = self._issue(spec.nosni_cert, name, 0) if spec.nosni_cert else None
                second = self._issue(spec.second_cert, name, 0) if spec.second_cert else None
                self.hosts[name] = LabHost(
                    name=name,
                    domain=sc.domain,
                    spec=spec,
                    addresses=tuple(addrs),
                    certs=certs,
                    nosni_cert=nosni,
                    second_cert=second,
                )
            if sc.mta_sts is not None:
                self._plan_policy_host(sc, sc.mta_sts, n)

    def _plan_policy_host(self, sc: Scenario, spec: MtaStsSpec, n: int) -> None:
        name = f"mta-sts.{sc.domain}"
        mx_hosts = [h.name.rstrip(".").lower() for h in sc.hosts]
        self.policy_hosts[name] = PolicyHost(
            name=name,
            domain=sc.domain,
            spec=spec,
            address=f"{ADDRESS_PREFIX}.{n}.{POLICY_HOST_OCTET}",
            cert=self._issue(spec.cert, name, 0),
            policy=spec.policy_text(mx_hosts),
        )

    def _issue_all(self, spec: HostSpec, name: str, count: int) -> tuple[Issued, ...]:
        if not spec.cert.per_address:
            return (self._issue(spec.cert, name, 0),) * count
        return tuple(self._issue(spec.cert, name, i) for i in range(count))

    def _issue(self, cert: CertSpec, host: str, slot: int) -> Issued:
        ca = self.rogue_ca if cert.issuer == "rogue" else self.ca
        issued = ca.issue(
            list(cert.names) if cert.names is not None else [host],
            key=cert.key,
            key_slot=slot,
            days_valid=cert.days_valid,
            hash_alg=cert.hash_alg,
            self_signed=cert.self_signed,
            send_intermediate=cert.send_intermediate,
        )
        if cert.unrelated_extra:
            stranger = self.rogue_ca.root
            chain = (issued.cert, stranger, *issued.chain[1:])
            issued = dataclasses.replace(issued, chain=chain)
        return issued

    async def _bind_smtp(self) -> None:
        """Every SMTP, IMAP and POP3 listener; the logical ports' local numbers."""
        plan = listener_plan(self.hosts.values(), self.accounts)
        self._port_map = await bind_listeners(self.smtp_server, plan)

    async def _bind_https(self) -> None:
        """One HTTPS listener per policy host, all on one local port (logical 443)."""
        taken = set(self._port_map.values())
        port = await bind_policy_hosts(self.https_server, self.policy_hosts.values(), taken)
        self._port_map[HTTPS_PORT] = port

    def _zones(self) -> list[dns.zone.Zone]:
        """``lab.`` and every scenario zone, signed as the rows say."""
        parent = dns.zone.from_text(parent_zone_text(self._scenarios), "lab.", relativize=False)
        children: dict[dns.name.Name, tuple[dns.zone.Zone, DnssecMode]] = {}
        for sc in self._scenarios.values():
            text = scenario_zone_text(sc, self.hosts, self.policy_hosts, self._tlsa_line)
            text = _IP_PLACEHOLDER.sub(lambda m: self.address(m.group(1)), text)
            zone = dns.zone.from_text(text, sc.domain + ".", relativize=False)
            assert zone.origin is not None
            children[zone.origin] = (zone, sc.dnssec)
        self.dnssec = sign_lab(parent, children, now=self.now, ttl=ZONE_TTL_S)
        text = reverse_zone_text(self.hosts.values(), REVERSE_ZONE)
        reverse = dns.zone.from_text(text, REVERSE_ZONE, relativize=False)
        return [parent, *(zone for zone, _ in children.values()), reverse]

    def _signed(self) -> SignedLab:
        if self.dnssec is None:
            raise RuntimeError("the lab's zones are not signed yet")
        return self.dnssec

    def _tlsa_line(self, host: LabHost, spec: TlsaSpec) -> str:
        """``_PORT._tcp.HOST. TLSA u s m data`` for the certificate ``spec`` names."""
        issued = host.certs[0]
        own_ca, other_ca = (
            (self.rogue_ca, self.ca)
            if host.spec.cert.issuer == "rogue"
            else (self.ca, self.rogue_ca)
        )
        match spec.of:
            case "leaf":
                cert = issued.cert
            case "issuer":
                cert = own_ca.intermediate
            case "other":
                cert = other_ca.issue([host.name], key_slot=OTHER_KEY_SLOT).cert
            case "other_issuer":
                cert = other_ca.intermediate
        data = generate_tlsa(cert.public_bytes(Encoding.DER), spec.usage, spec.selector, spec.mtype)
        return f"_{spec.port}._tcp.{host.name}. TLSA {data}"

    def _faults(self) -> dict[dns.name.Name, DnsFault]:
        return {
            dns.name.from_text(name): fault
            for sc in self._scenarios.values()
            for name, fault in sc.faults.items()
        }


def _ipv6_loopback_works() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True
