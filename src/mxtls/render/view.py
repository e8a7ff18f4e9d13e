"""A report prepared for documents: plain strings in the order a reader wants them.

The HTML and Markdown renderers (and the web page's templates, which reuse
the HTML ones) all show the same content: grade, delivery verdicts,
policies, hosts with endpoints and certificates, findings with hints.  This
module turns a :class:`~mxtls.models.report.Report` into that content once;
the templates only lay it out and escape it.  Nothing here judges: every
verdict shown comes from the report (findings, verdict, grade).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mxtls._version import __version__
from mxtls.models.auth import AuthAttempt
from mxtls.models.dnssec import DnssecResult
from mxtls.models.findings import Finding, Severity
from mxtls.models.grade import Grade, GradeReason
from mxtls.models.observations import CertificateInfo, EndpointObservation
from mxtls.models.report import HostReport, Report, SubmissionReport, tlsa_matches
from mxtls.models.verdict import SenderVerdict
from mxtls.render.hints import finding_help, hint_for, provider_of

SEVERITY_ORDER = (Severity.ERROR, Severity.WARNING, Severity.INFO)
SENDER_LABEL = {
    "opportunistic": "Opportunistic senders",
    "mta_sts": "MTA-STS senders",
    "dane": "DANE senders",
}
OUTCOME_LABEL = {
    "delivers": "delivers",
    "delivers_partly": "delivers partly",
    "refuses": "REFUSES",
    "not_applicable": "not applicable",
    "unreachable": "UNREACHABLE",
    "not_tested": "not tested",
}


@dataclass(frozen=True, slots=True)
class ReasonView:
    """A grade rule that applied."""

    rule: str
    grade: str
    summary: str
    because: str


@dataclass(frozen=True, slots=True)
class GradeView:
    """The grade, or why there is none."""

    letter: str | None
    method: str
    caps: list[ReasonView]
    raised: list[ReasonView]
    note: str

    @property
    def css(self) -> str:
        """A class name for the letter (``a-plus``, ``a``, … ``none``)."""
        return (self.letter or "none").lower().replace("+", "-plus")


@dataclass(frozen=True, slots=True)
class MxLine:
    """What one sender kind does with one MX host."""

    host: str
    status: str
    reason: str


@dataclass(frozen=True, slots=True)
class SenderView:
    """One sender kind's verdict."""

    label: str
    outcome: str
    outcome_label: str
    summary: str
    policy: str
    applies: bool
    mx: list[MxLine]


@dataclass(frozen=True, slots=True)
class PolicyLine:
    """One published policy or DNS fact (MTA-STS, TLS-RPT, DNSSEC, TLSA), with its records."""

    name: str
    value: str
    records: tuple[str, ...] = ()  # the TLSA records of a TLSA line


@dataclass(frozen=True, slots=True)
class EndpointView:
    """One (address, port) of a host."""

    address: str
    tls_via: str
    banner: str
    tls: str
    cert_expiry: str
    time: str
    dane: str = ""  # "match", "no match", or "" (no TLSA records apply)
    auth: list[str] = field(default_factory=list)  # SMTP AUTH as tried (auth_lines), no secret


@dataclass(frozen=True, slots=True)
class CertView:
    """One distinct leaf certificate seen on a host."""

    names: str
    subject: str
    issuer: str
    key: str
    signature: str
    not_before: str
    not_after: str
    expiry: str
    expired: bool
    days_left: int  # negative once expired
    chain_length: int
    sha256: str
    where: str


@dataclass(frozen=True, slots=True)
class HostView:
    """One MX host (or scanned host) with its endpoints and certificates."""

    name: str
    label: str
    addresses: str
    cname: str | None
    endpoints: list[EndpointView]
    certificates: list[CertView]
    provider: str | None = None  # the hosted provider whose MX naming the host follows


@dataclass(frozen=True, slots=True)
class FindingView:
    """One finding with its help text."""

    severity: str
    code: str
    target: str
    message: str
    summary: str
    hint: str | None
    provider: str | None = None  # the hosted provider that runs the target's host

    @property
    def text(self) -> str:
        """The message, prefixed by the target unless it already names it first."""
        if self.message.startswith(self.target):
            return self.message
        return f"{self.target}: {self.message}"


@dataclass(frozen=True, slots=True)
class SeverityGroup:
    """The findings of one severity."""

    severity: str
    label: str
    findings: list[FindingView]


