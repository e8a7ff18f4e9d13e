"""Helpers for scripted loopback SMTP servers used by the net/ tests."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from mxtls.config import CheckConfig, Limits, Timeouts
from mxtls.lab.ca import Issued

MX_NAME = "mx.test.example"
EHLO_PLAIN = b"250-mx.test.example\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
EHLO_TLS = b"250-mx.test.example\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n"

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Lab:
    """The lab certificate for ``MX_NAME``; server contexts send leaf + intermediate."""

    issued: Issued
    crt: Path
    key: Path
    sni_seen: list[str | None] = field(default_factory=list)

    def server_context(self, *, alert_on_sni: bool = False) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.crt, self.key)
        seen = self.sni_seen

        def on_sni(_obj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> int | None:
            seen.append(name)
            return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE if alert_on_sni else None

        ctx.sni_callback = on_sni
        return ctx


def config(
    port: int,
    logical: int = 25,
    *,
    banner: float = 1.0,
    handshake: float = 1.0,
    endpoint_total: float = 5.0,
    max_transcript_lines: int = 400,
    ehlo_name: str = "checker.test.example",
) -> CheckConfig:
    """Short timeouts; logical port ``logical`` goes to local ``port`` (``--port-map``)."""
    return CheckConfig(
        ehlo_name=ehlo_name,
        port_map=((logical, port),),
        timeouts=Timeouts(
            connect=1.0,
            banner=banner,
            command=1.0,
            handshake=handshake,
            endpoint_total=endpoint_total,
        ),
        limits=Limits(max_transcript_lines=max_transcript_lines),
    )


async def write(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()


async def smtp_loop(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    lab: Lab | None,
    ehlo: bytes = EHLO_PLAIN,
    starttls_reply: bytes = b"220 2.0.0 Ready to start TLS\r\n",
    seen: list[bytes] | None = None,
    tls: bool = False,
) -> None:
    """A well-behaved SMTP dialogue after the banner (at most 20 commands)."""
    for _ in range(20):
        line = await reader.readline()
        if not line:
            return
        if seen is not None:
            seen.append(line)
        cmd = line.strip().upper()
        if cmd.startswith(b"EHLO"):
            await write(writer, EHLO_TLS if tls else ehlo)
        elif cmd.startswith(b"HELO"):
            await write(writer, b"250 mx.test.example\r\n")
        elif cmd == b"STARTTLS" and not tls:
            await write(writer, starttls_reply)
            if starttls_reply.startswith(b"220") and lab is not None:
                await writer.start_tls(lab.server_context())
                tls = True
        elif cmd == b"QUIT":
            await write(writer, b"221 2.0.0 Bye\r\n")
            return
        else:
            await write(writer, b"502 5.5.2 Error: command not recognized\r\n")


async def tls_until_failure(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ctx: ssl.SSLContext
) -> None:
    """Server side of a handshake on memory BIOs that *sends* its alert when it fails.

    asyncio's own server-side TLS aborts the connection on a failed handshake
    without flushing the alert, so a test that wants the client to see a real
    alert drives ``ssl`` by hand (at most 20 rounds).
    """
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_side=True)
    for _ in range(20):
        try:
            obj.do_handshake()
            return
        except ssl.SSLWantReadError:
            if outgoing.pending:
                await write(writer, outgoing.read())
            data = await reader.read(65536)
            if not data:
                return
            incoming.write(data)
        except ssl.SSLError:
            if outgoing.pending:
                await write(writer, outgoing.read())
            return
