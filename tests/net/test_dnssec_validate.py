"""Validate mode: mxtls validates the chain itself over a server that validates nothing."""

from __future__ import annotations

import time
from pathlib import Path

import dns.asyncquery
import dns.flags
import dns.message
import dns.rdatatype
import pytest

from mxtls.config import CheckConfig, Timeouts
from mxtls.lab.dns_server import DnsServer
from mxtls.net.dnssec import DnssecProbe
from tests.bounds import bound
from tests.dnssec_hierarchy import BOGUS_ADDRESS


def probe_for(authority: DnsServer, anchor_file: Path, timeout: float = 1.0) -> DnssecProbe:
    config = CheckConfig(
        nameservers=(authority.address,),
        dnssec_validate=True,
        trust_anchor=anchor_file,
        timeouts=Timeouts.uniform(timeout),
    )
    return DnssecProbe(config)


@pytest.mark.parametrize(
    ("qname", "rdtype"),
    [
        ("good.lab", "MX"),
        ("mx.good.lab", "A"),
        ("mx.good.lab", "AAAA"),
        ("_25._tcp.mx.good.lab", "TLSA"),  # below the empty non-terminal _tcp.mx
        ("alias.good.lab", "A"),  # a signed CNAME to signed data
        ("www.lab", "A"),  # data of the anchor zone itself
        ("nope.good.lab", "A"),  # NXDOMAIN proven by NSEC
        ("mx.good.lab", "TXT"),  # NODATA proven by NSEC
        ("_tcp.mx.good.lab", "TXT"),  # NODATA at an empty non-terminal
        ("big.good.lab", "TXT"),  # truncated over UDP: asked again over TCP
    ],
)
async def test_secure_answers(
    authority: DnsServer, anchor_file: Path, qname: str, rdtype: str
) -> None:
    # Given the signed good.lab with a DS in the signed lab. (our trust anchor)
    probe = probe_for(authority, anchor_file)
    # When mxtls validates the answer itself
    result = await probe.status(qname, rdtype)
    # Then it is secure, and the chain names the anchor and the cut
    assert result.status == "secure", result.reason
    assert result.mode == "validate"
    assert result.chain[0] == "lab: trust anchor"
    if qname.endswith("good.lab"):
        assert result.chain == ["lab: trust anchor", "good.lab: DS"]


@pytest.mark.parametrize(
    ("qname", "rdtype"),
    [("plain.lab", "MX"), ("mx.plain.lab", "A"), ("nope.plain.lab", "A")],
)
async def test_insecure_delegation_is_proven(
    authority: DnsServer, anchor_file: Path, qname: str, rdtype: str
) -> None:
    result = await probe_for(authority, anchor_file).status(qname, rdtype)
    assert result.status == "insecure", result.reason
    assert result.chain == ["lab: trust anchor", "plain.lab: no DS (NSEC)"]
    assert result.reason is not None and "plain.lab" in result.reason


async def test_secure_cname_into_an_insecure_zone_is_insecure(
    authority: DnsServer, anchor_file: Path
) -> None:
    result = await probe_for(authority, anchor_file).status("toplain.good.lab", "A")
    assert result.status == "insecure"
    assert "good.lab: DS" in result.chain and "plain.lab: no DS (NSEC)" in result.chain


async def test_bogus_signature_passed_through_by_the_server_is_caught(
    authority: DnsServer, anchor_file: Path
) -> None:
    # Given a server that happily serves the changed record with its stale RRSIG
    query = dns.message.make_query("mx.bogus.lab", "A", want_dnssec=True)
    host, port = authority.address
    raw = await dns.asyncquery.udp(query, host, port=port, timeout=2.0)
    assert [rr.to_text() for rr in raw.answer[0]] == [BOGUS_ADDRESS]
    assert any(rr.rdtype == dns.rdatatype.RRSIG for rr in raw.answer)
    assert not raw.flags & dns.flags.AD
    # When mxtls validates
    result = await probe_for(authority, anchor_file).status("mx.bogus.lab", "A")
    # Then the answer is bogus, and the reason says the signature failed
    assert result.status == "bogus"
    assert result.reason is not None and "signature" in result.reason


@pytest.mark.parametrize(
    ("qname", "rdtype", "why"),
    [
        ("tobogus.good.lab", "A", "signature"),  # a good CNAME into bogus data
        ("wrongds.lab", "MX", "no key matches the DS"),
        ("mx.wrongds.lab", "A", "no key matches the DS"),
        ("stripped.lab", "MX", "no RRSIG"),  # DS says signed; signatures stripped
        ("nope.stripped.lab", "A", "no RRSIG"),
    ],
)
async def test_bogus_chains(
    authority: DnsServer, anchor_file: Path, qname: str, rdtype: str, why: str
) -> None:
    result = await probe_for(authority, anchor_file).status(qname, rdtype)
    assert result.status == "bogus"
    assert result.reason is not None and why in result.reason, result.reason


async def test_signed_data_of_the_bogus_zone_still_validates(
    authority: DnsServer, anchor_file: Path
) -> None:
    # Only the changed RRset is bogus; the zone's other data is fine.
    result = await probe_for(authority, anchor_file).status("bogus.lab", "MX")
    assert result.status == "secure", result.reason


async def test_a_trust_anchor_that_matches_no_key_makes_everything_bogus(
    authority: DnsServer, tmp_path: Path
) -> None:
    anchor = tmp_path / "wrong.anchor"
    anchor.write_text("lab. IN DS 12345 13 2 " + "00" * 32 + "\n")
    result = await probe_for(authority, anchor).status("good.lab", "MX")
    assert result.status == "bogus"
    assert result.reason is not None and "trust anchor" in result.reason


async def test_names_outside_every_anchor_are_insecure(
    authority: DnsServer, tmp_path: Path
) -> None:
    # An anchor for another tree: lab. is not covered, so nothing can be proven secure.
    anchor = tmp_path / "other.anchor"
    anchor.write_text("example. IN DS 12345 13 2 " + "00" * 32 + "\n")
    result = await probe_for(authority, anchor).status("good.lab", "MX")
    assert result.status == "insecure"
    assert result.reason is not None and "no trust anchor" in result.reason


async def test_a_silent_name_is_indeterminate_within_the_timeout(
    authority: DnsServer, anchor_file: Path
) -> None:
    probe = probe_for(authority, anchor_file, timeout=0.3)
    started = time.monotonic()
    result = await probe.status("silent.good.lab", "A")
    assert result.status == "indeterminate"
    assert time.monotonic() - started < bound(0.3)  # the name never answers


async def test_results_and_queries_are_cached_per_probe(
    authority: DnsServer, anchor_file: Path
) -> None:
    probe = probe_for(authority, anchor_file)
    first = await probe.status("mx.good.lab", "A")
    before = authority.queries
    again = await probe.status("MX.good.lab.", "a")
    assert again == first
    assert authority.queries == before  # nothing asked twice
    # The AAAA walk reuses the cached DS/DNSKEY answers: one new query only.
    await probe.status("mx.good.lab", "AAAA")
    assert authority.queries == before + 1


async def test_an_invalid_query_is_indeterminate(authority: DnsServer, anchor_file: Path) -> None:
    result = await probe_for(authority, anchor_file).status("good.lab", "NOT-A-TYPE")
    assert result.status == "indeterminate"
