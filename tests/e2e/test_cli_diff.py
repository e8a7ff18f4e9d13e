"""`mxtls diff OLD.json NEW.json` on two real checks of one domain that changed.

Given good.lab checked once as it is and once after its second MX lost
STARTTLS (a second lab world, with its own CA, so every certificate is new
too), when the two saved reports are compared, then the events are the
monitor's (same types, same content in the JSON), the text names them, and
the exit status says whether something new and bad appeared.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from mxtls.cli.demo import lab_config
from mxtls.engine.run import check_domain
from mxtls.lab.scenarios import SCENARIOS, ports
from mxtls.lab.smtp_server import SmtpMode
from mxtls.lab.world import Lab
from mxtls.models.report import Report
from mxtls.monitor.diff import EVENT_TYPES, EVENTS_ADAPTER, diff_reports

from .test_cli import mxtls

GOOD = next(s for s in SCENARIOS if s.domain == "good.lab")
BROKEN = replace(
    GOOD, hosts=(GOOD.hosts[0], replace(GOOD.hosts[1], ports=ports(SmtpMode.NO_STARTTLS)))
)
TIMEOUT_S = 4.0


async def _check_in(scenario_row: object) -> Report:
    async with Lab([scenario_row]) as world:  # type: ignore[list-item]
        return await check_domain("good.lab", lab_config(world, timeout=TIMEOUT_S))


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Report, Report]:
    old, new = asyncio.run(_check_in(GOOD)), asyncio.run(_check_in(BROKEN))
    folder = tmp_path_factory.mktemp("diff")
    old_path, new_path = folder / "old.json", folder / "new.json"
    old_path.write_text(old.model_dump_json(by_alias=True))
    new_path.write_text(new.model_dump_json(by_alias=True))
    return old_path, new_path, old, new


def test_text_names_the_changes_and_exits_1(saved: tuple[Path, Path, Report, Report]) -> None:
    old_path, new_path, _, _ = saved
    proc = mxtls("diff", str(old_path), str(new_path))
    assert proc.returncode == 1, proc.stderr  # a new error: STARTTLS gone
    out = proc.stdout
    assert "grade A → F" in out
    for needle in ("finding.new", "starttls.not_offered", "verdict.changed", "cert.changed"):
        assert needle in out, needle


def test_json_is_the_monitors_events(saved: tuple[Path, Path, Report, Report]) -> None:
    old_path, new_path, old, new = saved
    proc = mxtls("diff", str(old_path), str(new_path), "--format", "json")
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "mxtls-diff/1" and doc["domain"] == "good.lab"
    assert (doc["old"]["grade"], doc["new"]["grade"]) == ("A", "F")
    expected = EVENTS_ADAPTER.dump_python(diff_reports(old, new), mode="json")
    assert doc["events"] == expected
    assert {e["type"] for e in doc["events"]} <= set(EVENT_TYPES)


def test_markdown_and_fail_on(saved: tuple[Path, Path, Report, Report], tmp_path: Path) -> None:
    old_path, new_path, _, _ = saved
    out = tmp_path / "changes.md"
    proc = mxtls("diff", str(new_path), str(old_path), "--format", "markdown", "-o", str(out))
    # Going back from broken to good resolves findings and adds none: nothing fails.
    assert proc.returncode == 0, proc.stderr
    tokens = MarkdownIt("commonmark").parse(out.read_text())
    assert not {t.type for t in tokens} & {"html_block", "html_inline"}
    assert "finding.resolved" in out.read_text()


def test_same_report_no_changes(saved: tuple[Path, Path, Report, Report]) -> None:
    old_path, _, _, _ = saved
    proc = mxtls("diff", str(old_path), str(old_path))
    assert proc.returncode == 0
    assert "no changes" in proc.stdout


def test_bad_input_exits_2(saved: tuple[Path, Path, Report, Report], tmp_path: Path) -> None:
    old_path, _, old, _ = saved
    not_report = tmp_path / "x.json"
    not_report.write_text('{"schema": "something/else"}')
    other = tmp_path / "other.json"
    other.write_text(old.model_copy(update={"domain": "other.lab"}).model_dump_json(by_alias=True))
    for args in (
        [str(tmp_path / "missing.json"), str(old_path)],
        [str(not_report), str(old_path)],
        [str(old_path), str(other)],
        [str(old_path), str(old_path), "--json", "--format", "markdown"],
    ):
        proc = mxtls("diff", *args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
