"""The history database on SQLite and a real PostgreSQL: migrations, models, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from mxtls.monitor.diff import leaves
from mxtls.store import history
from mxtls.store.db import create_db_engine, downgrade, open_store, upgrade
from mxtls.store.models import Base, CertificateRow
from tests.monitor.conftest import LabRounds

TABLES = {
    "reports",
    "findings",
    "certificates",
    "events",
    "held_events",
    "deliveries",
    "tlsrpt_reports",
    "tlsrpt_policies",
    "tlsrpt_failures",
    "web_checks",
}


def test_upgrade_from_empty_and_downgrade_one_step(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        upgrade(engine)
        assert TABLES <= set(inspect(engine).get_table_names())
        # the migrations produce exactly what the models describe
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        downgrade(engine, "-1")  # the newest step: the web service's permalinks
        assert set(inspect(engine).get_table_names()) & TABLES == TABLES - {"web_checks"}
        downgrade(engine, "base")
        assert not TABLES & set(inspect(engine).get_table_names())
        upgrade(engine)
        assert TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_round_trip_and_retention(db_url: str, lab_rounds: LabRounds) -> None:
    store = open_store(db_url)
    try:
        old, new = lab_rounds.before["good.lab"], lab_rounds.after["good.lab"]
        aged = old.model_copy(update={"checked_at": old.checked_at - timedelta(days=100)})
        store.call(lambda s: history.save_report(s, aged))
        store.call(lambda s: history.save_report(s, new))
        assert store.call(lambda s: history.latest_report(s, "good.lab")) == new
        pruned = store.call(lambda s: history.prune(s, datetime.now(UTC) - timedelta(days=90)))
        assert pruned.reports == 1
        rows = store.call(lambda s: list(history.list_reports(s, "good.lab")))
        assert [r.checked_at.replace(tzinfo=UTC) for r in rows] == [new.checked_at]
        # findings and certificates of the pruned report went with it
        certs = store.call(lambda s: {c.report_id for c in s.query(CertificateRow)})
        assert certs == {rows[0].id}
        # the newest report of a domain survives any retention
        gone = store.call(lambda s: history.prune(s, datetime.now(UTC) + timedelta(days=1)))
        assert gone.reports == 0
    finally:
        store.close()


def test_last_leaves_before_a_report(db_url: str, lab_rounds: LabRounds) -> None:
    store = open_store(db_url)
    try:
        old, new = lab_rounds.before["secure.lab"], lab_rounds.after["secure.lab"]
        first = store.call(lambda s: history.save_report(s, old).id)
        second = store.call(lambda s: history.save_report(s, new).id)
        assert store.call(lambda s: history.last_leaves(s, "secure.lab")) == leaves(new)
        before = store.call(lambda s: history.last_leaves(s, "secure.lab", before_report=second))
        assert before == leaves(old) and first < second
    finally:
        store.close()
