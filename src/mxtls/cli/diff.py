"""`mxtls diff OLD.json NEW.json`: what changed between two saved reports.

A user without a monitor compares a CI run with the last one: the events are
the monitor's own (:func:`mxtls.monitor.diff.diff_reports`), rendered as text,
Markdown or JSON with the shared --format/--output options.  The top level
is light (click only): models and renderers load when the command runs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mxtls.cli.output import check_writable, chosen_format, deliver, fail, output_options
from mxtls.models.severity import Severity

if TYPE_CHECKING:
    from mxtls.models.report import Report

MAX_REPORT_BYTES = 256 * 1024 * 1024  # a deep scan of many hosts is a few MB; far below this
DIFF_FORMATS = ("text", "json", "markdown")

DIFF_EPILOG = """\\b
Examples:
  mxtls check example.com --json > today.json
  mxtls diff yesterday.json today.json
  mxtls diff last-ci.json this-ci.json --format markdown -o changes.md

\\b
Event types (as the monitor's webhooks): finding.new, finding.resolved,
cert.changed, verdict.changed, check.failed.
Exit status: 0 nothing new at or above --fail-on (default: error),
1 a new finding at or above it, or a check that failed; 2 unreadable input.
"""


def read_report(path: Path) -> Report:
    """A saved ``mxtls/1`` report (``-`` reads standard input); bad input exits 2."""
    from pydantic import ValidationError

    from mxtls.models.report import Report

    try:
        if str(path) == "-":
            data = sys.stdin.buffer.read(MAX_REPORT_BYTES + 1)
        else:
            with path.open("rb") as handle:
                data = handle.read(MAX_REPORT_BYTES + 1)
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    if len(data) > MAX_REPORT_BYTES:
        fail(f"{path}: larger than {MAX_REPORT_BYTES // (1024 * 1024)} MiB, not a report")
    try:
        return Report.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        fail(f"{path}: not an mxtls/1 report ({where}: {first['msg']})")


@click.command(epilog=DIFF_EPILOG)
@click.argument("old", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@click.argument("new", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@click.option(
    "--fail-on",
    type=click.Choice([s.value for s in Severity]),
    default="error",
    show_default=True,
    help="Exit 1 when a NEW finding of this severity or worse appeared.",
)
@output_options(DIFF_FORMATS)
def diff(old: Path, new: Path, fail_on: str, **opts: Any) -> None:
    """Show what changed from the report OLD to the report NEW (saved `--json` output)."""
    from mxtls.monitor.diff import CheckFailedEvent, FindingEvent, diff_reports
    from mxtls.render.diff import render_diff_json, render_diff_markdown, render_diff_text

    fmt = chosen_format(opts)
    check_writable(opts.get("output"))
    before, after = read_report(old), read_report(new)
    if before.domain != after.domain or before.kind != after.kind:
        fail(f"{old} is about {before.domain}, {new} about {after.domain}: compare one domain")
    events = diff_reports(before, after)
    render = {
        "text": render_diff_text,
        "json": render_diff_json,
        "markdown": render_diff_markdown,
    }[fmt]
    deliver(render(before, after, events), opts.get("output"))
    threshold = Severity(fail_on)
    worse = any(
        isinstance(e, CheckFailedEvent)
        or (
            isinstance(e, FindingEvent)
            and e.type == "finding.new"
            and e.severity.at_least(threshold)
        )
        for e in events
    )
    sys.exit(1 if worse else 0)
