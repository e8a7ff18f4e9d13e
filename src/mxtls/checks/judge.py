"""Judge one run: every check over every observation, then the delivery verdict.

The engine hands over what it observed; this module decides, with no I/O
and only the injected clock, and returns the findings (sorted, unique) and
the per-sender verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mxtls.checks.dns import check_lookups
from mxtls.checks.mta_sts import check_mta_sts
from mxtls.checks.run import run_checks, sort_findings
from mxtls.checks.tls_rpt import check_tls_rpt
from mxtls.checks.verdict import DaneHost, compose_verdict
from mxtls.models.findings import Finding
from mxtls.models.observations import Discovery, EndpointObservation
from mxtls.models.policy import MtaStsObservation, TlsRptObservation
from mxtls.models.verdict import DeliveryVerdict
from mxtls.trust import TrustStore


@dataclass(frozen=True, slots=True)
class RunObservations:
    """Everything the probes of one run recorded."""

    discovery: Discovery
    endpoints: Sequence[EndpointObservation]
    mta_sts: MtaStsObservation | None = None
    tls_rpt: TlsRptObservation | None = None
    dane_hosts: Mapping[str, DaneHost] = field(default_factory=dict)
    extra_findings: Sequence[Finding] = ()


def judge(
    obs: RunObservations, *, now: datetime, warn_days: int, trust: TrustStore
) -> tuple[list[Finding], DeliveryVerdict]:
    """All findings of the run and the delivery verdict."""
    findings = run_checks(obs.discovery, obs.endpoints, now=now, warn_days=warn_days, trust=trust)
    findings.extend(obs.extra_findings)
    domain = obs.discovery.domain
    if not obs.discovery.null_mx:
        mx_hosts = [h.name for h in obs.discovery.hosts]
        if obs.mta_sts is not None:
            findings.extend(check_lookups(domain, [obs.mta_sts.txt]))
            findings.extend(check_mta_sts(obs.mta_sts, mx_hosts))
        if obs.tls_rpt is not None:
            findings.extend(check_lookups(domain, [obs.tls_rpt.txt]))
            findings.extend(check_tls_rpt(obs.tls_rpt))
    verdict, implied = compose_verdict(
        obs.discovery, obs.endpoints, findings, obs.mta_sts, obs.dane_hosts
    )
    return sort_findings([*findings, *implied]), verdict
