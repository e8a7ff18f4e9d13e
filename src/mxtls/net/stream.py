"""A bounded byte stream over asyncio, and the one place OS errors become data.

The SMTP session needs three things asyncio's ``StreamReader`` does not
give publicly: reads capped at a size the caller chooses, a way to take what
has *already* arrived without waiting (to catch plaintext a server sent
after its 220 to STARTTLS), and the raw socket bytes for a TLS engine that
runs on memory BIOs.  :class:`RawStream` is that: a small ``asyncio.Protocol``
with a capped receive buffer: reading pauses above ``RECV_BUFFER_BYTES``, so
a flooding peer costs at most that plus one socket read (asyncio reads up to
256 KiB at a time).

Every network await in mxtls sits under a caller's deadline
(``asyncio.timeout``); nothing here waits on its own except :func:`connect`,
which takes its timeout explicitly.  :func:`open_stream` is the same
connection for callers that want exceptions rather than data, with TLS
(``ssl``) on top when asked: the MTA-STS policy fetch, whose TLS is a
plain verified client session, not an observation.  :func:`classify_error` maps
``OSError``/``TimeoutError`` to :class:`ConnectFailure` kinds, and nothing
else in ``net/`` inspects errno values.
"""

from __future__ import annotations

import asyncio
import errno
import ssl

from mxtls.models.observations import ConnectFailure
from mxtls.net.guard import AddressPolicy

__all__ = ["RECV_BUFFER_BYTES", "RawStream", "classify_error", "connect", "open_stream"]

RECV_BUFFER_BYTES = 64 * 1024  # received but unread bytes held before reading pauses
CLOSE_WAIT_SECONDS = 0.5  # bound on waiting for the peer's FIN (about one long round trip)

_REFUSED = {errno.ECONNREFUSED}
_UNREACHABLE = {
    errno.ENETUNREACH,
    errno.EHOSTUNREACH,
    errno.ENETDOWN,
    errno.EHOSTDOWN,
    errno.EADDRNOTAVAIL,
    errno.EAFNOSUPPORT,
}
_RESET = {errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED, errno.ESHUTDOWN}


def classify_error(exc: BaseException) -> ConnectFailure:
    """Map a connect or I/O exception to a :class:`ConnectFailure` (the only such mapping).

    Kinds: ``refused`` (RST to the SYN), ``timeout``, ``unreachable`` (no
    route, address not available), ``reset`` (the peer tore the connection
    down), ``other``.
    """
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, TimeoutError):
        return ConnectFailure(kind="timeout", detail=detail)
    if isinstance(exc, ConnectionRefusedError):
        return ConnectFailure(kind="refused", detail=detail)
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return ConnectFailure(kind="reset", detail=detail)
    if isinstance(exc, OSError):
        code = exc.errno
        if code in _REFUSED:
            return ConnectFailure(kind="refused", detail=detail)
        if code in _UNREACHABLE:
            return ConnectFailure(kind="unreachable", detail=detail)
        if code in _RESET:
            return ConnectFailure(kind="reset", detail=detail)
        if code == errno.ETIMEDOUT:
            return ConnectFailure(kind="timeout", detail=detail)
    return ConnectFailure(kind="other", detail=detail)


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.lost = False  # connection_lost has run: the transport is gone
        self.error: Exception | None = None
        self.paused = False
        self._data_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._writing_paused = False

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= RECV_BUFFER_BYTES and not self.paused and self.transport:
            self.transport.pause_reading()
            self.paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.lost = True
        if exc is not None and self.error is None:
            self.error = exc
        self._wake()
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    # helpers for RawStream
    def _wake(self) -> None:
        if self._data_waiter is not None and not self._data_waiter.done():
            self._data_waiter.set_result(None)

    async def wait_data(self) -> None:
        self._data_waiter = asyncio.get_running_loop().create_future()
        try:
            await self._data_waiter
        finally:
            self._data_waiter = None

    async def drain(self) -> None:
        if not self._writing_paused or self.eof:
            return
        self._drain_waiter = asyncio.get_running_loop().create_future()
        try:
            await self._drain_waiter
        finally:
            self._drain_waiter = None


