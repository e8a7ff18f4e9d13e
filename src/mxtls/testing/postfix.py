"""A private Postfix instance on loopback: a real Debian MTA as a test peer.

Theory of operation.  The instance owns one temporary directory::

    <workdir>/conf/main.cf, master.cf, chain.pem, key.pem   (config_directory)
    <workdir>/queue/{pid,public,private,incoming,...}       (queue_directory)
    <workdir>/data/                                          (data_directory)
    <workdir>/maillog                                        (master's stdout)

Nothing is read from or written to the system instance in ``/etc/postfix``: the
``master`` daemon is started directly with ``master -c <workdir>/conf -s``, which
keeps it in the foreground as our child (no ``postfix start``, no
``postfix-script``, no ``alternate_config_directories`` entry in the system
``main.cf``).  ``master`` makes itself a session and process-group leader, so every
daemon it spawns shares its process group; ``stop()`` sends SIGTERM to the master
(which passes it on to its children, see master(8)) and then makes sure no process
of that group is left.

Because ``postfix start`` is not used, the queue directories that its
``post-install create-missing`` step would make are created here, with the owners
and modes of Postfix's ``postfix-files``.  Daemons run with ``chroot = n`` so no
copy of system files is needed inside the queue directory.

Logging needs no syslog: ``maillog_file = /dev/stdout`` sends every daemon's log
through the ``postlog`` service (postlogd, Postfix >= 3.4) to the master's stdout,
which ``-s`` keeps open "so that maillog_file = /dev/stdout works" (master(8)) and
which is the file ``<workdir>/maillog`` (a file path would also need
``maillog_file_prefixes``).  Only the master's errors from before its services
are open (a taken port) go to syslog, so ``start()`` checks the ports first.

The only transports are ``discard`` and ``error``: the instance accepts mail for
its own name, relays nothing and never connects anywhere.

Every service is bound to the given loopback address on ports chosen by the
caller or picked free; readiness means a ``220`` banner carrying a per-instance
token, so a different server on the same port can never pass for this one.
"""

from __future__ import annotations

import contextlib
import grp
import ipaddress
import os
import pwd
import re
import secrets
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mxtls.lab.ca import Issued, LabCA
from mxtls.testing.daemon import (
    DaemonError,
    PrivateDaemon,
    find_binary,
    free_tcp_port,
)

DEFAULT_START_TIMEOUT_S = 10.0  # Debian 12 Postfix 3.7 answers in well under a second
BANNER_READ_TIMEOUT_S = 2.0
BANNER_MAX_BYTES = 512  # RFC 5321 §4.5.3.1.5: reply line incl. CRLF
MIN_POSTFIX_VERSION = (3, 4)  # maillog_file / postlogd and smtpd_tls_chain_files
CONFIG_BACKDATE_S = 60  # older than Postfix's "file still being written" window
POSTCONF_TIMEOUT_S = 10.0

SMTP_PORT = 25  # RFC 5321
SMTPS_PORT = 465  # RFC 8314 §3.3: implicit TLS submission
SUBMISSION_PORT = 587  # RFC 6409
STANDARD_PORTS = (SMTP_PORT, SMTPS_PORT, SUBMISSION_PORT)

POSTFIX_USER = "postfix"  # Debian's mail_owner
POSTDROP_GROUP = "postdrop"  # Debian's setgid_group

# Queue layout from Postfix's postfix-files: (name, owner is mail_owner,
# group is setgid_group, mode).  Owner/group False means root.
_QUEUE_DIRS: tuple[tuple[str, bool, bool, int], ...] = (
    ("pid", False, False, 0o755),
    ("public", True, True, 0o710),
    ("maildrop", True, True, 0o730),
    ("private", True, False, 0o700),
    ("incoming", True, False, 0o700),
    ("active", True, False, 0o700),
    ("deferred", True, False, 0o700),
    ("defer", True, False, 0o700),
    ("bounce", True, False, 0o700),
    ("trace", True, False, 0o700),
    ("flush", True, False, 0o700),
    ("hold", True, False, 0o700),
    ("corrupt", True, False, 0o700),
    ("saved", True, False, 0o700),
)

