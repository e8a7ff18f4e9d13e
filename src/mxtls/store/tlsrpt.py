"""Store received TLS-RPT reports, summarise them, and match them to mxtls's own findings.

Correlation: a failure a sender reports (``certificate-expired`` at
``mx1.example``) that mxtls's newest report of the policy domain also shows
(``cert.expired`` on ``mx1.example[...]:25``) is one incident: the failure row
records the finding code (``correlated_code``), and the summary shows both
as one line instead of two problems.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mxtls.monitor.metrics import TlsRptTotals
from mxtls.monitor.tlsrpt import TlsRptReport, parse_report_bytes
from mxtls.store.history import latest_row
from mxtls.store.models import (
    FindingRow,
    TlsRptFailureRow,
    TlsRptPolicyRow,
    TlsRptReportRow,
)

# RFC 8460 §4.3 result types → the finding codes that describe the same failure.
RESULT_CODES: dict[str, tuple[str, ...]] = {
    "starttls-not-supported": (
        "starttls.not_offered",
        "starttls.rejected",
        "starttls.handshake_failed",
    ),
    "certificate-host-mismatch": ("cert.hostname_mismatch",),
    "certificate-expired": ("cert.expired",),
    "certificate-not-trusted": ("cert.untrusted", "cert.self_signed", "cert.chain_incomplete"),
    "validation-failure": (
        "cert.expired",
        "cert.not_yet_valid",
        "cert.hostname_mismatch",
        "cert.untrusted",
        "cert.self_signed",
        "cert.chain_incomplete",
        "cert.revoked",
        "mta_sts.enforce_tls_failure",
    ),
    "tlsa-invalid": ("dane.mismatch", "dane.unusable_record"),
    "dnssec-invalid": ("dnssec.bogus",),
    "dane-required": ("dane.mismatch", "delivery.strict_senders_fail"),
    "sts-policy-fetch-error": ("mta_sts.policy_fetch_failed",),
    "sts-policy-invalid": ("mta_sts.policy_invalid", "mta_sts.txt_invalid"),
    "sts-webpki-invalid": ("mta_sts.policy_fetch_failed",),
}


@dataclass(frozen=True, slots=True)
class Ingested:
    """What one import did with one report."""

    organization: str
    report_id: str
    stored: bool  # False: the same (organization, report-id) was already stored
    failures: int  # failure-details entries
    correlated: int  # of which mxtls's own checks see the same problem


def ingest(
    session: Session, report: TlsRptReport, *, source: str, raw: bytes | None = None
) -> Ingested:
    """Store ``report`` (once per organization and report-id) with correlation."""
    existing = session.scalars(
        select(TlsRptReportRow.id).where(
            TlsRptReportRow.organization == report.organization_name,
            TlsRptReportRow.report_id == report.report_id,
        )
    ).first()
    count = sum(len(p.failure_details) for p in report.policies)
    if existing is not None:
        return Ingested(report.organization_name, report.report_id, False, count, 0)
    document = raw if raw is not None else report.model_dump_json(by_alias=True).encode()
    row = TlsRptReportRow(
        organization=report.organization_name,
        report_id=report.report_id,
        contact=report.contact_info,
        start=report.date_range.start.astimezone(UTC),
        end=report.date_range.end.astimezone(UTC),
        received_at=datetime.now(UTC),
        source=source[:500],
        document=zlib.compress(document),
    )
    correlated = 0
    for block in report.policies:
        domain = block.policy.policy_domain.rstrip(".").lower()
        seen = _current_findings(session, domain)
        policy = TlsRptPolicyRow(
            policy_domain=domain,
            policy_type=block.policy.policy_type,
            successful=block.summary.successful,
            failed=block.summary.failed,
        )
        for d in block.failure_details:
            mx = d.receiving_mx_hostname.rstrip(".").lower() if d.receiving_mx_hostname else None
            code = correlate(d.result_type, mx, seen, d.receiving_ip)
            correlated += code is not None
            policy.failures.append(
                TlsRptFailureRow(
                    result_type=d.result_type,
                    sessions=d.failed_session_count,
                    receiving_mx=mx,
                    receiving_ip=(d.receiving_ip or None) and d.receiving_ip[:45],
                    sending_ip=(d.sending_mta_ip or None) and d.sending_mta_ip[:45],
                    reason_code=d.failure_reason_code,
                    correlated_code=code,
                )
            )
        row.policies.append(policy)
    session.add(row)
    session.flush()
    return Ingested(report.organization_name, report.report_id, True, count, correlated)


def ingest_bytes(
    session: Session, data: bytes, *, source: str, content_type: str | None = None
) -> list[Ingested]:
    """Parse ``data`` (JSON, gzip, or an e-mail) and store every report in it.

    The one entry point for ``mxtls tlsrpt import`` and an HTTPS ``rua``
    endpoint (``POST /tlsrpt`` with ``application/tlsrpt+gzip``).

    Raises:
        TlsRptError: not a usable report (nothing is stored then).
    """
    reports = parse_report_bytes(data, content_type=content_type)
    return [ingest(session, r, source=source) for r in reports]


def _current_findings(session: Session, domain: str) -> list[tuple[str, str]]:
    """(code, target) of the newest stored report of ``domain`` (empty when none)."""
    row = latest_row(session, domain, ok_only=True)
    if row is None:
        return []
    query = select(FindingRow.code, FindingRow.target).where(FindingRow.report_id == row.id)
    return [(c, t) for c, t in session.execute(query)]


def correlate(
    result_type: str, mx: str | None, findings: list[tuple[str, str]], ip: str | None = None
) -> str | None:
    """The finding code that describes the same failure at the same MX, or None.

    The MX is named by the report's ``receiving-mx-hostname``; without it,
    ``receiving-ip`` must match the endpoint's address; with neither, any
    target of the domain does (policy failures such as ``sts-policy-invalid``).
    """
    codes = RESULT_CODES.get(result_type, ())
    for code, target in findings:
        if code not in codes:
            continue
        host = target.partition("[")[0].lower()
        if mx is not None:
            if host == mx or mx.endswith("." + host):  # the MX, or a finding on its domain
                return code
        elif ip is not None:
            if f"[{ip}]" in target or "[" not in target:
                return code
        else:
            return code
    return None


@dataclass
class ResultLine:
    """Sessions of one result type at one receiving MX, and the matching finding."""

    result_type: str
    receiving_mx: str | None
    sessions: int
    correlated_code: str | None


@dataclass
class PolicySummary:
    """Totals of one policy type for one domain over the stored reports."""

    policy_type: str
    reports: int = 0
    successful: int = 0
    failed: int = 0
    results: list[ResultLine] = field(default_factory=list)


@dataclass
class TlsRptSummary:
    """``mxtls tlsrpt summary DOMAIN``: what senders reported, and since when."""

    domain: str
    first: datetime | None
    last: datetime | None
    organizations: list[str]
    policies: list[PolicySummary]


def summarise(session: Session, domain: str, since: datetime | None = None) -> TlsRptSummary:
    """Sum the stored reports about ``domain`` (optionally only those ending after ``since``)."""
    domain = domain.rstrip(".").lower()
    query = (
        select(TlsRptPolicyRow, TlsRptReportRow)
        .join(TlsRptReportRow, TlsRptPolicyRow.tlsrpt_id == TlsRptReportRow.id)
        .where(TlsRptPolicyRow.policy_domain == domain)
    )
    if since is not None:
        query = query.where(TlsRptReportRow.end >= since)
    by_type: dict[str, PolicySummary] = {}
    lines: dict[tuple[str, str, str | None], ResultLine] = {}
    orgs: set[str] = set()
    first: datetime | None = None
    last: datetime | None = None
    for policy, report in session.execute(query):
        orgs.add(report.organization)
        start, end = _aware(report.start), _aware(report.end)
        first = start if first is None or start < first else first
        last = end if last is None or end > last else last
        s = by_type.setdefault(policy.policy_type, PolicySummary(policy.policy_type))
        s.reports += 1
        s.successful += policy.successful
        s.failed += policy.failed
        for f in policy.failures:
            key = (policy.policy_type, f.result_type, f.receiving_mx)
            line = lines.get(key)
            if line is None:
                line = lines[key] = ResultLine(f.result_type, f.receiving_mx, 0, None)
                s.results.append(line)
            line.sessions += f.sessions
            line.correlated_code = line.correlated_code or f.correlated_code
    for s in by_type.values():
        s.results.sort(key=lambda r: (-r.sessions, r.result_type, r.receiving_mx or ""))
    return TlsRptSummary(
        domain, first, last, sorted(orgs), sorted(by_type.values(), key=lambda s: s.policy_type)
    )


def totals(session: Session) -> list[TlsRptTotals]:
    """Per (policy domain, policy type): sessions by result type (for the metrics)."""
    sums = session.execute(
        select(
            TlsRptPolicyRow.policy_domain,
            TlsRptPolicyRow.policy_type,
            func.count(TlsRptPolicyRow.id),
            func.sum(TlsRptPolicyRow.successful),
        ).group_by(TlsRptPolicyRow.policy_domain, TlsRptPolicyRow.policy_type)
    ).all()
    failed: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    rows = session.execute(
        select(
            TlsRptPolicyRow.policy_domain,
            TlsRptPolicyRow.policy_type,
            TlsRptFailureRow.result_type,
            func.sum(TlsRptFailureRow.sessions),
        )
        .join(TlsRptFailureRow, TlsRptFailureRow.policy_id == TlsRptPolicyRow.id)
        .group_by(
            TlsRptPolicyRow.policy_domain,
            TlsRptPolicyRow.policy_type,
            TlsRptFailureRow.result_type,
        )
    ).all()
    for domain, ptype, result, n in rows:
        failed[(domain, ptype)][result] = int(n or 0)
    return [
        TlsRptTotals(domain, ptype, int(ok or 0), failed.get((domain, ptype), {}), int(count))
        for domain, ptype, count, ok in sums
    ]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
