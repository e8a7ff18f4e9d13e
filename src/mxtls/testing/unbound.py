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

import atexit
import contextlib
import ipaddress
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rdataclass
import dns.rdatatype

DEFAULT_START_TIMEOUT_S = 10.0  # Debian 12's unbound 1.17 answers well within a second
STOP_TIMEOUT_S = 5.0
CHECKCONF_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 0.05
PROBE_TIMEOUT_S = 0.5  # one readiness query
LOG_TAIL_LINES = 30
START_ATTEMPTS = 3  # only when the port was picked free and a race lost it

_ZONE_NAME = r"^(?:\.|(?:[A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?)$"


class UnboundError(RuntimeError):
    """The private unbound could not be started (message ends with its log)."""


def _binary(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def _free_port(ip: str) -> int:
    """A port free for both UDP and TCP on ``ip`` (unbound listens on both)."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    for _ in range(20):
        with socket.socket(family, socket.SOCK_DGRAM) as udp:
            udp.bind((ip, 0))
            port: int = udp.getsockname()[1]
            with socket.socket(family, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((ip, port))
                except OSError:
                    continue
                return port
    raise UnboundError(f"no port free for UDP and TCP on {ip}")


class UnboundInstance:
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
        self.authority = authority
        self.zones = tuple(dict.fromkeys(z if z.endswith(".") else z + "." for z in zones))
        self.ip = ip
        self._wanted_port = port
        self._anchor = trust_anchor_file
        self._settings = dict(settings or {})
        self._given_workdir = workdir
        self._start_timeout = start_timeout
        self._identity = f"mxtls-lab-{secrets.token_hex(6)}"
        self._workdir: Path | None = None
        self._port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    # -- discovery -----------------------------------------------------------------

    @staticmethod
    def available() -> tuple[bool, str]:
        """Can a private instance run here?  ``(True, "")`` or ``(False, reason)``."""
        if _binary("unbound") is None:
            return False, "unbound is not installed (no unbound binary); apt-get install unbound"
        if _binary("unbound-checkconf") is None:
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
    def workdir(self) -> Path:
        """The instance's directory (valid after ``start()``)."""
        if self._workdir is None:
            raise RuntimeError("UnboundInstance not started")
        return self._workdir

    @property
    def config_path(self) -> Path:
        """The generated ``unbound.conf``."""
        return self.workdir / "unbound.conf"

    @property
    def log_path(self) -> Path:
        """unbound's log file (validation failures at ``val-log-level: 2``)."""
        return self.workdir / "unbound.log"

    @property
    def running(self) -> bool:
        """Whether the daemon is alive."""
        return self._proc is not None and self._proc.poll() is None

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> Self:
        """Write and check the configuration, start unbound and wait for an answer.

        Raises:
            UnboundError: unbound is unavailable, the configuration is rejected,
                the daemon exited, or it did not answer within ``start_timeout``.
        """
        if self._proc is not None:
            raise RuntimeError("UnboundInstance already started")
        ok, reason = self.available()
        if not ok:
            raise UnboundError(reason)
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                self._start_once()
                return self
            except UnboundError:
                exited = self._proc is not None and self._proc.poll() is not None
                self.stop()
                if self._wanted_port or not exited or attempt == START_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Stop unbound (SIGTERM, then SIGKILL); remove a temporary workdir.  Idempotent."""
        proc, self._proc = self._proc, None
        atexit.unregister(self.stop)
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT_S)
        if self._workdir is not None and self._given_workdir is None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last ``lines`` of unbound's stderr and log (empty before ``start()``)."""
        if self._workdir is None:
            return ""
        out: list[str] = []
        for name in ("stderr.log", "unbound.log"):
            try:
                text = (self._workdir / name).read_text(errors="replace")
            except OSError:
                continue
            if text.strip():
                out.append(f"--- {name}\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(out) or "(unbound wrote no log)"

    # -- internals -----------------------------------------------------------------

    def _start_once(self) -> None:
        if self._given_workdir is not None:
            self._workdir = self._given_workdir
            self._workdir.mkdir(parents=True, exist_ok=True)
        else:
            self._workdir = Path(tempfile.mkdtemp(prefix="mxtls-unbound-"))
        self._port = self._wanted_port or _free_port(self.ip)
        if self._anchor is not None:
            shutil.copyfile(self._anchor, self._workdir / "anchor.keys")
        self.config_path.write_text(self._config())
        self._checkconf()
        unbound = _binary("unbound")
        assert unbound is not None
        with (self._workdir / "stderr.log").open("ab") as err:
            self._proc = subprocess.Popen(
                [unbound, "-d", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=subprocess.STDOUT,
                cwd=self._workdir,
                close_fds=True,
            )
        atexit.register(self.stop)
        self._wait_ready()

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
        return "\n".join(lines) + "\n"

    def _checkconf(self) -> None:
        checkconf = _binary("unbound-checkconf")
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

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self._start_timeout
        last_error = "no attempt"
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise UnboundError(
                    f"unbound exited with status {self._proc.returncode} before "
                    f"{self.ip}:{self._port} answered\n{self.log_tail()}"
                )
            try:
                identity = self._identity_answer()
                if identity == self._identity:
                    return
                raise UnboundError(
                    f"{self.ip}:{self._port}: id.server is {identity!r}, not this instance"
                )
            except (dns.exception.DNSException, OSError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            if time.monotonic() >= deadline:
                raise UnboundError(
                    f"unbound on {self.ip}:{self._port} not ready within "
                    f"{self._start_timeout}s ({last_error})\n{self.log_tail()}"
                )
            time.sleep(POLL_INTERVAL_S)

    def _identity_answer(self) -> str | None:
        query = dns.message.make_query(
            dns.name.from_text("id.server."), dns.rdatatype.TXT, dns.rdataclass.CH
        )
        response = dns.query.udp(query, self.ip, timeout=PROBE_TIMEOUT_S, port=self._port)
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.TXT:
                return b"".join(rrset[0].strings).decode("ascii", "replace")
        return None
