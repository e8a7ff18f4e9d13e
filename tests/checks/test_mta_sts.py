"""MTA-STS and TLS-RPT checks: one observation in, the exact set of codes out."""

from __future__ import annotations

from typing import Any

import pytest

from mxtls.checks.mta_sts import check_mta_sts, enforce_failures
from mxtls.checks.tls_rpt import check_tls_rpt
from mxtls.models.findings import Finding, Severity
from mxtls.models.observations import DnsAnswer, DnsStatus
from mxtls.models.policy import (
    MtaStsFetch,
    MtaStsObservation,
    PolicyFetchError,
    PolicyFetchErrorKind,
    TlsRptObservation,
)

DOMAIN = "example.test"
MX1, MX2 = "mx1.example.test", "mx2.example.test"
RECORD = "v=STSv1; id=1"
URL = f"https://mta-sts.{DOMAIN}/.well-known/mta-sts.txt"


def txt(
    status: DnsStatus = "NOERROR", *records: str, qname: str = f"_mta-sts.{DOMAIN}"
) -> DnsAnswer:
    return DnsAnswer(qname=qname, rdtype="TXT", status=status, records=list(records))


def fetch(error: PolicyFetchErrorKind | None = None) -> MtaStsFetch:
    err = PolicyFetchError(kind=error, detail="detail") if error is not None else None
    return MtaStsFetch(url=URL, host=f"mta-sts.{DOMAIN}", connect_port=443, error=err)


def sts(**changes: Any) -> MtaStsObservation:
    """A healthy enforce observation, changed per case."""
    base: dict[str, Any] = {
        "domain": DOMAIN,
        "txt": txt("NOERROR", f'"{RECORD}"'),
        "txt_strings": [RECORD],
        "sts_records": [RECORD],
        "record": RECORD,
        "record_id": "1",
        "fetch": fetch(),
        "mode": "enforce",
        "max_age": 604800,
        "mx_patterns": ["*.example.test"],
    }
    base.update(changes)
    return MtaStsObservation(**base)


def codes(findings: list[Finding]) -> set[str]:
    return {f.code for f in findings}


NO_TXT: dict[str, Any] = {
    "txt_strings": [],
    "sts_records": [],
    "record": None,
    "record_id": None,
    "fetch": None,
}
NO_POLICY: dict[str, Any] = {"mode": None, "max_age": None, "mx_patterns": []}

MTA_STS_CASES = [
    ("healthy", sts(), set()),
    ("nxdomain", sts(txt=txt("NXDOMAIN"), **NO_TXT, **NO_POLICY), {"mta_sts.missing"}),
    ("nodata", sts(txt=txt("NODATA"), **NO_TXT, **NO_POLICY), {"mta_sts.missing"}),
    ("servfail", sts(txt=txt("SERVFAIL"), **NO_TXT, **NO_POLICY), set()),
    ("timeout", sts(txt=txt("TIMEOUT"), **NO_TXT, **NO_POLICY), set()),
    (
        "not-sts",
        sts(**{**NO_TXT, "txt": txt("NOERROR", '"hello"'), "txt_strings": ["hello"]}, **NO_POLICY),
        {"mta_sts.txt_invalid"},
    ),
    (
        "two-records",
        sts(
            **{
                **NO_TXT,
                **NO_POLICY,
                "txt_strings": [RECORD, "v=STSv1; id=2"],
                "sts_records": [RECORD, "v=STSv1; id=2"],
            }
        ),
        {"mta_sts.txt_invalid"},
    ),
    (
        "bad-record",
        sts(
            **{
                **NO_TXT,
                "txt_strings": ["v=STSv1"],
                "sts_records": ["v=STSv1"],
                "record": "v=STSv1",
            },
            **NO_POLICY,
            record_errors=["no field follows the version"],
        ),
        {"mta_sts.txt_invalid"},
    ),
    ("fetch-dns", sts(fetch=fetch("dns"), **NO_POLICY), {"mta_sts.policy_fetch_failed"}),
    ("fetch-cert", sts(fetch=fetch("cert"), **NO_POLICY), {"mta_sts.policy_fetch_failed"}),
    ("fetch-redirect", sts(fetch=fetch("redirect"), **NO_POLICY), {"mta_sts.policy_fetch_failed"}),
    ("fetch-size", sts(fetch=fetch("size"), **NO_POLICY), {"mta_sts.policy_fetch_failed"}),
    ("fetch-timeout", sts(fetch=fetch("timeout"), **NO_POLICY), {"mta_sts.policy_fetch_failed"}),
    ("media-type", sts(fetch=fetch("media_type")), {"mta_sts.policy_invalid"}),
    (
        "media-type-and-parse",
        sts(fetch=fetch("media_type"), **NO_POLICY, policy_errors=["mode missing"]),
        {"mta_sts.policy_invalid"},
    ),
    ("parse-errors", sts(**NO_POLICY, policy_errors=["mode missing"]), {"mta_sts.policy_invalid"}),
    ("testing", sts(mode="testing"), {"mta_sts.mode_testing"}),
    ("none", sts(mode="none", mx_patterns=[]), {"mta_sts.mode_none"}),
    ("none-short-max-age", sts(mode="none", mx_patterns=[], max_age=60), {"mta_sts.mode_none"}),
    ("uncovered", sts(mx_patterns=[MX1]), {"mta_sts.mx_not_covered"}),
    (
        "testing-uncovered-short",
        sts(mode="testing", mx_patterns=["mx9.example.test"], max_age=86399),
        {"mta_sts.mode_testing", "mta_sts.mx_not_covered", "mta_sts.max_age_short"},
    ),
    ("max-age-boundary", sts(max_age=86400), set()),
    ("max-age-short", sts(max_age=86399), {"mta_sts.max_age_short"}),
    ("wildcard-one-label-only", sts(mx_patterns=["*.test"]), {"mta_sts.mx_not_covered"}),
]


