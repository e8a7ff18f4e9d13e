"""History queries: store a report with its index rows, read reports and events back.

Every function takes an open :class:`~sqlalchemy.orm.Session` (one per unit of
work, committed by the caller, e.g. :meth:`mxtls.store.db.Store.call`).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mxtls.models.report import Report, tlsa_matches
from mxtls.monitor.diff import EVENT_ADAPTER, Event, Leaf
from mxtls.store.models import (
    CertificateRow,
    DeliveryRow,
    EventRow,
    FindingRow,
    HeldEventRow,
    ReportRow,
    TlsRptReportRow,
)

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024  # a stored report never inflates past this
ZLIB_LEVEL = 6


def compress_report(report: Report) -> bytes:
    """The report's ``mxtls/1`` JSON, zlib-compressed (what ``document`` holds)."""
    return zlib.compress(report.model_dump_json(by_alias=True).encode(), ZLIB_LEVEL)


def decompress_report(document: bytes) -> Report:
    """The stored document back as a :class:`Report` (bounded inflate).

    Raises:
        ValueError: the document is corrupt or inflates past the bound.
    """
    inflater = zlib.decompressobj()
    text = inflater.decompress(document, MAX_DOCUMENT_BYTES)
    if inflater.unconsumed_tail:
        raise ValueError("stored report inflates past the bound")
    return Report.model_validate_json(text)


def save_report(session: Session, report: Report) -> ReportRow:
    """Store ``report`` with its finding and certificate rows; return the report row."""
    row = ReportRow(
        domain=report.domain,
        checked_at=report.checked_at,
        status="ok",
        duration_ms=report.duration_ms,
        errors=report.summary.errors,
        warnings=report.summary.warnings,
        infos=report.summary.infos,
        document=compress_report(report),
    )
    row.findings = [
        FindingRow(
            domain=report.domain,
            checked_at=report.checked_at,
            code=f.code,
            severity=f.severity.value,
            target=f.target,
            message=f.message,
        )
        for f in report.findings
    ]
    row.certificates = [
        CertificateRow(
            domain=report.domain,
            host=ep.host,
            ip=ep.ip,
            port=ep.port,
            sha256=leaf.sha256_fingerprint,
            spki_sha256=leaf.spki_sha256,
            subject=leaf.subject,
            issuer=leaf.issuer,
            not_before=leaf.not_before,
            not_after=leaf.not_after,
            tls_version=ep.handshake.version,
            dane_match=tlsa_matches(report, ep.host, ep.ip, ep.port, leaf.spki_sha256),
        )
        for h in report.hosts
        for ep in h.endpoints
        if ep.handshake is not None and ep.handshake.chain
        for leaf in ep.handshake.chain[:1]
    ]
    session.add(row)
    session.flush()
    return row


def save_failure(
    session: Session, domain: str, checked_at: datetime, error: str, duration_ms: float
) -> ReportRow:
    """Record a check that could not run (no document)."""
    row = ReportRow(
        domain=domain,
        checked_at=checked_at,
        status="failed",
        duration_ms=duration_ms,
        errors=0,
        warnings=0,
        infos=0,
        document=None,
        error=error[:2000],
    )
    session.add(row)
    session.flush()
    return row


def latest_row(session: Session, domain: str, *, ok_only: bool = False) -> ReportRow | None:
    """The newest report row of ``domain`` (only checks that ran, with ``ok_only``)."""
    query = select(ReportRow).where(ReportRow.domain == domain)
    if ok_only:
        query = query.where(ReportRow.status == "ok")
    return session.scalars(query.order_by(ReportRow.checked_at.desc(), ReportRow.id.desc())).first()


def latest_report(session: Session, domain: str) -> Report | None:
    """The newest stored report of ``domain`` that ran, parsed."""
    row = latest_row(session, domain, ok_only=True)
    return decompress_report(row.document) if row is not None and row.document else None


def last_leaves(
    session: Session, domain: str, before_report: int | None = None
) -> dict[tuple[str, str, int], Leaf]:
    """The newest stored leaf of every endpoint of ``domain`` (optionally before a report id)."""
    query = select(CertificateRow).where(CertificateRow.domain == domain)
    if before_report is not None:
        query = query.where(CertificateRow.report_id < before_report)
    out: dict[tuple[str, str, int], Leaf] = {}
    for row in session.scalars(query.order_by(CertificateRow.report_id)):
        out[(row.host, row.ip, row.port)] = Leaf(row.sha256, row.spki_sha256, as_utc(row.not_after))
    return out


