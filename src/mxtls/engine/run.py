"""Run one check: plan → observe (async, concurrent) → judge (pure) → Report.

Two entry points share the pipeline: :func:`check_domain` (MX discovery and
the domain's policies) and :func:`check_host` (one mail host, as
``mxtls scan-host`` does, always with the deep scan).  Both take the
:class:`~mxtls.engine.runtime.Runtime` the check shares with others.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from mxtls.checks.grade import grade_report
from mxtls.checks.judge import RunObservations, judge, key_type_variant
from mxtls.config import CheckConfig
from mxtls.engine.observe import ProgressCallback, ProgressEvent, observe_host
from mxtls.engine.plan import build_discovery, initial_hosts, normalize_domain, resolve_host
from mxtls.engine.runtime import Runtime
from mxtls.models.dane import DaneEndpointResult, DaneObservation, TlsaLookup
from mxtls.models.deep import DeepScan
from mxtls.models.dnssec import DnssecResult
from mxtls.models.findings import Finding, Severity
from mxtls.models.observations import DnsAnswer, EndpointObservation, MxHost
from mxtls.models.policy import MtaStsObservation, TlsRptObservation
from mxtls.models.report import HostReport, Report, RunSettings, Summary
from mxtls.models.verdict import DeliveryVerdict
from mxtls.net.dane import lookup_tlsa, match_endpoints
from mxtls.net.dns import RunResolver
from mxtls.net.dnssec import DnssecProbe
from mxtls.trust.store import TrustStore


async def check_domain(
    domain: str,
    runtime: Runtime | CheckConfig | None = None,
    *,
    ports: Iterable[int] | None = None,
    deep: bool | None = None,
    warn_days: int | None = None,
    progress: ProgressCallback | None = None,
) -> Report:
    """Check the mail transport security of ``domain``.

    ``runtime`` holds what checks share (resolver and answer cache, trust
    store, DNSSEC validator, connection limits per address, clock): build one
    :class:`~mxtls.engine.runtime.Runtime` and pass it to every call, and
    many calls may run at once on one event loop, sharing its answers and
    its politeness budget.  A :class:`~mxtls.config.CheckConfig` (or
    nothing: the defaults) gets a runtime of its own for this one call.

    The keyword arguments override the runtime's settings for this call only
    (None keeps the runtime's):

    Args:
        domain: the mail domain (an IDN is checked as its A-label).
        runtime: the shared runtime, or a config for a one-off runtime.
        ports: the SMTP ports to probe (465 implicit TLS, others STARTTLS).
        deep: also run the deep TLS scan (protocols, suites, known flaws).
        warn_days: the ``cert.expiring_soon`` threshold in days.
        progress: called with a :class:`ProgressEvent` as hosts are resolved
            and endpoints probed (from the event loop; keep it quick).

    Network trouble of any kind ends up as findings in the report; only
    caller mistakes raise.

    Raises:
        InvalidDomain: ``domain`` is not a usable domain name.
        ConfigError: a configuration value (e.g. the CA file) or an override
            (e.g. a port outside 1..65535) is unusable.
    """
    check = _Check.start(runtime, ports=ports, deep=deep, warn_days=warn_days, progress=progress)
    ascii_domain = normalize_domain(domain)
    mx = await check.resolver.query(ascii_domain, "MX")
    null_mx, planned = initial_hosts(ascii_domain, mx, check.config)
    return await check.execute(domain, ascii_domain, mx, null_mx, planned, kind="domain")


async def check_host(
    host: str,
    runtime: Runtime | CheckConfig | None = None,
    *,
    ports: Iterable[int] | None = None,
    warn_days: int | None = None,
    progress: ProgressCallback | None = None,
) -> Report:
    """Check one mail host (a name or an address) on the configured ports.

    No MX discovery and no domain policies (MTA-STS, TLS-RPT); TLSA and the
    deep scan apply.  ``runtime`` and the overrides work as for
    :func:`check_domain`.

    Raises:
        InvalidDomain: ``host`` is neither a host name nor an IP address.
        ConfigError: a configuration value or an override is unusable.
    """
    check = _Check.start(runtime, ports=ports, deep=None, warn_days=warn_days, progress=progress)
    text = host.strip().strip("[]")
    try:
        ip = str(ipaddress.ip_address(text))
    except ValueError:
        name = normalize_domain(text)
        planned = [MxHost(name=name, preference=0)]
    else:
        name = ip
        planned = [MxHost(name=ip, preference=0, addresses=[ip])]
    mx = DnsAnswer(qname=name, rdtype="MX", status="NOERROR", records=[f"0 {name}."])
    return await check.execute(host, name, mx, False, planned, kind="host")


def check_domain_sync(
    domain: str,
    runtime: Runtime | CheckConfig | None = None,
    *,
    ports: Iterable[int] | None = None,
    deep: bool | None = None,
    warn_days: int | None = None,
    progress: ProgressCallback | None = None,
) -> Report:
    """Blocking wrapper: ``asyncio.run(check_domain(...))`` (same arguments).

    Raises:
        InvalidDomain: ``domain`` is not a usable domain name.
        ConfigError: a configuration value or an override is unusable.
    """
    return asyncio.run(
        check_domain(
            domain, runtime, ports=ports, deep=deep, warn_days=warn_days, progress=progress
        )
    )


HostResult = tuple[MxHost, list[EndpointObservation], list[TlsaLookup]]


@dataclass
class _Check:
    """One check: its settings, its clock reading and resolver view, the shared runtime."""

    runtime: Runtime
    config: CheckConfig
    progress: ProgressCallback | None
    started: float
    now: datetime
    resolver: RunResolver

    @classmethod
    def start(
        cls,
        runtime: Runtime | CheckConfig | None,
        *,
        ports: Iterable[int] | None,
        deep: bool | None,
        warn_days: int | None,
        progress: ProgressCallback | None,
    ) -> _Check:
        """Settle the check's settings; bad configuration fails here, before any I/O."""
        shared = Runtime.coerce(runtime)
        return cls(
            runtime=shared,
            config=shared.settings(ports=ports, deep=deep, warn_days=warn_days),
            progress=progress,
            started=time.perf_counter(),
            now=shared.now(),
            resolver=shared.resolver(),
        )

    @property
    def trust(self) -> TrustStore:
        return self.runtime.trust

    @property
    def dnssec(self) -> DnssecProbe:
        return self.runtime.dnssec

    async def host_task(self, host: MxHost) -> HostResult:
        """Resolve one MX host, then probe it while its TLSA records are looked up."""
        config = self.config
        resolved = host if host.addresses else await resolve_host(host, self.resolver, config)
        if self.progress is not None:
            addrs = ", ".join(resolved.addresses) or "no address"
            self.progress(ProgressEvent("host", resolved.name, addrs))
        if not resolved.addresses:
            return resolved, [], []
        is_name = not resolved.ip_literal and not _is_ip(resolved.name)
        async with asyncio.TaskGroup() as group:
            lookups = [
                group.create_task(
                    lookup_tlsa(
                        resolved.name,
                        port,
                        self.resolver,
                        self.dnssec,
                        dnssec_timeout=config.timeouts.dns * 4,
                    )
                )
                for port in dict.fromkeys((25, *config.ports))
                if is_name  # RFC 7672 §2.2: TLSA applies only under a host name
            ]
            observed = group.create_task(
                observe_host(resolved, config, self.runtime.limiter, self.progress)
            )
        return resolved, observed.result(), [t.result() for t in lookups]

    async def execute(
        self,
        raw: str,
        name: str,
        mx: DnsAnswer,
        null_mx: bool,
        planned: list[MxHost],
        *,
        kind: Literal["domain", "host"],
    ) -> Report:
        """Observe the planned hosts (and the domain's policies), judge, report."""
        config = self.config
        dns_done = time.perf_counter()
        with_policies = kind == "domain" and not null_mx and not mx.failed
        if with_policies:  # imported here: host scans never need the HTTP client
            from mxtls.net.https import observe_mta_sts, observe_tls_rpt
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(self.host_task(h)) for h in planned]
            sts_task = tls_rpt_task = None
            status_tasks: list[asyncio.Task[DnssecResult]] = []
            if kind == "domain" and not null_mx and (with_policies or mx.status == "SERVFAIL"):
                # A validating resolver answers SERVFAIL for bogus data: the probe
                # asks again with CD to tell bogus from other failures.
                status_tasks.append(tg.create_task(self.dnssec.status(name, "MX")))
            if with_policies:
                sts_task = tg.create_task(observe_mta_sts(name, self.resolver, self.trust, config))
                tls_rpt_task = tg.create_task(observe_tls_rpt(name, self.resolver))
            for h in planned:
                if not h.ip_literal and not _is_ip(h.name):
                    rdtype = "A" if config.ipv4 else "AAAA"
                    status_tasks.append(tg.create_task(self.dnssec.status(h.name, rdtype)))
        results = [t.result() for t in tasks]
        mta_sts: MtaStsObservation | None = sts_task.result() if sts_task else None
        tls_rpt: TlsRptObservation | None = tls_rpt_task.result() if tls_rpt_task else None
        observed_at = time.perf_counter()

        hosts = [h for h, _, _ in results]
        endpoints = [ep for _, eps, _ in results for ep in eps]
        tlsa_lookups = [lk for _, _, lks in results for lk in lks]
        dnssec_results = [t.result() for t in status_tasks]
        host_dnssec = {r.qname: r.status for r in dnssec_results if r.rdtype != "MX"}
        dane = None
        if not null_mx and tlsa_lookups:
            dane = DaneObservation(
                lookups=tlsa_lookups,
                endpoints=match_endpoints(tlsa_lookups, endpoints, self.now),
            )
        deep: list[DeepScan] = []
        if config.deep or kind == "host":
            from mxtls.engine.deep import deep_scan

            deep = await deep_scan(
                endpoints, replace(config, deep=True), self.progress, self.runtime.limiter
            )
        if dane is not None and deep:
            dane = dane.model_copy(
                update={
                    "endpoints": [*dane.endpoints, *_key_type_dane(deep, endpoints, dane, self.now)]
                }
            )
        deep_done = time.perf_counter()

        discovery = build_discovery(name, mx, null_mx, hosts)
        internal_errors = [
            f"{ep.host}[{ep.ip}]:{ep.port}: {ep.internal_error}"
            for ep in endpoints
            if ep.internal_error
        ]
        observations = RunObservations(
            discovery=discovery,
            endpoints=endpoints,
            mta_sts=mta_sts,
            tls_rpt=tls_rpt,
            dnssec=dnssec_results if kind == "domain" else [],
            host_dnssec=host_dnssec,
            dane=dane,
            deep=deep,
        )
        verdict = DeliveryVerdict()
        try:
            findings, verdict = judge(
                observations, now=self.now, warn_days=config.warn_days, trust=self.trust
            )
        except Exception:  # boundary: a bug in a check must not lose the observations
            findings = []
            internal_errors.append("checks: " + traceback.format_exc(limit=8))
        if kind == "host":
            verdict = DeliveryVerdict()  # sender verdicts are about a domain's MX set
        finished = time.perf_counter()

        report = Report(
            kind=kind,
            domain=name,
            input=raw,
            checked_at=self.now,
            duration_ms=round((finished - self.started) * 1000, 1),
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
                    deep=[d for d in deep if d.host == h.name],
                )
                for h, eps, _ in results
            ],
            mta_sts=mta_sts,
            tls_rpt=tls_rpt,
            dnssec=dnssec_results,
            dane=dane,
            settings=RunSettings(
                ports=list(config.ports),
                nameservers=[f"{ip}:{port}" for ip, port in config.nameservers],
                ca_file=str(config.ca_file) if config.ca_file else None,
                ehlo_name=config.ehlo_name,
                timeout_s=config.timeouts.command,
                warn_days=config.warn_days,
                deep=bool(deep) or config.deep,
                dnssec_mode=self.dnssec.mode,
            ),
            timings_ms={
                "mx_lookup": round((dns_done - self.started) * 1000, 1),
                "hosts": round((observed_at - dns_done) * 1000, 1),
                "deep_scan": round((deep_done - observed_at) * 1000, 1),
                "checks": round((finished - deep_done) * 1000, 1),
            },
            internal_errors=internal_errors,
        )
        return report.model_copy(update={"grade": grade_report(report)})


def _key_type_dane(
    deep: list[DeepScan],
    endpoints: list[EndpointObservation],
    dane: DaneObservation,
    now: datetime,
) -> list[DaneEndpointResult]:
    """DANE results for the certificates of other key types the deep scan found.

    A DANE sender offering only RSA gets the RSA certificate; its TLSA match
    matters as much as the one of the certificate a full client gets.
    """
    by_endpoint = {(ep.host, ep.ip, ep.port): ep for ep in endpoints}
    out: list[DaneEndpointResult] = []
    for scan in deep:
        main = by_endpoint.get((scan.host, scan.ip, scan.port))
        if main is None or main.handshake is None or not main.handshake.chain:
            continue
        seen = {main.handshake.chain[0].sha256_fingerprint}
        for cert in scan.tls.certificates:
            if cert.chain and cert.chain[0].sha256_fingerprint not in seen:
                seen.add(cert.chain[0].sha256_fingerprint)
                variant = key_type_variant(main, cert.chain)
                out.extend(match_endpoints(dane.lookups, [variant], now))
    return out


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


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
