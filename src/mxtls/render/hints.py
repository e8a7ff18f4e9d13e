"""What a finding code means and what to do about it, for the renderers.

One small function, :func:`finding_help`, is the only place the renderers
(HTML, Markdown, SARIF, JUnit, CSV) look a code up, so the source of the
text can change without touching them.  ``summary`` is the code table's
one-line definition (docs/findings.md); ``hint`` is the one-line "what to
do" of the explanation catalog when it has one for the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from mxtls.checks.codes import CODES
from mxtls.checks.explain import hint


@dataclass(frozen=True, slots=True)
class FindingHelp:
    """The help text of one finding code."""

    code: str
    summary: str
    hint: str | None = None
    section: str = ""

    @property
    def text(self) -> str:
        """Summary and hint as one paragraph (SARIF ``help.text``)."""
        return f"{self.summary}. {self.hint}" if self.hint else f"{self.summary}."


@cache
def finding_help(code: str) -> FindingHelp:
    """The help of ``code``; an unknown code (e.g. from a newer report) gets a neutral text."""
    info = CODES.get(code)
    if info is None:
        return FindingHelp(code=code, summary=f"finding {code}")
    return FindingHelp(code=code, summary=info.summary, hint=hint(code), section=info.section)
