"""RawStream and the one OSError -> ConnectFailure mapping."""

from __future__ import annotations

import asyncio
import errno
import socket
import time
from collections.abc import Awaitable, Callable

import pytest

from mxtls.net.guard import ALLOW_ALL
from mxtls.net.stream import RECV_BUFFER_BYTES, RawStream, classify_error, connect
from tests.bounds import bound

from .servers import write

Serve = Callable[..., Awaitable[int]]

CLASSIFY_CASES: list[tuple[BaseException, str]] = [
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), "refused"),
    (OSError(errno.ECONNREFUSED, "Connect call failed"), "refused"),
    (TimeoutError(), "timeout"),
    (OSError(errno.ETIMEDOUT, "timed out"), "timeout"),
    (OSError(errno.ENETUNREACH, "Network is unreachable"), "unreachable"),
    (OSError(errno.EHOSTUNREACH, "No route to host"), "unreachable"),
    (OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address"), "unreachable"),
    (ConnectionResetError(errno.ECONNRESET, "reset by peer"), "reset"),
    (BrokenPipeError(errno.EPIPE, "Broken pipe"), "reset"),
    (OSError(errno.EACCES, "Permission denied"), "other"),
    (ValueError("odd"), "other"),
]


@pytest.mark.parametrize(("exc", "kind"), CLASSIFY_CASES, ids=lambda x: repr(x)[:40])
def test_classify_error(exc: BaseException, kind: str) -> None:
    failure = classify_error(exc)
    assert failure.kind == kind
    assert type(exc).__name__ in failure.detail


async def test_connect_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = await connect("127.0.0.1", port, 1.0, ALLOW_ALL)
    assert not isinstance(result, RawStream)
    assert result.kind == "refused"


async def test_connect_timeout_on_a_full_backlog() -> None:
    # Linux drops SYNs to a listener whose accept queue is full: a real connect
    # timeout without leaving loopback.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
            fillers.append(c)
        await asyncio.sleep(0.05)
        t0 = time.monotonic()
        result = await connect("127.0.0.1", port, 0.3, ALLOW_ALL)
        elapsed = time.monotonic() - t0
        if isinstance(result, RawStream):
            result.abort()
            pytest.skip("this kernel accepted the SYN despite a full backlog")
        assert result.kind == "timeout"
        assert "0.3s" in result.detail
        assert elapsed < bound(0.3)  # not the kernel's SYN retries (a minute and more)
    finally:
        for c in fillers:
            c.close()
        listener.close()


async def test_recv_is_capped_and_recv_nowait_never_waits(serve: Serve) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, b"0123456789")
        await asyncio.sleep(5)

    port = await serve(handler)
    stream = await connect("127.0.0.1", port, 1.0, ALLOW_ALL)
    assert isinstance(stream, RawStream)
    try:
        async with asyncio.timeout(1):
            assert await stream.recv(4) == b"0123"
        assert stream.recv_nowait(100) == b"456789"
        assert stream.recv_nowait(100) == b""  # nothing buffered: returns at once
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await stream.recv(10)
    finally:
        await stream.aclose()


async def test_flood_is_held_to_the_buffer_cap_then_eof(serve: Serve) -> None:
    total = 16 * RECV_BUFFER_BYTES  # 1 MiB

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        for _ in range(16):
            await write(w, b"x" * RECV_BUFFER_BYTES)

    port = await serve(handler)
    stream = await connect("127.0.0.1", port, 1.0, ALLOW_ALL)
    assert isinstance(stream, RawStream)
    got = 0
    try:
        await asyncio.sleep(0.1)  # let the server push as much as it can
        # Reading pauses once the cap is reached: at most the cap plus one socket read
        # (asyncio's selector transport reads up to 256 KiB at a time) is held.
        held = len(stream.recv_nowait(10 * RECV_BUFFER_BYTES))
        assert 0 < held <= RECV_BUFFER_BYTES + 256 * 1024
        assert held < total
        async with asyncio.timeout(2):
            while chunk := await stream.recv(65536):
                got += len(chunk)
    finally:
        await stream.aclose()
    assert 0 < got <= total
    assert stream.at_eof


async def test_send_after_peer_reset_raises_oserror(serve: Serve) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        sock = w.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        w.transport.abort()  # RST

    port = await serve(handler)
    stream = await connect("127.0.0.1", port, 1.0, ALLOW_ALL)
    assert isinstance(stream, RawStream)
    try:
        async with asyncio.timeout(1):
            try:
                data = await stream.recv(10)
            except ConnectionResetError as exc:
                assert classify_error(exc).kind == "reset"
            else:
                assert data == b""
        with pytest.raises(OSError):
            for _ in range(3):
                await stream.send(b"NOOP\r\n")
                await asyncio.sleep(0.05)
    finally:
        await stream.aclose()
