"""One HTTP/1.1 request and its response over a :class:`~mxtls.net.stream.RawStream`, on h11.

Theory of operation
-------------------
h11 is the sans-I/O HTTP/1.1 codec (httpx and httpcore are built on it): it
turns bytes into events (``Response``, ``Data``, ``EndOfMessage``) and checks
the framing (status line, header syntax, ``Content-Length`` against
``Transfer-Encoding``, chunk sizes), and nothing else.  This module moves the
bytes, as :mod:`mxtls.net.smtp_session` does for the SMTP codec, and adds
nothing a caller did not ask for: no redirects, no content decoding, no
cookies, no proxies, no connection reuse.  What a response means is the
caller's business (:mod:`mxtls.net.https` judges a policy response as a
sender would).

Bounds: the status line and headers together may take at most
``max_head_bytes`` (h11 refuses a longer head with a
``RemoteProtocolError``); at most :data:`MAX_INTERIM_RESPONSES` 1xx responses
are skipped; each read takes at most :data:`READ_BYTES`.  The body comes out
piece by piece, as it arrives, so the caller counts and caps it before any
more is read.  Nothing here waits on its own: the caller bounds every await
(``asyncio.timeout``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import h11

from mxtls.net.stream import RawStream

__all__ = ["MAX_HEAD_BYTES", "HttpExchange", "ResponseHead"]

MAX_HEAD_BYTES = 16 * 1024  # status line + headers (h11's default, stated here)
READ_BYTES = 16 * 1024  # one read from the stream
MAX_INTERIM_RESPONSES = 8  # 1xx responses skipped before the final one


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """A final response's status line and headers (names lower-cased, values as Latin-1)."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]

    def values(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), in order."""
        key = name.lower()
        return [value for header, value in self.headers if header == key]

    def get(self, name: str) -> str | None:
        """Header ``name``'s values joined by ``", "`` (RFC 9110 §5.3), None when absent."""
        found = self.values(name)
        return ", ".join(found) if found else None


class HttpExchange:
    """One request and its response on a connected stream (the connection is not reused).

    Use: :meth:`send_request`, :meth:`read_head`, then :meth:`body` until it
    ends.  Errors: ``h11.RemoteProtocolError`` when the peer breaks HTTP/1.1
    (or the head exceeds its bound), ``OSError`` from the stream.
    """

    def __init__(self, stream: RawStream, *, max_head_bytes: int = MAX_HEAD_BYTES) -> None:
        self._stream = stream
        self._conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=max_head_bytes)

    @property
    def complete(self) -> bool:
        """True once the whole response (body included) has been read."""
        return self._conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED)

    async def send_request(
        self, method: str, target: str, headers: Sequence[tuple[str, str]]
    ) -> None:
        """Send the request head (``headers`` must include ``Host``); no body.

        Raises:
            OSError: the connection failed.
        """
        data = self._conn.send(h11.Request(method=method, target=target, headers=list(headers)))
        data = (data or b"") + (self._conn.send(h11.EndOfMessage()) or b"")
        await self._stream.send(data)

    async def _next_event(self) -> object:
        """The next event h11 has (reading as needed): an ``h11.Event`` or ``h11.PAUSED``."""
        while True:
            event = self._conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            self._conn.receive_data(await self._stream.recv(READ_BYTES))  # b"": end of stream

    async def read_head(self) -> ResponseHead:
        """The final response's head, after at most :data:`MAX_INTERIM_RESPONSES` 1xx ones.

        Raises:
            h11.RemoteProtocolError: not an HTTP/1.x response, a head over
                its bound, or the connection closed before a response.
            OSError: the connection failed.
        """
        for _ in range(MAX_INTERIM_RESPONSES + 1):
            event = await self._next_event()
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                return ResponseHead(
                    status=event.status_code,
                    reason=event.reason.decode("latin-1"),
                    headers=tuple(
                        (name.decode("latin-1"), value.decode("latin-1"))
                        for name, value in event.headers
                    ),
                )
            raise h11.RemoteProtocolError(f"expected a response, got {type(event).__name__}")
        raise h11.RemoteProtocolError(f"more than {MAX_INTERIM_RESPONSES} interim responses")

    async def body(self) -> AsyncIterator[bytes]:
        """The response body, piece by piece as it arrives (no content decoding).

        Raises:
            h11.RemoteProtocolError: bad framing (chunk syntax, a body cut
                short of its ``Content-Length``).
            OSError: the connection failed.
        """
        while True:
            event = await self._next_event()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                return
            else:
                raise h11.RemoteProtocolError(f"unexpected {type(event).__name__} in a body")
