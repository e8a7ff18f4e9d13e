"""The loop watchdog itself: it must catch a real blocker, name it, and ignore noise."""

from __future__ import annotations

import asyncio
import gc
import importlib
import sys
import time
from pathlib import Path

import pytest

from .loop_watchdog import BLOCKED_WALL_S, CPU_BOUND_S, WATCHDOG, SlowCallback


def burn_cpu(seconds: float) -> None:
    """The culprit: busy work inside one callback."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def run_in_debug_loop(coro_fn: object) -> list[SlowCallback]:
    async def main() -> None:
        await asyncio.sleep(0)
        coro_fn()  # type: ignore[operator]
        await asyncio.sleep(0)

    with WATCHDOG.watching() as slow:
        asyncio.run(main(), debug=True)
    return slow


def test_a_cpu_hog_fails_and_is_named() -> None:
    slow = run_in_debug_loop(lambda: burn_cpu(2 * CPU_BOUND_S))
    (report,) = [s for s in slow if s.fails]
    assert report.cpu_s >= CPU_BOUND_S
    assert "burn_cpu" in "".join(report.stack), report.describe()
    assert "burn_cpu" in report.describe()


def test_a_short_sleep_is_reported_but_does_not_fail() -> None:
    # Waiting without CPU is what scheduling delays on a loaded machine look like;
    # only a long one (BLOCKED_WALL_S) fails.
    slow = run_in_debug_loop(lambda: time.sleep(0.15))
    assert slow and not any(s.fails for s in slow)
    assert BLOCKED_WALL_S > 1.0


def test_garbage_collection_is_not_counted() -> None:
    garbage = [[i] for i in range(300_000)]  # a heap worth collecting

    def collect() -> None:
        for _ in range(5):
            gc.collect()

    slow = run_in_debug_loop(collect)
    del garbage
    assert not any(s.fails for s in slow), [s.describe() for s in slow]


def test_a_first_import_is_not_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A module first imported inside a callback (as mxtls loads its HTTP client
    # on first use) is a one-off cost of the process, not a blocker.
    name = "mxtls_watchdog_slow_module"
    (tmp_path / f"{name}.py").write_text(
        "import time\nend = time.thread_time() + 0.3\nwhile time.thread_time() < end:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    slow = run_in_debug_loop(lambda: importlib.import_module(name))
    assert name in sys.modules
    assert not any(s.fails for s in slow), [s.describe() for s in slow]
