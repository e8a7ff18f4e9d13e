"""A real local webhook receiver that verifies signatures the way a user's would.

It does not use mxtls's own verification helper: the HMAC is recomputed here
from the raw body with :mod:`hmac`, so a signing bug cannot hide behind a
matching verification bug.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY_BYTES = 1024 * 1024
FRESH_S = 300.0


@dataclass
class Received:
    """One POST as it arrived."""

    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class WebhookReceiver:
    """``with WebhookReceiver(secret) as r: r.url`` — records every request."""

    secret: str
    fail_first: int = 0  # answer 503 to this many requests first
    requests: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    @property
    def accepted(self) -> list[Received]:
        """Requests answered 2xx (verified ones only are accepted)."""
        with self._lock:
            return [r for r in self.requests if r.headers.get("x-answer") == "204"]

    def __enter__(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(min(length, MAX_BODY_BYTES))
                sig = self.headers.get("X-Mxtls-Signature", "")
                stamp = self.headers.get("X-Mxtls-Timestamp", "0")
                expected = (
                    "sha256=" + hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
                )
                fresh = abs(time.time() - float(stamp)) < FRESH_S
                verified = hmac.compare_digest(expected, sig) and fresh
                with receiver._lock:
                    failing = len(receiver.requests) < receiver.fail_first
                    status = 503 if failing else (204 if verified else 401)
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    headers["x-answer"] = str(status)
                    receiver.requests.append(Received(headers, body, verified))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
