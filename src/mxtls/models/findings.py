"""Findings: the public vocabulary of verdicts (see docs/findings.md).

A finding is a stable dotted code, a severity, the target it concerns and a
one-line message.  Codes are an interface: never rename or reuse one.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


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


class Finding(BaseModel):
    """One verdict about one target.

    ``target`` is ``DOMAIN``, ``MXHOST`` or an endpoint ``MXHOST[IP]:PORT``
    (see :func:`endpoint_target`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    severity: Severity
    target: str
    message: str


def endpoint_target(host: str, ip: str, port: int) -> str:
    """Format an endpoint target: ``mx1.example[192.0.2.1]:25``, ``mx[2001:db8::1]:25``."""
    return f"{host}[{ip}]:{port}"
