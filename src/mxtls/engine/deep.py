"""The deep scan stage: protocol/cipher enumeration and vulnerability probes.

Runs after the main dialogue, only on endpoints where TLS worked.  Mail
servers throttle scanners, so the ports of one address are scanned one
after another while different addresses proceed in parallel, and every
connection takes a slot of the runtime's limiter for its address (so
``--max-conns`` holds across every check of the runtime).  An endpoint that
throttled the scan is reported to the limiter: later connections to that
address wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from mxtls.config import CheckConfig
from mxtls.engine.progress import ProgressCallback, ProgressEvent
from mxtls.models.deep import DeepScan
from mxtls.models.findings import endpoint_target
from mxtls.models.observations import EndpointObservation
from mxtls.net.deep.scanner import deep_scan_endpoint
from mxtls.net.deep.vulns import probe_vulnerabilities
from mxtls.net.politeness import ConnectionLimiter


async def deep_scan(
    endpoints: Sequence[EndpointObservation],
    config: CheckConfig,
    progress: ProgressCallback | None = None,
    limiter: ConnectionLimiter | None = None,
) -> list[DeepScan]:
    """Deep-scan every endpoint that completed a TLS handshake.

    Args:
        endpoints: the check's endpoint observations.
        config: timeouts, limits, EHLO name, port map.
        progress: called as each endpoint's scan starts and ends.
        limiter: the runtime's connection slots (default: a limiter of this
            scan's own, ``config.limits.per_address_connections`` per address).
    """
    if limiter is None:
        limits = config.limits
        limiter = ConnectionLimiter(
            total=limits.total_connections, per_address=limits.per_address_connections
        )
    by_ip: dict[str, list[EndpointObservation]] = {}
    for ep in endpoints:
        if ep.handshake is not None:
            by_ip.setdefault(ep.ip, []).append(ep)

    async def one_address(ip: str, eps: list[EndpointObservation]) -> list[DeepScan]:
        gate = limiter.gate(ip)
        out: list[DeepScan] = []
        for ep in eps:
            target = endpoint_target(ep.host, ep.ip, ep.port)
            if progress is not None:
                progress(ProgressEvent("endpoint_start", target, "deep scan"))
            tls = await deep_scan_endpoint(ep.host, ep.ip, ep.port, config, gate=gate)
            vulns = None
            if not tls.throttled:
                vulns = await probe_vulnerabilities(ep.host, ep.ip, ep.port, config, gate=gate)
            out.append(DeepScan(host=ep.host, ip=ep.ip, port=ep.port, tls=tls, vulns=vulns))
            if progress is not None:
                progress(ProgressEvent("endpoint_done", target, "deep scan"))
            if tls.throttled or (vulns is not None and vulns.throttled):
                gate.pushback()
                break  # the address pushes back: leave its other ports alone
        return out

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one_address(ip, eps)) for ip, eps in by_ip.items()]
    return [scan for task in tasks for scan in task.result()]
