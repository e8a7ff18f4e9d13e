"""Work done once: an endpoint probed for one check serves every check that names it.

Hosted mail puts thousands of domains behind a handful of MX hosts; a bulk
scan that probed ``mx1.provider.example`` once per domain would open
thousands of identical sessions to it (and be throttled for it).  What a
probe sees depends on the MX host name (SNI, the names the certificate is
judged against), the address, the port and the settings that shape a probe
(EHLO name, timeouts, size limits, port map), never on the domain that named
the host.  So a runtime that allows reuse (``Limits.endpoint_reuse_s`` > 0,
as ``mxtls scan`` sets it) keeps each endpoint observation for that long,
keyed by exactly those, and every check that names the host gets it; each
domain's report is still complete and judged on its own.

* Checks that ask at the same time share one probe (in-flight sharing).
* An observation that records an internal error, or a probe that never ran
  (its check's time ran out), is shared with the checks waiting for it but
  not kept.  One that records throttling is kept for
  :data:`THROTTLED_KEEP_S` only: the domains that name the host meanwhile
  get it (their reports say what was not tested) instead of queueing
  behind the host's pause and holding the scan's slots; after that, the
  next domain probes the host again, after the limiter's pause.
* At most ``Limits.endpoint_cache_entries`` observations are kept (least
  recently used go first), so memory is bounded by that, not by the scan.

The deep scan is not shared (it is per check, and rare in bulk scans), nor is
a probe that authenticates with the user's credentials.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable

from mxtls.config import CheckConfig
from mxtls.models.observations import EndpointObservation
from mxtls.net.cache import Monotonic, TtlCache

ProbeKey = tuple[str, str, int, bool, Hashable]
THROTTLED_KEEP_S = 60.0  # a throttled result serves others this long; then the host is tried again


def probe_settings(config: CheckConfig) -> Hashable:
    """What in a configuration changes what a probe of one endpoint sees."""
    limits = config.limits
    return (
        config.ehlo_name,
        config.port_map,
        config.timeouts,
        limits.max_line_bytes,
        limits.max_reply_lines,
        limits.max_transcript_lines,
        config.check_nosni,
        config.implicit_ports,
        config.auth_ports,
        config.auth_check_plaintext,
        config.port_protocols,
    )


class EndpointReuse:
    """Endpoint observations shared by the checks of one runtime.

    Args:
        ttl: seconds an observation may serve other checks.
        entries: the most observations kept at once.
        monotonic: the clock the TTL is measured on.

    Attributes:
        probes: observations made (a probe ran).
        reused: observations served from the cache or from a probe in flight.
    """

    def __init__(self, *, ttl: float, entries: int, monotonic: Monotonic = time.monotonic) -> None:
        self.ttl = ttl
        self._cache: TtlCache[ProbeKey, EndpointObservation] = TtlCache(
            entries, monotonic=monotonic
        )
        self.probes = 0
        self.reused = 0

    def __len__(self) -> int:
        """Observations kept now."""
        return len(self._cache)

    async def observe(
        self,
        host: str,
        ip: str,
        port: int,
        config: CheckConfig,
        *,
        sni: bool,
        probe: Callable[[], Awaitable[EndpointObservation]],
    ) -> EndpointObservation:
        """The observation of ``host`` at ``ip``:``port``: kept, in flight, or probed now.

        A check with credentials (``config.auth``) always probes: what AUTH
        answers is about those credentials.
        """
        if config.auth is not None:
            return await probe()
        key: ProbeKey = (host.lower(), ip, port, sni, probe_settings(config))
        ran = False

        async def compute() -> tuple[EndpointObservation, float]:
            nonlocal ran
            ran = True
            self.probes += 1
            obs = await probe()
            if obs.internal_error is not None or _never_probed(obs):
                return obs, 0.0
            if obs.throttled:
                return obs, min(self.ttl, THROTTLED_KEEP_S)
            return obs, self.ttl

        obs = await self._cache.get(key, compute)
        if not ran:
            self.reused += 1
        return obs


def _never_probed(obs: EndpointObservation) -> bool:
    """True for the record of a probe that never ran (its check's time ran out first)."""
    failure = obs.connect_failure
    return failure is not None and failure.detail.startswith("not probed")
