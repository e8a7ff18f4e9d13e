"""A lab for the bulk scanner: a few scenario domains and a synthetic world.

The synthetic world (:mod:`mxtls.lab.synthetic`) puts thousands of domains
on four MX hosts, as hosted mail does; the scenario rows give documents with
findings of every kind.  Scans run the real ``mxtls scan`` in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mxtls.cli.demo import lab_flags
from mxtls.lab.scenarios import SCENARIOS
from mxtls.lab.world import Lab
from tests.conftest import LAB_STEP_TIMEOUT_S, RunningLab
from tests.e2e.cli_run import mxtls as run_mxtls

SCAN_RUN_TIMEOUT_S = 300
SCENARIO_DOMAINS = (
    "good.lab",
    "secure.lab",
    "expired.lab",
    "wrongname.lab",
    "nostarttls.lab",
    "sts-testing.lab",
    "dane-good.lab",
    "nullmx.lab",
)
SYNTHETIC = 2000
TIMING_KEYS = frozenset({"checked_at", "duration_ms", "timings_ms", "elapsed_ms", "t_ms"})


@pytest.fixture(scope="session")
def bulk_lab() -> Iterator[Lab]:
    rows = [sc for sc in SCENARIOS if sc.domain in SCENARIO_DOMAINS]
    runner = RunningLab(scenarios=rows, synthetic=SYNTHETIC)
    world = runner.start()
    try:
        yield world
    finally:
        runner.stop()


@pytest.fixture(scope="session")
def bulk_flags(bulk_lab: Lab) -> list[str]:
    """The run options that aim `mxtls scan` (or `check`) at the bulk lab."""
    return lab_flags(bulk_lab).split() + ["--timeout", str(LAB_STEP_TIMEOUT_S)]


def mxtls(*args: str, timeout: float = SCAN_RUN_TIMEOUT_S) -> subprocess.CompletedProcess[str]:
    """Run the real command line (a scan may take minutes on a loaded machine)."""
    return run_mxtls(*args, timeout=timeout)


def write_list(path: Path, names: list[str]) -> Path:
    path.write_text("".join(n + "\n" for n in names), encoding="utf-8")
    return path


def documents(text: str) -> dict[str, dict[str, Any]]:
    """JSONL text → {domain: document}; every line must be a whole document."""
    out: dict[str, dict[str, Any]] = {}
    for line in text.splitlines():
        doc = json.loads(line)
        assert doc["schema"] == "mxtls/1"
        assert doc["domain"] not in out, f"{doc['domain']} written twice"
        out[doc["domain"]] = doc
    return out


def normalised(value: Any) -> Any:
    """A document without the fields that measure time (they differ run to run)."""
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    return value
