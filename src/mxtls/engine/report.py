"""Report: one check's observations, derived facts and judgment, as the ``mxtls/1`` document.

The last step of a check assembles what the others produced; it adds no
fact and makes no judgment of its own, except what the document's shape
demands (the counts of the summary, the settings it ran with, the grade
computed by :func:`mxtls.checks.grade.grade_report` from the finished report).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TypeVar

from mxtls.checks.grade import grade_report
from mxtls.checks.judge import RunObservations
from mxtls.checks.providers import recognise
from mxtls.engine.observe import HostObservation, Observed
from mxtls.engine.runtime import Check
from mxtls.models.deep import DeepScan
from mxtls.models.dnssec import DnssecResult
from mxtls.models.findings import Finding, Severity
from mxtls.models.observations import DnsAnswer, EndpointObservation, SrvTarget
from mxtls.models.report import (
    DeepSkip,
    HostReport,
    MailboxReport,
    Report,
    RunSettings,
    SubmissionReport,
    Summary,
)
from mxtls.models.verdict import DeliveryVerdict


def build_report(
    check: Check,
    observed: Observed,
    observations: RunObservations,
    findings: Sequence[Finding],
    verdict: DeliveryVerdict,
    *,
    internal_errors: Sequence[str] = (),
    judged_at: float,
) -> Report:
    """The report of one check.

    Args:
        check: the check (settings, clock reading, start time, the runtime).
        observed: what the probes recorded.
        observations: the derived facts the checks judged (DANE matches).
        findings: the checks' findings, sorted.
        verdict: the delivery verdict (ignored for a server check: sender
            verdicts are about a domain's MX set).
        internal_errors: bugs met outside the probes (a failing check).
        judged_at: ``time.perf_counter()`` when judging began.
    """
    config = check.config
    finished = time.perf_counter()
    endpoints = observed.endpoints
    deep = observed.deep
    report = Report(
        kind=observed.kind,
        domain=observed.name,
        input=observed.raw,
        checked_at=check.now,
        duration_ms=round((finished - check.started) * 1000, 1),
        findings=list(findings),
        summary=_summary(findings, len(observed.hosts), endpoints),
        verdict=verdict if observed.kind == "domain" else DeliveryVerdict(),
        mx=observed.mx,
        null_mx=observed.null_mx,
        hosts=[_host_report(h, deep, observed.deep_skipped) for h in observed.hosts],
        submission=_srv_report(
            SubmissionReport,
            observed.submission_srv,
            observed.submission_targets,
            observed.submission,
            deep,
            observed.deep_skipped,
            observed.submission_dnssec,
        ),
        mailbox=_srv_report(
            MailboxReport,
            observed.mailbox_srv,
            observed.mailbox_targets,
            observed.mailbox,
            deep,
            observed.deep_skipped,
            observed.mailbox_dnssec,
        ),
        mta_sts=observed.mta_sts,
        tls_rpt=observed.tls_rpt,
        dnssec=observed.dnssec,
        dane=observations.dane,
        settings=RunSettings(
            ports=list(config.ports),
            nameservers=[f"{ip}:{port}" for ip, port in config.nameservers],
            ca_file=str(config.ca_file) if config.ca_file else None,
            ehlo_name=config.ehlo_name,
            timeout_s=config.timeouts.command,
            warn_days=config.warn_days,
            deep=bool(deep) or config.deep,
            dnssec_mode=check.runtime.dnssec.mode,
        ),
        timings_ms={
            **observed.timings_ms,
            "checks": round((finished - judged_at) * 1000, 1),
        },
        internal_errors=[
            *(
                f"{ep.host}[{ep.ip}]:{ep.port}: {ep.internal_error}"
                for ep in endpoints
                if ep.internal_error
            ),
            *internal_errors,
        ],
    )
    return report.model_copy(update={"grade": grade_report(report)})


S = TypeVar("S", bound=SubmissionReport)


def _srv_report(
    kind: type[S],
    srv: list[DnsAnswer] | None,
    targets: list[SrvTarget],
    hosts: Sequence[HostObservation],
    deep: Sequence[DeepScan],
    skipped: Sequence[DeepSkip],
    dnssec: Sequence[DnssecResult],
) -> S | None:
    """An RFC 6186 section (submission, mailbox): the SRV answers, targets and hosts probed."""
    if srv is None:
        return None  # not looked up (a server check, a null MX)
    hosts_seen = [_host_report(h, deep, skipped) for h in hosts]
    return kind(srv=srv, targets=targets, hosts=hosts_seen, dnssec=list(dnssec))


def _host_report(
    observed: HostObservation, deep: Sequence[DeepScan], skipped: Sequence[DeepSkip]
) -> HostReport:
    """One host's entry: its DNS, its endpoints, and the deep scans of exactly those."""
    host = observed.host
    mine = {(ep.ip, ep.port) for ep in observed.endpoints}
    return HostReport(
        name=host.name,
        preference=host.preference,
        implicit=host.implicit,
        ip_literal=host.ip_literal,
        cname_target=host.cname_target,
        addresses=host.addresses,
        dns=host,
        provider=provider.name if (provider := recognise(host.name)) else None,
        ptr=observed.reverse,
        endpoints=observed.endpoints,
        deep=[d for d in deep if d.host == host.name and (d.ip, d.port) in mine],
        deep_skipped=[s for s in skipped if s.host == host.name and (s.ip, s.port) in mine],
        not_contacted=observed.not_contacted,
    )


def _summary(
    findings: Sequence[Finding], hosts: int, endpoints: Sequence[EndpointObservation]
) -> Summary:
    def count(sev: Severity) -> int:
        return sum(1 for f in findings if f.severity == sev)

    return Summary(
        errors=count(Severity.ERROR),
        warnings=count(Severity.WARNING),
        infos=count(Severity.INFO),
        hosts=hosts,
        endpoints=len(endpoints),
        endpoints_with_tls=sum(1 for ep in endpoints if ep.handshake is not None),
    )
