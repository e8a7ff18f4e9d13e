"""DNS checks: lookups that failed (``dns.error``)."""

from __future__ import annotations

from mxtls.checks._common import quote
from mxtls.checks.codes import make_finding
from mxtls.models.findings import Finding
from mxtls.models.observations import Discovery, DnsAnswer


def check_dns(discovery: Discovery) -> list[Finding]:
    """Report every lookup of the discovery that got no usable answer.

    Emits ``dns.error`` (target DOMAIN for the MX query, MXHOST for a host's
    A/AAAA/CAA queries).  RFC 5321 §5.1: "If a temporary error is returned,
    the message MUST be queued and retried later" — a SERVFAIL, REFUSED or
    timeout is not an answer, so nothing can be concluded from it (unlike
    NXDOMAIN/NODATA, which are answers and judged by the mx checks).
    """
    findings: list[Finding] = []
    if discovery.mx.failed:
        findings.append(_error(discovery.domain, discovery.mx))
    for host in discovery.hosts:
        for answer in (host.a, host.aaaa, host.caa):
            if answer is not None and answer.failed:
                findings.append(_error(host.name, answer))
    return findings


def check_lookups(target: str, answers: list[DnsAnswer | None]) -> list[Finding]:
    """``dns.error`` for any failed lookup among ``answers`` (policy TXT, TLSA, ...)."""
    return [_error(target, a) for a in answers if a is not None and a.failed]


def _error(target: str, answer: DnsAnswer) -> Finding:
    detail = f": {quote(answer.error)}" if answer.error else ""
    qname = answer.qname.rstrip(".") or "."
    return make_finding(
        "dns.error",
        target,
        f"{target}: {answer.rdtype} lookup for {qname} failed: {answer.status}{detail}",
    )
