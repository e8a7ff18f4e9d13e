"""lookup_tlsa with the real DNSSEC validator (net.dnssec) over signed loopback zones.

A parent zone ``dtest.`` (the trust anchor) delegates a signed child, an
unsigned child and a child whose data signatures are corrupted; each holds
an MX host with TLSA records computed from a lab certificate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import dns.name
import dns.zone
import pytest

from mxtls.checks.dane import check_dane
from mxtls.checks.dnssec import check_dnssec
from mxtls.config import CheckConfig, Timeouts
from mxtls.engine.derive import match_endpoints
from mxtls.lab.dns_server import DnsServer
from mxtls.lab.dnssec import DnssecMode, sign_lab
from mxtls.models.dane import DaneObservation
from mxtls.models.dnssec import DnssecStatus
from mxtls.net.dane import lookup_tlsa
from mxtls.net.dns import RunResolver
from mxtls.net.dnssec import DnssecProbe
from mxtls.protocol.tlsa import normalize_record
from mxtls.trust.anchors import TrustAnchor
from tests.dane_builders import CA, NOW, codes, ee, endpoint, ta

HOSTS = ["mx.signed.dtest", "mx.plain.dtest", "mx.broken.dtest", "nodane.signed.dtest"]
CERT = CA.issue(HOSTS, key_slot=9)  # names every MX host here, for DANE-TA(2)

PARENT = """
$TTL 300
@ SOA ns.dtest. hostmaster.dtest. 1 3600 600 86400 300
@ NS ns.dtest.
ns A 127.0.0.53
signed NS ns.dtest.
plain NS ns.dtest.
broken NS ns.dtest.
"""
CHILD = f"""
$TTL 300
@ SOA ns.dtest. hostmaster.dtest. 1 3600 600 86400 300
@ NS ns.dtest.
mx A 127.0.0.1
_25._tcp.mx TLSA {ee(CERT)}
_25._tcp.mx TLSA {ta(CERT)}
alias CNAME mx
nodane A 127.0.0.2
"""
MODES = {
    "signed.dtest.": DnssecMode.SIGNED,
    "plain.dtest.": DnssecMode.UNSIGNED,
    "broken.dtest.": DnssecMode.BOGUS,
}
TIMEOUT_S = 1.0


@dataclass
class World:
    resolver: RunResolver
    probe: DnssecProbe


@pytest.fixture
async def world() -> AsyncIterator[World]:
    parent = dns.zone.from_text(PARENT, "dtest.", relativize=False)
    children = {
        dns.name.from_text(origin): (dns.zone.from_text(CHILD, origin, relativize=False), mode)
        for origin, mode in MODES.items()
    }
    keys = sign_lab(parent, children, now=NOW, ttl=300)
    server = DnsServer([parent, *(zone for zone, _ in children.values())])
    address = await server.start("127.0.0.1", 0)
    config = CheckConfig(
        nameservers=(address,),
        now=NOW,
        dnssec_validate=True,
        timeouts=Timeouts(dns=TIMEOUT_S),
    )
    anchor = TrustAnchor(dns.name.from_text("dtest."), keys.parent.ds())
    try:
        yield World(
            RunResolver((address,), timeout=TIMEOUT_S), DnssecProbe(config, anchors=[anchor])
        )
    finally:
        await server.stop()


async def test_secure_tlsa(world: World) -> None:
    lookup = await lookup_tlsa("mx.signed.dtest", 25, world.resolver, world.probe)
    assert lookup.dnssec is not None, "the validator was asked"
    assert lookup.dnssec.status == "secure", lookup.dnssec.reason
    assert sorted(lookup.records) == sorted(
        [normalize_record(ee(CERT)), normalize_record(ta(CERT))]
    )


@pytest.mark.parametrize(
    ("host", "status"),
    [("mx.plain.dtest", "insecure"), ("mx.broken.dtest", "bogus")],
)
async def test_insecure_and_bogus_tlsa(world: World, host: str, status: DnssecStatus) -> None:
    lookup = await lookup_tlsa(host, 25, world.resolver, world.probe)
    assert lookup.dnssec is not None
    assert lookup.dnssec.status == status, lookup.dnssec.reason


async def test_secure_alias_is_expanded(world: World) -> None:
    lookup = await lookup_tlsa("alias.signed.dtest", 25, world.resolver, world.probe)
    assert lookup.followed_cname == "mx.signed.dtest"
    assert lookup.qname == "_25._tcp.mx.signed.dtest"
    assert len(lookup.records) == 2


async def test_secure_denial_of_tlsa(world: World) -> None:
    lookup = await lookup_tlsa("nodane.signed.dtest", 25, world.resolver, world.probe)
    assert lookup.records == [] and lookup.answer.status == "NXDOMAIN"
    assert lookup.dnssec is not None
    assert lookup.dnssec.status == "secure", lookup.dnssec.reason


async def test_verdicts_from_validated_lookups(world: World) -> None:
    hosts = HOSTS
    lookups = [await lookup_tlsa(h, 25, world.resolver, world.probe) for h in hosts]
    endpoints = [endpoint(CERT, host=h) for h in hosts]
    obs = DaneObservation(lookups=lookups, endpoints=match_endpoints(lookups, endpoints, NOW))
    mx_dnssec: dict[str, DnssecStatus] = {}
    for host in hosts:
        mx_dnssec[host] = (await world.probe.status(host, "A")).status
    assert mx_dnssec == {
        "mx.signed.dtest": "secure",
        "mx.plain.dtest": "insecure",
        "mx.broken.dtest": "bogus",
        "nodane.signed.dtest": "secure",
    }
    findings = check_dane(obs, mx_dnssec=mx_dnssec)
    # signed: EE + TA match (nothing to say); plain: records ignored; broken:
    # reported by the DNSSEC check (host bogus); nodane: signed, no TLSA.
    assert {(f.code, f.target) for f in findings} == {
        ("dane.insecure_tlsa", "mx.plain.dtest"),
        ("dane.missing", "nodane.signed.dtest"),
    }
    assert codes(findings) == {"dane.insecure_tlsa", "dane.missing"}
    # The bogus TLSA answer is the DNSSEC check's to report, from lookup.dnssec.
    tlsa_results = [lk.dnssec for lk in lookups if lk.dnssec is not None]
    bogus = [f for f in check_dnssec(tlsa_results, domain="dtest") if f.code == "dnssec.bogus"]
    assert [f.target for f in bogus] == ["mx.broken.dtest"]
