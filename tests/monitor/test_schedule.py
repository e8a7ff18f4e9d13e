"""The monitor's loop: intervals, concurrency bound, failed checks, stopping.

The checker is a stand-in here (it returns a stored lab report, or raises):
what is tested is the scheduling around it, which no server can exercise
faster than with one-second intervals.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import replace
from pathlib import Path

from mxtls.models.report import Report
from mxtls.monitor.config import DomainSpec, MonitorConfig, parse_config
from mxtls.monitor.diff import CheckFailedEvent
from mxtls.monitor.service import EXIT_INTERNAL, Monitor, exit_status
from mxtls.store import history
from mxtls.store.db import open_store
from tests.monitor.conftest import LabRounds


class StandInChecker:
    """Answers each domain with a report of the lab; counts checks and concurrency."""

    def __init__(self, report: Report, *, delay: float = 0.0, fail: set[str] | None = None):
        self.report, self.delay, self.fail = report, delay, fail or set()
        self.calls: list[str] = []
        self.times: list[float] = []  # monotonic time of each call
        self.running = self.most = 0

    async def check(self, spec: DomainSpec) -> Report:
        self.calls.append(spec.name)
        self.times.append(time.monotonic())
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(self.delay)
            if spec.name in self.fail:
                raise RuntimeError("engine exploded")
            return self.report.model_copy(update={"domain": spec.name})
        finally:
            self.running -= 1


def config(tmp_path: Path, names: list[str], **monitor: object) -> MonitorConfig:
    data = {
        "defaults": {"interval": "1s"},
        "domain": [{"name": n} for n in names],
        "monitor": {"db": f"sqlite:///{tmp_path / 'h.sqlite3'}", **monitor},
    }
    return parse_config(data, base_dir=tmp_path, env={})


async def test_intervals_and_a_clean_stop(tmp_path: Path, lab_rounds: LabRounds) -> None:
    cfg = config(tmp_path, ["a.example", "b.example"], jitter=0)
    store = open_store(cfg.settings.db)
    checker = StandInChecker(lab_rounds.before["good.lab"])
    monitor = Monitor(cfg, store, checker=checker, rng=random.Random(1))
    stop = asyncio.Event()
    task = asyncio.create_task(monitor.run_forever(stop))
    # Stop once three rounds have started (bounded: a broken scheduler fails, not hangs).
    async with asyncio.timeout(30):
        while len(checker.calls) < 6:
            await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 10)
    store.close()
    # Both domains are due together, so they share each round ...
    assert sorted(checker.calls) == ["a.example"] * 3 + ["b.example"] * 3
    assert monitor.rounds == 3
    # ... and rounds start one interval (1 s) apart: load may stretch the gap, never shorten it.
    starts = checker.times[::2]
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    assert all(gap >= 0.95 for gap in gaps), gaps


async def test_restart_waits_for_the_interval(tmp_path: Path, lab_rounds: LabRounds) -> None:
    cfg = config(tmp_path, ["a.example"], jitter=0)
    cfg = replace(cfg, domains=(replace(cfg.domains[0], interval_s=3600),))
    store = open_store(cfg.settings.db)
    checker = StandInChecker(lab_rounds.before["good.lab"])
    monitor = Monitor(cfg, store, checker=checker)
    await monitor.run_round()  # checked just now (as a previous run would have)
    stop = asyncio.Event()
    task = asyncio.create_task(monitor.run_forever(stop))
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.wait_for(task, 10)
    store.close()
    assert checker.calls == ["a.example"]  # not again: the hour has not passed


async def test_at_most_max_checks_at_once(tmp_path: Path, lab_rounds: LabRounds) -> None:
    names = [f"d{i}.example" for i in range(8)]
    cfg = config(tmp_path, names, max_checks=3)
    store = open_store(cfg.settings.db)
    checker = StandInChecker(lab_rounds.before["good.lab"], delay=0.05)
    outcomes = await Monitor(cfg, store, checker=checker).run_round()
    store.close()
    assert len(outcomes) == 8 and checker.most == 3


async def test_a_check_that_cannot_run(tmp_path: Path, lab_rounds: LabRounds) -> None:
    cfg = config(tmp_path, ["ok.example", "bad.example"])
    store = open_store(cfg.settings.db)
    checker = StandInChecker(lab_rounds.before["good.lab"], fail={"bad.example"})
    monitor = Monitor(cfg, store, checker=checker)
    first = {o.domain: o for o in await monitor.run_round()}
    second = {o.domain: o for o in await monitor.run_round()}
    assert exit_status(list(first.values())) == EXIT_INTERNAL
    assert first["bad.example"].events == [
        CheckFailedEvent(error="internal error: RuntimeError: engine exploded")
    ]
    assert second["bad.example"].events == []  # still failing: no news
    assert first["ok.example"].events == []
    rows = store.call(
        lambda s: [(r.status, r.error) for r in history.list_reports(s, "bad.example")]
    )
    store.close()
    assert rows == [("failed", "internal error: RuntimeError: engine exploded")] * 2
