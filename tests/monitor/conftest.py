"""Monitor fixtures: a real PostgreSQL (private cluster) next to SQLite, a small lab.

``db_url`` runs a test once per database: a SQLite file, and a fresh database
in one private PostgreSQL cluster per session (skipped, with the reason
printed, only where Debian's postgresql cannot be started here).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from mxtls.config import Timeouts
from mxtls.engine.run import check_domain
from mxtls.lab.scenarios import SCENARIOS, Scenario
from mxtls.lab.smtp_server import SmtpMode
from mxtls.lab.world import Lab
from mxtls.models.report import Report
from mxtls.testing.postgres import PostgresError, PostgresInstance
from tests.conftest import LAB_STEP_TIMEOUT_S
from tests.peers import require_peer

MONITOR_DOMAINS = ("secure.lab", "dane-single.lab", "good.lab")
_names = itertools.count(1)


def monitor_scenarios() -> list[Scenario]:
    """The lab rows the monitor tests serve (a small lab starts in milliseconds)."""
    return [s for s in SCENARIOS if s.domain in MONITOR_DOMAINS]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresInstance]:
    require_peer("PostgreSQL", *PostgresInstance.available())
    try:
        instance = PostgresInstance().start()
    except PostgresError as exc:
        require_peer("PostgreSQL", False, f"could not start here: {exc}")
        raise  # not reached: require_peer skipped or failed
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


PAIR_DOMAINS = (*MONITOR_DOMAINS, "expired.lab", "untrusted.lab")
TARPIT_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class LabRounds:
    """Real reports of the same lab domains in three states of the lab.

    ``before``: as the scenarios say; ``after``: dane-single.lab and
    secure.lab renewed with new keys, mx1.good.lab without STARTTLS on 25;
    ``timeout``: good.lab with mx2.good.lab silent (a tarpit) on port 25,
    checked with a 1 s step timeout.
    """

    before: dict[str, Report]
    after: dict[str, Report]
    timeout: Report


@pytest.fixture(scope="session")
def lab_rounds() -> LabRounds:
    rows = [s for s in SCENARIOS if s.domain in PAIR_DOMAINS]

    async def run() -> LabRounds:
        async with Lab(rows) as lab:
            cfg = lab.check_config(timeouts=Timeouts.uniform(LAB_STEP_TIMEOUT_S), ports=(25,))

            async def all_domains() -> dict[str, Report]:
                reports = await asyncio.gather(*(check_domain(d, cfg) for d in PAIR_DOMAINS))
                return dict(zip(PAIR_DOMAINS, reports, strict=True))

            before = await all_domains()
            lab.renew_certificate("mx.dane-single.lab", key_slot=50)
            lab.renew_certificate("mx.secure.lab", key_slot=51)
            lab.set_smtp_mode("mx1.good.lab", SmtpMode.NO_STARTTLS, port=25)
            after = await all_domains()
            lab.set_smtp_mode("mx1.good.lab", SmtpMode.GOOD, port=25)
            lab.set_smtp_mode("mx2.good.lab", SmtpMode.TARPIT, port=25)
            short = replace(cfg, timeouts=Timeouts.uniform(TARPIT_TIMEOUT_S))
            timeout = await check_domain("good.lab", short)
            return LabRounds(before, after, timeout)

    return asyncio.run(run())
