"""A private PostgreSQL cluster on loopback: the history database as a real test peer.

Theory of operation (the life cycle is :class:`~mxtls.testing.daemon.PrivateDaemon`'s).
``_prepare`` runs ``initdb`` for a throwaway cluster in the instance's
directory (trust authentication, superuser ``mxtls``); ``postgres`` runs in
the foreground as our child, listening on ``127.0.0.1`` at a free port and on
a Unix socket in the same directory, never on the system's; readiness is
``pg_isready``.  The server refuses to run as root, so as root the directory
and every command belong to the ``postgres`` account that Debian's package
creates.  It stops with SIGINT (PostgreSQL's fast shutdown: open client
connections do not hold it up).  :meth:`create_database` gives each test an
empty database of its own.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any, ClassVar, Self

from mxtls.testing.daemon import DaemonError, PrivateDaemon, free_tcp_port

START_TIMEOUT_S = 30.0
COMMAND_TIMEOUT_S = 120.0
SEARCH_PATH = "usr/lib/postgresql/*/bin"
SUPERUSER = "mxtls"
RUN_AS = "postgres"  # the account Debian's package creates


class PostgresError(DaemonError):
    """The private cluster could not be started (the message ends with its log)."""


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/").glob(SEARCH_PATH), reverse=True)
    return next((c for c in candidates if (c / "initdb").exists()), None)


class PostgresInstance(PrivateDaemon):
    """``with PostgresInstance() as pg: pg.url`` → an empty ``mxtls`` database."""

    name: ClassVar[str] = "PostgreSQL"
    slug: ClassVar[str] = "pg"
    error: ClassVar[type[DaemonError]] = PostgresError
    stop_signal: ClassVar[int] = signal.SIGINT

    def __init__(self, *, workdir: Path | None = None, start_timeout: float = START_TIMEOUT_S):
        super().__init__(ip="127.0.0.1", workdir=workdir, start_timeout=start_timeout)
        self.port = 0
        self._bin = _bin_dir()

    @staticmethod
    def available() -> tuple[bool, str]:
        """Whether a cluster can be started here, and if not, why."""
        if _bin_dir() is None:
            return False, "initdb/postgres not found (Debian package postgresql)"
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(RUN_AS)
            except KeyError:
                return False, f"running as root and there is no {RUN_AS!r} account"
        return True, ""

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``mxtls`` database (psycopg 3 driver)."""
        return self.database_url("mxtls")

    def database_url(self, name: str) -> str:
        """SQLAlchemy URL of database ``name`` on this cluster."""
        return f"postgresql+psycopg://{SUPERUSER}@{self.ip}:{self.port}/{name}"

    def create_database(self, name: str) -> str:
        """Create an empty database ``name`` (letters, digits, _); return its URL."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"database name {name!r}: letters, digits and _ only")
        self._run("createdb", "-h", self.ip, "-p", str(self.port), "-U", SUPERUSER, name)
        return self.database_url(name)

    def start(self) -> Self:
        """Start as :meth:`PrivateDaemon.start` does, then create the ``mxtls`` database.

        Raises:
            PostgresError: the cluster did not start, or the database was refused.
        """
        super().start()
        try:
            self.create_database("mxtls")
        except BaseException:
            self.stop()
            raise
        return self

    # -- PrivateDaemon --------------------------------------------------------------

    def _spawn_options(self) -> dict[str, Any]:
        """Drop root to the ``postgres`` account (the server refuses to run as root)."""
        if os.geteuid() != 0:
            return {}
        account = pwd.getpwnam(RUN_AS)
        return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def _prepare(self) -> None:
        if os.geteuid() == 0:
            account = pwd.getpwnam(RUN_AS)
            os.chown(self.workdir, account.pw_uid, account.pw_gid)
        self._run(
            "initdb", "-D", str(self.workdir / "data"), "-U", SUPERUSER, "-A", "trust",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        self.port = free_tcp_port(self.ip)

    def _command(self) -> list[str]:
        assert self._bin is not None
        settings = ["fsync=off", "full_page_writes=off", "synchronous_commit=off"]
        return [
            str(self._bin / "postgres"),
            "-D", str(self.workdir / "data"),
            "-p", str(self.port),
            "-h", self.ip,
            "-k", str(self.workdir),
            *(arg for s in settings for arg in ("-c", s)),
        ]  # fmt: skip

    def _ready(self) -> str | None:
        assert self._bin is not None
        probe = subprocess.run(
            [str(self._bin / "pg_isready"), "-h", self.ip, "-p", str(self.port), "-q"],
            capture_output=True,
            timeout=5,
            **self._spawn_options(),
        )
        return None if probe.returncode == 0 else f"pg_isready: status {probe.returncode}"

    @property
    def _where(self) -> str:
        return f"{self.ip}:{self.port}"

    def _run(self, *args: str) -> None:
        assert self._bin is not None
        try:
            subprocess.run(
                [str(self._bin / args[0]), *args[1:]],
                check=True,
                capture_output=True,
                timeout=COMMAND_TIMEOUT_S,
                cwd=self.workdir,
                **self._spawn_options(),
            )
        except subprocess.CalledProcessError as exc:
            out = (exc.stdout or b"") + (exc.stderr or b"")
            raise PostgresError(
                f"{args[0]} failed: {out.decode(errors='replace')[-2000:]}"
            ) from None
        except subprocess.TimeoutExpired:
            raise PostgresError(f"{args[0]} took longer than {COMMAND_TIMEOUT_S}s") from None
