"""probe_vulnerabilities end to end: a real Postfix is sound, doubles fire, throttling stops."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from mxtls.checks.vulns import check_vulns
from mxtls.config import CheckConfig, Timeouts
from mxtls.lab.ca import Issued
from mxtls.models.findings import endpoint_target
from mxtls.models.vulns import VulnObservation
from mxtls.net.deep.vulns import probe_vulnerabilities
from mxtls.testing import PostfixInstance
from tests.bounds import bound

from .conftest import POSTFIX_HOST
from .doubles import MX, TlsDouble, config, heartbleed


@pytest.mark.postfix
@pytest.mark.parametrize("port", [25, 465, 587])
async def test_real_postfix_is_sound_on_every_port(postfix_rsa: PostfixInstance, port: int) -> None:
    # Given Debian's Postfix with an RSA certificate (so ROBOT really runs)
    cfg = CheckConfig(
        ehlo_name="checker.vuln.test",
        port_map=tuple(postfix_rsa.port_map.items()),
        timeouts=Timeouts.uniform(1.0),
    )
    started = time.monotonic()
    obs = await probe_vulnerabilities(POSTFIX_HOST, postfix_rsa.ip, port, cfg)
    # Then every probe ran and found nothing
    assert obs.heartbleed.vulnerable is False, obs.heartbleed
    assert obs.ccs_injection.vulnerable is False, obs.ccs_injection
    assert obs.ccs_injection.first_reply == "alert fatal unexpected_message"
    assert obs.robot.vulnerable is False, obs.robot
    assert obs.robot.rsa_key_exchange is True
    assert len(obs.robot.rounds) == 1
    if port == 465:
        assert obs.tls_mode == "implicit" and obs.starttls_injection is None
        assert obs.connections == 7
    else:
        assert obs.starttls_injection is not None
        assert obs.starttls_injection.vulnerable is False, obs.starttls_injection
        assert obs.starttls_injection.first_reply_in_tls is not None
        assert obs.starttls_injection.first_reply_in_tls.startswith("221")
        assert obs.connections == 8
    assert not obs.throttled
    assert check_vulns(obs, endpoint_target(POSTFIX_HOST, postfix_rsa.ip, port)) == []
    assert time.monotonic() - started < 5
    # and the observation round-trips through JSON
    assert VulnObservation.model_validate_json(obs.model_dump_json()) == obs


async def test_heartbleed_double_yields_only_its_finding(rsa_leaf: Issued) -> None:
    async with TlsDouble(rsa_leaf, heartbleed, echo_heartbeat=True, smtp=True) as server:
        obs = await probe_vulnerabilities(MX, "127.0.0.1", 25, config(server.port, 25))
    target = endpoint_target(MX, "127.0.0.1", 25)
    findings = check_vulns(obs, target)
    assert [(f.code, f.severity.value, f.target) for f in findings] == [
        ("vuln.heartbleed", "error", target)
    ]
    assert obs.ccs_injection.vulnerable is False
    # The double picks an ECDHE suite it was not offered: ROBOT cannot run
    assert obs.robot.vulnerable is None and obs.robot.not_tested_reason
    assert obs.connections == server.connections


async def test_throttling_server_stops_every_probe() -> None:
    accepted = 0

    async def handle(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        writer.write(b"421 4.7.0 mx Error: too many connections\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        obs = await probe_vulnerabilities(MX, "127.0.0.1", 25, config(port, 25))
    assert obs.throttled
    for probe in (obs.heartbleed, obs.ccs_injection, obs.robot, obs.starttls_injection):
        assert probe is not None
        assert probe.vulnerable is None
        assert probe.not_tested_reason
    # ROBOT stopped after its first refusal: far fewer than 8 connections
    assert accepted == obs.connections <= 4
    assert check_vulns(obs, "t") == []


async def test_silent_server_is_bounded() -> None:
    # A server that accepts and never speaks: every probe ends within its timeouts
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(30):
                await reader.read()  # until the client leaves
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        started = time.monotonic()
        obs = await probe_vulnerabilities(MX, "127.0.0.1", 465, config(port, 465))
    assert time.monotonic() - started < bound(1.0)  # one handshake timeout, not the 30 s
    assert obs.heartbleed.vulnerable is None
    assert obs.robot.vulnerable is None
    assert obs.ccs_injection.not_tested_reason and "ServerHelloDone" in (
        obs.ccs_injection.not_tested_reason
    )