class RawStream:
    """A connected TCP stream with capped reads; create it with :func:`connect`."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def recv(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` bytes, waiting until some arrive; ``b""`` at end of stream.

        The caller bounds the wait (``asyncio.timeout``).

        Raises:
            OSError: the connection failed (e.g. ``ConnectionResetError``);
                map it with :func:`classify_error`.
        """
        p = self._protocol
        while not p.buffer:
            if p.error is not None:
                raise p.error
            if p.eof:
                return b""
            await p.wait_data()
        return self._take(max_bytes)

    def recv_nowait(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` bytes that have already arrived (possibly ``b""``); never waits."""
        return self._take(max_bytes)

    def _take(self, max_bytes: int) -> bytes:
        p = self._protocol
        data = bytes(p.buffer[:max_bytes])
        del p.buffer[:max_bytes]
        if p.paused and len(p.buffer) < RECV_BUFFER_BYTES // 2:
            p.paused = False
            self._transport.resume_reading()
        return data

    @property
    def at_eof(self) -> bool:
        """True when the peer has closed and every received byte was read."""
        return self._protocol.eof and not self._protocol.buffer

    async def send(self, data: bytes) -> None:
        """Write ``data`` and wait while the kernel buffer is full.

        Raises:
            ConnectionResetError: the connection is already closed.
        """
        p = self._protocol
        if self._transport.is_closing() or (p.eof and p.error is not None):
            raise ConnectionResetError(errno.ECONNRESET, "connection closed by peer")
        self._transport.write(data)
        await p.drain()

    async def aclose(self) -> None:
        """Close gracefully: send FIN, wait for the peer's, then close; never raises.

        The peer's FIN (or its reset) is awaited at most ``CLOSE_WAIT_SECONDS``,
        after which the connection is aborted.  Waiting for it means the peer
        has let go of the connection when this returns, so a connection slot
        given back afterwards is free on the server's side too
        (:mod:`mxtls.net.politeness`).  Data still arriving is discarded.  A
        TLS stream (:func:`open_stream` with ``tls``) sends its close_notify
        and waits, as long, for the transport to finish.  Cancelled while
        waiting, the connection is aborted, then the cancellation goes on.
        """
        transport, p = self._transport, self._protocol
        if transport.is_closing():
            return
        try:
            async with asyncio.timeout(CLOSE_WAIT_SECONDS):
                if not transport.can_write_eof():  # TLS: close_notify, then the transport ends
                    transport.close()
                    while not p.lost:
                        self._discard()
                        await p.wait_data()
                    return
                if not p.eof:
                    transport.write_eof()
                    while not p.eof:
                        self._discard()
                        await p.wait_data()
        except (TimeoutError, OSError, RuntimeError):
            transport.abort()
            return
        except BaseException:
            transport.abort()
            raise
        transport.close()

    def _discard(self) -> None:
        p = self._protocol
        p.buffer.clear()
        if p.paused:
            p.paused = False
            self._transport.resume_reading()

    def abort(self) -> None:
        """Drop the connection at once (RST when data is unread)."""
        self._transport.abort()


async def connect(
    ip: str, port: int, timeout: float, policy: AddressPolicy
) -> RawStream | ConnectFailure:
    """Open a TCP connection to ``ip``:``port`` within ``timeout`` seconds.

    ``ip`` is an address literal: no name resolution happens here (the
    run's resolver already did it).  ``policy`` (the run's
    ``config.address_policy``) is asked first, about this very address and
    port: a refusal is a ``blocked`` failure, and no packet is sent.

    Returns:
        The stream, or the failure as data (blocked, refused, timeout,
        unreachable, ...).
    """
    refusal = policy.refusal(ip, port)
    if refusal is not None:
        return ConnectFailure(kind="blocked", detail=f"not connected: {refusal}")
    try:
        async with asyncio.timeout(timeout):
            return await _open(ip, port, None, None)
    except TimeoutError:
        return ConnectFailure(kind="timeout", detail=f"no TCP connection within {timeout:g}s")
    except OSError as exc:
        return classify_error(exc)


async def open_stream(
    ip: str,
    port: int,
    policy: AddressPolicy,
    *,
    tls: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
) -> RawStream:
    """Connect to ``ip``:``port`` as :func:`connect` does, raising instead of returning data.

    With ``tls``, a TLS session is set up over the connection before this
    returns (``server_hostname`` is sent as SNI and, when the context checks
    host names, the certificate must name it).  The caller bounds the wait
    (``asyncio.timeout``).

    Raises:
        mxtls.net.guard.Refused: the policy does not allow the connection
            (no packet was sent).
        ssl.SSLCertVerificationError: the certificate was rejected.
        ssl.SSLError: the TLS handshake failed otherwise.
        OSError: the connection failed (map it with :func:`classify_error`).
    """
    policy.check(ip, port)
    return await _open(ip, port, tls, server_hostname)


async def _open(
    ip: str, port: int, tls: ssl.SSLContext | None, server_hostname: str | None
) -> RawStream:
    loop = asyncio.get_running_loop()
    if tls is None:
        transport, protocol = await loop.create_connection(_Protocol, ip, port)
    else:
        transport, protocol = await loop.create_connection(
            _Protocol,
            ip,
            port,
            ssl=tls,
            server_hostname=server_hostname,
            ssl_shutdown_timeout=CLOSE_WAIT_SECONDS,
        )
    assert isinstance(transport, asyncio.Transport)
    return RawStream(transport, protocol)