# Internal services: a trimmed Debian master.cf with chroot off and no SMTP/LMTP
# client, local or virtual delivery (nothing here can reach another host).
# Columns: service type private unpriv chroot wakeup maxproc command.
_INTERNAL_SERVICES = """\
postlog   unix-dgram n  -       n       -       1       postlogd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
"""

# Per-port smtpd overrides, as Debian's master.cf examples set them.
_SERVICE_DEFAULTS: dict[int, dict[str, str]] = {
    SMTP_PORT: {"syslog_name": "postfix/smtp"},
    SMTPS_PORT: {"syslog_name": "postfix/smtps", "smtpd_tls_wrappermode": "yes"},
    SUBMISSION_PORT: {"syslog_name": "postfix/submission", "smtpd_tls_security_level": "encrypt"},
}

_PARAM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"  # RFC 1123 §2.1
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")


class PostfixError(DaemonError):
    """The private Postfix instance could not be started (message ends with its log)."""


class _PortInUse(PostfixError):
    """A port of the instance is taken (retried when the ports were picked free)."""


def _find_master() -> tuple[Path | None, str]:
    """The Postfix ``master`` binary, or ``None`` and the reason.

    ``postconf`` (on PATH) names the compiled-in daemon_directory and the
    version; it reads a throwaway main.cf, never the system one.
    """
    postconf = find_binary("postconf")
    if postconf is None:
        return None, "Postfix is not installed (no postconf); run scripts/install-system"
    with tempfile.TemporaryDirectory(prefix="mxtls-postconf-") as empty:
        # A fixed myhostname spares postconf deriving one from the system's name.
        (Path(empty) / "main.cf").write_text("myhostname = localhost.localdomain\n")
        (Path(empty) / "master.cf").write_text("")
        _age_files(Path(empty))
        try:
            out = subprocess.run(
                [postconf, "-c", empty, "-h", "daemon_directory", "mail_version"],
                capture_output=True,
                text=True,
                timeout=POSTCONF_TIMEOUT_S,
                check=True,
            ).stdout.split()
        except (OSError, subprocess.SubprocessError) as exc:
            return None, f"{postconf} failed: {exc}"
    if len(out) != 2:
        return None, f"unexpected postconf output: {out!r}"
    version = tuple(int(p) for p in re.findall(r"\d+", out[1])[:2])
    if version < MIN_POSTFIX_VERSION:
        return None, f"Postfix {out[1]} is older than {MIN_POSTFIX_VERSION} (no postlogd)"
    master = Path(out[0]) / "master"
    if not os.access(master, os.X_OK):
        return None, f"no Postfix master in {out[0]}"
    return master, ""


def _age_files(directory: Path) -> None:
    """Backdate the files of ``directory`` by ``CONFIG_BACKDATE_S``.

    Postfix re-reads a table file (main.cf included) in 300 ms steps for as long
    as its mtime is within the last seconds, in case a writer is still at work;
    a freshly written config therefore costs seconds at every daemon start.
    """
    then = time.time() - CONFIG_BACKDATE_S
    for path in directory.iterdir():
        os.utime(path, (then, then))


def _check_port_free(ip: str, port: int) -> None:
    """Bind ``ip:port`` as the master will (SO_REUSEADDR), then let it go.

    Raises:
        _PortInUse: another socket holds the port.
    """
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((ip, port))
        except OSError as exc:
            raise _PortInUse(f"{ip}:{port}: cannot listen: {exc}") from exc


def _check_param(name: str, value: str) -> None:
    if not _PARAM_NAME.match(name):
        raise ValueError(f"not a Postfix parameter name: {name!r}")
    if any(c in value for c in "\r\n\0{}"):
        raise ValueError(f"Postfix parameter {name}: value must be one line without braces")


