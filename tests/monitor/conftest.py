"""Monitor fixtures: a real PostgreSQL (private cluster) next to SQLite, a small lab.

``db_url`` runs a test once per database: a SQLite file, and a fresh database
in one private PostgreSQL cluster per session (skipped, with the reason
printed, only where Debian's postgresql cannot be started here).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from mxtls.lab.scenarios import SCENARIOS, Scenario
from mxtls.testing.postgres import PostgresError, PostgresInstance

MONITOR_DOMAINS = ("secure.lab", "dane-single.lab", "good.lab")
_names = itertools.count(1)


def monitor_scenarios() -> list[Scenario]:
    """The lab rows the monitor tests serve (a small lab starts in milliseconds)."""
    return [s for s in SCENARIOS if s.domain in MONITOR_DOMAINS]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresInstance]:
    ok, reason = PostgresInstance.available()
    if not ok:
        pytest.skip(f"PostgreSQL not available: {reason}")
    try:
        instance = PostgresInstance().start()
    except PostgresError as exc:
        pytest.skip(f"PostgreSQL could not start here: {exc}")
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.sqlite3'}"
    pg: PostgresInstance = request.getfixturevalue("postgres")
    return pg.create_database(f"t{next(_names)}")
