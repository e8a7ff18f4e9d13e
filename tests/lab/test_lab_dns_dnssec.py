"""The lab DNS server's DNSSEC side: DS from the parent, signed denials, referrals, CD/AD."""

from __future__ import annotations

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest

from mxtls.lab.dns_server import DnsServer
from tests.dnssec_hierarchy import Hierarchy

N = dns.name.from_text


@pytest.fixture(scope="module")
def server(hierarchy: Hierarchy) -> DnsServer:
    return DnsServer(hierarchy.zones.values())  # the pure answer() needs no socket


def ask(
    server: DnsServer, qname: str, rdtype: str, *, do: bool = True, flags: int = 0
) -> dns.message.Message:
    query = dns.message.make_query(qname, rdtype, want_dnssec=do)
    query.flags |= flags
    response = server.answer(query)
    assert response is not None
    return response


def rrsets(section: list[dns.rrset.RRset], rdtype: int) -> list[dns.rrset.RRset]:
    return [r for r in section if r.rdtype == rdtype]


def validate_section(section: list[dns.rrset.RRset], hierarchy: Hierarchy, zone: str) -> None:
    """Every non-RRSIG RRset of the section validates with the zone's DNSKEY."""
    keys = hierarchy.zones[zone].get_rdataset(N(zone + "."), dns.rdatatype.DNSKEY)
    assert keys is not None
    for rrset in section:
        if rrset.rdtype == dns.rdatatype.RRSIG:
            continue
        sigs = [
            r
            for r in section
            if r.rdtype == dns.rdatatype.RRSIG and r.covers == rrset.rdtype and r.name == rrset.name
        ]
        assert sigs, f"no RRSIG for {rrset.name} {rrset.rdtype}"
        dns.dnssec.validate(rrset, sigs[0], {N(zone + "."): keys})


def test_ds_is_answered_from_the_parent_and_dnskey_from_the_child(
    server: DnsServer, hierarchy: Hierarchy
) -> None:
    ds = ask(server, "good.lab", "DS")
    assert ds.flags & dns.flags.AA and ds.rcode() == dns.rcode.NOERROR
    (sig,) = rrsets(ds.answer, dns.rdatatype.RRSIG)
    assert sig[0].signer == N("lab.")
    validate_section(ds.answer, hierarchy, "lab")
    dnskey = ask(server, "good.lab", "DNSKEY")
    (sig,) = rrsets(dnskey.answer, dns.rdatatype.RRSIG)
    assert sig[0].signer == N("good.lab.")


def test_no_ds_is_a_signed_nodata_from_the_parent(server: DnsServer, hierarchy: Hierarchy) -> None:
    response = ask(server, "plain.lab", "DS")
    assert response.rcode() == dns.rcode.NOERROR and not response.answer
    (soa,) = rrsets(response.authority, dns.rdatatype.SOA)
    assert soa.name == N("lab.")
    (nsec,) = rrsets(response.authority, dns.rdatatype.NSEC)
    assert nsec.name == N("plain.lab.")
    types = set(nsec[0].to_text().split()[1:])  # "next. NS RRSIG NSEC"
    assert "NS" in types and "DS" not in types  # a delegation without DS
    validate_section(response.authority, hierarchy, "lab")


def test_nxdomain_carries_name_and_wildcard_proofs(server: DnsServer, hierarchy: Hierarchy) -> None:
    response = ask(server, "nope.good.lab", "A")
    assert response.rcode() == dns.rcode.NXDOMAIN
    nsecs = rrsets(response.authority, dns.rdatatype.NSEC)
    assert nsecs
    covers_name = any(r.name < N("nope.good.lab.") < r[0].next for r in nsecs)
    wildcard = N("*.good.lab.")
    covers_wildcard = any(
        r.name < wildcard and (wildcard < r[0].next or r[0].next == N("good.lab.")) for r in nsecs
    )
    assert covers_name and covers_wildcard
    validate_section(response.authority, hierarchy, "good.lab")


def test_nodata_and_empty_non_terminal_proofs(server: DnsServer, hierarchy: Hierarchy) -> None:
    nodata = ask(server, "mx.good.lab", "TXT")
    assert nodata.rcode() == dns.rcode.NOERROR and not nodata.answer
    (nsec,) = rrsets(nodata.authority, dns.rdatatype.NSEC)
    assert nsec.name == N("mx.good.lab.")
    validate_section(nodata.authority, hierarchy, "good.lab")
    ent = ask(server, "_tcp.mx.good.lab", "TXT")
    assert ent.rcode() == dns.rcode.NOERROR
    (nsec,) = rrsets(ent.authority, dns.rdatatype.NSEC)
    assert nsec.name < N("_tcp.mx.good.lab.") and nsec[0].next.is_subdomain(N("_tcp.mx.good.lab."))


