"""``mxtls ping``: repeated timed sessions to one mail server, politely.

:func:`ping_host` resolves the host through the runtime's resolver (or takes
an address literal), then runs up to ``count`` sessions one after another,
``interval`` seconds apart, and stops early when the server throttles (a
421, "too many connections", a close before the greeting): a latency tool
must not turn into a load test.  Both bounds are enforced here, whatever the
caller asks: at most :data:`MAX_COUNT` sessions, at least
:data:`MIN_INTERVAL_S` between them.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable

from mxtls.config import PING_MAX_SESSIONS, PING_MIN_INTERVAL_S
from mxtls.engine.runtime import Runtime
from mxtls.errors import ConfigError, InvalidDomain
from mxtls.models.ping import PingReport, PingSample, step_stats
from mxtls.net.ping import ping_session
from mxtls.protocol.starttls import DIALECTS, MailProtocol

__all__ = ["MAX_COUNT", "MIN_INTERVAL_S", "ping_host"]

MAX_COUNT = PING_MAX_SESSIONS
MIN_INTERVAL_S = PING_MIN_INTERVAL_S

SampleCallback = Callable[[PingSample], None]


async def ping_host(
    host: str,
    port: int,
    runtime: Runtime,
    *,
    protocol: MailProtocol = "smtp",
    count: int = 5,
    interval: float = 1.0,
    on_sample: SampleCallback | None = None,
) -> PingReport:
    """Ping ``host``:``port`` ``count`` times.

    Raises:
        ConfigError: ``count`` or ``interval`` out of bounds.
        InvalidDomain: ``host`` has no address (the message says why).
    """
    if not 1 <= count <= MAX_COUNT:
        raise ConfigError(f"--count {count}: give 1 to {MAX_COUNT} sessions")
    if not interval >= MIN_INTERVAL_S:
        raise ConfigError(f"--interval {interval}: at least {MIN_INTERVAL_S}s between sessions")
    ip = await _address(host, runtime)
    config = runtime.config
    dialect = DIALECTS[protocol]
    samples: list[PingSample] = []
    stopped: str | None = None
    for seq in range(1, count + 1):
        if seq > 1:
            await asyncio.sleep(interval)
        sample = await ping_session(seq, host, ip, port, dialect, config)
        samples.append(sample)
        if on_sample is not None:
            on_sample(sample)
        if sample.throttled:
            stopped = f"the server throttled session {seq} ({sample.error or 'slow down'})"
            break
    return PingReport(
        host=host,
        ip=ip,
        port=port,
        protocol=protocol,
        tls_mode="implicit" if config.tls_mode(port) == "implicit" else "starttls",
        count=count,
        interval_s=interval,
        samples=samples,
        stats=step_stats(samples),
        stopped=stopped,
    )


async def _address(host: str, runtime: Runtime) -> str:
    text = host.strip().strip("[]")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    config = runtime.config
    kinds = [k for k, wanted in (("A", config.ipv4), ("AAAA", config.ipv6)) if wanted]
    problems: list[str] = []
    resolver = runtime.resolver()
    for rdtype in kinds:
        answer = await resolver.query(text, rdtype)
        if answer.records:
            return str(answer.records[0])
        problems.append(f"{rdtype} {answer.status}")
    raise InvalidDomain(f"{host}: no address to ping ({', '.join(problems)})")
