"""The runtime: what every check of a process shares, built once.

A check is cheap; what it needs from outside is not: the resolver and its
answers, the trust store, the DNSSEC validator and its zone states, the
connection slots per mail-server address, the clock.  A :class:`Runtime`
holds them, and every ``check_domain(domain, runtime)`` of a process uses the
same one: the CLI builds one for one domain, the monitor one for all its
domains, the web service one for all requests, a bulk worker one for its
shard.  So fifty domains on one provider's MX share its answers and its
politeness budget (``--max-conns`` per address holds across all of them).

What is fixed for the runtime and what a call may vary:

========================  ====================================================
runtime-wide (``config``)  nameservers, DNS timeout and cache size, CA file,
                           DNSSEC mode and trust anchor, connection limits and
                           backoff, timeouts, port map, EHLO name, the clock
per check (overrides)      ``ports``, ``deep``, ``warn_days``, the progress
                           callback (see :func:`mxtls.engine.run.check_domain`)
========================  ====================================================

Building a runtime reads local files (CA bundle, trust anchor) and does no
network I/O; bad configuration raises :class:`~mxtls.errors.ConfigError`
here, before any check.  Many checks may run at once on one event loop with
one runtime; a runtime is not thread-safe (one loop at a time; a web service
or monitor keeps one per loop).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from mxtls.config import CheckConfig
from mxtls.engine.progress import ProgressCallback, ProgressEvent, ProgressKind
from mxtls.engine.reuse import EndpointReuse
from mxtls.errors import ConfigError
from mxtls.net.dns import DnsClient, RunResolver
from mxtls.net.dnssec import DnssecProbe
from mxtls.net.politeness import ConnectionLimiter
from mxtls.net.preload import preload_modules
from mxtls.trust.store import TrustStore, load_trust_store

Clock = Callable[[], datetime]
MAX_PORT = 65_535


class Runtime:
    """Shared resources for many checks (see the module docstring).

    Args:
        config: the runtime-wide settings, and the defaults of every check
            (default: ``CheckConfig()``).
        clock: returns "now" for a check (timezone-aware); read once at the
            start of each check and whenever DNSSEC signatures are checked.
            Default: ``config.now`` when set (a fixed time), else the wall clock.

    Attributes:
        config: as given.
        trust: the X.509 trust store (``config.ca_file`` or Mozilla's roots).
        dns: the resolver client with the answer cache every check shares.
        dnssec: the DNSSEC validator; it reads the same answers.
        limiter: connection slots per address and in total, with backoff.
        reuse: endpoint observations shared by the checks (None unless
            ``config.limits.endpoint_reuse_s`` allows it; see
            :mod:`mxtls.engine.reuse`).

    Raises:
        ConfigError: an unusable setting (CA file, trust anchor, a limit or
            timeout that is not positive, a bad port).
    """

    def __init__(self, config: CheckConfig | None = None, *, clock: Clock | None = None) -> None:
        config = config if config is not None else CheckConfig()
        _validate(config)
        self.config = config
        if clock is None:
            fixed = config.now
            clock = (lambda: fixed) if fixed is not None else _wall_clock
        self.clock: Clock = clock
        if config.auth is not None:  # SCRAM's library, before any session authenticates
            preload_modules("scramp")
        self.trust: TrustStore = load_trust_store(config.ca_file)
        limits = config.limits
        self.dns = DnsClient(
            config.nameservers,
            timeout=config.timeouts.dns,
            cache_entries=limits.dns_cache_entries,
            keep_responses=config.dnssec_validate,  # only the in-process validator reads them
        )
        self.dnssec = DnssecProbe(
            config, client=self.dns, clock=self.now, cache_entries=limits.dns_cache_entries
        )
        self.limiter = ConnectionLimiter(
            total=limits.total_connections,
            per_address=limits.per_address_connections,
            backoff=limits.throttle_backoff,
            backoff_max=limits.throttle_backoff_max,
            prefix_v4=limits.network_prefix_v4,
            prefix_v6=limits.network_prefix_v6,
            gap=limits.connection_gap,
            rate=limits.connection_rate,
        )
        self.reuse: EndpointReuse | None = None
        if limits.endpoint_reuse_s > 0:
            self.reuse = EndpointReuse(
                ttl=limits.endpoint_reuse_s, entries=limits.endpoint_cache_entries
            )

    @classmethod
    def coerce(cls, runtime: Runtime | CheckConfig | None) -> Runtime:
        """``runtime`` itself, or a one-off runtime for a config (or the defaults).

        Raises:
            ConfigError: the config is unusable.
        """
        if isinstance(runtime, Runtime):
            return runtime
        return cls(runtime)

    def now(self) -> datetime:
        """The clock's time (timezone-aware).

        Raises:
            ConfigError: the clock returned a naive datetime.
        """
        value = self.clock()
        if value.tzinfo is None:
            raise ConfigError("the runtime's clock must return timezone-aware datetimes")
        return value

    def resolver(self) -> RunResolver:
        """A fresh per-check view of the shared resolver."""
        return RunResolver(client=self.dns)

    def begin(
        self,
        *,
        ports: Iterable[int] | None = None,
        deep: bool | None = None,
        warn_days: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Check:
        """Start one check: its settings (see :meth:`settings`), clock reading and resolver view.

        Raises:
            ConfigError: an override is unusable, or the clock is naive.
        """
        config = self.settings(ports=ports, deep=deep, warn_days=warn_days)
        deadline = time.monotonic() + config.timeouts.check_total
        return Check(
            runtime=self,
            config=dataclasses.replace(config, deadline=deadline),
            now=self.now(),
            resolver=self.resolver(),
            progress=progress,
            started=time.perf_counter(),
        )

    def settings(
        self,
        *,
        ports: Iterable[int] | None = None,
        deep: bool | None = None,
        warn_days: int | None = None,
    ) -> CheckConfig:
        """The configuration of one check: the runtime's, with these overrides.

        Raises:
            ConfigError: an override is unusable (no port, a port outside
                1..65535, negative ``warn_days``).
        """
        config = self.config
        if ports is not None:
            chosen = tuple(dict.fromkeys(ports))
            _check_ports(chosen)
            config = dataclasses.replace(config, ports=chosen)
        if deep is not None:
            config = dataclasses.replace(config, deep=bool(deep))
        if warn_days is not None:
            if isinstance(warn_days, bool) or not isinstance(warn_days, int) or warn_days < 0:
                raise ConfigError(f"warn_days must be a whole number of days >= 0: {warn_days!r}")
            config = dataclasses.replace(config, warn_days=warn_days)
        return config


@dataclass(frozen=True, slots=True)
class Check:
    """One check's view of a runtime: its settings, its time, its resolver view.

    Attributes:
        runtime: the shared runtime (trust store, DNSSEC validator, limiter).
        config: the check's settings (the runtime's, with the call's overrides).
        now: the clock, read once when the check began.
        resolver: the check's view of the shared resolver.
        progress: the call's progress callback, if any.
        started: ``time.perf_counter()`` when the check began.
    """

    runtime: Runtime
    config: CheckConfig
    now: datetime
    resolver: RunResolver
    progress: ProgressCallback | None
    started: float

    def emit(self, kind: ProgressKind, target: str, detail: str = "") -> None:
        """Tell the progress callback, if there is one."""
        if self.progress is not None:
            self.progress(ProgressEvent(kind, target, detail))


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def _check_ports(ports: tuple[int, ...]) -> None:
    if not ports:
        raise ConfigError("at least one port is needed")
    for port in ports:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port <= MAX_PORT:
            raise ConfigError(f"invalid port {port!r}: ports are 1..{MAX_PORT}")


def _validate(config: CheckConfig) -> None:
    """Reject settings no check could run with, before any I/O."""
    _check_ports(config.ports)
    for logical, local in config.port_map:
        _check_ports((logical, local))
    for _ip, port in config.nameservers:
        _check_ports((port,))
    limits = config.limits
    for name in (
        "per_address_connections",
        "total_connections",
        "dns_cache_entries",
        "endpoint_cache_entries",
    ):
        if getattr(limits, name) < 1:
            raise ConfigError(f"limits.{name} must be at least 1")
    if not (0 <= limits.network_prefix_v4 <= 32 and 0 <= limits.network_prefix_v6 <= 128):
        raise ConfigError("network prefixes are 0..32 (IPv4) and 0..128 (IPv6)")
    if limits.connection_gap < 0 or limits.endpoint_reuse_s < 0 or limits.throttle_retries < 0:
        raise ConfigError("connection gap, endpoint reuse and retries must not be negative")
    if limits.connection_rate is not None and not limits.connection_rate > 0:
        raise ConfigError("the connection rate must be positive")
    if limits.throttle_backoff < 0 or limits.throttle_backoff_max < 0:
        raise ConfigError("throttle backoff must not be negative")
    for step, seconds in dataclasses.asdict(config.timeouts).items():
        if not seconds > 0:
            raise ConfigError(f"timeouts.{step} must be positive")
    if config.warn_days < 0:
        raise ConfigError("warn_days must not be negative")
    if config.now is not None and config.now.tzinfo is None:
        raise ConfigError("now must be timezone-aware")
