"""A private unbound on loopback: a real validating resolver as a test peer.

Theory of operation.  The instance owns one temporary directory::

    <workdir>/unbound.conf     generated configuration (checked by unbound-checkconf)
    <workdir>/anchor.keys      copy of the trust anchor file (DS/DNSKEY zone-file text)
    <workdir>/unbound.log      the daemon's log once its threads run (val-log-level 2)
    <workdir>/stderr.log       what unbound printed before switching to its log file

``unbound -d -c <workdir>/unbound.conf`` stays in the foreground as our child;
``stop()`` sends SIGTERM and waits.  Nothing of the system instance is used:
no ``/etc/unbound``, no root hints, no auto-trust-anchor, no remote control.

Every zone the test names is a ``stub-zone`` pointing at the given
authoritative ``ip@port``, and so is the root zone: unbound never sends a query
anywhere but that server, and ``outgoing-interface: 127.0.0.1`` keeps its
sockets on loopback even so.  ``do-not-query-localhost: no`` lets it query a
loopback authority at all.  Validation starts from the given trust anchor
file only (``module-config: "validator iterator"``); names outside every
anchor are insecure.

Readiness means an answer to ``id.server CH TXT`` carrying a per-instance
``identity``, so a different server on the same port can never pass for
this one.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rdataclass
import dns.rdatatype

from mxtls.testing.daemon import DaemonError, PrivateDaemon, find_binary, free_udp_tcp_port

DEFAULT_START_TIMEOUT_S = 10.0  # Debian 12's unbound 1.17 answers well within a second
CHECKCONF_TIMEOUT_S = 10.0
PROBE_TIMEOUT_S = 0.5  # one readiness query

_ZONE_NAME = r"^(?:\.|(?:[A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?)$"


class UnboundError(DaemonError):
    """The private unbound could not be started (message ends with its log)."""


class UnboundInstance(PrivateDaemon):
    """A private validating unbound on a loopback address, for tests.

    Usage::

        with UnboundInstance(("127.0.0.1", lab_port), trust_anchor_file=anchor) as ub:
            resolver.nameservers = [ub.ip]; resolver.port = ub.port

    Args:
        authority: ``(ip, port)`` of the authoritative server for ``zones``.
        zones: zones to send there as ``stub-zone`` (the root is always added).
            Name every served zone, children included: once unbound learns a
            child's NS set it would otherwise ask those hosts on port 53.
        trust_anchor_file: DS/DNSKEY records in zone-file text; None disables
            validation anchors (everything is insecure).
        ip: loopback address to listen on.
        port: port to listen on; 0 picks one free for UDP and TCP.
        settings: extra ``server:`` options (``val-permissive-mode: yes``, ...),
            applied last.
        workdir: directory for config and logs; default a fresh temporary
            directory, removed by ``stop()``.  A given workdir is kept.
        start_timeout: bound on the wait for the first answer in ``start()``.

    Raises:
        ValueError: a non-loopback address, a bad zone name or setting.
    """

    name = "unbound"
    slug = "unbound"
    error = UnboundError
    output_log = "stderr.log"
    log_files = ("stderr.log", "unbound.log")

    def __init__(
        self,
        authority: tuple[str, int],
        *,
        zones: Sequence[str] = ("lab.",),
        trust_anchor_file: Path | None = None,
        ip: str = "127.0.0.1",
        port: int = 0,
        settings: Mapping[str, str] | None = None,
        workdir: Path | None = None,
        start_timeout: float = DEFAULT_START_TIMEOUT_S,
    ) -> None:
        for address in (ip, authority[0]):
            if not ipaddress.ip_address(address).is_loopback:
                raise ValueError(f"{address}: the lab unbound talks to loopback only")
        for zone in zones:
            if not re.match(_ZONE_NAME, zone):
                raise ValueError(f"not a zone name: {zone!r}")
        for name, value in (settings or {}).items():
            if not re.match(r"^[a-z][a-z0-9-]*$", name) or any(c in value for c in "\r\n\0"):
                raise ValueError(f"bad unbound setting {name!r}: {value!r}")
        super().__init__(ip=ip, workdir=workdir, start_timeout=start_timeout)
        self.authority = authority
        self.zones = tuple(dict.fromkeys(z if z.endswith(".") else z + "." for z in zones))
        self._wanted_port = port
        self._anchor = trust_anchor_file
        self._settings = dict(settings or {})
        self._identity = f"mxtls-lab-{secrets.token_hex(6)}"
        self._port = 0

    # -- discovery -----------------------------------------------------------------

    @staticmethod
    def available() -> tuple[bool, str]:
        """Can a private instance run here?  ``(True, "")`` or ``(False, reason)``."""
        if find_binary("unbound") is None:
            return False, "unbound is not installed (no unbound binary); apt-get install unbound"
        if find_binary("unbound-checkconf") is None:
            return False, "unbound-checkconf is not installed"
        return True, ""

    # -- state ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port unbound listens on (UDP and TCP), valid after ``start()``."""
        return self._port

    @property
    def address(self) -> tuple[str, int]:
        """``(ip, port)`` for a resolver's nameserver list."""
        return self.ip, self._port

    @property
    def config_path(self) -> Path:
        """The generated ``unbound.conf``."""
        return self.workdir / "unbound.conf"

    @property
    def log_path(self) -> Path:
        """unbound's log file (validation failures at ``val-log-level: 2``)."""
        return self.workdir / "unbound.log"

    # -- the daemon's part of the life cycle ---------------------------------------

    @property
    def _where(self) -> str:
        return f"{self.ip}:{self._port}"

    def _should_retry(self, exc: DaemonError) -> bool:
        # unbound exits when its port is taken: retry only a port picked free.
        return not self._wanted_port and self._proc is not None and self._proc.poll() is not None

    def _prepare(self) -> None:
        self._port = self._wanted_port or free_udp_tcp_port(self.ip)
        if self._anchor is not None:
            shutil.copyfile(self._anchor, self.workdir / "anchor.keys")
        self.config_path.write_text(self._config())
        self._checkconf()

    def _command(self) -> list[str]:
        unbound = find_binary("unbound")
        assert unbound is not None
        return [unbound, "-d", "-c", str(self.config_path)]

    def _config(self) -> str:
        work = self.workdir
        auth_ip, auth_port = self.authority
        server: dict[str, str] = {
            "interface": f"{self.ip}@{self._port}",
            "port": str(self._port),
            "do-ip4": "yes" if ":" not in self.ip else "no",
            "do-ip6": "yes" if ":" in self.ip else "no",
            "do-udp": "yes",
            "do-tcp": "yes",
            "outgoing-interface": "127.0.0.1" if ":" not in auth_ip else "::1",
            "access-control": f"{self.ip}/{128 if ':' in self.ip else 32} allow",
            "do-not-query-localhost": "no",
            "username": '""',
            "chroot": '""',
            "directory": f'"{work}"',
            "pidfile": f'"{work / "unbound.pid"}"',
            "logfile": f'"{work / "unbound.log"}"',
            "use-syslog": "no",
            "log-time-ascii": "yes",
            "verbosity": "1",
            "val-log-level": "2",
            "log-servfail": "yes",
            "num-threads": "1",
            "so-reuseport": "no",
            "identity": f'"{self._identity}"',
            "module-config": '"validator iterator"',
            "qname-minimisation": "no",
            "prefetch": "no",
            "cache-max-ttl": "5",  # tests replace zones: keep answers fresh
            "cache-max-negative-ttl": "1",
            "infra-host-ttl": "5",
        }
        if self._anchor is not None:
            server["trust-anchor-file"] = f'"{work / "anchor.keys"}"'
        server.update(self._settings)
        lines = ["# Generated by mxtls.testing.unbound; private lab instance.", "server:"]
        lines += [f"    {name}: {value}" for name, value in server.items()]
        lines += ["remote-control:", "    control-enable: no"]
        for zone in dict.fromkeys((".", *self.zones)):
            lines += ["stub-zone:", f'    name: "{zone}"', f"    stub-addr: {auth_ip}@{auth_port}"]
        if any(z.endswith(".127.in-addr.arpa.") for z in self.zones):
            # unbound answers 127.in-addr.arpa itself (RFC 6761 §6.3): let the stub answer.
            at = lines.index("remote-control:")
            lines.insert(at, '    local-zone: "127.in-addr.arpa." nodefault')
        return "\n".join(lines) + "\n"

    def _checkconf(self) -> None:
        checkconf = find_binary("unbound-checkconf")
        assert checkconf is not None
        try:
            done = subprocess.run(
                [checkconf, str(self.config_path)],
                capture_output=True,
                text=True,
                timeout=CHECKCONF_TIMEOUT_S,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise UnboundError(f"unbound-checkconf failed to run: {exc}") from exc
        if done.returncode != 0:
            raise UnboundError(
                f"unbound-checkconf rejected {self.config_path}:\n"
                f"{(done.stdout + done.stderr).strip()}\n--- config\n{self._config()}"
            )

    def _ready(self) -> str | None:
        try:
            identity = self._identity_answer()
        except (dns.exception.DNSException, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"
        if identity != self._identity:
            raise UnboundError(f"{self._where}: id.server is {identity!r}, not this instance")
        return None

    def _identity_answer(self) -> str | None:
        query = dns.message.make_query(
            dns.name.from_text("id.server."), dns.rdatatype.TXT, dns.rdataclass.CH
        )
        response = dns.query.udp(query, self.ip, timeout=PROBE_TIMEOUT_S, port=self._port)
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                return b"".join(rrset[0].strings).decode("ascii", "replace")
        return None
