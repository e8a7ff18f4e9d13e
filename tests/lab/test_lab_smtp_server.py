"""The lab SMTP server on its own: bounds, shutdown, and the STARTTLS buffer rule."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from mxtls.lab.ca import LabCA
from mxtls.lab.smtp_server import (
    MAX_COMMAND_LINE_BYTES,
    MAX_COMMANDS,
    SmtpBehaviour,
    SmtpMode,
    SmtpServer,
    reply,
)
from tests.bounds import SLACK_S, bound

HOST = "mx.unit.lab"
Open = Callable[..., Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


@pytest.fixture(scope="module")
def ca() -> LabCA:
    return LabCA()


@pytest.fixture
async def smtp(tmp_path: Path) -> AsyncIterator[SmtpServer]:
    server = SmtpServer(tmp_path, lifetime=5.0)
    try:
        yield server
    finally:
        await asyncio.wait_for(server.close(), 3)


async def start(
    server: SmtpServer, ca: LabCA, mode: SmtpMode = SmtpMode.GOOD
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    behaviour = SmtpBehaviour(mode=mode, hostname=HOST, cert=ca.issue([HOST]))
    listener = await server.listen("127.0.0.1", 0, behaviour)
    return await asyncio.open_connection("127.0.0.1", listener.port)


async def read_reply(reader: asyncio.StreamReader) -> tuple[int, list[str]]:
    lines = []
    while True:
        line = (await asyncio.wait_for(reader.readline(), 3)).decode()
        assert line, "connection closed"
        lines.append(line[4:].rstrip("\r\n"))
        if line[3] == " ":
            return int(line[:3]), lines


def test_reply_rendering() -> None:
    assert reply(250, ["a", "b", "c"]) == b"250-a\r\n250-b\r\n250 c\r\n"
    assert reply(220, "hi") == b"220 hi\r\n"


def test_behaviour_validation(ca: LabCA) -> None:
    with pytest.raises(ValueError):
        SmtpBehaviour(mode=SmtpMode.GOOD)  # TLS without a certificate
    with pytest.raises(ValueError):
        SmtpBehaviour(mode=SmtpMode.SNI_CERT, cert=ca.issue([HOST]))
    assert SmtpBehaviour(mode=SmtpMode.TARPIT).cert is None
    assert SmtpBehaviour(mode=SmtpMode.IMPLICIT_TLS, cert=ca.issue([HOST])).implicit_tls


async def test_plaintext_pipelined_after_starttls_is_discarded(
    smtp: SmtpServer, ca: LabCA, tmp_path: Path
) -> None:
    # Given a client that pipelines a command right behind STARTTLS (CVE-2011-0411 class)
    reader, writer = await start(smtp, ca)
    await read_reply(reader)
    writer.write(b"EHLO tester.lab\r\n")
    await read_reply(reader)
    writer.write(b"STARTTLS\r\nNOOP\r\n")
    assert (await read_reply(reader))[0] == 220
    # When the TLS session starts and the client speaks first
    ctx = ssl.create_default_context(cafile=str(ca.write_root(tmp_path / "root.pem")))
    await asyncio.wait_for(writer.start_tls(ctx, server_hostname=HOST), 3)
    writer.write(b"EHLO tester.lab\r\n")
    # Then the first reply is EHLO's, not a 250 for the injected NOOP
    code, lines = await read_reply(reader)
    assert code == 250 and lines[0].startswith(HOST) and len(lines) > 1
    writer.write(b"STARTTLS\r\n")
    assert (await read_reply(reader))[0] == 503  # TLS already active
    writer.close()


async def test_overlong_line_is_refused_and_closed(smtp: SmtpServer, ca: LabCA) -> None:
    reader, writer = await start(smtp, ca)
    await read_reply(reader)
    writer.write(b"NOOP " + b"x" * (MAX_COMMAND_LINE_BYTES * 2))
    assert (await read_reply(reader))[0] == 500
    assert await asyncio.wait_for(reader.read(), 3) == b""
    writer.close()


async def test_command_budget(smtp: SmtpServer, ca: LabCA) -> None:
    reader, writer = await start(smtp, ca, SmtpMode.NO_STARTTLS)
    await read_reply(reader)
    writer.write(b"NOOP\r\n" * (MAX_COMMANDS + 5))
    codes = [(await read_reply(reader))[0] for _ in range(MAX_COMMANDS + 1)]
    assert codes[:MAX_COMMANDS] == [250] * MAX_COMMANDS and codes[-1] == 421
    assert await asyncio.wait_for(reader.read(), 3) == b""
    writer.close()


async def test_lifetime_bounds_a_silent_connection(tmp_path: Path, ca: LabCA) -> None:
    server = SmtpServer(tmp_path, lifetime=0.3)
    try:
        reader, writer = await start(server, ca, SmtpMode.TARPIT)
        started = time.perf_counter()
        assert await asyncio.wait_for(reader.read(), 30) == b""
        assert 0.2 < time.perf_counter() - started < bound(0.3)  # a tarpit holds on forever
        writer.close()
    finally:
        await server.close()


async def test_close_does_not_wait_for_clients(tmp_path: Path, ca: LabCA) -> None:
    # Given clients stuck in a tarpit, mid-dialogue, and mid-handshake
    server = SmtpServer(tmp_path, lifetime=60.0)
    clients = [await start(server, ca, SmtpMode.TARPIT) for _ in range(3)]
    reader, writer = await start(server, ca)
    await read_reply(reader)
    writer.write(b"EHLO tester.lab\r\nSTARTTLS\r\n")
    clients.append((reader, writer))
    await asyncio.sleep(0.1)
    # When the server closes
    started = time.perf_counter()
    await asyncio.wait_for(server.close(), 30)
    # Then it returns at once, not after the clients' 60 s lifetime,
    assert time.perf_counter() - started < SLACK_S
    # and every client sees the connection end (EOF or reset)
    for reader, writer in clients:
        with contextlib.suppress(ConnectionResetError):
            await asyncio.wait_for(reader.read(), 2)  # a TimeoutError here fails the test
        writer.close()
