"""Small helpers shared by the check modules (targets, message fragments)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from mxtls.models.findings import endpoint_target
from mxtls.models.observations import EndpointObservation, SmtpReply

MAX_QUOTED_CHARS = 80  # keep quoted peer text short: messages are one line


def target_of(obs: EndpointObservation) -> str:
    """The endpoint target ``MXHOST[IP]:PORT`` of an observation (logical port)."""
    return endpoint_target(obs.host, obs.ip, obs.port)


def quote(text: str, limit: int = MAX_QUOTED_CHARS) -> str:
    """Peer-controlled text made safe for a one-line message: printable, bounded.

    Only what can be shown is read (plus room for the blanks ``strip`` drops),
    so the cost does not grow with the peer's text.
    """
    cut = len(text) > 4 * limit
    flat = "".join(ch if ch.isprintable() else " " for ch in text[: 4 * limit]).strip()
    return flat if len(flat) <= limit and not cut else flat[: limit - 1] + "…"


def reply_summary(reply: SmtpReply) -> str:
    """``421 "too busy"``: the code and the (bounded) text of a reply."""
    text = quote(reply.text)
    return f'{reply.code} "{text}"' if text else str(reply.code)


def stop_detail(obs: EndpointObservation, target: str) -> str:
    """The probe's ``stop_detail`` without its own target prefix (bounded)."""
    detail = obs.stop_detail or obs.stop_reason or "stopped"
    return quote(detail.removeprefix(f"{target}: "), 160)


def seconds(ms: float | None) -> str | None:
    """``10.0s`` from milliseconds, or None when unknown."""
    return None if ms is None else f"{ms / 1000:.1f}s"


def aware(now: datetime) -> datetime:
    """``now`` as an aware UTC datetime (a naive value is taken to be UTC)."""
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def join_names(items: Iterable[str], limit: int = 5) -> str:
    """``a, b, c`` with at most ``limit`` items and a ``(+N more)`` tail."""
    values = list(items)
    head = ", ".join(values[:limit])
    return head if len(values) <= limit else f"{head} (+{len(values) - limit} more)"