def test_without_do_negative_answers_carry_only_the_soa(server: DnsServer) -> None:
    response = ask(server, "nope.good.lab", "A", do=False)
    assert [r.rdtype for r in response.authority] == [dns.rdatatype.SOA]


def test_referral_to_a_signed_delegation_not_served_here(
    server: DnsServer, hierarchy: Hierarchy
) -> None:
    response = ask(server, "mx.away.lab", "A")
    assert not response.flags & dns.flags.AA and not response.answer
    assert response.rcode() == dns.rcode.NOERROR
    (ns,) = rrsets(response.authority, dns.rdatatype.NS)
    assert ns.name == N("away.lab.")
    (ds,) = rrsets(response.authority, dns.rdatatype.DS)
    assert ds.name == N("away.lab.")
    validate_section(
        [r for r in response.authority if r.rdtype != dns.rdatatype.NS], hierarchy, "lab"
    )
    assert [r.name for r in response.additional] == [N("ns.away.lab.")]


def test_referral_to_an_unsigned_delegation_proves_no_ds(
    server: DnsServer, hierarchy: Hierarchy
) -> None:
    response = ask(server, "gone.lab", "MX")
    assert not response.flags & dns.flags.AA
    assert not rrsets(response.authority, dns.rdatatype.DS)
    (nsec,) = rrsets(response.authority, dns.rdatatype.NSEC)
    assert nsec.name == N("gone.lab.")
    # Without DO: NS and glue only.
    plain = ask(server, "gone.lab", "MX", do=False)
    assert [r.rdtype for r in plain.authority] == [dns.rdatatype.NS]


def test_cd_is_copied_and_ad_never_set(server: DnsServer) -> None:
    with_cd = ask(server, "mx.good.lab", "A", flags=dns.flags.CD | dns.flags.AD)
    assert with_cd.flags & dns.flags.CD and not with_cd.flags & dns.flags.AD
    assert with_cd.answer  # CD changes nothing else for an authority
    without = ask(server, "mx.good.lab", "A", flags=dns.flags.AD)
    assert not without.flags & (dns.flags.CD | dns.flags.AD)


def test_nsec3_zone_gets_the_rfc5155_records() -> None:
    # dnspython does not sign with NSEC3: build the (unsigned) NSEC3 chain by hand
    # to check which records the server picks.
    zone = dns.zone.from_text(
        "$TTL 300\n@ SOA ns.n3.lab. h.n3.lab. 1 3600 600 86400 300\n@ NS ns\nns A 127.0.0.1\n",
        "n3.lab.",
        relativize=False,
    )
    names = [N("n3.lab."), N("ns.n3.lab.")]
    hashes = sorted(dns.dnssec.nsec3_hash(n, "aa", 0, 1) for n in names)
    with zone.writer() as txn:
        txn.add(N("n3.lab."), 300, dns.rdata.from_text("IN", "NSEC3PARAM", "1 0 0 aa"))
        for i, h in enumerate(hashes):
            nxt = hashes[(i + 1) % len(hashes)]
            rdata = dns.rdata.from_text("IN", "NSEC3", f"1 0 0 aa {nxt} A NS SOA")
            txn.add(N(f"{h}.n3.lab."), 300, rdata)
    server = DnsServer([zone])
    nodata = ask(server, "ns.n3.lab", "TXT")
    owner = N(f"{dns.dnssec.nsec3_hash(N('ns.n3.lab.'), 'aa', 0, 1)}.n3.lab.")
    assert [r.name for r in rrsets(nodata.authority, dns.rdatatype.NSEC3)] == [owner]
    nx = ask(server, "a.b.n3.lab", "A")
    assert nx.rcode() == dns.rcode.NXDOMAIN
    # closest encloser n3.lab (match), next closer b.n3.lab and *.n3.lab (covered)
    proof = rrsets(nx.authority, dns.rdatatype.NSEC3)
    apex_hash = dns.dnssec.nsec3_hash(N("n3.lab."), "aa", 0, 1)
    assert N(f"{apex_hash}.n3.lab.") in [r.name for r in proof]
    assert 1 <= len(proof) <= 3
