"""Benchmark: `mxtls scan-host` vs testssl.sh and sslyze on the same real Postfix.

One private Postfix (``mxtls.testing.postfix``) listens on loopback with port 25
STARTTLS and a certificate from the lab CA.  Each tool scans it in its default
run, one after another (never at once, so no tool pays for another's load):

* ``mxtls scan-host 127.0.0.1:25 --port-map 25:<port> --json``
* ``sslyze --starttls smtp --json_out FILE host:<port>{127.0.0.1}`` (its own venv)
* ``testssl --starttls smtp --jsonfile FILE 127.0.0.1:<port>`` (Debian's package)

The script prints each tool's version, wall time (median of ``--rounds`` for the
fast tools, one run of testssl.sh, which takes minutes) and its ratio to mxtls,
then a diff of what the three found: protocol versions, accepted cipher suites
per version (IANA names; testssl.sh's OpenSSL names are mapped through mxtls's
registry), key-exchange groups and DH size, and the vulnerabilities they share
(Heartbleed, CCS, ROBOT, POODLE, SWEET32, FREAK, Logjam, DROWN, CRIME,
renegotiation, fallback SCSV...).  Every difference names which tool says what.

Targets:

* ``mixed`` -- a deliberately loose Postfix: TLS 1.0 to 1.3, server cipher order,
  ``ALL:@SECLEVEL=0`` (CBC, static-RSA, anonymous, CAMELLIA/ARIA suites), a
  1024-bit DH group (RFC 2409 group 2), an RSA-2048 certificate.
* ``default`` -- the same instance with Debian's defaults (no extra main.cf lines).

Loopback only.  Run as root with ``unshare`` and ``ip`` available, the script
re-executes itself in a fresh network namespace that has nothing but ``lo``, so
none of the tools can reach any other address even by accident (testssl.sh is
also told ``--nodns none``; mxtls's resolver is pointed at a closed loopback
port).  Every subprocess runs under a time bound; a tool cut by its bound is
reported as such.  Reported, not asserted.

    bash benchmarks/install_tools.sh
    .venv/bin/python benchmarks/bench_deep.py [--targets mixed,default] [--rounds 3]

Raw outputs (each tool's JSON and log, ``summary.json``) go to
``benchmarks/results/deep-<UTC time>/`` unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mxtls.lab.ca import LabCA
from mxtls.protocol.tls_registry import (
    BulkCipher,
    CipherSuite,
    KeyExchange,
    cipher_suite,
    cipher_suite_by_iana_name,
    cipher_suite_by_openssl_name,
)
from mxtls.testing.postfix import PostfixInstance

HERE = Path(__file__).resolve().parent
TOOLS_VENV = HERE / ".venv-tools"
TARGET_HOST = "mx.bench.test"  # the certificate's name; never resolved
TARGET_IP = "127.0.0.1"
NO_RESOLVER = "127.0.0.1:9"  # discard port, nothing listens: DNS answers never come
NETNS_ENV = "MXTLS_BENCH_NETNS"

# Bounds per tool run (seconds).  testssl.sh's default run against a loose server
# takes minutes (hundreds of openssl s_client calls); the others take seconds.
TESTSSL_TIMEOUT_S = 900.0
SSLYZE_TIMEOUT_S = 300.0
MXTLS_TIMEOUT_S = 300.0
VERSION_TIMEOUT_S = 30.0
KILL_GRACE_S = 5.0

VERSIONS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
TOOLS = ("mxtls", "sslyze", "testssl.sh")

# RFC 2409 §6.2, Second Oakley Group: the 1024-bit MODP prime, generator 2.  The
# most shared 1024-bit prime there is: the Logjam paper's "common prime" case.
RFC2409_GROUP2_P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
    "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
    "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    16,
)

Targets = dict[str, Callable[[Path], dict[str, str]]]


def _mixed_settings(workdir: Path) -> dict[str, str]:
    """main.cf lines of the loose target: every tool has a lot to enumerate."""
    dh_file = workdir / "dh1024.pem"
    dh_file.write_bytes(dh_params_pem(RFC2409_GROUP2_P, 2))
    return {
        "smtpd_tls_protocols": ">=TLSv1",
        "smtpd_tls_mandatory_protocols": ">=TLSv1",
        "tls_preempt_cipherlist": "yes",
        "smtpd_tls_ciphers": "high",
        "smtpd_tls_mandatory_ciphers": "high",
        # SECLEVEL=0 lets Debian's OpenSSL 3 speak TLS 1.0/1.1 (SHA-1 signatures)
        # and use the 1024-bit group; ALL includes anonymous and static-RSA suites.
        "tls_high_cipherlist": "ALL:@SECLEVEL=0",
        "smtpd_tls_dh1024_param_file": str(dh_file),
    }


TARGETS: Targets = {
    "mixed": _mixed_settings,
    "default": lambda _workdir: {},
}


def dh_params_pem(p: int, g: int) -> bytes:
    """PKCS#3 DHParameter (SEQUENCE of two INTEGERs) as PEM, for Postfix's dh file."""

    def der_len(n: int) -> bytes:
        if n < 0x80:
            return bytes([n])
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        return bytes([0x80 | len(raw)]) + raw

    def der_int(v: int) -> bytes:
        raw = v.to_bytes(v.bit_length() // 8 + 1, "big")  # leading 0: stays positive
        return b"\x02" + der_len(len(raw)) + raw

    body = der_int(p) + der_int(g)
    der = b"\x30" + der_len(len(body)) + body
    b64 = base64.b64encode(der).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    text = "-----BEGIN DH PARAMETERS-----\n" + "\n".join(lines) + "\n-----END DH PARAMETERS-----\n"
    return text.encode()


# --- running the tools ------------------------------------------------------------


@dataclass
class ToolRun:
    """One tool on one target: its timings and where its output went."""

    tool: str
    version: str
    walls_s: list[float] = field(default_factory=list)
    scan_s: float | None = None  # the scan time the tool itself reports
    returncode: int | None = None
    cut: bool = False  # stopped by its time bound
    json_path: Path | None = None
    error: str | None = None

    @property
    def wall_s(self) -> float | None:
        return statistics.median(self.walls_s) if self.walls_s else None


def run_bounded(
    cmd: list[str], timeout: float, log: Path, stdout: Path | None = None
) -> tuple[int | None, float, bool]:
    """Run ``cmd`` in its own process group; kill the group at ``timeout``.

    Output goes to ``log`` (stdout too, unless ``stdout`` names a file for it).
    The process group is the one this call created, so a tool's children
    (testssl.sh runs hundreds of ``openssl``) are stopped with it.

    Returns:
        (exit status or None when cut, wall seconds, cut?)
    """
    with log.open("wb") as err, (stdout or Path(os.devnull)).open("wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out if stdout else err,
            stderr=err,
            start_new_session=True,
        )
        try:
            rc = proc.wait(timeout=timeout)
            return rc, time.perf_counter() - t0, False
        except subprocess.TimeoutExpired:
            wall = time.perf_counter() - t0
            _kill_group(proc)
            return None, wall, True


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop the process group this script started for ``proc`` (and only that one)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=KILL_GRACE_S)
            return
        except subprocess.TimeoutExpired:
            continue


