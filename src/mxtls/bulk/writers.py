"""Where a scan's documents go: a JSONL or CSV stream, or part files in a directory.

Every sink takes reports one at a time as they finish and holds at most one
part's worth of them (a Parquet row group), so memory does not grow with the
scan.  What each promises after a crash (``kill -9``), which ``--resume``
relies on:

========================  ===================================================
JSONL file / stdout        one document per line, written and flushed as each
                           domain finishes; a cut last line is removed on
                           resume, and the domains of the complete lines are
                           skipped (nothing lost, nothing twice)
CSV file                   one row per finding (``render.csv``), flushed per
                           domain; resumed like JSONL (complete rows count)
directory (JSONL/Parquet)  ``part-NNNNN.jsonl`` / ``.parquet`` files, each
                           written to a temporary name and renamed when whole
                           (:data:`PART_SIZE` domains); a part cut by a crash
                           never appears, and resume skips the domains of the
                           parts that did
Parquet file               written whole at the end (no resume: a Parquet file
                           is readable only once its footer is written)
========================  ===================================================
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mxtls.bulk.sink import Sink, document_line
from mxtls.models.report import Report

if TYPE_CHECKING:  # pyarrow is imported only when a Parquet part is written
    from mxtls.bulk.parquet import ParquetRows

PART_SIZE = 1000  # domains per part file
PART_NAME = re.compile(r"^part-(\d{5,})\.(jsonl|parquet)$")
_DOMAIN_FIELD = '"domain":"'


def domain_of_line(line: str) -> str | None:
    """The ``domain`` of one JSONL document line (None when it is not one).

    The field comes third in every document (``schema``, ``kind``,
    ``domain``), so it is found without parsing the whole line; anything
    unexpected falls back to a full parse.
    """
    head = line[:400]
    start = head.find(_DOMAIN_FIELD)
    if start >= 0:
        end = head.find('"', start + len(_DOMAIN_FIELD))
        value = head[start + len(_DOMAIN_FIELD) : end]
        if end > 0 and "\\" not in value:
            return value
    try:
        document = json.loads(line)
    except ValueError:
        return None
    domain = document.get("domain") if isinstance(document, dict) else None
    return domain if isinstance(domain, str) else None


def repair_tail(path: Path) -> int:
    """Cut ``path`` after its last newline (a line a crash left half-written).

    Returns:
        The bytes removed.
    """
    with path.open("rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        pos, chunk = size, 65_536
        while pos > 0:
            start = max(0, pos - chunk)
            handle.seek(start)
            data = handle.read(pos - start)
            nl = data.rfind(b"\n")
            if nl >= 0:
                keep = start + nl + 1
                handle.truncate(keep)
                return size - keep
            pos = start
        handle.truncate(0)
        return size


def jsonl_domains(path: Path) -> Iterator[str]:
    """The domains of the complete documents in a JSONL file."""
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.endswith("\n"):
                domain = domain_of_line(line)
                if domain is not None:
                    yield domain


def csv_domains(path: Path) -> Iterator[str]:
    """The domains of the complete rows of a findings CSV (``render.csv``)."""
    with path.open("r", encoding="utf-8", errors="replace", newline="") as handle:
        rows = csv.reader(handle)
        for row in rows:
            if row and row[0] != "domain":
                yield row[0].removeprefix("'")


class JsonlSink(Sink):
    """Documents to a JSONL file (appended) or to standard output."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._handle: TextIO = (
            path.open("a", encoding="utf-8", newline="\n") if path is not None else sys.stdout
        )

    def write(self, report: Report) -> None:
        self.write_document(document_line(report))

    def write_document(self, line: str) -> None:
        self._handle.write(line + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self.path is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
        else:
            self._handle.flush()


class CsvSink(Sink):
    """One row per finding, every domain in one file (the header written once)."""

    def __init__(self, path: Path | None) -> None:
        from mxtls.render.csv import FindingsCsvWriter

        self.path = path
        fresh = path is None or not path.exists() or path.stat().st_size == 0
        self._handle: TextIO = (
            path.open("a", encoding="utf-8", newline="") if path is not None else sys.stdout
        )
        self._writer = FindingsCsvWriter(self._handle, header=fresh)
        if fresh:
            self._writer.write_header()

    def write(self, report: Report) -> None:
        self._writer.write_report(report)
        self._handle.flush()

    def close(self) -> None:
        self._handle.flush()
        if self.path is not None:
            os.fsync(self._handle.fileno())
            self._handle.close()


class PartWriter:
    """Writes one part file of a directory atomically (temporary name, then rename)."""

    def __init__(self, directory: Path, number: int, fmt: str) -> None:
        self.final = directory / f"part-{number:05d}.{fmt}"
        self.temp = directory / f".part-{number:05d}.{fmt}.tmp"
        self.fmt = fmt
        self.count = 0
        self._rows: ParquetRows | None = None
        self._handle: io.TextIOWrapper | None = None
        if fmt == "parquet":
            from mxtls.bulk.parquet import ParquetRows

            self._rows = ParquetRows(self.temp)
        else:
            self._handle = self.temp.open("w", encoding="utf-8", newline="\n")

    def write(self, report: Report) -> None:
        if self._rows is not None:
            self._rows.add(report)
        elif self._handle is not None:
            self._handle.write(document_line(report) + "\n")
        self.count += 1

    def close(self) -> Path:
        """Make the part whole and visible; returns its final path."""
        if self._rows is not None:
            self._rows.close()
        elif self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
        os.replace(self.temp, self.final)
        return self.final

    def abandon(self) -> None:
        """Drop an unfinished part (its domains will be scanned again)."""
        if self._handle is not None:
            self._handle.close()
        if self._rows is not None:
            self._rows.abandon()
        self.temp.unlink(missing_ok=True)


class DirectorySink(Sink):
    """Part files of :data:`PART_SIZE` domains in a directory (see the module docstring)."""

    def __init__(self, directory: Path, fmt: str, *, part_size: int = PART_SIZE) -> None:
        self.directory = directory
        self.fmt = fmt
        self.part_size = part_size
        self.next_number = next_part_number(directory)
        self._part: PartWriter | None = None

    def write(self, report: Report) -> None:
        if self._part is None:
            self._part = PartWriter(self.directory, self.next_number, self.fmt)
            self.next_number += 1
        self._part.write(report)
        if self._part.count >= self.part_size:
            self._part.close()
            self._part = None

    def close(self) -> None:
        if self._part is not None:
            if self._part.count:
                self._part.close()
            else:
                self._part.abandon()
            self._part = None


def part_files(directory: Path) -> list[Path]:
    """The complete part files of ``directory``, by number."""
    found = []
    for entry in directory.iterdir():
        match = PART_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry))
    return [path for _, path in sorted(found)]


def next_part_number(directory: Path) -> int:
    """One more than the highest part number present (0 for an empty directory)."""
    numbers = [int(m.group(1)) for e in directory.iterdir() if (m := PART_NAME.match(e.name))]
    return max(numbers, default=-1) + 1


def clean_stale_parts(directory: Path) -> int:
    """Remove the temporary files of parts a crash left unfinished; returns how many."""
    removed = 0
    for entry in directory.iterdir():
        if entry.name.startswith(".part-") and entry.name.endswith(".tmp"):
            entry.unlink(missing_ok=True)
            removed += 1
    return removed


def directory_domains(directory: Path) -> Iterator[str]:
    """The domains in the complete part files of ``directory``."""
    for path in part_files(directory):
        if path.suffix == ".jsonl":
            yield from jsonl_domains(path)
        else:
            from mxtls.bulk.parquet import parquet_domains

            yield from parquet_domains(path)
