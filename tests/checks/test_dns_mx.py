"""DNS and MX checks: one discovery in, the exact set of codes out."""

from __future__ import annotations

from typing import Any

import pytest

from mxtls.checks.dns import check_dns
from mxtls.checks.mx import check_mx
from mxtls.models.findings import Severity
from mxtls.models.observations import Discovery

from .builders import DOMAIN, HOST, IP, answer, codes, discovery, mx_host, severities

NO_ADDRESS: dict[str, Any] = {
    "a": answer("A", "NODATA"),
    "aaaa": answer("AAAA", "NXDOMAIN"),
    "addresses": [],
}

CASES: list[tuple[str, Discovery, set[str]]] = [
    ("healthy", discovery(), set()),
    ("mx-servfail", discovery(mx=answer("MX", "SERVFAIL", qname=DOMAIN), hosts=[]), {"dns.error"}),
    ("mx-timeout", discovery(mx=answer("MX", "TIMEOUT", qname=DOMAIN), hosts=[]), {"dns.error"}),
    (
        "a-servfail-is-not-unresolvable",
        discovery(mx_host(a=answer("A", "SERVFAIL"), aaaa=answer("AAAA", "NODATA"), addresses=[])),
        {"dns.error"},
    ),
    (
        "aaaa-refused-but-a-answered",
        discovery(mx_host(aaaa=answer("AAAA", "REFUSED"))),
        {"dns.error"},
    ),
    ("caa-servfail", discovery(mx_host(caa=answer("CAA", "SERVFAIL"))), {"dns.error"}),
    ("unresolvable", discovery(mx_host(**NO_ADDRESS)), {"mx.unresolvable"}),
    (
        "unresolvable-ipv4-only-run",
        discovery(mx_host(a=answer("A", "NXDOMAIN"), aaaa=None, addresses=[])),
        {"mx.unresolvable"},
    ),
    ("not-looked-up-yet", discovery(mx_host(a=None, aaaa=None, addresses=[])), set()),
    (
        "null-mx",
        discovery(mx=answer("MX", records=["0 ."], qname=DOMAIN), null_mx=True, hosts=[]),
        {"mx.null"},
    ),
    (
        "no-mx-implicit",
        discovery(
            mx_host(name=DOMAIN, preference=0, implicit=True),
            mx=answer("MX", "NODATA", qname=DOMAIN),
        ),
        {"mx.none"},
    ),
    (
        "no-mx-nxdomain",
        discovery(
            mx_host(name=DOMAIN, preference=0, implicit=True, **NO_ADDRESS),
            mx=answer("MX", "NXDOMAIN", qname=DOMAIN),
        ),
        {"mx.none", "mx.unresolvable"},
    ),
    ("cname", discovery(mx_host(cname_target="real.example.test.")), {"mx.cname"}),
    (
        "ip-literal",
        discovery(mx_host(name=IP, ip_literal=True, a=None, aaaa=None, addresses=[IP])),
        {"mx.ip_literal"},
    ),
    (
        "two-hosts-one-broken",
        discovery(mx_host(), mx_host(name="mx2.example.test", **NO_ADDRESS)),
        {"mx.unresolvable"},
    ),
]


@pytest.mark.parametrize(
    ("observed", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_discovery_codes(observed: Discovery, expected: set[str]) -> None:
    findings = [*check_dns(observed), *check_mx(observed)]
    assert codes(findings) == expected
    assert all("\n" not in f.message for f in findings)


def test_targets_and_severities() -> None:
    observed = discovery(
        mx_host(cname_target="real.example.test.", aaaa=answer("AAAA", "TIMEOUT")),
        mx_host(name="mx2.example.test", **NO_ADDRESS),
        mx=answer("MX", records=[f"10 {HOST}.", "20 mx2.example.test."], qname=DOMAIN),
    )
    findings = [*check_dns(observed), *check_mx(observed)]
    assert sorted((f.code, f.target) for f in findings) == [
        ("dns.error", HOST),
        ("mx.cname", HOST),
        ("mx.unresolvable", "mx2.example.test"),
    ]
    assert severities(findings) == {
        "dns.error": Severity.ERROR,
        "mx.cname": Severity.WARNING,
        "mx.unresolvable": Severity.ERROR,
    }
    mx_failure = check_dns(discovery(mx=answer("MX", "SERVFAIL", qname=DOMAIN), hosts=[]))
    assert [(f.target, f.severity) for f in mx_failure] == [(DOMAIN, Severity.ERROR)]


def test_null_mx_is_info_and_alone() -> None:
    observed = discovery(mx=answer("MX", records=["0 ."], qname=DOMAIN), null_mx=True, hosts=[])
    assert [(f.code, f.severity, f.target) for f in check_mx(observed)] == [
        ("mx.null", Severity.INFO, DOMAIN)
    ]
