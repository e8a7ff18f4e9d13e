"""The shared cache: TTLs on an injected clock, a size bound, one computation per question."""

from __future__ import annotations

import asyncio

import pytest

from mxtls.net.cache import TtlCache


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counter:
    """A computation that counts its runs and returns ``(value, ttl)``."""

    def __init__(self, ttl: float = 10.0, delay: float = 0.0) -> None:
        self.runs = 0
        self.ttl = ttl
        self.delay = delay

    async def __call__(self) -> tuple[int, float]:
        self.runs += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.runs, self.ttl


async def test_value_is_kept_for_its_ttl_then_computed_again() -> None:
    clock = FakeClock()
    cache: TtlCache[str, int] = TtlCache(10, monotonic=clock)
    compute = Counter(ttl=30.0)
    assert await cache.get("a", compute) == 1
    clock.now += 29.9
    assert await cache.get("a", compute) == 1
    clock.now += 0.2
    assert await cache.get("a", compute) == 2
    assert compute.runs == 2


async def test_zero_ttl_is_not_kept_but_shared_in_flight() -> None:
    cache: TtlCache[str, int] = TtlCache(10)
    compute = Counter(ttl=0.0, delay=0.05)
    values = await asyncio.gather(*(cache.get("a", compute) for _ in range(5)))
    assert values == [1] * 5 and compute.runs == 1
    assert len(cache) == 0
    assert await cache.get("a", compute) == 2


async def test_size_stays_bounded_least_recently_used_first() -> None:
    cache: TtlCache[int, int] = TtlCache(3)
    for key in range(3):
        await cache.get(key, Counter())
    assert cache.peek(0) is not None  # 0 is now the most recently used
    for key in range(3, 10):
        await cache.get(key, Counter())
        assert len(cache) <= 3
    assert cache.peek(0) is None and cache.peek(9) is not None
    assert cache.in_flight == 0


async def test_an_error_reaches_every_waiter_and_is_not_kept() -> None:
    cache: TtlCache[str, int] = TtlCache(10)
    calls = 0

    async def broken() -> tuple[int, float]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise RuntimeError("boom")

    results = await asyncio.gather(
        *(cache.get("a", broken) for _ in range(3)), return_exceptions=True
    )
    assert calls == 1 and all(isinstance(r, RuntimeError) for r in results)
    assert len(cache) == 0 and cache.in_flight == 0


async def test_a_cancelled_caller_does_not_cancel_the_others() -> None:
    cache: TtlCache[str, int] = TtlCache(10)
    compute = Counter(delay=0.05)
    first = asyncio.create_task(cache.get("a", compute))
    second = asyncio.create_task(cache.get("a", compute))
    await asyncio.sleep(0.01)
    first.cancel()
    assert await second == 1
    with pytest.raises(asyncio.CancelledError):
        await first
    assert compute.runs == 1 and cache.peek("a") == 1


def test_one_cache_serves_one_loop_after_another() -> None:
    cache: TtlCache[str, int] = TtlCache(10)
    compute = Counter()
    assert asyncio.run(cache.get("a", compute)) == 1
    assert asyncio.run(cache.get("a", compute)) == 1
    assert compute.runs == 1


def test_a_cache_needs_room() -> None:
    with pytest.raises(ValueError):
        TtlCache(0)
