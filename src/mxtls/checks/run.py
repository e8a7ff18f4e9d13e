"""All checks of a run: observations in, sorted findings out (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from mxtls.checks.cert import check_caa, check_certificate, check_certificate_consistency
from mxtls.checks.delivery import check_delivery
from mxtls.checks.dns import check_dns
from mxtls.checks.mx import check_mx
from mxtls.checks.smtp import check_smtp
from mxtls.checks.starttls import check_starttls, check_starttls_consistency
from mxtls.checks.tls import check_tls
from mxtls.models.findings import Finding
from mxtls.models.observations import Discovery, EndpointObservation
from mxtls.trust.store import TrustStore


def sort_findings(findings: Sequence[Finding]) -> list[Finding]:
    """Drop exact duplicates; order by severity (error first), then target, then code."""
    unique = list(dict.fromkeys(findings))
    return sorted(unique, key=lambda f: (-f.severity.rank, f.target, f.code, f.message))


def run_checks(
    discovery: Discovery,
    endpoints: Sequence[EndpointObservation],
    *,
    now: datetime,
    warn_days: int,
    trust: TrustStore,
) -> list[Finding]:
    """Judge everything observed in one run.

    Args:
        discovery: what DNS said about the domain's mail hosts.
        endpoints: one observation per (host, address, port) probed.
        now: the run's clock (expiry is judged against it).
        warn_days: ``cert.expiring_soon`` threshold in days.
        trust: the run's trust store.

    Returns:
        Deduplicated findings, errors first, then by target and code.  For a
        null-MX domain only the DNS and MX findings (nothing else applies).
    """
    findings: list[Finding] = [*check_dns(discovery), *check_mx(discovery)]
    if discovery.null_mx:
        return sort_findings(findings)
    findings.extend(check_caa(discovery))
    for obs in endpoints:
        findings.extend(check_smtp(obs))
        findings.extend(check_starttls(obs))
        findings.extend(check_tls(obs))
        findings.extend(check_certificate(obs, now=now, warn_days=warn_days, trust=trust))
    findings.extend(check_starttls_consistency(endpoints))
    findings.extend(check_certificate_consistency(endpoints))
    findings.extend(check_delivery(discovery, endpoints))
    return sort_findings(findings)
