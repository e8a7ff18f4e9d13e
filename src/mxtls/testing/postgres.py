"""A private PostgreSQL cluster on loopback: the history database as a real test peer.

Theory of operation.  ``initdb`` creates a throwaway cluster in a temporary
directory (trust authentication, superuser ``mxtls``); ``postgres`` runs it
in the foreground as our child, listening on ``127.0.0.1`` at a free port
and on a Unix socket in the same directory, never on the system's.  The
server refuses to run as root, so as root the cluster belongs to the
``postgres`` account that Debian's package creates, and the binaries run
under ``runuser``.  ``stop()`` sends SIGINT (fast shutdown) and removes the
directory.  Readiness is ``pg_isready`` against that port.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
INITDB_TIMEOUT_S = 120.0
POLL_INTERVAL_S = 0.1
SEARCH_PATH = "/usr/lib/postgresql/*/bin"
SUPERUSER = "mxtls"
RUN_AS = "postgres"  # the account Debian's package creates


class PostgresError(RuntimeError):
    """The private cluster could not be started (the message ends with its log)."""


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/").glob(SEARCH_PATH.lstrip("/")), reverse=True)
    return next((c for c in candidates if (c / "initdb").exists()), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PostgresInstance:
    """``with PostgresInstance() as pg: pg.url`` → a migrated-nothing, empty database."""

    def __init__(self) -> None:
        self.workdir: Path | None = None
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._bin = _bin_dir()

    @staticmethod
    def available() -> tuple[bool, str]:
        """Whether a cluster can be started here, and if not, why."""
        if _bin_dir() is None:
            return False, "initdb/pg_ctl not found (Debian package postgresql)"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(RUN_AS)
            except KeyError:
                return False, f"running as root and there is no {RUN_AS!r} account"
        return True, ""

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``mxtls`` database (psycopg 3 driver)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/mxtls"

    def create_database(self, name: str) -> str:
        """Create an empty database ``name`` (letters, digits, _); return its URL."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"database name {name!r}: letters, digits and _ only")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, name)
        return self.url.rsplit("/", 1)[0] + "/" + name

    def _cmd(self, *args: str) -> list[str]:
        assert self._bin is not None
        return [str(self._bin / args[0]), *args[1:]]

    @staticmethod
    def _as() -> dict[str, object]:
        """``subprocess`` arguments that drop root to the ``postgres`` account."""
        if os.geteuid() != 0:
            return {}
        account = pwd.getpwnam(RUN_AS)
        return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def start(self) -> Self:
        """initdb, start, wait until ready, create the database.

        Raises:
            PostgresError: any step failed (with the server's log).
        """
        ok, reason = self.available()
        if not ok:
            raise PostgresError(reason)
        self.workdir = Path(tempfile.mkdtemp(prefix="mxtls-pg-"))
        if os.geteuid() == 0:
            account = pwd.getpwnam(RUN_AS)
            os.chown(self.workdir, account.pw_uid, account.pw_gid)
        data = self.workdir / "data"
        try:
            self._run(
                "initdb", "-D", str(data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-sync"
            )
            self.port = _free_port()
            log = open(self.workdir / "server.log", "wb")  # noqa: SIM115 - the child keeps it
            self._proc = subprocess.Popen(
                self._cmd(
                    "postgres",
                    "-D",
                    str(data),
                    "-p",
                    str(self.port),
                    "-h",
                    "127.0.0.1",
                    "-k",
                    str(self.workdir),
                    "-c",
                    "fsync=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "synchronous_commit=off",
                ),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                **self._as(),  # type: ignore[call-overload]
            )
            log.close()
            self._wait_ready()
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "mxtls")
        except BaseException:
            self.stop()
            raise
        return self

    def _run(self, *args: str) -> None:
        try:
            subprocess.run(
                self._cmd(*args),
                check=True,
                capture_output=True,
                timeout=INITDB_TIMEOUT_S,
                cwd=self.workdir,
                **self._as(),  # type: ignore[call-overload]
            )
        except subprocess.CalledProcessError as exc:
            out = (exc.stdout or b"") + (exc.stderr or b"")
            raise PostgresError(
                f"{args[0]} failed: {out.decode(errors='replace')[-2000:]}"
            ) from None
        except subprocess.TimeoutExpired:
            raise PostgresError(f"{args[0]} took longer than {INITDB_TIMEOUT_S}s") from None

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise PostgresError(f"postgres exited: {self._log_tail()}")
            probe = subprocess.run(
                self._cmd("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-q"),
                capture_output=True,
                timeout=5,
                **self._as(),  # type: ignore[call-overload]
            )
            if probe.returncode == 0:
                return
            time.sleep(POLL_INTERVAL_S)
        raise PostgresError(f"not ready within {START_TIMEOUT_S}s: {self._log_tail()}")

    def _log_tail(self) -> str:
        if self.workdir is None:
            return ""
        with contextlib.suppress(OSError):
            return (self.workdir / "server.log").read_text(errors="replace")[-2000:]
        return ""

    def stop(self) -> None:
        """Fast shutdown, then remove the cluster."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