def tool_version(cmd: list[str], pattern: str) -> str:
    """First match of ``pattern`` in the output of ``cmd`` (a --version call)."""
    try:
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=VERSION_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"? ({exc})"
    m = re.search(pattern, out.stdout + out.stderr)
    return m.group(1) if m else "?"


def testssl_binary() -> str | None:
    return shutil.which("testssl") or shutil.which("testssl.sh")


def sslyze_binary() -> str | None:
    path = TOOLS_VENV / "bin" / "sslyze"
    return str(path) if path.exists() else shutil.which("sslyze")


def run_mxtls(port: int, ca: Path, outdir: Path, rounds: int) -> ToolRun:
    run = ToolRun(
        "mxtls", tool_version([sys.executable, "-m", "mxtls", "--version"], r"version (\S+)")
    )
    cmd = [
        sys.executable, "-m", "mxtls", "scan-host", f"{TARGET_IP}:25",
        "--port-map", f"25:{port}", "--ca-file", str(ca), "--json",
        "--nameserver", NO_RESOLVER, "--ehlo-name", "bench.mxtls.invalid",
    ]  # fmt: skip
    path = outdir / "mxtls.json"
    for _ in range(rounds):
        rc, wall, cut = run_bounded(cmd, MXTLS_TIMEOUT_S, outdir / "mxtls.log", stdout=path)
        run.walls_s.append(wall)
        run.returncode, run.cut = rc, cut
        if cut or rc not in (0, 1):  # 1: findings exist, which is expected here
            run.error = f"exit {rc}" if not cut else f"cut after {MXTLS_TIMEOUT_S:.0f}s"
            return run
    run.json_path = path
    try:
        run.scan_s = json.loads(path.read_text())["duration_ms"] / 1000
    except (ValueError, KeyError) as exc:
        run.error = f"unreadable JSON: {exc}"
    return run


