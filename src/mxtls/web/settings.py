"""The web service's settings: bounds, rates and trust, fixed when ``mxtls serve`` starts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from mxtls.errors import ConfigError

MAX_API_KEYS = 10_000
MIN_API_KEY_CHARS = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSettings:
    """How ``mxtls serve`` bounds what strangers can make it do.

    Attributes:
        allow_private: connect to loopback, private and other non-public
            addresses (the lab, an intranet); off on the Internet.
        rate_per_minute, burst: the token bucket of each client address for
            checks (a check, a server test, a live TLSA lookup).
        key_rate_per_minute, key_burst: the bucket of each API key instead.
        requests_per_minute: every request of a client address (pages too).
        trusted_proxies: how many reverse proxies in front append to
            ``X-Forwarded-For`` (0: the header is ignored, the peer address counts).
        max_queue: checks waiting at most; more are refused (503, Retry-After).
        max_running: checks running at once (the global cap).
        cooldown_s: a finished check of the same target is reused this long.
        check_timeout_s: bound on one check, queue time excluded.
        max_body_bytes: a JSON or form request body at most.
        max_tlsrpt_bytes: a ``POST /tlsrpt`` body at most (gzip as received).
        max_streams: progress streams (server-sent events) open at once.
        api_key_digests: SHA-256 of each API key (``--api-key-file``).
        refresh_s: the waiting page reloads itself this often without script.
        grace_s: on shutdown, running checks get this long to finish.
        also_public: networks (CIDR) reachable even without ``allow_private``
            (:class:`mxtls.net.guard.AddressPolicy`).
    """

    allow_private: bool = False
    rate_per_minute: float = 6.0
    burst: int = 5
    key_rate_per_minute: float = 120.0
    key_burst: int = 30
    requests_per_minute: float = 300.0
    trusted_proxies: int = 0
    max_queue: int = 64
    max_running: int = 4
    cooldown_s: float = 300.0
    check_timeout_s: float = 180.0
    max_body_bytes: int = 16 * 1024
    max_tlsrpt_bytes: int = 2 * 1024 * 1024
    max_streams: int = 256
    api_key_digests: frozenset[str] = field(default_factory=frozenset)
    refresh_s: int = 3
    grace_s: float = 10.0
    also_public: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("rate_per_minute", "key_rate_per_minute", "requests_per_minute"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be positive")
        for name in ("burst", "key_burst", "max_queue", "max_running", "max_streams"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        if self.trusted_proxies < 0:
            raise ConfigError("trusted_proxies must not be negative")


def key_digest(key: str) -> str:
    """The SHA-256 hex digest an API key is known by (keys themselves are never kept)."""
    return hashlib.sha256(key.encode()).hexdigest()


def read_api_keys(path: Path) -> frozenset[str]:
    """The digests of the keys in ``path``: one key per line, ``#`` comments.

    Raises:
        ConfigError: unreadable, a key shorter than 16 characters, or too many.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--api-key-file {path}: {exc}") from None
    digests: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        key = line.split("#", 1)[0].strip()
        if not key:
            continue
        if len(key) < MIN_API_KEY_CHARS:
            raise ConfigError(
                f"--api-key-file {path}:{number}: a key needs at least {MIN_API_KEY_CHARS} "
                "characters"
            )
        digests.add(key_digest(key))
        if len(digests) > MAX_API_KEYS:
            raise ConfigError(f"--api-key-file {path}: more than {MAX_API_KEYS} keys")
    return frozenset(digests)
