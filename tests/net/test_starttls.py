"""The one STARTTLS opener against scripted loopback servers: positioned at TLS, or data.

``open_tls_start`` is what the deep scan's hellos use; the SMTP probe and the
injection probe drive the same :class:`~mxtls.net.starttls.Dialogue` steps
(their own tests are in ``test_smtp_session.py`` and ``deep/``).
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

from mxtls.config import CheckConfig
from mxtls.models.observations import ConnectFailure
from mxtls.net.guard import ALLOW_ALL
from mxtls.net.starttls import RECV_BYTES, Dialogue, Stopped, open_tls_start
from mxtls.net.stream import RawStream, connect
from mxtls.protocol.starttls import SMTP

from .servers import EHLO_PLAIN, config, write

Serve = Callable[..., Awaitable[int]]
IP = "127.0.0.1"
BANNER = b"220 mx.test.example ESMTP lab\r\n"
SRC = Path(__file__).resolve().parents[2] / "src" / "mxtls"


async def _walk(serve: Serve, handler: Callable[..., Awaitable[None]], banner: float) -> object:
    port = await serve(handler)
    return await open_tls_start(IP, 25, SMTP, config(port, banner=banner))


def _stopped(result: object) -> Stopped:
    assert isinstance(result, Stopped), result
    return result


async def test_positioned_after_the_go_ahead(serve: Serve) -> None:
    # Given a server that greets, offers STARTTLS and says 220
    got: list[bytes] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        got.append(await r.readline())
        await write(w, EHLO_PLAIN)
        got.append(await r.readline())
        await write(w, b"220 2.0.0 go ahead\r\n")
        got.append(await r.read(5))  # the client's next bytes: its ClientHello

    port = await serve(handler)
    # When the opener walks to the TLS start
    opened = await open_tls_start(IP, 25, SMTP, config(port))
    # Then the dialogue stands where the ClientHello goes, with what it saw
    assert isinstance(opened, Dialogue), opened
    try:
        assert opened.seen.offered is True and opened.seen.leftover == b""
        assert opened.seen.greeting is not None and opened.seen.greeting.code == 220
        assert opened.seen.starttls_reply is not None and opened.seen.starttls_reply.code == 220
        assert set(opened.clock.timings) == {"banner", "ehlo", "starttls"}
        await opened.raw.send(b"\x16\x03\x01\x00\x00")
        await asyncio.sleep(0.05)
    finally:
        opened.raw.abort()
    assert got[:2] == [b"EHLO checker.test.example\r\n", b"STARTTLS\r\n"]


async def test_implicit_tls_port_returns_right_after_connect(serve: Serve) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await r.read(1)  # says nothing: a TLS server waits for the ClientHello

    port = await serve(handler)
    opened = await open_tls_start(IP, 465, SMTP, config(port, logical=465))
    assert isinstance(opened, Dialogue) and opened.seen.greeting is None
    opened.raw.abort()


async def test_pipelined_bytes_go_out_in_the_same_write_as_starttls(serve: Serve) -> None:
    # The injection probe's move: STARTTLS and the next command in one segment.
    first_read: list[bytes] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        await r.readline()
        await write(w, EHLO_PLAIN)
        await asyncio.sleep(0.1)  # let the whole write arrive before the first read
        first_read.append(await r.read(4096))
        await write(w, b"220 go ahead\r\n250 answered in plaintext\r\n")
        await asyncio.sleep(0.5)

    port = await serve(handler)
    raw = await connect(IP, port, 1.0, ALLOW_ALL)
    assert isinstance(raw, RawStream), raw
    d = Dialogue(raw, SMTP, config(port))
    try:
        await d.greeting()
        await d.hello(SMTP.hello_step)
        await d.starttls(then=b"EHLO injected\r\n")
        await asyncio.sleep(0.05)
    finally:
        d.raw.abort()
    assert first_read == [b"STARTTLS\r\nEHLO injected\r\n"]
    # What the server said past its go-ahead is kept aside, never parsed as SMTP
    assert d.seen.leftover == b"250 answered in plaintext\r\n"


async def test_failures_are_data(serve: Serve) -> None:
    async def rejects_banner(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, b"554 5.7.1 go away\r\n")

    async def throttles(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, b"421 4.7.0 too many connections from your address\r\n")

    async def no_starttls(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        await r.readline()
        await write(w, b"250-mx.test.example\r\n250 8BITMIME\r\n")

    async def refuses_starttls(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        await r.readline()
        await write(w, EHLO_PLAIN)
        await r.readline()
        await write(w, b"454 4.7.0 TLS not available\r\n")

    async def silent(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3)

    async def hangs_up(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        return

    async def garbage(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, b"HTTP/1.1 400 Bad Request\r\n")

    cases = {
        rejects_banner: ("banner", "rejected", False, "banner 554 5.7.1 go away"),
        throttles: ("banner", "rejected", True, "banner 421 4.7.0 too many"),
        no_starttls: ("ehlo", "not_offered", False, "STARTTLS not offered"),
        refuses_starttls: ("starttls", "rejected", False, "STARTTLS answered 454"),
        silent: ("banner", "timeout", False, "no banner within 0.3s"),
        hangs_up: ("banner", "closed", False, "connection closed while waiting for banner"),
        garbage: ("banner", "protocol", False, "banner: malformed reply line"),
    }
    for handler, (step, kind, throttled, detail) in cases.items():
        stop = _stopped(await _walk(serve, handler, banner=0.3))
        assert (stop.step, stop.kind, stop.throttled) == (step, kind, throttled), handler
        assert stop.detail.startswith(detail), (handler, stop.detail)


async def test_refused_connection_is_a_connect_failure() -> None:
    with socket.socket() as s:
        s.bind((IP, 0))
        port = s.getsockname()[1]
    result = await open_tls_start(IP, 25, SMTP, config(port))
    assert isinstance(result, ConnectFailure) and result.kind == "refused"


async def test_a_flood_is_read_in_bounded_steps(serve: Serve) -> None:
    # A 1 MB "banner" without a line end: the codec stops at its line bound; the
    # opener never holds more than one read beyond it.
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, b"220 " + b"x" * 1_000_000)
        await asyncio.sleep(1)

    port = await serve(handler)
    cfg: CheckConfig = config(port)
    stop = _stopped(await open_tls_start(IP, 25, SMTP, cfg))
    assert stop.kind == "protocol" and "longer than" in stop.detail


def test_one_read_loop_and_one_cap_in_net() -> None:
    # The SMTP codec is driven by the opener alone: no other module under net/
    # builds a codec or reads it with a loop and a read size of its own.
    net = SRC / "net"
    driving = re.compile(
        r"SmtpClient\(|protocol\.events import"
        r"|from mxtls\.protocol\.smtp import[^)]*\b(NeedData|ConnectionClosed)\b"
    )
    drivers = sorted(
        str(path.relative_to(SRC)) for path in net.rglob("*.py") if driving.search(path.read_text())
    )
    assert drivers == ["net/starttls.py"], drivers
    assert RECV_BYTES == 4096
