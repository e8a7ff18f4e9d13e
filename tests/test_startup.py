"""Start-up stays instant: ``--help``, ``--version`` and usage errors load no heavy library.

A structural guard, not a timing (timings on a shared machine flake; the
figures are in ``benchmarks/``): a fresh interpreter runs the command line's
answers that never reach the network and then reads ``sys.modules``.  A
command module that imports pydantic, cryptography, dnspython, an HTTP client
or a service library at its top level fails here, named with the command line
that pulled it in.  The fix is to import inside the command's function (see
``mxtls/cli/lazy.py``).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path

import click

import mxtls.cli
from mxtls.cli.main import COMMANDS, cli
from tests.fresh import in_fresh_interpreter

# Top-level packages that must not load before a command runs: the engine's
# libraries and the service layers'.
HEAVY = (
    "pydantic",
    "cryptography",
    "OpenSSL",
    "dns",
    "httpx",
    "httpcore",
    "certifi",
    "scramp",
    "jinja2",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "fastapi",
    "starlette",
    "uvicorn",
    "dask",
    "distributed",
    "pyarrow",
    "prometheus_client",
    "aiosmtplib",
)

# Runs in a fresh interpreter: each command line in turn through the real entry
# point, recording which heavy packages appeared after it.
_PROBE = """
import json, sys
from mxtls.cli.main import main
heavy = json.loads(sys.argv[1])
out = []
for argv in json.loads(sys.argv[2]):
    try:
        main(argv)
    except SystemExit:
        pass
    loaded = sorted(m for m in sys.modules if m.partition(".")[0] in heavy)
    out.append([argv, sorted({m.partition(".")[0] for m in loaded})])
sys.stdout = sys.__stdout__
print("@@" + json.dumps(out))
"""


def _help_lines() -> list[list[str]]:
    """``--help`` of the root, of every command and of every subcommand of a group."""
    lines: list[list[str]] = [["--help"], ["--version"], ["no-such-command"]]
    ctx = click.Context(cli)
    for entry in COMMANDS:
        lines.append([entry.name, "--help"])
        command = cli.get_command(ctx, entry.name)
        if isinstance(command, click.Group):
            lines += [[entry.name, sub, "--help"] for sub in command.list_commands(ctx)]
    return lines


def test_help_version_and_usage_errors_load_no_heavy_library() -> None:
    # Given every command line that answers without running a check
    lines = _help_lines() + [["check"], ["check", "example.com", "--ports", "x"]]
    # When a fresh interpreter runs them one after another
    results = in_fresh_interpreter(_PROBE, json.dumps(HEAVY), json.dumps(lines))
    # Then none of them imported a heavy package (each is named with the first
    # command line that pulled it in)
    offenders: dict[str, str] = {}
    for argv, loaded in results:
        for package in loaded:
            offenders.setdefault(package, " ".join(argv))
    assert not offenders, f"start-up imported heavy packages: {offenders}"


def test_the_table_matches_the_commands() -> None:
    # The summary --help lists without importing is the command's own short help.
    ctx = click.Context(cli)
    for entry in COMMANDS:
        command = entry.load()
        assert command.get_short_help_str(limit=200) == entry.summary, entry.name
        assert cli.get_command(ctx, entry.name) is command


def test_every_command_in_the_cli_package_is_reachable() -> None:
    # A command written under mxtls/cli but missing from the table would never run.
    reachable: set[int] = set()
    ctx = click.Context(cli)
    pending: list[click.Command] = [entry.load() for entry in COMMANDS]
    while pending:
        command = pending.pop()
        reachable.add(id(command))
        if isinstance(command, click.Group):
            pending += [c for n in command.list_commands(ctx) if (c := command.get_command(ctx, n))]
    stray = []
    for info in pkgutil.iter_modules(mxtls.cli.__path__, "mxtls.cli."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, click.Command) and value is not cli and id(value) not in reachable:
                stray.append(f"{info.name}:{name}")
    assert not stray, f"commands not in mxtls.cli.main.COMMANDS: {stray}"


# Libraries only some checks need: SCRAM (credentials given), dnspython's signature
# code (--dnssec-validate), the deep scan's checks and its cipher-suite registry
# (--deep: mxtls.engine.deep loads them); and ones no check needs: httpx and its
# transport (the monitor's webhooks use them; the policy fetch is mxtls.net.http1 on
# h11); nor the monitor's modules (its event models), which the report's renderers
# do not need.
_ENGINE_PROBE = """
import json, sys
from mxtls.config import CheckConfig
import mxtls.engine.run
import mxtls.render.text, mxtls.render.json
from mxtls.engine.runtime import Runtime
Runtime(CheckConfig())
print("@@" + json.dumps(sorted(sys.modules)))
"""
NOT_FOR_A_PLAIN_CHECK = (
    "scramp",
    "asn1crypto",
    "dns.dnssec",
    "httpx",
    "httpcore",
    "anyio",
    "pygments",
    "mxtls.monitor",
    "mxtls.monitor.diff",
    "mxtls.checks.deep_tls",
    "mxtls.checks.vulns",
    "mxtls.protocol.tls_registry",
)


def test_a_plain_check_loads_no_library_it_does_not_use() -> None:
    # Given a fresh interpreter that imports the engine and builds a default runtime
    loaded = set(in_fresh_interpreter(_ENGINE_PROBE))
    # Then the engine is there, and none of the libraries a plain check does not use
    assert "mxtls.engine.run" in loaded and "mxtls.net.https" in loaded and "h11" in loaded
    assert sorted(loaded & set(NOT_FOR_A_PLAIN_CHECK)) == []


def test_every_command_starts_its_loop_through_the_cli_loop() -> None:
    # mxtls.cli.loop ends the import phase (collector settings) before a loop runs.
    root = Path(mxtls.cli.__file__).parent
    direct = [
        path.name
        for path in sorted(root.glob("*.py"))
        if path.name != "loop.py" and "asyncio.run(" in path.read_text()
    ]
    assert direct == [], f"use mxtls.cli.loop.run instead of asyncio.run in {direct}"


_LOOP_PROBE = """
import gc, json
from mxtls.cli import loop
default = gc.get_threshold()
loop.importing()
during = gc.get_threshold()
reprs = []
class Result:
    def __repr__(self):
        reprs.append(1)
        return "Result()"
async def main():
    return Result()
result = loop.run(main())
print("@@" + json.dumps({
    "default": default, "during": during, "after": gc.get_threshold(),
    "frozen": gc.get_freeze_count(), "result": type(result).__name__, "reprs": len(reprs),
}))
"""


def test_the_cli_loop_ends_the_import_phase_and_never_formats_the_result() -> None:
    # Given a fresh interpreter in the import phase, when a coroutine runs through the loop
    seen = in_fresh_interpreter(_LOOP_PROBE)
    # Then imports collected rarely, the loop runs with the default thresholds again,
    # what existed before it is frozen, and the result came back without a repr
    assert seen["during"][0] > seen["default"][0]
    assert seen["after"] == seen["default"]
    assert seen["frozen"] > 0
    assert seen["result"] == "Result" and seen["reprs"] == 0
