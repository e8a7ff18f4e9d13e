"""Peer-controlled text inside our own messages: always bounded.

Error reasons, notes and stop details quote what a peer sent (a TXT field, a
policy line, a reply) so that a user sees *what* is wrong.  The peer chooses
the length of what it sends, so every quotation goes through here: a 64 KB
TXT record must not become a 63 KB reason (issue 8).

* :func:`shown` quotes one value (``repr`` style) cut to
  :data:`MAX_SHOWN_CHARS`;
* :func:`clip` cuts a finished message to :data:`MAX_REASON_CHARS`;
* :func:`bounded_reasons` keeps at most :data:`MAX_REASONS` messages, each
  clipped, and says how many more there were.

Each works in time linear in the size of its *output*, not its input.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ELLIPSIS",
    "MAX_REASONS",
    "MAX_REASON_CHARS",
    "MAX_SHOWN_CHARS",
    "bounded_reasons",
    "clip",
    "shown",
]

MAX_SHOWN_CHARS = 80  # one quoted value in a message
MAX_REASON_CHARS = 300  # one whole message (reason, note, stop detail)
MAX_REASONS = 20  # messages kept per parse; the rest are counted
ELLIPSIS = "…"


def clip(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """``text`` cut to at most ``limit`` characters, the cut marked with ``…``."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def shown(value: str | bytes, limit: int = MAX_SHOWN_CHARS) -> str:
    """``repr(value)`` of at most ``limit`` characters of it (``'abc…'`` when cut).

    Identical to ``repr(value)`` for a value within the bound, so short
    messages read as before.
    """
    if len(value) <= limit:
        return repr(value)
    head = value[:limit]
    return repr(head)[:-1] + ELLIPSIS + repr(head)[-1]


def bounded_reasons(reasons: Sequence[str]) -> tuple[str, ...]:
    """At most :data:`MAX_REASONS` reasons, each clipped; a last one counts the rest."""
    kept = tuple(clip(r) for r in reasons[:MAX_REASONS])
    dropped = len(reasons) - len(kept)
    if dropped > 0:
        kept += (f"… and {dropped} more problem{'s' if dropped != 1 else ''}",)
    return kept
