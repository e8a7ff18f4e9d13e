"""A bounded, TTL-respecting cache of async results, with in-flight sharing.

One runtime serves many checks: a monitor that runs for months, a bulk scan
of millions of domains.  What it remembers (DNS answers, DNSSEC zone states)
must therefore expire with its TTL and never grow past a fixed number of
entries, and callers that ask the same question at the same time must share
one computation instead of each asking the network.

:class:`TtlCache` does the three things:

* a value is kept for the TTL its computation returns (0: not kept, but still
  shared with callers waiting for it at that moment), measured on the
  injected monotonic clock;
* at most ``max_entries`` values are kept; the least recently used goes first;
* a computation runs as its own task, so a cancelled caller does not cancel
  the work other callers wait for; the task is forgotten once done.

dnspython's ``LRUCache`` keeps whole ``Answer`` objects and shares nothing in
flight; here values are whatever the caller stores (a compact answer record)
and concurrent askers are coalesced.  Not thread-safe: one event loop at a time.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Monotonic = Callable[[], float]


class TtlCache(Generic[K, V]):
    """Results of async computations by key, each kept for its own TTL.

    Args:
        max_entries: the most values kept at once (least recently used evicted).
        monotonic: the clock TTLs are measured on (seconds; tests inject one).
    """

    def __init__(self, max_entries: int, *, monotonic: Monotonic = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError("a cache needs room for at least one entry")
        self.max_entries = max_entries
        self._clock = monotonic
        self._values: OrderedDict[K, tuple[V, float]] = OrderedDict()
        self._running: dict[K, asyncio.Task[tuple[V, float]]] = {}

    def __len__(self) -> int:
        """Values kept now (expired ones not yet noticed included)."""
        return len(self._values)

    @property
    def in_flight(self) -> int:
        """Computations running now."""
        return len(self._running)

    def peek(self, key: K) -> V | None:
        """The fresh value for ``key``, or None (never computes)."""
        found = self._values.get(key)
        if found is None:
            return None
        value, expires = found
        if self._clock() >= expires:
            del self._values[key]
            return None
        self._values.move_to_end(key)
        return value

    async def get(self, key: K, compute: Callable[[], Awaitable[tuple[V, float]]]) -> V:
        """The value for ``key``: kept, being computed, or computed now.

        ``compute`` returns ``(value, ttl_seconds)``.  An exception from it
        reaches every caller waiting and is not kept.
        """
        fresh = self.peek(key)
        if fresh is not None:
            return fresh
        value, _ttl = await asyncio.shield(self._start(key, compute))
        return value

    def prefetch(self, key: K, compute: Callable[[], Awaitable[tuple[V, float]]]) -> None:
        """Start computing ``key`` now, unless it is kept or running; wait for nothing.

        A later :meth:`get` shares the computation.  Call from the event loop.
        """
        if self.peek(key) is None:
            self._start(key, compute)

    def _start(
        self, key: K, compute: Callable[[], Awaitable[tuple[V, float]]]
    ) -> asyncio.Task[tuple[V, float]]:
        loop = asyncio.get_running_loop()
        task = self._running.get(key)
        if task is None or task.get_loop() is not loop:
            task = loop.create_task(self._run(key, compute))
            task.add_done_callback(_retrieve)
            self._running[key] = task
        return task

    async def _run(
        self, key: K, compute: Callable[[], Awaitable[tuple[V, float]]]
    ) -> tuple[V, float]:
        try:
            value, ttl = await compute()
            if ttl > 0:
                self._values[key] = (value, self._clock() + ttl)
                self._values.move_to_end(key)
                while len(self._values) > self.max_entries:
                    self._values.popitem(last=False)
            return value, ttl
        finally:
            if self._running.get(key) is asyncio.current_task():
                del self._running[key]

    def clear(self) -> None:
        """Forget every kept value (running computations finish normally)."""
        self._values.clear()


def _retrieve(task: asyncio.Task[object]) -> None:
    """Mark an exception as seen: every caller may have been cancelled meanwhile."""
    if not task.cancelled():
        task.exception()
