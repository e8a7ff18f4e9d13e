"""The lab's DNSSEC: signed, unsigned and bogus children of a signed ``lab.``, and its anchor.

Checked with dnspython's own primitives (``dns.dnssec.validate``,
``make_ds``), on the zones the lab serves and over the wire, so these
tests show what the lab publishes, not what mxtls' validator makes of it.
One last test asks mxtls' validator too, for the three cases the lab
module documents: secure, insecure, bogus.
"""

from __future__ import annotations

import datetime as dt

import dns.dnssec
import dns.exception
import dns.name
import dns.node
import dns.rcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone
import dns.zonefile
import pytest
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.NSEC import NSEC

from mxtls.lab.dnssec import (
    ALGORITHM,
    DnssecMode,
    make_zone_key,
    sign_lab,
    sign_zone,
    trust_anchor_text,
)
from mxtls.lab.world import Lab

from .lab_clients import query

LAB = dns.name.from_text("lab.")
IN = dns.rdataclass.IN
Keys = dict[dns.name.Name, dns.node.Node | dns.rdataset.Rdataset]
ZONE = """
$TTL 300
@ SOA ns.lab. hostmaster.lab. 1 3600 600 86400 300
@ NS ns.lab.
@ MX 10 mx
mx A 127.77.250.1
_25._tcp.mx TLSA 3 1 1 {digest}
""".format(digest="ab" * 32)


def small_zone(origin: str = "t.lab.") -> dns.zone.Zone:
    return dns.zone.from_text(ZONE, origin, relativize=False)


def keys_of(zone: dns.zone.Zone) -> Keys:
    assert zone.origin is not None
    return {zone.origin: zone.find_rrset(zone.origin, dns.rdatatype.DNSKEY)}


def validate_rrset(
    zone: dns.zone.Zone,
    name: dns.name.Name,
    rdtype: dns.rdatatype.RdataType,
    keys: Keys,
) -> None:
    """Raise dns.exception.ValidationFailure unless the RRset's RRSIG verifies with ``keys``."""
    rrset = zone.find_rrset(name, rdtype)
    sigs = zone.find_rrset(name, dns.rdatatype.RRSIG, covers=rdtype)
    dns.dnssec.validate(rrset, sigs, keys)


def data_rrsets(zone: dns.zone.Zone) -> list[tuple[dns.name.Name, dns.rdatatype.RdataType]]:
    """Every authoritative RRset of the zone except RRSIGs."""
    out = []
    for name, node in zone.nodes.items():
        for rds in node.rdatasets:
            if rds.rdtype != dns.rdatatype.RRSIG:
                out.append((name, rds.rdtype))
    return out


def parent_zone(world: Lab) -> dns.zone.Zone:
    return world.dns_server.zones[LAB]


def child_zone(world: Lab, domain: str) -> dns.zone.Zone:
    return world.dns_server.zones[dns.name.from_text(domain)]


# -- signing on its own ------------------------------------------------------------------


def test_signed_zone_validates_and_has_an_nsec_chain() -> None:
    zone = small_zone()
    key = make_zone_key(zone.origin)  # type: ignore[arg-type]
    sign_zone(zone, key, now=dt.datetime.now(dt.UTC))
    dnskey = zone.find_rdataset(zone.origin, dns.rdatatype.DNSKEY)  # type: ignore[arg-type]
    assert [(k.flags, k.algorithm) for k in dnskey] == [(257, ALGORITHM)]
    for name, rdtype in data_rrsets(zone):
        validate_rrset(zone, name, rdtype, keys_of(zone))
    # The NSEC chain visits every name once and comes back to the apex.
    names = sorted(zone.nodes)
    nsec_next = {n: zone.find_rdataset(n, dns.rdatatype.NSEC)[0].next for n in names}
    assert [nsec_next[n] for n in names] == [*names[1:], names[0]]


@pytest.mark.parametrize("mode", [DnssecMode.BOGUS, DnssecMode.EXPIRED])
def test_broken_modes_keep_the_key_valid_and_break_the_data(mode: DnssecMode) -> None:
    zone = small_zone()
    key = make_zone_key(zone.origin)  # type: ignore[arg-type]
    sign_zone(zone, key, now=dt.datetime.now(dt.UTC), mode=mode)
    assert zone.origin is not None
    validate_rrset(zone, zone.origin, dns.rdatatype.DNSKEY, keys_of(zone))
    broken = [(n, t) for n, t in data_rrsets(zone) if t != dns.rdatatype.DNSKEY]
    assert len(broken) >= 6  # SOA, NS, MX, A, TLSA, NSEC…
    for name, rdtype in broken:
        with pytest.raises(dns.exception.ValidationFailure):
            validate_rrset(zone, name, rdtype, keys_of(zone))


