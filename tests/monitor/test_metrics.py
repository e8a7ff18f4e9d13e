"""Metrics: parsed with prometheus-client's parser, then scraped by a real Prometheus."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest, start_http_server
from prometheus_client.parser import text_string_to_metric_families

from mxtls.models.report import Report
from mxtls.monitor.metrics import MonitorMetrics, TlsRptTotals
from mxtls.testing.prometheus import PrometheusError, PrometheusInstance
from tests.monitor.conftest import PAIR_DOMAINS, LabRounds
from tests.peers import require_peer

ALERTS = Path(__file__).parents[2] / "docs" / "monitoring" / "alerts.yml"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(metrics: MonitorMetrics) -> Samples:
    text = generate_latest(metrics.registry()).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def endpoint(report: Report) -> dict[str, str]:
    ep = report.hosts[0].endpoints[0]
    return {"domain": report.domain, "mx": ep.host, "ip": ep.ip, "port": str(ep.port)}


def get(data: Samples, name: str, **labels: str) -> float:
    return data[(name, tuple(sorted(labels.items())))]


@pytest.fixture
def metrics(lab_rounds: LabRounds) -> MonitorMetrics:
    m = MonitorMetrics()
    for d in PAIR_DOMAINS:
        m.observe(lab_rounds.before[d])
    return m


def test_expiry_is_there_when_the_certificate_is_expired_or_untrusted(
    metrics: MonitorMetrics, lab_rounds: LabRounds
) -> None:
    data = samples(metrics)
    for domain in ("expired.lab", "untrusted.lab"):
        report = lab_rounds.before[domain]
        leaf = report.hosts[0].endpoints[0].handshake.chain[0]  # type: ignore[union-attr]
        ep = endpoint(report)
        assert get(data, "mxtls_cert_expiry_timestamp_seconds", **ep) == leaf.not_after.timestamp()
        assert get(data, "mxtls_cert_verified", **ep) == 0.0
    good = endpoint(lab_rounds.before["secure.lab"])
    assert get(data, "mxtls_cert_verified", **good) == 1.0
    assert get(data, "mxtls_tls_version_info", **good, version="TLSv1.3") == 1.0


def test_expiry_survives_a_round_without_handshake(lab_rounds: LabRounds) -> None:
    m = MonitorMetrics()
    m.observe(lab_rounds.before["good.lab"])
    before = samples(m)
    m.observe(lab_rounds.timeout)  # mx2.good.lab timed out: no certificate this round
    after = samples(m)
    mx2 = next(e for h in lab_rounds.timeout.hosts for e in h.endpoints if e.host == "mx2.good.lab")
    ep = {"domain": "good.lab", "mx": mx2.host, "ip": mx2.ip, "port": "25"}
    assert get(after, "mxtls_endpoint_up", **ep) == 0.0
    assert get(after, "mxtls_tls_established", **ep) == 0.0
    assert get(after, "mxtls_cert_expiry_timestamp_seconds", **ep) == get(
        before, "mxtls_cert_expiry_timestamp_seconds", **ep
    )


def test_every_state_of_a_one_hot_gauge_is_exported(metrics: MonitorMetrics) -> None:
    data = samples(metrics)
    states = {
        dict(labels)["state"]: v
        for (name, labels), v in data.items()
        if name == "mxtls_sender_verdict"
        and dict(labels)["domain"] == "secure.lab"
        and dict(labels)["sender"] == "opportunistic"
    }
    assert len(states) == 8 and sum(states.values()) == 1.0 and states["encrypted"] == 1.0
    assert get(data, "mxtls_mta_sts_mode", domain="good.lab", mode="absent") == 1.0


def test_names_follow_the_prometheus_guide(metrics: MonitorMetrics) -> None:
    metrics.set_tlsrpt([TlsRptTotals("good.lab", "sts", 10, {"certificate-expired": 3}, 1)])
    text = generate_latest(metrics.registry()).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert all(n.startswith("mxtls_") for n in families)
    for name, family in families.items():
        if family.type == "counter":
            assert all(
                s.name == name + "_total" for s in family.samples if s.name != name + "_created"
            )
        assert not {"message", "target"} & {k for s in family.samples for k in s.labels}
    assert "mxtls_tlsrpt_failure_sessions" in families


@pytest.fixture
def prometheus_bin() -> Iterator[None]:
    require_peer("Prometheus", *PrometheusInstance.available())
    yield


def test_alert_rules_pass_promtool(prometheus_bin: None) -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None
    done = subprocess.run(
        [promtool, "check", "rules", str(ALERTS)], capture_output=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert b"SUCCESS" in done.stdout


def test_a_real_prometheus_scrapes_and_queries(
    prometheus_bin: None, metrics: MonitorMetrics
) -> None:
    server, thread = start_http_server(0, "127.0.0.1", registry=metrics.registry())
    try:
        target = f"127.0.0.1:{server.server_port}"
        try:
            prom = PrometheusInstance(target).start()
        except PrometheusError as exc:
            pytest.fail(str(exc))
        try:
            # The expired certificate is visible to PromQL, and so is its being past
            expired = prom.wait_for(
                'mxtls_cert_expiry_timestamp_seconds{domain="expired.lab"} < time()'
            )
            assert [r["metric"]["mx"] for r in expired] == ["mx.expired.lab"]
            assert expired[0]["metric"]["job"] == "mxtls"
            # The alert rule's expression selects exactly the endpoints it should
            soon = prom.query("mxtls_cert_expiry_timestamp_seconds - time() < 14 * 86400")
            assert {r["metric"]["domain"] for r in soon} == {"expired.lab"}
            refusing = prom.query('mxtls_sender_verdict{state="authenticated"} == 1')
            assert {(r["metric"]["domain"], r["metric"]["sender"]) for r in refusing} == {
                ("secure.lab", "mta_sts"),
                ("secure.lab", "dane"),
                ("dane-single.lab", "dane"),
            }
        finally:
            prom.stop()
    finally:
        server.shutdown()
        server.server_close()
