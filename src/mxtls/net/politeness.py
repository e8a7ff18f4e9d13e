"""Politeness towards mail servers: few connections per address, and a pause after pushback.

Mail servers throttle scanners (421 "too many connections", an early close;
testssl.sh #2089, sslyze #385, internet.nl #400), and many domains share one
provider's MX.  A runtime therefore holds one :class:`ConnectionLimiter` for
every check it runs, and every connection to a mail server (the SMTP probes,
the handshake without SNI, each connection of the deep scan and of the flaw
probes) takes a slot from it first:

* at most ``total`` connections at once in the whole runtime;
* at most ``per_address`` connections at once to one IP address, whichever
  domain or check they are for;
* after pushback from an address (:meth:`ConnectionLimiter.pushback`), new
  connections to it wait: ``backoff`` seconds after the first, doubling with
  each further one up to ``backoff_max``, and the address keeps at most half
  its slots (at least one) while the limiter remembers the pushback;
* an address's state is dropped as soon as nothing uses it and no pushback is
  remembered (``memory`` seconds after its pause ended), so the table holds
  the addresses in use, not every address ever seen.

Three more bounds serve bulk scans (all off by default, as a single check
needs them not):

* ``prefix_v4``/``prefix_v6``: an "address" is the network of that length
  around it (:func:`politeness_key`), so a provider whose MX hosts sit in one
  /24 gets the per-address limit once, not once per host;
* ``gap``: at least this many seconds between the starts of two connections
  to one address (network);
* ``rate``: at most this many new connections per second in the whole
  runtime (a token bucket of one: starts are spaced ``1/rate`` apart).

A slot is given back only after the connection's socket is closed (one turn
of the event loop after the caller's close), so the server never sees more
than the limit, even for a connection that ended with a reset.

The pools hand a freed slot straight to the oldest waiter (FIFO), and they
hold no event-loop objects between uses: a runtime can serve one loop after
another.  Not thread-safe: one event loop at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from mxtls.net.cache import Monotonic

BACKOFF_S = 2.0  # first pause after pushback from an address
BACKOFF_MAX_S = 60.0  # the pause doubles with each pushback up to this
MEMORY_S = 300.0  # pushback is remembered this long after its pause ended
SWEEP_MIN_ENTRIES = 64  # the table is swept for idle entries once it passes this


class Gate(Protocol):
    """What a probe holds while it has a connection open: an ``asyncio.Semaphore``
    for a probe of its own, an :class:`AddressGate` under a runtime."""

    async def __aenter__(self) -> object: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> object: ...


class _Pool:
    """A counting semaphore whose limit may shrink, with FIFO hand-over."""

    __slots__ = ("active", "limit", "waiters")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self.waiters: deque[asyncio.Future[None]] = deque()

    @property
    def idle(self) -> bool:
        return self.active == 0 and not self.waiters

    async def acquire(self) -> None:
        if self.active < self.limit and not self.waiters:
            self.active += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot was handed over just now: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self.waiters.remove(waiter)
            raise

    def release(self) -> None:
        if self.active <= self.limit:
            while self.waiters:
                waiter = self.waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # hand the slot over: ``active`` stays
                    return
        self.active -= 1


@dataclass(slots=True)
class _Address:
    pool: _Pool
    strikes: int = 0  # pushbacks remembered
    resume_at: float = 0.0  # no new connection before this (monotonic)
    forget_at: float = 0.0  # the state may be dropped once idle after this
    pausing: int = 0  # callers holding a slot while they wait out the pause
    next_start: float = 0.0  # no connection may start before this (``gap``)


def politeness_key(ip: str, prefix_v4: int = 32, prefix_v6: int = 128) -> str:
    """The unit that politeness counts for ``ip``: the address, or its network.

    ``politeness_key("192.0.2.77", 24)`` is ``"192.0.2.0/24"``; with the full
    prefix (the default) it is the address itself.  A string that is not an
    address is its own key.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    bits = prefix_v4 if address.version == 4 else prefix_v6
    if bits >= address.max_prefixlen:
        return str(address)
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


