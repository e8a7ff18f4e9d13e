"""Reading the domains of a scan: one per line, streamed, never held whole.

A line holds one domain; ``#`` starts a comment (a whole line or the end of
one); blank lines are skipped; IDNs are checked as their A-labels (the
document's ``input`` keeps what the line said).  A domain seen before (in the
input, or in the output being resumed) is dropped.  A line that is not a
domain is reported and skipped, never fatal.  Lines longer than
:data:`MAX_LINE_CHARS` are invalid (read in bounded pieces, so a file without
newlines cannot exhaust memory).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from mxtls.bulk.seen import DigestSet
from mxtls.engine.plan import normalize_domain
from mxtls.errors import InvalidDomain
from mxtls.exclusions import Exclusions

MAX_LINE_CHARS = 1024  # a domain is at most 253 characters; comments get some room
MAX_REPORTED_INVALID = 20  # invalid lines named on stderr; the rest are counted


@dataclass(frozen=True, slots=True)
class Domain:
    """One domain to check: its A-label ``name`` and the ``text`` of its line."""

    name: str
    text: str
    line: int


@dataclass(frozen=True, slots=True)
class Invalid:
    """A line that is not a domain, and why."""

    line: int
    text: str
    reason: str


@dataclass(slots=True)
class InputCounts:
    """What reading the input found (for the summary)."""

    lines: int = 0
    domains: int = 0
    invalid: int = 0
    duplicates: int = 0
    excluded: int = 0
    resumed: int = 0
    invalid_examples: list[Invalid] = field(default_factory=list)


def bounded_lines(handle: TextIO, limit: int = MAX_LINE_CHARS) -> Iterator[tuple[str, bool]]:
    """``(line, too_long)`` for each line of ``handle``, newline stripped.

    A line longer than ``limit`` is returned cut, with ``too_long`` True, and
    the rest of it is skipped in bounded pieces.
    """
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith("\n"):
            while True:  # drop the rest of this line, a bounded piece at a time
                rest = handle.readline(limit + 1)
                if not rest or rest.endswith("\n"):
                    break
            yield line[:limit], True
            continue
        yield line.rstrip("\r\n"), False


def parse_line(text: str) -> str | None:
    """The domain on a line, or None for a blank or comment line."""
    body = text.split("#", 1)[0].strip()
    return body or None


class DomainReader:
    """Streams the domains of an input, counting what it drops.

    Args:
        seen: domains already seen (e.g. done in the output being resumed);
            every domain read is added.
        exclude: the opt-out list; a listed domain is counted and dropped.
    """

    def __init__(self, seen: DigestSet, exclude: Exclusions | None = None) -> None:
        self.seen = seen
        self.exclude = exclude
        self.counts = InputCounts()
        self.on_invalid: Callable[[Invalid], None] | None = None

    def read(self, handle: TextIO) -> Iterator[Domain]:
        """The new, valid, not excluded domains of ``handle``, in input order."""
        counts = self.counts
        for number, (raw, too_long) in enumerate(bounded_lines(handle), 1):
            counts.lines += 1
            if too_long:
                self._invalid(number, raw[:60] + "…", f"line longer than {MAX_LINE_CHARS}")
                continue
            text = parse_line(raw)
            if text is None:
                continue
            try:
                name = normalize_domain(text)
            except InvalidDomain as exc:
                self._invalid(number, text, str(exc))
                continue
            if not self.seen.add(name):
                counts.duplicates += 1
                continue
            if self.exclude is not None and self.exclude.domain(name) is not None:
                counts.excluded += 1
                continue
            counts.domains += 1
            yield Domain(name=name, text=text, line=number)

    def _invalid(self, number: int, text: str, reason: str) -> None:
        self.counts.invalid += 1
        if self.on_invalid is not None:
            self.on_invalid(Invalid(number, text, reason))
        if len(self.counts.invalid_examples) < MAX_REPORTED_INVALID:
            self.counts.invalid_examples.append(Invalid(number, text, reason))
