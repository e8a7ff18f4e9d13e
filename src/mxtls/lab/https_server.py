"""A small HTTPS server for the lab: the MTA-STS policy hosts, good and broken.

Theory of operation: a :class:`HttpsSite` is a host name (``mta-sts.DOMAIN``),
its certificate and a table of paths to canned :class:`HttpsResponse` objects.
Every listener serves one default site (the host that owns its address) and
an ``sni_callback`` switches the TLS context to the site the client names in
SNI, so the certificate is chosen by SNI as on a shared web server; a client
without SNI, or naming a host the lab does not serve, gets the default site's
certificate.  After the handshake the server reads one request head (bounded
in bytes and time), answers with a complete HTTP/1.1 response (status line,
``Content-Type``, ``Content-Length``, ``Connection: close``) and closes: one
request per connection is all a policy fetch needs.

:func:`policy_response` turns a :class:`PolicyServing` case into the response
a sender meets: the policy as ``text/plain``, a 404, a 301 redirect, the
policy as ``text/html``, a body over the 64 KiB senders accept, or a body
trickled so slowly that the sender's timeout ends the fetch.

Closing the server aborts every connection and cancels every handler, so a
test run never waits for a slow client.
"""

from __future__ import annotations

import asyncio
import http
import itertools
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from mxtls.lab.ca import Issued
from mxtls.protocol.mta_sts import MTA_STS_POLICY_MAX_BYTES

log = logging.getLogger(__name__)

MTA_STS_PATH = "/.well-known/mta-sts.txt"  # RFC 8461 §3.3
CONNECTION_LIFETIME_S = 30.0  # any lab HTTPS connection, slow ones included, ends after this
HANDSHAKE_TIMEOUT_S = 10.0  # server side of the TLS handshake
CLOSE_TIMEOUT_S = 2.0  # TLS close_notify exchange and socket close
REQUEST_TIMEOUT_S = 10.0  # the whole request head must arrive within this
MAX_REQUEST_HEAD_BYTES = 8 * 1024  # request line + headers; RFC 9112 §3 leaves it to us
MAX_REQUEST_TARGET_CHARS = 2048  # longer request targets get 414
OVERSIZE_BODY_BYTES = MTA_STS_POLICY_MAX_BYTES + 4096  # over RFC 8461 §3.3's 64 KiB
SLOW_CHUNK_BYTES = 1  # ``slow``: body bytes per write
SLOW_CHUNK_DELAY_S = 0.5  # ``slow``: pause between writes (a 100-byte policy takes 50 s)
SERVER_NAME = "mxtls-lab"


class PolicyServing(StrEnum):
    """How a lab policy host answers ``GET /.well-known/mta-sts.txt``."""

    OK = "ok"  # 200, text/plain, the policy
    NOT_FOUND = "not_found"  # 404
    REDIRECT = "redirect"  # 301 to another host (senders must not follow it)
    WRONG_MEDIA_TYPE = "wrong_media_type"  # 200 with the policy, but as text/html
    OVERSIZE = "oversize"  # 200 text/plain, body larger than 64 KiB
    SLOW = "slow"  # 200 text/plain, the body trickled a byte at a time


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpsResponse:
    """A canned response.

    Attributes:
        status: the status code; the reason phrase is the standard one.
        content_type: the ``Content-Type`` header (None: no header).
        body: the body (``Content-Length`` is its length).
        location: a ``Location`` header (redirects).
        chunk_bytes: 0 sends the body at once; otherwise in pieces this big ...
        chunk_delay_s: ... with this pause before each piece.
    """

    status: int = 200
    content_type: str | None = "text/plain"
    body: bytes = b""
    location: str | None = None
    chunk_bytes: int = 0
    chunk_delay_s: float = 0.0

    def head(self, *, extra: Mapping[str, str] | None = None) -> bytes:
        """Status line and headers, ending with the empty line."""
        try:
            reason = http.HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {self.status} {reason}", f"Server: {SERVER_NAME}"]
        if self.content_type is not None:
            lines.append(f"Content-Type: {self.content_type}")
        lines.append(f"Content-Length: {len(self.body)}")
        if self.location is not None:
            lines.append(f"Location: {self.location}")
        lines += [f"{name}: {value}" for name, value in (extra or {}).items()]
        lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _error(status: int, text: str | None = None) -> HttpsResponse:
    message = text if text is not None else http.HTTPStatus(status).phrase
    return HttpsResponse(
        status=status, content_type="text/plain; charset=utf-8", body=f"{message}\n".encode()
    )


