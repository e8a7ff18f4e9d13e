"""The grade: one letter for a report, by rules published in docs/grading.md (pure).

Web checkers show a grade and none says how it is computed.  Here the rules
are data (:data:`RULES`), written once: :func:`grade_report` evaluates them,
:func:`rules_markdown` renders them for docs/grading.md (a test keeps the
two equal), and every renderer shows which rules set the letter.

The method (``mxtls-grade/1``):

1. A report that can be graded starts at **A**.
2. Every *cap* rule whose condition holds caps the grade at its letter; the
   grade is the lowest cap.  Every cap that applied is reported.
3. If the grade is still A and every condition of the *raise* rule holds,
   the grade is **A+**.

A null-MX domain (RFC 7505: it accepts no mail) and a report whose check
did not finish (internal errors) get no grade.  The grade is judged only
from the report's findings, its delivery verdict and its MX answer, so an
old report can be graded again and two reports compared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from mxtls.checks.codes import CODES
from mxtls.models.findings import Severity
from mxtls.models.grade import GRADE_METHOD, Grade, GradeLetter, GradeReason
from mxtls.models.report import Report

GRADES: tuple[GradeLetter, ...] = ("F", "D", "C", "B", "A", "A+")  # worst first
START: GradeLetter = "A"

# Warnings about a protection that is published but not (yet) in force.  A
# domain that publishes nothing never gets them, so they must not grade it
# lower than that domain (publishing MTA-STS in testing mode is a step towards
# enforce, never a step down); they still keep it from A+.
NOT_YET_IN_FORCE = frozenset(
    {
        "mta_sts.mode_testing",
        "mta_sts.mode_none",
        "mta_sts.max_age_short",
        "dane.insecure_tlsa",
        "dane.unusable_record",
    }
)


# ------------------------------------------------------------------ conditions


@dataclass(frozen=True, slots=True)
class AnyCode:
    """Holds when the report has a finding with one of ``codes``."""

    codes: frozenset[str]

    def describe(self) -> str:
        """The condition as published."""
        return "a finding " + " or ".join(f"`{c}`" for c in sorted(self.codes))


@dataclass(frozen=True, slots=True)
class AnySeverity:
    """Holds when a finding of exactly ``severity`` exists, except ``exempt`` codes."""

    severity: Severity
    exempt: frozenset[str] = frozenset()

    def describe(self) -> str:
        """The condition as published."""
        text = f"a finding of severity `{self.severity.value}`"
        if self.exempt:
            text += " other than the not-yet-in-force warnings"
        return text


@dataclass(frozen=True, slots=True)
class NoSeverity:
    """Holds when no finding at ``severity`` or worse exists (exemptions included)."""

    severity: Severity

    def describe(self) -> str:
        """The condition as published."""
        return f"no finding of severity `{self.severity.value}` or worse"


FactName = Literal["mx_lookup_failed", "every_mx_authenticated"]


@dataclass(frozen=True, slots=True)
class Fact:
    """Holds when the named fact about the report is true (see :data:`FACTS`)."""

    name: FactName

    def describe(self) -> str:
        """The condition as published."""
        return FACTS[self.name][0]


Condition = AnyCode | AnySeverity | NoSeverity | Fact


@dataclass(frozen=True, slots=True)
class GradeRule:
    """One published rule.

    Attributes:
        id: stable identifier (reported in ``grade.capped_by[].rule``).
        effect: ``cap`` (the grade is at most ``grade``) or ``raise`` (an A
            becomes ``grade``).
        grade: the cap, or the raised grade.
        when: conditions that must all hold.
        summary: the rule in one line, for people.
    """

    id: str
    effect: Literal["cap", "raise"]
    grade: GradeLetter
    when: tuple[Condition, ...]
    summary: str


RULES: tuple[GradeRule, ...] = (
    GradeRule(
        "mx_lookup_failed",
        "cap",
        "F",
        (Fact("mx_lookup_failed"),),
        "The MX lookup fails: senders cannot tell where to deliver, mail waits or bounces.",
    ),
    GradeRule(
        "no_reachable_mx",
        "cap",
        "F",
        (AnyCode(frozenset({"delivery.no_reachable_mx"})),),
        "No MX host takes a mail session on port 25: nobody can deliver mail to the domain.",
    ),
    GradeRule(
        "plaintext_mx",
        "cap",
        "F",
        (AnyCode(frozenset({"delivery.unencrypted_path"})),),
        "No TLS on an MX: mail to it crosses the network readable by anyone on the path.",
    ),
    GradeRule(
        "exploitable",
        "cap",
        "F",
        (
            AnyCode(
                frozenset(
                    {"vuln.heartbleed", "vuln.ccs_injection", "vuln.robot", "starttls.injection"}
                )
            ),
        ),
        "A known exploitable flaw: an attacker can read memory, keys or mail, or inject commands.",
    ),
    GradeRule(
        "strict_senders_refused",
        "cap",
        "D",
        (AnyCode(frozenset({"delivery.strict_senders_fail"})),),
        "The domain's own policy makes strict senders refuse an MX: their mail is not delivered.",
    ),
    GradeRule(
        "any_error",
        "cap",
        "C",
        (AnySeverity(Severity.ERROR),),
        "Any error: something breaks security or delivery for some senders.",
    ),
    GradeRule(
        "any_warning",
        "cap",
        "B",
        (AnySeverity(Severity.WARNING, exempt=NOT_YET_IN_FORCE),),
        "Any warning: something weakens security or will break soon.",
    ),
    GradeRule(
        "authenticated_everywhere",
        "raise",
        "A+",
        (Fact("every_mx_authenticated"), NoSeverity(Severity.WARNING)),
        "Every MX is authenticated by DANE or an MTA-STS policy in enforce mode, "
        "with no warning: eligible for A+.",
    ),
)


# ----------------------------------------------------------------------- facts


def _mx_lookup_failed(report: Report) -> list[str]:
    if report.kind == "domain" and report.mx.failed:
        return [f"MX lookup of {report.mx.qname}: {report.mx.status}"]
    return []


def _every_mx_authenticated(report: Report) -> list[str]:
    """Per MX host, the strict sender kind that authenticates it (all, or nothing)."""
    by_host: dict[str, list[str]] = {}
    for sender in report.verdict.senders:
        if not sender.applies or sender.sender == "opportunistic":
            continue
        label = "DANE" if sender.sender == "dane" else "MTA-STS enforce"
        for mx in sender.mx:
            by_host.setdefault(mx.host, [])
            if mx.delivers and mx.authenticated:
                by_host[mx.host].append(label)
    hosts = [h.name for h in report.hosts]
    if not hosts or any(not by_host.get(h) for h in hosts):
        return []
    return [f"{h}: {' and '.join(sorted(set(by_host[h])))}" for h in hosts]


FACTS: dict[FactName, tuple[str, Callable[[Report], list[str]]]] = {
    "mx_lookup_failed": (
        "the domain's MX lookup failed (SERVFAIL, timeout, refused)",
        _mx_lookup_failed,
    ),
    "every_mx_authenticated": (
        "the delivery verdict shows every MX host authenticated by DANE "
        "or by an MTA-STS policy in enforce mode",
        _every_mx_authenticated,
    ),
}


# ------------------------------------------------------------------ evaluation


def _holds(cond: Condition, report: Report) -> list[str] | None:
    """Why ``cond`` holds (non-empty evidence), or None when it does not."""
    if isinstance(cond, AnyCode):
        hits = sorted({f.code for f in report.findings if f.code in cond.codes})
        return hits or None
    if isinstance(cond, AnySeverity):
        hits = sorted(
            {
                f.code
                for f in report.findings
                if f.severity == cond.severity and f.code not in cond.exempt
            }
        )
        return hits or None
    if isinstance(cond, NoSeverity):
        worse = [f for f in report.findings if f.severity.at_least(cond.severity)]
        return None if worse else [cond.describe().replace("`", "")]
    return FACTS[cond.name][1](report) or None


def _apply(rule: GradeRule, report: Report) -> GradeReason | None:
    because: list[str] = []
    for cond in rule.when:
        evidence = _holds(cond, report)
        if evidence is None:
            return None
        because.extend(evidence)
    return GradeReason(rule=rule.id, grade=rule.grade, summary=rule.summary, because=because)


def gradable(report: Report) -> bool:
    """False for a null-MX domain and for a check that did not finish."""
    return not report.null_mx and not report.internal_errors


def grade_report(report: Report, rules: Sequence[GradeRule] = RULES) -> Grade | None:
    """The report's grade under ``rules``, or None when it cannot be graded.

    Args:
        report: a finished report (its ``grade`` field is ignored).
        rules: the published rules (tests pass variations).

    Returns:
        The letter with every cap that applied (worst first) and the raising
        rule if it applied; None for a null-MX domain or internal errors.
    """
    if not gradable(report):
        return None
    caps = [r for r in (_apply(rule, report) for rule in rules if rule.effect == "cap") if r]
    caps.sort(key=lambda r: GRADES.index(r.grade))
    letter = caps[0].grade if caps else START
    raised: list[GradeReason] = []
    if letter == START:
        for rule in rules:
            if rule.effect == "raise" and (reason := _apply(rule, report)) is not None:
                raised.append(reason)
                letter = rule.grade
                break
    return Grade(method=GRADE_METHOD, letter=letter, capped_by=caps, raised_by=raised)


# --------------------------------------------------------------------- the doc


def rules_markdown(rules: Sequence[GradeRule] = RULES) -> str:
    """The rules table of docs/grading.md (the doc embeds exactly this text)."""
    lines = [
        "| rule | effect | grade | when | why |",
        "|---|---|---|---|---|",
    ]
    for rule in rules:
        effect = "at most" if rule.effect == "cap" else "raises A to"
        when = " and ".join(c.describe() for c in rule.when)
        lines.append(f"| `{rule.id}` | {effect} | **{rule.grade}** | {when} | {rule.summary} |")
    lines.append("")
    lines.append("Not-yet-in-force warnings (never below A, but never A+):")
    lines.append("")
    for code in sorted(NOT_YET_IN_FORCE):
        lines.append(f"- `{code}`: {CODES[code].summary}")
    return "\n".join(lines) + "\n"
