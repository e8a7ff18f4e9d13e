"""The code table in ``checks/codes.py`` equals the contract in docs/findings.md."""

from __future__ import annotations

import re
from pathlib import Path

from mxtls.checks.codes import CODES, make_finding
from mxtls.models.findings import Severity

FINDINGS_MD = Path(__file__).resolve().parents[2] / "docs" / "findings.md"
ROW = re.compile(r"^\|\s*([a-z0-9_]+\.[a-z0-9_]+)\s*\|\s*(error|warning|info)\s*\|(.*)\|\s*$")


def _contract() -> dict[str, tuple[Severity, str, str]]:
    table: dict[str, tuple[Severity, str, str]] = {}
    section = ""
    for line in FINDINGS_MD.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        match = ROW.match(line)
        if match:
            code, severity, summary = match.groups()
            assert code not in table, f"{code} listed twice in findings.md"
            table[code] = (Severity(severity), section, summary.strip())
    return table


def test_findings_md_parses() -> None:
    contract = _contract()
    assert len(contract) > 60
    assert contract["cert.expired"][0] is Severity.ERROR


def test_codes_equal_the_contract() -> None:
    contract = _contract()
    assert set(CODES) == set(contract)
    assert {c: i.severity for c, i in CODES.items()} == {c: s for c, (s, _, _) in contract.items()}


def test_sections_and_summaries_match() -> None:
    contract = _contract()
    for code, info in CODES.items():
        _, section, summary = contract[code]
        assert info.section == section, code
        assert info.summary == summary, code


def test_make_finding_uses_catalog_severity() -> None:
    finding = make_finding("tls.protocol_legacy", "mx[192.0.2.1]:25", "m")
    assert finding.severity is Severity.WARNING
