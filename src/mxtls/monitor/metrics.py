"""Prometheus metrics of the monitored domains (prometheus-client custom collector).

:class:`MonitorMetrics` keeps, per domain, what the newest report said
(:meth:`~MonitorMetrics.observe`), and yields it on every scrape; a web
service mounts the same object (``registry()`` → ``make_asgi_app`` or
``generate_latest``).  Naming follows Prometheus's guide: base units in the
name, ``_total`` for counters, labels of low cardinality (``domain``, ``mx``,
``ip``, ``port``, and closed sets such as ``state``), never a message.

A series that exists for a target exists in every state: the certificate
expiry of an endpoint is exported from the last certificate it presented
even when this round's handshake failed, and is there when the certificate
is expired or fails verification (blackbox_exporter drops it exactly then).
One-hot ``state`` gauges (``mxtls_dane_state``, ``mxtls_mta_sts_mode``,
``mxtls_sender_verdict``) export every state, 1 for the current one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from mxtls.models.findings import Severity, endpoint_target
from mxtls.models.report import Report, tlsa_matches
from mxtls.monitor.diff import VERDICT_STATES, Event, verdict_state

# Findings that mean a PKIX-validating client refuses the endpoint's certificate.
CERT_VERIFY_FAILURES = frozenset(
    {
        "cert.expired",
        "cert.not_yet_valid",
        "cert.hostname_mismatch",
        "cert.self_signed",
        "cert.untrusted",
        "cert.chain_incomplete",
        "cert.revoked",
    }
)
DANE_STATES = ("match", "mismatch", "none")
MTA_STS_MODES = ("enforce", "testing", "none", "absent")
SENDERS = ("opportunistic", "mta_sts", "dane")
ENDPOINT_LABELS = ["domain", "mx", "ip", "port"]


@dataclass(slots=True)
class EndpointState:
    """What the newest report said about one endpoint."""

    up: bool  # an SMTP session was established (banner and EHLO/HELO answered)
    tls: bool  # TLS completed (STARTTLS or implicit)
    starttls_offered: bool
    tls_version: str | None
    cert_not_after: float | None  # the last certificate seen, kept across failed rounds
    cert_verified: bool
    dane: str


@dataclass(slots=True)
class DomainState:
    """What the newest report said about one domain, plus running counters."""

    endpoints: dict[tuple[str, str, int], EndpointState] = field(default_factory=dict)
    findings: dict[str, int] = field(default_factory=dict)
    mta_sts: str = "absent"
    verdicts: dict[str, str] = field(default_factory=dict)
    duration_s: float | None = None
    last_success: float | None = None
    last_check: float | None = None
    checks: dict[str, int] = field(default_factory=lambda: {"ok": 0, "failed": 0})
    events: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TlsRptTotals:
    """Sessions reported by senders for one policy (summed over stored TLS-RPT reports)."""

    policy_domain: str
    policy_type: str
    successful: int
    failed_by_result: dict[str, int]
    reports: int


class MonitorMetrics(Collector):
    """The exporter's state and its collector (thread-safe: scrapes run in threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._domains: dict[str, DomainState] = {}
        self._tlsrpt: list[TlsRptTotals] = []

    def registry(self) -> CollectorRegistry:
        """A fresh registry holding only this collector (what /metrics serves)."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        return registry

    # -- updates -------------------------------------------------------------

    def observe(self, report: Report) -> None:
        """Take the newest report of a domain."""
        with self._lock:
            state = self._domains.setdefault(report.domain, DomainState())
            state.endpoints = _endpoints(report, state.endpoints)
            state.findings = {
                s.value: sum(1 for f in report.findings if f.severity == s) for s in Severity
            }
            mode = report.mta_sts.mode if report.mta_sts is not None else None
            state.mta_sts = mode or "absent"
            state.verdicts = {v.sender: verdict_state(v) for v in report.verdict.senders}
            state.duration_s = report.duration_ms / 1000
            at = report.checked_at.timestamp()
            state.last_check = at
            if report.internal_errors:
                state.checks["failed"] += 1
            else:
                state.last_success = at
                state.checks["ok"] += 1

    def observe_failure(self, domain: str, at: float, duration_s: float) -> None:
        """A check of ``domain`` that produced no report."""
        with self._lock:
            state = self._domains.setdefault(domain, DomainState())
            state.last_check, state.duration_s = at, duration_s
            state.checks["failed"] += 1

    def count_events(self, domain: str, events: Sequence[Event]) -> None:
        """Add the events sent for ``domain`` to ``mxtls_events_total``."""
        with self._lock:
            state = self._domains.setdefault(domain, DomainState())
            for e in events:
                state.events[e.type] = state.events.get(e.type, 0) + 1

    def set_tlsrpt(self, totals: Iterable[TlsRptTotals]) -> None:
        """Replace the TLS-RPT totals (after an import or at start)."""
        with self._lock:
            self._tlsrpt = list(totals)

    def forget(self, keep: Iterable[str]) -> None:
        """Drop domains no longer monitored (their series disappear)."""
        wanted = set(keep)
        with self._lock:
            for name in list(self._domains):
                if name not in wanted:
                    del self._domains[name]

    # -- the collector -------------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family (called by prometheus-client on each scrape)."""
        with self._lock:
            yield from _endpoint_families(self._domains)
            yield from _domain_families(self._domains)
            yield from _tlsrpt_families(self._tlsrpt)


