"""Provider hints reach every renderer through the one lookup (render/hints.py).

A finding on a hosted provider's server (Google Workspace …) points to the
provider, not to Postfix advice, in the terminal, HTML (and so the web page),
Markdown, SARIF, CSV and JUnit alike.  The report comes from a real lab check
(expired.lab: an expired certificate); its MX host is then renamed to a
Google host name, because the lab serves only ``.lab`` zones and a
provider is recognised by nothing but its public MX naming.  The renderers
only render what the report holds, so the renamed report is the real case.
"""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from mxtls.config import CheckConfig
from mxtls.engine.run import check_domain
from mxtls.models.report import Report
from mxtls.render.csv import render_csv
from mxtls.render.html import render_html
from mxtls.render.junit import render_junit
from mxtls.render.markdown import render_markdown
from mxtls.render.sarif import render_sarif
from mxtls.render.text import render_text

GOOGLE_HOST = "alt1.aspmx.l.google.com"
PROVIDER_SAYS = "Google Workspace operates this server"
POSTFIX_SAYS = "then reload the MTA"  # the catalog's hint for cert.expired


def _as_google(report: Report) -> Report:
    """The same report, its only MX host renamed to a Google MX name."""
    [host] = report.hosts
    old = host.name

    def rename(text: str) -> str:
        return text.replace(old, GOOGLE_HOST)

    findings = [
        f.model_copy(update={"target": rename(f.target), "message": rename(f.message)})
        for f in report.findings
    ]
    endpoints = [ep.model_copy(update={"host": GOOGLE_HOST}) for ep in host.endpoints]
    renamed = host.model_copy(
        update={"name": GOOGLE_HOST, "provider": "Google Workspace", "endpoints": endpoints}
    )
    return report.model_copy(update={"findings": findings, "hosts": [renamed]})


@pytest.fixture(scope="module")
def reports(lab_cfg: CheckConfig) -> tuple[Report, Report]:
    import asyncio

    own = asyncio.run(check_domain("expired.lab", lab_cfg))
    assert "cert.expired" in {f.code for f in own.findings}
    return own, _as_google(own)


def test_the_catalog_hint_is_postfix_minded(reports: tuple[Report, Report]) -> None:
    own, _ = reports
    assert POSTFIX_SAYS in render_markdown(own) and PROVIDER_SAYS not in render_markdown(own)


def test_every_renderer_points_to_the_provider(reports: tuple[Report, Report]) -> None:
    _, google = reports
    console = Console(width=100, record=True, file=io.StringIO(), no_color=True)
    render_text(google, console)
    terminal = console.export_text()
    for name, text in (
        ("terminal", terminal),
        ("html", render_html(google)),
        ("markdown", render_markdown(google)),
        ("csv", render_csv(google)),
        ("junit", render_junit([google])),
    ):
        assert PROVIDER_SAYS in text, name
    assert "operated by Google Workspace" in render_html(google)
    assert "(Google Workspace)" in terminal
    sarif = json.loads(render_sarif(google))
    [expired] = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "cert.expired"]
    assert expired["properties"]["provider"] == "Google Workspace"
    assert PROVIDER_SAYS in expired["properties"]["hint"]
