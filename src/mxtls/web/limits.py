"""Who is asking, and may they: client addresses, API keys, token buckets.

A token bucket per client (address, or API key when one is given) holds at
most ``burst`` tokens and refills at ``rate`` tokens a minute; a request
that finds no token is refused with 429 and a ``Retry-After`` saying when
the next token comes.  The table of buckets is bounded (least recently seen
clients are forgotten first), so a flood of addresses costs bounded memory.

The client address is the peer's, unless the operator says how many reverse
proxies sit in front (``--trusted-proxies N``): then the N-th address from
the right of ``X-Forwarded-For`` (the one the outermost trusted proxy saw)
counts.  Without that setting the header is ignored: anyone can write it.
"""

from __future__ import annotations

import hmac
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from mxtls.web.settings import WebSettings, key_digest

MAX_CLIENTS = 50_000  # buckets kept per limiter
MAX_FORWARDED_CHARS = 2048


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """One token bucket per client key, bounded in number.

    Args:
        rate_per_minute: refill rate.
        burst: capacity (and the start value).
        clock: monotonic seconds (injected in tests).
    """

    def __init__(
        self,
        rate_per_minute: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.rate = rate_per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when granted, else seconds until one is there."""
        now = self.clock()
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        self._buckets[key] = bucket
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


def client_address(conn: HTTPConnection, trusted_proxies: int) -> str:
    """The address a request came from (see the module docstring)."""
    peer = conn.client.host if conn.client is not None else "unknown"
    if trusted_proxies <= 0:
        return peer
    header = conn.headers.get("x-forwarded-for", "")[:MAX_FORWARDED_CHARS]
    hops = [h.strip() for h in header.split(",") if h.strip()]
    if len(hops) < trusted_proxies:
        return hops[0] if hops else peer
    return hops[-trusted_proxies]


def presented_key(conn: HTTPConnection) -> str | None:
    """The API key of a request: ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``."""
    auth = conn.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return conn.headers.get("x-api-key", "").strip() or None


def known_key(key: str | None, digests: frozenset[str]) -> str | None:
    """The digest of ``key`` when it is one of ``digests`` (compared in constant time)."""
    if key is None or not digests:
        return None
    digest = key_digest(key)
    found = None
    for known in digests:  # no early exit: the time does not say which key matched
        if hmac.compare_digest(known, digest):
            found = known
    return found


class Limiter:
    """The service's limits: checks per client or key, requests per client."""

    def __init__(self, settings: WebSettings, *, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.checks = TokenBuckets(settings.rate_per_minute, settings.burst, clock=clock)
        self.keyed = TokenBuckets(settings.key_rate_per_minute, settings.key_burst, clock=clock)
        burst = max(10, math.ceil(settings.requests_per_minute / 6))
        self.requests = TokenBuckets(settings.requests_per_minute, burst, clock=clock)

    def client(self, conn: HTTPConnection) -> str:
        """The request's client address."""
        return client_address(conn, self.settings.trusted_proxies)

    def key(self, conn: HTTPConnection) -> str | None:
        """The digest of a valid API key presented with the request, if any."""
        return known_key(presented_key(conn), self.settings.api_key_digests)

    def request_wait(self, conn: HTTPConnection) -> float:
        """Seconds to wait before this client may send another request (0: go on)."""
        return self.requests.take(self.client(conn))

    def check_wait(self, conn: HTTPConnection) -> float:
        """Seconds to wait before this client (or key) may start another check (0: go on)."""
        digest = self.key(conn)
        if digest is not None:
            return self.keyed.take(digest)
        return self.checks.take(self.client(conn))
