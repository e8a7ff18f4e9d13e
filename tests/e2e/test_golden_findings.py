"""Golden findings: every lab scenario's (code, severity, target) set, pinned.

A refactoring must not change what mxtls finds.  The snapshot in
``golden/lab_findings.json`` was taken from the code before a change; this
test checks every lab domain again and compares the sets exactly.  A change
that is *meant* to alter findings regenerates the snapshot with
``MXTLS_UPDATE_GOLDEN=1 scripts/test tests/e2e/test_golden_findings.py`` and
the diff of that file is reviewed with the change.  A scenario's tolerated
codes (second symptoms that depend on timing) may be missing, never added.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from mxtls.lab.world import Lab
from mxtls.models.report import Report

GOLDEN = Path(__file__).parent / "golden" / "lab_findings.json"


def _finding_lines(reports: dict[str, Report]) -> dict[str, list[str]]:
    """Per domain, one ``code severity target`` line per distinct finding, sorted."""
    return {
        domain: sorted({f"{f.code} {f.severity.value} {f.target}" for f in report.findings})
        for domain, report in sorted(reports.items())
    }


def test_lab_findings_match_the_golden_snapshot(lab: Lab, lab_reports: dict[str, Report]) -> None:
    observed = _finding_lines(lab_reports)
    if os.environ.get("MXTLS_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(observed, indent=1, sort_keys=True) + "\n")
    expected: dict[str, list[str]] = json.loads(GOLDEN.read_text())
    assert sorted(observed) == sorted(expected), "the lab's domains changed"
    changed = {
        domain: {
            "missing": sorted(
                line
                for line in set(expected[domain]) - set(observed[domain])
                # A scenario's tolerated codes are second symptoms that depend
                # on timing or connection order (flaky.lab alternates STARTTLS).
                if line.split()[0] not in lab.scenario(domain).tolerated
            ),
            "extra": sorted(set(observed[domain]) - set(expected[domain])),
        }
        for domain in expected
        if observed[domain] != expected[domain]
    }
    changed = {d: c for d, c in changed.items() if c["missing"] or c["extra"]}
    assert not changed, json.dumps(changed, indent=1)
