"""The life cycle every private test daemon shares: a private directory, start, ready, stop.

Theory of operation.  A test peer (Postfix, unbound, Dovecot) is a real Debian
daemon run as our child, never the system instance: it gets a directory of its
own (a fresh temporary one unless the caller names one), a generated
configuration in it, loopback addresses only and ports picked free.
:class:`PrivateDaemon` owns what is the same for all of them:

* ``start()``: create the directory, let the subclass write its files
  (``_prepare``), spawn the command it names (``_command``) in the foreground
  with its output appended to a log file of the directory, then poll the
  subclass's readiness probe (``_ready``) until it answers, the process exits
  or ``start_timeout`` passes.  A start that lost a race for a port picked
  free is retried (``_should_retry``), at most ``START_ATTEMPTS`` times.
* ``stop()``: SIGTERM (or the daemon's ``stop_signal``), a bounded wait,
  SIGKILL; when the daemon leads a process group (``leads_group``: Postfix's
  master calls setsid(), Dovecot is spawned in a session of its own), no
  process of that group may survive; a temporary directory is removed.
  Idempotent, and registered with ``atexit`` while the daemon runs.
* ``available()``: whether it can run here, ``(True, "")`` or
  ``(False, reason)``, so a test skips with a printed reason.
* ``log_tail()``: the end of each log file, for error messages.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, Self

STOP_TIMEOUT_S = 5.0
POLL_INTERVAL_S = 0.05
LOG_TAIL_LINES = 30
START_ATTEMPTS = 3  # only when a port was picked free and a race lost it


class DaemonError(RuntimeError):
    """A private daemon could not be started (the message ends with its log)."""


def find_binary(name: str) -> str | None:
    """``name`` on PATH or in the sbin directories (daemons live there)."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def free_tcp_port(ip: str) -> int:
    """A TCP port free on ``ip`` right now (the daemon binds it a moment later)."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((ip, 0))
        port: int = s.getsockname()[1]
        return port


def free_udp_tcp_port(ip: str) -> int:
    """A port free for both UDP and TCP on ``ip`` (a DNS server listens on both).

    Raises:
        DaemonError: no such port after 20 tries.
    """
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
    raise DaemonError(f"no port free for UDP and TCP on {ip}")


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group ``pgid``, from /proc."""
    members: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # comm may contain spaces and parentheses: split after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def reap_process_group(pgid: int, error: type[DaemonError] = DaemonError) -> None:
    """Wait until no process of group ``pgid`` is left; SIGKILL the group after a while.

    Raises:
        DaemonError: (``error``) processes survived SIGKILL.
    """
    deadline = time.monotonic() + STOP_TIMEOUT_S
    killed = False
    while group_members(pgid):
        if time.monotonic() >= deadline:
            if killed:
                raise error(f"processes of group {pgid} survived SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            killed = True
            deadline = time.monotonic() + STOP_TIMEOUT_S
        time.sleep(POLL_INTERVAL_S)


class PrivateDaemon:
    """A private daemon on loopback, as our child (see the module's theory of operation).

    Subclasses set the class attributes and implement ``available``,
    ``_prepare``, ``_command`` and ``_ready``.

    Args:
        ip: the loopback address it listens on.
        workdir: its directory; default a fresh temporary one, removed by ``stop()``.
        start_timeout: bound on the wait for readiness in ``start()``.
    """

    name: ClassVar[str] = "daemon"  # for messages ("unbound", "Postfix master")
    slug: ClassVar[str] = "daemon"  # in the temporary directory's name (mxtls-<slug>-…)
    error: ClassVar[type[DaemonError]] = DaemonError  # what start() raises
    output_log: ClassVar[str] = "output.log"  # the file that receives stdout and stderr
    log_files: ClassVar[tuple[str, ...]] = ("output.log",)  # what log_tail() shows
    exit_hint: ClassVar[str] = ""  # appended when the daemon exits before answering
    spawn_session: ClassVar[bool] = False  # start it in a new session (it then leads a group)
    leads_group: ClassVar[bool] = False  # its children share its process group: reap them
    stop_signal: ClassVar[int] = signal.SIGTERM  # PostgreSQL's fast shutdown is SIGINT

    def __init__(self, *, ip: str, workdir: Path | None, start_timeout: float) -> None:
        self.ip = ip
        self._given_workdir = workdir
        self._start_timeout = start_timeout
        self._workdir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    # -- what each daemon says -----------------------------------------------------

    @staticmethod
    def available() -> tuple[bool, str]:
        """Can a private instance run here?  ``(True, "")`` or ``(False, reason)``."""
        raise NotImplementedError

    def _prepare(self) -> None:
        """Pick ports and write the configuration into ``workdir`` (before the spawn).

        Raises:
            DaemonError: the configuration is unusable (e.g. a taken port).
        """
        raise NotImplementedError

    def _command(self) -> list[str]:
        """The foreground command line."""
        raise NotImplementedError

    def _ready(self) -> str | None:
        """One readiness probe: None when the daemon answers as itself, else why not yet.

        Raises:
            DaemonError: something answered that is not this instance.
        """
        raise NotImplementedError

    @property
    def _where(self) -> str:
        """Where it listens, for messages."""
        return self.ip

    def _spawn_options(self) -> dict[str, Any]:
        """Extra :class:`subprocess.Popen` arguments (e.g. ``user``/``group`` to drop root)."""
        return {}

    def _should_retry(self, exc: DaemonError) -> bool:
        """Retry a failed start (a port picked free was taken meanwhile)?"""
        return False

    def _after_stop(self, pid: int) -> None:
        """Reap what the daemon spawned once it has exited (its process group)."""
        # Linux does not reuse a pid while a process group of that id exists.
        if (self.leads_group or self.spawn_session) and pid != os.getpgrp():
            reap_process_group(pid, self.error)

    # -- state ---------------------------------------------------------------------

    @property
    def workdir(self) -> Path:
        """The instance's directory (valid after ``start()``)."""
        if self._workdir is None:
            raise RuntimeError(f"{type(self).__name__} not started")
        return self._workdir

    @property
    def running(self) -> bool:
        """Whether the daemon is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The daemon's process id (None when not started)."""
        return self._proc.pid if self._proc is not None else None

    # -- life cycle ----------------------------------------------------------------

    def start(self) -> Self:
        """Prepare the directory, spawn the daemon and wait until it answers.

        Raises:
            DaemonError: (the subclass's ``error``) the daemon is unavailable,
                its configuration was refused, it exited, or it did not answer
                within ``start_timeout``; the message holds its log tail.
        """
        if self._proc is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        ok, reason = self.available()
        if not ok:
            raise self.error(reason)
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                self._start_once()
                return self
            except DaemonError as exc:
                retry = self._should_retry(exc)
                self.stop()
                if not retry or attempt == START_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """Stop the daemon (SIGTERM, then SIGKILL) and remove a temporary directory.

        Idempotent; bounded by ``STOP_TIMEOUT_S`` per wait.
        """
        proc, self._proc = self._proc, None
        atexit.unregister(self.stop)
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(self.stop_signal)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT_S)
            self._after_stop(proc.pid)
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
        """The last ``lines`` of each log file (empty before ``start()``)."""
        if self._workdir is None:
            return ""
        out: list[str] = []
        for name in self.log_files:
            try:
                text = (self._workdir / name).read_text(errors="replace")
            except OSError:
                continue
            if text.strip():
                out.append(f"--- {name}\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(out) or f"({self.name} wrote no log)"

    # -- internals -----------------------------------------------------------------

    def _start_once(self) -> None:
        if self._given_workdir is not None:
            self._workdir = self._given_workdir
            self._workdir.mkdir(parents=True, exist_ok=True)
        else:
            self._workdir = Path(tempfile.mkdtemp(prefix=f"mxtls-{self.slug}-"))
        self._prepare()
        with (self._workdir / self.output_log).open("ab") as out:
            self._proc = subprocess.Popen(
                self._command(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self._workdir,
                close_fds=True,
                start_new_session=self.spawn_session,
                **self._spawn_options(),
            )
        atexit.register(self.stop)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self._start_timeout
        last_error = "no attempt"
        while True:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise self.error(
                    f"{self.name} exited with status {self._proc.returncode} before "
                    f"{self._where} answered{self.exit_hint}\n{self.log_tail()}"
                )
            why_not = self._ready()
            if why_not is None:
                return
            last_error = why_not
            if time.monotonic() >= deadline:
                raise self.error(
                    f"{self.name} on {self._where} not ready within "
                    f"{self._start_timeout}s ({last_error})\n{self.log_tail()}"
                )
            time.sleep(POLL_INTERVAL_S)
