"""A scan as plain data, and opening its input and output.

:class:`ScanJob` is everything a scan needs, as frozen, picklable values (the
configuration, where domains come from, where documents go): the CLI builds
one, the local runner uses it, and the Dask runner ships it to each worker,
which builds its own runtime from it.  Nothing in it holds a socket, a file
or an event loop.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from mxtls.bulk.seen import DigestSet
from mxtls.bulk.sink import Sink
from mxtls.bulk.writers import (
    CsvSink,
    DirectorySink,
    JsonlSink,
    clean_stale_parts,
    csv_domains,
    directory_domains,
    jsonl_domains,
    part_files,
    repair_tail,
)
from mxtls.config import CheckConfig
from mxtls.errors import ConfigError

SUFFIXES = {"jsonl": "jsonl", "parquet": "parquet", "csv": "csv"}


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """Where documents go: standard output, one file, or a directory of part files."""

    path: Path | None
    fmt: str
    directory: bool = False

    @classmethod
    def of(cls, text: str | os.PathLike[str] | None, fmt: str) -> OutputSpec:
        """The output for ``--output`` (None or ``-``: stdout) in ``fmt``.

        A path that is a directory, or ends in ``/``, is a directory of part files.

        Raises:
            ConfigError: the format cannot go there (Parquet to stdout, CSV parts).
        """
        raw = os.fspath(text) if text is not None else None
        if raw is None or raw == "-":
            if fmt == "parquet":
                raise ConfigError("--format parquet needs --output FILE or DIRECTORY/")
            return cls(None, fmt)
        path = Path(raw)
        directory = raw.endswith(("/", os.sep)) or path.is_dir()
        if directory and fmt == "csv":
            raise ConfigError("--format csv writes one file; give --output FILE.csv")
        return cls(path, fmt, directory)

    def done_domains(self) -> tuple[DigestSet, int]:
        """The domains already in the output (for ``--resume``), and how many."""
        seen = DigestSet()
        if self.path is None or not self.path.exists():
            return seen, 0
        if self.directory:
            names = directory_domains(self.path)
        elif self.fmt == "csv":
            names = csv_domains(self.path)
        else:
            names = jsonl_domains(self.path)
        count = sum(1 for name in names if seen.add(name))
        return seen, count


@dataclass(frozen=True, slots=True)
class ScanJob:
    """One scan, as plain data (see the module docstring)."""

    config: CheckConfig
    source: str
    output: OutputSpec
    concurrency: int
    resume: bool = False
    dask: str | None = None
    summary_path: Path | None = None
    part_size: int = 1000


def prepare_output(job: ScanJob) -> None:
    """Make the output ready before anything is checked (usage errors found early).

    Raises:
        ConfigError: the output cannot be written, ``--resume`` cannot apply
            to it, or a directory holds parts of another scan without ``--resume``.
    """
    out = job.output
    if out.path is None:
        if job.resume:
            raise ConfigError("--resume needs --output (the results to continue)")
        return
    if out.directory:
        try:
            out.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create --output {out.path}: {exc.strerror or exc}") from None
        _require_writable(out.path)
        clean_stale_parts(out.path)
        if not job.resume and part_files(out.path):
            raise ConfigError(
                f"--output {out.path} holds part files of an earlier scan: "
                "add --resume to continue it, or choose an empty directory"
            )
        return
    parent = out.path.parent if str(out.path.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(f"cannot write --output {out.path}: no such directory {parent}")
    _require_writable(parent)
    if out.path.exists() and not os.access(out.path, os.W_OK):
        raise ConfigError(f"cannot write --output {out.path}: permission denied")
    if out.fmt == "parquet":
        if job.resume:
            raise ConfigError(
                "--resume with Parquet needs a directory (--output DIR/): a Parquet file "
                "is readable only once complete"
            )
        return
    if job.resume and out.path.exists():
        repair_tail(out.path)
    elif not job.resume:
        out.path.write_bytes(b"")  # a new scan replaces the old results, as `>` would


def _require_writable(directory: Path) -> None:
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write to {directory}: permission denied")


def open_sink(job: ScanJob) -> Sink:
    """The sink for the job's output (after :func:`prepare_output`)."""
    out = job.output
    if out.directory and out.path is not None:
        return DirectorySink(out.path, SUFFIXES[out.fmt], part_size=job.part_size)
    if out.fmt == "parquet" and out.path is not None:
        from mxtls.bulk.parquet import ParquetFileSink

        return ParquetFileSink(out.path)
    if out.fmt == "csv":
        return CsvSink(out.path)
    return JsonlSink(out.path)


@contextlib.contextmanager
def open_input(source: str) -> Iterator[TextIO]:
    """The domain list: a file, or standard input for ``-``.

    Raises:
        ConfigError: the file cannot be opened.
    """
    if source == "-":
        if sys.stdin.isatty():  # a person at a prompt, not a pipe: say what is awaited
            print("mxtls scan: reading domains from standard input (Ctrl-D ends)", file=sys.stderr)
        yield sys.stdin
        return
    try:
        handle = open(source, encoding="utf-8", errors="replace")  # noqa: SIM115
    except OSError as exc:
        raise ConfigError(f"cannot read {source}: {exc.strerror or exc}") from None
    with handle:
        yield handle