def _endpoints(
    report: Report, before: dict[tuple[str, str, int], EndpointState]
) -> dict[tuple[str, str, int], EndpointState]:
    failing = {
        f.target for f in report.findings if f.code in CERT_VERIFY_FAILURES
    }  # endpoint targets
    out: dict[tuple[str, str, int], EndpointState] = {}
    for host in report.hosts:
        for ep in host.endpoints:
            key = (ep.host, ep.ip, ep.port)
            hs = ep.handshake
            leaf = hs.chain[0] if hs is not None and hs.chain else None
            prev = before.get(key)
            not_after = leaf.not_after.timestamp() if leaf is not None else None
            if not_after is None and prev is not None:
                not_after = prev.cert_not_after
            dane = "none"
            if leaf is not None:
                match = tlsa_matches(report, ep.host, ep.ip, ep.port, leaf.spki_sha256)
                dane = "none" if match is None else ("match" if match else "mismatch")
            out[key] = EndpointState(
                up=ep.ehlo is not None,
                tls=hs is not None,
                starttls_offered=bool(ep.starttls_offered)
                or (ep.tls_mode == "implicit" and hs is not None),
                tls_version=hs.version if hs is not None else None,
                cert_not_after=not_after,
                cert_verified=leaf is not None
                and endpoint_target(ep.host, ep.ip, ep.port) not in failing
                and host.name not in failing,
                dane=dane,
            )
    return out


def _endpoint_families(domains: dict[str, DomainState]) -> Iterator[Metric]:
    up = GaugeMetricFamily(
        "mxtls_endpoint_up", "1 when an SMTP session was established", labels=ENDPOINT_LABELS
    )
    tls = GaugeMetricFamily(
        "mxtls_tls_established", "1 when the TLS handshake completed", labels=ENDPOINT_LABELS
    )
    offered = GaugeMetricFamily(
        "mxtls_starttls_offered",
        "1 when STARTTLS was offered (implicit TLS ports: when TLS started)",
        labels=ENDPOINT_LABELS,
    )
    version = GaugeMetricFamily(
        "mxtls_tls_version_info",
        "The negotiated TLS version (value 1)",
        labels=[*ENDPOINT_LABELS, "version"],
    )
    expiry = GaugeMetricFamily(
        "mxtls_cert_expiry_timestamp_seconds",
        "notAfter of the leaf certificate last presented, Unix time",
        labels=ENDPOINT_LABELS,
    )
    verified = GaugeMetricFamily(
        "mxtls_cert_verified",
        "1 when the certificate passes PKIX validation (trust, name, dates)",
        labels=ENDPOINT_LABELS,
    )
    dane = GaugeMetricFamily(
        "mxtls_dane_state",
        "TLSA records against the presented chain: match, mismatch or none (one-hot)",
        labels=[*ENDPOINT_LABELS, "state"],
    )
    for domain, state in sorted(domains.items()):
        for (mx, ip, port), ep in sorted(state.endpoints.items()):
            labels = [domain, mx, ip, str(port)]
            up.add_metric(labels, float(ep.up))
            tls.add_metric(labels, float(ep.tls))
            offered.add_metric(labels, float(ep.starttls_offered))
            if ep.tls_version is not None:
                version.add_metric([*labels, ep.tls_version], 1.0)
            if ep.cert_not_after is not None:
                expiry.add_metric(labels, ep.cert_not_after)
            verified.add_metric(labels, float(ep.cert_verified))
            for s in DANE_STATES:
                dane.add_metric([*labels, s], float(ep.dane == s))
    yield from (up, tls, offered, version, expiry, verified, dane)


