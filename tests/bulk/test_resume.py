"""`--resume` after `kill -9`: nothing lost, nothing written twice, a torn line repaired."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mxtls.lab.world import Lab
from tests.bulk.conftest import documents, mxtls, write_list

KILL_AFTER_LINES = 40
WAIT_S = 120.0


def test_a_killed_scan_resumes_without_loss_or_duplicates(
    bulk_lab: Lab, bulk_flags: list[str], tmp_path: Path
) -> None:
    assert bulk_lab.synthetic is not None
    names = list(bulk_lab.synthetic.domains(400))
    source = write_list(tmp_path / "d.txt", names)
    out = tmp_path / "results.jsonl"
    # Given a scan that is killed (SIGKILL: no cleanup of any kind) mid-way ...
    proc = subprocess.Popen(
        [sys.executable, "-m", "mxtls", "scan", str(source), "-o", str(out), "--concurrency", "4"]
        + bulk_flags,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= KILL_AFTER_LINES:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the scan ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done_before = documents(out.read_text(encoding="utf-8").rsplit("\n", 1)[0] + "\n")
    assert KILL_AFTER_LINES <= len(done_before) < len(names)
    # ... and whose last line was torn by the crash.
    with out.open("a", encoding="utf-8") as handle:
        handle.write('{"schema":"mxtls/1","kind":"domain","domain":"d399.synth.lab","inp')
    # When the same scan is run again with --resume,
    result = mxtls("scan", str(source), "-o", str(out), "--resume", *bulk_flags)
    assert result.returncode == 0, result.stderr
    # then every domain has exactly one whole document, and the ones done before
    # the crash were not checked again.
    docs = documents(out.read_text(encoding="utf-8"))
    assert sorted(docs) == sorted(names)
    assert f"{len(done_before)} already done" in result.stderr
    for name, doc in done_before.items():
        assert docs[name]["checked_at"] == doc["checked_at"], name