class PostfixInstance(PrivateDaemon):
    """A private Postfix (master + smtpd) on a loopback address, for tests.

    Usage::

        with PostfixInstance("mx.example.test", chain_pem, key_pem) as pf:
            smtplib.SMTP(pf.ip, pf.port_map[25])

    Args:
        hostname: ``myhostname``, the MX name under test; it opens the banner.
        chain_pem: the certificate chain to present, leaf first (PEM).
        key_pem: the leaf's private key (PEM).
        ip: loopback address to listen on (``127.0.0.0/8`` or ``::1``).
        ports: which standard services to run and where: ``{25: p, 465: p2, 587: p3}``;
            a port of 0 is picked free.  Defaults to all three, picked free.
        settings: extra ``main.cf`` parameters, applied last (``smtpd_tls_protocols``,
            ``tls_high_cipherlist``, ``smtpd_tls_security_level``, ...).
        service_settings: extra ``-o`` overrides per standard port, applied after the
            defaults (465 is ``smtpd_tls_wrappermode=yes``, 587 requires STARTTLS).
        workdir: directory for config, queue and log; default a fresh temporary
            directory, removed by ``stop()``.  A given workdir is kept.
        start_timeout: bound on the wait for the banner in ``start()``.

    Raises:
        ValueError: non-loopback ``ip``, bad hostname, unknown port or bad setting.
    """

    name = "Postfix master"
    slug = "postfix"
    error = PostfixError
    output_log = "maillog"
    log_files = ("maillog",)
    exit_hint = " (start-up errors before maillog_file is read go to syslog only)"
    # The master calls setsid() itself: its daemons share its process group.
    leads_group = True

    def __init__(
        self,
        hostname: str,
        chain_pem: bytes,
        key_pem: bytes,
        *,
        ip: str = "127.0.0.1",
        ports: Mapping[int, int] | None = None,
        settings: Mapping[str, str] | None = None,
        service_settings: Mapping[int, Mapping[str, str]] | None = None,
        workdir: Path | None = None,
        start_timeout: float = DEFAULT_START_TIMEOUT_S,
    ) -> None:
        if not ipaddress.ip_address(ip).is_loopback:
            raise ValueError(f"{ip}: the lab Postfix listens on loopback only")
        if not _HOSTNAME.match(hostname):
            raise ValueError(f"not a hostname: {hostname!r}")
        wanted = dict(ports) if ports is not None else dict.fromkeys(STANDARD_PORTS, 0)
        if not wanted or set(wanted) - set(STANDARD_PORTS):
            raise ValueError(f"ports must be a non-empty subset of {STANDARD_PORTS}: {wanted}")
        if set(service_settings or {}) - set(wanted):
            raise ValueError(
                f"service_settings for ports not served: {set(service_settings or {})}"
            )
        for name, value in (settings or {}).items():
            _check_param(name, value)
        for overrides in (service_settings or {}).values():
            for name, value in overrides.items():
                _check_param(name, value)
        super().__init__(ip=ip, workdir=workdir, start_timeout=start_timeout)
        self.hostname = hostname
        self._chain_pem = chain_pem
        self._key_pem = key_pem
        self._wanted_ports = wanted
        self._settings = dict(settings or {})
        self._service_settings = {p: dict(o) for p, o in (service_settings or {}).items()}
        self._token = secrets.token_hex(6)
        self._port_map: dict[int, int] = {}
        self._answered: set[int] = set()  # standard ports that answered as this instance

    # -- discovery -----------------------------------------------------------------

    @staticmethod
    def available() -> tuple[bool, str]:
        """Can a private instance run here?  ``(True, "")`` or ``(False, reason)``.

        Checks what ``start()`` needs: the ``master`` binary of Postfix >= 3.4,
        root (the master drops privileges to ``postfix`` itself) and the
        ``postfix`` user and ``postdrop`` group.  Reads no system ``main.cf``.
        """
        master, reason = _find_master()
        if master is None:
            return False, reason
        if os.geteuid() != 0:
            return False, "a Postfix master must run as root (euid is not 0)"
        try:
            pwd.getpwnam(POSTFIX_USER)
            grp.getgrnam(POSTDROP_GROUP)
        except KeyError:
            return False, f"no {POSTFIX_USER} user or {POSTDROP_GROUP} group; reinstall postfix"
        return True, ""

    # -- state ---------------------------------------------------------------------

    @property
    def port_map(self) -> dict[int, int]:
        """Standard port -> actual port, e.g. ``{25: 40125, 465: 40465, 587: 40587}``."""
        return dict(self._port_map)

    @property
    def config_dir(self) -> Path:
        """``config_directory``: main.cf, master.cf, chain.pem, key.pem."""
        return self.workdir / "conf"

    @property
    def log_path(self) -> Path:
        """``maillog_file`` of the instance."""
        return self.workdir / "maillog"

    @property
    def banner_token(self) -> str:
        """The per-instance token in the default banner (proves who answered)."""
        return self._token

    @property
    def master_pid(self) -> int | None:
        """PID of the master process (its process group holds every daemon)."""
        return self._proc.pid if self._proc is not None else None

    # -- the daemon's part of the life cycle ---------------------------------------

    def _should_retry(self, exc: DaemonError) -> bool:
        picked = any(p == 0 for p in self._wanted_ports.values())
        return picked and isinstance(exc, _PortInUse)

    def stop(self) -> None:
        """Stop the master and every daemon of its group; remove a temporary workdir.

        Idempotent.  Bounded by ``STOP_TIMEOUT_S`` (then SIGKILL).
        """
        super().stop()
        self._port_map = {}

    def _prepare(self) -> None:
        self._answered = set()
        # Daemons run as the postfix user and chdir to the queue: it must traverse.
        self.workdir.chmod(0o755)
        self._port_map = {
            std: (port or free_tcp_port(self.ip)) for std, port in self._wanted_ports.items()
        }
        self._write_tree()
        # The master reports a taken port to syslog only (its log client turns
        # to maillog_file after its services are open): find it here instead.
        for port in self._port_map.values():
            _check_port_free(self.ip, port)

    def _command(self) -> list[str]:
        # -s: stay in the foreground as our child and keep stdout (the log;
        # append mode, as postlogd writes to it too).  The master calls
        # setsid() itself, so it leads a process group of its daemons.
        master, reason = _find_master()
        if master is None:
            raise PostfixError(reason)
        return [str(master), "-c", str(self.config_dir), "-s"]

    def _write_tree(self) -> None:
        work = self.workdir
        conf, queue, data = work / "conf", work / "queue", work / "data"
        owner = pwd.getpwnam(POSTFIX_USER).pw_uid
        postdrop = grp.getgrnam(POSTDROP_GROUP).gr_gid
        conf.mkdir(mode=0o755, exist_ok=True)
        queue.mkdir(mode=0o755, exist_ok=True)
        data.mkdir(mode=0o700, exist_ok=True)
        os.chown(data, owner, -1)
        for name, by_owner, by_group, mode in _QUEUE_DIRS:
            path = queue / name
            path.mkdir(exist_ok=True)
            os.chown(path, owner if by_owner else 0, postdrop if by_group else 0)
            path.chmod(mode)
        chain, key = conf / "chain.pem", conf / "key.pem"
        chain.write_bytes(self._chain_pem)
        key.touch(mode=0o600)
        key.chmod(0o600)
        key.write_bytes(self._key_pem)
        (conf / "main.cf").write_text(self._main_cf(queue, data, key, chain))
        (conf / "master.cf").write_text(self._master_cf())
        _age_files(conf)

    def _main_cf(self, queue: Path, data: Path, key: Path, chain: Path) -> str:
        ipv6 = ipaddress.ip_address(self.ip).version == 6
        params: dict[str, str] = {
            "compatibility_level": "3.6",
            "queue_directory": str(queue),
            "data_directory": str(data),
            "mail_owner": POSTFIX_USER,
            "setgid_group": POSTDROP_GROUP,
            "maillog_file": "/dev/stdout",
            "myhostname": self.hostname,
            "mydestination": "$myhostname, localhost",
            # No trusted clients: a checker on loopback is an outsider, as on the
            # Internet; mail is accepted for $mydestination only, not relayed.
            "mynetworks": "",
            # Each smtpd binds the address named in master.cf; inet_interfaces only
            # has to exist on an interface (127.0.0.2 is routable but not assigned).
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv6" if ipv6 else "ipv4",
            "smtpd_banner": f"$myhostname ESMTP Postfix (mxtls lab {self._token})",
            "smtpd_peername_lookup": "no",
            "biff": "no",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "default_transport": "discard:mxtls lab",
            "relay_transport": "discard:mxtls lab",
            "local_transport": "discard:mxtls lab",
            "virtual_transport": "discard:mxtls lab",
            "smtpd_tls_chain_files": f"{key}, {chain}",
            "smtpd_tls_security_level": "may",
            "smtpd_tls_loglevel": "1",
        }
        params.update(self._settings)
        lines = ["# Generated by mxtls.testing.postfix; private lab instance."]
        lines += [f"{name} = {value}" for name, value in params.items()]
        return "\n".join(lines) + "\n"

    def _master_cf(self) -> str:
        host = f"[{self.ip}]" if ipaddress.ip_address(self.ip).version == 6 else self.ip
        lines = ["# Generated by mxtls.testing.postfix; private lab instance."]
        for std, port in self._port_map.items():
            overrides = {**_SERVICE_DEFAULTS[std], **self._service_settings.get(std, {})}
            opts = " ".join(f"-o {{ {k} = {v} }}" for k, v in overrides.items())
            lines.append(f"{host}:{port} inet n - n - - smtpd {opts}")
        return "\n".join(lines) + "\n" + _INTERNAL_SERVICES

    def _ready(self) -> str | None:
        pending = [std for std in self._port_map if std not in self._answered]
        expect = f"220 {self.hostname} "
        token = None if "smtpd_banner" in self._settings else self._token
        last_error = None
        for std in pending:
            port = self._port_map[std]
            try:
                if std == SMTPS_PORT:
                    # Implicit TLS: the handshake's parameters are the test's
                    # business (it may allow only old protocols); accepting the
                    # connection while our master lives is enough here.
                    with socket.create_connection((self.ip, port), BANNER_READ_TIMEOUT_S):
                        pass
                else:
                    line = _read_banner(self.ip, port)
                    if not line.startswith(expect) or (token and token not in line):
                        raise PostfixError(
                            f"{self.ip}:{port}: answered {line!r}, not this instance "
                            f"({expect}... {token or ''})\n{self.log_tail()}"
                        )
                self._answered.add(std)
            except OSError as exc:
                last_error = f"{self.ip}:{port}: {exc}"
        return last_error


def _read_banner(ip: str, port: int) -> str:
    """First reply line from ``ip:port``, sending nothing but QUIT afterwards.

    Raises:
        OSError: connect/read failed or the line exceeded ``BANNER_MAX_BYTES``.
    """
    with socket.create_connection((ip, port), BANNER_READ_TIMEOUT_S) as sock:
        buf = b""
        while b"\r\n" not in buf:
            chunk = sock.recv(BANNER_MAX_BYTES)
            if not chunk:
                raise ConnectionError("closed before a banner")
            buf += chunk
            if len(buf) > BANNER_MAX_BYTES:
                raise ConnectionError("banner line too long")
        with contextlib.suppress(OSError):
            sock.sendall(b"QUIT\r\n")
        return buf.split(b"\r\n", 1)[0].decode("ascii", "replace")


@dataclass(frozen=True)
class PostfixPeer:
    """A running private Postfix and what a test needs to reach and judge it."""

    host: str  # the MX name under test (Postfix's myhostname)
    ip: str
    port_map: dict[int, int]  # {25: p, 465: p2, 587: p3}
    ca_file: Path  # lab root PEM: the only trust anchor a client needs
    ca: LabCA
    issued: Issued  # the certificate and chain the instance presents
    instance: PostfixInstance
