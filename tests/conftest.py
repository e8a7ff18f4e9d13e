"""Shared fixtures: one built-in lab for the whole session, and the loop watchdog.

The lab runs on its own event loop in a background thread, so synchronous
tests (CLI via subprocess or click's runner) and async tests (each with its
own loop) can all use it.  Every event loop of the tests runs in asyncio
debug mode, and a test during which a loop was blocked fails
(:mod:`tests.loop_watchdog`).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mxtls.cli.demo import lab_config, lab_flags
from mxtls.config import CheckConfig
from mxtls.lab.world import Lab
from tests.dnssec_hierarchy import (  # noqa: F401 - fixtures of the net/, lab/ and trust/ tests
    anchor_file,
    authority,
    hierarchy,
)

from .loop_watchdog import WATCHDOG

LAB_START_TIMEOUT_S = 30.0
LAB_STEP_TIMEOUT_S = 4.0


class RunningLab:
    """A Lab served from a background thread until :meth:`stop` (``Lab(**kwargs)``)."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.lab: Lab | None = None
        self._thread = threading.Thread(target=self._run, name="mxtls-lab", daemon=True)

    def start(self) -> Lab:
        self._thread.start()
        if not self._ready.wait(LAB_START_TIMEOUT_S):
            raise RuntimeError(f"lab did not start within {LAB_START_TIMEOUT_S}s")
        if self._error is not None:
            raise RuntimeError("lab failed to start") from self._error
        assert self.lab is not None
        return self.lab

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=15)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            try:
                async with Lab(**self._kwargs) as lab:
                    self.lab = lab
                    self._ready.set()
                    await self._stop.wait()
            except BaseException as exc:  # reported to the starting thread
                self._error = exc
                self._ready.set()

        asyncio.run(main(), debug=True)


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    runner = RunningLab()
    world = runner.start()
    try:
        yield world
    finally:
        runner.stop()


@pytest.fixture(scope="session")
def lab_cfg(lab: Lab) -> CheckConfig:
    """A CheckConfig aimed at the lab, with short timeouts (tarpits cost little).

    4 s per step: long enough that a loaded 2-core CI machine does not turn a
    slow-but-working lab exchange into a timeout, short enough for the tarpits.
    """
    return lab_config(lab, timeout=LAB_STEP_TIMEOUT_S)


@pytest.fixture(scope="session")
def lab_cli_flags(lab: Lab) -> list[str]:
    """The `mxtls check` flags that reach the lab."""
    return lab_flags(lab).split() + ["--timeout", str(LAB_STEP_TIMEOUT_S)]


# ---------------------------------------------------------------- loop watchdog

WATCHDOG_REPORT = os.environ.get("MXTLS_WATCHDOG_REPORT")  # a file: survey, do not fail


def pytest_configure(config: pytest.Config) -> None:
    WATCHDOG.install()


@pytest.fixture(autouse=True)
def loop_watchdog(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test when an event loop was blocked while it ran (see tests.loop_watchdog)."""
    with WATCHDOG.watching() as slow:
        yield
    if WATCHDOG_REPORT:
        with Path(WATCHDOG_REPORT).open("a") as out:
            for s in slow:
                out.write(json.dumps({"test": request.node.nodeid, **s.__dict__}) + "\n")
        return
    culprits = [s for s in slow if s.fails]
    if culprits:
        pytest.fail("\n".join(s.describe() for s in culprits), pytrace=False)
