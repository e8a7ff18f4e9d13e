"""Judge one run: every check over every observation, then the delivery verdict.

The one entry point of ``checks/``: :func:`judge` for a whole run,
:func:`run_checks` for the discovery and endpoint checks alone.

The engine hands over what it observed; this module decides, with no I/O
and only the injected clock, and returns the findings (sorted, unique) and
the per-sender verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mxtls.checks.auth import check_auth
from mxtls.checks.cert import (
    check_caa,
    check_certificate,
    check_certificate_consistency,
    check_stapled_ocsp,
)
from mxtls.checks.dane import check_dane, tlsa_status
from mxtls.checks.delivery import DaneHost, check_delivery, compose_verdict
from mxtls.checks.dns import check_dns, check_lookups
from mxtls.checks.dnssec import check_dnssec
from mxtls.checks.mailbox import check_mailbox
from mxtls.checks.mta_sts import check_mta_sts
from mxtls.checks.mx import check_mx
from mxtls.checks.ptr import check_ptr
from mxtls.checks.smtp import check_dead_servers, check_smtp
from mxtls.checks.starttls import check_starttls, check_starttls_consistency
from mxtls.checks.submission import check_submission
from mxtls.checks.tls import check_tls
from mxtls.checks.tls_rpt import check_tls_rpt
from mxtls.models.dane import DaneObservation
from mxtls.models.deep import DeepScan, key_type_variants
from mxtls.models.dnssec import DnssecResult, DnssecStatus
from mxtls.models.findings import Finding, endpoint_target
from mxtls.models.observations import (
    Discovery,
    DnsAnswer,
    EndpointObservation,
    SrvTarget,
)
from mxtls.models.policy import MtaStsObservation, TlsRptObservation
from mxtls.models.ptr import ReverseDns
from mxtls.models.verdict import DeliveryVerdict
from mxtls.protocol.tlsa import TlsaRecord, TlsaSyntaxError, usable_for_smtp
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
    deep: Sequence[DeepScan] = (),
) -> list[Finding]:
    """Judge everything observed in one run.

    Args:
        discovery: what DNS said about the domain's mail hosts.
        endpoints: one observation per (host, address, port) probed.
        now: the run's clock (expiry is judged against it).
        warn_days: ``cert.expiring_soon`` threshold in days.
        trust: the run's trust store.
        deep: the deep scans (their connections count for STARTTLS consistency).

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
        findings.extend(check_mailbox(obs))
        findings.extend(check_auth(obs))
        findings.extend(check_tls(obs))
        findings.extend(check_certificate(obs, now=now, warn_days=warn_days, trust=trust))
    findings = check_dead_servers(findings, endpoints)
    findings.extend(check_starttls_consistency(endpoints, deep))
    findings.extend(check_certificate_consistency(endpoints))
    findings.extend(check_delivery(discovery, endpoints))
    return sort_findings(findings)


@dataclass(frozen=True, slots=True)
class RunObservations:
    """Everything the probes of one run recorded."""

    discovery: Discovery
    endpoints: Sequence[EndpointObservation]
    mta_sts: MtaStsObservation | None = None
    tls_rpt: TlsRptObservation | None = None
    dnssec: Sequence[DnssecResult] = ()
    host_dnssec: Mapping[str, DnssecStatus] = field(default_factory=dict)
    dane: DaneObservation | None = None
    deep: Sequence[DeepScan] = ()
    extra_findings: Sequence[Finding] = ()
    submission_srv: Sequence[DnsAnswer] | None = None  # None: not looked up
    submission_targets: Sequence[SrvTarget] = ()
    srv_dnssec: Sequence[DnssecResult] = ()  # SRV answers and their hosts' addresses
    reverse: Mapping[str, Mapping[str, ReverseDns]] = field(default_factory=dict)  # host -> ip


