"""The deep scan stops at the first push-back and says what it could not test."""

from __future__ import annotations

import socket

from mxtls.checks.deep_tls import check_deep
from mxtls.config import CheckConfig, Timeouts
from mxtls.net.deep.scanner import deep_scan_endpoint
from mxtls.protocol.tls_registry import TlsVersion
from tests.net.deep.doubles import OldServer, ScriptedServer

HOST = "mx.double.test"
TARGET = f"{HOST}[127.0.0.1]:25"
CERT = b"\x30\x03\x02\x01\x00"  # never parsed in these tests (key-type probes get cut off)


def _modern_old_server() -> OldServer:
    return OldServer(
        versions=(TlsVersion.TLS1_0, TlsVersion.TLS1_2), suites=(0xC02F, 0xC013), cert_der=CERT
    )


async def test_421_after_n_connections_stops_the_scan() -> None:
    # Given a server that answers 421 from its 6th connection on
    async with ScriptedServer(_modern_old_server(), limit=5) as server:
        # When a deep scan with 2 connections in flight runs against it
        obs = await deep_scan_endpoint(HOST, "127.0.0.1", 25, server.config(), max_conns=2)
        seen = server.connections
    # Then it stops at once: no retry loop, throttled recorded, untested steps named
    assert obs.throttled is True
    assert obs.error is None
    assert obs.connections_used == seen
    assert seen <= 5 + 2, seen
    assert obs.untested, obs
    findings = check_deep(obs, TARGET)
    rate = [f for f in findings if f.code == "smtp.rate_limited"]
    assert len(rate) == 1 and "not tested" in rate[0].message
    assert any("421" in note for note in obs.notes)


async def test_refusals_mid_scan_count_as_throttling() -> None:
    async with ScriptedServer(_modern_old_server(), refuse_after=8) as server:
        obs = await deep_scan_endpoint(HOST, "127.0.0.1", 25, server.config(), max_conns=1)
        seen = server.connections
    assert obs.throttled is True
    assert obs.connections_used <= seen + 1  # the one refused connection counts as used
    assert seen == 8


async def test_nothing_listening_is_an_error_not_throttling() -> None:
    with socket.socket() as sock:  # a port that is certainly closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = CheckConfig(port_map=((25, port),), timeouts=Timeouts.uniform(1.0))
    obs = await deep_scan_endpoint(HOST, "127.0.0.1", 25, config)
    assert obs.throttled is False
    assert obs.error is not None and "refused" in obs.error
    assert obs.connections_used <= config.limits.per_address_connections
    assert all(p.support == "unknown" for p in obs.protocols)
    assert check_deep(obs, TARGET) == []


async def test_server_silent_after_starttls_is_bounded() -> None:
    # A tarpit after STARTTLS: every hello times out; the scan ends within its bounds
    # and reports nothing as "rejected".
    async with ScriptedServer(lambda _hello: b"") as server:
        config = server.config(handshake=0.3)
        obs = await deep_scan_endpoint(HOST, "127.0.0.1", 25, config, max_conns=8)
    assert obs.elapsed_ms < 5000
    assert {p.support for p in obs.protocols} <= {"unknown", "rejected"}
    tls12 = obs.protocol("TLSv1.2")
    assert tls12 is not None and tls12.support == "unknown" and not tls12.complete
    assert check_deep(obs, TARGET) == []
