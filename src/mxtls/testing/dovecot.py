"""A private Dovecot on loopback: a real Debian IMAP/POP3 server (and SASL service) as a test peer.

Theory of operation.  The instance owns one directory (see
:mod:`mxtls.testing.daemon` for the life cycle)::

    <workdir>/dovecot.conf      generated, complete configuration (no /etc/dovecot)
    <workdir>/chain.pem, key.pem  the certificate chain and key it presents
    <workdir>/users             passwd-file of the test accounts ({PLAIN} passwords)
    <workdir>/run/, state/      base_dir and state_dir (sockets, state)
    <workdir>/dovecot.log       its log; output.log has what it printed before

``dovecot -F -c <workdir>/dovecot.conf`` stays in the foreground as our child,
in a session of its own, so ``stop()`` leaves none of its processes behind.
Each service listens on the given loopback address on ports chosen by the
caller or picked free: IMAP on 143 (STARTTLS) and 993 (implicit TLS), POP3 on
110 (STLS) and 995, and, when asked, the authentication service on a TCP port
for Postfix's ``smtpd_sasl_type = dovecot`` (``inet:IP:PORT``).  Readiness
means a greeting carrying a per-instance token on each plaintext port.

Dovecot treats a connection whose remote address equals its local one as
"secured" and then offers plaintext logins whatever ``disable_plaintext_auth``
says.  The checker connects from 127.0.0.1, so an instance that must show its
real pre-TLS policy listens on another loopback address (127.0.0.2, …).
"""

from __future__ import annotations

import grp
import ipaddress
import os
import pwd
import re
import secrets
import socket
from collections.abc import Mapping
from pathlib import Path

from mxtls.testing.daemon import DaemonError, PrivateDaemon, find_binary, free_tcp_port

DEFAULT_START_TIMEOUT_S = 10.0  # Debian 12's Dovecot 2.3 greets within a second
GREETING_READ_TIMEOUT_S = 2.0
GREETING_MAX_BYTES = 1024

IMAP_PORT = 143  # RFC 9051, STARTTLS
IMAPS_PORT = 993  # RFC 8314 §3.3: implicit TLS
POP3_PORT = 110  # RFC 1939, STLS
POP3S_PORT = 995  # RFC 8314 §3.3: implicit TLS
STANDARD_PORTS = (IMAP_PORT, IMAPS_PORT, POP3_PORT, POP3S_PORT)
_LISTENERS = {  # port -> (service, listener name, implicit TLS)
    IMAP_PORT: ("imap-login", "imap", False),
    IMAPS_PORT: ("imap-login", "imaps", True),
    POP3_PORT: ("pop3-login", "pop3", False),
    POP3S_PORT: ("pop3-login", "pop3s", True),
}

INTERNAL_USER = "dovecot"  # Debian's default_internal_user
LOGIN_USER = "dovenull"  # Debian's default_login_user
LIBEXEC = Path("/usr/lib/dovecot")

_SETTING = re.compile(r"^[a-z][a-z0-9_]*$")
_ACCOUNT = re.compile(r"^[A-Za-z0-9._@+-]{1,64}$")


class DovecotError(DaemonError):
    """The private Dovecot could not be started (message ends with its log)."""