def policy_response(serving: PolicyServing, policy: str, host: str) -> HttpsResponse:
    """The response a policy host gives for ``serving``.

    Args:
        serving: the case to serve.
        policy: the policy text (served as is, or padded for ``oversize``).
        host: the policy host's name (a redirect points elsewhere in its domain).
    """
    body = policy.encode("utf-8")
    match serving:
        case PolicyServing.OK:
            return HttpsResponse(body=body)
        case PolicyServing.NOT_FOUND:
            return _error(404)
        case PolicyServing.REDIRECT:
            domain = host.removeprefix("mta-sts.")
            return HttpsResponse(
                status=301,
                content_type="text/html",
                body=b"<a href=''>moved</a>\n",
                location=f"https://www.{domain}{MTA_STS_PATH}",
            )
        case PolicyServing.WRONG_MEDIA_TYPE:
            return HttpsResponse(content_type="text/html", body=body)
        case PolicyServing.OVERSIZE:
            # Extension lines are legal policy syntax (RFC 8461 §3.2), so only
            # the size is wrong.
            line = b"x-padding: " + b"p" * 117 + b"\r\n"  # 130 bytes a line
            padding = line * (OVERSIZE_BODY_BYTES // len(line) + 1)
            return HttpsResponse(body=(body + padding)[:OVERSIZE_BODY_BYTES])
        case PolicyServing.SLOW:
            return HttpsResponse(
                body=body, chunk_bytes=SLOW_CHUNK_BYTES, chunk_delay_s=SLOW_CHUNK_DELAY_S
            )
    raise AssertionError(f"unhandled policy serving {serving}")  # pragma: no cover


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpsSite:
    """One virtual host: its name, its certificate and its paths."""

    host: str
    cert: Issued
    routes: Mapping[str, HttpsResponse] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "host", self.host.rstrip(".").lower())


@dataclass(eq=False)
class HttpsListener:
    """One listening socket and the site it serves by default."""

    host: str
    port: int
    site: HttpsSite
    server: asyncio.Server
    connections: int = 0  # accepted (TLS handshake done) so far