def run_sslyze(port: int, ca: Path, outdir: Path, rounds: int) -> ToolRun:
    binary = sslyze_binary()
    if binary is None:
        return ToolRun("sslyze", "-", error="not installed (bash benchmarks/install_tools.sh)")
    py = Path(binary).parent / "python"
    run = ToolRun(
        "sslyze",
        tool_version(
            [str(py), "-c", "import importlib.metadata as m; print(m.version('sslyze'))"],
            r"(\S+)",
        ),
    )
    path = outdir / "sslyze.json"
    cmd = [
        binary, "--starttls", "smtp", "--certinfo_ca_file", str(ca), "--json_out", str(path),
        f"{TARGET_HOST}:{port}{{{TARGET_IP}}}",
    ]  # fmt: skip
    for _ in range(rounds):
        path.unlink(missing_ok=True)
        rc, wall, cut = run_bounded(cmd, SSLYZE_TIMEOUT_S, outdir / "sslyze.log")
        run.walls_s.append(wall)
        run.returncode, run.cut = rc, cut
        if cut:
            run.error = f"cut after {SSLYZE_TIMEOUT_S:.0f}s"
            return run
    if not path.exists():
        run.error = f"no JSON written (exit {run.returncode})"
        return run
    run.json_path = path
    doc = json.loads(path.read_text())
    try:
        start = dt.datetime.fromisoformat(doc["date_scans_started"])
        end = dt.datetime.fromisoformat(doc["date_scans_completed"])
        run.scan_s = (end - start).total_seconds()
    except (KeyError, ValueError):
        pass
    if doc["server_scan_results"][0]["connectivity_status"] != "COMPLETED":
        run.error = "sslyze could not connect (see sslyze.log)"
    return run


def run_testssl(port: int, ca: Path, outdir: Path, rounds: int, timeout: float) -> ToolRun:
    binary = testssl_binary()
    if binary is None:
        return ToolRun("testssl.sh", "-", error="not installed (bash benchmarks/install_tools.sh)")
    run = ToolRun("testssl.sh", tool_version([binary, "--version"], r"testssl\S*\s+(\d[\w.+~-]*)"))
    path = outdir / "testssl.json"
    cmd = [
        binary, "--starttls", "smtp", "--nodns", "none", "--add-ca", str(ca),
        "--jsonfile", str(path), "--warnings", "off", "--color", "0",
        f"{TARGET_IP}:{port}",
    ]  # fmt: skip
    for _ in range(rounds):
        path.unlink(missing_ok=True)  # testssl.sh refuses to overwrite
        rc, wall, cut = run_bounded(cmd, timeout, outdir / "testssl.log")
        run.walls_s.append(wall)
        run.returncode, run.cut = rc, cut
        if cut:
            run.error = f"cut after {timeout:.0f}s (partial JSON compared)"
            break
    if not path.exists() or not path.read_text().strip():
        run.error = (run.error or "") + f" no JSON written (exit {run.returncode})"
        return run
    run.json_path = path
    try:
        entries = _testssl_entries(path)
        run.scan_s = float(next(e["finding"] for e in entries if e["id"] == "scanTime"))
    except (StopIteration, ValueError):
        pass
    return run


# --- one common view of each tool's findings ----------------------------------------

Verdict = tuple[bool | None, str]  # (vulnerable?, how the tool says it)


