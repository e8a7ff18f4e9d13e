"""What a finding code means and what to do about it, for the renderers.

Two small functions are the only places the renderers (terminal, HTML,
Markdown, SARIF, JUnit, CSV, the web page) look help up, so the source of
the text can change without touching them.  :func:`finding_help` is about a
code: ``summary`` is the code table's one-line definition (docs/findings.md);
``hint`` and the full explanation (meaning, why it matters, the fix per
platform, the standards) come from the explanation catalog,
:mod:`mxtls.checks.explain`, when it has the code.  :func:`hint_for` is
about findings: where one hosted provider (Google Workspace, Microsoft 365
…, :mod:`mxtls.checks.providers`) runs every host concerned, the hint
points to the provider's documented setting instead of Postfix advice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from mxtls.checks.codes import CODES
from mxtls.checks.explain import EXPLANATIONS, Explanation
from mxtls.checks.providers import Provider, provider_hint, recognise


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


def host_of(target: str) -> str:
    """The host name of a finding target (``mx.example[192.0.2.1]:25`` -> ``mx.example``)."""
    return target.partition("[")[0]


def provider_of(targets: Iterable[str]) -> Provider | None:
    """The hosted provider that runs the host of every target, or None (none, or several)."""
    providers = {recognise(host_of(t)) for t in targets}
    return providers.pop() if len(providers) == 1 else None


def hint_for(code: str, targets: Iterable[str]) -> str | None:
    """What to do about ``code`` at ``targets`` (one finding's target, or a group's).

    The provider's hint when one hosted provider runs every host concerned
    (it controls their TLS, certificates and DANE; the owner keeps DNS and
    policies, with the provider's values), else the catalog's hint.
    """
    provider = provider_of(targets)
    if provider is not None:
        return provider_hint(code, provider)
    return finding_help(code).hint
