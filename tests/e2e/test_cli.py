"""The command line contract: exit status, JSON shape, clear errors, no tracebacks.

Each test runs the real `mxtls` entry point in a subprocess against the lab.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 60


def mxtls(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mxtls", *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        check=False,
    )


def test_good_domain_json_exits_0(lab_cli_flags: list[str]) -> None:
    proc = mxtls("check", "good.lab", "--json", *lab_cli_flags)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "mxtls/1"
    assert doc["domain"] == "good.lab"
    assert doc["checked_at"].endswith("Z") or doc["checked_at"].endswith("+00:00")
    assert isinstance(doc["duration_ms"], float | int)
    assert all({"code", "severity", "target", "message"} <= set(f) for f in doc["findings"])
    assert not [f for f in doc["findings"] if f["severity"] in ("error", "warning")]
    endpoints = [ep for host in doc["hosts"] for ep in host["endpoints"]]
    assert endpoints and all(ep["handshake"] for ep in endpoints)
    ep = endpoints[0]
    assert ep["handshake"]["version"].startswith("TLS")
    assert ep["handshake"]["chain"][0]["sha256_fingerprint"]
    assert "STARTTLS" in (endpoints[0]["ehlo"] or {}).get("capabilities", {}) or ep["port"] == 465


def test_good_domain_on_all_three_ports_exits_0(lab_cli_flags: list[str]) -> None:
    # good.lab's second MX serves port 25 only, as big providers' MX hosts do:
    # its closed 465/587 are facts (info), not faults.
    proc = mxtls("check", "good.lab", "--ports", "25,465,587", "--json", *lab_cli_flags)
    assert proc.returncode == 0, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert not [f for f in findings if f["severity"] in ("error", "warning")], findings
    closed = sorted(
        f["target"].rsplit(":", 1)[1] for f in findings if f["code"] == "smtp.port_closed"
    )
    assert closed == ["465", "587"]


def test_broken_domain_exits_1_and_names_the_code(lab_cli_flags: list[str]) -> None:
    proc = mxtls("check", "expired.lab", *lab_cli_flags)
    assert proc.returncode == 1
    assert "cert.expired" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_fail_on_threshold(lab_cli_flags: list[str]) -> None:
    # expiring.lab has only a warning: passes by default, fails with --fail-on warning.
    assert mxtls("check", "expiring.lab", *lab_cli_flags).returncode == 0
    assert mxtls("check", "expiring.lab", "--fail-on", "warning", *lab_cli_flags).returncode == 1


def test_transcript_shows_dialogue(lab_cli_flags: list[str]) -> None:
    proc = mxtls("check", "good.lab", "--ports", "25", "--transcript", *lab_cli_flags)
    assert proc.returncode == 0, proc.stderr
    assert "C: EHLO" in proc.stdout and "S: 220" in proc.stdout
    assert "C: STARTTLS" in proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["check", "not a domain"],
        ["check", "192.0.2.1"],
        ["check", "example.com", "--bogus-option"],
        ["check", "example.com", "--ports", "25,99999"],
        ["check", "example.com", "--nameserver", "not-an-ip"],
        ["check", "example.com", "--ca-file", "/nonexistent/ca.pem"],
        ["check", "example.com", "--fail-on", "fatal"],
        ["check", "example.com", "--port-map", "25"],
        ["check", "example.com", "--timeout", "nan"],
        ["check", "example.com", "--timeout", "inf"],
        ["check", "example.com", "--timeout", "-1"],
        ["lab", "--latency-ms", "nan"],
    ],
)
def test_bad_input_exits_2_with_one_clear_line(args: list[str]) -> None:
    proc = mxtls(*args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip(), "a message must say what was wrong"


def test_unreadable_ca_file_exits_2(tmp_path: Path, lab_cli_flags: list[str]) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    flags = list(lab_cli_flags)
    i = flags.index("--ca-file")
    flags[i + 1] = str(bad)
    proc = mxtls("check", "good.lab", *flags)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_unreachable_resolver_is_a_finding_not_a_crash() -> None:
    # Port 9 on loopback: nothing listens, so every lookup fails at once
    # (not after the 30 s timeout; start-up on a loaded machine takes seconds)
    # and the message names the resolver.
    started = time.monotonic()
    proc = mxtls("check", "example.com", "--json", "--nameserver", "127.0.0.1:9", "--timeout", "30")
    assert time.monotonic() - started < 15.0
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert {f["code"] for f in findings} == {"dns.error"}
    assert all("127.0.0.1:9" in f["message"] for f in findings), findings


def test_lab_cleans_up_on_sigterm() -> None:
    # Given `mxtls lab` running in the foreground,
    with subprocess.Popen(
        [sys.executable, "-m", "mxtls", "lab", "--duration", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        try:
            first = proc.stdout.readline()
            assert "running" in first, first
            flags = proc.stdout.readline().split()
            workdir = Path(flags[flags.index("--ca-file") + 1]).parent
            assert (workdir / "lab-root.pem").is_file()
            # when a service manager stops it with SIGTERM,
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        errors = proc.stderr.read()
    # then it exits cleanly and leaves no keys or certificates behind.
    assert proc.returncode == 0, errors
    assert not workdir.exists()


def test_schema_command_matches_published_copy() -> None:
    proc = mxtls("schema")
    assert proc.returncode == 0
    published = (ROOT / "docs" / "schema" / "mxtls-1.json").read_text()
    assert proc.stdout == published, "run `mxtls schema > docs/schema/mxtls-1.json`"


def test_help_teaches() -> None:
    proc = mxtls("check", "--help")
    assert proc.returncode == 0
    for word in ("--nameserver", "--ca-file", "--fail-on", "Exit status", "Examples"):
        assert word in proc.stdout


def test_demo_runs_and_shows_clean_and_broken_domains() -> None:
    proc = mxtls("demo")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "good.lab" in proc.stdout and "expired.lab" in proc.stdout
    assert "cert.expired" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