class HttpsServer:
    """HTTPS listeners sharing a table of sites (chosen by SNI) and a certificate directory.

    Args:
        workdir: where certificate chains and keys are written for ``ssl``.
        lifetime: total bound on any connection, seconds.
    """

    def __init__(self, workdir: Path, *, lifetime: float = CONNECTION_LIFETIME_S) -> None:
        self.workdir = workdir
        self.lifetime = lifetime
        self.sites: dict[str, HttpsSite] = {}
        self.listeners: list[HttpsListener] = []
        self.requests: list[tuple[str, str, str]] = []  # (site, method, target) as received
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._context_sites: dict[int, HttpsSite] = {}
        self._files = itertools.count()
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    def add_site(self, site: HttpsSite) -> None:
        """Serve ``site`` (by SNI on every listener; by default on the ones given it).

        Raises:
            ValueError: a site of that name is already serving connections.
        """
        if site.host in self._contexts:
            raise ValueError(f"site {site.host} is already being served")
        self.sites[site.host] = site

    def _context(self, site: HttpsSite) -> ssl.SSLContext:
        cached = self._contexts.get(site.host)
        if cached is not None:
            return cached
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        crt, key = site.cert.write(self.workdir, f"https-{next(self._files)}")
        context.load_cert_chain(crt, key)
        context.set_alpn_protocols(["http/1.1"])
        context.sni_callback = self._pick
        self._contexts[site.host] = context
        self._context_sites[id(context)] = site  # the context is kept alive in _contexts
        return context

    def _pick(self, sslobj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        """SNI: switch to the named site's certificate; unknown names keep the default."""
        site = self.sites.get(name.rstrip(".").lower()) if name else None
        if site is not None:
            sslobj.context = self._context(site)

    async def listen(self, host: str, port: int, site: str) -> HttpsListener:
        """Start a listener on ``host:port`` (0: any port) whose default site is ``site``.

        Raises:
            KeyError: ``site`` was not added.
            OSError: the address or port cannot be bound.
        """
        default = self.sites[site.rstrip(".").lower()]
        holder: list[HttpsListener] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._serve(holder[0], reader, writer)

        server = await asyncio.start_server(
            handle,
            host,
            port,
            ssl=self._context(default),
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S,
            ssl_shutdown_timeout=CLOSE_TIMEOUT_S,
            limit=MAX_REQUEST_HEAD_BYTES,
            reuse_address=True,
            start_serving=False,
        )
        actual = server.sockets[0].getsockname()[1]
        listener = HttpsListener(host=host, port=actual, site=default, server=server)
        holder.append(listener)
        self.listeners.append(listener)
        await server.start_serving()
        return listener

    async def close(self) -> None:
        """Stop listening, abort every connection, cancel every handler."""
        for listener in self.listeners:
            listener.server.close()
        self.listeners.clear()
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)

    # -- one connection ----------------------------------------------------

    async def _serve(
        self, listener: HttpsListener, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        listener.connections += 1
        try:
            async with asyncio.timeout(self.lifetime):
                await self._exchange(listener, reader, writer)
            writer.close()  # close_notify after the last byte, then the socket
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await writer.wait_closed()
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass  # the client went away or was too slow: nothing to answer
        except asyncio.CancelledError:
            # close() cancels handlers; the task must still end normally, because
            # asyncio's stream callback calls task.exception() on it (Python 3.11).
            pass
        except Exception:  # a bug must not kill the lab's server
            log.exception("lab HTTPS: failed to answer a request")
        finally:
            self._writers.discard(writer)
            self._tasks.discard(task)
            writer.transport.abort()

    async def _exchange(
        self, listener: HttpsListener, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        site = self._site_of(listener, writer)
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            await self._send(writer, _error(431), head_only=False)
            return
        method, target, response = self._route(site, head)
        self.requests.append((site.host, method, target))
        await self._send(writer, response, head_only=method == "HEAD")

    def _site_of(self, listener: HttpsListener, writer: asyncio.StreamWriter) -> HttpsSite:
        """The site whose certificate the handshake used (the SNI callback's choice)."""
        ssl_object = writer.get_extra_info("ssl_object")
        context = getattr(ssl_object, "context", None)
        site = self._context_sites.get(id(context)) if context is not None else None
        return site if site is not None else listener.site

    def _route(self, site: HttpsSite, head: bytes) -> tuple[str, str, HttpsResponse]:
        """(method, target, response) for one request head (RFC 9112 §3)."""
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            return "", "", _error(400, "malformed request line")
        method, target, _version = parts
        if len(target) > MAX_REQUEST_TARGET_CHARS:
            return method, target[:80], _error(414)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                return method, target, _error(400, "malformed header line")
            headers[name.lower()] = value.strip()
        host = headers.get("host")
        if host is None:  # RFC 9112 §3.2: a request without Host gets 400
            return method, target, _error(400, "missing Host header")
        host_name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        if host_name.rstrip(".").lower() != site.host:
            return method, target, _error(421)  # RFC 9110 §15.5.20: not this connection's host
        if method not in ("GET", "HEAD"):
            return method, target, _error(405)
        response = site.routes.get(target.split("?", 1)[0])
        return method, target, response if response is not None else _error(404)

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, response: HttpsResponse, head_only: bool) -> None:
        extra = {"Allow": "GET, HEAD"} if response.status == 405 else None
        writer.write(response.head(extra=extra))
        await writer.drain()
        if head_only or not response.body:
            return
        if response.chunk_bytes <= 0:
            writer.write(response.body)
            await writer.drain()
            return
        body = response.body
        for i in range(0, len(body), response.chunk_bytes):
            await asyncio.sleep(response.chunk_delay_s)
            writer.write(body[i : i + response.chunk_bytes])
            await writer.drain()
