"""MX checks: where mail for the domain goes (``mx.*``)."""

from __future__ import annotations

from mxtls.checks.codes import make_finding
from mxtls.models.findings import Finding
from mxtls.models.observations import Discovery, MxHost


def check_mx(discovery: Discovery) -> list[Finding]:
    """Judge the MX RRset and each MX host's name and addresses.

    Emits:
        ``mx.null`` — RFC 7505 §3: "a domain that advertises a null MX MUST NOT
        advertise any other MX RR"; the domain accepts no mail, nothing else
        applies.
        ``mx.none`` — RFC 5321 §5.1: "If an empty list of MXs is returned, the
        address is treated as if it was associated with an implicit MX RR".
        ``mx.cname`` — RFC 5321 §5.1: the MX data field "MUST contain a domain
        name.  That domain name, when queried, MUST return at least one address
        record ... Any other response, specifically including a value that will
        return a CNAME record when queried, lies outside the scope of this
        Standard" (RFC 2181 §10.3: it "must not be an alias").
        ``mx.ip_literal`` — RFC 5321 §5.1: the data field "MUST contain a domain
        name"; an address literal there is not one.
        ``mx.unresolvable`` — RFC 5321 §5.1: the MX name "MUST return at least
        one address record"; here A/AAAA answered with none.  A *failed* lookup
        is ``dns.error``, not this.
    """
    domain = discovery.domain
    if discovery.null_mx:
        return [make_finding("mx.null", domain, f"{domain}: null MX (0 .): accepts no mail")]
    findings: list[Finding] = []
    if not discovery.mx.failed and not discovery.mx.records:
        findings.append(
            make_finding(
                "mx.none",
                domain,
                f"{domain}: MX lookup answered {discovery.mx.status} with no records; "
                "checking the implicit MX (the domain's own A/AAAA)",
            )
        )
    for host in discovery.hosts:
        findings.extend(_check_host(host))
    return findings


def _check_host(host: MxHost) -> list[Finding]:
    findings: list[Finding] = []
    name = host.name
    if host.cname_target:
        findings.append(
            make_finding(
                "mx.cname",
                name,
                f"{name}: MX target is a CNAME to {host.cname_target.rstrip('.')}",
            )
        )
    if host.ip_literal:
        findings.append(
            make_finding("mx.ip_literal", name, f"{name}: MX target is an IP address literal")
        )
        return findings
    lookups = [a for a in (host.a, host.aaaa) if a is not None]
    if not host.addresses and lookups and not any(a.failed for a in lookups):
        answered = ", ".join(f"{a.rdtype} {a.status}" for a in lookups)
        findings.append(make_finding("mx.unresolvable", name, f"{name}: no address ({answered})"))
    return findings
