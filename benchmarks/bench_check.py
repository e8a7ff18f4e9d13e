"""Benchmark: wall time of a whole check vs its slowest single endpoint probe.

A check of a domain with 3 MX hosts × 3 ports should take about as long as
its slowest endpoint, because every host, address and port is probed at once
(target ratio ≤ 1.5).  The lab runs in a separate process (`mxtls lab`), so
the servers' CPU is not charged to the checker, and is measured twice:

* with no added latency: loopback round trips cost microseconds, so the run
  is bound by CPU (TLS handshakes on one core) and concurrency cannot hide it;
* with a simulated round trip per SMTP exchange (``--latency-ms``, default
  40 ms, a modest real-world RTT), which is what probing real MX hosts is
  bound by.

Loopback only; reported, not asserted.

    .venv/bin/python benchmarks/bench_check.py [--rounds 5] [--latency-ms 40]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

from mxtls.cli.options import build_config, parse_port_map
from mxtls.config import CheckConfig
from mxtls.engine.plan import initial_hosts, resolve_host
from mxtls.engine.run import check_domain
from mxtls.net.dns import RunResolver
from mxtls.net.smtp_session import probe_endpoint

LAB_START_TIMEOUT_S = 30.0


def start_lab(latency_ms: float) -> tuple[subprocess.Popen[str], CheckConfig]:
    """Start `mxtls lab` in a child process and build a config from its flags."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mxtls",
            "lab",
            "--duration",
            "600",
            "--latency-ms",
            str(latency_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + LAB_START_TIMEOUT_S
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if "mxtls check good.lab" in line:
            args = line.split()[3:]
            break
    else:
        proc.kill()
        raise RuntimeError("the lab did not start")
    nameservers = [args[i + 1] for i, a in enumerate(args) if a == "--nameserver"]
    maps = [args[i + 1] for i, a in enumerate(args) if a == "--port-map"]
    ca = args[args.index("--ca-file") + 1]
    anchor = args[args.index("--trust-anchor") + 1] if "--trust-anchor" in args else None
    config = build_config(
        nameservers=nameservers,
        ca_file=Path(ca),
        port_map=parse_port_map(maps),
        ports=(25, 465, 587),  # every MX host on all three ports, as the numbers below measure
        timeout=5.0,
        ehlo_name="bench.mxtls.invalid",
        dnssec_validate=anchor is not None,
        trust_anchor=Path(anchor) if anchor else None,
    )
    return proc, config


async def measure(domain: str, config: CheckConfig, rounds: int) -> tuple[float, float, int]:
    resolver = RunResolver(config.nameservers, timeout=config.timeouts.dns)
    mx = await resolver.query(domain, "MX")
    _, planned = initial_hosts(domain, mx, config)
    hosts = [await resolve_host(h, resolver, config) for h in planned]
    endpoints = [(h.name, ip, port) for h in hosts for ip in h.addresses for port in config.ports]
    await check_domain(domain, config)  # warm-up: imports, trust store, key caches
    whole: list[float] = []
    slowest: list[float] = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        report = await check_domain(domain, config)
        whole.append(time.perf_counter() - t0)
        serious = [f for f in report.findings if f.severity != "info"]
        assert not serious, serious
        singles = []
        for host, ip, port in endpoints:
            t1 = time.perf_counter()
            await probe_endpoint(host, ip, port, config)
            singles.append(time.perf_counter() - t1)
        slowest.append(max(singles))
    return statistics.median(whole), statistics.median(slowest), len(endpoints)


def main() -> None:
    parser = argparse.ArgumentParser(description="whole check vs slowest endpoint")
    parser.add_argument("--domain", default="three.lab")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=40.0)
    args = parser.parse_args()
    rounds = max(1, min(args.rounds, 50))
    header = ("lab latency", "endpoints", "whole check", "slowest alone", "ratio")
    print("{:>12} {:>9} {:>12} {:>14} {:>6}".format(*header))
    for latency in (0.0, args.latency_ms):
        proc, config = start_lab(latency)
        try:
            w, s, n = asyncio.run(measure(args.domain, config, rounds))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        print(f"{latency:>9.0f} ms {n:>9} {w * 1000:>9.1f} ms {s * 1000:>11.1f} ms {w / s:>6.2f}")
    print(f"(median of {rounds} rounds; target ratio <= 1.5)")


if __name__ == "__main__":
    main()
