"""What a finding code means and what to do about it, for the renderers.

One small function, :func:`finding_help`, is the only place the renderers
(HTML, Markdown, SARIF, JUnit, CSV) look a code up, so the source of the
text can change without touching them.  ``summary`` is the code table's
one-line definition (docs/findings.md); ``hint`` and the full explanation
(meaning, why it matters, the fix per platform, the standards) come from the
explanation catalog, :mod:`mxtls.checks.explain`, when it has the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from mxtls.checks.codes import CODES
from mxtls.checks.explain import EXPLANATIONS, Explanation


@dataclass(frozen=True, slots=True)
class FindingHelp:
    """The help text of one finding code."""

    code: str
    summary: str
    hint: str | None = None
    section: str = ""
    explanation: Explanation | None = None

    @property
    def text(self) -> str:
        """Summary and hint as one paragraph (SARIF ``help.text``)."""
        return f"{self.summary}. {self.hint}" if self.hint else f"{self.summary}."

    def markdown(self) -> str:
        """Everything known about the code as Markdown (SARIF ``help.markdown``)."""
        e = self.explanation
        parts = [f"**{self.code}**: {self.summary}."]
        if e is None:
            return parts[0]
        parts += [f"**What to do:** {e.hint}", e.meaning, f"**Why it matters:** {e.why}"]
        parts.append("\n".join(f"- **{platform}:** {how}" for platform, how in e.fixes))
        if e.rfcs:
            parts.append("Standards: " + ", ".join(e.rfcs) + ".")
        return "\n\n".join(parts)


@cache
def finding_help(code: str) -> FindingHelp:
    """The help of ``code``; an unknown code (e.g. from a newer report) gets a neutral text."""
    info = CODES.get(code)
    if info is None:
        return FindingHelp(code=code, summary=f"finding {code}")
    e = EXPLANATIONS.get(code)
    return FindingHelp(
        code=code,
        summary=info.summary,
        hint=e.hint if e is not None else None,
        section=info.section,
        explanation=e,
    )
