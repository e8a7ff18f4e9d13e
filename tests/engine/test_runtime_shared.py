"""One runtime, many checks: the per-address limit and the DNS answers hold across domains.

The lab serves a mail provider (``mx.shared.lab``, one address) and tenant
domains whose only MX is that host.  All tenants are checked at once through
one :class:`~mxtls.engine.runtime.Runtime`; the lab's own SMTP server counts
the connections open at once on its address, and the lab's DNS server counts
every question it was asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

import pytest

from mxtls.config import CheckConfig, Limits, Timeouts
from mxtls.engine.run import check_domain
from mxtls.engine.runtime import Runtime
from mxtls.lab.scenarios import SHARED_MX_HOST, shared_mx_scenarios
from mxtls.lab.world import Lab
from mxtls.models.report import Report

TENANTS = 16
MAX_CONNS = 2
DEEP_TENANTS = 3
CONNECTIONS_PER_CHECK = 2  # port 25 (the MX default) and the handshake without SNI


@pytest.fixture(scope="module")
def provider() -> Iterator[Lab]:
    with Lab(shared_mx_scenarios(TENANTS), ipv6=False) as lab:
        yield lab


def _config(lab: Lab) -> CheckConfig:
    return lab.check_config(
        limits=replace(Limits(), per_address_connections=MAX_CONNS),
        timeouts=Timeouts.uniform(4.0),
    )


def _tenants(lab: Lab) -> list[str]:
    return [d for d in lab.domains if d.startswith("tenant")]


def _codes(report: Report) -> set[tuple[str, str]]:
    """(code, target) with the tenant's own name taken out, to compare tenants."""
    return {(f.code, f.target.replace(report.domain, "TENANT")) for f in report.findings}


async def test_many_domains_on_one_mx_respect_the_limit_and_share_answers(provider: Lab) -> None:
    # Given: one runtime and every tenant, all on mx.shared.lab
    runtime = Runtime(_config(provider))
    tenants = _tenants(provider)
    address = provider.address(SHARED_MX_HOST)
    smtp, dns_server = provider.smtp_server, provider.dns_server
    accepted_before = sum(lst.connections for lst in smtp.listeners if lst.host == address)
    dns_server.clear_counts()

    # When: they are checked at once
    reports = await asyncio.gather(*(check_domain(d, runtime) for d in tenants))

    # Then, on the server side: never more than --max-conns open at once, and
    # the limit was reached (the checks did overlap)
    assert smtp.peak_by_address[address] == MAX_CONNS
    accepted = sum(lst.connections for lst in smtp.listeners if lst.host == address)
    assert accepted - accepted_before == CONNECTIONS_PER_CHECK * TENANTS
    # Every question was asked once: the shared host's records, its zone's and
    # lab.'s DNSSEC keys, and each tenant's own records.
    asked = dns_server.asked
    # (The resolver's liveness probe, ". NS", is no lookup and may repeat.)
    twice = {q: n for q, n in asked.items() if n > 1 and q[:2] != (".", "NS")}
    assert not twice, twice
    for rdtype in ("A", "CAA"):
        assert asked[(SHARED_MX_HOST, rdtype, False)] == 1
    assert asked[(f"_25._tcp.{SHARED_MX_HOST}", "TLSA", False)] == 1
    assert asked[("shared.lab", "DNSKEY", False)] == 1
    for domain in tenants:
        assert asked[(domain, "MX", False)] == 1
    # Sharing changes no finding: every tenant reports what one checked alone does.
    alone = await check_domain(tenants[0], _config(provider))
    assert all(_codes(r) == _codes(alone) for r in reports)
    assert all(not r.internal_errors for r in reports)


async def test_deep_scans_of_one_mx_share_its_slots(provider: Lab) -> None:
    # Given: the deep scan for a few tenants (dozens of connections each)
    runtime = Runtime(_config(provider))
    address = provider.address(SHARED_MX_HOST)
    provider.smtp_server.peak_by_address.pop(address, None)

    # When: they run at once, deep per call
    tenants = _tenants(provider)[:DEEP_TENANTS]
    reports = await asyncio.gather(*(check_domain(d, runtime, deep=True) for d in tenants))

    # Then: every deep scan ran to its end, within the same per-address slots
    scans = [scan for r in reports for scan in r.hosts[0].deep]
    assert len(scans) == DEEP_TENANTS  # port 25 (the MX default) of each tenant's check
    assert not any(scan.tls.throttled or scan.tls.untested for scan in scans)
    assert provider.smtp_server.peak_by_address[address] == MAX_CONNS
