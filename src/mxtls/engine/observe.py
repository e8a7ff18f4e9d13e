"""Observe: probe every endpoint of every MX host concurrently, within bounds.

Every connection takes a slot from the runtime's
:class:`~mxtls.net.politeness.ConnectionLimiter` (a cap for the runtime and
one per address, across every check; mail servers throttle scanners,
sslyze's defaults are 5 per server); an endpoint that throttled us is
reported to it, so later connections to that address wait.  A slow or dead
endpoint costs only its own timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from mxtls.config import CheckConfig
from mxtls.models.findings import endpoint_target
from mxtls.models.observations import EndpointObservation, MxHost
from mxtls.net.politeness import ConnectionLimiter
from mxtls.net.smtp_session import probe_endpoint

__all__ = ["ConnectionLimiter", "ProgressCallback", "ProgressEvent", "observe_host"]

ProgressKind = Literal["host", "endpoint_start", "endpoint_done"]


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Something a front end may show while the run goes on."""

    kind: ProgressKind
    target: str
    detail: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


async def observe_host(
    host: MxHost,
    config: CheckConfig,
    limiter: ConnectionLimiter,
    progress: ProgressCallback | None = None,
) -> list[EndpointObservation]:
    """Probe all (address, port) pairs of ``host`` at once; results in address/port order.

    Besides the main dialogue, one extra handshake without SNI is made per
    address (on the first configured port) so ``cert.sni_differs`` can be judged.
    """

    def emit(kind: ProgressKind, target: str, detail: str = "") -> None:
        if progress is not None:
            progress(ProgressEvent(kind, target, detail))

    async def one(ip: str, port: int, *, sni: bool) -> EndpointObservation:
        target = endpoint_target(host.name, ip, port)
        async with limiter.connection(ip):
            if sni:
                emit("endpoint_start", target)
            obs = await probe_endpoint(host.name, ip, port, config, sni=sni, handshake_only=not sni)
            if obs.throttled:
                limiter.pushback(ip)
        if sni:
            emit("endpoint_done", target, _outcome(obs))
        return obs

    pairs = [(ip, port) for ip in host.addresses for port in config.ports]
    main: dict[tuple[str, int], asyncio.Task[EndpointObservation]] = {}
    nosni: dict[tuple[str, int], asyncio.Task[EndpointObservation]] = {}
    async with asyncio.TaskGroup() as tg:
        for ip, port in pairs:
            main[(ip, port)] = tg.create_task(one(ip, port, sni=True))
        if config.check_nosni and config.ports:
            for ip in host.addresses:
                key = (ip, config.ports[0])
                nosni[key] = tg.create_task(one(ip, config.ports[0], sni=False))
    results: list[EndpointObservation] = []
    for key in pairs:
        obs = main[key].result()
        extra = nosni.get(key)
        if extra is not None and extra.result().handshake is not None:
            obs = obs.model_copy(update={"handshake_nosni": extra.result().handshake})
        results.append(obs)
    return results


def _outcome(obs: EndpointObservation) -> str:
    if obs.handshake is not None:
        return obs.handshake.version
    if obs.stopped_at:
        return f"stopped at {obs.stopped_at} ({obs.stop_reason})"
    return "no TLS"
