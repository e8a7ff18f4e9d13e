"""Is a call's time linear in its input?  CPU time at sizes 1x, 4x and 16x.

A hostile peer picks the size of what it sends, so every parser it reaches
must cost time proportional to that size: a quadratic one turns a 400 KB
banner into a 39 s stall of the event loop (issue 8).

The measure is the CPU time of the calling thread (``time.thread_time``), so
other processes on a loaded machine barely move it; each size is timed
several times and the fastest kept (noise only ever adds time), with the
garbage collector paused.  Linear code grows 16x from 1x to 16x, quadratic
code 256x; the bound sits at 16 x ``SLACK`` so that cache effects and timer
granularity never fail a linear parser, while a quadratic one fails by far.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
S = TypeVar("S", str, bytes)

SIZES = (1, 4, 16)
SLACK = 4.0  # allowed excess over linear growth (quadratic code exceeds 16x)
ROUNDS = 3  # timings per size; the fastest counts
MIN_SAMPLE_S = 0.005  # repeat a call until this much CPU time has passed, then average


def cpu_per_call(func: Callable[[T], object], arg: T) -> float:
    """CPU seconds of one ``func(arg)`` (averaged over enough calls to be measurable)."""
    calls = 0
    start = time.thread_time()
    while True:
        func(arg)
        calls += 1
        spent = time.thread_time() - start
        if spent >= MIN_SAMPLE_S:
            return spent / calls


def growth(func: Callable[[T], object], make: Callable[[int], T]) -> dict[int, float]:
    """``{scale: best CPU seconds of func(make(scale))}`` for each scale of :data:`SIZES`."""
    inputs = {scale: make(scale) for scale in SIZES}
    best = dict.fromkeys(SIZES, float("inf"))
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(ROUNDS):
            for scale, arg in inputs.items():
                best[scale] = min(best[scale], cpu_per_call(func, arg))
    finally:
        if enabled:
            gc.enable()
    return best


def assert_linear(
    func: Callable[[T], object], make: Callable[[int], T], what: str, *, slack: float = SLACK
) -> None:
    """Fail when ``func`` grows faster than linearly (with ``slack``) in ``make(scale)``."""
    times = growth(func, make)
    base = times[SIZES[0]]
    for scale in SIZES[1:]:
        bound = scale * slack * base
        assert times[scale] <= bound, (
            f"{what}: {scale}x the input cost {times[scale] / base:.0f}x the time "
            f"({times[scale] * 1000:.2f} ms vs {base * 1000:.2f} ms; linear allows "
            f"{scale * slack:.0f}x)"
        )


def repeated(unit: S, base: int) -> Callable[[int], S]:
    """``scale -> unit`` repeated to about ``base * scale`` characters or bytes."""

    def make(scale: int) -> S:
        return unit * (base * scale // len(unit) + 1)

    return make
