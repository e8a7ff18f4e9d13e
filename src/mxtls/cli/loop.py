"""The command line's event loop, started once a command's imports are done.

A command imports what it needs inside its function (see
:mod:`mxtls.cli.lazy`), then runs one event loop.  Two costs of that shape
are CPython's, not the check's, and this module removes both:

* **The collector during imports.**  Importing a check's libraries creates
  about 60,000 long-lived objects (classes, functions, pydantic validators),
  and the cyclic garbage collector walks them again and again while they
  arrive: about 40 ms of the 0.4 s of CPU a ``mxtls check`` costs.
  :func:`importing` (called by the entry point, :func:`mxtls.cli.main.main`)
  raises the first generation's threshold for the import phase;
  :func:`imports_done` collects the young garbage imports leave (so memory
  stays as it was), restores the thresholds and freezes what exists by then
  (``gc.freeze``: module-level objects live as long as the process, and
  every later full collection of the loop skips them).
* **The report in a ``repr``.**  ``asyncio.run`` installs its SIGINT handler
  as a ``functools.partial`` holding the main task; restoring the handler at
  the end formats that partial, and with it the task's result: the whole
  report, twice (a few milliseconds and a 60 kB string for nothing).
  :func:`run` hands the result back beside the task instead.

A program that imports mxtls as a library keeps its own collector settings:
only the command line calls these.  ``tests/test_startup.py`` holds every
command to starting its loop through :func:`run` (or calling
:func:`imports_done` before a server library starts its own).
"""

from __future__ import annotations

import gc
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

# The first generation's threshold while a command imports its libraries
# (CPython's default is 700 allocations); the older generations' stay.
IMPORT_GC_THRESHOLD = 100_000

_saved: tuple[int, ...] | None = None


def importing() -> None:
    """Enter the import phase: collect the young generation rarely."""
    global _saved
    if _saved is None:
        _saved = gc.get_threshold()
        gc.set_threshold(IMPORT_GC_THRESHOLD, *_saved[1:])


def imports_done() -> None:
    """Leave the import phase (idempotent): young garbage collected, thresholds
    restored, everything alive frozen out of later collections."""
    global _saved
    if _saved is None:
        return
    gc.collect(1)
    gc.set_threshold(*_saved)
    _saved = None
    gc.freeze()


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` for a command, after :func:`imports_done`."""
    import asyncio

    imports_done()
    box: list[T] = []

    async def keep() -> None:
        box.append(await main)

    asyncio.run(keep())
    return box[0]
