"""Every lab scenario, checked end to end against real servers on loopback.

Given the lab world (DNS, SMTP, a throwaway CA), when mxtls checks a lab
domain, then every code the scenario is built to produce is reported, and
nothing outside the scenario's allowed set (expected, tolerated second
symptoms, background codes) appears.
The last test proves that every code of the core catalog sections is
produced by at least one real server.
"""

from __future__ import annotations

import pytest

from mxtls.config import CheckConfig
from mxtls.engine.run import check_domain
from mxtls.lab.scenarios import SCENARIOS
from mxtls.lab.world import Lab
from mxtls.models.findings import Severity
from mxtls.models.report import Report

# Sections of docs/findings.md whose every code must come from a lab server.
# The TLS protocol/cipher codes and starttls.injection need peers that only
# the deep-scan tests run (legacy Postfix, record-level doubles: tests/scan);
# cert.revoked comes only from a stapled OCSP response (tests/checks/test_judge_deep.py).
REQUIRED_SECTIONS = (
    "DNS and MX discovery",
    "SMTP dialogue",
    "Certificate",
    "MTA-STS (RFC 8461)",
    "TLS-RPT (RFC 8460)",
    "DNSSEC and DANE (RFC 7672, RFC 7671)",
    "Delivery verdict",
)
NOT_YET_REQUIRED = {"starttls.injection", "cert.revoked"}
# An MX host's closed 465/587 shows only with --ports 25,465,587: test_ports_beyond_25.
NOT_YET_REQUIRED |= {"smtp.port_closed"}
# Only with the user's credentials (--auth-user, --auth-check-plaintext): produced by
# tests/net/test_smtp_auth.py against Postfix authenticating through Dovecot SASL.
NOT_YET_REQUIRED |= {"auth.failed", "auth.plaintext_accepted"}


@pytest.mark.parametrize("domain", [s.domain for s in SCENARIOS])
def test_scenario_findings(domain: str, lab: Lab, lab_reports: dict[str, Report]) -> None:
    scenario = lab.scenario(domain)
    report = lab_reports[domain]
    found = {f.code for f in report.findings}
    assert not report.internal_errors
    assert set(scenario.expected) <= found, [f.model_dump() for f in report.findings]
    assert found <= set(scenario.allowed), [f.model_dump() for f in report.findings]


def test_good_domain_is_clean(lab_reports: dict[str, Report]) -> None:
    report = lab_reports["good.lab"]
    assert [f for f in report.findings if f.severity != Severity.INFO] == []
    # Every address of both MX hosts, on port 25 only (the relay path).
    assert report.summary.endpoints == sum(len(h.addresses) for h in report.hosts) >= 2
    assert report.summary.endpoints == report.summary.endpoints_with_tls


def test_endpoints_report_every_address_on_port_25(lab_reports: dict[str, Report]) -> None:
    report = lab_reports["good.lab"]
    for host in report.hosts:
        seen = {(ep.ip, ep.port) for ep in host.endpoints}
        assert seen == {(ip, 25) for ip in host.addresses}
        for ep in host.endpoints:
            assert ep.role == "mx" and not ep.optional
            assert ep.timings_ms.get("total", 0) > 0
            assert ep.handshake is not None and len(ep.handshake.chain) == 2
            assert ep.ehlo is not None and "STARTTLS" in ep.ehlo.capabilities
            assert ep.ehlo_tls is not None


async def test_ports_beyond_25_on_a_domain_whose_second_mx_serves_only_25(
    lab: Lab, lab_cfg: CheckConfig
) -> None:
    # Given good.lab, whose second MX listens on 25 only (as big providers' MX hosts),
    # when every MX host is probed on 25, 465 and 587,
    report = await check_domain("good.lab", lab_cfg, ports=(25, 465, 587))
    # then every port is probed on every address, the first MX answers on all three,
    mx1, mx2 = report.hosts
    assert {ep.port for ep in mx1.endpoints} == {25, 465, 587}
    assert all(ep.handshake is not None for ep in mx1.endpoints)
    # and the second MX's closed 465/587 are facts, not faults: info, exit 0.
    closed = {f.target for f in report.findings if f.code == "smtp.port_closed"}
    ip2 = mx2.addresses[0]
    assert closed == {f"mx2.good.lab[{ip2}]:465", f"mx2.good.lab[{ip2}]:587"}
    assert [f for f in report.findings if f.severity != Severity.INFO] == []
    assert not report.fails(Severity.ERROR)
    assert {s.sender: s.outcome for s in report.verdict.senders}["opportunistic"] == "delivers"


