"""TLS-RPT discovery against a real loopback DNS server, judged by ``check_tls_rpt``."""

from __future__ import annotations

import pytest

from mxtls.checks.tls_rpt import check_tls_rpt
from mxtls.lab.dns_server import DnsFault
from mxtls.net.https import observe_tls_rpt

from .policy_servers import DOMAIN, PolicyWorld

GOOD = (
    '_smtp._tls 300 IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example.lab,https://r.example.lab/v1"\n'
)


async def test_good_record(policy_world: PolicyWorld) -> None:
    await policy_world.dns(GOOD)
    obs = await observe_tls_rpt(DOMAIN + ".", policy_world.resolver())
    assert obs.domain == DOMAIN
    assert obs.record == "v=TLSRPTv1; rua=mailto:tlsrpt@example.lab,https://r.example.lab/v1"
    assert obs.rua == ["mailto:tlsrpt@example.lab", "https://r.example.lab/v1"]
    assert obs.errors == []
    assert check_tls_rpt(obs) == []


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        pytest.param("", {"tls_rpt.missing"}, id="missing"),
        pytest.param(
            '_smtp._tls 300 IN TXT "v=TLSRPTv1; rua=ftp://r.example.lab/"\n',
            {"tls_rpt.invalid"},
            id="bad-scheme",
        ),
        pytest.param(
            '_smtp._tls 300 IN TXT "v=TLSRPTv1; ruf=mailto:a@example.lab"\n',
            {"tls_rpt.invalid"},
            id="no-rua",
        ),
        pytest.param(
            GOOD + '_smtp._tls 300 IN TXT "v=TLSRPTv1; rua=mailto:other@example.lab"\n',
            {"tls_rpt.invalid"},
            id="two-records",
        ),
        pytest.param(
            '_smtp._tls 300 IN TXT "rua=mailto:tlsrpt@example.lab"\n',
            {"tls_rpt.invalid"},
            id="no-version",
        ),
        pytest.param(
            '_smtp._tls 300 IN TXT "v=TLSRPTv1; " "rua=mailto:tlsrpt@example.lab"\n',
            set(),
            id="split-strings",
        ),
    ],
)
async def test_record_cases(policy_world: PolicyWorld, records: str, expected: set[str]) -> None:
    await policy_world.dns(records)
    obs = await observe_tls_rpt(DOMAIN, policy_world.resolver())
    findings = check_tls_rpt(obs)
    assert {f.code for f in findings} == expected
    assert all(f.target == DOMAIN for f in findings)


async def test_two_records_are_both_recorded(policy_world: PolicyWorld) -> None:
    await policy_world.dns(GOOD + '_smtp._tls 300 IN TXT "v=TLSRPTv1; rua=mailto:x@example.lab"\n')
    obs = await observe_tls_rpt(DOMAIN, policy_world.resolver())
    assert len(obs.rpt_records) == 2
    assert obs.record is None and obs.rua == []


async def test_servfail_is_not_missing(policy_world: PolicyWorld) -> None:
    await policy_world.dns(GOOD, faults={f"_smtp._tls.{DOMAIN}.": DnsFault.SERVFAIL})
    obs = await observe_tls_rpt(DOMAIN, policy_world.resolver())
    assert obs.txt.failed
    assert check_tls_rpt(obs) == []
