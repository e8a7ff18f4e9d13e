"""TLS-RPT ingestion: strict, bounded parsing; import, summary, metrics, correlation."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mxtls.cli.monitor import tlsrpt
from mxtls.monitor.tlsrpt import (
    MAX_JSON_BYTES,
    TlsRptError,
    example_report,
    inflate,
    parse_report_bytes,
    to_gzip,
    to_message,
)
from mxtls.store import history
from mxtls.store import tlsrpt as tlsrpt_store
from mxtls.store.db import open_store
from tests.monitor.conftest import LabRounds


def test_the_rfc_example_in_each_wrapping() -> None:
    raw = json.dumps(example_report()).encode()
    for data in (raw, to_gzip(example_report()), to_message([to_gzip(example_report())])):
        (report,) = parse_report_bytes(data)
        assert report.organization_name == "Company-X"
        (block,) = report.policies
        assert (block.summary.successful, block.summary.failed) == (5326, 303)
        assert [d.result_type for d in block.failure_details] == [
            "certificate-expired",
            "starttls-not-supported",
            "validation-failure",
        ]
    two = parse_report_bytes(to_message([to_gzip(example_report()), to_gzip(example_report())]))
    assert len(two) == 2


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda r: r.update({"policies": "x"}), "policies"),
        (
            lambda r: r["policies"][0]["summary"].update({"total-failure-session-count": "303"}),
            "summary",
        ),
        (
            lambda r: r["policies"][0]["summary"].update({"total-failure-session-count": -1}),
            "summary",
        ),
        (lambda r: r.pop("report-id"), "report-id"),
        (lambda r: r["date-range"].update({"start-datetime": "yesterday"}), "date-range"),
    ],
)
def test_strict_shapes(mutate: object, reason: str) -> None:
    report = example_report()
    mutate(report)  # type: ignore[operator]
    with pytest.raises(TlsRptError, match=reason):
        parse_report_bytes(json.dumps(report).encode())


def test_bounded_against_bombs_and_junk() -> None:
    bomb = gzip.compress(b"{" + b" " * (MAX_JSON_BYTES + 10) + b"}")
    assert len(bomb) < 100_000
    with pytest.raises(TlsRptError, match="decompression bomb"):
        parse_report_bytes(bomb)
    with pytest.raises(TlsRptError, match="truncated"):
        inflate(to_gzip(example_report())[:-10])
    with pytest.raises(TlsRptError, match="no TLS-RPT report attached"):
        parse_report_bytes(b"Subject: hello\r\n\r\njust text\r\n")
    with pytest.raises(TlsRptError, match="not JSON"):
        parse_report_bytes(b"{" * 100_000)


def report_about(domain: str, mx: str) -> dict[str, object]:
    report = example_report(**{"report-id": f"r-{domain}"})
    policy = report["policies"][0]
    policy["policy"]["policy-domain"] = domain
    for detail in policy["failure-details"][:2]:
        detail["receiving-mx-hostname"] = mx
    return report


def test_import_summary_and_correlation(tmp_path: Path, lab_rounds: LabRounds) -> None:
    url = f"sqlite:///{tmp_path / 'h.sqlite3'}"
    store = open_store(url)
    store.call(lambda s: history.save_report(s, lab_rounds.before["expired.lab"]))
    store.close()
    files = []
    for i, data in enumerate(
        [
            to_gzip(report_about("expired.lab", "mx.expired.lab")),
            to_message([to_gzip(report_about("good.lab", "mx1.good.lab"))]),
            b"not a report",
        ]
    ):
        files.append(tmp_path / f"r{i}.bin")
        files[-1].write_bytes(data)
    runner = CliRunner()
    out = runner.invoke(tlsrpt, ["import", *map(str, files), "--db", url])
    assert out.exit_code == 2  # the third file is no report; the first two are stored
    assert "r-expired.lab: stored, 3 failure kind(s), 1 also seen by mxtls" in out.output
    assert "r-good.lab: stored, 3 failure kind(s), 0 also seen by mxtls" in out.output
    again = runner.invoke(tlsrpt, ["import", str(files[0]), "--db", url])
    assert again.exit_code == 0 and "already stored" in again.output

    summary = json.loads(
        runner.invoke(tlsrpt, ["summary", "expired.lab", "--db", url, "--json"]).output
    )
    (sts,) = summary["policies"]
    assert (sts["successful_sessions"], sts["failed_sessions"], sts["reports"]) == (5326, 303, 1)
    lines = {(r["result_type"], r["receiving_mx"]): r for r in sts["results"]}
    # the sender's certificate-expired and mxtls's own cert.expired: one incident
    assert lines[("certificate-expired", "mx.expired.lab")]["correlated_code"] == "cert.expired"
    assert lines[("starttls-not-supported", "mx.expired.lab")]["correlated_code"] is None
    text = runner.invoke(tlsrpt, ["summary", "expired.lab", "--db", url]).output
    assert "= mxtls cert.expired" in text and max(map(len, text.splitlines())) <= 80

    store = open_store(url)
    totals = {(t.policy_domain, t.policy_type): t for t in store.call(tlsrpt_store.totals)}
    store.close()
    assert totals[("expired.lab", "sts")].failed_by_result == {
        "certificate-expired": 100,
        "starttls-not-supported": 200,
        "validation-failure": 3,
    }
