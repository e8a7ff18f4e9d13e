"""What the hostile peers do: one short script per behaviour (SMTP, TLS, HTTPS).

Each function returns or is a :data:`~tests.hostile.peers.Handler` for
:meth:`HostileWorld.listen`; certificates are made by the caller (outside the
event loop: key generation is CPU work) and passed in as a
:class:`~tests.hostile.peers.Chain`.
"""

from __future__ import annotations

import asyncio
import os

from .peers import Chain, Handler, OpenSslServer, read_command, send

BANNER = b"220 mx.hostile.test ESMTP\r\n"
EHLO_STARTTLS = b"250-mx.hostile.test\r\n250 STARTTLS\r\n"
POLICY = b"version: STSv1\r\nmode: enforce\r\nmx: mx.hostile.test\r\nmax_age: 86400\r\n"
FOREVER = 1 << 30  # loop bound of "endless" peers; HANDLER_LIMIT_S ends them long before
ALERT_HANDSHAKE_FAILURE = bytes.fromhex("15030300020228")  # fatal handshake_failure (40)


# ---------------------------------------------------------------------- SMTP


async def plain_smtp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A dull MX: banner, EHLO without STARTTLS, QUIT (for cases about other things)."""
    await send(writer, BANNER)
    for _ in range(10):
        command = await read_command(reader)
        if not command or command.startswith(b"QUIT"):
            await send(writer, b"221 bye\r\n")
            return
        await send(writer, b"250 mx.hostile.test\r\n")


def banner_then_quit(banner: bytes) -> Handler:
    """Any banner, then ``221`` to whatever comes."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await send(writer, banner)
        await reader.readline()
        await send(writer, b"221 bye\r\n")

    return handler


async def endless_ehlo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """``250-`` continuation lines for as long as anyone reads them."""
    await send(writer, BANNER)
    await read_command(reader)
    line = b"250-" + b"X" * 60 + b"\r\n"
    for _ in range(FOREVER):
        await send(writer, line * 64)


async def dribbled_banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A multi-line banner that never ends, one byte at a time."""
    text = b"220-mx.hostile.test hello, this banner never ends\r\n"
    for i in range(FOREVER):
        await send(writer, text[i % len(text) : i % len(text) + 1])
        await asyncio.sleep(0.005)


async def tarpit(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept, then say nothing at all."""
    await asyncio.sleep(FOREVER)


def after_starttls(then: Handler) -> Handler:
    """Banner, EHLO with STARTTLS, ``220`` to STARTTLS, then ``then`` on the raw stream."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await send(writer, BANNER)
        for _ in range(10):
            command = await read_command(reader)
            if command.startswith(b"EHLO"):
                await send(writer, EHLO_STARTTLS)
            elif command == b"STARTTLS":
                await send(writer, b"220 go ahead\r\n")
                await then(reader, writer)
                return
            else:
                await send(writer, b"221 bye\r\n")
                return

    return handler


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Random bytes instead of a TLS ServerHello."""
    await send(writer, os.urandom(4096))
    await reader.read(65536)


async def alert_mid_handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the ClientHello, answer with a fatal alert."""
    await reader.read(65536)
    await send(writer, ALERT_HANDSHAKE_FAILURE)


async def silent_handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the ClientHello and never answer it."""
    await reader.read(65536)
    await asyncio.sleep(FOREVER)


# ----------------------------------------------------------------------- TLS


async def tls_dialogue(tls: OpenSslServer, *, banner: bool) -> None:
    """Handshake, then (with a banner on implicit TLS) EHLO answers until QUIT."""
    if not await tls.handshake():
        return
    if banner:
        await tls.send(BANNER)
    for _ in range(10):
        line = (await tls.readline()).strip().upper()
        if not line or line.startswith(b"QUIT"):
            await tls.send(b"221 bye\r\n")
            return
        await tls.send(b"250 mx.hostile.test\r\n")


def implicit_tls_smtp(chain: Chain) -> Handler:
    """An SMTP server on an implicit-TLS port (465) that sends ``chain``."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await tls_dialogue(OpenSslServer(reader, writer, chain), banner=True)

    return handler


def starttls_smtp(chain: Chain) -> Handler:
    """An SMTP server on port 25 that offers STARTTLS and then sends ``chain``."""

    async def then(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await tls_dialogue(OpenSslServer(reader, writer, chain), banner=False)

    return after_starttls(then)


# --------------------------------------------------------------------- HTTPS


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """The request head (the policy fetch is a GET without a body)."""
    return await reader.readuntil(b"\r\n\r\n")


def http_head(*headers: str, status: str = "200 OK") -> bytes:
    """Status line and headers (``Name: value`` strings), then the blank line."""
    return ("\r\n".join([f"HTTP/1.1 {status}", *headers]) + "\r\n\r\n").encode()


def respond(head: bytes, body: bytes = b"") -> Handler:
    """One fixed response."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await send(writer, head + body)

    return handler


async def redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request(reader)
    await send(writer, http_head("Location: https://elsewhere.example/", status="301 Moved"))


async def endless_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A chunked ``text/plain`` body that never ends."""
    await read_request(reader)
    await send(writer, http_head("Content-Type: text/plain", "Transfer-Encoding: chunked"))
    chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"
    for _ in range(FOREVER):
        await send(writer, chunk * 16)


async def huge_header(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A header line of a megabyte."""
    await read_request(reader)
    await send(writer, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Junk: ")
    for _ in range(1024):
        await send(writer, b"j" * 1024)
    await send(writer, b"\r\n\r\n" + POLICY)


async def one_byte_chunks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """200,000 one-byte chunks, as fast as the socket takes them."""
    await read_request(reader)
    await send(writer, http_head("Content-Type: text/plain", "Transfer-Encoding: chunked"))
    piece = b"1\r\nx\r\n" * 1000
    for _ in range(200):
        await send(writer, piece)
    await send(writer, b"0\r\n\r\n")
