"""Findings: the public vocabulary of verdicts (see docs/findings.md).

A finding is a stable dotted code, a severity, the target it concerns and a
one-line message.  Codes are an interface: never rename or reuse one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from mxtls.models.severity import Severity

__all__ = ["Finding", "Severity", "endpoint_target"]


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
