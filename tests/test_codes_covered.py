"""Every finding code of the catalog is asserted by at least one test.

The runtime proof for most sections is tests/e2e/test_lab_scenarios.py
(codes produced by real lab servers); this cheaper guard also covers the
deep-scan codes, which come from the tests in tests/scan, and fails as soon
as a new code is added to docs/findings.md without a test.
"""

from __future__ import annotations

from pathlib import Path

from mxtls.checks.codes import CODES

TESTS = Path(__file__).parent


def test_every_code_is_asserted_somewhere() -> None:
    sources = "\n".join(
        p.read_text() for p in TESTS.rglob("test_*.py") if p.name != Path(__file__).name
    )
    missing = {code for code in CODES if f'"{code}"' not in sources}
    assert not missing, f"no test asserts {sorted(missing)}"
