"""The grade: one letter for a report, with the published rules that set it.

The rules themselves (and docs/grading.md, generated from them) live in
:mod:`mxtls.checks.grade`; this module only holds what the report carries.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

GradeLetter = Literal["A+", "A", "B", "C", "D", "F"]
GradeMethod = Literal["mxtls-grade/1"]
GRADE_METHOD: GradeMethod = "mxtls-grade/1"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GradeReason(_Model):
    """One rule that applied to the report.

    ``rule`` is the rule's stable identifier (docs/grading.md), ``grade`` the
    cap it sets (or, for a raising rule, the grade it grants), ``summary`` the
    rule as published, and ``because`` what in the report made it apply
    (finding codes, or the fact that held).
    """

    rule: str
    grade: GradeLetter
    summary: str
    because: list[str] = Field(default_factory=list)


class Grade(_Model):
    """The report's grade under the method named by ``method``.

    ``capped_by`` lists every capping rule that applied, worst cap first (the
    letter is the lowest of them, A when none applied); ``raised_by`` the rule
    that raised an A to A+, if any.
    """

    method: GradeMethod = GRADE_METHOD
    letter: GradeLetter
    capped_by: list[GradeReason] = Field(default_factory=list)
    raised_by: list[GradeReason] = Field(default_factory=list)
