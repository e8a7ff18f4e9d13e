"""Where a report goes and in which format: ``--format``, ``--json``, ``--output``.

Shared by every command that prints reports (``check``, ``scan-host``,
``server``, later ``scan``), so each gets the same options, the same
errors and the same atomic file writes.  A renderer module is imported only
when its format is chosen: ``mxtls --help`` never loads Jinja2.

Exit status is not decided here: the caller maps the report to 0/1/2/3 as
before.  An unwritable ``--output`` is a usage error (exit 2), found before
the check runs whenever possible.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from mxtls.models.severity import Severity

if TYPE_CHECKING:  # the report model loads pydantic: not at start-up (``mxtls --help``)
    from mxtls.models.report import Report

EXIT_USAGE = 2


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """One report format: how to render it and what a file of it is.

    ``renderer`` is ``"module:function"``, imported on use; the function takes
    a report and keyword options (``fail_on``) and returns text.
    """

    name: str
    renderer: str
    media_type: str
    suffix: str
    summary: str


FORMATS: dict[str, OutputFormat] = {
    f.name: f
    for f in (
        OutputFormat("text", "", "text/plain", ".txt", "the terminal report (default)"),
        OutputFormat(
            "json", "mxtls.render.json:render_json", "application/json", ".json", "schema mxtls/1"
        ),
        OutputFormat(
            "html",
            "mxtls.render.html:render_html",
            "text/html",
            ".html",
            "one self-contained page",
        ),
        OutputFormat(
            "markdown",
            "mxtls.render.markdown:render_markdown",
            "text/markdown",
            ".md",
            "for a ticket or an e-mail",
        ),
        OutputFormat(
            "csv", "mxtls.render.csv:render_csv", "text/csv", ".csv", "one row per finding"
        ),
        OutputFormat(
            "junit",
            "mxtls.render.junit:render_junit",
            "application/xml",
            ".xml",
            "JUnit XML for CI (failures at --fail-on)",
        ),
        OutputFormat(
            "sarif",
            "mxtls.render.sarif:render_sarif",
            "application/sarif+json",
            ".sarif",
            "SARIF 2.1.0 for code scanning",
        ),
    )
}
REPORT_FORMATS = tuple(FORMATS)


def output_options(
    formats: tuple[str, ...] = REPORT_FORMATS,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator adding ``--format``, ``--json`` (its alias for json) and ``--output``."""
    choices = ", ".join(formats)

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(
            [
                click.option(
                    "--format",
                    "output_format",
                    type=click.Choice(formats),
                    default=None,
                    metavar="FORMAT",
                    help=f"Report format: {choices} (default: text).",
                ),
                click.option(
                    "--json",
                    "as_json",
                    is_flag=True,
                    help="Same as --format json (schema mxtls/1).",
                ),
                click.option(
                    "--output",
                    "-o",
                    "output",
                    type=click.Path(path_type=Path, dir_okay=False),
                    default=None,
                    metavar="FILE",
                    help="Write the report to FILE (atomically) instead of standard output.",
                ),
            ]
        ):
            fn = option(fn)
        return fn

    return decorate


def chosen_format(opts: dict[str, Any]) -> str:
    """The format asked for; ``--json`` with another ``--format`` is a usage error."""
    fmt: str | None = opts.get("output_format")
    if opts.get("as_json"):
        if fmt not in (None, "json"):
            raise click.UsageError(f"--json and --format {fmt} exclude each other")
        return "json"
    return fmt or "text"


def fail(message: str) -> NoReturn:
    """Print ``mxtls: error: message`` and exit 2 (the contract's usage error)."""
    click.echo(f"mxtls: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def check_writable(path: Path | None) -> None:
    """Fail early (exit 2) when ``path`` cannot be written, before any check runs."""
    if path is None or str(path) == "-":
        return
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        fail(f"cannot write --output {path}: it is a directory")
    if not parent.is_dir():
        fail(f"cannot write --output {path}: no such directory {parent}")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        fail(f"cannot write --output {path}: permission denied")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old file or the new one, never half.

    The text goes to a temporary file in the same directory, is flushed to
    disk, then renamed over ``path``; the new file gets the old one's mode
    (or the usual mode under the umask).

    Raises:
        OSError: the directory or the file cannot be written.
    """
    parent = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def render(report: Report, fmt: str, *, fail_on: Severity = Severity.ERROR) -> str:
    """``report`` rendered in ``fmt`` (any format but ``text``)."""
    module, _, name = FORMATS[fmt].renderer.partition(":")
    renderer = getattr(importlib.import_module(module), name)
    if fmt == "junit":
        return str(renderer(report, fail_on=fail_on))
    return str(renderer(report))


def render_text_document(
    report: Report, *, transcript: bool = False, verbose: bool = False, width: int = 80
) -> str:
    """The terminal report as plain text (for ``--format text --output FILE``)."""
    import io

    from rich.console import Console

    from mxtls.render.text import render_text

    buf = io.StringIO()
    console = Console(file=buf, width=width, no_color=True, highlight=False, emoji=False)
    render_text(report, console, transcript=transcript, verbose=verbose)
    return buf.getvalue()


def emit_report(
    report: Report,
    opts: dict[str, Any],
    *,
    fail_on: Severity = Severity.ERROR,
    no_color: bool | None = None,
) -> None:
    """Render ``report`` as the options ask and write it to stdout or ``--output``."""
    fmt = chosen_format(opts)
    path: Path | None = opts.get("output")
    if path is not None and str(path) == "-":
        path = None
    transcript = bool(opts.get("transcript"))
    verbose = bool(opts.get("verbose"))
    if fmt == "text" and path is None:
        from rich.console import Console

        from mxtls.render.text import render_text

        console = Console(no_color=no_color, highlight=False)
        render_text(report, console, transcript=transcript, verbose=verbose)
        return
    if fmt == "text":
        text = render_text_document(report, transcript=transcript, verbose=verbose)
    else:
        text = render(report, fmt, fail_on=fail_on)
    deliver(text, path)


def deliver(text: str, path: Path | None) -> None:
    """Print ``text`` or write it to ``path`` atomically; a failed write exits 2."""
    if path is None or str(path) == "-":
        click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        write_atomic(path, text)
    except OSError as exc:
        fail(f"cannot write --output {path}: {exc.strerror or exc}")
