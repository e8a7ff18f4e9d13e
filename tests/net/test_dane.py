"""lookup_tlsa against a real DNS server on loopback (mxtls.lab.dns_server).

The zone holds TLSA records computed from lab certificates, an MX host that
is a CNAME (with TLSA at both the alias and its target), a TLSA owner that is
itself a CNAME, a host without TLSA and names that SERVFAIL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import dns.name
import dns.zone
import pytest

from mxtls.checks.dane import check_dane
from mxtls.engine.derive import derive_dane, match_endpoints
from mxtls.engine.plan import ProbePlan
from mxtls.lab.dns_server import DnsFault, DnsServer
from mxtls.models.dane import DaneObservation
from mxtls.models.dnssec import DnssecResult, DnssecStatus
from mxtls.net.dane import lookup_host_tlsa, lookup_tlsa
from mxtls.net.dns import RunResolver
from mxtls.protocol.tlsa import normalize_record
from tests.bounds import bound
from tests.dane_builders import EC, EC_NEXT, HOST, NOW, RSA, codes, ee, endpoint, ta

ORIGIN = "dane.test."
ZONE = f"""
$TTL 300
@ SOA ns.dane.test. hostmaster.dane.test. 1 3600 600 86400 300
@ NS ns.dane.test.
ns A 127.0.0.53
mx1 A 127.0.0.1
_25._tcp.mx1 TLSA {ee(EC)}
_25._tcp.mx1 TLSA {ta(EC)}
_465._tcp.mx1 TLSA {ee(EC)}
alias CNAME real
real A 127.0.0.2
_25._tcp.real TLSA {ee(EC_NEXT)}
_25._tcp.alias TLSA {ee(RSA)}
alias2 CNAME real2
real2 A 127.0.0.3
_25._tcp.alias2 TLSA {ee(EC)}
alias3 CNAME real3
real3 A 127.0.0.4
_25._tcp.alias3 TLSA {ee(EC)}
cnamed A 127.0.0.5
_25._tcp.cnamed CNAME tlsa.pool
tlsa.pool TLSA {ta(EC)}
bare A 127.0.0.6
broken A 127.0.0.7
v6 AAAA ::1
v6alias CNAME v6
_25._tcp.v6 TLSA {ee(RSA)}
"""
FAULTS = {
    dns.name.from_text("_25._tcp.broken.dane.test"): DnsFault.SERVFAIL,
    dns.name.from_text("_25._tcp.real3.dane.test"): DnsFault.SERVFAIL,
}
LOOKUP_TIMEOUT_S = 1.0  # loopback answers in microseconds; a hang must fail fast


@pytest.fixture
async def resolver() -> AsyncIterator[RunResolver]:
    server = DnsServer([dns.zone.from_text(ZONE, ORIGIN, relativize=False)], faults=FAULTS)
    address = await server.start("127.0.0.1", 0)
    try:
        yield RunResolver((address,), timeout=LOOKUP_TIMEOUT_S)
    finally:
        await server.stop()


class StaticValidator:
    """A DNSSEC validator that returns fixed statuses.

    The zone above is unsigned, so no validator could call any of it secure;
    this stand-in gives the statuses a validator would give a signed zone, to
    exercise the lookup order that depends on them.  Validation itself is
    tested with ``net.dnssec``.
    """

    def __init__(self, statuses: dict[tuple[str, str], DnssecStatus] | None = None) -> None:
        self.statuses = statuses or {}
        self.asked: list[tuple[str, str]] = []

    async def status(self, qname: str, rdtype: str) -> DnssecResult:
        self.asked.append((qname, rdtype))
        status = self.statuses.get((qname, rdtype), "secure")
        return DnssecResult(qname=qname, rdtype=rdtype, status=status, mode="validate")


class SilentValidator:
    """A validator that never answers (its upstream is a tarpit)."""

    async def status(self, qname: str, rdtype: str) -> DnssecResult:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


# ------------------------------------------------------------ without a validator


async def test_plain_host(resolver: RunResolver) -> None:
    lookup = await lookup_tlsa("MX1.dane.test.", 25, resolver, None)
    assert lookup.host == HOST
    assert lookup.qname == "_25._tcp.mx1.dane.test"
    assert lookup.base_domain == HOST
    assert lookup.answer.status == "NOERROR"
    assert sorted(lookup.records) == sorted([normalize_record(ee(EC)), normalize_record(ta(EC))])
    assert lookup.dnssec is None
    assert lookup.followed_cname is None and lookup.host_cname is None
    assert lookup.attempts == []


async def test_submission_port(resolver: RunResolver) -> None:
    lookup = await lookup_tlsa(HOST, 465, resolver, None)
    assert lookup.qname == "_465._tcp.mx1.dane.test"
    assert lookup.records == [normalize_record(ee(EC))]
    none = await lookup_tlsa(HOST, 587, resolver, None)
    assert none.records == [] and none.answer.status == "NXDOMAIN"


async def test_cname_host_without_validator_uses_the_original_name(
    resolver: RunResolver,
) -> None:
    # Without DNSSEC proof that the CNAME is secure, the expansion is not used.
    lookup = await lookup_tlsa("alias.dane.test", 25, resolver, None)
    assert lookup.host_cname == "real.dane.test"
    assert lookup.followed_cname is None
    assert lookup.qname == "_25._tcp.alias.dane.test"
    assert lookup.records == [normalize_record(ee(RSA))]


async def test_tlsa_owner_behind_a_cname(resolver: RunResolver) -> None:
    lookup = await lookup_tlsa("cnamed.dane.test", 25, resolver, None)
    assert lookup.qname == "_25._tcp.cnamed.dane.test"
    assert lookup.answer.cname_chain == ["tlsa.pool.dane.test"]
    assert lookup.records == [normalize_record(ta(EC))]


async def test_no_tlsa_and_servfail_are_told_apart(resolver: RunResolver) -> None:
    bare = await lookup_tlsa("bare.dane.test", 25, resolver, None)
    assert bare.records == [] and bare.answer.status == "NXDOMAIN" and not bare.answer.failed
    broken = await lookup_tlsa("broken.dane.test", 25, resolver, None)
    assert broken.records == [] and broken.answer.status == "SERVFAIL" and broken.answer.failed


# --------------------------------------------------------------- with a validator


async def test_secure_cname_uses_the_expanded_name_first(resolver: RunResolver) -> None:
    validator = StaticValidator()
    lookup = await lookup_tlsa("alias.dane.test", 25, resolver, validator)
    assert lookup.followed_cname == "real.dane.test"
    assert lookup.base_domain == "real.dane.test"
    assert lookup.qname == "_25._tcp.real.dane.test"
    assert lookup.records == [normalize_record(ee(EC_NEXT))]
    assert lookup.dnssec is not None and lookup.dnssec.status == "secure"
    assert ("alias.dane.test", "A") in validator.asked
    assert ("_25._tcp.real.dane.test", "TLSA") in validator.asked


async def test_expanded_name_without_tlsa_falls_back_to_the_original(
    resolver: RunResolver,
) -> None:
    lookup = await lookup_tlsa("alias2.dane.test", 25, resolver, StaticValidator())
    assert lookup.host_cname == "real2.dane.test"
    assert lookup.followed_cname is None
    assert lookup.qname == "_25._tcp.alias2.dane.test"
    assert lookup.records == [normalize_record(ee(EC))]
    assert [a.qname for a in lookup.attempts] == ["_25._tcp.real2.dane.test"]


async def test_insecure_records_at_the_expanded_name_are_not_used(
    resolver: RunResolver,
) -> None:
    validator = StaticValidator({("_25._tcp.real.dane.test", "TLSA"): "insecure"})
    lookup = await lookup_tlsa("alias.dane.test", 25, resolver, validator)
    assert lookup.qname == "_25._tcp.alias.dane.test"
    assert lookup.records == [normalize_record(ee(RSA))]
    assert [a.qname for a in lookup.attempts] == ["_25._tcp.real.dane.test"]


async def test_insecure_cname_is_not_expanded(resolver: RunResolver) -> None:
    validator = StaticValidator({("alias.dane.test", "A"): "insecure"})
    lookup = await lookup_tlsa("alias.dane.test", 25, resolver, validator)
    assert lookup.followed_cname is None
    assert lookup.qname == "_25._tcp.alias.dane.test"
    assert lookup.attempts == []


async def test_failure_at_the_expanded_name_is_final(resolver: RunResolver) -> None:
    # _25._tcp.alias3 has records, but a client must not fall back past a SERVFAIL.
    lookup = await lookup_tlsa("alias3.dane.test", 25, resolver, StaticValidator())
    assert lookup.qname == "_25._tcp.real3.dane.test"
    assert lookup.answer.failed
    assert lookup.records == []


async def test_ipv6_only_alias(resolver: RunResolver) -> None:
    lookup = await lookup_tlsa("v6alias.dane.test", 25, resolver, StaticValidator())
    assert lookup.host_cname == "v6.dane.test"
    assert lookup.qname == "_25._tcp.v6.dane.test"
    assert lookup.records == [normalize_record(ee(RSA))]


async def test_validator_that_hangs_is_bounded(resolver: RunResolver) -> None:
    started = time.perf_counter()
    lookup = await lookup_tlsa(HOST, 25, resolver, SilentValidator(), dnssec_timeout=0.2)
    assert time.perf_counter() - started < bound(0.2)  # the validator never answers
    assert lookup.dnssec is not None and lookup.dnssec.status == "indeterminate"
    assert len(lookup.records) == 2


# ---------------------------------------------------------------- lookup to verdict


async def test_lookup_match_and_check(resolver: RunResolver) -> None:
    # Given the published records and servers presenting these chains
    lookups = [
        await lookup_tlsa(HOST, 25, resolver, StaticValidator()),
        await lookup_tlsa("alias.dane.test", 25, resolver, StaticValidator()),
        await lookup_tlsa("bare.dane.test", 25, resolver, StaticValidator()),
    ]
    endpoints = [
        endpoint(EC),
        endpoint(EC, host="alias.dane.test", ip="127.0.0.2"),
        endpoint(EC, host="bare.dane.test", ip="127.0.0.6"),
    ]
    # When matched and judged
    obs = DaneObservation(lookups=lookups, endpoints=match_endpoints(lookups, endpoints, NOW))
    findings = check_dane(
        obs,
        mx_dnssec={HOST: "secure", "alias.dane.test": "secure", "bare.dane.test": "secure"},
    )
    # Then mx1 is fine, the alias's expanded record pins another key, bare has none
    assert {(f.code, f.target.split("[")[0]) for f in findings} == {
        ("dane.mismatch", "alias.dane.test"),
        ("dane.missing", "bare.dane.test"),
    }
    assert codes(findings) == {"dane.mismatch", "dane.missing"}
    # The result round-trips through JSON, as the report carries it.
    assert DaneObservation.model_validate_json(obs.model_dump_json()) == obs


async def test_host_lookups_cover_port_25_and_probed_ports(resolver: RunResolver) -> None:
    # Given: the lookups of two hosts, as the engine makes them, and the endpoints
    lookups = [
        *await lookup_host_tlsa(
            HOST, ProbePlan.mx((465, 587, 25)).tlsa_lookups(), resolver, StaticValidator()
        ),
        *await lookup_host_tlsa(
            "bare.dane.test.", ProbePlan.mx(()).tlsa_lookups(), resolver, StaticValidator()
        ),
    ]
    endpoints = [endpoint(EC), endpoint(EC, port=465), endpoint(None, port=587)]
    # When: matched (a derived fact, no I/O)
    obs = derive_dane(lookups, endpoints, [], NOW)
    # Then
    assert [lk.port for lk in lookups[:3]] == [25, 465, 587]  # port 25 first, each port once
    assert sorted((lk.host, lk.port, len(lk.records)) for lk in obs.lookups) == [
        ("bare.dane.test", 25, 0),
        (HOST, 25, 2),
        (HOST, 465, 1),
        (HOST, 587, 0),
    ]
    assert [(r.port, r.authenticated) for r in obs.endpoints] == [(25, True), (465, True)]
    # Port 25 has EE + TA (a rollover scheme); 465 a single EE; bare.dane.test none.
    findings = check_dane(obs, mx_dnssec={HOST: "secure", "bare.dane.test": "secure"})
    assert sorted((f.code, f.target) for f in findings) == [
        ("dane.missing", "bare.dane.test"),
        ("dane.no_rollover", HOST),
    ]
    [rollover] = [f for f in findings if f.code == "dane.no_rollover"]
    assert "_465._tcp" in rollover.message
