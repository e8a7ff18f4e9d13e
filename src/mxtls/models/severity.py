"""Severity: how bad a finding is, in a module of its own.

Kept apart from :mod:`mxtls.models.findings` (a pydantic model) so that what
only needs the names of the severities -- the command line's ``--fail-on``
choices, above all -- loads no pydantic: ``mxtls --help`` stays instant.
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """How bad a finding is; ordered error > warning > info."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Numeric rank for comparisons: info=0, warning=1, error=2."""
        return _RANK[self]

    def at_least(self, other: Severity) -> bool:
        """True when this severity is ``other`` or worse."""
        return self.rank >= other.rank


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}
