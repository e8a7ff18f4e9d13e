"""What every output of a scan is: a sink that takes reports one at a time."""

from __future__ import annotations

from mxtls.models.report import Report
from mxtls.render.json import render_json


class Sink:
    """Receives each finished report; ``close`` makes everything written durable."""

    def write(self, report: Report) -> None:
        """Take one report (called once per domain, as each finishes)."""
        raise NotImplementedError

    def write_document(self, line: str) -> None:
        """Take one report as its JSON document (as a Dask worker sends it)."""
        self.write(Report.model_validate_json(line))

    def close(self) -> None:
        """Finish (flush, rename the last part, write a footer)."""


def document_line(report: Report) -> str:
    """The report as ``check --json`` prints it, on one line (no newline)."""
    return render_json(report, indent=None)
