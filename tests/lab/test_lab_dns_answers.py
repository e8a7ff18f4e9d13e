"""The lab's DNS data, asked with plain dnspython: each DNS scenario answers as built."""

from __future__ import annotations

import dns.exception
import dns.flags
import dns.rcode
import dns.rdatatype
import dns.resolver
import pytest

from mxtls.lab.world import Lab

from .lab_clients import query


def mx_targets(world: Lab, domain: str) -> list[tuple[int, str]]:
    r = query(world.nameserver, domain, "MX")
    assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA
    return sorted((rd.preference, str(rd.exchange)) for rd in r.answer[0])


def test_good_lab_mx_and_addresses(world: Lab) -> None:
    assert mx_targets(world, "good.lab") == [(10, "mx1.good.lab."), (20, "mx2.good.lab.")]
    r = query(world.nameserver, "mx1.good.lab", "A")
    assert [rd.address for rd in r.answer[0]] == [world.address("mx1.good.lab")]
    r = query(world.nameserver, "mx1.good.lab", "AAAA")
    if "::1" in world.addresses("mx1.good.lab"):
        assert [rd.address for rd in r.answer[0]] == ["::1"]
    else:
        print("no IPv6 loopback here, so no AAAA:", world.notes)
        assert r.rcode() == dns.rcode.NOERROR and not r.answer
    r = query(world.nameserver, "mx2.good.lab", "AAAA")  # NODATA
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert r.authority[0].rdtype == dns.rdatatype.SOA


def test_tls_rpt_caa_and_tlsa_records(world: Lab) -> None:
    r = query(world.nameserver, "_smtp._tls.good.lab", "TXT")
    assert b"".join(r.answer[0][0].strings).startswith(b"v=TLSRPTv1;")
    r = query(world.nameserver, "good.lab", "CAA")
    assert r.answer[0][0].tag == b"issue"
    r = query(world.nameserver, "nocaa.lab", "CAA")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    r = query(world.nameserver, "_25._tcp.tlsa.lab", "TLSA")
    rd = r.answer[0][0]
    assert (rd.usage, rd.selector, rd.mtype, len(rd.cert)) == (3, 1, 1, 32)


def test_nullmx_nomx_and_iplit(world: Lab) -> None:
    assert mx_targets(world, "nullmx.lab") == [(0, ".")]
    r = query(world.nameserver, "nomx.lab", "MX")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    r = query(world.nameserver, "nomx.lab", "A")
    assert [rd.address for rd in r.answer[0]] == [world.address("nomx.lab")]
    ((_, target),) = mx_targets(world, "iplit.lab")
    assert target == world.address("mx.iplit.lab") + "."


def test_cname_mx_target(world: Lab) -> None:
    assert mx_targets(world, "cname.lab") == [(10, "mx.cname.lab.")]
    r = query(world.nameserver, "mx.cname.lab", "A")
    assert [(str(rr.name), rr.rdtype) for rr in r.answer] == [
        ("mx.cname.lab.", dns.rdatatype.CNAME),
        ("real.cname.lab.", dns.rdatatype.A),
    ]
    assert r.answer[1][0].address == world.address("real.cname.lab")


def test_unresolvable_hosts_nxdomain_and_nodata(world: Lab) -> None:
    assert mx_targets(world, "unresolvable.lab") == [
        (10, "gone.unresolvable.lab."),
        (20, "empty.unresolvable.lab."),
    ]
    r = query(world.nameserver, "gone.unresolvable.lab", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN and r.authority[0].rdtype == dns.rdatatype.SOA
    for rdtype in ("A", "AAAA"):
        r = query(world.nameserver, "empty.unresolvable.lab", rdtype)
        assert r.rcode() == dns.rcode.NOERROR and not r.answer


def test_dns_faults(world: Lab) -> None:
    assert query(world.nameserver, "servfail.lab", "MX").rcode() == dns.rcode.SERVFAIL
    assert query(world.nameserver, "dnsrefused.lab", "MX").rcode() == dns.rcode.REFUSED
    with pytest.raises(dns.exception.Timeout):
        query(world.nameserver, "dnstimeout.lab", "MX", timeout=0.3)
    # The MX host of a failing domain itself resolves (only the domain's name fails).
    r = query(world.nameserver, "mx.servfail.lab", "A")
    assert r.answer[0][0].address == world.address("mx.servfail.lab")
    # Names outside .lab are not ours.
    assert query(world.nameserver, "example.com", "A").rcode() == dns.rcode.REFUSED
    assert query(world.nameserver, "nosuch.lab", "A").rcode() == dns.rcode.NXDOMAIN


def test_big_answer_is_truncated_over_udp_and_whole_over_tcp(world: Lab) -> None:
    r = query(world.nameserver, "big.lab", "TXT", use_edns=False)
    assert r.flags & dns.flags.TC
    r = query(world.nameserver, "big.lab", "TXT", use_edns=0)  # EDNS, 1232 bytes: still too big
    assert r.flags & dns.flags.TC
    r = query(world.nameserver, "big.lab", "TXT", tcp=True)
    assert not r.flags & dns.flags.TC and len(r.answer[0][0].strings) == 10
    # A stub resolver follows TC to TCP on the same port by itself.
    res = dns.resolver.Resolver(configure=False)
    res.nameservers = [world.nameserver[0]]
    res.port = world.nameserver[1]
    res.lifetime = 3
    answer = res.resolve("big.lab", "TXT")
    assert len(answer[0].strings) == 10


def test_every_scenario_zone_has_an_soa(world: Lab) -> None:
    for domain in world.domains:
        if world.scenario(domain).faults:
            continue
        r = query(world.nameserver, domain, "SOA", tcp=True)
        assert r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA, domain
        assert str(r.answer[0].name) == domain + "."
