"""One timed mail session for ``mxtls ping``, through the one STARTTLS opener.

The session is the SMTP probe's walk without its bookkeeping: connect, the
greeting, the capability question, the upgrade, the TLS handshake, the
question again inside TLS, and the goodbye, each timed by the dialogue's
:class:`~mxtls.net.starttls.StepClock` and bounded by the run's timeouts.
The handshake is timed but not judged (no chain, no SNI comparison): ping
measures, ``check`` judges.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from mxtls.config import CheckConfig
from mxtls.models.observations import ConnectFailure
from mxtls.models.ping import PingSample
from mxtls.net.starttls import Dialogue, StepClock, Stopped
from mxtls.net.stream import connect
from mxtls.net.tls import sni_for, tls_handshake
from mxtls.protocol.starttls import Dialect

__all__ = ["ping_session"]


async def ping_session(
    seq: int, host: str, ip: str, port: int, dialect: Dialect[Any, Any], config: CheckConfig
) -> PingSample:
    """Run and time one session to ``ip``:``port``.

    Returns:
        The sample; failures are data (``stopped_at``, ``error``,
        ``throttled``).  Never raises except on cancellation.
    """
    clock = StepClock()
    start = time.monotonic()
    facts: dict[str, Any] = {}
    dialogue: Dialogue[Any, Any] | None = None
    try:
        async with asyncio.timeout(config.timeouts.endpoint_total):
            with clock.timed("connect"):
                raw = await connect(
                    ip,
                    config.connect_port(port),
                    config.timeouts.connect,
                    config.address_policy,
                )
            if isinstance(raw, ConnectFailure):
                facts.update(stopped_at="connect", error=f"{raw.kind}: {raw.detail}")
            else:
                dialogue = Dialogue(raw, dialect, config, clock=clock, polite=True)
                await _walk(dialogue, host, port, config, facts)
    except Stopped as stop:
        facts.update(stopped_at=stop.step, error=stop.detail, throttled=stop.throttled)
    except TimeoutError:
        facts.update(stopped_at=clock.step, error="session time limit reached")
    finally:
        if dialogue is not None:
            facts["throttled"] = facts.get("throttled", False) or dialogue.seen.throttled
            dialogue.raw.abort()
    timings = dict(clock.timings)
    if "stopped_at" not in facts:
        timings["total"] = round((time.monotonic() - start) * 1000, 3)
    return PingSample(seq=seq, timings_ms=timings, **facts)


async def _walk(
    d: Dialogue[Any, Any], host: str, port: int, config: CheckConfig, facts: dict[str, Any]
) -> None:
    hello_tls = f"{d.dialect.hello_step}_tls"
    if config.tls_mode(port) == "implicit":
        await _handshake(d, host, config, facts)
        await d.greeting()
    else:
        await d.to_tls_start()
        await _handshake(d, host, config, facts)
    await d.hello(hello_tls)
    with d.clock.timed("quit"):
        await d.goodbye()


async def _handshake(
    d: Dialogue[Any, Any], host: str, config: CheckConfig, facts: dict[str, Any]
) -> None:
    with d.clock.timed("handshake"):
        result = await tls_handshake(
            d.raw, server_name=sni_for(host), timeout=config.timeouts.handshake
        )
    if result.stream is None or result.handshake is None:
        raise Stopped("handshake", "closed", f"TLS handshake: {result.error}")
    facts["tls_version"] = result.handshake.version
    d.upgrade(result.stream)