@dataclass(frozen=True, slots=True)
class ReportView:
    """Everything a document shows about one report."""

    domain: str
    input: str | None
    kind: str
    checked_at: str
    duration: str
    version: str
    counts: dict[str, int]
    grade: GradeView
    null_mx: bool
    senders: list[SenderView]
    policies: list[PolicyLine]
    hosts: list[HostView]
    findings: list[FindingView]
    groups: list[SeverityGroup]
    internal_errors: list[str] = field(default_factory=list)


def build_view(report: Report) -> ReportView:
    """Prepare ``report`` for a document."""
    s = report.summary
    findings = [finding_view(f) for f in report.findings]
    groups = [
        SeverityGroup(sev.value, sev.value.upper(), [f for f in findings if f.severity == sev])
        for sev in SEVERITY_ORDER
    ]
    raw = report.input.strip().rstrip(".").lower()
    return ReportView(
        domain=report.domain,
        input=report.input if raw != report.domain else None,
        kind=report.kind,
        checked_at=_when(report.checked_at),
        duration=f"{report.duration_ms / 1000:.2f} s",
        version=__version__,
        counts={
            "errors": s.errors,
            "warnings": s.warnings,
            "infos": s.infos,
            "hosts": s.hosts,
            "endpoints": s.endpoints,
            "endpoints_with_tls": s.endpoints_with_tls,
        },
        grade=grade_view(report),
        null_mx=report.null_mx,
        senders=[_sender(sv) for sv in report.verdict.senders],
        policies=policy_lines(report),
        hosts=[
            *(_host(h, report) for h in report.hosts),
            *(_host(h, report, "submission") for h in _srv_hosts(report.submission)),
            *(_host(h, report, "mailbox") for h in _srv_hosts(report.mailbox)),
        ],
        findings=findings,
        groups=[g for g in groups if g.findings],
        internal_errors=[line.splitlines()[0] for line in report.internal_errors if line],
    )


def finding_view(f: Finding) -> FindingView:
    """A finding with the help text of its code (the provider's, on a provider's host)."""
    help_ = finding_help(f.code)
    provider = provider_of([f.target])
    return FindingView(
        severity=f.severity.value,
        code=f.code,
        target=f.target,
        message=f.message,
        summary=help_.summary,
        hint=hint_for(f.code, [f.target]),
        provider=provider.name if provider is not None else None,
    )


def grade_view(report: Report) -> GradeView:
    """The report's grade as shown; a report without one says why."""
    grade: Grade | None = report.grade
    if grade is None:
        if report.null_mx:
            note = "No grade: the domain accepts no mail (null MX)"
        elif report.internal_errors:
            note = "No grade: the check did not finish"
        else:
            note = "No grade in this report"
        return GradeView(None, "", [], [], note)
    caps = [_reason(r) for r in grade.capped_by]
    raised = [_reason(r) for r in grade.raised_by]
    if caps:
        note = f"capped at {caps[0].grade} by {caps[0].rule}"
    elif raised:
        note = f"raised to {raised[0].grade} by {raised[0].rule}"
    else:
        note = "no rule capped it"
    return GradeView(grade.letter, grade.method, caps, raised, note)


def _reason(r: GradeReason) -> ReasonView:
    return ReasonView(r.rule, r.grade, r.summary, ", ".join(r.because))


