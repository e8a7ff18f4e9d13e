"""Open the history database and keep its schema current (Alembic, run in-process).

``open_store(url)`` creates the engine, runs the migrations up to head and
returns a :class:`Store`: a session factory plus one worker thread, so the
monitor's event loop hands each unit of work to the thread
(:meth:`Store.run`) instead of blocking on the database.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mxtls.errors import ConfigError

T = TypeVar("T")
MIGRATIONS = Path(__file__).parent / "migrations"
DB_FILE = "history.sqlite3"
SUPPORTED_DIALECTS = ("sqlite", "postgresql")


def default_url() -> str:
    """``sqlite:///`` a file under the user's data directory (``$XDG_DATA_HOME/mxtls``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(base) / 'mxtls' / DB_FILE}"


def create_db_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLite with foreign keys on, so deletes cascade).

    Raises:
        ConfigError: not a SQLite or PostgreSQL URL, or its driver is missing.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"--db {_redact(url)}: not a database URL ({exc})") from None
    if parsed.get_backend_name() not in SUPPORTED_DIALECTS:
        raise ConfigError(f"--db {_redact(url)}: only sqlite:/// and postgresql+psycopg:// URLs")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(parsed, pool_pre_ping=True)
    except ImportError as exc:
        hint = " (pip install 'mxtls[postgresql]')" if "psycopg" in str(exc) else ""
        raise ConfigError(f"--db {_redact(url)}: database driver missing: {exc}{hint}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the schema up to ``revision``."""
    _migrate(engine, lambda cfg: command.upgrade(cfg, revision))


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the schema down to ``revision`` (``-1``: one step)."""
    _migrate(engine, lambda cfg: command.downgrade(cfg, revision))


def _migrate(engine: Engine, action: Callable[[Config], None]) -> None:
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        action(cfg)


class Store:
    """A migrated database: sessions, and a thread to run them off the event loop."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mxtls-store")

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def session(self) -> Session:
        """A new session (use as a context manager; one per unit of work)."""
        return self.sessions()

    def call(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in a session that commits when it returns, rolls back when it raises."""
        with self.sessions.begin() as session:
            return fn(session)

    async def run(self, fn: Callable[[Session], T]) -> T:
        """:meth:`call` on the store's thread, awaited from the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.call, fn)

    def close(self) -> None:
        """Finish queued work, then release every connection."""
        self._pool.shutdown(wait=True)
        self.engine.dispose()


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """Open the database at ``url`` (default: :func:`default_url`) and migrate it to head.

    Raises:
        ConfigError: the URL is unusable or the database cannot be reached.
    """
    engine = create_db_engine(url or default_url())
    if migrate:
        try:
            upgrade(engine)
        except OperationalError as exc:
            engine.dispose()
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise ConfigError(f"--db {_redact(url or default_url())}: {reason}") from None
    return Store(engine)
