"""Golden terminal reports: a few lab reports rendered at 80 and 120 columns.

The terminal report must stay readable in an 80-column pipe: nothing cut,
wrapped or stacked instead.  These tests render real lab reports with a
fixed clock, no colour and no timing numbers, and compare them with the
text checked in under ``golden/text/``.  Certificate keys are fresh on every
run, so each distinct 64-digit hex digest is replaced by a same-length
placeholder (the layout does not move).  A change meant to alter the report
regenerates the files with ``MXTLS_UPDATE_GOLDEN=1`` and the diff is
reviewed with the change.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from mxtls.config import Timeouts
from mxtls.engine.run import check_domain
from mxtls.lab.scenarios import scenario_table
from mxtls.lab.world import Lab
from mxtls.models.report import Report
from mxtls.render.text import render_text

GOLDEN = Path(__file__).parent / "golden" / "text"
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
DOMAINS = ("good.lab", "expired.lab", "allbusy.lab", "bigmail.lab", "submit.lab")
WIDTHS = (80, 120)
STEP_TIMEOUT_S = 4.0
_DIGEST = re.compile(r"\b[0-9a-f]{64}\b")


@pytest.fixture(scope="module")
def reports() -> Iterator[dict[str, Report]]:
    """The chosen domains checked against a lab with a fixed clock (no IPv6: not everywhere)."""
    table = scenario_table()
    rows = [table[d] for d in DOMAINS]

    async def run() -> list[Report]:
        async with Lab(rows, now=NOW, ipv6=False) as lab:
            config = lab.check_config(
                now=NOW, timeouts=Timeouts.uniform(STEP_TIMEOUT_S), ehlo_name="golden.invalid"
            )
            return list(await asyncio.gather(*(check_domain(d, config) for d in DOMAINS)))

    yield dict(zip(DOMAINS, asyncio.run(run()), strict=True))


def render(report: Report, width: int) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, color_system=None, highlight=False)
    render_text(report, console, timings=False)
    text = buffer.getvalue()
    seen: dict[str, str] = {}
    for digest in _DIGEST.findall(text):
        seen.setdefault(digest, f"{len(seen) + 1:064x}")
    return _DIGEST.sub(lambda m: seen[m.group(0)], text)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("domain", DOMAINS)
def test_report_matches_golden_text(reports: dict[str, Report], domain: str, width: int) -> None:
    text = render(reports[domain], width)
    path = GOLDEN / f"{domain}.{width}.txt"
    if os.environ.get("MXTLS_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"rendering changed: diff against {path}"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("domain", DOMAINS)
def test_nothing_is_cut(reports: dict[str, Report], domain: str, width: int) -> None:
    report = reports[domain]
    text = render(report, width)
    lines = text.splitlines()
    # No line is wider than the terminal, none has trailing spaces or an ellipsis cut,
    assert all(len(line) <= width for line in lines), max(lines, key=len)
    assert all(line == line.rstrip() for line in lines)
    flat = " ".join(text.split())
    # and every address:port, host name and finding code appears whole.
    for host in report.hosts:
        assert host.name in flat
        for ep in host.endpoints:
            ip = f"[{ep.ip}]" if ":" in ep.ip else ep.ip
            assert f"{ip}:{ep.port}" in flat
            if ep.handshake is not None:
                assert ep.handshake.cipher in flat
    for finding in report.findings:
        assert finding.code in flat


@pytest.mark.parametrize("width", WIDTHS)
def test_the_grade_ends_the_report_one_rule_a_line(reports: dict[str, Report], width: int) -> None:
    # Given a report whose grade was capped by a rule with many reasons
    report = reports["allbusy.lab"]
    assert report.grade is not None and report.grade.capped_by
    many = [f.code for f in report.findings] * 4
    first = report.grade.capped_by[0].model_copy(update={"because": many})
    grade = report.grade.model_copy(update={"capped_by": [first, *report.grade.capped_by[1:]]})
    text = render(report.model_copy(update={"grade": grade}), width)
    lines = text.splitlines()
    # Then the grade follows the counts, each rule starts its own line,
    start = lines.index(f"Grade {grade.letter} ({grade.method})")
    assert lines[start - 1].endswith(" info")
    rules = [line for line in lines[start + 1 :] if not line.startswith("    ")]
    assert [r.split()[0] for r in rules] == [c.rule for c in grade.capped_by]
    # and the reasons wrap under themselves, within the width, no code split.
    assert all(len(line) <= width for line in lines[start:])
    assert " ".join(" ".join(lines[start:]).split()).count(", ".join(many)) == 1