def test_unsigned_mode_is_refused() -> None:
    zone = small_zone()
    with pytest.raises(ValueError):
        sign_zone(zone, make_zone_key(LAB), now=dt.datetime.now(dt.UTC), mode=DnssecMode.UNSIGNED)


def test_sign_lab_publishes_ds_only_for_signed_children() -> None:
    parent = dns.zone.from_text(
        "$TTL 300\n@ SOA ns.lab. h.lab. 1 2 3 4 300\n@ NS ns.lab.\nns A 127.0.0.1\n"
        "s.lab. NS ns.lab.\nu.lab. NS ns.lab.\n",
        "lab.",
        relativize=False,
    )
    s, u = small_zone("s.lab."), small_zone("u.lab.")
    signed = sign_lab(
        parent,
        {s.origin: (s, DnssecMode.SIGNED), u.origin: (u, DnssecMode.UNSIGNED)},  # type: ignore[dict-item]
        now=dt.datetime.now(dt.UTC),
        ttl=300,
    )
    assert set(signed.children) == {s.origin}
    assert parent.get_rdataset("s.lab.", dns.rdatatype.DS) is not None
    assert parent.get_rdataset("u.lab.", dns.rdatatype.DS) is None
    assert u.get_rdataset(u.origin, dns.rdatatype.DNSKEY) is None  # type: ignore[arg-type]
    anchor = dns.zonefile.read_rrsets(signed.trust_anchor(), rdclass=None)
    assert [(r.name, r.rdtype) for r in anchor] == [(LAB, dns.rdatatype.DS)]


# -- the running lab -----------------------------------------------------------------------


def test_trust_anchor_matches_the_lab_key(world: Lab) -> None:
    # Given the anchor file the lab wrote
    (rrset,) = dns.zonefile.read_rrsets(world.trust_anchor.read_text(), rdclass=None)
    assert rrset.name == LAB and rrset.rdtype == dns.rdatatype.DS
    anchor = rrset[0]
    assert isinstance(anchor, DS)
    # Then it is the DS of the DNSKEY that lab. serves, and that key signs lab.'s DNSKEY RRset
    parent = parent_zone(world)
    dnskeys = parent.find_rdataset(LAB, dns.rdatatype.DNSKEY)
    assert any(dns.dnssec.make_ds(LAB, k, "SHA256") == anchor for k in dnskeys)
    validate_rrset(parent, LAB, dns.rdatatype.DNSKEY, keys_of(parent))
    assert world.dnssec is not None
    assert world.trust_anchor.read_text() == trust_anchor_text(world.dnssec.parent)


@pytest.mark.parametrize("domain", ["secure.lab", "dane-good.lab", "dane-missing.lab"])
def test_signed_child_chains_up_to_the_anchor(world: Lab, domain: str) -> None:
    parent, child = parent_zone(world), child_zone(world, domain)
    origin = dns.name.from_text(domain)
    # The parent's DS for the child is signed by lab.'s key ...
    validate_rrset(parent, origin, dns.rdatatype.DS, keys_of(parent))
    # ... and names the child's DNSKEY
    (ds,) = parent.find_rdataset(origin, dns.rdatatype.DS)
    (dnskey,) = child.find_rdataset(origin, dns.rdatatype.DNSKEY)
    assert isinstance(dnskey, DNSKEY)
    assert dns.dnssec.make_ds(origin, dnskey, ds.digest_type) == ds
    # ... and every RRset of the child is signed by that key
    rrsets = data_rrsets(child)
    assert (origin, dns.rdatatype.MX) in rrsets
    for name, rdtype in rrsets:
        validate_rrset(child, name, rdtype, keys_of(child))


@pytest.mark.parametrize("domain", ["good.lab", "dane-insecure.lab", "sts-testing.lab"])
def test_unsigned_child_is_an_insecure_delegation(world: Lab, domain: str) -> None:
    parent, child = parent_zone(world), child_zone(world, domain)
    origin = dns.name.from_text(domain)
    # No DS; the parent's signed NSEC at the cut lists NS but not DS: proof of no DS.
    assert parent.get_rdataset(origin, dns.rdatatype.DS) is None
    nsec = parent.find_rdataset(origin, dns.rdatatype.NSEC)[0]
    assert isinstance(nsec, NSEC)
    types = {t for window, bitmap in nsec.windows for t in _types(window, bitmap)}
    assert dns.rdatatype.NS in types and dns.rdatatype.DS not in types
    validate_rrset(parent, origin, dns.rdatatype.NSEC, keys_of(parent))
    # and the child publishes no keys or signatures at all
    assert child.get_rdataset(origin, dns.rdatatype.DNSKEY) is None
    assert not any(rds.rdtype == dns.rdatatype.RRSIG for _, rds in child.iterate_rdatasets())


