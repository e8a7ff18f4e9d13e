"""The hints catalog: every finding code has a hint and a full explanation."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from mxtls.checks.codes import CODES
from mxtls.checks.explain import EXPLANATIONS, PLATFORMS, explain, hint
from mxtls.cli.explain import explain as explain_command

_STANDARD = re.compile(r"^(RFC \d+( §[\w.]+)?|CVE-\d{4}-\d+|NIST SP [\w-]+)$")


def test_every_code_has_an_entry() -> None:
    assert set(CODES) - set(EXPLANATIONS) == set()


@pytest.mark.parametrize("code", sorted(EXPLANATIONS))
def test_entry_is_complete(code: str) -> None:
    entry = explain(code)
    assert entry.code == code
    # One line of "what to do", short enough to read under a finding.
    assert entry.hint and "\n" not in entry.hint and len(entry.hint) <= 100
    assert entry.meaning and entry.why
    assert [platform for platform, _ in entry.fixes] == list(PLATFORMS)
    assert all(how.strip() for _, how in entry.fixes)
    assert entry.rfcs and all(_STANDARD.match(r) for r in entry.rfcs), entry.rfcs


def test_hint_of_an_unknown_code_is_none() -> None:
    assert hint("cert.expired") == explain("cert.expired").hint
    assert hint("no.such_code") is None
    with pytest.raises(KeyError):
        explain("no.such_code")


def test_explain_command_prints_every_part_at_80_columns() -> None:
    result = CliRunner().invoke(
        explain_command, ["cert.chain_incomplete", "--no-color"], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    for part in ("What to do", "Why it matters", "How to fix it", "Standards", *PLATFORMS):
        assert part in result.output
    assert "RFC 8461 §4.2" in result.output
    assert all(len(line) <= 80 for line in result.output.splitlines())


def test_explain_command_lists_every_code() -> None:
    result = CliRunner().invoke(explain_command, ["--no-color"], env={"COLUMNS": "100"})
    assert result.exit_code == 0
    assert all(code in result.output for code in CODES)


def test_explain_json_is_the_catalog_entry() -> None:
    result = CliRunner().invoke(explain_command, ["dane.mismatch", "--json"])
    doc = json.loads(result.output)
    assert doc["code"] == "dane.mismatch" and doc["hint"] == hint("dane.mismatch")
    assert [platform for platform, _ in doc["fixes"]] == list(PLATFORMS)


def test_unknown_code_exits_2_and_suggests() -> None:
    result = CliRunner().invoke(explain_command, ["cert.chainincomplete"])
    assert result.exit_code == 2
    assert "cert.chain_incomplete" in result.output