@pytest.mark.parametrize(
    ("obs", "expected"), [pytest.param(o, e, id=i) for i, o, e in MTA_STS_CASES]
)
def test_check_mta_sts(obs: MtaStsObservation, expected: set[str]) -> None:
    assert codes(check_mta_sts(obs, [MX1, MX2])) == expected


def test_mx_not_covered_targets_each_host_once() -> None:
    findings = check_mta_sts(sts(mx_patterns=["mx0.example.test"]), [MX1, "MX1.example.test.", MX2])
    assert [(f.code, f.target, f.severity) for f in findings] == [
        ("mta_sts.mx_not_covered", MX1, Severity.ERROR),
        ("mta_sts.mx_not_covered", MX2, Severity.ERROR),
    ]


def test_domain_level_findings_target_the_domain() -> None:
    for obs in (sts(mode="testing", max_age=10), sts(fetch=fetch("status"), **NO_POLICY)):
        assert {f.target for f in check_mta_sts(obs, [MX1])} == {DOMAIN}


def test_severities_follow_the_catalog() -> None:
    testing = check_mta_sts(sts(mode="testing", max_age=10), [MX1])
    assert {f.severity for f in testing} == {Severity.WARNING}
    missing = check_mta_sts(sts(txt=txt("NXDOMAIN"), **NO_TXT, **NO_POLICY), [MX1])
    assert [f.severity for f in missing] == [Severity.INFO]


@pytest.mark.parametrize(
    ("mode", "failures", "expected_targets"),
    [
        ("enforce", {MX2: "certificate expired"}, [MX2]),
        ("enforce", {MX1 + ".": "no STARTTLS", MX2: "bad name"}, [MX1, MX2]),
        ("enforce", {}, []),
        ("testing", {MX1: "no STARTTLS"}, []),
        (None, {MX1: "no STARTTLS"}, []),
    ],
)
def test_enforce_failures(
    mode: str | None, failures: dict[str, str], expected_targets: list[str]
) -> None:
    findings = enforce_failures(mode, [MX1, MX2], failures)
    assert [f.target for f in findings] == expected_targets
    assert codes(findings) <= {"mta_sts.enforce_tls_failure"}


# ----------------------------------------------------------------------- TLS-RPT

RPT = "v=TLSRPTv1; rua=mailto:r@example.test"


def rpt(**changes: Any) -> TlsRptObservation:
    base: dict[str, Any] = {
        "domain": DOMAIN,
        "txt": txt("NOERROR", f'"{RPT}"', qname=f"_smtp._tls.{DOMAIN}"),
        "txt_strings": [RPT],
        "rpt_records": [RPT],
        "record": RPT,
        "rua": ["mailto:r@example.test"],
    }
    base.update(changes)
    return TlsRptObservation(**base)


EMPTY_RPT: dict[str, Any] = {"txt_strings": [], "rpt_records": [], "record": None, "rua": []}

TLS_RPT_CASES = [
    ("healthy", rpt(), set()),
    ("nxdomain", rpt(txt=txt("NXDOMAIN"), **EMPTY_RPT), {"tls_rpt.missing"}),
    ("nodata", rpt(txt=txt("NODATA"), **EMPTY_RPT), {"tls_rpt.missing"}),
    ("servfail", rpt(txt=txt("SERVFAIL"), **EMPTY_RPT), set()),
    ("refused", rpt(txt=txt("REFUSED"), **EMPTY_RPT), set()),
    ("not-tlsrpt", rpt(**{**EMPTY_RPT, "txt_strings": ["spf"]}), {"tls_rpt.invalid"}),
    (
        "two",
        rpt(**{**EMPTY_RPT, "txt_strings": [RPT, RPT + "x"], "rpt_records": [RPT, RPT + "x"]}),
        {"tls_rpt.invalid"},
    ),
    (
        "bad-rua",
        rpt(
            **{**EMPTY_RPT, "txt_strings": [RPT], "rpt_records": [RPT], "record": RPT},
            errors=["ftp"],
        ),
        {"tls_rpt.invalid"},
    ),
]


@pytest.mark.parametrize(
    ("obs", "expected"), [pytest.param(o, e, id=i) for i, o, e in TLS_RPT_CASES]
)
def test_check_tls_rpt(obs: TlsRptObservation, expected: set[str]) -> None:
    findings = check_tls_rpt(obs)
    assert codes(findings) == expected
    assert all(f.target == DOMAIN for f in findings)


def test_tls_rpt_severities() -> None:
    assert [f.severity for f in check_tls_rpt(rpt(txt=txt("NXDOMAIN"), **EMPTY_RPT))] == [
        Severity.WARNING
    ]
    assert [f.severity for f in check_tls_rpt(rpt(errors=["x"]))] == [Severity.ERROR]
