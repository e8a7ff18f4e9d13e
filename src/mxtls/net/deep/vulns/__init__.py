"""Known-flaw probes of the deep TLS scan: Heartbleed, CCS injection, ROBOT, STARTTLS injection.

Each probe speaks TLS at the record level over a channel from
:func:`mxtls.net.deep.channel.open_channel` (STARTTLS or implicit TLS), records
what the server did and never judges: ``mxtls.checks.vulns`` turns the
observations into findings.  Connections per endpoint, for a sound server:
Heartbleed 1, CCS injection 1, ROBOT 5 (10 to confirm an oracle), STARTTLS
injection 1 (STARTTLS ports only).  The probes run concurrently under the run's
per-address connection cap; once the server throttles the checker, the probes
that have not connected yet stop and say so.
"""

from __future__ import annotations

import asyncio
import time

from mxtls.config import CheckConfig
from mxtls.models.vulns import StarttlsInjectionObservation, VulnObservation, VulnProbe
from mxtls.net.deep.vulns._common import ProbeContext
from mxtls.net.deep.vulns.ccs import probe_ccs_injection
from mxtls.net.deep.vulns.heartbleed import probe_heartbleed
from mxtls.net.deep.vulns.injection import probe_starttls_injection
from mxtls.net.deep.vulns.robot import probe_robot
from mxtls.net.politeness import Gate

__all__ = [
    "ProbeContext",
    "probe_ccs_injection",
    "probe_heartbleed",
    "probe_robot",
    "probe_starttls_injection",
    "probe_vulnerabilities",
]


async def probe_vulnerabilities(
    host: str, ip: str, port: int, config: CheckConfig, *, gate: Gate | None = None
) -> VulnObservation:
    """Run every vulnerability probe against one endpoint.

    Args:
        host: the MX host name (sent as SNI; the target's name).
        ip: the address to connect to (a literal; no resolution happens here).
        port: the logical port (25, 465, 587); ``config.port_map`` may redirect it.
        config: timeouts, limits, EHLO name.
        gate: held for each connection (the runtime's slots for ``ip``);
            default a semaphore of ``config.limits.per_address_connections``.

    Returns:
        The observation of all probes.  Peer behaviour never raises; each probe
        is bounded by ``config.timeouts.endpoint_total``.
    """
    started = time.monotonic()
    ctx = ProbeContext(
        host=host,
        ip=ip,
        port=port,
        config=config,
        gate=gate or asyncio.Semaphore(max(1, config.limits.per_address_connections)),
    )
    async with asyncio.TaskGroup() as group:
        heartbleed = group.create_task(probe_heartbleed(ctx))
        ccs = group.create_task(probe_ccs_injection(ctx))
        robot = group.create_task(probe_robot(ctx))
        injection: asyncio.Task[StarttlsInjectionObservation] | None = None
        if ctx.starttls:
            injection = group.create_task(probe_starttls_injection(ctx))
    injection_obs = injection.result() if injection is not None else None
    probes: list[VulnProbe] = [heartbleed.result(), ccs.result(), robot.result()]
    if injection_obs is not None:
        probes.append(injection_obs)
    return VulnObservation(
        host=host,
        ip=ip,
        port=port,
        tls_mode="starttls" if ctx.starttls else "implicit",
        heartbleed=heartbleed.result(),
        ccs_injection=ccs.result(),
        robot=robot.result(),
        starttls_injection=injection_obs,
        throttled=ctx.throttled is not None,
        connections=sum(p.connections for p in probes),
        elapsed_ms=round((time.monotonic() - started) * 1000, 3),
    )