def judge(
    obs: RunObservations, *, now: datetime, warn_days: int, trust: TrustStore
) -> tuple[list[Finding], DeliveryVerdict]:
    """All findings of the run and the delivery verdict."""
    findings = run_checks(
        obs.discovery, obs.endpoints, now=now, warn_days=warn_days, trust=trust, deep=obs.deep
    )
    findings.extend(obs.extra_findings)
    for host, by_ip in obs.reverse.items():
        findings.extend(check_ptr(host, by_ip, [ep for ep in obs.endpoints if ep.host == host]))
    domain = obs.discovery.domain
    if not obs.discovery.null_mx:
        mx_hosts = [h.name for h in obs.discovery.hosts]
        if obs.mta_sts is not None:
            findings.extend(check_lookups(domain, [obs.mta_sts.txt]))
            findings.extend(check_mta_sts(obs.mta_sts, mx_hosts))
        if obs.tls_rpt is not None:
            findings.extend(check_lookups(domain, [obs.tls_rpt.txt]))
            findings.extend(check_tls_rpt(obs.tls_rpt))
        if obs.submission_srv is not None:
            findings.extend(check_lookups(domain, list(obs.submission_srv)))
            findings.extend(check_submission(domain, obs.submission_srv, obs.submission_targets))
        tlsa_results = [lk.dnssec for lk in obs.dane.lookups if lk.dnssec] if obs.dane else []
        findings.extend(
            check_dnssec([*obs.dnssec, *tlsa_results], domain=domain, bogus_only=obs.srv_dnssec)
        )
        if obs.dane is not None:
            for lookup in obs.dane.lookups:
                findings.extend(check_lookups(lookup.host, [lookup.answer, *lookup.attempts]))
            findings.extend(check_dane(obs.dane, mx_dnssec=obs.host_dnssec))
    findings.extend(judge_deep(obs, now=now, warn_days=warn_days, trust=trust))
    dane_hosts = dane_hosts_from(obs.dane, obs.host_dnssec) if obs.dane else {}
    mx_status = next(
        (r.status for r in obs.dnssec if r.rdtype == "MX" and r.qname == domain.lower()), None
    )
    verdict, implied = compose_verdict(
        obs.discovery, obs.endpoints, findings, obs.mta_sts, dane_hosts, mx_status
    )
    return sort_findings([*findings, *implied]), verdict


def dane_hosts_from(
    dane: DaneObservation, host_dnssec: Mapping[str, DnssecStatus]
) -> dict[str, DaneHost]:
    """Per MX host: does DANE apply on port 25, and did each endpoint authenticate?

    RFC 7672 §2.2: DANE applies when the TLSA RRset is DNSSEC-secure and has
    at least one usable record; otherwise the sender falls back to
    opportunistic TLS (§2.2.1).
    """
    out: dict[str, DaneHost] = {}
    for lookup in dane.lookups:
        if lookup.port != 25:
            continue
        status = tlsa_status(lookup, host_dnssec.get(lookup.host))
        usable = []
        for text in lookup.records:
            try:
                if usable_for_smtp(TlsaRecord.parse(text))[0]:
                    usable.append(text)
            except TlsaSyntaxError:
                continue
        host_status = host_dnssec.get(lookup.host)
        if status == "bogus" or host_status == "bogus":
            what = "TLSA" if status == "bogus" else "address"
            out[lookup.host] = DaneHost(
                applies=True,
                reason=f"{what} answer is DNSSEC-bogus",
                refuse=f"{what} answer is DNSSEC-bogus: DANE senders defer",
            )
            continue
        applies = status == "secure" and bool(usable)
        if applies:
            reason = f"{len(usable)} usable secure TLSA record(s)"
        elif not lookup.records:
            reason = "no TLSA records"
        elif status != "secure":
            reason = f"TLSA records not DNSSEC-secure ({status})"
        else:
            reason = "no usable TLSA record"
        endpoints: dict[tuple[str, int], tuple[bool, str]] = {}
        for r in dane.endpoints:
            if r.host != lookup.host or r.port != 25:
                continue
            # Every certificate an endpoint can present (one per key type) must match.
            if r.authenticated:
                endpoints.setdefault((r.ip, r.port), (True, f"matched {r.matched_record}"))
            else:
                kind = f" the {r.leaf_key_type} certificate" if r.leaf_key_type else ""
                endpoints[(r.ip, r.port)] = (False, f"no TLSA record matches{kind}")
        out[lookup.host] = DaneHost(applies=applies, reason=reason, endpoints=endpoints)
    return out


def judge_deep(
    obs: RunObservations, *, now: datetime, warn_days: int, trust: TrustStore
) -> list[Finding]:
    """Findings of the deep scans, including the certificate of every key type.

    A server holding both an RSA and an ECDSA certificate shows only one to a
    given client; the deep scan fetched each, and each is judged like the
    one of the main handshake (messages name the key type).
    """
    findings: list[Finding] = []
    if not obs.deep:
        return findings
    # The deep checks and their cipher-suite registry load with the deep scan
    # (mxtls.engine.deep imports them before the loop); a plain check never
    # needs them, nor the memory they take.
    from mxtls.checks.deep_tls import check_deep
    from mxtls.checks.vulns import check_vulns

    by_endpoint = {(ep.host, ep.ip, ep.port): ep for ep in obs.endpoints}
    for scan in obs.deep:
        target = endpoint_target(scan.host, scan.ip, scan.port)
        findings.extend(check_deep(scan.tls, target))
        if scan.vulns is not None:
            findings.extend(check_vulns(scan.vulns, target))
        findings.extend(check_stapled_ocsp(scan.tls.certificates, target))
        for cert, other in key_type_variants(scan, by_endpoint):
            for f in check_certificate(other, now=now, warn_days=warn_days, trust=trust):
                findings.append(
                    f.model_copy(update={"message": f"{f.message} ({cert.key_type} certificate)"})
                )
    return findings
