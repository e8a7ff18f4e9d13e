"""The web service's checks: permalink ids, their state and their stored reports.

Every function takes an open session (one unit of work, committed by the
caller: :meth:`mxtls.store.db.Store.run`).  A finished check's report is an
ordinary stored report (:func:`mxtls.store.history.save_report`), so a
domain's history shows web checks next to monitor rounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from mxtls.models.report import Report
from mxtls.store.history import as_utc, decompress_report, save_report
from mxtls.store.models import ReportRow, WebCheckRow

MAX_ERROR_CHARS = 2000
INTERRUPTED = "the server stopped before this check finished; run it again"


@dataclass(frozen=True, slots=True)
class StoredCheck:
    """A web check as read back: its state, and its report once done."""

    id: str
    kind: str
    target: str
    deep: bool
    created_at: datetime
    status: str
    finished_at: datetime | None
    report: Report | None
    error: str | None


def add_check(
    session: Session, check_id: str, kind: str, target: str, deep: bool, created_at: datetime
) -> None:
    """Record a queued check."""
    session.add(
        WebCheckRow(
            id=check_id,
            kind=kind,
            target=target[:1000],
            deep=deep,
            created_at=created_at,
            status="queued",
        )
    )


def mark_running(session: Session, check_id: str) -> None:
    """The check left the queue."""
    row = session.get(WebCheckRow, check_id)
    if row is not None:
        row.status = "running"


def finish_check(session: Session, check_id: str, report: Report, at: datetime) -> int:
    """Store ``report`` and point the check at it; return the report row's id."""
    stored = save_report(session, report)
    row = session.get(WebCheckRow, check_id)
    if row is not None:
        row.status, row.report_id, row.finished_at = "done", stored.id, at
    return stored.id


def fail_check(session: Session, check_id: str, error: str, at: datetime) -> None:
    """The check could not run (a caller mistake caught late, an internal failure, a stop)."""
    row = session.get(WebCheckRow, check_id)
    if row is not None:
        row.status, row.error, row.finished_at = "error", error[:MAX_ERROR_CHARS], at


def interrupt_unfinished(session: Session, at: datetime) -> int:
    """Mark every queued or running check as failed (at start-up: a previous run stopped)."""
    result = session.execute(
        update(WebCheckRow)
        .where(WebCheckRow.status.in_(("queued", "running")))
        .values(status="error", error=INTERRUPTED, finished_at=at)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # CursorResult


def get_check(session: Session, check_id: str) -> StoredCheck | None:
    """The check with this id and, when done, its report (None: no such check)."""
    row = session.get(WebCheckRow, check_id)
    if row is None:
        return None
    report = None
    error = row.error
    if row.status == "done":
        stored = session.get(ReportRow, row.report_id) if row.report_id is not None else None
        if stored is not None and stored.document:
            report = decompress_report(stored.document)
        else:
            error = "this result is no longer kept (the history's retention removed it)"
    return StoredCheck(
        id=row.id,
        kind=row.kind,
        target=row.target,
        deep=row.deep,
        created_at=as_utc(row.created_at),
        status=row.status,
        finished_at=as_utc(row.finished_at) if row.finished_at is not None else None,
        report=report,
        error=error,
    )
