"""The local runner: many domains through one runtime, at most N at once.

:func:`scan_domains` pulls domains from an iterator only as slots free up
(so the input is never read ahead more than ``concurrency`` domains), checks
each with :func:`mxtls.engine.run.check_domain` on the one
:class:`~mxtls.engine.runtime.Runtime` of the scan (one resolver cache, one
per-address politeness, endpoint observations shared between domains), and
hands every report to ``on_report`` as soon as it is done, in completion
order.  Nothing is kept after that: memory is bounded by the concurrency and
the runtime's bounded caches, not by the number of domains.

A check that raises (a bug; network trouble never raises) or overruns its
budget is reported to ``on_failure`` and produces no document, so
``--resume`` tries the domain again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mxtls.bulk.input import Domain
from mxtls.engine.run import check_domain
from mxtls.engine.runtime import Runtime
from mxtls.models.report import Report

BUDGET_MARGIN_S = 10.0  # past the check's own deadline and its last probe: a safety net only
INPUT_BATCH = 64  # domains read from the input per trip to the reader thread


@dataclass(slots=True)
class ScanProgress:
    """Where a scan stands (what the progress display shows)."""

    started: float
    done: int = 0
    failed: int = 0
    with_errors: int = 0
    in_flight: int = 0
    input_done: bool = False

    @property
    def elapsed(self) -> float:
        """Seconds since the scan began."""
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        """Domains finished per second so far."""
        elapsed = self.elapsed
        return self.done / elapsed if elapsed > 0 else 0.0


async def scan_domains(
    domains: Iterator[Domain],
    runtime: Runtime,
    *,
    concurrency: int,
    on_report: Callable[[Domain, Report], None],
    on_failure: Callable[[Domain, str], None],
    progress: ScanProgress | None = None,
    read_in_thread: bool = True,
) -> ScanProgress:
    """Check every domain of ``domains`` (see the module docstring).

    Args:
        domains: read lazily, from a worker thread when ``read_in_thread``
            (so a slow pipe on stdin does not stall the checks in flight).
        runtime: the scan's one runtime.
        concurrency: domains checked at once.
        on_report: called with each finished report (on the event loop).
        on_failure: called with a domain whose check could not run, and why.
        progress: counters to update (a new one by default).
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    state = progress if progress is not None else ScanProgress(started=time.monotonic())
    # A check starts no probe after its own deadline (``timeouts.check_total``)
    # and each probe is bounded; this budget only catches a bug that hangs.
    timeouts = runtime.config.timeouts
    budget = timeouts.check_total + timeouts.endpoint_total + BUDGET_MARGIN_S
    running: dict[asyncio.Task[Report], Domain] = {}
    buffered: list[Domain] = []

    async def refill() -> None:
        while len(running) < concurrency:
            if not buffered:
                if state.input_done:
                    return
                want = max(INPUT_BATCH, concurrency - len(running))
                batch = (
                    await asyncio.to_thread(_take, domains, want)
                    if read_in_thread
                    else _take(domains, want)
                )
                state.input_done = len(batch) < want
                buffered.extend(reversed(batch))
                if not buffered:
                    return
            domain = buffered.pop()
            running[asyncio.create_task(_check(domain, runtime, budget))] = domain

    await refill()
    while running:
        state.in_flight = len(running)
        finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for task in finished:
            domain = running.pop(task)
            error = _failure(task)
            if error is not None:
                state.failed += 1
                on_failure(domain, error)
                continue
            report = task.result()
            state.done += 1
            if report.summary.errors:
                state.with_errors += 1
            on_report(domain, report)
        await refill()
    state.in_flight = 0
    return state


def _take(domains: Iterator[Domain], count: int) -> list[Domain]:
    out: list[Domain] = []
    for domain in domains:
        out.append(domain)
        if len(out) >= count:
            break
    return out


async def _check(domain: Domain, runtime: Runtime, budget: float) -> Report:
    async with asyncio.timeout(budget):
        return await check_domain(domain.text, runtime)


def _failure(task: asyncio.Task[Report]) -> str | None:
    if task.cancelled():
        return "cancelled"
    exc = task.exception()
    if exc is None:
        return None
    if isinstance(exc, TimeoutError):
        return "the check overran its time budget"
    return f"{type(exc).__name__}: {exc}"
