"""The service's limits and contracts, in-process against the shared lab.

Rate limits (a token bucket per client, a higher one per API key, 429 with
Retry-After), body size (413), the queue's sharing of identical checks,
server-sent progress, the TLS-RPT receiver (gzip, its bomb guard), the
OpenAPI document's one report schema, and escaping of a hostile server's
words on the page (a security regression: banner and certificate subject
carry ``<script>``).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import html5lib
import pytest

from mxtls.config import CheckConfig
from mxtls.models.report import Report
from mxtls.monitor.tlsrpt import example_report, to_gzip
from mxtls.store import webchecks
from mxtls.store.db import open_store
from tests.formats.test_hostile_values import BANNER_SCRIPT, CERT_SCRIPT, hostile_report
from tests.web.conftest import Served, wait_done

__all__ = ["hostile_report"]  # the fixture, shared with the format tests


def test_identical_requests_share_one_check_and_stream_progress(
    serve: Any, lab_cfg: CheckConfig
) -> None:
    web: Served = serve(lab_cfg, allow_private=True)
    first = web.client.post("/api/v1/checks", json={"domain": "good.lab"}).json()
    second = web.client.post("/api/v1/checks", json={"domain": "GOOD.lab."}).json()
    assert first["id"] == second["id"]
    with web.client.stream("GET", f"/api/v1/checks/{first['id']}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = "".join(stream.iter_text())
    assert "event: progress" in text and "event: done" in text
    assert "mx1.good.lab" in text
    done = wait_done(web.client, first["id"])
    again = web.client.post("/api/v1/checks", json={"domain": "good.lab"}).json()
    assert again["id"] == first["id"]  # reused within the cooldown
    assert done["result"]["domain"] == "good.lab"
    latest = web.client.get("/api/v1/domains/good.lab/latest").json()
    assert latest["checked_at"] == done["result"]["checked_at"]
    history = web.client.get("/api/v1/domains/good.lab/history").json()
    assert history["reports"][0]["status"] == "ok"
    tlsa = web.client.get("/api/v1/generate/tlsa", params={"domain": "good.lab"}).json()
    assert tlsa["records"] and all(
        " IN TLSA 3 1 1 " in r or " 2 1 1 " in r for r in tlsa["records"]
    )
    sts = web.client.get("/api/v1/generate/mta-sts", params={"domain": "good.lab"}).json()
    assert "mx: mx1.good.lab" in sts["policy"]
    rpt = web.client.get(
        "/api/v1/generate/tls-rpt", params={"domain": "good.lab", "rua": "mailto:r@good.lab"}
    ).json()
    assert rpt["dns"] == ['_smtp._tls.good.lab. IN TXT "v=TLSRPTv1; rua=mailto:r@good.lab"']
    metrics = web.client.get("/metrics").text
    assert "mxtls_web_check_duration_seconds_count 1.0" in metrics
    assert 'mxtls_http_requests_total{method="POST",route="/api/v1/checks",status="202"}' in metrics
    assert 'mxtls_endpoint_up{domain="good.lab"' in metrics


def test_rate_limits_keys_and_sizes(serve: Any, lab_cfg: CheckConfig, tmp_path: Path) -> None:
    from mxtls.web.settings import key_digest

    key = "k" * 32
    web: Served = serve(
        lab_cfg,
        allow_private=True,
        burst=2,
        rate_per_minute=1.0,
        key_burst=5,
        api_key_digests={key_digest(key)},
    )
    codes = [
        web.client.post("/api/v1/checks", json={"domain": f"d{n}.example"}).status_code
        for n in range(3)
    ]
    assert codes == [202, 202, 429]
    limited = web.client.post("/api/v1/checks", json={"domain": "d9.example"})
    assert int(limited.headers["retry-after"]) > 0
    keyed = web.client.post(
        "/api/v1/checks",
        json={"domain": "d3.example"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert keyed.status_code == 202  # the key has its own, larger bucket
    wrong = web.client.post(
        "/api/v1/checks", json={"domain": "d4.example"}, headers={"X-API-Key": "x" * 32}
    )
    assert wrong.status_code == 401
    big = web.client.post(
        "/api/v1/checks",
        content=json.dumps({"domain": "a.example", "pad": "x" * 20_000}),
        headers={"content-type": "application/json"},
    )
    assert big.status_code == 413
    unknown = web.client.post("/api/v1/checks", json={"domain": "a.example", "evil": 1})
    assert unknown.status_code == 422
    assert web.client.get("/api/v1/checks/nope").status_code == 404


def test_tlsrpt_receiver(serve: Any, lab_cfg: CheckConfig) -> None:
    web: Served = serve(lab_cfg, allow_private=True)
    body = to_gzip(example_report())
    stored = web.client.post(
        "/tlsrpt", content=body, headers={"content-type": "application/tlsrpt+gzip"}
    )
    assert stored.status_code == 201 and stored.json() == {"reports": 1, "stored": 1, "failures": 3}
    again = web.client.post("/tlsrpt", content=body)
    assert again.json()["stored"] == 0  # once per organization and report-id
    bomb = gzip.compress(b"{" + b" " * (40 * 1024 * 1024) + b"}")
    refused = web.client.post(
        "/tlsrpt", content=bomb, headers={"content-type": "application/tlsrpt+gzip"}
    )
    assert refused.status_code == 400 and "decompression bomb" in refused.text
    assert (
        'mxtls_tlsrpt_reports_total{policy_domain="company-y.example"'
        in web.client.get("/metrics").text
    )


def test_openapi_references_the_report_schema(serve: Any, lab_cfg: CheckConfig) -> None:
    web: Served = serve(lab_cfg, allow_private=True)
    spec = web.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "Report" in schemas and schemas["Report"]["properties"]["schema"]
    state = schemas["CheckState"]["properties"]["result"]
    assert {"$ref": "#/components/schemas/Report"} in state["anyOf"]
    paths = set(spec["paths"])
    assert {"/api/v1/checks", "/api/v1/checks/{check_id}", "/api/v1/servers", "/tlsrpt"} <= paths


def test_a_hostile_server_s_words_stay_words_on_the_page(
    serve: Any, lab_cfg: CheckConfig, hostile_report: Report, tmp_path: Path
) -> None:
    # Given a stored check whose banner and certificate subject carry <script>
    store = open_store(f"sqlite:///{tmp_path / 'web.sqlite3'}")
    try:
        store.call(
            lambda s: webchecks.add_check(
                s, "hostile-check-id", "servers", "x", False, hostile_report.checked_at
            )
        )
        store.call(
            lambda s: webchecks.finish_check(
                s, "hostile-check-id", hostile_report, hostile_report.checked_at
            )
        )
    finally:
        store.close()
    web: Served = serve(lab_cfg, allow_private=True)  # the same database (tmp_path)
    page = web.client.get("/check/hostile-check-id")
    assert page.status_code == 200
    tree = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page.text)
    scripts = [el for el in tree.iter() if el.tag == "script"]
    assert [s.get("src") for s in scripts] == ["/static/app.js"]  # ours, and only ours
    assert not [a for el in tree.iter() for a in el.attrib if a.startswith("on")]
    text = "".join(tree.itertext())
    assert BANNER_SCRIPT in text  # shown as text, not run
    leaf = hostile_report.hosts[0].endpoints[0].handshake
    assert leaf is not None and leaf.chain[0].common_name == CERT_SCRIPT
    assert leaf.chain[0].subject in text


@pytest.mark.parametrize("path", ["/", "/api/v1/checks/x", "/healthz", "/static/app.js"])
def test_security_headers_everywhere(serve: Any, lab_cfg: CheckConfig, path: str) -> None:
    web: Served = serve(lab_cfg, allow_private=True)
    headers = web.client.get(path).headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "'unsafe-inline'" not in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "server" not in headers
