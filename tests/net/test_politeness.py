"""Connection slots: per address, in total, a pause after pushback, a bounded table."""

from __future__ import annotations

import asyncio
import time

import pytest

from mxtls.net.politeness import SWEEP_MIN_ENTRIES, ConnectionLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Tally:
    """Connections open per address, as the limiter's users see them."""

    def __init__(self) -> None:
        self.open: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.total = 0
        self.total_peak = 0

    async def hold(self, limiter: ConnectionLimiter, ip: str, seconds: float = 0.01) -> None:
        async with limiter.connection(ip):
            self.open[ip] = self.open.get(ip, 0) + 1
            self.total += 1
            self.peak[ip] = max(self.peak.get(ip, 0), self.open[ip])
            self.total_peak = max(self.total_peak, self.total)
            await asyncio.sleep(seconds)
            self.open[ip] -= 1
            self.total -= 1


async def test_per_address_cap_holds_for_many_users() -> None:
    limiter = ConnectionLimiter(total=64, per_address=3)
    tally = Tally()
    ips = ["192.0.2.1", "192.0.2.2"]
    await asyncio.gather(*(tally.hold(limiter, ips[i % 2]) for i in range(40)))
    assert tally.peak == {ip: 3 for ip in ips}
    assert limiter.tracked == 0  # nothing in use, nothing remembered


async def test_total_cap_holds_across_addresses() -> None:
    limiter = ConnectionLimiter(total=5, per_address=4)
    tally = Tally()
    await asyncio.gather(*(tally.hold(limiter, f"192.0.2.{i % 10}") for i in range(50)))
    assert tally.total_peak == 5


async def test_pushback_makes_later_connections_wait_and_halves_the_slots() -> None:
    limiter = ConnectionLimiter(total=64, per_address=4, backoff=0.2)
    ip = "192.0.2.7"
    async with limiter.connection(ip):
        limiter.pushback(ip)
        limiter.pushback(ip)  # the same burst: counted once
    assert 0.1 < limiter.paused_for(ip) <= 0.2
    tally = Tally()
    started = time.monotonic()
    await asyncio.gather(*(tally.hold(limiter, ip, 0.02) for _ in range(4)))
    assert time.monotonic() - started >= 0.15  # the first waited out the pause
    assert tally.peak[ip] == 2  # 4 slots halved
    assert limiter.paused_for("192.0.2.8") == 0.0


async def test_pauses_double_with_each_pushback_up_to_the_maximum() -> None:
    clock = FakeClock()
    limiter = ConnectionLimiter(
        total=8, per_address=4, backoff=2.0, backoff_max=5.0, monotonic=clock
    )
    ip = "192.0.2.9"
    pauses = []
    for _ in range(4):
        limiter.pushback(ip)
        pauses.append(limiter.paused_for(ip))
        clock.now += pauses[-1]  # the pause ends; the next connection is throttled again
    assert pauses == [2.0, 4.0, 5.0, 5.0]


async def test_the_table_forgets_idle_addresses() -> None:
    clock = FakeClock()
    limiter = ConnectionLimiter(total=8, per_address=2, backoff=1.0, memory=10.0, monotonic=clock)
    # An address in use is tracked only while in use.
    for i in range(10 * SWEEP_MIN_ENTRIES):
        async with limiter.connection(f"10.0.{i // 256}.{i % 256}"):
            assert limiter.tracked == 1
    assert limiter.tracked == 0
    # Pushback is remembered for its pause plus the memory, then swept.
    for i in range(SWEEP_MIN_ENTRIES):
        limiter.pushback(f"192.0.2.{i}")
    assert limiter.tracked == SWEEP_MIN_ENTRIES
    clock.now += 11.5
    async with limiter.connection("198.51.100.1"):
        assert limiter.tracked == 1
    assert limiter.tracked == 0


async def test_a_cancelled_waiter_leaks_no_slot() -> None:
    limiter = ConnectionLimiter(total=8, per_address=1)
    ip = "192.0.2.3"
    release = asyncio.Event()

    async def holder() -> None:
        async with limiter.connection(ip):
            await release.wait()

    first = asyncio.create_task(holder())
    await asyncio.sleep(0.01)
    waiter = asyncio.create_task(holder())
    await asyncio.sleep(0.01)
    waiter.cancel()
    release.set()
    await first
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert limiter.open_to(ip) == 0 and limiter.tracked == 0
    async with asyncio.timeout(1):
        async with limiter.connection(ip):
            assert limiter.open_to(ip) == 1


def test_one_limiter_serves_one_loop_after_another() -> None:
    limiter = ConnectionLimiter(total=2, per_address=1)

    async def twice() -> None:
        tally = Tally()
        await asyncio.gather(*(tally.hold(limiter, "192.0.2.1") for _ in range(3)))

    asyncio.run(twice())
    asyncio.run(twice())
    assert limiter.tracked == 0


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ConnectionLimiter(total=0, per_address=1)


async def test_a_network_prefix_shares_one_set_of_slots() -> None:
    # A provider's MX hosts in one /24 get the per-address limit once.
    limiter = ConnectionLimiter(total=64, per_address=2, prefix_v4=24)
    open_now = 0
    peak = 0

    async def hold(ip: str) -> None:
        nonlocal open_now, peak
        async with limiter.connection(ip):
            open_now += 1
            peak = max(peak, open_now)
            await asyncio.sleep(0.01)
            open_now -= 1

    await asyncio.gather(*(hold(f"198.51.100.{i}") for i in range(12)))
    assert peak == 2
    assert limiter.key("198.51.100.9") == "198.51.100.0/24"
    assert limiter.key("2001:db8::1") == "2001:db8::1"  # IPv6 prefix left at /128


async def test_the_gap_spaces_connection_starts_to_one_address() -> None:
    limiter = ConnectionLimiter(total=64, per_address=4, gap=0.05)
    starts: list[float] = []

    async def one() -> None:
        async with limiter.connection("192.0.2.5"):
            starts.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(4)))
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert all(g >= 0.045 for g in gaps), gaps
    assert limiter.tracked in (0, 1)  # kept only until the last gap has passed


async def test_the_rate_caps_new_connections_across_addresses() -> None:
    limiter = ConnectionLimiter(total=64, per_address=4, rate=50.0)
    started = time.monotonic()

    async def one(i: int) -> None:
        async with limiter.connection(f"192.0.2.{i}"):
            pass

    await asyncio.gather(*(one(i) for i in range(11)))
    assert time.monotonic() - started >= 10 / 50.0 - 0.01
    assert limiter.started == 11
