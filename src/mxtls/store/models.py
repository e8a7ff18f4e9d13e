"""The history's tables (SQLAlchemy 2 typed ORM).

Every report is kept whole, as the same ``mxtls/1`` document the CLI
prints (zlib-compressed JSON), and a few narrow tables index what queries
need so that history, metrics and correlation never parse documents:
findings, endpoint leaf certificates, events, held events (the flapping
guard's memory), alert deliveries, and received TLS-RPT reports.

Times are stored as timezone-aware UTC (``DateTime(timezone=True)``); the
schema is created and changed only by the Alembic migrations in
``mxtls/store/migrations`` (a test compares them with these models).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Deterministic constraint names, so migrations can name what they drop.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING)


class ReportRow(Base):
    """One check of one domain: the document, or why there is none."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(String(253))
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))  # "ok" | "failed"
    duration_ms: Mapped[float] = mapped_column(Float)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    infos: Mapped[int] = mapped_column(Integer, default=0)
    document: Mapped[bytes | None] = mapped_column(LargeBinary)  # zlib(JSON)
    error: Mapped[str | None] = mapped_column(Text)

    findings: Mapped[list[FindingRow]] = relationship(
        back_populates="report", cascade="all, delete-orphan", passive_deletes=True
    )
    certificates: Mapped[list[CertificateRow]] = relationship(
        back_populates="report", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (Index("ix_reports_domain_checked_at", "domain", "checked_at"),)


class FindingRow(Base):
    """One finding of one stored report."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(253))
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    code: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(String(400))
    message: Mapped[str] = mapped_column(Text)

    report: Mapped[ReportRow] = relationship(back_populates="findings")

    __table_args__ = (Index("ix_findings_domain_checked_at", "domain", "checked_at"),)


class CertificateRow(Base):
    """The leaf an endpoint presented (with SNI) in one stored report."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(253), index=True)
    host: Mapped[str] = mapped_column(String(253))
    ip: Mapped[str] = mapped_column(String(45))
    port: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    spki_sha256: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str] = mapped_column(Text)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    not_after: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    tls_version: Mapped[str | None] = mapped_column(String(16))
    dane_match: Mapped[bool | None] = mapped_column(Boolean)

    report: Mapped[ReportRow] = relationship(back_populates="certificates")


class EventRow(Base):
    """One change event (sent, or recorded while no channel was configured)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    domain: Mapped[str] = mapped_column(String(253))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    type: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, object]] = mapped_column(JSON)

    __table_args__ = (Index("ix_events_domain_created_at", "domain", "created_at"),)


class HeldEventRow(Base):
    """An event the flapping guard holds until a later round confirms it."""

    __tablename__ = "held_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(String(253), index=True)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seen: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, object]] = mapped_column(JSON)


class DeliveryRow(Base):
    """One alert delivery (webhook POST or e-mail) and how it went; never a secret."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # "webhook" | "email"
    destination: Mapped[str] = mapped_column(Text)  # redacted URL or recipients
    domain: Mapped[str] = mapped_column(String(253))
    event_type: Mapped[str] = mapped_column(String(200))
    delivery_id: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # "delivered" | "failed"
    http_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


class TlsRptReportRow(Base):
    """One received RFC 8460 aggregate report (the JSON kept, compressed)."""

    __tablename__ = "tlsrpt_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization: Mapped[str] = mapped_column(String(400))
    report_id: Mapped[str] = mapped_column(String(400))
    contact: Mapped[str | None] = mapped_column(Text)
    start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(Text)
    document: Mapped[bytes] = mapped_column(LargeBinary)

    policies: Mapped[list[TlsRptPolicyRow]] = relationship(
        back_populates="report", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (UniqueConstraint("organization", "report_id"),)


class TlsRptPolicyRow(Base):
    """One policy block of a TLS-RPT report: session counts for one policy domain."""

    __tablename__ = "tlsrpt_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tlsrpt_id: Mapped[int] = mapped_column(
        ForeignKey("tlsrpt_reports.id", ondelete="CASCADE"), index=True
    )
    policy_domain: Mapped[str] = mapped_column(String(253), index=True)
    policy_type: Mapped[str] = mapped_column(String(32))
    successful: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)

    report: Mapped[TlsRptReportRow] = relationship(back_populates="policies")
    failures: Mapped[list[TlsRptFailureRow]] = relationship(
        back_populates="policy", cascade="all, delete-orphan", passive_deletes=True
    )


class TlsRptFailureRow(Base):
    """One failure-details entry, and the mxtls finding it was matched to, if any."""

    __tablename__ = "tlsrpt_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_id: Mapped[int] = mapped_column(
        ForeignKey("tlsrpt_policies.id", ondelete="CASCADE"), index=True
    )
    result_type: Mapped[str] = mapped_column(String(64))
    sessions: Mapped[int] = mapped_column(Integer)
    receiving_mx: Mapped[str | None] = mapped_column(String(253))
    receiving_ip: Mapped[str | None] = mapped_column(String(45))
    sending_ip: Mapped[str | None] = mapped_column(String(45))
    reason_code: Mapped[str | None] = mapped_column(Text)
    correlated_code: Mapped[str | None] = mapped_column(String(64))

    policy: Mapped[TlsRptPolicyRow] = relationship(back_populates="failures")


class WebCheckRow(Base):
    """One check asked for through ``mxtls serve``: its permalink id and where its report is.

    The id is random (a permalink must not let anyone walk through other
    people's checks); the report is the ordinary stored report, so the
    history of a domain holds web checks and monitor rounds alike.
    """

    __tablename__ = "web_checks"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "domain" | "servers"
    target: Mapped[str] = mapped_column(String(1000))
    deep: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    status: Mapped[str] = mapped_column(String(16))  # "queued" | "running" | "done" | "error"
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("reports.id", ondelete="SET NULL"), index=True
    )
    error: Mapped[str | None] = mapped_column(Text)