class DovecotInstance(PrivateDaemon):
    """A private Dovecot (IMAP, POP3, SASL) on a loopback address, for tests.

    Usage::

        with DovecotInstance("imap.example.test", chain_pem, key_pem, ip="127.0.0.2") as dc:
            imaplib.IMAP4(dc.ip, dc.port_map[143])

    Args:
        hostname: the server's name (its greeting and certificate name).
        chain_pem: the certificate chain to present, leaf first (PEM).
        key_pem: the leaf's private key (PEM).
        ip: loopback address to listen on (see the module's note on 127.0.0.1).
        ports: which listeners to run and where: ``{143: p, 993: p2, 110: p3, 995: p4}``;
            a port of 0 is picked free.  Defaults to all four, picked free.
        users: test accounts, name -> password (stored ``{PLAIN}``).
        auth_port: also serve SASL authentication on a TCP port (for Postfix).
        auth_delays: keep Dovecot's delay after a failed login and its growing
            penalty per client address (up to 15 s); tests that fail logins on
            purpose turn them off.
        settings: extra top-level settings, applied last
            (``disable_plaintext_auth``, ``ssl_min_protocol``, ``auth_mechanisms`` …).
        workdir: its directory; default a fresh temporary one, removed by ``stop()``.
        start_timeout: bound on the wait for the greetings in ``start()``.

    Raises:
        ValueError: non-loopback ``ip``, an unknown port, a bad account or setting.
    """

    name = "dovecot"
    slug = "dovecot"
    error = DovecotError
    log_files = ("output.log", "dovecot.log")
    spawn_session = True

    def __init__(
        self,
        hostname: str,
        chain_pem: bytes,
        key_pem: bytes,
        *,
        ip: str = "127.0.0.1",
        ports: Mapping[int, int] | None = None,
        users: Mapping[str, str] | None = None,
        auth_port: bool = False,
        auth_delays: bool = True,
        settings: Mapping[str, str] | None = None,
        workdir: Path | None = None,
        start_timeout: float = DEFAULT_START_TIMEOUT_S,
    ) -> None:
        if not ipaddress.ip_address(ip).is_loopback:
            raise ValueError(f"{ip}: the lab Dovecot listens on loopback only")
        wanted = dict(ports) if ports is not None else dict.fromkeys(STANDARD_PORTS, 0)
        if not wanted or set(wanted) - set(STANDARD_PORTS):
            raise ValueError(f"ports must be a non-empty subset of {STANDARD_PORTS}: {wanted}")
        for user, password in (users or {}).items():
            if not _ACCOUNT.match(user) or any(c in password for c in ":\r\n\0"):
                raise ValueError(f"unusable test account {user!r}")
        for key, value in (settings or {}).items():
            if not _SETTING.match(key) or any(c in value for c in "\r\n\0{}"):
                raise ValueError(f"bad Dovecot setting {key!r}: {value!r}")
        super().__init__(ip=ip, workdir=workdir, start_timeout=start_timeout)
        self.hostname = hostname
        self._chain_pem, self._key_pem = chain_pem, key_pem
        self._wanted_ports = wanted
        self._users = dict(users or {})
        self._auth_wanted = auth_port
        self._auth_delays = auth_delays
        self._settings = dict(settings or {})
        self._token = secrets.token_hex(6)
        self._port_map: dict[int, int] = {}
        self._auth_port = 0
        self._answered: set[int] = set()

    # -- discovery -----------------------------------------------------------------

    @staticmethod
    def available() -> tuple[bool, str]:
        """Can a private instance run here?  ``(True, "")`` or ``(False, reason)``."""
        if find_binary("dovecot") is None:
            return False, (
                "Dovecot is not installed (no dovecot binary); run scripts/install-system "
                "(dovecot-imapd, dovecot-pop3d)"
            )
        for part in ("imap-login", "pop3-login"):
            if not (LIBEXEC / part).exists():
                return False, f"no {LIBEXEC / part}; apt-get install dovecot-imapd dovecot-pop3d"
        if os.geteuid() != 0:
            return False, "a Dovecot master must run as root (euid is not 0)"
        try:
            pwd.getpwnam(INTERNAL_USER)
            pwd.getpwnam(LOGIN_USER)
        except KeyError:
            return False, f"no {INTERNAL_USER} or {LOGIN_USER} user; reinstall dovecot-core"
        return True, ""

    # -- state ---------------------------------------------------------------------

    @property
    def port_map(self) -> dict[int, int]:
        """Standard port -> actual port, e.g. ``{143: 40143, 993: 40993, …}``."""
        return dict(self._port_map)

    @property
    def auth_address(self) -> tuple[str, int]:
        """``(ip, port)`` of the SASL service (Postfix: ``smtpd_sasl_path = inet:IP:PORT``)."""
        if not self._auth_port:
            raise RuntimeError("DovecotInstance started without auth_port=True")
        return self.ip, self._auth_port

    @property
    def greeting_token(self) -> str:
        """The per-instance token in the greeting (proves who answered)."""
        return self._token

    @property
    def config_path(self) -> Path:
        """The generated ``dovecot.conf``."""
        return self.workdir / "dovecot.conf"

    # -- the daemon's part of the life cycle ---------------------------------------

    def stop(self) -> None:
        """Stop Dovecot and every process of its session; remove a temporary workdir."""
        super().stop()
        self._port_map = {}

    def _should_retry(self, exc: DaemonError) -> bool:
        # Dovecot exits when a port is taken: retry when the ports were picked free.
        picked = any(p == 0 for p in self._wanted_ports.values())
        return picked and self._proc is not None and self._proc.poll() is not None

    def _prepare(self) -> None:
        work = self.workdir
        work.chmod(0o755)  # the login and auth processes run as other users
        self._answered = set()
        self._port_map = {
            std: (port or free_tcp_port(self.ip)) for std, port in self._wanted_ports.items()
        }
        self._auth_port = free_tcp_port(self.ip) if self._auth_wanted else 0
        for sub in ("run", "state", "mail"):
            (work / sub).mkdir(mode=0o755, exist_ok=True)
        internal = pwd.getpwnam(INTERNAL_USER)
        os.chown(work / "mail", internal.pw_uid, grp.getgrnam(INTERNAL_USER).gr_gid)
        (work / "chain.pem").write_bytes(self._chain_pem)
        key = work / "key.pem"
        key.touch(mode=0o600)
        key.write_bytes(self._key_pem)
        users = work / "users"
        users.write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in self._users.items()))
        users.chmod(0o644)
        self.config_path.write_text(self._config())

    def _command(self) -> list[str]:
        dovecot = find_binary("dovecot")
        assert dovecot is not None
        return [dovecot, "-F", "-c", str(self.config_path)]

    def _config(self) -> str:
        work = self.workdir
        protocols = sorted({"imap" if p in (143, 993) else "pop3" for p in self._port_map})
        top: dict[str, str] = {
            "base_dir": str(work / "run"),
            "state_dir": str(work / "state"),
            "instance_name": f"mxtls-{self._token}",
            "listen": self.ip,
            "protocols": " ".join(protocols),
            "log_path": str(work / "dovecot.log"),
            "default_internal_user": INTERNAL_USER,
            "default_login_user": LOGIN_USER,
            "hostname": self.hostname,
            "login_greeting": f"{self.hostname} Dovecot ready (mxtls lab {self._token})",
            "ssl": "yes",
            "ssl_cert": f"<{work / 'chain.pem'}",
            "ssl_key": f"<{work / 'key.pem'}",
            "disable_plaintext_auth": "yes",
            "auth_mechanisms": "plain login",
            "mail_location": f"maildir:{work / 'mail'}/%u",
            "shutdown_clients": "yes",
            "first_valid_uid": str(pwd.getpwnam(INTERNAL_USER).pw_uid),  # mail as a system user
        }
        if not self._auth_delays:
            top["auth_failure_delay"] = "0"
        top.update(self._settings)
        lines = ["# Generated by mxtls.testing.dovecot; private lab instance."]
        lines += [f"{key} = {value}" for key, value in top.items()]
        lines += [
            "passdb {",
            "  driver = passwd-file",
            f"  args = {work / 'users'}",
            "}",
            "userdb {",
            "  driver = static",
            f"  args = uid={INTERNAL_USER} gid={INTERNAL_USER} home={work / 'mail'}/%u",
            "}",
        ]
        for service in ("imap-login", "pop3-login"):
            if not any(_LISTENERS[p][0] == service for p in self._port_map):
                continue
            lines.append(f"service {service} {{")
            for std, (owner, listener, implicit) in _LISTENERS.items():
                if owner != service:
                    continue
                # A listener left out keeps Dovecot's default port (143, 993 …): turn it off.
                port = self._port_map.get(std, 0)
                lines += [
                    f"  inet_listener {listener} {{",
                    f"    address = {self.ip}",
                    f"    port = {port}",
                ]
                lines += ["    ssl = yes"] if implicit else []
                lines.append("  }")
            lines.append("}")
        if not self._auth_delays:
            # A penalty socket nobody may open disables the penalty (Dovecot's documented way).
            lines += [
                "service anvil {",
                "  unix_listener anvil-auth-penalty {",
                "    mode = 0",
                "  }",
                "}",
            ]
        if self._auth_port:
            lines += [
                "service auth {",
                "  inet_listener {",
                f"    address = {self.ip}",
                f"    port = {self._auth_port}",
                "  }",
                "}",
            ]
        return "\n".join(lines) + "\n"

    def _ready(self) -> str | None:
        last_error: str | None = None
        for std, port in self._port_map.items():
            if std in self._answered:
                continue
            try:
                if _LISTENERS[std][2]:
                    with socket.create_connection((self.ip, port), GREETING_READ_TIMEOUT_S):
                        pass  # implicit TLS: accepting while our master lives is enough
                else:
                    line = _read_greeting(self.ip, port)
                    if self._token not in line:
                        raise DovecotError(
                            f"{self.ip}:{port}: answered {line!r}, not this instance "
                            f"({self._token})\n{self.log_tail()}"
                        )
                self._answered.add(std)
            except OSError as exc:
                last_error = f"{self.ip}:{port}: {exc}"
        if last_error is None and self._auth_port:
            try:
                socket.create_connection((self.ip, self._auth_port), 1).close()
            except OSError as exc:
                last_error = f"auth {self.ip}:{self._auth_port}: {exc}"
        return last_error


def _read_greeting(ip: str, port: int) -> str:
    """The first line from ``ip:port`` (bounded).

    Raises:
        OSError: connect/read failed or the line passed ``GREETING_MAX_BYTES``.
    """
    with socket.create_connection((ip, port), GREETING_READ_TIMEOUT_S) as sock:
        buf = b""
        while b"\n" not in buf:
            chunk = sock.recv(GREETING_MAX_BYTES)
            if not chunk:
                raise ConnectionError("closed before a greeting")
            buf += chunk
            if len(buf) > GREETING_MAX_BYTES:
                raise ConnectionError("greeting line too long")
        return buf.split(b"\n", 1)[0].rstrip(b"\r").decode("ascii", "replace")
