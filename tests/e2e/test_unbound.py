"""The AD-bit path end to end: mxtls behind a real validating resolver (Debian's unbound).

Given the shared lab and a private unbound on loopback that sends every lab
zone to the lab's DNS server and validates from the lab's trust anchor, when
mxtls checks lab domains in AD mode (``dnssec_validate=False``: it trusts the
resolver's AD bit and validates nothing itself), then signed domains come out
secure and DANE applies, a TLSA mismatch is caught, a bogus zone is refused
and an unsigned one is reported unsigned, as the in-process validator does.

The last tests show why AD mode needs a validating resolver: the lab's own
server is authoritative only and passes bogus data through without AD, so in
AD mode ``bogus.lab`` merely looks unsigned, while ``--dnssec-validate`` from
the lab's trust anchor reports it bogus.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from mxtls.config import CheckConfig, Timeouts
from mxtls.engine.run import check_domain
from mxtls.lab.world import REVERSE_ZONE, Lab
from mxtls.models.findings import Severity
from mxtls.models.report import Report
from mxtls.net.dnssec import DnssecProbe
from mxtls.testing.unbound import UnboundInstance
from tests.peers import require_peer

AVAILABLE, WHY_NOT = UnboundInstance.available()
TIMEOUT_S = 2.0  # every network step; all peers are on loopback
SUBPROCESS_TIMEOUT_S = 60.0
AD_DOMAINS = ("secure.lab", "dane-mismatch.lab", "bogus.lab", "good.lab")

needs_unbound = pytest.mark.unbound


@pytest.fixture(scope="module")
def unbound(lab: Lab) -> Iterator[UnboundInstance]:
    require_peer("unbound", AVAILABLE, WHY_NOT)
    # Every served zone is a stub, children included: their NS is ns.lab
    # (127.0.0.1 port 53), where no lab server listens.
    zones = ["lab.", REVERSE_ZONE, *(f"{domain}." for domain in lab.domains)]
    with UnboundInstance(lab.nameserver, zones=zones, trust_anchor_file=lab.trust_anchor) as ub:
        yield ub


@pytest.fixture(scope="module")
def ad_config(lab: Lab, unbound: UnboundInstance) -> CheckConfig:
    """The lab's ports and CA, but every lookup through unbound, trusting its AD bit."""
    return lab.check_config(
        nameservers=(unbound.address,),
        dnssec_validate=False,
        trust_anchor=None,
        timeouts=Timeouts.uniform(TIMEOUT_S),
    )


@pytest.fixture(scope="module")
def ad_reports(ad_config: CheckConfig) -> dict[str, Report]:
    async def run_all() -> list[Report]:
        return await asyncio.gather(*(check_domain(d, ad_config) for d in AD_DOMAINS))

    return dict(zip(AD_DOMAINS, asyncio.run(run_all(), debug=True), strict=True))


def _codes(report: Report) -> set[str]:
    return {f.code for f in report.findings}


@needs_unbound
@pytest.mark.parametrize("domain", ["secure.lab", "dane-mismatch.lab", "good.lab"])
def test_ad_mode_meets_the_scenario(lab: Lab, ad_reports: dict[str, Report], domain: str) -> None:
    # The same contract as in-process validation (tests/e2e/test_lab_scenarios.py).
    scenario = lab.scenario(domain)
    report = ad_reports[domain]
    found = _codes(report)
    assert not report.internal_errors
    assert report.settings.dnssec_mode == "ad"
    assert set(scenario.expected) <= found, [f.model_dump() for f in report.findings]
    assert found <= set(scenario.allowed), [f.model_dump() for f in report.findings]


@needs_unbound
def test_secure_domain_gets_dane_through_the_ad_bit(ad_reports: dict[str, Report]) -> None:
    report = ad_reports["secure.lab"]
    # Then nothing is wrong
    assert [f.model_dump() for f in report.findings if f.severity != Severity.INFO] == []
    # and the resolver vouched for the answers: AD on the MX answer, every status secure in AD mode
    assert report.mx.ad
    assert report.dnssec and {(r.status, r.mode) for r in report.dnssec} == {("secure", "ad")}
    # and DANE applies: the TLSA lookups are secure and every port-25 endpoint is authenticated
    assert report.dane is not None
    tlsa_25 = [lk for lk in report.dane.lookups if lk.port == 25]
    assert tlsa_25 and all(lk.records for lk in tlsa_25)
    assert all(lk.dnssec is not None and lk.dnssec.secure for lk in tlsa_25)
    dane_25 = [ep for ep in report.dane.endpoints if ep.port == 25]
    assert dane_25 and all(ep.authenticated for ep in dane_25)
    senders = {s.sender: s for s in report.verdict.senders}
    assert senders["dane"].applies and senders["dane"].outcome == "delivers"


@needs_unbound
def test_tlsa_mismatch_is_caught_through_the_ad_bit(ad_reports: dict[str, Report]) -> None:
    report = ad_reports["dane-mismatch.lab"]
    assert {"dane.mismatch", "delivery.strict_senders_fail"} <= _codes(report)
    assert {(r.status, r.mode) for r in report.dnssec} == {("secure", "ad")}
    senders = {s.sender: s.outcome for s in report.verdict.senders}
    assert senders["dane"] == "refuses"


