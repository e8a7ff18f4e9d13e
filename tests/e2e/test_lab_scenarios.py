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

from mxtls.checks.codes import CODES
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
# Produced once the engine probes MX hosts on port 25 only and reads RFC 6186 SRV.
NOT_YET_REQUIRED |= {"smtp.port_closed", "submission.not_advertised"}
# Only with the user's credentials (--auth-user, --auth-check-plaintext): produced by
# tests/net/test_smtp_auth.py against Postfix authenticating through Dovecot SASL.
NOT_YET_REQUIRED |= {"auth.failed", "auth.plaintext_accepted"}
# Reverse DNS is judged once the engine looks up PTR records (tests/net/test_ptr.py meanwhile).
NOT_YET_REQUIRED |= {"ptr.missing", "ptr.mismatch", "ptr.name_differs"}


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
    assert report.summary.endpoints >= 6
    assert report.summary.endpoints == report.summary.endpoints_with_tls


def test_every_core_code_is_produced_by_a_real_server(lab_reports: dict[str, Report]) -> None:
    produced = {f.code for r in lab_reports.values() for f in r.findings}
    required = {c.code for c in CODES.values() if c.section in REQUIRED_SECTIONS}
    missing = required - NOT_YET_REQUIRED - produced
    assert not missing, f"no lab scenario produces {sorted(missing)}"


def test_endpoints_report_every_address_and_port(lab_reports: dict[str, Report]) -> None:
    report = lab_reports["good.lab"]
    for host in report.hosts:
        seen = {(ep.ip, ep.port) for ep in host.endpoints}
        assert seen == {(ip, p) for ip in host.addresses for p in (25, 465, 587)}
        for ep in host.endpoints:
            assert ep.timings_ms.get("total", 0) > 0
            assert ep.handshake is not None and len(ep.handshake.chain) == 2
            if ep.port != 465:
                assert ep.ehlo is not None and "STARTTLS" in ep.ehlo.capabilities
                assert ep.ehlo_tls is not None
