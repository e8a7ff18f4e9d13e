"""The loop watchdog: a test whose code blocks an event loop for 100 ms fails, naming the culprit.

One hostile banner once froze mxtls's event loop for 39 s (issue 8): in a web
service or a bulk scan, every other check froze with it, and no timeout can
interrupt CPU work.  So in tests every event loop runs in asyncio debug mode
(``asyncio_debug = true`` for pytest-asyncio's loops, ``debug=True`` where a
test or fixture calls ``asyncio.run`` itself, and the session lab's thread),
whose slow-callback detection (``loop.slow_callback_duration``, 100 ms)
reports any callback that ran that long.  The watchdog judges those reports:

* the measure that decides is the **CPU time of the callback's own thread**
  (``time.thread_time``), not the wall time that debug mode reports: on a
  loaded 2-core machine a 10 ms callback can take 150 ms of wall time while
  the scheduler runs someone else, and that must not fail a test.  A callback
  that *uses* 100 ms of CPU does, on any machine;
* a callback that sleeps or waits in a blocking call uses no CPU, so a second
  bar applies to wall time (:data:`BLOCKED_WALL_S`, far above what
  scheduling delays produce);
* two one-off costs are not counted: the garbage collector's pauses (a full
  collection of the test session's heap takes 100 ms and more, in whatever
  callback happens to allocate at that moment) and first imports (mxtls
  loads the HTTP client, a database driver, ... on first use, once per
  process).  Both are timed per thread (``gc.callbacks``, a wrapper around
  ``__import__``) and taken out of the callback's time;
* the culprit is named by a stack sample: a monitor thread looks at every
  loop thread every few milliseconds and, when one callback has run longer
  than the threshold, records where that thread is *now* (inside the
  blocking code, not where the coroutine later suspends).

The reports are collected with the offending handle and the sampled stack,
and the test that was running fails at teardown with them (``tests/conftest.py``).
"""

from __future__ import annotations

import asyncio.events
import builtins
import gc
import importlib
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

SLOW_CALLBACK_S = 0.1  # asyncio debug mode's default slow_callback_duration
CPU_BOUND_S = 0.1  # CPU time of one callback that fails a test
BLOCKED_WALL_S = 2.0  # wall time of one callback (without the CPU) that fails a test
SAMPLE_EVERY_S = 0.01
STACK_FRAMES = 12


class _Excused(threading.local):
    """Time this thread spent in garbage collection and first imports (wall, CPU)."""

    wall = 0.0
    cpu = 0.0
    depth = 0  # nested: only the outermost one is timed
    started: tuple[float, float] = (0.0, 0.0)

    def begin(self) -> None:
        if self.depth == 0:
            self.started = (time.monotonic(), time.thread_time())
        self.depth += 1

    def end(self) -> None:
        self.depth -= 1
        if self.depth == 0:
            wall0, cpu0 = self.started
            self.wall += time.monotonic() - wall0
            self.cpu += time.thread_time() - cpu0


_EXCUSED = _Excused()


