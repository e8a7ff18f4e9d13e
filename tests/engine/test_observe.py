"""Connection economy: never more than --max-conns connections to one address at once."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from mxtls.config import CheckConfig, Limits, Timeouts
from mxtls.engine.observe import observe_host
from mxtls.models.observations import MxHost
from mxtls.net.politeness import ConnectionLimiter

HOLD_S = 0.2  # each connection stays open this long, so overlaps are visible


class CountingServer:
    """Accepts, records concurrency, answers 421 after a pause (a busy MTA)."""

    def __init__(self) -> None:
        self.open = 0
        self.peak = 0
        self.total = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        self.total += 1
        self.peak = max(self.peak, self.open)
        try:
            await asyncio.sleep(HOLD_S)
            writer.write(b"421 4.7.0 busy, try later\r\n")
            await writer.drain()
        finally:
            self.open -= 1
            writer.close()


async def _observe(max_conns: int) -> CountingServer:
    counter = CountingServer()
    server = await asyncio.start_server(counter.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        config = CheckConfig(
            ports=(25, 465, 587, 2525),
            port_map=((25, port), (465, port), (587, port), (2525, port)),
            timeouts=Timeouts.uniform(2.0),
            limits=replace(Limits(), per_address_connections=max_conns),
        )
        # Every reply is a 421: a short pause keeps the test quick (the pause
        # itself is tested in tests/net/test_politeness.py).
        limiter = ConnectionLimiter(total=64, per_address=max_conns, backoff=0.01)
        host = MxHost(name="mx.test", preference=10, addresses=["127.0.0.1"])
        observed = await observe_host(host, config, limiter)
        assert len(observed) == 4
    finally:
        server.close()
        await server.wait_closed()
    return counter


async def test_per_address_limit_is_respected() -> None:
    counter = await _observe(max_conns=2)
    assert counter.total == 5  # four ports and one SNI-less handshake attempt
    assert counter.peak == 2


async def test_limit_of_one_serialises_everything() -> None:
    counter = await _observe(max_conns=1)
    assert counter.peak == 1
