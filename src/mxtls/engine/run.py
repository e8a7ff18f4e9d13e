"""Run one check: plan → observe (async, concurrent) → judge (pure) → Report."""

from __future__ import annotations

import asyncio
import time
import traceback
from datetime import UTC, datetime

from mxtls.checks.judge import RunObservations, judge
from mxtls.config import CheckConfig
from mxtls.engine.observe import ConnectionLimiter, ProgressCallback, ProgressEvent, observe_host
from mxtls.engine.plan import build_discovery, initial_hosts, normalize_domain, resolve_host
from mxtls.models.findings import Finding, Severity
from mxtls.models.observations import EndpointObservation, MxHost
from mxtls.models.policy import MtaStsObservation, TlsRptObservation
from mxtls.models.report import HostReport, Report, RunSettings, Summary
from mxtls.models.verdict import DeliveryVerdict
from mxtls.net.dns import RunResolver
from mxtls.net.https import observe_mta_sts, observe_tls_rpt
from mxtls.trust import load_trust_store


async def check_domain(
    domain: str,
    config: CheckConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> Report:
    """Check the mail transport security of ``domain``.

    Network trouble of any kind ends up as findings in the report; only
    caller mistakes raise.

    Raises:
        InvalidDomain: ``domain`` is not a usable domain name.
        ConfigError: a configuration value (e.g. the CA file) is unusable.
    """
    config = config or CheckConfig()
    started = time.perf_counter()
    now = config.now or datetime.now(UTC)
    ascii_domain = normalize_domain(domain)
    trust = load_trust_store(config.ca_file)
    resolver = RunResolver(config.nameservers, timeout=config.timeouts.dns)
    limiter = ConnectionLimiter(
        total=config.limits.total_connections, per_address=config.limits.per_address_connections
    )

    mx = await resolver.query(ascii_domain, "MX")
    null_mx, planned = initial_hosts(ascii_domain, mx, config)
    dns_done = time.perf_counter()

    async def host_task(host: MxHost) -> tuple[MxHost, list[EndpointObservation]]:
        resolved = await resolve_host(host, resolver, config)
        if progress is not None:
            addrs = ", ".join(resolved.addresses) or "no address"
            progress(ProgressEvent("host", resolved.name, addrs))
        observed = await observe_host(resolved, config, limiter, progress)
        return resolved, observed

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(host_task(h)) for h in planned]
        sts_task = tls_rpt_task = None
        if not null_mx and not mx.failed:
            sts_task = tg.create_task(observe_mta_sts(ascii_domain, resolver, trust, config))
            tls_rpt_task = tg.create_task(observe_tls_rpt(ascii_domain, resolver))
    results = [t.result() for t in tasks]
    mta_sts: MtaStsObservation | None = sts_task.result() if sts_task else None
    tls_rpt: TlsRptObservation | None = tls_rpt_task.result() if tls_rpt_task else None
    observed_at = time.perf_counter()

    hosts = [h for h, _ in results]
    endpoints = [ep for _, eps in results for ep in eps]
    discovery = build_discovery(ascii_domain, mx, null_mx, hosts)
    internal_errors = [
        f"{ep.host}[{ep.ip}]:{ep.port}: {ep.internal_error}"
        for ep in endpoints
        if ep.internal_error
    ]
    observations = RunObservations(
        discovery=discovery, endpoints=endpoints, mta_sts=mta_sts, tls_rpt=tls_rpt
    )
    verdict = DeliveryVerdict()
    try:
        findings, verdict = judge(observations, now=now, warn_days=config.warn_days, trust=trust)
    except Exception:  # boundary: a bug in a check must not lose the observations
        findings = []
        internal_errors.append("checks: " + traceback.format_exc(limit=8))
    finished = time.perf_counter()

    return Report(
        domain=ascii_domain,
        input=domain,
        checked_at=now,
        duration_ms=round((finished - started) * 1000, 1),
        findings=findings,
        summary=_summary(findings, hosts, endpoints),
        verdict=verdict,
        mx=mx,
        null_mx=null_mx,
        hosts=[
            HostReport(
                name=h.name,
                preference=h.preference,
                implicit=h.implicit,
                ip_literal=h.ip_literal,
                cname_target=h.cname_target,
                addresses=h.addresses,
                dns=h,
                endpoints=eps,
            )
            for h, eps in results
        ],
        mta_sts=mta_sts,
        tls_rpt=tls_rpt,
        settings=RunSettings(
            ports=list(config.ports),
            nameservers=[f"{ip}:{port}" for ip, port in config.nameservers],
            ca_file=str(config.ca_file) if config.ca_file else None,
            ehlo_name=config.ehlo_name,
            timeout_s=config.timeouts.command,
            warn_days=config.warn_days,
        ),
        timings_ms={
            "mx_lookup": round((dns_done - started) * 1000, 1),
            "hosts": round((observed_at - dns_done) * 1000, 1),
            "checks": round((finished - observed_at) * 1000, 1),
        },
        internal_errors=internal_errors,
    )


def check_domain_sync(
    domain: str,
    config: CheckConfig | None = None,
    *,
    progress: ProgressCallback | None = None,
) -> Report:
    """Blocking wrapper: ``asyncio.run(check_domain(...))``.

    Raises:
        InvalidDomain: ``domain`` is not a usable domain name.
        ConfigError: a configuration value is unusable.
    """
    return asyncio.run(check_domain(domain, config, progress=progress))


def _summary(
    findings: list[Finding], hosts: list[MxHost], endpoints: list[EndpointObservation]
) -> Summary:
    def count(sev: Severity) -> int:
        return sum(1 for f in findings if f.severity == sev)

    return Summary(
        errors=count(Severity.ERROR),
        warnings=count(Severity.WARNING),
        infos=count(Severity.INFO),
        hosts=len(hosts),
        endpoints=len(endpoints),
        endpoints_with_tls=sum(1 for ep in endpoints if ep.handshake is not None),
    )