def _domain_families(domains: dict[str, DomainState]) -> Iterator[Metric]:
    findings = GaugeMetricFamily(
        "mxtls_findings", "Findings of the newest report", labels=["domain", "severity"]
    )
    mta_sts = GaugeMetricFamily(
        "mxtls_mta_sts_mode", "The MTA-STS policy mode (one-hot)", labels=["domain", "mode"]
    )
    verdict = GaugeMetricFamily(
        "mxtls_sender_verdict",
        "What each sender kind does with the domain's mail (one-hot state)",
        labels=["domain", "sender", "state"],
    )
    duration = GaugeMetricFamily(
        "mxtls_check_duration_seconds", "Duration of the newest check", labels=["domain"]
    )
    success = GaugeMetricFamily(
        "mxtls_last_success_timestamp_seconds",
        "When a check of the domain last ran to the end, Unix time",
        labels=["domain"],
    )
    last = GaugeMetricFamily(
        "mxtls_last_check_timestamp_seconds",
        "When the domain was last checked, Unix time",
        labels=["domain"],
    )
    checks = CounterMetricFamily(
        "mxtls_checks", "Checks run, by result (ok, failed)", labels=["domain", "result"]
    )
    events = CounterMetricFamily(
        "mxtls_events", "Change events sent, by type", labels=["domain", "type"]
    )
    for domain, state in sorted(domains.items()):
        for sev, n in sorted(state.findings.items()):
            findings.add_metric([domain, sev], float(n))
        if state.endpoints or state.verdicts:
            for mode in MTA_STS_MODES:
                mta_sts.add_metric([domain, mode], float(state.mta_sts == mode))
        for sender in SENDERS:
            current = state.verdicts.get(sender)
            if current is None:
                continue
            for s in VERDICT_STATES:
                verdict.add_metric([domain, sender, s], float(current == s))
        if state.duration_s is not None:
            duration.add_metric([domain], state.duration_s)
        if state.last_success is not None:
            success.add_metric([domain], state.last_success)
        if state.last_check is not None:
            last.add_metric([domain], state.last_check)
        for result, n in sorted(state.checks.items()):
            checks.add_metric([domain, result], float(n))
        for kind, n in sorted(state.events.items()):
            events.add_metric([domain, kind], float(n))
    yield from (findings, mta_sts, verdict, duration, success, last, checks, events)


def _tlsrpt_families(totals: list[TlsRptTotals]) -> Iterator[Metric]:
    failed = CounterMetricFamily(
        "mxtls_tlsrpt_failure_sessions",
        "Failed sessions reported by senders (TLS-RPT), by result type",
        labels=["policy_domain", "policy_type", "result_type"],
    )
    ok = CounterMetricFamily(
        "mxtls_tlsrpt_successful_sessions",
        "Successful sessions reported by senders (TLS-RPT)",
        labels=["policy_domain", "policy_type"],
    )
    reports = CounterMetricFamily(
        "mxtls_tlsrpt_reports",
        "TLS-RPT reports received",
        labels=["policy_domain", "policy_type"],
    )
    for t in sorted(totals, key=lambda t: (t.policy_domain, t.policy_type)):
        ok.add_metric([t.policy_domain, t.policy_type], float(t.successful))
        reports.add_metric([t.policy_domain, t.policy_type], float(t.reports))
        for result, n in sorted(t.failed_by_result.items()):
            failed.add_metric([t.policy_domain, t.policy_type, result], float(n))
    yield from (failed, ok, reports)
