"""Generators against the lab: what they print parses and matches the live servers."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from cryptography.hazmat.primitives.serialization import Encoding

from mxtls.lab.world import Lab
from mxtls.protocol.mta_sts import MtaStsPolicy, MtaStsRecord
from mxtls.protocol.tls_rpt import TlsRptRecord
from mxtls.protocol.tlsa import TlsaRecord
from mxtls.trust.dane import match_chain


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mxtls", "generate", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _dns_flags(lab: Lab) -> list[str]:
    ip, port = lab.nameserver
    maps = [f"--port-map={a}:{b}" for a, b in lab.port_map.items()]
    return [f"--nameserver={ip}:{port}", *maps, "--timeout=3"]


def test_tlsa_lines_match_the_live_chain(lab: Lab) -> None:
    proc = run("tlsa", "mx1.good.lab", *_dns_flags(lab))
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if " IN TLSA " in ln]
    assert [ln.split()[0] for ln in lines] == ["_25._tcp.mx1.good.lab."] * 2
    records = [TlsaRecord.parse(ln.split(" IN TLSA ", 1)[1]) for ln in lines]
    assert [(r.usage, r.selector, r.mtype) for r in records] == [(3, 1, 1), (2, 1, 1)]
    host = lab.hosts["mx1.good.lab"]
    chain = [c.public_bytes(Encoding.DER) for c in host.certs[0].chain]
    now = dt.datetime.now(dt.UTC)
    for rec in records:
        # Each record alone authenticates the chain the server really sends.
        assert match_chain([rec], chain, mx_host="mx1.good.lab", now=now).authenticated
    assert "Rollover" in proc.stdout


def test_tlsa_for_unreachable_host_exits_1(lab: Lab) -> None:
    proc = run("tlsa", "mx.refused.lab", *_dns_flags(lab))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr


def test_mta_sts_policy_covers_the_domains_mx(lab: Lab) -> None:
    proc = run("mta-sts", "good.lab", "--mode", "enforce", *_dns_flags(lab)[:1])
    assert proc.returncode == 0, proc.stderr
    txt_line = next(ln for ln in proc.stdout.splitlines() if " IN TXT " in ln)
    assert txt_line.startswith("_mta-sts.good.lab. IN TXT ")
    record = MtaStsRecord.parse(txt_line.split(" IN TXT ", 1)[1].strip('"'))
    assert len(record.id) == 14
    body = "\n".join(ln for ln in proc.stdout.splitlines() if not ln.startswith(("_", ";")))
    policy = MtaStsPolicy.parse(body + "\n")
    assert str(policy.mode) == "enforce"
    assert policy.allows_mx("mx1.good.lab") and policy.allows_mx("mx2.good.lab")


def test_tls_rpt_record_parses_and_bad_uri_is_usage_error() -> None:
    proc = run(
        "tls-rpt",
        "example.com",
        "--rua",
        "mailto:a@example.com",
        "--rua",
        "https://r.example.com/v1",
    )
    assert proc.returncode == 0
    text = proc.stdout.split(" IN TXT ", 1)[1].strip().strip('"')
    assert len(TlsRptRecord.parse(text).rua) == 2
    assert run("tls-rpt", "--rua", "ftp://x").returncode == 2
