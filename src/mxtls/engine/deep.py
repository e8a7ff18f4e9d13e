"""The deep scan stage: protocol/cipher enumeration and vulnerability probes.

Runs after the main dialogue on every endpoint where a TLS channel can be
opened, whether or not the observing handshake worked: the scan speaks TLS
from its own ClientHello codec, so a server that knows only SSLv3 or odd
suites (exactly what the observing handshake cannot talk to) is scanned.
Where it cannot run (no TCP connection, no 220 banner, STARTTLS not
offered or refused, the server throttled us) the endpoint is listed as
skipped with the reason, in the report and the JSON.  Mail
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

import mxtls.checks.deep_tls  # noqa: F401 - judged after the scan (mxtls.checks.judge):
import mxtls.checks.vulns  # noqa: F401 - loaded with the scan, not inside its loop
from mxtls.config import CheckConfig
from mxtls.engine.progress import ProgressCallback, ProgressEvent
from mxtls.models.deep import DeepScan
from mxtls.models.findings import endpoint_target
from mxtls.models.observations import EndpointObservation
from mxtls.models.report import DeepSkip
from mxtls.net.deep.scanner import deep_scan_endpoint
from mxtls.net.deep.vulns import probe_vulnerabilities
from mxtls.net.politeness import ConnectionLimiter


def skip_reason(ep: EndpointObservation) -> str | None:
    """Why the deep scan cannot open a TLS channel to ``ep``, or None when it can try."""
    if ep.connect_failure is not None:
        return f"no TCP connection ({ep.connect_failure.kind})"
    if ep.throttled and ep.handshake is None:
        return "the server throttled the checker"
    if ep.tls_mode == "implicit":
        return None  # TLS starts with the first byte: a connection is enough
    if ep.protocol != "smtp":
        if ep.starttls_offered is not True:
            return f"{'STLS' if ep.protocol == 'pop3' else 'STARTTLS'} not offered"
        up = ep.upgrade_reply
        if up is None or up.status not in ("OK", "+OK"):
            return f"upgrade refused ({up.status if up else ep.stop_reason or 'no answer'})"
        return None
    if ep.banner is None or ep.banner.code != 220:
        code = f" (banner {ep.banner.code})" if ep.banner is not None else ""
        return f"no 220 banner{code}"
    if ep.starttls_offered is False:
        return "STARTTLS not offered"
    reply = ep.starttls_reply
    if reply is not None and reply.code != 220:
        return f"STARTTLS answered {reply.code}"
    if reply is None and ep.handshake is None:
        return f"no answer to STARTTLS ({ep.stop_reason or 'stopped'})"
    return None


def plan_deep(
    endpoints: Sequence[EndpointObservation],
) -> tuple[list[EndpointObservation], list[DeepSkip]]:
    """The endpoints the deep scan will try, and those it must skip (with why)."""
    scan: list[EndpointObservation] = []
    skipped: list[DeepSkip] = []
    for ep in endpoints:
        reason = skip_reason(ep)
        if reason is None:
            scan.append(ep)
        else:
            skipped.append(DeepSkip(host=ep.host, ip=ep.ip, port=ep.port, reason=reason))
    return scan, skipped


async def deep_scan(
    endpoints: Sequence[EndpointObservation],
    config: CheckConfig,
    progress: ProgressCallback | None = None,
    limiter: ConnectionLimiter | None = None,
) -> list[DeepScan]:
    """Deep-scan every endpoint of ``endpoints`` (see :func:`plan_deep` for the choice).

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