@dataclass
class View:
    """What one tool found, in a shape the three can be compared in."""

    protocols: dict[str, bool | None] = field(default_factory=dict)
    suites: dict[str, set[str]] = field(default_factory=dict)  # version -> IANA names
    any_suites: set[str] | None = None  # all versions together, when not per version
    groups: set[str] | None = None
    dh_sizes: set[int] = field(default_factory=set)  # DH primes seen, in bits
    vulns: dict[str, Verdict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# Rows of the vulnerability diff: key -> label.  "vulnerable" means the weakness
# is there (for SCSV and secure renegotiation: the protection is missing).
VULNS = {
    "heartbleed": "Heartbleed (CVE-2014-0160)",
    "ccs": "CCS injection (CVE-2014-0224)",
    "robot": "ROBOT",
    "poodle": "POODLE SSL (SSLv3 with CBC)",
    "sweet32": "SWEET32 (64-bit block ciphers)",
    "freak": "FREAK (RSA EXPORT suites)",
    "logjam": "Logjam (DHE EXPORT suites)",
    "dh_weak": "DH group <= 1024 bits (Logjam common prime)",
    "drown": "DROWN (SSLv2 on this port)",
    "crime": "TLS compression (CRIME)",
    "no_secure_reneg": "no secure renegotiation (RFC 5746)",
    "client_reneg": "client-initiated renegotiation accepted",
    "no_fallback_scsv": "no TLS_FALLBACK_SCSV (RFC 7507)",
    "anon": "anonymous (aNULL) suites accepted",
    "rc4": "RC4 suites accepted",
    "starttls_injection": "STARTTLS command injection",
}

DERIVED = "derived from accepted suites"

_CURVE_ALIASES = {"prime256v1": "secp256r1", "prime192v1": "secp192r1"}


def _norm_group(name: str) -> str:
    low = name.strip().lower()
    return _CURVE_ALIASES.get(low, low)


def _suite_rows(view: View) -> Iterable[tuple[str, CipherSuite | None]]:
    names = set().union(*view.suites.values()) if view.suites else set()
    for name in names | (view.any_suites or set()):
        yield name, cipher_suite_by_iana_name(name)


def derive_suite_vulns(view: View) -> None:
    """Vulnerabilities that follow from the protocols and suites a tool saw accepted."""
    if not view.suites:
        return
    rows = list(_suite_rows(view))
    ssl3 = view.suites.get("SSLv3", set())

    def verdict(hit: list[str]) -> Verdict:
        return (bool(hit), f"{DERIVED}: {', '.join(sorted(hit))}" if hit else DERIVED)

    view.vulns.setdefault(
        "poodle",
        verdict([n for n in ssl3 if (s := cipher_suite_by_iana_name(n)) is not None and s.cbc]),
    )
    view.vulns.setdefault("sweet32", verdict([n for n, s in rows if s is not None and s.sweet32]))
    view.vulns.setdefault(
        "freak", verdict([n for n, s in rows if s and s.export and s.kx is KeyExchange.RSA])
    )
    view.vulns.setdefault(
        "logjam", verdict([n for n, s in rows if s and s.export and s.kx is KeyExchange.DHE])
    )
    view.vulns.setdefault("anon", verdict([n for n, s in rows if s and s.anonymous]))
    view.vulns.setdefault("rc4", verdict([n for n, s in rows if s and s.cipher is BulkCipher.RC4]))
    if view.protocols.get("SSLv2") is not None:
        view.vulns.setdefault("drown", (view.protocols["SSLv2"], "SSLv2 accepted on this port"))


def parse_mxtls(path: Path, ip: str | None = None) -> View:
    """mxtls's deep scan of the endpoint at ``ip`` (default: the first one)."""
    report = json.loads(path.read_text())
    view = View()
    deep = [d for h in report["hosts"] for d in h.get("deep") or [] if ip is None or d["ip"] == ip]
    if not deep:
        view.notes.append("no deep-scan result in the report")
        return view
    tls, vulns = deep[0]["tls"], deep[0].get("vulns") or {}
    for p in tls["protocols"]:
        support = {"accepted": True, "rejected": False}.get(p["support"])
        view.protocols[p["version"]] = support
        if support:
            view.suites[p["version"]] = {s["iana_name"] for s in p["suites"]}
        if not p.get("complete", True):
            view.notes.append(f"{p['version']} enumeration incomplete")
    view.groups = {_norm_group(g) for gs in tls.get("groups") or [] for g in gs["groups"]}
    if tls.get("dh_bits") is not None:
        view.dh_sizes = {tls["dh_bits"]}
    for key, probe in (("heartbleed", "heartbleed"), ("ccs", "ccs_injection"), ("robot", "robot")):
        obs = vulns.get(probe) or {}
        view.vulns[key] = (obs.get("vulnerable"), obs.get("not_tested_reason") or probe)
    inj = vulns.get("starttls_injection")
    if inj is not None:
        view.vulns["starttls_injection"] = (inj.get("vulnerable"), "starttls_injection")
    beh = tls.get("behaviour") or {}
    if beh.get("compression") is not None:
        view.vulns["crime"] = (beh["compression"] != 0, f"compression method {beh['compression']}")
    if beh.get("secure_renegotiation") is not None:
        view.vulns["no_secure_reneg"] = (not beh["secure_renegotiation"], "renegotiation_info")
    if beh.get("fallback_scsv") is not None:
        view.vulns["no_fallback_scsv"] = (not beh["fallback_scsv"], "inappropriate_fallback")
    if view.dh_sizes:
        view.vulns["dh_weak"] = (min(view.dh_sizes) <= 1024, f"dh_bits {tls['dh_bits']}")
    elif tls["protocols"]:
        view.vulns["dh_weak"] = (False, "no DHE suite accepted")
    derive_suite_vulns(view)
    codes = sorted({f["code"] for f in report.get("findings", [])})
    view.notes.append("finding codes: " + (", ".join(codes) or "none"))
    return view


_SSLYZE_VERSIONS = {
    "ssl_2_0_cipher_suites": "SSLv2",
    "ssl_3_0_cipher_suites": "SSLv3",
    "tls_1_0_cipher_suites": "TLSv1",
    "tls_1_1_cipher_suites": "TLSv1.1",
    "tls_1_2_cipher_suites": "TLSv1.2",
    "tls_1_3_cipher_suites": "TLSv1.3",
}

_ROBOT = {
    "VULNERABLE_STRONG_ORACLE": True,
    "VULNERABLE_WEAK_ORACLE": True,
    "NOT_VULNERABLE_NO_ORACLE": False,
    "NOT_VULNERABLE_RSA_NOT_SUPPORTED": False,
}


def parse_sslyze(path: Path, ip: str | None = None) -> View:
    """sslyze's scan of the server at ``ip`` (default: the first one)."""
    doc = json.loads(path.read_text())
    view = View()
    servers = [
        r
        for r in doc["server_scan_results"]
        if ip is None or (r.get("server_location") or {}).get("ip_address") == ip
    ]
    scan = (servers[0].get("scan_result") if servers else None) or {}

    def result(name: str) -> dict[str, Any] | None:
        attempt = scan.get(name) or {}
        if attempt.get("status") != "COMPLETED":
            if attempt:
                view.notes.append(f"{name}: {attempt.get('status')} {attempt.get('error_reason')}")
            return None
        res: dict[str, Any] = attempt["result"]
        return res

    dh_sizes: list[int] = []
    dh_names: list[str] = []
    for key, version in _SSLYZE_VERSIONS.items():
        res = result(key)
        if res is None:
            view.protocols[version] = None
            continue
        accepted = res["accepted_cipher_suites"]
        view.protocols[version] = bool(accepted)
        if accepted:
            view.suites[version] = {a["cipher_suite"]["name"] for a in accepted}
        for a in accepted:
            if (a.get("ephemeral_key") or {}).get("type_name") == "DH":
                dh_sizes.append(a["ephemeral_key"]["size"])
                dh_names.append(a["cipher_suite"]["name"])
    if (res := result("elliptic_curves")) is not None:
        view.groups = {_norm_group(c["name"]) for c in res.get("supported_curves") or []}
    view.dh_sizes = set(dh_sizes)
    if dh_sizes:
        weak = sorted({n for n, s in zip(dh_names, dh_sizes, strict=True) if s <= 1024})
        how = f"DH ephemeral key {min(dh_sizes)} bits with {', '.join(weak)}" if weak else ""
        view.vulns["dh_weak"] = (bool(weak), how or f"DH ephemeral keys {sorted(view.dh_sizes)}")
    elif view.suites:
        view.vulns["dh_weak"] = (False, "no DHE suite accepted")
    if (res := result("heartbleed")) is not None:
        view.vulns["heartbleed"] = (res["is_vulnerable_to_heartbleed"], "heartbleed")
    if (res := result("openssl_ccs_injection")) is not None:
        view.vulns["ccs"] = (res["is_vulnerable_to_ccs_injection"], "openssl_ccs_injection")
    if (res := result("robot")) is not None:
        view.vulns["robot"] = (_ROBOT.get(res["robot_result"]), res["robot_result"])
    if (res := result("tls_compression")) is not None:
        view.vulns["crime"] = (res["supports_compression"], "tls_compression")
    if (res := result("session_renegotiation")) is not None:
        view.vulns["no_secure_reneg"] = (
            not res["supports_secure_renegotiation"],
            "session_renegotiation",
        )
        view.vulns["client_reneg"] = (
            res["is_vulnerable_to_client_renegotiation_dos"],
            f"{res.get('client_renegotiations_success_count')} client renegotiations accepted",
        )
    if (res := result("tls_fallback_scsv")) is not None:
        view.vulns["no_fallback_scsv"] = (not res["supports_fallback_scsv"], "tls_fallback_scsv")
    derive_suite_vulns(view)
    return view


_TESTSSL_PROTOCOLS = {
    "SSLv2": "SSLv2",
    "SSLv3": "SSLv3",
    "TLS1": "TLSv1",
    "TLS1_1": "TLSv1.1",
    "TLS1_2": "TLSv1.2",
    "TLS1_3": "TLSv1.3",
}
# testssl.sh ids of the vulnerability section -> our rows.
_TESTSSL_VULNS = {
    "heartbleed": "heartbleed",
    "CCS": "ccs",
    "ROBOT": "robot",
    "POODLE_SSL": "poodle",
    "SWEET32": "sweet32",
    "FREAK": "freak",
    "LOGJAM": "logjam",
    "LOGJAM-common_primes": "dh_weak",
    "DROWN": "drown",
    "CRIME_TLS": "crime",
    "secure_renego": "no_secure_reneg",
    "secure_client_renego": "client_reneg",
    "fallback_SCSV": "no_fallback_scsv",
    "cipherlist_aNULL": "anon",
    "RC4": "rc4",
    "STARTTLS_injection": "starttls_injection",
}
# -E ids: cipher-<protocol>_x<code>.
_TESTSSL_E_PROTOCOLS = {
    "ssl2": "SSLv2",
    "ssl3": "SSLv3",
    "tls1": "TLSv1",
    "tls1_1": "TLSv1.1",
    "tls1_2": "TLSv1.2",
    "tls1_3": "TLSv1.3",
}
_BAD_SEVERITIES = {"LOW", "MEDIUM", "HIGH", "CRITICAL"}


def _testssl_entries(path: Path) -> list[dict[str, str]]:
    doc = json.loads(path.read_text())
    if isinstance(doc, dict):  # --jsonfile-pretty: scanResult[...] sections
        flat: list[dict[str, str]] = []
        for result in doc.get("scanResult", []):
            for value in result.values():
                if isinstance(value, list):
                    flat += [e for e in value if isinstance(e, dict) and "id" in e]
        return flat
    return list(doc)


def _testssl_suite(name: str) -> str:
    """testssl.sh's OpenSSL-style name (or IANA name for TLS 1.3) -> IANA name."""
    suite = cipher_suite_by_openssl_name(name) or cipher_suite_by_iana_name(name)
    return suite.iana_name if suite else f"openssl:{name}"


def _testssl_verdict(entry: Mapping[str, str]) -> bool | None:
    """Read testssl.sh's severity, then its words when the severity is only INFO."""
    severity, text = entry.get("severity", ""), entry.get("finding", "").lower()
    if severity == "OK":
        return False
    if severity in _BAD_SEVERITIES:
        return True
    if "not vulnerable" in text or "not offered" in text:
        return False
    if "vulnerable" in text:
        return True
    return None


def parse_testssl(path: Path) -> View:
    view = View()
    entries = _testssl_entries(path)
    by_id = {e["id"]: e for e in entries}
    for tid, version in _TESTSSL_PROTOCOLS.items():
        entry = by_id.get(tid)
        text = (entry or {}).get("finding", "").lower()
        view.protocols[version] = (
            None if entry is None else False if "not offered" in text else "offered" in text
        )
    any_suites: set[str] = set()
    for e in entries:
        tid = e["id"]
        if tid.startswith("cipherorder_"):  # server order per protocol (-P, default run)
            version = tid.removeprefix("cipherorder_").replace("_", ".")
            if version in VERSIONS:
                view.suites[version] = {_testssl_suite(n) for n in e["finding"].split()}
        elif m := re.fullmatch(r"cipher-(\w+?)_x([0-9a-f]+)", tid):  # -E per protocol
            proto = _TESTSSL_E_PROTOCOLS.get(m.group(1))
            suite = cipher_suite(int(m.group(2), 16))
            if proto and suite and "not" not in e["finding"].split()[-1:]:
                view.suites.setdefault(proto, set()).add(suite.iana_name)
        elif m := re.fullmatch(r"cipher_x([0-9a-f]+)", tid):  # -e, all protocols at once
            suite = cipher_suite(int(m.group(1), 16))
            any_suites.add(suite.iana_name if suite else f"code:0x{m.group(1)}")
    if any_suites:
        view.any_suites = any_suites
    if "PFS_ECDHE_curves" in by_id:
        view.groups = {_norm_group(c) for c in by_id["PFS_ECDHE_curves"]["finding"].split()}
    # The key-exchange column of its cipher lines: "DH 1024".
    view.dh_sizes = {
        int(m.group(1)) for e in entries if (m := re.search(r"\bDH (\d+)\b", e["finding"]))
    }
    for tid, key in _TESTSSL_VULNS.items():
        if tid in by_id:
            e = by_id[tid]
            view.vulns[key] = (_testssl_verdict(e), f"{tid}: {e['finding'][:90]}")
    common = by_id.get("LOGJAM-common_primes")
    if common is not None and common.get("severity") in ("OK", "INFO"):
        # INFO names a known but >= 2048-bit prime (e.g. RFC 3526 group 14): not weak.
        view.vulns["dh_weak"] = (False, f"LOGJAM-common_primes: {common['finding'][:80]}")
    derive_suite_vulns(view)
    for tid in ("scanProblem", "scanTime"):
        if tid in by_id and by_id[tid].get("severity") in ("WARN", "FATAL"):
            view.notes.append(f"{tid}: {by_id[tid]['finding']}")
    return view


# --- the diff ---------------------------------------------------------------------


def _fmt(value: object) -> str:
    return (
        "n/a"
        if value is None
        else "yes"
        if value is True
        else "no"
        if value is False
        else str(value)
    )


def diff_views(views: dict[str, View]) -> dict[str, Any]:
    """Print and return every disagreement between the tools' views."""
    tools = list(views)
    diffs: dict[str, Any] = {
        "protocols": {},
        "suites": {},
        "groups": {},
        "dh_bits": {},
        "vulns": {},
    }
    print("  protocols:")
    for v in VERSIONS:
        vals = {t: views[t].protocols.get(v) for t in tools}
        known = {x for x in vals.values() if x is not None}
        mark = "DIFF" if len(known) > 1 else "    "
        print(f"    {mark} {v:<8} " + "  ".join(f"{t}={_fmt(vals[t])}" for t in tools))
        if len(known) > 1:
            diffs["protocols"][v] = vals
    print("  accepted suites (IANA names):")
    for v in VERSIONS:
        have = {t: views[t].suites.get(v) for t in tools if views[t].protocols.get(v)}
        if not have:
            continue
        lists = {t: s for t, s in have.items() if s is not None}
        union = set().union(*lists.values()) if lists else set()
        counts = "  ".join(f"{t}={len(s) if s is not None else 'n/a'}" for t, s in have.items())
        print(f"    {v:<8} {counts}")
        rows = {}
        for name in sorted(union):
            who = [t for t, s in lists.items() if name in s]
            if len(who) != len(lists):
                missing = [t for t in lists if t not in who]
                rows[name] = {"reported_by": who, "missing_in": missing}
                print(f"      DIFF {name}: only {', '.join(who)} (not {', '.join(missing)})")
        if rows:
            diffs["suites"][v] = rows
    union_views = {t: vw.any_suites for t, vw in views.items() if vw.any_suites is not None}
    if union_views:
        # A tool that lists suites without protocol (testssl.sh -e) is compared on
        # the union over all versions.
        for t, any_set in union_views.items():
            for other in tools:
                if other == t or not views[other].suites:
                    continue
                theirs = set().union(*views[other].suites.values())
                extra, missing = sorted(any_set - theirs), sorted(theirs - any_set)
                if extra or missing:
                    diffs["suites"][f"any version: {t} vs {other}"] = {
                        f"only {t}": extra,
                        f"only {other}": missing,
                    }
                    print(f"    DIFF any version {t} vs {other}:")
                    print(f"      only {t}: {extra}\n      only {other}: {missing}")
                else:
                    print(f"    any version: {t} and {other} agree ({len(any_set)} suites)")
    print("  key exchange:")
    groups = {t: views[t].groups for t in tools}
    known_groups = [g for g in groups.values() if g is not None]
    all_groups = set().union(*known_groups) if known_groups else set()
    for g in sorted(all_groups):
        who = [t for t, gs in groups.items() if gs is not None and g in gs]
        if len(who) != len(known_groups):
            diffs["groups"][g] = who
            print(f"    DIFF group {g}: only {', '.join(who)}")
    print(
        "    groups: "
        + "  ".join(f"{t}={len(g) if g is not None else 'n/a'}" for t, g in groups.items())
    )
    dh = {t: sorted(views[t].dh_sizes) for t in tools}
    seen = [tuple(d) for d in dh.values() if d]
    mark = "DIFF" if len(set(seen)) > 1 else "    "
    if mark == "DIFF":
        diffs["dh_bits"] = dh
    print(
        f"    {mark} DH prime sizes seen: " + "  ".join(f"{t}={d or 'n/a'}" for t, d in dh.items())
    )
    print("  vulnerabilities (yes = weakness present):")
    for key, label in VULNS.items():
        verdicts = {t: views[t].vulns.get(key, (None, "not tested")) for t in tools}
        said = {v[0] for v in verdicts.values() if v[0] is not None}
        mark = "DIFF" if len(said) > 1 else "    "
        line = "  ".join(f"{t}={_fmt(v[0])}" for t, v in verdicts.items())
        print(f"    {mark} {label:<44} {line}")
        if len(said) > 1 or any(v[0] is None for v in verdicts.values()):
            for t, (val, how) in verdicts.items():
                print(f"           {t}: {_fmt(val)} -- {how}")
        if len(said) > 1:
            diffs["vulns"][key] = {
                t: {"vulnerable": v[0], "how": v[1]} for t, v in verdicts.items()
            }
    for t in tools:
        for note in views[t].notes:
            print(f"  note {t}: {note}")
    return diffs


# --- main -------------------------------------------------------------------------


def enter_netns() -> bool:
    """Re-execute in a network namespace with only ``lo`` (root); True when inside one."""
    if os.environ.get(NETNS_ENV) == "1":
        return True
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        return False
    env = {**os.environ, NETNS_ENV: "1"}
    script = 'ip link set lo up && exec "$@"'
    argv = ["unshare", "--net", "--", "sh", "-c", script, "sh", sys.executable, *sys.argv]
    os.execvpe("unshare", argv, env)
    return True  # not reached


def bench_target(
    name: str, args: argparse.Namespace, ca: LabCA, root: Path, out: Path
) -> dict[str, Any]:
    tdir = out / name
    tdir.mkdir(parents=True, exist_ok=True)
    issued = ca.issue([TARGET_HOST], key="rsa2048")
    settings = TARGETS[name](tdir)
    (tdir / "main.cf.extra").write_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
    runs: list[ToolRun] = []
    with PostfixInstance(
        TARGET_HOST, issued.chain_pem(), issued.key_pem(), ip=TARGET_IP, ports={25: 0},
        settings=settings,
    ) as pf:  # fmt: skip
        port = pf.port_map[25]
        print(f"\n== target {name}: Postfix on {TARGET_IP}:{port} (STARTTLS), extra main.cf:")
        for k, v in settings.items():
            print(f"     {k} = {v}")
        for tool in args.tools:
            print(f"   running {tool} ...", flush=True)
            if tool == "mxtls":
                runs.append(run_mxtls(port, root, tdir, args.rounds))
            elif tool == "sslyze":
                runs.append(run_sslyze(port, root, tdir, args.rounds))
            else:
                runs.append(
                    run_testssl(port, root, tdir, args.testssl_rounds, args.testssl_timeout)
                )
    print_timings(runs)
    parsers = {"mxtls": parse_mxtls, "sslyze": parse_sslyze, "testssl.sh": parse_testssl}
    views: dict[str, View] = {}
    for r in runs:
        if r.json_path is not None:
            try:
                views[r.tool] = parsers[r.tool](r.json_path)
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                print(f"   {r.tool}: cannot read its JSON: {exc!r}")
    print(f"\n  diff ({', '.join(views)}):")
    diffs = diff_views(views) if len(views) > 1 else {}
    return {
        "settings": settings,
        "port": port,
        "runs": [
            {
                "tool": r.tool,
                "version": r.version,
                "walls_s": r.walls_s,
                "wall_s": r.wall_s,
                "scan_s": r.scan_s,
                "returncode": r.returncode,
                "cut": r.cut,
                "error": r.error,
                "json": str(r.json_path) if r.json_path else None,
            }
            for r in runs
        ],
        "diffs": diffs,
    }


def print_timings(runs: list[ToolRun]) -> None:
    base = next((r.wall_s for r in runs if r.tool == "mxtls" and r.wall_s), None)
    head = ("tool", "version", "runs", "wall", "scan", "vs mxtls", "note")
    print("\n  {:<11} {:<10} {:>4} {:>9} {:>9} {:>9}  {}".format(*head))
    for r in runs:
        wall = f"{r.wall_s:.2f} s" if r.wall_s is not None else "-"
        scan = f"{r.scan_s:.2f} s" if r.scan_s is not None else "-"
        ratio = f"{r.wall_s / base:.1f}x" if base and r.wall_s else "-"
        note = r.error or ""
        cells = (r.tool, r.version, len(r.walls_s), wall, scan, ratio, note)
        print("  {:<11} {:<10} {:>4} {:>9} {:>9} {:>9}  {}".format(*cells))
    print("  (wall: median process time incl. start-up; scan: the tool's own scan time)")


def main() -> None:
    parser = argparse.ArgumentParser(description="mxtls vs testssl.sh vs sslyze on Postfix")
    parser.add_argument("--targets", default="mixed,default", help="comma list: mixed,default")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma list of tools to run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of mxtls and sslyze (median)")
    parser.add_argument("--testssl-rounds", type=int, default=1)
    parser.add_argument("--testssl-timeout", type=float, default=TESTSSL_TIMEOUT_S)
    parser.add_argument("--out", type=Path, help="results directory")
    parser.add_argument(
        "--no-netns", action="store_true", help="do not isolate in a loopback-only namespace"
    )
    args = parser.parse_args()
    isolated = False if args.no_netns else enter_netns()
    # SIGTERM unwinds like Ctrl-C, so the Postfix target is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench_deep: terminated"))
    args.rounds = max(1, min(args.rounds, 20))
    args.testssl_rounds = max(1, min(args.testssl_rounds, 5))
    args.tools = [t for t in args.tools.split(",") if t in TOOLS]
    targets = [t for t in args.targets.split(",") if t in TARGETS]
    # Bytecode for mxtls, as an installed package has it: without it (this
    # environment may set PYTHONDONTWRITEBYTECODE) every run compiles ~100 modules.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(HERE.parent / "src" / "mxtls")],
        check=False,
        stdout=subprocess.DEVNULL,
    )
    ok, reason = PostfixInstance.available()
    if not ok:
        sys.exit(f"bench_deep: cannot start the Postfix target: {reason}")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = (args.out or HERE / "results" / f"deep-{stamp}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(f"results in {out}")
    print(
        "network: "
        + (
            "own network namespace, loopback only"
            if isolated
            else "host network (--no-netns, or not root / no unshare, ip); tools get loopback only"
        )
    )
    ca = LabCA()
    root = ca.write_root(out / "lab-root.pem")
    summary = {
        "started": stamp,
        "isolated_netns": isolated,
        "targets": {t: bench_target(t, args, ca, root, out) for t in targets},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    print(f"\nsummary: {out / 'summary.json'}")


if __name__ == "__main__":
    main()
