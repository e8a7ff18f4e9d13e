"""CCS injection: fires when an early ChangeCipherSpec is accepted, silent when rejected."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mxtls.lab.ca import Issued
from mxtls.net.deep.vulns import ProbeContext, probe_ccs_injection

from .doubles import MX, SslPeer, TlsDouble, ccs_sound, ccs_vulnerable, config


def _ctx(port: int, logical: int = 465) -> ProbeContext:
    return ProbeContext(MX, "127.0.0.1", logical, config(port, logical), asyncio.Semaphore(4))


async def test_server_accepting_early_ccs_is_vulnerable(rsa_leaf: Issued) -> None:
    # Given a server silent after the first early CCS, decryption_failed after the second
    async with TlsDouble(rsa_leaf, ccs_vulnerable) as server:
        obs = await probe_ccs_injection(_ctx(server.port))
    assert obs.vulnerable is True, obs
    assert obs.first_reply == "silence"
    assert obs.second_reply == "alert fatal decryption_failed"
    assert obs.connections == 1


async def test_vulnerable_behind_starttls(rsa_leaf: Issued) -> None:
    async with TlsDouble(rsa_leaf, ccs_vulnerable, smtp=True) as server:
        obs = await probe_ccs_injection(_ctx(server.port, 587))
    assert obs.vulnerable is True, obs


async def test_server_alerting_is_sound(rsa_leaf: Issued) -> None:
    async with TlsDouble(rsa_leaf, ccs_sound) as server:
        obs = await probe_ccs_injection(_ctx(server.port))
    assert obs.vulnerable is False, obs
    assert obs.first_reply == "alert fatal unexpected_message"
    assert obs.second_reply is None


async def test_openssl_peer_is_sound(rsa_files: tuple[Path, Path]) -> None:
    async with SslPeer(*rsa_files) as peer:
        obs = await probe_ccs_injection(_ctx(peer.port))
    assert obs.vulnerable is False, obs
    assert obs.first_reply == "alert fatal unexpected_message"
