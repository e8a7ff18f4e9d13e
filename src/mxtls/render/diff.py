"""What changed between two reports, for a person (text, Markdown) or a script (JSON).

The events come from :func:`mxtls.monitor.diff.diff_reports`, the monitor's
own comparison, so ``mxtls diff`` and the monitor's webhooks name the same
changes with the same types (``finding.new``, ``finding.resolved``,
``cert.changed``, ``verdict.changed``, ``check.failed``).  The grade is not
an event; both grades are shown alongside.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mxtls.models.report import Report
from mxtls.monitor.diff import (
    EVENTS_ADAPTER,
    CertChangedEvent,
    CheckFailedEvent,
    Event,
    FindingEvent,
    VerdictChangedEvent,
)
from mxtls.render.markdown import md

DIFF_SCHEMA = "mxtls-diff/1"


def _grade(report: Report) -> str:
    return report.grade.letter if report.grade is not None else "none"


def describe(event: Event) -> str:
    """One line for one event (without its type)."""
    if isinstance(event, FindingEvent):
        text = (
            event.message
            if event.message.startswith(event.target)
            else (f"{event.target}: {event.message}")
        )
        return f"{event.severity.value} {event.code} {text}"
    if isinstance(event, CertChangedEvent):
        key = "new key" if event.key_changed else "same key"
        line = (
            f"{event.target}: new leaf sha256 {event.new_sha256[:16]}… "
            f"(was {event.old_sha256[:16]}…), {key}, valid until {event.new_not_after:%Y-%m-%d}"
        )
        if event.tlsa_matches is not None:
            line += "; TLSA matches" if event.tlsa_matches else "; TLSA does NOT match"
        return line
    if isinstance(event, VerdictChangedEvent):
        return f"{event.sender} senders: {event.old} → {event.new} ({event.summary})"
    if isinstance(event, CheckFailedEvent):
        return f"the check failed: {event.error}"
    raise AssertionError(f"unknown event {event!r}")  # pragma: no cover


def _header(old: Report, new: Report) -> list[str]:
    when = "%Y-%m-%d %H:%M UTC"
    return [
        f"{new.domain}: {old.checked_at.strftime(when)} → {new.checked_at.strftime(when)}",
        f"grade {_grade(old)} → {_grade(new)}",
    ]


def render_diff_text(old: Report, new: Report, events: Sequence[Event]) -> str:
    """Plain text: a header, then one line per event."""
    lines = _header(old, new)
    if not events:
        lines.append("no changes")
    else:
        lines.append(f"{len(events)} change{'s' if len(events) != 1 else ''}:")
        width = max(len(e.type) for e in events)
        lines += [f"  {e.type:<{width}}  {describe(e)}" for e in events]
    return "\n".join(lines) + "\n"


def render_diff_markdown(old: Report, new: Report, events: Sequence[Event]) -> str:
    """Markdown for a ticket: the header, then a list of changes."""
    head = _header(old, new)
    lines = [f"# Changes for {md(new.domain)}", "", md(head[0]), "", f"**{md(head[1])}**", ""]
    if not events:
        lines.append("No changes.")
    lines += [f"- `{e.type}` {md(describe(e))}" for e in events]
    return "\n".join(lines).rstrip("\n") + "\n"


def diff_document(old: Report, new: Report, events: Sequence[Event]) -> dict[str, Any]:
    """The JSON document: both reports' identity and grade, and the events."""

    def side(r: Report) -> dict[str, Any]:
        return {
            "checked_at": r.checked_at.isoformat().replace("+00:00", "Z"),
            "grade": r.grade.letter if r.grade is not None else None,
        }

    return {
        "schema": DIFF_SCHEMA,
        "domain": new.domain,
        "old": side(old),
        "new": side(new),
        "events": EVENTS_ADAPTER.dump_python(list(events), mode="json"),
    }


def render_diff_json(old: Report, new: Report, events: Sequence[Event]) -> str:
    """JSON text of :func:`diff_document`."""
    return json.dumps(diff_document(old, new, events), indent=2, ensure_ascii=False) + "\n"
