"""`mxtls scan` against the lab: documents, work done once, politeness, opt-out, formats."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest

from mxtls.config import Timeouts
from mxtls.engine.run import check_domain
from mxtls.engine.runtime import Runtime
from mxtls.lab.world import Lab
from mxtls.render.json import render_json
from tests.bulk.conftest import SCENARIO_DOMAINS, documents, mxtls, normalised, write_list
from tests.conftest import LAB_STEP_TIMEOUT_S


def synthetic(lab: Lab, first: int, last: int) -> list[str]:
    assert lab.synthetic is not None
    return [lab.synthetic.domain(i) for i in range(first, last + 1)]


def port25_connections(lab: Lab, host: str) -> int:
    addresses = set(lab.addresses(host))
    port = lab.port_map[25]
    return sum(
        lst.connections
        for lst in lab.smtp_server.listeners
        if lst.host in addresses and lst.port == port
    )


def test_each_document_is_the_one_check_prints(
    bulk_lab: Lab, bulk_flags: list[str], tmp_path: Path
) -> None:
    # Given scenario domains with findings of many kinds and hosted domains.
    names = [*SCENARIO_DOMAINS, *synthetic(bulk_lab, 1, 12)]
    source = write_list(tmp_path / "domains.txt", names)
    # When they are scanned in one run.
    result = mxtls("scan", str(source), *bulk_flags)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    docs = documents(result.stdout)
    # Then there is one line per domain, each a whole mxtls/1 document ...
    assert len(lines) == len(names) and set(docs) == set(names)
    # ... equal to what `mxtls check --json --ports 25` prints for it.
    for name in ("expired.lab", "d5.synth.lab"):
        alone = mxtls("check", name, "--json", "--ports", "25", *bulk_flags)
        assert alone.returncode in (0, 1), alone.stderr
        assert normalised(docs[name]) == normalised(json.loads(alone.stdout))
    config = bulk_lab.check_config(ports=(25,), timeouts=Timeouts.uniform(LAB_STEP_TIMEOUT_S))

    async def each() -> dict[str, str]:
        runtime = Runtime(config)
        reports = [await check_domain(n, runtime) for n in names]
        return {r.domain: render_json(r, indent=None) for r in reports}

    for name, text in asyncio.run(each()).items():
        assert normalised(docs[name]) == normalised(json.loads(text)), name
    # The report of a hosted domain is its own: its MX, its verdicts.
    assert docs["d5.synth.lab"]["hosts"][0]["name"] == "mx1.synth.lab"
    assert docs["d6.synth.lab"]["hosts"][0]["name"] == "mx2.synth.lab"


def test_shared_mx_hosts_are_probed_once_per_scan(
    bulk_lab: Lab, bulk_flags: list[str], tmp_path: Path
) -> None:
    names = synthetic(bulk_lab, 101, 300)
    source = write_list(tmp_path / "hosted.txt", names)
    hosts = [f"mx{k}.synth.lab" for k in range(1, 5)]
    before = {h: port25_connections(bulk_lab, h) for h in hosts}
    bulk_lab.smtp_server.peak_by_address.clear()
    result = mxtls(
        "scan", str(source), "--summary", str(tmp_path / "s.json"), "--max-conns", "1", *bulk_flags
    )
    assert result.returncode == 0, result.stderr
    docs = documents(result.stdout)
    assert len(docs) == len(names)
    # Each MX host: one SMTP dialogue and one handshake without SNI, for 200 domains.
    for host in hosts:
        assert port25_connections(bulk_lab, host) - before[host] == 2, host
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["probes"]["made"] == 2 * len(hosts)
    assert summary["probes"]["reused"] > 300
    # Every document is complete: its MX endpoints observed, its certificate judged.
    for doc in docs.values():
        for host in doc["hosts"]:
            assert host["endpoints"][0]["handshake"]["sni"] == host["name"]
    # Politeness held across the whole scan: one connection per address at once.
    assert set(bulk_lab.smtp_server.peak_by_address.values()) <= {1}
    assert summary["measures"]["starttls_every_mx"]["count"] == summary["mail_domains"]


def test_excluded_names_and_ranges_are_never_contacted(
    bulk_lab: Lab, bulk_flags: list[str], tmp_path: Path
) -> None:
    mx1 = bulk_lab.address("mx1.synth.lab")
    optout = tmp_path / "optout.txt"
    optout.write_text(f"# opt-out requests\n{mx1}/32\nmx2.synth.lab\nd3.synth.lab\n")
    names = synthetic(bulk_lab, 301, 320) + ["d3.synth.lab"]
    source = write_list(tmp_path / "d.txt", names)
    before = {h: port25_connections(bulk_lab, h) for h in ("mx1.synth.lab", "mx2.synth.lab")}
    summary_path = tmp_path / "s.json"
    result = mxtls(
        "scan", str(source), "--exclude", str(optout), "--summary", str(summary_path), *bulk_flags
    )
    assert result.returncode == 0, result.stderr
    docs = documents(result.stdout)
    # The listed domain is not checked at all; the listed MX hosts are not contacted.
    assert "d3.synth.lab" not in docs and len(docs) == len(names) - 1
    for host, count in before.items():
        assert port25_connections(bulk_lab, host) == count, f"{host} was contacted"
    # The report says what was not tested, and the verdict does not call it unreachable.
    d301 = docs["d301.synth.lab"]  # (301 - 1) % 4 + 1 = 1: on mx1
    assert d301["hosts"][0]["endpoints"] == []
    assert d301["hosts"][0]["not_contacted"] == [
        {"host": "mx1.synth.lab", "ip": mx1, "reason": f"{mx1}/32 is on the exclusion list"}
    ]
    assert {v["outcome"] for v in d301["verdict"]["senders"]} == {"not_tested"}
    assert "delivery.no_reachable_mx" not in {f["code"] for f in d301["findings"]}
    d303 = docs["d303.synth.lab"]  # on mx3: contacted as usual
    assert d303["hosts"][0]["endpoints"][0]["handshake"] is not None
    assert json.loads(summary_path.read_text())["input"]["excluded"] == 1


def test_parquet_and_csv_outputs(bulk_lab: Lab, bulk_flags: list[str], tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is a dependency of mxtls scan")
    names = [*synthetic(bulk_lab, 401, 420), "expired.lab"]
    source = write_list(tmp_path / "d.txt", names)
    out = tmp_path / "scan.parquet"
    result = mxtls("scan", str(source), "--format", "parquet", "-o", str(out), *bulk_flags)
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out)
    assert table.num_rows == len(names)
    rows = {r["domain"]: r for r in table.to_pylist()}
    expired = rows["expired.lab"]
    assert "cert.expired" in expired["codes"]
    assert {f["code"] for f in expired["findings"]} == set(expired["codes"])
    assert expired["endpoints"][0]["port"] == 25
    assert expired["certificates"][0]["position"] == 0
    assert json.loads(expired["document"])["domain"] == "expired.lab"
    assert rows["d401.synth.lab"]["verdict_opportunistic"] == "delivers"

    csv_out = tmp_path / "findings.csv"
    result = mxtls("scan", str(source), "--format", "csv", "-o", str(csv_out), *bulk_flags)
    assert result.returncode == 0, result.stderr
    records = list(csv.DictReader(io.StringIO(csv_out.read_text(encoding="utf-8"))))
    assert {r["domain"] for r in records} == set(names)
    assert ("expired.lab", "cert.expired") in {(r["domain"], r["code"]) for r in records}


def test_part_files_resume_where_they_stopped(
    bulk_lab: Lab, bulk_flags: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "parts"
    first = write_list(tmp_path / "a.txt", synthetic(bulk_lab, 501, 525))
    result = mxtls("scan", str(first), "-o", f"{out}/", "--part-size", "10", *bulk_flags)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "part-00000.jsonl",
        "part-00001.jsonl",
        "part-00002.jsonl",
    ]
    # The same directory without --resume is refused (it would mix two scans).
    again = mxtls("scan", str(first), "-o", f"{out}/", *bulk_flags)
    assert again.returncode == 2 and "--resume" in again.stderr
    more = write_list(tmp_path / "b.txt", synthetic(bulk_lab, 501, 530))
    result = mxtls("scan", str(more), "-o", f"{out}/", "--resume", *bulk_flags)
    assert result.returncode == 0, result.stderr
    newest = documents((out / "part-00003.jsonl").read_text())
    assert set(newest) == set(synthetic(bulk_lab, 526, 530))


def test_usage_errors_exit_2(bulk_flags: list[str], tmp_path: Path) -> None:
    source = write_list(tmp_path / "d.txt", ["good.lab"])
    cases = [
        (["--resume"], "--resume needs --output"),
        (["--format", "parquet"], "--format parquet needs --output"),
        (["--rate", "fast"], "--rate"),
        (["--dask", "nowhere"], "--dask"),
        (["-o", str(tmp_path / "x.parquet"), "--format", "parquet", "--resume"], "directory"),
    ]
    for extra, message in cases:
        result = mxtls("scan", str(source), *extra, *bulk_flags)
        assert result.returncode == 2, (extra, result.stderr)
        assert message in result.stderr, (extra, result.stderr)
    missing = mxtls("scan", str(tmp_path / "absent.txt"), *bulk_flags)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