def _when(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S UTC")


def _sender(sv: SenderVerdict) -> SenderView:
    mx = []
    for m in sv.mx:
        if m.delivers:
            status = "authenticated" if m.authenticated else "delivers"
            if m.encrypted is False:
                status = "plaintext"
        else:
            status = "refused" if m.refused else "not reached"
        mx.append(MxLine(m.host, status, m.reason))
    return SenderView(
        label=SENDER_LABEL.get(sv.sender, sv.sender),
        outcome=sv.outcome,
        outcome_label=OUTCOME_LABEL.get(sv.outcome, sv.outcome),
        summary=sv.summary,
        policy=sv.policy,
        applies=sv.applies,
        mx=mx,
    )


def policy_lines(report: Report) -> list[PolicyLine]:
    """What the domain publishes against downgrades: MTA-STS, TLS-RPT, DNSSEC, TLSA.

    The one wording of these facts, for the terminal and the documents alike.
    """
    lines: list[PolicyLine] = []
    sts = report.mta_sts
    if sts is not None:
        if sts.mode is not None:
            value = (
                f"{sts.mode}, id {sts.record_id}, max_age {sts.max_age}; "
                f"mx {', '.join(sts.mx_patterns) or 'none'}"
            )
        elif sts.record is not None:
            value = f"record {sts.record!r}, policy not usable"
        else:
            value = f"none (_mta-sts.{report.domain}: {sts.txt.status})"
        lines.append(PolicyLine("MTA-STS", value))
    rpt = report.tls_rpt
    if rpt is not None:
        value = f"rua {', '.join(rpt.rua)}" if rpt.rua else "none or invalid"
        lines.append(PolicyLine("TLS-RPT", value))
    if report.dnssec:
        lines.append(PolicyLine("DNSSEC", dnssec_text(report.dnssec)))
    if report.dane is not None:
        for lk in report.dane.lookups:
            if not lk.records:
                continue
            status = lk.dnssec.status if lk.dnssec else ("secure" if lk.answer.ad else "unknown")
            lines.append(PolicyLine("TLSA", f"{lk.qname} (DNSSEC {status})", tuple(lk.records)))
    return lines


def dnssec_text(results: Sequence[DnssecResult]) -> str:
    """``secure: example.com MX, mx.example.com A (validated by mxtls …)``: statuses by kind."""
    by_status: dict[str, list[str]] = defaultdict(list)
    for r in results:
        by_status[r.status].append(f"{r.qname} {r.rdtype}")
    how = (
        "validated by mxtls from its trust anchor"
        if results[0].mode == "validate"
        else "as the resolver's AD bit says"
    )
    text = "; ".join(f"{status}: {', '.join(names)}" for status, names in by_status.items())
    return f"{text} ({how})"


def _srv_hosts(section: SubmissionReport | None) -> list[HostReport]:
    return section.hosts if section is not None else []


def _host(host: HostReport, report: Report, role: str | None = None) -> HostView:
    if role is not None:
        label = f"{role} host"
    elif report.kind != "domain":
        label = "host"
    elif host.implicit:
        label = "implicit MX"
    else:
        label = f"MX {host.preference}"
    return HostView(
        name=host.name,
        label=label,
        addresses=", ".join(host.addresses) or "no address",
        cname=host.cname_target,
        endpoints=[_endpoint(ep, report) for ep in host.endpoints],
        certificates=_certificates(host, report.checked_at),
        provider=host.provider,
    )


def address(ep: EndpointObservation) -> str:
    """``192.0.2.1:25`` or ``[2001:db8::1]:25``."""
    ip = f"[{ep.ip}]" if ":" in ep.ip else ep.ip
    return f"{ip}:{ep.port}"


def _endpoint(ep: EndpointObservation, report: Report) -> EndpointView:
    now = report.checked_at
    t = ep.timings_ms.get("total")
    time = f"{t:.0f} ms" if t is not None else ""
    if ep.connect_failure is not None:
        return EndpointView(address(ep), "", f"connect {ep.connect_failure.kind}", "", "", time)
    banner = _banner(ep)
    auth = auth_lines(ep)
    if ep.tls_mode == "implicit":
        via = "implicit TLS"
    elif ep.starttls_offered is None:
        via = "not reached"
    elif not ep.starttls_offered:
        via = "STARTTLS absent"
    elif ep.starttls_reply is not None and ep.starttls_reply.code != 220:
        via = f"STARTTLS refused ({ep.starttls_reply.code})"
    else:
        via = "STARTTLS"
    hs = ep.handshake
    if hs is None:
        reason = ep.handshake_error or (
            f"stopped at {ep.stopped_at}: {ep.stop_reason}" if ep.stopped_at else ""
        )
        tls = f"no TLS: {reason}" if reason else "no TLS"
        return EndpointView(address(ep), via, banner, tls, "", time, auth=auth)
    expiry = _expiry(hs.chain[0].not_after, now)[0] if hs.chain else ""
    match = (
        tlsa_matches(report, ep.host, ep.ip, ep.port, hs.chain[0].spki_sha256) if hs.chain else None
    )
    dane = "" if match is None else ("match" if match else "no match")
    tls = f"{hs.version} {hs.cipher}"
    return EndpointView(address(ep), via, banner, tls, expiry, time, dane, auth)


BANNER_SHOWN_CHARS = 80


def _banner(ep: EndpointObservation) -> str:
    """The banner's (or IMAP/POP3 greeting's) first line, shortened (the JSON keeps it whole)."""
    if ep.greeting is not None:
        return _shorten(f"{ep.greeting.status} {ep.greeting.text}")
    if ep.banner is None:
        return "no greeting" if ep.protocol != "smtp" else "no banner"
    first = ep.banner.lines[0] if ep.banner.lines else ""
    return _shorten(f"{ep.banner.code} {first}")


def _shorten(text: str, limit: int = BANNER_SHOWN_CHARS) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in text[: 4 * limit]).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


