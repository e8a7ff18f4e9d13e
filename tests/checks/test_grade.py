"""The grade: the published rules (docs/grading.md) are the rules applied.

Table-driven: a report with given findings, verdict and MX answer in, the
letter and the rules that set it out.  Reports are built from the same
models the engine fills; only the fields the grade reads vary.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mxtls.checks.codes import CODES, make_finding
from mxtls.checks.grade import (
    GRADES,
    NOT_YET_IN_FORCE,
    RULES,
    AnyCode,
    grade_report,
    rules_markdown,
)
from mxtls.models.findings import Finding, Severity
from mxtls.models.observations import DnsAnswer
from mxtls.models.report import HostReport, Report, RunSettings, Summary
from mxtls.models.verdict import DeliveryVerdict, MxVerdict, SenderVerdict

GRADING_MD = Path(__file__).resolve().parents[2] / "docs" / "grading.md"
DOMAIN = "example.test"
MX1, MX2 = "mx1.example.test", "mx2.example.test"
EP = f"{MX1}[192.0.2.10]:25"


def _host(name: str) -> HostReport:
    from mxtls.models.observations import MxHost

    dns = MxHost(name=name, preference=10, addresses=["192.0.2.10"])
    return HostReport(
        name=name,
        preference=10,
        implicit=False,
        ip_literal=False,
        cname_target=None,
        addresses=dns.addresses,
        dns=dns,
    )


def _sender(kind: str, outcome: str, mx: dict[str, bool], applies: bool = True) -> SenderVerdict:
    return SenderVerdict.model_validate(
        {
            "sender": kind,
            "applies": applies,
            "policy": "p",
            "outcome": outcome,
            "summary": "s",
            "mx": [
                MxVerdict(
                    host=h, delivers=ok, refused=not ok, encrypted=ok, authenticated=ok, reason="r"
                )
                for h, ok in mx.items()
            ],
        }
    )


OPPORTUNISTIC = _sender("opportunistic", "delivers", {MX1: True})
UNREACHABLE = SenderVerdict(
    sender="opportunistic",
    applies=True,
    policy="p",
    outcome="unreachable",
    summary="no MX host answered on port 25",
)


def report(
    *codes: str,
    senders: list[SenderVerdict] | None = None,
    hosts: tuple[str, ...] = (MX1,),
    mx_status: str = "NOERROR",
    null_mx: bool = False,
    **extra: Any,
) -> Report:
    findings: list[Finding] = [make_finding(c, EP, f"{EP}: {c}") for c in codes]
    return Report(
        domain=DOMAIN,
        input=DOMAIN,
        checked_at=datetime(2026, 3, 1, tzinfo=UTC),
        duration_ms=1.0,
        findings=findings,
        summary=Summary(errors=0, warnings=0, infos=0, hosts=1, endpoints=1, endpoints_with_tls=1),
        verdict=DeliveryVerdict(senders=senders if senders is not None else [OPPORTUNISTIC]),
        mx=DnsAnswer(qname=DOMAIN, rdtype="MX", status=mx_status),
        null_mx=null_mx,
        hosts=[_host(h) for h in hosts],
        settings=RunSettings(
            ports=[25], nameservers=[], ca_file=None, ehlo_name="t", timeout_s=1, warn_days=30
        ),
        **extra,
    )


DANE_ALL = _sender("dane", "delivers", {MX1: True, MX2: True})
DANE_ONE = _sender("dane", "delivers_partly", {MX1: True, MX2: False})
STS_MX2 = _sender("mta_sts", "delivers", {MX1: False, MX2: True})

CASES: list[tuple[str, Report, str, list[str], list[str]]] = [
    ("clean", report(), "A", [], []),
    ("info only", report("mta_sts.missing", "dnssec.unsigned", "tls.no_tls13"), "A", [], []),
    ("a warning", report("cert.expiring_soon"), "B", ["any_warning"], []),
    ("not yet in force", report("mta_sts.mode_testing", "dane.insecure_tlsa"), "A", [], []),
    (
        "an error",
        report("cert.expired", "cert.expiring_soon"),
        "C",
        ["any_error", "any_warning"],
        [],
    ),
    (
        "strict senders refused",
        report("delivery.strict_senders_fail", "cert.expired"),
        "D",
        ["strict_senders_refused", "any_error"],
        [],
    ),
    (
        "plaintext MX",
        report("delivery.unencrypted_path", "starttls.not_offered"),
        "F",
        ["plaintext_mx", "any_error", "any_warning"],
        [],
    ),
    ("exploitable", report("vuln.heartbleed"), "F", ["exploitable", "any_error"], []),
    (
        "MX lookup failed",
        report("dns.error", mx_status="SERVFAIL"),
        "F",
        ["mx_lookup_failed", "any_error"],
        [],
    ),
    (
        "no MX reachable",
        report("delivery.no_reachable_mx", "smtp.connect_failed", senders=[UNREACHABLE]),
        "F",
        ["no_reachable_mx", "any_error"],
        [],
    ),
    (
        "DANE on every MX",
        report(senders=[OPPORTUNISTIC, DANE_ALL], hosts=(MX1, MX2)),
        "A+",
        [],
        ["authenticated_everywhere"],
    ),
    (
        "DANE on one MX, MTA-STS on the other",
        report(senders=[OPPORTUNISTIC, DANE_ONE, STS_MX2], hosts=(MX1, MX2)),
        "A+",
        [],
        ["authenticated_everywhere"],
    ),
    (
        "DANE on one MX of two",
        report(senders=[OPPORTUNISTIC, DANE_ONE], hosts=(MX1, MX2)),
        "A",
        [],
        [],
    ),
    (
        "authenticated but a not-yet-in-force warning",
        report("mta_sts.max_age_short", senders=[OPPORTUNISTIC, DANE_ALL], hosts=(MX1, MX2)),
        "A",
        [],
        [],
    ),
    (
        "authenticated but capped",
        report("cert.expiring_soon", senders=[OPPORTUNISTIC, DANE_ALL], hosts=(MX1, MX2)),
        "B",
        ["any_warning"],
        [],
    ),
]


@pytest.mark.parametrize(
    ("case", "rep", "letter", "caps", "raised"), CASES, ids=[c[0] for c in CASES]
)
def test_grade_table(
    case: str, rep: Report, letter: str, caps: list[str], raised: list[str]
) -> None:
    grade = grade_report(rep)
    assert grade is not None
    assert grade.letter == letter
    assert [c.rule for c in grade.capped_by] == caps
    assert [r.rule for r in grade.raised_by] == raised
    assert all(c.because for c in grade.capped_by), "every cap says what made it apply"


def test_caps_are_listed_worst_first_and_set_the_letter() -> None:
    grade = grade_report(report("delivery.unencrypted_path", "cert.expired", "mx.cname"))
    assert grade is not None
    ranks = [GRADES.index(c.grade) for c in grade.capped_by]
    assert ranks == sorted(ranks)
    assert grade.letter == grade.capped_by[0].grade == "F"


def test_no_grade_for_null_mx_or_an_unfinished_check() -> None:
    assert grade_report(report("mx.null", null_mx=True)) is None
    assert grade_report(report(internal_errors=["checks: boom"])) is None


def test_rules_name_only_known_codes() -> None:
    named = {
        code for rule in RULES for c in rule.when if isinstance(c, AnyCode) for code in c.codes
    }
    assert named <= set(CODES)
    assert NOT_YET_IN_FORCE <= set(CODES)
    assert all(CODES[c].severity is Severity.WARNING for c in NOT_YET_IN_FORCE)
    assert len({r.id for r in RULES}) == len(RULES)


def test_docs_grading_md_embeds_the_rules() -> None:
    text = GRADING_MD.read_text(encoding="utf-8")
    match = re.search(r"<!-- rules:begin[^>]*-->\n(.*?)<!-- rules:end -->", text, re.S)
    assert match, "docs/grading.md lost its rules markers"
    assert match.group(1).strip() == rules_markdown().strip(), (
        "docs/grading.md differs from mxtls.checks.grade.RULES: paste rules_markdown() between "
        "the markers"
    )
