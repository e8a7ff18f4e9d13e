"""Nothing is imported while a check's event loop runs.

An import inside a running loop blocks every connection of every check at
once (tens of milliseconds for httpx's transport or anyio's backend), and it
showed up as slow "connect" steps on loopback.  The engine's modules import
what a check needs (see ``mxtls/net/preload.py``), so a fresh interpreter that
imported the engine and built its runtime imports nothing more while the check
runs.  Structural, not a timing: ``sys.modules`` before and after.
"""

from __future__ import annotations

import json

import pytest

from tests.fresh import in_fresh_interpreter

# A fresh interpreter: import what the CLI imports before its loop, build the
# runtime, then run one check and report what the loop imported.
_PROBE = """
import asyncio, json, sys
from pathlib import Path
from mxtls.cli.options import build_config, parse_port_map
args = json.loads(sys.argv[1])
flags = args["flags"]
def values(name):
    return [flags[i + 1] for i, a in enumerate(flags) if a == name]
config = build_config(
    nameservers=values("--nameserver"),
    ca_file=Path(values("--ca-file")[0]),
    port_map=parse_port_map(values("--port-map")),
    timeout=float(values("--timeout")[0]),
    dnssec_validate=True,
    trust_anchor=Path(values("--trust-anchor")[0]),
    deep=args["deep"],
    ports=tuple(args["ports"]),
)
from mxtls.engine.run import check_domain
from mxtls.engine.runtime import Runtime
if args["deep"]:
    import mxtls.engine.deep
runtime = Runtime(config)
before = set(sys.modules)
report = asyncio.run(check_domain(args["domain"], runtime))
print("@@" + json.dumps({
    "imported": sorted(set(sys.modules) - before),
    "http_clients": sorted(
        m for m in sys.modules if m.partition(".")[0] in ("httpx", "httpcore", "anyio")
    ),
    "endpoints": report.summary.endpoints_with_tls,
}))
"""


@pytest.mark.parametrize(
    ("domain", "deep", "ports"),
    [
        ("bench.lab", False, [25, 465, 587]),  # DANE, DNSSEC, MTA-STS, TLS-RPT
        ("good.lab", True, [25]),  # the deep scan's enumeration and flaw probes
    ],
)
def test_a_check_imports_nothing_while_its_loop_runs(
    lab_cli_flags: list[str], domain: str, deep: bool, ports: list[int]
) -> None:
    # Given a fresh interpreter with the engine imported and a runtime built
    args = {"flags": lab_cli_flags, "domain": domain, "deep": deep, "ports": ports}
    result = in_fresh_interpreter(_PROBE, json.dumps(args))
    # When the check ran, it reached its endpoints over TLS
    assert result["endpoints"] > 0
    # Then its loop imported no module
    assert result["imported"] == []
    # And no general HTTP client was loaded at all (the policy fetch runs on h11)
    assert result["http_clients"] == []
