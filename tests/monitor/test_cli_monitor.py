"""`mxtls monitor` as a user runs it: --once from cron, SIGTERM, and no secret anywhere."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mxtls.lab.world import Lab
from tests.conftest import LAB_STEP_TIMEOUT_S
from tests.monitor.conftest import MONITOR_DOMAINS, monitor_scenarios
from tests.monitor.receiver import WebhookReceiver

SECRET = "cli-webhook-secret-never-printed-7f3a"
RUN_TIMEOUT_S = 120


@pytest.fixture
def cli_lab() -> Iterator[Lab]:
    with Lab(monitor_scenarios()) as lab:
        yield lab


def write_config(lab: Lab, tmp_path: Path, hook_url: str) -> Path:
    ip, port = lab.nameserver
    maps = ", ".join(f'"{a}:{b}"' for a, b in sorted(lab.port_map.items()))
    domains = "\n".join(f'[[domain]]\nname = "{d}"\n' for d in MONITOR_DOMAINS)
    text = f"""
[defaults]
interval = "1h"
nameserver = ["{ip}:{port}"]
ca_file = "{lab.ca_file}"
port_map = [{maps}]
dnssec_validate = true
trust_anchor = "{lab.trust_anchor}"
timeout = {LAB_STEP_TIMEOUT_S}
ports = [25]

{domains}
[[webhook]]
url = "{hook_url}"
secret = "env:MXTLS_HOOK_SECRET"

[monitor]
db = "sqlite:///{tmp_path / "history.sqlite3"}"
audit_log = "audit.jsonl"
jitter = 0
"""
    path = tmp_path / "mxtls.toml"
    path.write_text(text)
    return path


def mxtls(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mxtls", *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env={**os.environ, **env},
    )


def test_once_exit_status_alerts_and_no_secret_leaks(cli_lab: Lab, tmp_path: Path) -> None:
    env = {"MXTLS_HOOK_SECRET": SECRET}
    with WebhookReceiver(SECRET) as receiver:
        config = write_config(cli_lab, tmp_path, receiver.url)
        # Given a first round: no error finding anywhere, nothing changed yet
        first = mxtls("monitor", "--config", str(config), "--once", env=env)
        assert first.returncode == 0, first.stderr
        assert "round 1: 3 domain(s)" in first.stderr
        # When a renewal breaks DANE on dane-single.lab
        cli_lab.renew_certificate("mx.dane-single.lab", key_slot=50)
        second = mxtls("monitor", "--config", str(config), "--once", env=env)
        # Then the exit status follows the check contract, and the webhook was told
        assert second.returncode == 1, second.stderr
        line = next(ln for ln in second.stdout.splitlines() if ln.startswith("dane-single.lab"))
        assert "2 error(s)" in line and "finding.new x2" in line and "cert.changed x1" in line
        assert {r.payload["event"] for r in receiver.requests} == {
            "finding.new",
            "finding.resolved",
            "cert.changed",
            "verdict.changed",
        }
        assert all(r.verified for r in receiver.requests)
    hist = mxtls(
        "history", "dane-single.lab", "--db", f"sqlite:///{tmp_path / 'history.sqlite3'}", env=env
    )
    assert hist.returncode == 0 and "dane.mismatch" in hist.stdout
    # No output, log, database or audit line carries the secret
    outputs = [first.stdout, first.stderr, second.stdout, second.stderr, hist.stdout]
    files = [p.read_bytes() for p in tmp_path.iterdir() if p.name != "mxtls.toml"]
    assert files and not any(SECRET in o for o in outputs)
    assert not any(SECRET.encode() in f for f in files)
    assert len((tmp_path / "audit.jsonl").read_text().splitlines()) == 6


def test_sigterm_stops_cleanly_and_metrics_are_served(cli_lab: Lab, tmp_path: Path) -> None:
    config = write_config(cli_lab, tmp_path, "http://127.0.0.1:9/unused")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mxtls", "monitor", "--config", str(config), "--metrics-port", "0"],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "MXTLS_HOOK_SECRET": SECRET},
    )
    try:
        assert proc.stderr is not None
        lines: list[str] = []
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while not any("round 1:" in ln for ln in lines) and time.monotonic() < deadline:
            lines.append(proc.stderr.readline())
        url = next(m.group(1) for ln in lines if (m := re.search(r"metrics on (\S+)", ln)))
        text = httpx.get(url, timeout=5).text
        assert (
            'mxtls_sender_verdict{domain="secure.lab",sender="dane",state="authenticated"} 1.0'
            in text
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        rest = proc.stderr.read()
        assert "stopped after 1 round(s)" in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_bad_configuration_is_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[[domain]]\nname = "a.example"\nnameserver = ["192.0.2.1"]\n')
    done = mxtls("monitor", "--config", str(config), "--once", env={})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "mxtls: error: [[domain]] 'a.example': nameserver applies to every domain "
        "(one shared runtime); set it in [defaults]"
    ]
