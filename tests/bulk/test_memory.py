"""Memory is flat in the number of domains: 20,000 cost what 2,000 cost.

The scanner streams its input and its output and keeps nothing per domain
but an 8-byte digest (duplicates); its caches are bounded (``--dns-cache``
is set low here so that both runs fill it).  The test scans
2,000 and then 20,000 synthetic domains in a fresh process each and compares
the peak resident set sizes the kernel reports for the two processes.  Nine
of ten synthetic domains here are null MX domains (cheap to check, so the
test stays within the suite's time), the tenth a hosted domain checked in
full: a scanner that kept its reports would grow by hundreds of megabytes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mxtls.cli.demo import lab_flags
from mxtls.lab.synthetic import SyntheticWorld
from mxtls.lab.world import Lab
from tests.bulk.conftest import write_list
from tests.conftest import LAB_STEP_TIMEOUT_S, RunningLab

SMALL, LARGE = 2_000, 20_000
DNS_CACHE = 2_000  # both runs fill it: what is left to compare is what grows with the input
GROWTH_LIMIT_KIB = 16 * 1024  # allocator noise; 18,000 kept reports would cost hundreds of MiB


@pytest.fixture(scope="module")
def mostly_null_lab() -> Iterator[Lab]:
    runner = RunningLab(scenarios=[], synthetic=SyntheticWorld(LARGE, mail_every=10))
    world = runner.start()
    try:
        yield world
    finally:
        runner.stop()


def peak_rss_kib(args: list[str]) -> int:
    """Run ``mxtls`` with ``args`` to completion; the child's peak RSS in KiB."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mxtls", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    assert proc.stderr is not None
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, stderr
    return usage.ru_maxrss  # KiB on Linux


def test_peak_memory_does_not_grow_with_the_input(mostly_null_lab: Lab, tmp_path: Path) -> None:
    world = mostly_null_lab.synthetic
    assert world is not None
    flags = lab_flags(mostly_null_lab).split() + ["--timeout", str(LAB_STEP_TIMEOUT_S)]
    peaks = {}
    for count in (SMALL, LARGE):
        source = write_list(tmp_path / f"{count}.txt", list(world.domains(count)))
        out = tmp_path / f"{count}.jsonl"
        peaks[count] = peak_rss_kib(
            [
                "scan",
                str(source),
                "-o",
                str(out),
                "--no-progress",
                "--dns-cache",
                str(DNS_CACHE),
                *flags,
            ]
        )
        assert out.read_bytes().count(b"\n") == count
    growth = peaks[LARGE] - peaks[SMALL]
    assert growth < GROWTH_LIMIT_KIB, f"peak RSS {peaks}: grew by {growth} KiB"