async def test_five_mx_domain_only_first_serves_submission_ports(
    lab: Lab, lab_cfg: CheckConfig
) -> None:
    default = await check_domain("fivemx.lab", lab_cfg)
    assert [f for f in default.findings if f.severity != Severity.INFO] == []
    assert {ep.port for h in default.hosts for ep in h.endpoints} == {25}
    wide = await check_domain("fivemx.lab", lab_cfg, ports=(25, 465, 587))
    closed = {f.target.split("[")[0] for f in wide.findings if f.code == "smtp.port_closed"}
    assert closed == {f"mx{i}.fivemx.lab" for i in (2, 3, 4, 5)}
    assert [f for f in wide.findings if f.severity != Severity.INFO] == []


def test_srv_advertised_submission_is_probed_as_submission(
    lab_reports: dict[str, Report],
) -> None:
    report = lab_reports["submit.lab"]
    # The MX on 25 only; the submission host only where SRV points, each port in its mode.
    assert [h.name for h in report.hosts] == ["mx.submit.lab"]
    assert {ep.port for ep in report.hosts[0].endpoints} == {25}
    assert report.submission is not None
    assert {(t.service, t.port, t.target) for t in report.submission.targets} == {
        ("submissions", 465, "smtp.submit.lab"),
        ("submission", 587, "smtp.submit.lab"),
    }
    (host,) = report.submission.hosts
    modes = {ep.port: (ep.tls_mode, ep.role) for ep in host.endpoints}
    assert modes == {465: ("implicit", "submission"), 587: ("starttls", "submission")}
    for ep in host.endpoints:
        # AUTH only once TLS is on (RFC 8314 §3): none in clear, offered inside TLS.
        assert ep.ehlo_tls is not None and "AUTH" in ep.ehlo_tls.capabilities
        assert ep.ehlo is None or "AUTH" not in ep.ehlo.capabilities
    assert report.findings == [f for f in report.findings if f.severity == Severity.INFO]
    assert "submission.not_advertised" not in {f.code for f in report.findings}
    # The verdict is about the relay path only.
    assert all(m.host == "mx.submit.lab" for s in report.verdict.senders for m in s.mx)


def test_no_srv_means_no_submission_guessed(lab_reports: dict[str, Report]) -> None:
    report = lab_reports["good.lab"]
    assert report.submission is not None and report.submission.hosts == []
    (finding,) = [f for f in report.findings if f.code == "submission.not_advertised"]
    assert finding.target == "good.lab" and finding.severity is Severity.INFO
    dot = lab_reports["nosubmit.lab"]
    assert dot.submission is not None and {t.target for t in dot.submission.targets} == {"."}
    assert "not offered" in next(
        f.message for f in dot.findings if f.code == "submission.not_advertised"
    )


def test_provider_mx_with_many_addresses_and_a_wildcard(lab_reports: dict[str, Report]) -> None:
    report = lab_reports["bigmail.lab"]
    (host,) = report.hosts
    v6 = [ip for ip in host.addresses if ":" in ip]
    assert len(host.addresses) == 5 and len(v6) == 2
    assert {ep.ip for ep in host.endpoints} == set(host.addresses)
    assert all(ep.handshake is not None for ep in host.endpoints)
    sans = {tuple(ep.handshake.chain[0].sans) for ep in host.endpoints if ep.handshake}
    assert sans == {("*.in.bigmail.lab",)}
    assert [f for f in report.findings if f.severity != Severity.INFO] == []


def test_one_address_with_starttls_on_some_connections_only(
    lab_reports: dict[str, Report],
) -> None:
    # One address, two connections (with and without SNI): the pool disagrees.
    report = lab_reports["lbpool.lab"]
    (finding,) = [f for f in report.findings if f.code == "starttls.inconsistent"]
    assert finding.target == "mx.lbpool.lab" and "(no SNI)" in finding.message