_AUTH_OUTCOME = {
    "accepted": "accepted",
    "refused": "refused",
    "not_offered": "no mechanism mxtls speaks is offered",
    "not_sent": "credentials not sent",
    "error": "exchange failed",
}


def auth_lines(ep: EndpointObservation) -> list[str]:
    """SMTP AUTH as tried on ``ep``, one line per attempt (the test before TLS first).

    ``AUTH before TLS (throw-away credentials): PLAIN refused, 530 "…"`` and
    ``AUTH SCRAM-SHA-256: accepted, 235 "…"; the server proved it knows the
    password``.  An attempt holds no secret (:class:`~mxtls.models.auth.AuthAttempt`),
    so nothing here can show one.
    """
    out = []
    if ep.auth_plaintext is not None:
        out.append("AUTH before TLS (throw-away credentials): " + _attempt(ep.auth_plaintext))
    if ep.auth is not None:
        out.append("AUTH over TLS: " + _attempt(ep.auth))
    return out


def _attempt(a: AuthAttempt) -> str:
    parts = [f"{a.mechanism} " if a.mechanism and a.outcome != "not_offered" else ""]
    # A probe's refusal is only a reply: whether the server ran the exchange
    # (auth.plaintext_accepted) is the finding's business, not the line's.
    probe_reply = a.probe and a.outcome == "refused"
    parts.append("answered" if probe_reply else _AUTH_OUTCOME.get(a.outcome, a.outcome))
    if a.reply_code is not None:
        reply = _shorten(" ".join(a.reply_lines))
        parts.append(
            f"{' ' if probe_reply else ', '}{a.reply_code}" + (f' "{reply}"' if reply else "")
        )
    if a.outcome == "not_offered":
        parts.append(f" (offered: {_shorten(' '.join(a.offered)) or 'none'})")
    elif a.detail and a.outcome in ("not_sent", "error"):
        parts.append(f": {_shorten(a.detail)}")
    if a.server_verified:
        parts.append("; the server proved it knows the password (SCRAM)")
    return "".join(parts)


def _expiry(not_after: datetime, now: datetime) -> tuple[str, bool]:
    seconds = (not_after - now).total_seconds()
    days = int(abs(seconds) // 86400)
    unit = "day" if days == 1 else "days"
    if seconds < 0:
        return f"expired {days} {unit} ago", True
    return f"expires in {days} {unit}", False


def _certificates(host: HostReport, now: datetime) -> list[CertView]:
    where: dict[str, list[str]] = {}
    leaves: dict[str, tuple[CertificateInfo, int]] = {}
    for ep in host.endpoints:
        if ep.handshake and ep.handshake.chain:
            leaf = ep.handshake.chain[0]
            where.setdefault(leaf.sha256_fingerprint, []).append(address(ep))
            leaves[leaf.sha256_fingerprint] = (leaf, len(ep.handshake.chain))
    out = []
    for fp, places in where.items():
        leaf, length = leaves[fp]
        expiry, expired = _expiry(leaf.not_after, now)
        out.append(
            CertView(
                names=", ".join(leaf.sans) or (leaf.common_name or leaf.subject),
                subject=leaf.subject,
                issuer=leaf.issuer,
                key=f"{leaf.key_type} {leaf.key_bits}",
                signature=leaf.signature_algorithm,
                not_before=leaf.not_before.strftime("%Y-%m-%d"),
                not_after=leaf.not_after.strftime("%Y-%m-%d"),
                expiry=expiry,
                expired=expired,
                days_left=int((leaf.not_after - now).total_seconds() // 86400),
                chain_length=length,
                sha256=fp,
                where=", ".join(places),
            )
        )
    return out
