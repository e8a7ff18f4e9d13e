"""Every lab scenario's grade follows the rules published in docs/grading.md.

The expected grade is computed here from the doc's rules table (parsed from
the Markdown, with the facts re-derived from the report), not from the code
that grades: a rule changed in one place and not the other fails this test.
A few scenarios are pinned outright, so a rule that is wrong in both places
is caught too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from mxtls.checks.grade import grade_report
from mxtls.lab.scenarios import SCENARIOS
from mxtls.models.report import Report

GRADING_MD = Path(__file__).resolve().parents[2] / "docs" / "grading.md"
ORDER = ["F", "D", "C", "B", "A", "A+"]
ROW = re.compile(
    r"^\| `([a-z_]+)` \| (at most|raises A to) \| \*\*([A-F]\+?)\*\* \| (.*?) \| .* \|$"
)

# Pinned by hand: what a mail admin would expect of these lab domains.
PINNED = {
    "good.lab": "A",
    "secure.lab": "A+",
    "dane-good.lab": "A+",
    "sts-testing.lab": "A",
    "expiring.lab": "B",
    "expired.lab": "C",
    "sts-enforce-broken.lab": "D",
    "dane-mismatch.lab": "D",
    "nostarttls.lab": "F",
    "refused.lab": "F",
    "servfail.lab": "F",
    "nullmx.lab": None,
}


def _every_mx_authenticated(report: Report) -> bool:
    hosts = [h.name for h in report.hosts]
    strict = [s for s in report.verdict.senders if s.applies and s.sender != "opportunistic"]

    def authenticated(host: str) -> bool:
        return any(m.host == host and m.delivers and m.authenticated for s in strict for m in s.mx)

    return bool(hosts) and all(authenticated(h) for h in hosts)


FACTS: dict[str, Callable[[Report], bool]] = {
    "the domain's MX lookup failed (SERVFAIL, timeout, refused)": lambda r: (
        r.kind == "domain" and r.mx.status in ("SERVFAIL", "REFUSED", "TIMEOUT", "ERROR")
    ),
    "the delivery verdict shows every MX host authenticated by DANE or by an MTA-STS policy "
    "in enforce mode": _every_mx_authenticated,
}


def _published_rules() -> tuple[list[tuple[str, str, str, str]], set[str]]:
    text = GRADING_MD.read_text(encoding="utf-8")
    rules = [m.groups() for line in text.splitlines() if (m := ROW.match(line))]
    exempt = set(re.findall(r"^- `([a-z_]+\.[a-z_]+)`:", text, re.M))
    assert len(rules) >= 6 and exempt, "docs/grading.md has no rules table"
    return [(a, b, c, d) for a, b, c, d in rules], exempt


def _condition_holds(text: str, report: Report, exempt: set[str]) -> bool:
    codes = {f.code for f in report.findings}
    if m := re.fullmatch(r"no finding of severity `(\w+)` or worse", text):
        worse = {"info": {"info", "warning", "error"}, "warning": {"warning", "error"}}
        return not any(f.severity.value in worse.get(m[1], {m[1]}) for f in report.findings)
    if m := re.fullmatch(
        r"a finding of severity `(\w+)`( other than the not-yet-in-force warnings)?", text
    ):
        skip = exempt if m[2] else set()
        return any(f.severity.value == m[1] and f.code not in skip for f in report.findings)
    if text.startswith("a finding `"):
        return bool(set(re.findall(r"`([a-z_]+\.[a-z_]+)`", text)) & codes)
    assert text in FACTS, f"docs/grading.md names a condition this test does not know: {text}"
    return FACTS[text](report)


def published_grade(report: Report) -> str | None:
    """The grade docs/grading.md gives ``report``."""
    if report.null_mx or report.internal_errors:
        return None
    rules, exempt = _published_rules()
    letter = "A"
    for _id, effect, grade, when in rules:
        holds = all(_condition_holds(c, report, exempt) for c in when.split(" and "))
        if holds and effect == "at most" and ORDER.index(grade) < ORDER.index(letter):
            letter = grade
    if letter == "A":
        for _id, effect, grade, when in rules:
            if effect == "raises A to" and all(
                _condition_holds(c, report, exempt) for c in when.split(" and ")
            ):
                return grade
    return letter


@pytest.mark.parametrize("domain", [s.domain for s in SCENARIOS])
def test_lab_grade_follows_the_published_rules(domain: str, lab_reports: dict[str, Report]) -> None:
    report = lab_reports[domain]
    expected = published_grade(report)
    assert (report.grade.letter if report.grade else None) == expected, report.grade
    assert grade_report(report) == report.grade, "the engine attaches the grade of the rules"


def test_pinned_lab_grades(lab_reports: dict[str, Report]) -> None:
    grades = {d: r.grade for d, r in lab_reports.items()}
    got = {d: (g.letter if (g := grades[d]) else None) for d in PINNED}
    assert got == PINNED
    # Every letter is reached by some lab domain, so each rule is exercised on a real peer.
    letters = {r.grade.letter for r in lab_reports.values() if r.grade}
    assert letters == set(ORDER)
