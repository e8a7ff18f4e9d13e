"""Endpoint observations shared between checks: once per endpoint, throttling kept briefly."""

from __future__ import annotations

from mxtls.config import CheckConfig
from mxtls.engine.reuse import THROTTLED_KEEP_S, EndpointReuse
from mxtls.models.observations import EndpointObservation


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def observation(*, throttled: bool = False) -> EndpointObservation:
    return EndpointObservation(
        host="mx.example",
        ip="192.0.2.1",
        port=25,
        connect_port=25,
        tls_mode="starttls",
        throttled=throttled,
    )


async def test_an_endpoint_is_probed_once_and_a_throttled_one_again_later() -> None:
    clock = Clock()
    reuse = EndpointReuse(ttl=3600.0, entries=16, monotonic=clock)
    config = CheckConfig(ehlo_name="scanner.example")
    probes: list[bool] = []

    def prober(throttled: bool):  # type: ignore[no-untyped-def]
        async def probe() -> EndpointObservation:
            probes.append(throttled)
            return observation(throttled=throttled)

        return probe

    for _ in range(3):  # three domains naming the same MX host
        await reuse.observe("MX.example", "192.0.2.1", 25, config, sni=True, probe=prober(False))
    assert probes == [False] and reuse.reused == 2
    # Another EHLO name is another probe: what the server answers may differ.
    other = CheckConfig(ehlo_name="other.example")
    await reuse.observe("mx.example", "192.0.2.1", 25, other, sni=True, probe=prober(False))
    assert len(probes) == 2
    # A throttled result serves the domains of the next minute, then the host is tried again.
    got = await reuse.observe("mx.example", "192.0.2.1", 25, config, sni=False, probe=prober(True))
    assert got.throttled
    clock.now += THROTTLED_KEEP_S - 1
    await reuse.observe("mx.example", "192.0.2.1", 25, config, sni=False, probe=prober(True))
    assert probes.count(True) == 1
    clock.now += 2
    await reuse.observe("mx.example", "192.0.2.1", 25, config, sni=False, probe=prober(False))
    assert probes.count(True) == 1 and probes[-1] is False
