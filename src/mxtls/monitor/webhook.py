"""Webhook alerts: a signed JSON POST per event type, retried with capped backoff.

The contract (findings.md): ``POST`` of ``{"event", "domain", "checked_at",
"changes": [...], "report": <summary>}`` with ``X-Mxtls-Signature:
sha256=<hex HMAC-SHA256 of the body with the secret>`` and
``X-Mxtls-Timestamp``.  As GitHub and Stripe do, the signature covers the
exact bytes sent; the body also carries ``sent_at`` (equal to the timestamp
header) and a delivery ``id``, so a receiver can refuse replays and
duplicates with nothing but the signed body.  Receivers verify with
:func:`verify_signature` (or the five lines of it in any language).

Retries: network errors, 408, 425, 429 and 5xx are retried up to
``max_attempts`` times, waiting ``base * 2**n`` seconds (at most
:data:`BACKOFF_CAP_S`, or the server's ``Retry-After`` within that cap);
any other status is final.  The secret is used for signing only: it is in
no message, log line or delivery record.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from mxtls._version import __version__
from mxtls.monitor.config import WebhookSpec

SIGNATURE_HEADER = "X-Mxtls-Signature"
TIMESTAMP_HEADER = "X-Mxtls-Timestamp"
DELIVERY_HEADER = "X-Mxtls-Delivery"
EVENT_HEADER = "X-Mxtls-Event"
BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 60.0
RETRY_STATUSES = frozenset({408, 425, 429})
MAX_ERROR_CHARS = 300
DEFAULT_TOLERANCE_S = 300.0

Sleep = Callable[[float], Awaitable[None]]


def sign(body: bytes, secret: str) -> str:
    """``sha256=<hex HMAC-SHA256 of body>``: the signature header's value."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(
    body: bytes,
    secret: str,
    signature: str,
    timestamp: str,
    *,
    now: float | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """Receiver side: the signature matches and the timestamp is fresh.

    Compares in constant time (``hmac.compare_digest``); a timestamp more
    than ``tolerance_s`` away from ``now`` is refused (replay).
    """
    try:
        sent = float(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance_s:
        return False
    return hmac.compare_digest(sign(body, secret), signature)


def encode_payload(payload: dict[str, Any]) -> bytes:
    """The body as sent: compact JSON, UTF-8, keys in a stable order."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """How one delivery went (what the delivery log records)."""

    delivery_id: str
    attempts: int
    delivered: bool
    http_status: int | None
    error: str | None


def backoff(attempt: int, base: float, retry_after: float | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based), capped."""
    wait = base * float(2 ** (attempt - 1))
    if retry_after is not None:
        wait = max(wait, retry_after)
    return min(wait, BACKOFF_CAP_S)


async def deliver(
    client: httpx.AsyncClient,
    hook: WebhookSpec,
    payload: dict[str, Any],
    *,
    backoff_base: float = BACKOFF_BASE_S,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.time,
) -> DeliveryResult:
    """POST ``payload`` to ``hook`` until it is accepted (2xx) or the attempts run out.

    The payload gets ``id`` and ``sent_at`` here; each attempt is signed anew
    with a fresh timestamp.
    """
    delivery_id = str(uuid.uuid4())
    status: int | None = None
    error: str | None = None
    for attempt in range(1, hook.max_attempts + 1):
        now = clock()
        stamp = f"{now:.3f}"
        body = encode_payload({**payload, "id": delivery_id, "sent_at": stamp})
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"mxtls/{__version__}",
            SIGNATURE_HEADER: sign(body, hook.secret.reveal()),
            TIMESTAMP_HEADER: stamp,
            DELIVERY_HEADER: delivery_id,
            EVENT_HEADER: str(payload.get("event", "")),
        }
        retry_after: float | None = None
        try:
            response = await client.post(
                hook.url, content=body, headers=headers, timeout=hook.timeout_s
            )
        except httpx.HTTPError as exc:
            text = f"{type(exc).__name__}: {exc}".replace(hook.url, hook.label)
            status, error = None, text[:MAX_ERROR_CHARS]
            retry = True
        else:
            status = response.status_code
            if 200 <= status < 300:
                return DeliveryResult(delivery_id, attempt, True, status, None)
            error = f"HTTP {status}"
            retry = status in RETRY_STATUSES or status >= 500
            retry_after = _retry_after(response.headers.get("Retry-After"))
        if not retry or attempt == hook.max_attempts:
            return DeliveryResult(delivery_id, attempt, False, status, error)
        await sleep(backoff(attempt, backoff_base, retry_after))
    return DeliveryResult(delivery_id, hook.max_attempts, False, status, error)  # pragma: no cover


def _retry_after(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None  # the HTTP-date form is not worth a parser here
    return float(value.strip())
