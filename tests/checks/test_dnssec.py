"""check_dnssec: DNSSEC results in, the exact set of (code, severity, target) out."""

from __future__ import annotations

import pytest

from mxtls.checks.dnssec import check_dnssec
from mxtls.models.dnssec import DnssecResult, DnssecStatus


def r(qname: str, rdtype: str, status: DnssecStatus) -> DnssecResult:
    return DnssecResult(qname=qname, rdtype=rdtype, status=status, mode="validate", reason="why")


CASES: list[tuple[str, list[DnssecResult], set[tuple[str, str, str]]]] = [
    (
        "all secure",
        [
            r("ex.lab", "MX", "secure"),
            r("mx.ex.lab", "A", "secure"),
            r("mx.ex.lab", "AAAA", "secure"),
        ],
        set(),
    ),
    (
        "unsigned domain and host: one finding each, not one per query",
        [
            r("ex.lab", "MX", "insecure"),
            r("mx.ex.lab", "A", "insecure"),
            r("mx.ex.lab", "AAAA", "insecure"),
        ],
        {("dnssec.unsigned", "info", "ex.lab"), ("dnssec.unsigned", "info", "mx.ex.lab")},
    ),
    (
        "signed domain, MX host in an unsigned zone",
        [r("ex.lab", "MX", "secure"), r("mx.other.lab", "A", "insecure")],
        {("dnssec.unsigned", "info", "mx.other.lab")},
    ),
    (
        "bogus host address and TLSA: one error for the host",
        [
            r("ex.lab", "MX", "secure"),
            r("mx.ex.lab", "A", "bogus"),
            r("mx.ex.lab", "AAAA", "insecure"),
            r("_25._tcp.mx.ex.lab", "TLSA", "bogus"),
        ],
        {("dnssec.bogus", "error", "mx.ex.lab")},
    ),
    (
        "bogus MX answer",
        [r("ex.lab", "MX", "bogus")],
        {("dnssec.bogus", "error", "ex.lab")},
    ),
    (
        "indeterminate is not a DNSSEC verdict",
        [r("ex.lab", "MX", "indeterminate"), r("mx.ex.lab", "A", "indeterminate")],
        set(),
    ),
    (
        "insecure TLSA alone is DANE's business",
        [r("ex.lab", "MX", "secure"), r("_25._tcp.mx.ex.lab", "TLSA", "insecure")],
        set(),
    ),
    (
        "an insecure MX lookup of another domain is not this domain's answer",
        [r("other.lab", "MX", "insecure")],
        set(),
    ),
]


@pytest.mark.parametrize(("title", "results", "expected"), CASES, ids=[c[0] for c in CASES])
def test_check_dnssec(
    title: str, results: list[DnssecResult], expected: set[tuple[str, str, str]]
) -> None:
    findings = check_dnssec(results, domain="EX.lab.")
    got = [(f.code, f.severity.value, f.target) for f in findings]
    assert len(got) == len(set(got))
    assert set(got) == expected


def test_bogus_message_names_the_queries() -> None:
    (finding,) = check_dnssec(
        [r("mx.ex.lab", "A", "bogus"), r("_25._tcp.mx.ex.lab", "TLSA", "bogus")], domain="ex.lab"
    )
    assert "mx.ex.lab/A" in finding.message and "_25._tcp.mx.ex.lab/TLSA" in finding.message
