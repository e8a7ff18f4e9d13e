"""Heartbleed: fires on a server leaking past a heartbeat request, silent on sound ones."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mxtls.lab.ca import Issued
from mxtls.net.deep.vulns import ProbeContext, probe_heartbleed
from mxtls.net.deep.vulns.heartbleed import CLAIMED_PAYLOAD_BYTES, heartbeat_request
from mxtls.protocol.tls_wire import Extension

from .doubles import MX, SslPeer, TlsDouble, config, heartbleed, idle


def _ctx(port: int, logical: int = 465) -> ProbeContext:
    return ProbeContext(MX, "127.0.0.1", logical, config(port, logical), asyncio.Semaphore(4))


def test_heartbeat_request_bytes() -> None:
    # type 24, version, length 3; request (1) claiming 0x4000 bytes, carrying none
    assert heartbeat_request(0x0303) == bytes.fromhex("1803030003014000")
    assert CLAIMED_PAYLOAD_BYTES == 0x4000


async def test_leaking_server_is_vulnerable(rsa_leaf: Issued) -> None:
    # Given a server that echoes heartbeat and answers the claimed length
    async with TlsDouble(rsa_leaf, heartbleed, echo_heartbeat=True) as server:
        obs = await probe_heartbleed(_ctx(server.port))
    # Then the oversized response is seen from its header alone
    assert obs.vulnerable is True, obs
    assert obs.heartbeat_extension is True
    assert obs.response_record_bytes == 3 + CLAIMED_PAYLOAD_BYTES + 16
    assert obs.connections == 1
    # and the hello really offered the extension
    assert server.hellos[0].extension(Extension.heartbeat().type) == b"\x01"


async def test_leaking_server_behind_starttls(rsa_leaf: Issued) -> None:
    async with TlsDouble(rsa_leaf, heartbleed, echo_heartbeat=True, smtp=True) as server:
        obs = await probe_heartbleed(_ctx(server.port, 25))
    assert obs.vulnerable is True, obs


async def test_server_discarding_the_request_is_sound(rsa_leaf: Issued) -> None:
    # Echoes the extension but drops the malformed request (RFC 6520 §4)
    async with TlsDouble(rsa_leaf, idle, echo_heartbeat=True) as server:
        obs = await probe_heartbleed(_ctx(server.port))
    assert obs.vulnerable is False, obs
    assert obs.heartbeat_extension is True
    assert obs.response_record_bytes is None


async def test_no_heartbeat_extension_is_sound(rsa_leaf: Issued) -> None:
    async with TlsDouble(rsa_leaf, heartbleed, echo_heartbeat=False) as server:
        obs = await probe_heartbleed(_ctx(server.port))
    assert obs.vulnerable is False
    assert obs.heartbeat_extension is False


async def test_openssl_peer_is_sound(rsa_files: tuple[Path, Path]) -> None:
    async with SslPeer(*rsa_files) as peer:
        obs = await probe_heartbleed(_ctx(peer.port))
    assert obs.vulnerable is False, obs
    assert obs.version == "TLSv1.2"


async def test_nothing_listening_is_not_tested() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    obs = await probe_heartbleed(_ctx(port))
    assert obs.vulnerable is None
    assert obs.not_tested_reason and "connect" in obs.not_tested_reason
