"""The gate in front of every route: size limit, request rate, security headers, access log.

One pure ASGI middleware (no per-request thread, no body buffering):

* a request body larger than the limit is refused with 413, whether it says
  so in ``Content-Length`` or keeps sending (the count stops it);
* each client address gets a token bucket of requests (429 beyond it);
* every response carries the security headers: a Content-Security-Policy
  that allows only the application's own scripts, styles and images (no
  inline script, no framing), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: no-referrer``, and ``Cache-Control: no-store`` on the API;
* one structured (JSON) access-log line per request: method, path without
  its query string (where secrets would be), status, duration, client,
  route template; never a header value or a key.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import HTTPConnection

from mxtls.web.service import WebService

log = logging.getLogger("mxtls.web.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"interest-cohort=()"),
)
UPLOAD_PATHS = ("/tlsrpt",)  # the one route that takes a larger body


class _TooLarge(Exception):
    pass


class Gate:
    """The ASGI middleware (see the module docstring); ``service`` is read per request."""

    def __init__(self, app: App, service: Callable[[], WebService | None]) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request (other scopes pass through)."""
        service = self.service()
        if scope["type"] != "http" or service is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        conn = HTTPConnection(scope)
        client = service.limiter.client(conn)
        path: str = scope.get("path", "")
        limit = (
            service.settings.max_tlsrpt_bytes
            if path in UPLOAD_PATHS
            else service.settings.max_body_bytes
        )
        status = 500
        api = path.startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                headers.extend(SECURITY_HEADERS)
                if api:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        try:
            declared = conn.headers.get("content-length", "")
            wait = service.limiter.request_wait(conn)
            if declared.isdigit() and int(declared) > limit:
                service.metrics.refused.labels("body_size").inc()
                await _plain(send_with_headers, 413, f"request body over {limit} bytes")
            elif wait > 0:
                service.metrics.refused.labels("request_rate").inc()
                await _plain(
                    send_with_headers, 429, "too many requests", retry_after=math.ceil(wait)
                )
            else:
                try:
                    await self.app(scope, bounded_receive, send_with_headers)
                except _TooLarge:
                    service.metrics.refused.labels("body_size").inc()
                    await _plain(send_with_headers, 413, f"request body over {limit} bytes")
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            service.metrics.requests.labels(template, method, str(status)).inc()
            log.info(
                json.dumps(
                    {
                        "client": client,
                        "method": method,
                        "path": path[:200],  # the query string is never logged
                        "route": template,
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    }
                )
            )


async def _plain(send: Send, status: int, text: str, *, retry_after: int | None = None) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": (text + "\n").encode()})
