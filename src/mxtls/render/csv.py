"""CSV: one row per finding, for spreadsheets over one domain or many.

RFC 4180: comma-separated, CRLF line ends, fields quoted when they hold a
comma, a quote or a line break (quotes doubled), one header line.
:class:`FindingsCsvWriter` writes the header once and then any number of
reports, so a bulk scan streams every domain into one file.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and,
in some, a tab or carriage return) as a formula; values come from DNS and
servers, so every such cell is neutralised with a leading apostrophe
(OWASP's advice against CSV injection).  A domain without findings still
gets one row (empty code), so no domain disappears from a scan's sheet.
"""

from __future__ import annotations

import csv
import io
from typing import TextIO

from mxtls.models.report import Report
from mxtls.render.hints import hint_for

COLUMNS = ("domain", "code", "severity", "target", "message", "hint", "grade", "checked_at")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """``value`` made inert for spreadsheets (leading spaces do not hide a formula)."""
    if value.startswith(FORMULA_PREFIXES) or value.lstrip(" ").startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class FindingsCsvWriter:
    """Writes the header once, then the rows of each report handed to it."""

    def __init__(self, stream: TextIO, *, header: bool = True) -> None:
        self._writer = csv.writer(stream, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        self._header_done = not header

    def _row(self, values: tuple[str, ...]) -> None:
        if not self._header_done:
            self._writer.writerow(COLUMNS)
            self._header_done = True
        self._writer.writerow([neutralise(v) for v in values])

    def write_header(self) -> None:
        """Write the header now (it is otherwise written before the first row)."""
        if not self._header_done:
            self._writer.writerow(COLUMNS)
            self._header_done = True

    def write_report(self, report: Report) -> None:
        """One row per finding of ``report`` (one row with an empty code when none)."""
        grade = report.grade.letter if report.grade is not None else ""
        when = report.checked_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        if not report.findings:
            self._row((report.domain, "", "", "", "no findings", "", grade, when))
        for f in report.findings:
            hint = hint_for(f.code, [f.target]) or ""
            self._row(
                (report.domain, f.code, f.severity.value, f.target, f.message, hint, grade, when)
            )


def render_csv(report: Report) -> str:
    """One report as CSV text, header included."""
    buf = io.StringIO(newline="")
    writer = FindingsCsvWriter(buf)
    writer.write_header()
    writer.write_report(report)
    return buf.getvalue()
