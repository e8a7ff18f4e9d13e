"""The terminal report decides nothing: a certificate's days left look as the checks judged them."""

from __future__ import annotations

import io

from rich.console import Console

from mxtls.config import CheckConfig
from mxtls.engine.run import check_domain
from mxtls.engine.runtime import Runtime
from mxtls.lab.world import Lab
from mxtls.models.report import Report
from mxtls.render.text import render_text

YELLOW = "\x1b[33m"


def _days_cells(report: Report) -> list[str]:
    """The rendered lines that show days left, with their ANSI styles."""
    out = io.StringIO()
    render_text(report, Console(file=out, force_terminal=True, color_system="standard", width=120))
    return [line for line in out.getvalue().splitlines() if "days left" in line]


async def test_days_left_follow_warn_days_through_the_findings(
    lab: Lab, lab_cfg: CheckConfig
) -> None:
    # Given: expiring.lab's certificate expires in ten days; one runtime, two thresholds
    runtime = Runtime(lab_cfg)
    near = await check_domain("expiring.lab", runtime, ports=(25,), warn_days=5)
    far = await check_domain("expiring.lab", runtime, ports=(25,), warn_days=30)
    assert "cert.expiring_soon" in {f.code for f in far.findings}
    assert "cert.expiring_soon" not in {f.code for f in near.findings}

    # When: both are rendered
    near_lines, far_lines = _days_cells(near), _days_cells(far)

    # Then: the days are highlighted only where the checks warned, whatever the count
    assert near_lines and far_lines
    assert not any(YELLOW in line for line in near_lines)
    assert any(YELLOW in line for line in far_lines)