def _on_gc(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _EXCUSED.begin()
    elif _EXCUSED.depth:
        _EXCUSED.end()


def _timed(importer: Callable[..., Any]) -> Callable[..., Any]:
    """``importer`` with the first import of a module timed as excused."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        name = args[0] if args else kwargs.get("name")
        if name in sys.modules:  # already loaded: nothing to time
            return importer(*args, **kwargs)
        _EXCUSED.begin()
        try:
            return importer(*args, **kwargs)
        finally:
            _EXCUSED.end()

    return wrapper


@dataclass
class _Running:
    """The callback a loop thread is running now."""

    handle: Any
    wall0: float
    cpu0: float
    excused_wall0: float
    excused_cpu0: float
    stack: list[str] | None = None


@dataclass
class SlowCallback:
    thread: str
    handle: str
    wall_s: float
    cpu_s: float
    stack: list[str]

    @property
    def fails(self) -> bool:
        return self.cpu_s >= CPU_BOUND_S or self.wall_s >= BLOCKED_WALL_S

    def describe(self) -> str:
        where = "".join(self.stack) or "  (no stack sampled)\n"
        return (
            f"event loop blocked for {self.wall_s * 1000:.0f} ms "
            f"({self.cpu_s * 1000:.0f} ms of CPU) in thread {self.thread!r} by\n"
            f"  {self.handle}\nwhere it was running:\n{where}"
        )


@dataclass
class Watchdog:
    running: dict[int, _Running] = field(default_factory=dict)  # thread id -> callback
    finished: dict[int, tuple[_Running, float, float]] = field(default_factory=dict)
    reports: list[SlowCallback] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _installed: bool = False

    def install(self) -> None:
        """Time every callback of every loop; judge the ones debug mode reports."""
        if self._installed:
            return
        self._installed = True
        original = asyncio.events.Handle._run
        watchdog = self

        def _run(handle: asyncio.events.Handle) -> None:
            ident = threading.get_ident()
            state = _Running(
                handle, time.monotonic(), time.thread_time(), _EXCUSED.wall, _EXCUSED.cpu
            )
            watchdog.running[ident] = state
            try:
                original(handle)
            finally:
                watchdog.running.pop(ident, None)
                excused_wall = _EXCUSED.wall - state.excused_wall0
                excused_cpu = _EXCUSED.cpu - state.excused_cpu0
                wall = time.monotonic() - state.wall0 - excused_wall
                cpu = time.thread_time() - state.cpu0 - excused_cpu
                # Debug mode's report follows at once, in this same thread.
                watchdog.finished[ident] = (state, wall, cpu)

        asyncio.events.Handle._run = _run  # type: ignore[assignment]
        gc.callbacks.append(_on_gc)
        builtins.__import__ = _timed(builtins.__import__)
        importlib.import_module = _timed(importlib.import_module)
        logging.getLogger("asyncio").addFilter(self._on_log)
        threading.Thread(target=self._monitor, name="loop-watchdog", daemon=True).start()

    def _on_log(self, record: logging.LogRecord) -> bool:
        """Debug mode's "Executing <handle> took 0.250 seconds": record it, do not print it."""
        if not (isinstance(record.msg, str) and record.msg.startswith("Executing ")):
            return True
        last = self.finished.get(threading.get_ident())
        if last is None:
            return True
        state, wall, cpu = last
        if wall < SLOW_CALLBACK_S:
            return False  # slow only because of garbage collection or a first import
        try:
            name = repr(state.handle)
        except Exception:  # a repr must not break the loop
            name = type(state.handle).__name__
        report = SlowCallback(
            thread=threading.current_thread().name,
            handle=name[:500],
            wall_s=wall,
            cpu_s=cpu,
            stack=state.stack or [],
        )
        with self.lock:
            self.reports.append(report)
        return False

    def _monitor(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            now = time.monotonic()
            frames = None
            for ident, state in list(self.running.items()):
                if state.stack is not None or now - state.wall0 < SLOW_CALLBACK_S:
                    continue
                frames = frames or sys._current_frames()
                frame = frames.get(ident)
                if frame is not None:
                    state.stack = _inside_callback(traceback.format_stack(frame))

    @contextmanager
    def watching(self) -> Iterator[list[SlowCallback]]:
        """Collect the slow callbacks since the last block ended, and those inside this one.

        What happened in between belongs to this test too: its session- or
        module-scoped fixtures were set up there.
        """
        found: list[SlowCallback] = []
        try:
            yield found
        finally:
            with self.lock:
                found.extend(self.reports)
                self.reports.clear()


def _inside_callback(stack: list[str]) -> list[str]:
    """The frames below the callback's entry (the loop machinery above it says nothing)."""
    entries = [
        i for i, line in enumerate(stack) if "asyncio/events.py" in line and "in _run" in line
    ]
    inside = stack[entries[-1] + 1 :] if entries else stack
    return inside[-STACK_FRAMES:]


WATCHDOG = Watchdog()
