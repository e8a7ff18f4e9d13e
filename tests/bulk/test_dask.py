"""`--dask local:2`: the same documents as the single-process scan, sharded by MX address."""

from __future__ import annotations

from pathlib import Path

import pytest

from mxtls.lab.world import Lab
from tests.bulk.conftest import SCENARIO_DOMAINS, documents, mxtls, normalised, write_list


def test_a_local_cluster_gives_the_single_process_documents(
    bulk_lab: Lab, bulk_flags: list[str], tmp_path: Path
) -> None:
    pytest.importorskip("dask.distributed", reason="dask[distributed] is a dependency of mxtls")
    assert bulk_lab.synthetic is not None
    names = [*SCENARIO_DOMAINS, *(bulk_lab.synthetic.domain(i) for i in range(601, 631))]
    source = write_list(tmp_path / "d.txt", names)
    # Given the single-process scan of a list ...
    single = mxtls("scan", str(source), *bulk_flags)
    assert single.returncode == 0, single.stderr
    # When the same list is scanned by a LocalCluster of two worker processes,
    # results streamed back to the client (stdout) and as part files,
    clustered = mxtls("scan", str(source), "--dask", "local:2", "--part-size", "8", *bulk_flags)
    assert clustered.returncode == 0, clustered.stderr
    out = tmp_path / "parts"
    parts = mxtls(
        "scan", str(source), "--dask", "local:2", "--part-size", "8", "-o", f"{out}/", *bulk_flags
    )
    assert parts.returncode == 0, parts.stderr
    # then every document is the same, timing aside.
    expected = {k: normalised(v) for k, v in documents(single.stdout).items()}
    assert set(expected) == set(names)
    streamed = {k: normalised(v) for k, v in documents(clustered.stdout).items()}
    assert streamed == expected
    from_parts = "".join(p.read_text() for p in sorted(out.glob("part-*.jsonl")))
    assert {k: normalised(v) for k, v in documents(from_parts).items()} == expected
    # The hosted domains share MX addresses: they went to one shard (one part).
    hosted = [
        p.name for p in out.glob("part-*.jsonl") if "synth.lab" in p.read_text(encoding="utf-8")
    ]
    assert len(hosted) == 1
    # No endpoint was probed by two workers: as many probes as in one process.
    assert _probes(parts.stderr) == _probes(single.stderr) == _probes(clustered.stderr)


def _probes(stderr: str) -> str:
    return next(line for line in stderr.splitlines() if line.startswith("probes: "))
