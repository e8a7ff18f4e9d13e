"""The performance targets in one command: each ratio printed against its target.

    .venv/bin/python benchmarks/bench.py [--rounds 7] [--baseline REV] [--sections ...]

What it measures (medians of ``--rounds`` runs; every ratio from the same run):

* **start-up**: wall time of ``mxtls --help``, ``mxtls --version`` and a usage
  error (``mxtls check`` without a domain), target <= 0.15 s each; the heavy
  packages ``python -X importtime -m mxtls --version`` loads, target none.
* **engine**: ``duration_ms`` of ``mxtls check bench.lab --json`` (two MX hosts
  x three ports, signed zone, DANE, MTA-STS, TLS-RPT; the lab runs in its own
  process) against the slowest of its endpoints probed alone in a warm process,
  target <= 3x.
* **whole process**: wall time of ``mxtls check bench.lab`` as a user runs it
  (text report), target <= 0.5 s; its peak RSS, target <= 60 MiB.
* **deep scan**: ``mxtls check deep.test --deep --ports 25`` on two real Postfix
  MX hosts against sslyze on the same two endpoints, target <= 1/3 of sslyze's
  wall time with the same or more findings (a diff per endpoint).  Needs root
  and Debian's Postfix (``scripts/install-system``); sslyze is installed by
  ``benchmarks/install_tools.sh``, which this script runs.  The three-way
  comparison with testssl.sh stays in ``bench_deep.py`` (it takes minutes).

``--baseline REV`` measures the mxtls of git revision REV too (its ``src/``
extracted to a temporary directory and put first on ``PYTHONPATH``), run for
run alternating with the working tree, so both see the same machine load; the
lab is always the working tree's.  Bytecode is compiled first for both, as
``pip install`` does (this environment may set PYTHONDONTWRITEBYTECODE).

Loopback only.  Run as root with ``unshare`` and ``ip``, the script re-executes
itself in a network namespace that has only ``lo`` (as ``bench_deep.py``
does).  Reported, not asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import bench_deep  # noqa: E402 - the tool parsers and the diff live there

BENCH_DOMAIN = "bench.lab"
DEEP_DOMAIN = "deep.test"
DEEP_HOSTS = (("mx1.deep.test", "127.0.0.1"), ("mx2.deep.test", "127.0.0.2"))
RUN_TIMEOUT_S = 300.0
LAB_START_TIMEOUT_S = 60.0

TARGET_STARTUP_S = 0.15
TARGET_ENGINE_RATIO = 3.0
TARGET_PROCESS_S = 0.5
TARGET_RSS_MIB = 60.0
TARGET_DEEP_RATIO = 1 / 3

# The packages `--version` must not load (tests/test_startup.py holds the CLI to more).
HEAVY = ("pydantic", "cryptography", "OpenSSL", "dns", "httpx", "rich", "certifi")


@dataclass
class Version:
    """One mxtls under test: the working tree, or a baseline revision."""

    name: str
    env: dict[str, str]

    def cmd(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "mxtls", *args]


@dataclass
class Sample:
    wall_s: float
    cpu_s: float
    rss_mib: float
    returncode: int
    stdout: bytes = b""


def run(cmd: Sequence[str], env: dict[str, str], *, capture: bool = False) -> Sample:
    """Run ``cmd``; wall time, CPU time and peak RSS of that process alone."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out if capture else subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = started + RUN_TIMEOUT_S
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        return Sample(
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            rss_mib=usage.ru_maxrss / 1024,
            returncode=proc.returncode,
            stdout=out.read() if capture else b"",
        )


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


# --- the versions under test -----------------------------------------------------------


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "80"
    return env


