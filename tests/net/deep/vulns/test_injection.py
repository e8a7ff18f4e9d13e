"""STARTTLS command injection: fires when pipelined plaintext runs inside TLS."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mxtls.net.deep.vulns import ProbeContext, probe_starttls_injection

from .doubles import MX, SslPeer, config


def _ctx(port: int, logical: int = 25) -> ProbeContext:
    return ProbeContext(MX, "127.0.0.1", logical, config(port, logical), asyncio.Semaphore(4))


async def test_server_running_pipelined_plaintext_is_vulnerable(
    rsa_files: tuple[Path, Path],
) -> None:
    # Given an SMTP server that keeps what was pipelined after STARTTLS
    async with SslPeer(*rsa_files, smtp=True, inject=True) as peer:
        obs = await probe_starttls_injection(_ctx(peer.port))
    # Then the injected EHLO is answered inside TLS before our QUIT
    assert obs.vulnerable is True, obs
    assert obs.injected == "EHLO checker.vuln.test"
    assert obs.starttls_reply == "220 2.0.0 Ready to start TLS"
    assert obs.first_reply_in_tls == "250 mx.vuln.test"
    assert obs.connections == 1


async def test_server_discarding_pipelined_plaintext_is_sound(
    rsa_files: tuple[Path, Path],
) -> None:
    async with SslPeer(*rsa_files, smtp=True, inject=False) as peer:
        obs = await probe_starttls_injection(_ctx(peer.port, 587))
    assert obs.vulnerable is False, obs
    assert obs.first_reply_in_tls == "221 2.0.0 Bye"


async def test_starttls_refused_is_sound() -> None:
    # A server that answers STARTTLS 454 opens no TLS session to inject into
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx ESMTP\r\n")
        async with asyncio.timeout(2):
            await reader.readline()
            writer.write(b"250-mx\r\n250 STARTTLS\r\n")
            await reader.readline()
            writer.write(b"454 4.7.0 TLS not available\r\n")
            await writer.drain()
            await reader.read(100)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        obs = await probe_starttls_injection(_ctx(server.sockets[0].getsockname()[1]))
    assert obs.vulnerable is False, obs
    assert obs.starttls_reply == "454 4.7.0 TLS not available"


async def test_throttling_server_is_not_tested() -> None:
    async def handle(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"421 4.7.0 too many connections\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        ctx = _ctx(server.sockets[0].getsockname()[1])
        obs = await probe_starttls_injection(ctx)
    assert obs.vulnerable is None
    assert ctx.throttled is not None
    assert obs.not_tested_reason and "throttled" in obs.not_tested_reason
