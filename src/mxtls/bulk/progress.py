"""Progress of a scan on stderr: a rich bar on a terminal, plain periodic lines otherwise.

On a terminal the bar shows domains done (of the input's lines when the
input is a file), domains per second, the ETA, checks that failed and
domains with error findings.  When stderr is a file or a pipe (a batch job,
``2> scan.log``) a line every :data:`PLAIN_INTERVAL_S` seconds says the same.
Invalid input lines and failed checks are named as they happen (the first
:data:`MAX_NAMED` of each; the summary counts them all).
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from mxtls.bulk.input import Invalid

if TYPE_CHECKING:
    from mxtls.bulk.scan import ScanProgress

PLAIN_INTERVAL_S = 10.0
MAX_NAMED = 20
COUNT_LINES_MAX_BYTES = 512 * 1024 * 1024  # inputs larger than this get no total (no ETA)


class ProgressDisplay:
    """Shows a :class:`~mxtls.bulk.scan.ScanProgress` (see the module docstring)."""

    def __init__(self, source: str, *, enabled: bool = True, interval: float = PLAIN_INTERVAL_S):
        self.source = source
        self.enabled = enabled
        self.interval = interval
        self.tty = enabled and sys.stderr.isatty()
        self._state: ScanProgress | None = None
        self._bar: Any = None
        self._task: Any = None
        self._last = 0.0
        self._named_invalid = 0
        self._named_failed = 0

    def start(self, state: ScanProgress) -> None:
        """Begin showing ``state``."""
        self._state = state
        self._last = time.monotonic()
        if not self.tty:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("scan"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[extra]}"),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._bar.add_task(
            "scan", total=_count_lines(self.source), rate="0.0", extra=""
        )
        self._bar.start()

    def update(self) -> None:
        """A domain finished (cheap: redraws at most a few times a second)."""
        state = self._state
        if state is None or not self.enabled:
            return
        now = time.monotonic()
        if self._bar is not None:
            if now - self._last >= 0.2:
                self._last = now
                extra = f"{state.failed} failed, {state.with_errors} with errors"
                self._bar.update(
                    self._task,
                    completed=state.done + state.failed,
                    rate=f"{state.rate:.1f}",
                    extra=extra,
                )
            return
        if now - self._last >= self.interval:
            self._last = now
            self._line(state)

    def _line(self, state: ScanProgress) -> None:
        print(
            f"mxtls scan: {state.done} done, {state.failed} failed, "
            f"{state.with_errors} with errors, {state.rate:.1f} domains/s, "
            f"{state.in_flight} in flight, {state.elapsed:.0f} s",
            file=sys.stderr,
            flush=True,
        )

    def invalid(self, item: Invalid) -> None:
        """An input line was skipped."""
        if self._named_invalid < MAX_NAMED:
            self._named_invalid += 1
            self._say(f"mxtls scan: line {item.line}: skipped {item.text!r}: {item.reason}")

    def failure(self, domain: str, error: str) -> None:
        """A check could not run (the domain gets no document)."""
        if self._named_failed < MAX_NAMED:
            self._named_failed += 1
            self._say(f"mxtls scan: {domain}: check failed: {error}")

    def _say(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=sys.stderr, flush=True)

    def stop(self) -> None:
        """Stop the bar (or print the last plain line)."""
        state = self._state
        if self._bar is not None:
            if state is not None:
                self._bar.update(self._task, completed=state.done + state.failed)
            self._bar.stop()
            self._bar = None
        elif state is not None and self.enabled and state.done + state.failed:
            self._line(state)
        self._state = None


def _count_lines(source: str) -> int | None:
    """Lines of the input file (an upper bound on its domains), or None for stdin."""
    if source == "-":
        return None
    try:
        from pathlib import Path

        path = Path(source)
        if path.stat().st_size > COUNT_LINES_MAX_BYTES:
            return None
        with path.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return None
