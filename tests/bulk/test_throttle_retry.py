"""A server that says 421 once is probed again after the pause; one that keeps saying it is
reported as throttling, with what was not tested."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from mxtls.config import Limits, Timeouts
from mxtls.engine.run import check_domain
from mxtls.engine.runtime import Runtime
from mxtls.lab.scenarios import HostSpec, Scenario
from mxtls.lab.smtp_server import SmtpMode
from mxtls.lab.world import Lab

BUSY = Scenario(
    domain="busyfirst.lab",
    description="421 to the first connection, healthy afterwards",
    expected=frozenset(),
    hosts=(HostSpec(name="mx.busyfirst.lab", ports=MappingProxyType({25: SmtpMode.BUSY_FIRST})),),
)


async def test_a_busy_server_is_retried_after_the_pause() -> None:
    async with Lab([BUSY]) as lab:

        def runtime(retries: int) -> Runtime:
            limits = replace(Limits(), throttle_retries=retries, throttle_backoff=0.3)
            config = lab.check_config(
                ports=(25,), timeouts=Timeouts.uniform(4.0), limits=limits, check_nosni=False
            )
            return Runtime(config)

        # Without a retry the 421 is the result, and the report says so.
        first = await check_domain("busyfirst.lab", runtime(0))
        assert "smtp.rate_limited" in {f.code for f in first.findings}
        # The listener's first connection is spent; a new lab's would be too.
        for listener in lab.smtp_server.listeners:
            listener.connections = 0
        lab.smtp_server._group_counts.clear()
        retried = await check_domain("busyfirst.lab", runtime(1))
        codes = {f.code for f in retried.findings}
        assert "smtp.rate_limited" not in codes
        endpoint = retried.hosts[0].endpoints[0]
        assert endpoint.handshake is not None and not endpoint.throttled