def compile_tree(src: Path) -> None:
    """Bytecode for ``src/mxtls``, as an installed package has it."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(src / "mxtls")],
        check=True,
        stdout=subprocess.DEVNULL,
    )


@contextlib.contextmanager
def versions(baseline: str | None) -> Iterator[list[Version]]:
    current = Version("new", {**base_env(), "PYTHONPATH": str(ROOT / "src")})
    compile_tree(ROOT / "src")
    if baseline is None:
        yield [current]
        return
    with tempfile.TemporaryDirectory(prefix="mxtls-baseline-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", baseline, "src"],
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=_bytes_io(archive)) as tar:
            tar.extractall(tmp, filter="data")
        compile_tree(Path(tmp) / "src")
        old = Version(f"old ({baseline})", {**base_env(), "PYTHONPATH": f"{tmp}/src"})
        yield [old, current]


def _bytes_io(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


# --- the results table -------------------------------------------------------------------


@dataclass
class Row:
    what: str
    target: str
    values: dict[str, str] = field(default_factory=dict)
    met: dict[str, bool | None] = field(default_factory=dict)


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "MISSED")


def print_rows(rows: list[Row], names: list[str]) -> None:
    width = max(len(r.what) for r in rows)
    head = f"{'':<{width}}  {'target':>10}  " + "  ".join(f"{n:>22}" for n in names)
    print("\n" + head)
    for r in rows:
        cells = "  ".join(f"{r.values.get(n, '-'):>14} {verdict(r.met.get(n)):>7}" for n in names)
        print(f"{r.what:<{width}}  {r.target:>10}  {cells}")


# --- start-up ----------------------------------------------------------------------------

STARTUP_COMMANDS = {
    "mxtls --help": ("--help",),
    "mxtls --version": ("--version",),
    "usage error (check)": ("check",),
}


def bench_startup(vers: list[Version], rounds: int) -> list[Row]:
    walls: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for label, args in STARTUP_COMMANDS.items():
            for v in vers:
                walls.setdefault((label, v.name), []).append(run(v.cmd(*args), v.env).wall_s)
    rows = []
    for label in STARTUP_COMMANDS:
        row = Row(label, f"<= {TARGET_STARTUP_S:.2f} s")
        for v in vers:
            w = median(walls[(label, v.name)])
            row.values[v.name] = f"{w:.3f} s"
            row.met[v.name] = w <= TARGET_STARTUP_S
        rows.append(row)
    row = Row("heavy packages at --version", "none")
    for v in vers:
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "mxtls", "--version"],
            env=v.env,
            capture_output=True,
            text=True,
            check=False,
        )
        loaded = {
            line.rsplit("|", 1)[-1].strip().split(".")[0]
            for line in proc.stderr.splitlines()
            if line.startswith("import time:") and "|" in line
        }
        heavy = sorted(loaded & set(HEAVY))
        row.values[v.name] = ",".join(heavy) if heavy else "none"
        row.met[v.name] = not heavy
    rows.append(row)
    python = median([run([sys.executable, "-c", "pass"], base_env()).wall_s for _ in range(rounds)])
    print(f"  (a bare `python -c pass` takes {python:.3f} s on this machine now)")
    return rows


# --- the lab, and the engine and whole-process figures -----------------------------------


class LabProcess:
    """``mxtls lab`` (the working tree's) in a child process."""

    def __init__(self, latency_ms: float) -> None:
        env = {**base_env(), "PYTHONPATH": str(ROOT / "src")}
        cmd = [sys.executable, "-m", "mxtls", "lab", "--duration", "3600"]
        if latency_ms:
            cmd += ["--latency-ms", str(latency_ms)]
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + LAB_START_TIMEOUT_S
        self.flags: list[str] = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if "mxtls check good.lab" in line:
                self.flags = shlex.split(line.split("good.lab", 1)[1])
                return
        self.stop()
        raise RuntimeError("the lab did not start")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


# Runs in a warm interpreter of the version under test: each endpoint probed alone,
# one after another, ``rounds`` times; prints the slowest per round (seconds).
_PROBE_ALONE = """
import asyncio, json, sys, time
from pathlib import Path
from mxtls.cli.options import build_config, parse_port_map
from mxtls.net.smtp_session import probe_endpoint
args = json.loads(sys.argv[1])
flags = args["flags"]
def values(name):
    return [flags[i + 1] for i, a in enumerate(flags) if a == name]
config = build_config(
    nameservers=values("--nameserver"), ca_file=Path(values("--ca-file")[0]),
    port_map=parse_port_map(values("--port-map")), timeout=10.0,
    ehlo_name="bench.mxtls.invalid",
)
async def main():
    for host, ip, port in args["endpoints"]:  # warm-up: imports, first handshake
        await probe_endpoint(host, ip, port, config)
    out = []
    for _ in range(args["rounds"]):
        slowest = 0.0
        for host, ip, port in args["endpoints"]:
            t = time.perf_counter()
            obs = await probe_endpoint(host, ip, port, config)
            assert obs.handshake is not None, obs.stop_detail
            slowest = max(slowest, time.perf_counter() - t)
        out.append(slowest)
    print(json.dumps(out))
asyncio.run(main())
"""


def bench_engine(
    vers: list[Version], rounds: int, latency_ms: float
) -> tuple[list[Row], dict[str, Any]]:
    lab = LabProcess(latency_ms)
    raw: dict[str, Any] = {}
    try:
        flags = [*lab.flags, "--ehlo-name", "bench.mxtls.invalid", "--ports", "25,465,587"]
        durations: dict[str, list[float]] = {v.name: [] for v in vers}
        singles: dict[str, list[float]] = {v.name: [] for v in vers}
        walls: dict[str, list[float]] = {v.name: [] for v in vers}
        rss: dict[str, list[float]] = {v.name: [] for v in vers}
        cpus: dict[str, list[float]] = {v.name: [] for v in vers}
        endpoints: list[list[Any]] = []
        for v in vers:  # warm the lab and the page cache; learn the endpoints
            first = run(v.cmd("check", BENCH_DOMAIN, "--json", *flags), v.env, capture=True)
            doc = json.loads(first.stdout)
            endpoints = [
                [h["name"], ep["ip"], ep["port"]] for h in doc["hosts"] for ep in h["endpoints"]
            ]
            serious = [f for f in doc["findings"] if f["severity"] != "info"]
            if serious or first.returncode != 0:
                raise RuntimeError(f"{v.name}: {BENCH_DOMAIN} is not clean: {serious}")
        for _ in range(rounds):
            for v in vers:
                js = run(v.cmd("check", BENCH_DOMAIN, "--json", *flags), v.env, capture=True)
                durations[v.name].append(json.loads(js.stdout)["duration_ms"] / 1000)
                text = run(v.cmd("check", BENCH_DOMAIN, *flags), v.env)
                walls[v.name].append(text.wall_s)
                rss[v.name].append(text.rss_mib)
                cpus[v.name].append(text.cpu_s)
        for v in vers:
            args = {"flags": flags, "endpoints": endpoints, "rounds": rounds}
            probe = run([sys.executable, "-c", _PROBE_ALONE, json.dumps(args)], v.env, capture=True)
            if probe.returncode != 0:
                raise RuntimeError(f"{v.name}: probing the endpoints alone failed")
            singles[v.name] = json.loads(probe.stdout)
    finally:
        lab.stop()
    what = f"{BENCH_DOMAIN} ({len(endpoints)} endpoints, lab latency {latency_ms:g} ms)"
    print(f"\n  engine and whole process: {what}")
    rows = [
        Row("check duration_ms", "-"),
        Row("slowest endpoint alone", "-"),
        Row("duration / slowest alone", f"<= {TARGET_ENGINE_RATIO:g}x"),
        Row("whole process (text)", f"<= {TARGET_PROCESS_S:g} s"),
        Row("  its CPU time", "-"),
        Row("peak RSS", f"<= {TARGET_RSS_MIB:g} MiB"),
    ]
    for v in vers:
        d, s, w = median(durations[v.name]), median(singles[v.name]), median(walls[v.name])
        r, c = max(rss[v.name]), median(cpus[v.name])
        rows[0].values[v.name] = f"{d * 1000:.0f} ms"
        rows[1].values[v.name] = f"{s * 1000:.1f} ms"
        rows[2].values[v.name] = f"{d / s:.1f}x"
        rows[2].met[v.name] = d / s <= TARGET_ENGINE_RATIO
        rows[3].values[v.name] = f"{w:.3f} s"
        rows[3].met[v.name] = w <= TARGET_PROCESS_S
        rows[4].values[v.name] = f"{c:.3f} s"
        rows[5].values[v.name] = f"{r:.1f} MiB"
        rows[5].met[v.name] = r <= TARGET_RSS_MIB
        raw[v.name] = {
            "duration_s": durations[v.name],
            "slowest_alone_s": singles[v.name],
            "wall_s": walls[v.name],
            "cpu_s": cpus[v.name],
            "rss_mib": rss[v.name],
        }
    return rows, raw


# --- the deep scan against sslyze ----------------------------------------------------------


class LoopThread:
    """An event loop in a daemon thread, for the deep target's DNS server."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def _port_free_on_both() -> int:
    for _ in range(50):
        with socket.socket() as a:
            a.bind((DEEP_HOSTS[0][1], 0))
            port = int(a.getsockname()[1])
            with socket.socket() as b:
                try:
                    b.bind((DEEP_HOSTS[1][1], port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free on both loopback addresses")


def _deep_zone(port_note: int) -> Any:
    import dns.zone

    lines = [
        f"$ORIGIN {DEEP_DOMAIN}.",
        "$TTL 300",
        f"@ SOA ns.{DEEP_DOMAIN}. hostmaster.{DEEP_DOMAIN}. 1 3600 600 86400 300",
        f"@ NS ns.{DEEP_DOMAIN}.",
        "ns A 127.0.0.1",
        f'_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@{DEEP_DOMAIN}"',
        f'@ TXT "benchmark target, SMTP on port {port_note}"',
    ]
    for pref, (host, ip) in enumerate(DEEP_HOSTS, start=1):
        lines += [f"@ MX {pref * 10} {host}.", f"{host}. A {ip}"]
    return dns.zone.from_text("\n".join(lines) + "\n", origin=DEEP_DOMAIN, relativize=False)


def bench_deep_scan(
    vers: list[Version], rounds: int, out: Path
) -> tuple[list[Row], dict[str, Any]]:
    from mxtls.lab.ca import LabCA
    from mxtls.lab.dns_server import DnsServer
    from mxtls.testing.postfix import PostfixInstance

    ok, reason = PostfixInstance.available()
    if not ok:
        print(f"\n  deep scan: skipped ({reason})")
        return [], {}
    sslyze = _sslyze()
    ca = LabCA()
    root = ca.write_root(out / "lab-root.pem")
    port = _port_free_on_both()
    loop = LoopThread()
    raw: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        for host, ip in DEEP_HOSTS:
            issued = ca.issue([host])
            pf = PostfixInstance(
                host, issued.chain_pem(), issued.key_pem(), ip=ip, ports={25: port}
            )
            stack.enter_context(pf)
        stack.callback(loop.stop)  # last: the server below stops on this loop first
        server = DnsServer([_deep_zone(port)])
        ns_ip, ns_port = loop.call(server.start("127.0.0.1", 0))
        stack.callback(lambda: loop.call(server.stop()))
        flags = [
            "--deep", "--ports", "25", "--port-map", f"25:{port}", "--ca-file", str(root),
            "--nameserver", f"{ns_ip}:{ns_port}", "--ehlo-name", "bench.mxtls.invalid",
            "--timeout", "10", "--json",
        ]  # fmt: skip
        print(f"\n  deep scan: {DEEP_DOMAIN}, two Postfix MX hosts (port {port}), vs sslyze")
        walls: dict[str, list[float]] = {v.name: [] for v in vers}
        walls["sslyze"] = []
        docs: dict[str, Path] = {}
        sslyze_cmd = None
        if sslyze is not None:
            targets = [f"{h}:{port}{{{ip}}}" for h, ip in DEEP_HOSTS]
            sslyze_cmd = [
                sslyze, "--starttls", "smtp", "--certinfo_ca_file", str(root),
                "--json_out", str(out / "sslyze.json"), *targets,
            ]  # fmt: skip
        for _ in range(rounds):
            for v in vers:
                s = run(v.cmd("check", DEEP_DOMAIN, *flags), v.env, capture=True)
                walls[v.name].append(s.wall_s)
                path = out / f"mxtls-{v.name.split()[0]}.json"
                path.write_bytes(s.stdout)
                docs[v.name] = path
            if sslyze_cmd is not None:
                walls["sslyze"].append(run(sslyze_cmd, base_env()).wall_s)
    rows = [Row("deep scan, 2 MX, port 25", "-"), Row("mxtls / sslyze wall", "<= 0.33x")]
    base = median(walls["sslyze"]) if walls["sslyze"] else None
    for v in vers:
        w = median(walls[v.name])
        rows[0].values[v.name] = f"{w:.2f} s"
        if base:
            rows[1].values[v.name] = f"{w / base:.2f}x"
            rows[1].met[v.name] = w / base <= TARGET_DEEP_RATIO
        raw[v.name] = {"wall_s": walls[v.name]}
    if base:
        print(f"  sslyze: {base:.2f} s (median of {len(walls['sslyze'])})")
        raw["sslyze"] = {"wall_s": walls["sslyze"]}
        newest = vers[-1].name
        raw["findings"] = compare_findings(docs[newest], out / "sslyze.json")
    else:
        print("  sslyze: not installed (bash benchmarks/install_tools.sh)")
    return rows, raw


def _sslyze() -> str | None:
    subprocess.run(
        ["bash", str(HERE / "install_tools.sh")],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=1800,
    )
    return bench_deep.sslyze_binary()


def compare_findings(mxtls_json: Path, sslyze_json: Path) -> dict[str, Any]:
    """Per endpoint: what each tool found, and the diff (bench_deep's)."""
    result: dict[str, Any] = {}
    for host, ip in DEEP_HOSTS:
        print(f"\n  findings at {host}[{ip}]:25")
        views = {
            "mxtls": bench_deep.parse_mxtls(mxtls_json, ip),
            "sslyze": bench_deep.parse_sslyze(sslyze_json, ip),
        }
        counts = {name: count_facts(view) for name, view in views.items()}
        print("    facts reported: " + "  ".join(f"{n}={c}" for n, c in counts.items()))
        result[ip] = {"counts": counts, "diff": bench_deep.diff_views(views)}
    return result


def count_facts(view: bench_deep.View) -> int:
    """Protocols judged, suites accepted, groups seen, vulnerabilities with a verdict."""
    return (
        sum(1 for v in view.protocols.values() if v is not None)
        + sum(len(s) for s in view.suites.values())
        + len(view.groups or ())
        + sum(1 for verdict, _how in view.vulns.values() if verdict is not None)
    )


# --- main ----------------------------------------------------------------------------------


def describe_machine() -> str:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs ({cpu}), load average {load}, Python {sys.version.split()[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description="mxtls performance targets (issue 9)")
    parser.add_argument("--rounds", type=int, default=7, help="runs per figure (median)")
    parser.add_argument("--baseline", metavar="REV", help="also measure this git revision")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="lab round trip per reply")
    parser.add_argument(
        "--sections", default="startup,engine,deep", help="comma list: startup,engine,deep"
    )
    parser.add_argument("--out", type=Path, help="results directory")
    parser.add_argument("--no-netns", action="store_true", help="stay on the host network")
    args = parser.parse_args()
    isolated = False if args.no_netns else bench_deep.enter_netns()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: terminated"))
    rounds = max(1, min(args.rounds, 50))
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    out = (args.out or HERE / "results" / f"bench-{stamp}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {describe_machine()}")
    print(f"network: {'own namespace, loopback only' if isolated else 'host network'}")
    print(f"results: {out}")
    summary: dict[str, Any] = {"machine": describe_machine(), "rounds": rounds}
    with versions(args.baseline) as vers:
        names = [v.name for v in vers]
        sections = set(args.sections.split(","))
        rows: list[Row] = []
        if "startup" in sections:
            rows += bench_startup(vers, rounds)
        if "engine" in sections:
            engine_rows, summary["engine"] = bench_engine(vers, rounds, args.latency_ms)
            rows += engine_rows
        if "deep" in sections:
            deep_rows, summary["deep"] = bench_deep_scan(vers, max(3, rounds // 2), out)
            rows += deep_rows
        print_rows(rows, names)
    print(f"\n(medians of {rounds} runs; peak RSS is the largest of them)")
    summary["rows"] = [{"what": r.what, "target": r.target, **r.values} for r in rows]
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))


if __name__ == "__main__":
    main()