@needs_unbound
def test_unsigned_domain_is_reported_unsigned(ad_reports: dict[str, Report]) -> None:
    report = ad_reports["good.lab"]
    # No AD from a validating resolver: the data is not signed, DANE cannot apply.
    assert not report.mx.ad
    unsigned = {f.target for f in report.findings if f.code == "dnssec.unsigned"}
    assert unsigned == {"good.lab", "mx1.good.lab", "mx2.good.lab"}
    assert {(r.status, r.mode) for r in report.dnssec} == {("insecure", "ad")}
    assert [f.model_dump() for f in report.findings if f.severity != Severity.INFO] == []


@needs_unbound
async def test_bogus_zone_is_refused_and_classified_bogus(
    ad_reports: dict[str, Report], ad_config: CheckConfig
) -> None:
    # A validating resolver refuses bogus data (SERVFAIL): mxtls cannot even
    # learn the MX set, so nothing is probed and the report fails.
    report = ad_reports["bogus.lab"]
    assert report.mx.status == "SERVFAIL"
    assert "dns.error" in _codes(report)
    assert report.hosts == [] and report.summary.errors >= 1
    # Asked again with CD=1 the resolver hands the data over: the AD-mode probe
    # tells a bogus answer from a broken server.
    result = await DnssecProbe(ad_config).status("bogus.lab", "MX")
    assert (result.status, result.mode) == ("bogus", "ad"), result.reason


@needs_unbound
def test_bogus_zone_is_reported_bogus_in_ad_mode(ad_reports: dict[str, Report]) -> None:
    assert "dnssec.bogus" in _codes(ad_reports["bogus.lab"])


@needs_unbound
def test_bogus_mx_answer_gets_a_verdict_validating_senders_defer(
    ad_reports: dict[str, Report],
) -> None:
    # Given a validating resolver that refuses the bogus MX RRset (no MX set to probe),
    report = ad_reports["bogus.lab"]
    assert report.hosts == []
    # then the verdict still speaks: every validating sender (every DANE sender) defers,
    senders = {s.sender: s for s in report.verdict.senders}
    assert senders["dane"].applies and senders["dane"].outcome == "refuses"
    assert "DNSSEC-bogus" in senders["dane"].summary
    assert "DNSSEC-bogus" in senders["opportunistic"].summary
    # and strict senders failing is an error finding on the domain.
    strict = [f for f in report.findings if f.code == "delivery.strict_senders_fail"]
    assert [f.target for f in strict] == ["bogus.lab"] and "validating" in strict[0].message


# -- AD mode needs a validating resolver: the lab's plain server as the contrast --------


def _cli_check(domain: str, *flags: str) -> tuple[int, dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "mxtls", "check", domain, "--json", *flags],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return proc.returncode, report


def _findings(report: dict[str, Any]) -> dict[str, set[str]]:
    """code -> targets."""
    out: dict[str, set[str]] = {}
    for finding in report["findings"]:
        out.setdefault(finding["code"], set()).add(finding["target"])
    return out


def test_plain_server_hides_bogus_in_ad_mode_but_validation_catches_it(lab: Lab) -> None:
    flags = [*lab.cli_args(), "--timeout", str(TIMEOUT_S)]
    # Given the lab's authoritative server, which never validates and never sets AD,
    # when mxtls trusts the AD bit, then the bogus zone merely looks unsigned
    status, ad = _cli_check("bogus.lab", *flags)
    found = _findings(ad)
    assert ad["settings"]["dnssec_mode"] == "ad"
    assert "dnssec.bogus" not in found
    assert found["dnssec.unsigned"] == {"bogus.lab", "mx.bogus.lab"}
    assert {(r["status"], r["mode"]) for r in ad["dnssec"]} == {("insecure", "ad")}
    assert status == 0  # nothing at error level: the forgery went unnoticed
    # when mxtls validates from the lab's trust anchor itself, then it is bogus
    status, checked = _cli_check(
        "bogus.lab", *flags, "--dnssec-validate", "--trust-anchor", str(lab.trust_anchor)
    )
    found = _findings(checked)
    assert checked["settings"]["dnssec_mode"] == "validate"
    assert found["dnssec.bogus"] == {"bogus.lab", "mx.bogus.lab"}
    assert "dnssec.unsigned" not in found
    assert status == 1


@needs_unbound
def test_validating_resolver_makes_ad_mode_fail_closed(lab: Lab, unbound: UnboundInstance) -> None:
    # The same CLI in AD mode, but through unbound: the bogus zone no longer passes.
    ip, port = unbound.address
    flags = ["--nameserver", f"{ip}:{port}", "--ca-file", str(lab.ca_file)]
    flags += [arg for a, b in sorted(lab.port_map.items()) for arg in ("--port-map", f"{a}:{b}")]
    status, report = _cli_check("bogus.lab", *flags, "--timeout", str(TIMEOUT_S))
    assert report["settings"]["dnssec_mode"] == "ad"
    assert "dnssec.unsigned" not in _findings(report)
    assert status == 1
