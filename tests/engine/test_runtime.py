"""The runtime: built without network I/O, bad settings refused there, overrides, the clock."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import pytest

import mxtls
from mxtls.config import CheckConfig, Limits, Timeouts
from mxtls.engine.run import check_domain
from mxtls.engine.runtime import Runtime
from mxtls.errors import ConfigError
from mxtls.lab.world import Lab

FIXED = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_building_a_runtime_opens_no_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    class NoSocket(socket.socket):
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("a runtime must not touch the network when it is built")

    monkeypatch.setattr(socket, "socket", NoSocket)
    runtime = Runtime(CheckConfig(nameservers=(("192.0.2.53", 53),), dnssec_validate=True))
    assert runtime.dns.sent == 0 and runtime.dnssec.mode == "validate"
    assert mxtls.Runtime is Runtime


@pytest.mark.parametrize(
    "config",
    [
        CheckConfig(ca_file=Path("/nonexistent/ca.pem")),
        CheckConfig(dnssec_validate=True, trust_anchor=Path("/nonexistent/anchor.txt")),
        CheckConfig(ports=()),
        CheckConfig(ports=(0,)),
        CheckConfig(port_map=((25, 70000),)),
        CheckConfig(limits=replace(Limits(), per_address_connections=0)),
        CheckConfig(limits=replace(Limits(), dns_cache_entries=0)),
        CheckConfig(timeouts=replace(Timeouts(), dns=0.0)),
        CheckConfig(warn_days=-1),
        CheckConfig(now=datetime(2030, 1, 1)),  # naive
    ],
)
def test_bad_configuration_fails_when_the_runtime_is_built(config: CheckConfig) -> None:
    with pytest.raises(ConfigError):
        Runtime(config)


def test_overrides_change_one_check_only() -> None:
    runtime = Runtime(CheckConfig(ports=(25, 465), warn_days=30))
    one = runtime.settings(ports=[587, 587, 25], deep=True, warn_days=7)
    assert (one.ports, one.deep, one.warn_days) == ((587, 25), True, 7)
    assert runtime.settings() is runtime.config
    assert (runtime.config.ports, runtime.config.deep) == ((25, 465), False)
    with pytest.raises(ConfigError):
        runtime.settings(ports=[])
    with pytest.raises(ConfigError):
        runtime.settings(ports=[65536])
    with pytest.raises(ConfigError):
        runtime.settings(ports=[True])
    with pytest.raises(ConfigError):
        runtime.settings(warn_days=-2)


async def test_a_bad_override_raises_before_any_io() -> None:
    runtime = Runtime(CheckConfig(nameservers=(("127.0.0.1", 9),)))
    with pytest.raises(ConfigError):
        await check_domain("example.com", runtime, ports=[0])
    assert runtime.dns.sent == 0


def test_the_clock() -> None:
    assert Runtime(CheckConfig(now=FIXED)).now() == FIXED
    ticks = count()
    runtime = Runtime(clock=lambda: FIXED + timedelta(seconds=next(ticks)))
    assert runtime.now() < runtime.now()  # read afresh each time
    with pytest.raises(ConfigError):
        Runtime(clock=lambda: datetime(2030, 1, 1)).now()


async def test_each_check_reads_the_clock_once(lab: Lab, lab_cfg: CheckConfig) -> None:
    ticks = count()
    runtime = Runtime(lab_cfg, clock=lambda: FIXED + timedelta(hours=next(ticks)))
    first = await check_domain("nullmx.lab", runtime)
    second = await check_domain("nullmx.lab", runtime)
    assert (first.checked_at, second.checked_at) == (FIXED, FIXED + timedelta(hours=1))


async def test_per_call_settings_with_one_runtime(lab: Lab, lab_cfg: CheckConfig) -> None:
    # Given: one runtime; expiring.lab's certificate expires in ten days
    runtime = Runtime(lab_cfg)

    # When: checked with two thresholds and two port sets through it
    near = await check_domain("expiring.lab", runtime, ports=(25,), warn_days=5)
    far = await check_domain("expiring.lab", runtime, ports=(25, 587), warn_days=30)

    # Then: each report follows its own call's settings
    assert "cert.expiring_soon" not in {f.code for f in near.findings}
    assert "cert.expiring_soon" in {f.code for f in far.findings}
    assert (near.settings.ports, near.settings.warn_days) == ([25], 5)
    assert (far.settings.ports, far.settings.warn_days) == ([25, 587], 30)
    assert {ep.port for h in near.hosts for ep in h.endpoints} == {25}
    assert runtime.config.ports == lab_cfg.ports
