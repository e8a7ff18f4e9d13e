"""Benchmark: the bulk scanner on one machine, against the lab (reported, not asserted).

The lab runs in its own process (``mxtls lab --synthetic N``), so its CPU is
not charged to the scanner.  Four measurements, each printed with its target:

1. **probes/s**: full STARTTLS probes (connect, banner, EHLO, STARTTLS, TLS
   handshake, EHLO, QUIT) of the synthetic world's MX hosts, as many at once
   as ``--probe-concurrency``, no reuse; errors counted (target ≥ 350/s, no
   errors);
2. **domains/s per client core**: ``mxtls scan`` over the synthetic world
   (each domain: MX, MTA-STS and TLS-RPT TXT, the MX hosts' A/AAAA/TLSA/CAA
   once, its MX probed once per scan), domains divided by the scanner
   process's CPU seconds (target ≥ 75), and by wall seconds;
3. **the whole lab in one scan**: every scenario domain of ``mxtls demo
   --all`` in one scan (one runtime, in process) vs the slowest of them
   checked alone with the same settings (target ≤ 1.5×);
4. **vs xargs**: ``xargs -P8 -n1 mxtls check --json`` over a list vs
   ``mxtls scan`` over the same list, wall time (the baseline a user would
   otherwise write).

    .venv/bin/python benchmarks/bench_scan.py [--domains 5000] [--xargs-domains 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from mxtls.bulk.input import Domain
from mxtls.bulk.scan import scan_domains
from mxtls.cli.options import build_config, parse_port_map
from mxtls.config import CheckConfig, Limits
from mxtls.engine.run import check_domain
from mxtls.engine.runtime import Runtime
from mxtls.lab.scenarios import SCENARIOS
from mxtls.net.smtp_session import probe_endpoint

LAB_START_TIMEOUT_S = 60.0
STEP_TIMEOUT_S = 3.0  # as `mxtls demo`


class LabProcess:
    """`mxtls lab --synthetic N` in a child process, and the flags that reach it."""

    def __init__(self, synthetic: int, workdir: Path) -> None:
        self.listing = workdir / "synth.txt"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mxtls", "lab", "--duration", "3600"]
            + ["--synthetic", str(synthetic), "--synthetic-list", str(self.listing)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + LAB_START_TIMEOUT_S
        self.flags: list[str] = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if "mxtls check good.lab" in line:
                self.flags = line.split()[3:] + ["--timeout", str(STEP_TIMEOUT_S)]
            if line.startswith("Stopping after"):
                break
        else:
            self.proc.kill()
            raise RuntimeError("the lab did not start")

    def config(self) -> CheckConfig:
        args = self.flags
        return build_config(
            nameservers=[args[i + 1] for i, a in enumerate(args) if a == "--nameserver"],
            ca_file=Path(args[args.index("--ca-file") + 1]),
            port_map=parse_port_map([args[i + 1] for i, a in enumerate(args) if a == "--port-map"]),
            timeout=STEP_TIMEOUT_S,
            ehlo_name="bench.mxtls.invalid",
            dnssec_validate=True,
            trust_anchor=Path(args[args.index("--trust-anchor") + 1]),
            ports=(25,),
        )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def scan_config(config: CheckConfig, concurrency: int = 100) -> CheckConfig:
    """The settings `mxtls scan` uses by default (see mxtls/cli/scan.py)."""
    return replace(
        config,
        limits=replace(
            config.limits,
            total_connections=max(Limits().total_connections, 2 * concurrency),
            network_prefix_v4=24,
            network_prefix_v6=48,
            connection_gap=0.1,
            throttle_retries=1,
            endpoint_reuse_s=3600.0,
        ),
    )


async def probes_per_second(
    config: CheckConfig, hosts: list[tuple[str, str]], total: int, concurrency: int
) -> tuple[float, int]:
    gate = asyncio.Semaphore(concurrency)
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        name, ip = hosts[i % len(hosts)]
        async with gate:
            obs = await probe_endpoint(name, ip, 25, config)
        if obs.handshake is None or obs.stopped_at is not None:
            errors += 1

    await asyncio.gather(*(one(i) for i in range(min(concurrency, 50))))  # warm up
    errors = 0
    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(total)))
    return total / (time.perf_counter() - started), errors


async def resolve_synthetic_hosts(config: CheckConfig) -> list[tuple[str, str]]:
    runtime = Runtime(config)
    resolver = runtime.resolver()
    out = []
    for k in range(1, 5):
        name = f"mx{k}.synth.lab"
        answer = await resolver.query(name, "A")
        out += [(name, ip) for ip in answer.records]
    return out


def run_scan(names: list[str], flags: list[str], workdir: Path) -> tuple[float, float]:
    """`mxtls scan` over ``names``: (wall seconds, CPU seconds of the scanner process)."""
    listing = workdir / f"scan-{len(names)}.txt"
    listing.write_text("".join(n + "\n" for n in names))
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mxtls", "scan", str(listing), "--no-progress"] + flags,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"mxtls scan failed:\n{err}")
    return wall, usage.ru_utime + usage.ru_stime


def run_xargs(names: list[str], flags: list[str], workdir: Path) -> float:
    listing = workdir / f"xargs-{len(names)}.txt"
    listing.write_text("".join(n + "\n" for n in names))
    command = ["xargs", "-P8", "-n1", sys.executable, "-m", "mxtls", "check", "--json"]
    command += ["--ports", "25", *flags]
    started = time.perf_counter()
    with listing.open() as stdin:
        subprocess.run(command, stdin=stdin, stdout=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


async def whole_lab(config: CheckConfig) -> tuple[float, float, str]:
    """(one scan of every scenario domain, the slowest domain alone, its name)."""
    domains = [sc.domain for sc in SCENARIOS]
    alone: dict[str, float] = {}
    for name in domains:
        runtime = Runtime(config)
        started = time.perf_counter()
        await check_domain(name, runtime)
        alone[name] = time.perf_counter() - started
    runtime = Runtime(config)
    items = iter([Domain(name=d, text=d, line=i) for i, d in enumerate(domains)])
    started = time.perf_counter()
    await scan_domains(
        items,
        runtime,
        concurrency=100,
        on_report=lambda d, r: None,
        on_failure=lambda d, e: print(f"  {d.name}: {e}"),
        read_in_thread=False,
    )
    whole = time.perf_counter() - started
    slowest = max(alone, key=lambda k: alone[k])
    return whole, alone[slowest], slowest


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"load average {load:.1f} at start"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=5000, help="synthetic domains to scan")
    parser.add_argument("--probes", type=int, default=2000, help="probes for the probes/s run")
    parser.add_argument("--probe-concurrency", type=int, default=64)
    parser.add_argument("--xargs-domains", type=int, default=200)
    parser.add_argument(
        "--parts", default="probes,domains,lab,xargs", help="which measurements to run"
    )
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="mxtls-bench-scan-") as tmp:
        workdir = Path(tmp)
        lab = LabProcess(max(args.domains, args.xargs_domains), workdir)
        try:
            config = lab.config()
            names = lab.listing.read_text().split()
            if "probes" in parts:
                hosts = asyncio.run(resolve_synthetic_hosts(config))
                rate, errors = asyncio.run(
                    probes_per_second(config, hosts, args.probes, args.probe_concurrency)
                )
                print(
                    f"probes/s      {rate:8.1f}   errors {errors}   "
                    f"({args.probes} STARTTLS probes, {args.probe_concurrency} at once; "
                    f"target >= 350, no errors)"
                )
            if "domains" in parts:
                many = names[: args.domains]
                wall, cpu = run_scan(many, lab.flags, workdir)
                print(
                    f"domains/s     {len(many) / cpu:8.1f}   per client CPU second "
                    f"({len(many)} synthetic domains, {cpu:.1f} CPU s; target >= 75)"
                )
                print(f"              {len(many) / wall:8.1f}   per wall second ({wall:.1f} s)")
            if "lab" in parts:
                whole, slowest, which = asyncio.run(whole_lab(scan_config(config)))
                print(
                    f"whole lab     {whole / slowest:8.2f}x  one scan of {len(SCENARIOS)} "
                    f"domains {whole:.2f} s vs slowest alone {slowest:.2f} s ({which}); "
                    "target <= 1.5"
                )
            if "xargs" in parts:
                few = names[: args.xargs_domains]
                x_wall = run_xargs(few, lab.flags, workdir)
                s_wall, _ = run_scan(few, lab.flags, workdir)
                print(
                    f"vs xargs -P8  {x_wall / s_wall:8.1f}x  xargs {x_wall:.1f} s, "
                    f"mxtls scan {s_wall:.1f} s ({len(few)} domains)"
                )
        finally:
            lab.stop()


if __name__ == "__main__":
    main()
