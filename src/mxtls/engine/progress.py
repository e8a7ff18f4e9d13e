"""Progress events: what a front end may show while a check goes on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

ProgressKind = Literal["host", "endpoint_start", "endpoint_done"]


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """One step of a check: a host resolved, an endpoint's probe started or done."""

    kind: ProgressKind
    target: str
    detail: str = ""


ProgressCallback = Callable[[ProgressEvent], None]