def _types(window: int, bitmap: bytes) -> list[int]:
    return [
        window * 256 + i * 8 + bit
        for i, byte in enumerate(bitmap)
        for bit in range(8)
        if byte & (0x80 >> bit)
    ]


@pytest.mark.parametrize("domain", ["bogus.lab", "bogus-expired.lab"])
def test_bogus_child_fails_validation_below_a_valid_ds(world: Lab, domain: str) -> None:
    parent, child = parent_zone(world), child_zone(world, domain)
    origin = dns.name.from_text(domain)
    validate_rrset(parent, origin, dns.rdatatype.DS, keys_of(parent))
    (ds,) = parent.find_rdataset(origin, dns.rdatatype.DS)
    (dnskey,) = child.find_rdataset(origin, dns.rdatatype.DNSKEY)
    assert dns.dnssec.make_ds(origin, dnskey, ds.digest_type) == ds
    validate_rrset(child, origin, dns.rdatatype.DNSKEY, keys_of(child))
    # The data does not validate: MX, the MX host's address, its TLSA, the NSEC chain.
    mx_host = dns.name.from_text(f"mx.{domain}")
    for name, rdtype in [
        (origin, dns.rdatatype.MX),
        (mx_host, dns.rdatatype.A),
        (dns.name.from_text(f"_25._tcp.mx.{domain}"), dns.rdatatype.TLSA),
        (origin, dns.rdatatype.NSEC),
    ]:
        with pytest.raises(dns.exception.ValidationFailure):
            validate_rrset(child, name, rdtype, keys_of(child))


def test_signed_answers_over_the_wire(world: Lab) -> None:
    # DNSKEY and MX of a signed child arrive with RRSIGs that verify
    r = query(world.nameserver, "secure.lab", "DNSKEY", want_dnssec=True, tcp=True)
    dnskey = r.find_rrset(r.answer, dns.name.from_text("secure.lab"), IN, dns.rdatatype.DNSKEY)
    keys: Keys = {dnskey.name: dnskey}
    sig = r.find_rrset(r.answer, dnskey.name, IN, dns.rdatatype.RRSIG, dns.rdatatype.DNSKEY)
    dns.dnssec.validate(dnskey, sig, keys)
    r = query(world.nameserver, "secure.lab", "MX", want_dnssec=True, tcp=True)
    mx = r.find_rrset(r.answer, dnskey.name, IN, dns.rdatatype.MX)
    sig = r.find_rrset(r.answer, dnskey.name, IN, dns.rdatatype.RRSIG, dns.rdatatype.MX)
    dns.dnssec.validate(mx, sig, keys)
    # Without DO, no signatures
    r = query(world.nameserver, "secure.lab", "MX", tcp=True)
    assert [rr.rdtype for rr in r.answer] == [dns.rdatatype.MX]


def test_ds_comes_from_the_parent_over_the_wire(world: Lab) -> None:
    # A DS query for a child's apex is answered from lab. (the parent side of the cut)
    r = query(world.nameserver, "secure.lab", "DS", want_dnssec=True, tcp=True)
    assert r.rcode() == dns.rcode.NOERROR
    ds = r.find_rrset(r.answer, dns.name.from_text("secure.lab"), IN, dns.rdatatype.DS)
    sig = r.find_rrset(r.answer, ds.name, IN, dns.rdatatype.RRSIG, dns.rdatatype.DS)
    assert sig[0].signer == LAB
    dns.dnssec.validate(ds, sig, keys_of(parent_zone(world)))
    r = query(world.nameserver, "good.lab", "DS", want_dnssec=True, tcp=True)
    assert r.rcode() == dns.rcode.NOERROR and not r.answer


async def test_mxtls_validator_sees_secure_insecure_and_bogus(world: Lab) -> None:
    # Given mxtls' in-process validator, aimed at the lab from its trust anchor
    from mxtls.config import Timeouts
    from mxtls.net.dnssec import DnssecProbe

    probe = DnssecProbe(world.check_config(timeouts=Timeouts.uniform(2.0)))
    # Then each kind of child is what the lab module documents
    cases = {
        "secure.lab": "secure",
        "dane-good.lab": "secure",
        "good.lab": "insecure",
        "dane-insecure.lab": "insecure",
        "bogus.lab": "bogus",
        "bogus-expired.lab": "bogus",
    }
    for domain, status in cases.items():
        result = await probe.status(domain, "MX")
        assert result.status == status, (domain, result)
    result = await probe.status("_25._tcp.mx.secure.lab", "TLSA")
    assert result.status == "secure", result
