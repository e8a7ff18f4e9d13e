"""``mxtls ping`` against the lab's real SMTP servers: per-step timings, polite bounds."""

from __future__ import annotations

import json

from mxtls.config import CheckConfig
from mxtls.engine.ping import ping_host
from mxtls.engine.runtime import Runtime
from mxtls.lab.world import Lab
from mxtls.models.ping import PingSample, percentile, step_stats

from .test_cli import mxtls

SMTP_STEPS = ["connect", "banner", "ehlo", "starttls", "handshake", "ehlo_tls", "quit", "total"]


def test_ping_json_has_every_step_and_the_summary(lab_cli_flags: list[str]) -> None:
    proc = mxtls(
        "ping", "mx1.good.lab", "--count", "3", "--interval", "0.5", "--json", *lab_cli_flags
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "mxtls-ping/1" and doc["protocol"] == "smtp" and doc["port"] == 25
    assert [s["seq"] for s in doc["samples"]] == [1, 2, 3]
    for sample in doc["samples"]:
        assert list(sample["timings_ms"]) == SMTP_STEPS
        assert sample["tls_version"].startswith("TLSv1")
    assert list(doc["stats"]) == SMTP_STEPS
    for st in doc["stats"].values():
        assert st["count"] == 3 and st["min"] <= st["median"] <= st["p95"] <= st["max"]
    # progress lines go to stderr with --json, one per session
    assert proc.stderr.count("session ") == 3


def test_ping_text_fits_80_columns_and_implicit_tls_port(lab_cli_flags: list[str]) -> None:
    proc = mxtls("ping", "mx1.good.lab:465", "-c", "2", "-i", "0.5", *lab_cli_flags)
    assert proc.returncode == 0, proc.stderr
    assert "(SMTP, implicit TLS): 2 sessions, 2 complete" in proc.stdout
    table = proc.stdout.split("complete", 1)[1]
    assert all(len(line) <= 80 for line in table.splitlines())
    assert "handshake" in table and "starttls" not in table


async def test_ping_stops_at_the_first_throttled_session(lab: Lab, lab_cfg: CheckConfig) -> None:
    # Given a server that answers 421 "too many connections"
    seen: list[PingSample] = []
    report = await ping_host(
        "mx.ratelimited.lab", 25, Runtime(lab_cfg), count=5, interval=0.5, on_sample=seen.append
    )
    # Then one session was enough: no hammering
    assert len(report.samples) == len(seen) == 1
    assert report.samples[0].throttled and report.stopped is not None
    assert report.samples[0].stopped_at == "banner"


def test_bounds_are_enforced(lab_cli_flags: list[str]) -> None:
    assert mxtls("ping", "mx1.good.lab", "--count", "101", *lab_cli_flags).returncode == 2
    assert mxtls("ping", "mx1.good.lab", "--interval", "0.1", *lab_cli_flags).returncode == 2
    proc = mxtls("ping", "nosuchhost.lab", "-c", "1", *lab_cli_flags)
    assert proc.returncode == 2 and "no address" in proc.stderr


def test_stats_are_nearest_rank() -> None:
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.95) == 5.0
    assert percentile([float(i) for i in range(1, 101)], 0.95) == 95.0
    samples = [
        PingSample(seq=1, timings_ms={"connect": 1.0, "banner": 3.0, "total": 4.0}),
        PingSample(seq=2, timings_ms={"connect": 2.0, "banner": 9.0}, stopped_at="banner"),
    ]
    stats = step_stats(samples)
    assert stats["connect"].count == 2 and stats["connect"].median == 1.5
    assert stats["banner"].count == 1 and stats["total"].count == 1  # failures left out
