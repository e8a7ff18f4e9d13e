"""The deep scan stage: protocol/cipher enumeration and vulnerability probes.

Runs after the main dialogue, only on endpoints where TLS worked.  Mail
servers throttle scanners, so the ports of one address are scanned one
after another (each scan keeps within ``--max-conns`` itself) while
different addresses proceed in parallel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from mxtls.config import CheckConfig
from mxtls.engine.observe import ProgressCallback, ProgressEvent
from mxtls.models.deep import DeepScan
from mxtls.models.findings import endpoint_target
from mxtls.models.observations import EndpointObservation
from mxtls.net.deep.scanner import deep_scan_endpoint
from mxtls.net.deep.vulns import probe_vulnerabilities


async def deep_scan(
    endpoints: Sequence[EndpointObservation],
    config: CheckConfig,
    progress: ProgressCallback | None = None,
) -> list[DeepScan]:
    """Deep-scan every endpoint that completed a TLS handshake."""
    by_ip: dict[str, list[EndpointObservation]] = {}
    for ep in endpoints:
        if ep.handshake is not None:
            by_ip.setdefault(ep.ip, []).append(ep)

    async def one_address(eps: list[EndpointObservation]) -> list[DeepScan]:
        out: list[DeepScan] = []
        for ep in eps:
            target = endpoint_target(ep.host, ep.ip, ep.port)
            if progress is not None:
                progress(ProgressEvent("endpoint_start", target, "deep scan"))
            tls = await deep_scan_endpoint(ep.host, ep.ip, ep.port, config)
            vulns = None
            if not tls.throttled:
                vulns = await probe_vulnerabilities(ep.host, ep.ip, ep.port, config)
            out.append(DeepScan(host=ep.host, ip=ep.ip, port=ep.port, tls=tls, vulns=vulns))
            if progress is not None:
                progress(ProgressEvent("endpoint_done", target, "deep scan"))
            if tls.throttled or (vulns is not None and vulns.throttled):
                break  # the address pushes back: leave its other ports alone
        return out

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one_address(eps)) for eps in by_ip.values()]
    return [scan for task in tasks for scan in task.result()]
