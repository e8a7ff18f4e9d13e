"""``mxtls ping``: per-step latency of repeated mail sessions, and its summary.

A :class:`PingSample` is one session's timings (connect, banner, EHLO,
STARTTLS, handshake, EHLO inside TLS, QUIT for SMTP; greeting, CAPABILITY/
CAPA … for IMAP and POP3).  :func:`step_stats` summarises the samples per
step (min, median, 95th percentile, max), like smtpping does per command.
The JSON document is ``schema: "mxtls-ping/1"``.
"""

from __future__ import annotations

import math
from statistics import median
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PING_SCHEMA = "mxtls-ping/1"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PingSample(_Model):
    """One session.

    Attributes:
        seq: 1, 2, … in the order the sessions ran.
        timings_ms: each step's duration, in the order the steps ran.
        stopped_at: the step that failed (None: the session ran to its end).
        error: what went wrong there.
        throttled: the server pushed back (421, "too many connections",
            closed before greeting); the run stops after such a session.
        tls_version: the negotiated protocol, when TLS came up.
    """

    seq: int
    timings_ms: dict[str, float] = Field(default_factory=dict)
    stopped_at: str | None = None
    error: str | None = None
    throttled: bool = False
    tls_version: str | None = None

    @property
    def complete(self) -> bool:
        """The session ran every step."""
        return self.stopped_at is None


class StepStats(_Model):
    """One step's latency over the sessions that reached it (milliseconds)."""

    count: int
    min: float
    median: float
    p95: float
    max: float


class PingReport(_Model):
    """A ping run: where, how often, every sample and the summary per step."""

    schema_: str = Field(default=PING_SCHEMA, alias="schema")
    host: str
    ip: str
    port: int
    protocol: Literal["smtp", "imap", "pop3"]
    tls_mode: Literal["starttls", "implicit"]
    count: int
    interval_s: float
    samples: list[PingSample] = Field(default_factory=list)
    stats: dict[str, StepStats] = Field(default_factory=dict)
    stopped: str | None = None  # why the run ended before ``count`` sessions

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in 0..1) of non-empty ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def step_stats(samples: list[PingSample]) -> dict[str, StepStats]:
    """Per step, in the order steps first appear: min, median, p95, max (ms).

    A step is summarised over the sessions that completed it; the ``total``
    of a session that failed is left out (it would mix short failures in).
    """
    columns: dict[str, list[float]] = {}
    for sample in samples:
        for step, ms in sample.timings_ms.items():
            if step == sample.stopped_at or (step == "total" and not sample.complete):
                continue
            columns.setdefault(step, []).append(ms)
    return {
        step: StepStats(
            count=len(values),
            min=min(values),
            median=round(median(values), 3),
            p95=percentile(values, 0.95),
            max=max(values),
        )
        for step, values in columns.items()
    }