class ConnectionLimiter:
    """Connection slots for a whole runtime: per address, in total, with backoff.

    Args:
        total: connections open at once across everything.
        per_address: connections open at once to one IP address.
        backoff: the first pause after pushback, seconds.
        backoff_max: the longest pause, seconds.
        memory: how long pushback is remembered after its pause, seconds.
        monotonic: the clock pauses are measured on.
        prefix_v4, prefix_v6: addresses in one network of this length share
            one set of slots (32 and 128: each address its own).
        gap: least seconds between connection starts to one address (network).
        rate: most new connections per second in total (None: no cap).
    """

    def __init__(
        self,
        *,
        total: int,
        per_address: int,
        backoff: float = BACKOFF_S,
        backoff_max: float = BACKOFF_MAX_S,
        memory: float = MEMORY_S,
        monotonic: Monotonic = time.monotonic,
        prefix_v4: int = 32,
        prefix_v6: int = 128,
        gap: float = 0.0,
        rate: float | None = None,
    ) -> None:
        if total < 1 or per_address < 1:
            raise ValueError("connection limits must be at least 1")
        if not (0 <= prefix_v4 <= 32 and 0 <= prefix_v6 <= 128):
            raise ValueError("network prefixes are 0..32 (IPv4) and 0..128 (IPv6)")
        if gap < 0 or (rate is not None and not rate > 0):
            raise ValueError("the gap must not be negative and the rate must be positive")
        self.per_address = per_address
        self._total = _Pool(total)
        self._backoff = backoff
        self._backoff_max = max(backoff, backoff_max)
        self._memory = memory
        self._clock = monotonic
        self._addresses: dict[str, _Address] = {}
        self._sweep_at = SWEEP_MIN_ENTRIES
        self._prefixes = (prefix_v4, prefix_v6)
        self._gap = gap
        self._interval = 1.0 / rate if rate is not None else 0.0
        self._next_any = 0.0  # no connection anywhere may start before this (``rate``)
        self.started = 0  # connections started so far

    def key(self, ip: str) -> str:
        """The address or network whose slots a connection to ``ip`` takes."""
        if self._prefixes == (32, 128):
            return ip
        return politeness_key(ip, *self._prefixes)

    # -- taking and giving back slots -----------------------------------------------

    @contextlib.asynccontextmanager
    async def connection(self, ip: str) -> AsyncIterator[None]:
        """Hold a slot for one connection to ``ip`` for the duration of the block.

        Waits for a free slot for ``ip``, for the end of its pause after
        pushback, then for a slot of the total.  The block should close its
        socket before it ends.
        """
        await self.acquire(ip)
        try:
            yield
        finally:
            await self.release(ip)

    def gate(self, ip: str) -> AddressGate:
        """An ``async with`` gate for connections to ``ip`` (for the deep scan's probes)."""
        return AddressGate(self, ip)

    async def acquire(self, ip: str) -> None:
        """Take a slot for ``ip`` (see :meth:`connection`); pair it with :meth:`release`."""
        key = self.key(ip)
        state = self._state(key)
        await state.pool.acquire()
        try:
            state.pausing += 1
            try:
                # The pause and the gap, re-read after every sleep: the gap
                # counts from the start that really happened, so a waiter
                # woken late (a busy loop) cannot bunch up with the next one.
                while (wait := max(state.resume_at, state.next_start) - self._clock()) > 0:
                    await asyncio.sleep(wait)
                if self._gap:
                    state.next_start = self._clock() + self._gap
            finally:
                state.pausing -= 1
            await self._total.acquire()
        except BaseException:
            state.pool.release()
            self._maybe_forget(key, state)
            raise
        if self._interval:
            now = self._clock()
            start = max(now, self._next_any)
            self._next_any = start + self._interval
            if start > now:
                try:
                    await asyncio.sleep(start - now)
                except BaseException:
                    self._total.release()
                    state.pool.release()
                    self._maybe_forget(key, state)
                    raise
        self.started += 1

    async def release(self, ip: str) -> None:
        """Give back a slot taken with :meth:`acquire`.

        One turn of the event loop first: a socket the caller closed or
        aborted is released by asyncio on the next turn, and the slot must
        not be reused before the server can see it gone.
        """
        try:
            await asyncio.sleep(0)
        finally:
            self._total.release()
            key = self.key(ip)
            state = self._addresses.get(key)
            if state is not None:
                state.pool.release()
                self._maybe_forget(key, state)

    # -- pushback -------------------------------------------------------------------

    def pushback(self, ip: str) -> None:
        """``ip`` throttled us (421, "too many connections", an early close): slow down.

        Reports from connections of one burst (made before the pause began)
        count once; each later one doubles the pause.
        """
        state = self._state(self.key(ip))
        now = self._clock()
        if now >= state.resume_at:
            state.strikes += 1
            pause = min(self._backoff * 2 ** (state.strikes - 1), self._backoff_max)
            state.resume_at = now + pause
            state.forget_at = state.resume_at + self._memory
            state.pool.limit = max(1, state.pool.limit // 2)

    def paused_for(self, ip: str) -> float:
        """Seconds a new connection to ``ip`` would wait for its pause (0: none)."""
        state = self._addresses.get(self.key(ip))
        return max(0.0, state.resume_at - self._clock()) if state is not None else 0.0

    # -- introspection ---------------------------------------------------------------

    def open_to(self, ip: str) -> int:
        """Connections to ``ip`` holding a slot now."""
        state = self._addresses.get(self.key(ip))
        return state.pool.active if state is not None else 0

    @property
    def tracked(self) -> int:
        """Addresses with state now (in use, waited for, or remembered after pushback)."""
        return len(self._addresses)

    # -- the table ------------------------------------------------------------------

    def _state(self, key: str) -> _Address:
        state = self._addresses.get(key)
        if state is None:
            if len(self._addresses) >= self._sweep_at:
                self._sweep()
            state = self._addresses[key] = _Address(_Pool(self.per_address))
        return state

    def _maybe_forget(self, key: str, state: _Address) -> None:
        now = self._clock()
        if state.pool.idle and not state.pausing and now >= max(state.forget_at, state.next_start):
            if self._addresses.get(key) is state:
                del self._addresses[key]

    def _sweep(self) -> None:
        """Drop every idle entry whose pushback is forgotten (amortised: the
        next sweep waits until the table has doubled)."""
        now = self._clock()
        for key, state in list(self._addresses.items()):
            if (
                state.pool.idle
                and not state.pausing
                and now >= max(state.forget_at, state.next_start)
            ):
                del self._addresses[key]
        self._sweep_at = max(SWEEP_MIN_ENTRIES, 2 * len(self._addresses))


class AddressGate:
    """``async with gate:`` holds one connection slot for one address.

    Several tasks may use one gate at once (each holds its own slot), as with
    an ``asyncio.Semaphore``; :meth:`pushback` reports throttling.
    """

    def __init__(self, limiter: ConnectionLimiter, ip: str) -> None:
        self.limiter = limiter
        self.ip = ip

    async def __aenter__(self) -> None:
        await self.limiter.acquire(self.ip)

    async def __aexit__(self, *exc: object) -> None:
        await self.limiter.release(self.ip)

    def pushback(self) -> None:
        """The address throttled us: later connections to it wait."""
        self.limiter.pushback(self.ip)
