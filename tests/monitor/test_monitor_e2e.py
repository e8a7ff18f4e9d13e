"""End to end: the monitor checks lab domains, the lab changes, the monitor tells.

Given a small lab (secure.lab: DANE with rollover; dane-single.lab: one
``3 1 1`` record; good.lab: two opportunistic MX hosts), a signed webhook
receiver, and a database (SQLite, then a real PostgreSQL),
when the monitor runs a round, the lab renews two certificates with new
keys and switches STARTTLS off on one MX, and the monitor runs again,
then the exact events are stored and delivered, signed, the metrics show
the new state, and the history holds both rounds.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from click.testing import CliRunner
from prometheus_client import start_http_server
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session

from mxtls.cli.monitor import history as history_command
from mxtls.lab.smtp_server import SmtpMode
from mxtls.lab.world import Lab
from mxtls.monitor.alerts import Alerter
from mxtls.monitor.config import parse_config
from mxtls.monitor.service import Monitor, exit_status
from mxtls.store import history
from mxtls.store.db import open_store
from tests.conftest import LAB_STEP_TIMEOUT_S
from tests.monitor.conftest import MONITOR_DOMAINS, monitor_scenarios
from tests.monitor.receiver import WebhookReceiver

SECRET = "s3cr3t-webhook-value-for-the-test"
NEW_KEY_DANE, NEW_KEY_SECURE = 50, 51  # key slots no lab host uses


def lab_monitor_config(lab: Lab, db: str, hook_url: str, audit: Path) -> dict[str, object]:
    ip, port = lab.nameserver
    return {
        "defaults": {
            "interval": "1h",
            "nameserver": [f"{ip}:{port}"],
            "ca_file": str(lab.ca_file),
            "port_map": [f"{a}:{b}" for a, b in sorted(lab.port_map.items())],
            "dnssec_validate": True,
            "trust_anchor": str(lab.trust_anchor),
            "timeout": LAB_STEP_TIMEOUT_S,
            "ports": [25],
        },
        "domain": [{"name": d} for d in MONITOR_DOMAINS],
        "webhook": [{"url": hook_url, "secret": "env:MXTLS_TEST_HOOK_SECRET"}],
        "monitor": {"db": db, "max_checks": 2, "audit_log": str(audit)},
    }


def event_keys(events: list[dict[str, object]]) -> set[tuple[object, ...]]:
    """What identifies an event, without fingerprints, times and messages."""
    out: set[tuple[object, ...]] = set()
    for e in events:
        match e["type"]:
            case "finding.new" | "finding.resolved":
                out.add((e["type"], e["code"], e["target"]))
            case "cert.changed":
                out.add((e["type"], e["target"], e["key_changed"], e["tlsa_matches"]))
            case "verdict.changed":
                out.add((e["type"], e["sender"], e["old"], e["new"]))
            case other:
                out.add((other,))
    return out


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(url, timeout=5).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_monitor_sees_renewal_that_breaks_dane(db_url: str, tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    async with Lab(monitor_scenarios()) as lab:
        with WebhookReceiver(SECRET) as receiver:
            # Given: the monitor, configured as a user would (secret from the environment)
            data = lab_monitor_config(lab, db_url, receiver.url, audit)
            config = parse_config(data, base_dir=tmp_path, env={"MXTLS_TEST_HOOK_SECRET": SECRET})
            store = open_store(config.settings.db)
            alerter = Alerter(config.webhooks, backoff_base=0.01)
            monitor = Monitor(config, store, alerter=alerter)
            server, thread = start_http_server(0, "127.0.0.1", registry=monitor.metrics.registry())
            metrics_url = f"http://127.0.0.1:{server.server_port}/metrics"
            try:
                # When: a first round (nothing to compare with: no events)
                first = await monitor.run_round()
                assert [o.events for o in first] == [[], [], []]
                assert exit_status(first) == 0
                assert receiver.requests == []

                # ... the lab renews two certificates with new keys, and mx1.good.lab
                # stops offering STARTTLS on port 25 ...
                old_dane_leaf = lab.hosts["mx.dane-single.lab"].certs[0]
                lab.renew_certificate("mx.dane-single.lab", key_slot=NEW_KEY_DANE)
                lab.renew_certificate("mx.secure.lab", key_slot=NEW_KEY_SECURE)
                lab.set_smtp_mode("mx1.good.lab", SmtpMode.NO_STARTTLS, port=25)
                new_dane_leaf = lab.hosts["mx.dane-single.lab"].certs[0]

                # ... and a second round
                second = {o.domain: o for o in await monitor.run_round()}
                samples = scrape(metrics_url)
            finally:
                server.shutdown()
                server.server_close()
                await monitor.aclose()

            # Then: exactly these events, per domain
            dane_ep = f"mx.dane-single.lab[{lab.address('mx.dane-single.lab')}]:25"
            secure_ep = f"mx.secure.lab[{lab.address('mx.secure.lab')}]:25"
            good_eps = [f"mx1.good.lab[{a}]:25" for a in lab.addresses("mx1.good.lab")]
            expected = {
                "dane-single.lab": {
                    ("verdict.changed", "dane", "authenticated", "refuses"),
                    ("cert.changed", dane_ep, True, False),
                    ("finding.new", "dane.mismatch", dane_ep),
                    ("finding.new", "delivery.strict_senders_fail", "dane-single.lab"),
                    # a rollover scheme is judged on records that match: none does now
                    ("finding.resolved", "dane.no_rollover", "mx.dane-single.lab"),
                },
                "secure.lab": {("cert.changed", secure_ep, True, True)},
                "good.lab": {
                    ("verdict.changed", "opportunistic", "encrypted", "plaintext"),
                    ("finding.new", "delivery.unencrypted_path", "good.lab"),
                    *(("finding.new", "starttls.not_offered", ep) for ep in good_eps),
                },
            }
            got = {
                d: event_keys([e.model_dump(mode="json") for e in o.events])
                for d, o in second.items()
            }
            assert got == expected
            assert exit_status(list(second.values())) == 1  # new errors on two domains

            # ... the certificate event carries both fingerprints
            cert_event = next(
                e for e in second["dane-single.lab"].events if e.type == "cert.changed"
            )
            assert cert_event.model_dump()["new_sha256"] != cert_event.model_dump()["old_sha256"]
            assert (
                old_dane_leaf.cert.not_valid_after_utc != new_dane_leaf.cert.not_valid_after_utc
                or (cert_event.model_dump()["key_changed"])
            )

            # ... the webhook got one signed POST per (domain, event type), all verified
            assert receiver.requests and all(r.verified for r in receiver.requests)
            by_domain: dict[str, list[dict[str, object]]] = {}
            for r in receiver.requests:
                p = r.payload
                assert set(p) >= {
                    "event",
                    "domain",
                    "checked_at",
                    "changes",
                    "report",
                    "id",
                    "sent_at",
                }
                assert r.headers["x-mxtls-timestamp"] == p["sent_at"]
                assert all(c["type"] == p["event"] for c in p["changes"])
                by_domain.setdefault(str(p["domain"]), []).extend(p["changes"])
            assert {d: event_keys(v) for d, v in by_domain.items()} == expected
            dane_post = next(
                r.payload for r in receiver.requests if r.payload["domain"] == "dane-single.lab"
            )
            assert dane_post["report"]["verdict"]["dane"] == "refuses"

            # ... the metrics show the new state

            def value(name: str, **labels: str) -> float:
                return samples[(name, tuple(sorted(labels.items())))]

            ep = {"domain": "dane-single.lab", "mx": "mx.dane-single.lab", "port": "25"}
            ep["ip"] = lab.address("mx.dane-single.lab")
            assert value("mxtls_dane_state", **ep, state="mismatch") == 1.0
            assert value("mxtls_dane_state", **ep, state="match") == 0.0
            assert value("mxtls_cert_expiry_timestamp_seconds", **ep) == (
                new_dane_leaf.cert.not_valid_after_utc.timestamp()
            )
            assert value("mxtls_cert_verified", **ep) == 1.0
            assert (
                value(
                    "mxtls_sender_verdict",
                    domain="good.lab",
                    sender="opportunistic",
                    state="plaintext",
                )
                == 1.0
            )
            assert (
                value(
                    "mxtls_sender_verdict",
                    domain="secure.lab",
                    sender="dane",
                    state="authenticated",
                )
                == 1.0
            )
            good1 = {
                "domain": "good.lab",
                "mx": "mx1.good.lab",
                "ip": good_eps[0].split("[")[1].split("]")[0],
                "port": "25",
            }
            assert value("mxtls_starttls_offered", **good1) == 0.0
            assert value("mxtls_events_total", domain="dane-single.lab", type="finding.new") == 2.0
            assert value("mxtls_findings", domain="dane-single.lab", severity="error") == 2.0
            assert value("mxtls_mta_sts_mode", domain="secure.lab", mode="enforce") == 1.0

            # ... and the history holds both rounds, indexed
            def stored(session: Session) -> dict[str, object]:
                return {
                    d: (
                        len(history.list_reports(session, d)),
                        event_keys(
                            [
                                e.event.model_dump(mode="json")
                                for e in history.list_events(session, d)
                            ]
                        ),
                    )
                    for d in MONITOR_DOMAINS
                }

            rows = store.call(stored)
            assert rows == {d: (2, expected[d]) for d in MONITOR_DOMAINS}
            deliveries = store.call(lambda s: list(history.list_deliveries(s)))
            assert deliveries and all(d.status == "delivered" for d in deliveries)
            assert all(SECRET not in (d.destination + (d.last_error or "")) for d in deliveries)
            store.close()

    # ... `mxtls history` reads it back, and `--diff` shows the last change
    runner = CliRunner()
    out = runner.invoke(history_command, ["dane-single.lab", "--db", db_url, "--json"])
    assert out.exit_code == 0, out.output
    listed = json.loads(out.output)
    assert len(listed["reports"]) == 2
    assert event_keys([e["event"] for e in listed["events"]]) == expected["dane-single.lab"]
    out = runner.invoke(history_command, ["dane-single.lab", "--db", db_url, "--diff", "--json"])
    assert event_keys(json.loads(out.output)["changes"]) == expected["dane-single.lab"]
    out = runner.invoke(history_command, ["good.lab", "--db", db_url])
    assert "starttls.not_offered" in out.output and max(map(len, out.output.splitlines())) <= 80

    # ... and the audit log has one line per check with the endpoint facts
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert len(lines) == 6
    dane_lines = [ln for ln in lines if ln["domain"] == "dane-single.lab"]
    assert [ln["endpoints"][0]["cert_sha256"] for ln in dane_lines] == [
        cert_event.model_dump()["old_sha256"],
        cert_event.model_dump()["new_sha256"],
    ]
    assert SECRET not in audit.read_text()