def latest_per_domain(session: Session) -> list[ReportRow]:
    """The newest row of every domain in the history."""
    newest = (
        select(ReportRow.domain, func.max(ReportRow.checked_at).label("at"))
        .group_by(ReportRow.domain)
        .subquery()
    )
    query = (
        select(ReportRow)
        .join(newest, (ReportRow.domain == newest.c.domain) & (ReportRow.checked_at == newest.c.at))
        .order_by(ReportRow.domain, ReportRow.id)
    )
    rows: dict[str, ReportRow] = {}
    for row in session.scalars(query):
        rows[row.domain] = row  # on a tie of times, the later id wins
    return list(rows.values())


def list_reports(session: Session, domain: str, limit: int = 20) -> Sequence[ReportRow]:
    """The newest ``limit`` report rows of ``domain``, newest first."""
    query = (
        select(ReportRow)
        .where(ReportRow.domain == domain)
        .order_by(ReportRow.checked_at.desc(), ReportRow.id.desc())
        .limit(limit)
    )
    return session.scalars(query).all()


def report_at(session: Session, report_id: int) -> Report | None:
    """The stored report with this id, parsed (None when absent or failed)."""
    row = session.get(ReportRow, report_id)
    return decompress_report(row.document) if row is not None and row.document else None


def add_events(
    session: Session,
    domain: str,
    report_id: int | None,
    events: Sequence[Event],
    created_at: datetime,
) -> list[EventRow]:
    """Append ``events`` to the domain's event log."""
    rows = [
        EventRow(
            domain=domain,
            report_id=report_id,
            created_at=created_at,
            type=e.type,
            payload=e.model_dump(mode="json"),
        )
        for e in events
    ]
    session.add_all(rows)
    session.flush()
    return rows


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as read back from the log."""

    id: int
    report_id: int | None
    created_at: datetime
    event: Event


def list_events(
    session: Session, domain: str, limit: int = 50, report_id: int | None = None
) -> list[StoredEvent]:
    """The domain's newest events (of one report, with ``report_id``), newest first."""
    query = select(EventRow).where(EventRow.domain == domain)
    if report_id is not None:
        query = query.where(EventRow.report_id == report_id)
    query = query.order_by(EventRow.created_at.desc(), EventRow.id.desc()).limit(limit)
    return [
        StoredEvent(
            r.id, r.report_id, as_utc(r.created_at), EVENT_ADAPTER.validate_python(r.payload)
        )
        for r in session.scalars(query)
    ]


def load_held(session: Session, domain: str) -> list[tuple[Event, int]]:
    """The flapping guard's held events for ``domain`` and their counts."""
    query = select(HeldEventRow).where(HeldEventRow.domain == domain).order_by(HeldEventRow.id)
    return [(EVENT_ADAPTER.validate_python(r.payload), r.seen) for r in session.scalars(query)]


def replace_held(
    session: Session, domain: str, held: Sequence[tuple[Event, int]], now: datetime
) -> None:
    """Replace the domain's held events with ``held``."""
    session.execute(delete(HeldEventRow).where(HeldEventRow.domain == domain))
    session.add_all(
        HeldEventRow(domain=domain, first_seen=now, seen=seen, payload=e.model_dump(mode="json"))
        for e, seen in held
    )


def record_delivery(session: Session, row: DeliveryRow) -> None:
    """Append one delivery to the log."""
    session.add(row)


def list_deliveries(session: Session, limit: int = 50) -> Sequence[DeliveryRow]:
    """The newest deliveries, newest first."""
    query = select(DeliveryRow).order_by(DeliveryRow.id.desc()).limit(limit)
    return session.scalars(query).all()


@dataclass(frozen=True, slots=True)
class Pruned:
    """How many rows :func:`prune` removed."""

    reports: int
    events: int
    deliveries: int
    tlsrpt_reports: int


def prune(session: Session, before: datetime) -> Pruned:
    """Delete everything older than ``before`` (the configured retention).

    Findings and certificates go with their reports (ON DELETE CASCADE);
    the newest report of each domain is kept whatever its age, so the next
    round still has something to compare with.
    """
    keep = [r.id for r in latest_per_domain(session)]
    old = select(ReportRow.id).where(ReportRow.checked_at < before, ReportRow.id.not_in(keep))
    ids = list(session.scalars(old))
    events = session.execute(delete(EventRow).where(EventRow.created_at < before)).rowcount  # type: ignore[attr-defined]  # CursorResult
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        session.execute(delete(FindingRow).where(FindingRow.report_id.in_(chunk)))
        session.execute(delete(CertificateRow).where(CertificateRow.report_id.in_(chunk)))
        session.execute(delete(ReportRow).where(ReportRow.id.in_(chunk)))
    deliveries = session.execute(
        delete(DeliveryRow).where(DeliveryRow.created_at < before)
    ).rowcount  # type: ignore[attr-defined]
    tlsrpt = session.execute(delete(TlsRptReportRow).where(TlsRptReportRow.end < before)).rowcount  # type: ignore[attr-defined]
    return Pruned(len(ids), events, deliveries, tlsrpt)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
