"""Derived DANE facts: which record matched which certificate of the chain as sent, and why."""

from __future__ import annotations

from mxtls.engine.derive import match_endpoints
from mxtls.models.observations import UnparsableCertificate
from mxtls.protocol.tlsa import normalize_record
from tests.dane_builders import (
    EC,
    EC_NEXT,
    FOREIGN,
    HOST,
    IP,
    IP2,
    NOW,
    RSA,
    WRONG_NAME,
    ee,
    endpoint,
    lookup,
    spki_hex,
    ta,
)


def test_dane_ee_matches_the_leaf() -> None:
    # Given a 3 1 1 of the leaf, when the server sends that leaf
    [result] = match_endpoints([lookup(ee(EC))], [endpoint(EC)], NOW)
    # Then the record authenticates it, at index 0, and the leaf key is named
    assert result.authenticated
    assert result.matched_record == normalize_record(ee(EC))
    assert result.matched_cert_index == 0
    assert result.leaf_spki_sha256 == spki_hex(EC)
    assert result.leaf_key_type is not None and result.leaf_key_type.startswith("EC")
    assert result.reference_names == [HOST]
    [outcome] = result.outcomes
    assert outcome.usable and outcome.authenticated and outcome.matched_index == 0
    assert outcome.matched_spki_sha256 == spki_hex(EC)


def test_dane_ta_matches_the_intermediate() -> None:
    [result] = match_endpoints([lookup(ta(EC))], [endpoint(EC)], NOW)
    assert result.authenticated
    assert result.matched_cert_index == 1
    [outcome] = result.outcomes
    # The pin is the CA's key, not the leaf's.
    assert outcome.matched_spki_sha256 not in (None, spki_hex(EC))


def test_each_record_says_what_it_matched() -> None:
    records = [ee(EC_NEXT), ee(EC), ta(EC, 0, 1), "3 1 1 " + "00" * 31]
    [result] = match_endpoints([lookup(*records)], [endpoint(EC)], NOW)
    assert result.authenticated
    assert result.matched_record == normalize_record(ee(EC))
    by_record = {o.record: o for o in result.outcomes}
    next_key = by_record[normalize_record(ee(EC_NEXT))]
    assert next_key.usable and not next_key.authenticated and next_key.matched_index is None
    assert "does not match" in next_key.reason
    full_ta = by_record[normalize_record(ta(EC, 0, 1))]
    assert full_ta.authenticated and full_ta.matched_index == 1
    short = by_record["3 1 1 " + "00" * 31]
    assert not short.usable and "32-byte" in short.reason


def test_mismatch_keeps_every_reason() -> None:
    [result] = match_endpoints([lookup(ee(FOREIGN), ta(FOREIGN))], [endpoint(EC)], NOW)
    assert not result.authenticated
    assert result.matched_record is None and result.matched_cert_index is None
    assert [o.authenticated for o in result.outcomes] == [False, False]
    assert all(o.reason for o in result.outcomes)


def test_ta_on_the_leaf_authenticates_nothing() -> None:
    leaf_as_ta = "2" + ee(EC)[1:]
    [result] = match_endpoints([lookup(leaf_as_ta)], [endpoint(EC)], NOW)
    assert not result.authenticated
    [outcome] = result.outcomes
    assert outcome.matched_index == 0 and outcome.matched_spki_sha256 == spki_hex(EC)


def test_ta_needs_the_name_of_the_base_domain_or_the_mx_host() -> None:
    # The leaf names "other.dane.test": DANE-TA fails for HOST ...
    [plain] = match_endpoints([lookup(ta(WRONG_NAME))], [endpoint(WRONG_NAME)], NOW)
    assert not plain.authenticated
    # ... but if HOST is an alias whose secure expansion is other.dane.test,
    # that expansion is the TLSA base domain and a reference name.
    aliased = lookup(
        ta(WRONG_NAME), base_domain="other.dane.test", followed_cname="other.dane.test"
    )
    [result] = match_endpoints([aliased], [endpoint(WRONG_NAME)], NOW)
    assert result.authenticated
    assert result.reference_names == ["other.dane.test", HOST]
    # And the original MX host name still counts after the expansion.
    [back] = match_endpoints([lookup(ta(EC), base_domain="other.dane.test")], [endpoint(EC)], NOW)
    assert back.authenticated


def test_endpoints_without_usable_tlsa_or_handshake_are_left_out() -> None:
    pkix_only = lookup("1 1 1 " + spki_hex(EC), "0 0 1 " + "ab" * 32)
    assert match_endpoints([pkix_only], [endpoint(EC)], NOW) == []
    assert match_endpoints([lookup(ee(EC))], [endpoint(None)], NOW) == []
    assert match_endpoints([lookup()], [endpoint(EC)], NOW) == []
    # TLSA for port 25 says nothing about 465.
    assert match_endpoints([lookup(ee(EC))], [endpoint(EC, port=465)], NOW) == []


def test_one_result_per_endpoint_and_port() -> None:
    lookups = [lookup(ee(EC)), lookup(ee(RSA), port=465)]
    endpoints = [
        endpoint(EC),
        endpoint(RSA, ip=IP2),
        endpoint(RSA, port=465),
        endpoint(EC, host="unrelated.dane.test"),
    ]
    results = match_endpoints(lookups, endpoints, NOW)
    assert [(r.ip, r.port, r.authenticated) for r in results] == [
        (IP, 25, True),
        (IP2, 25, False),
        (IP, 465, True),
    ]
    assert results[1].leaf_key_type == "RSA 2048"


def test_unparseable_records_are_reported_not_dropped() -> None:
    garbage = "3 1 1 zz"
    [result] = match_endpoints([lookup(garbage, ee(EC))], [endpoint(EC)], NOW)
    assert result.authenticated
    bad, good = result.outcomes
    assert bad.record == garbage and not bad.usable and "does not parse" in bad.reason
    assert good.authenticated


def test_hostile_chain_bytes_match_nothing() -> None:
    ep = endpoint(EC)
    assert ep.handshake is not None
    broken_leaf = ep.handshake.chain[0].model_copy(update={"der": b"\x30\x03\x02\x01\x00"})
    hs = ep.handshake.model_copy(update={"chain": [broken_leaf]})
    [result] = match_endpoints([lookup(ee(EC))], [ep.model_copy(update={"handshake": hs})], NOW)
    assert not result.authenticated
    assert result.leaf_spki_sha256 is None


def test_a_certificate_mxtls_could_not_describe_still_counts_in_its_place() -> None:
    # Given: the intermediate was sent but could not be described (kept as raw bytes)
    ep = endpoint(EC)
    assert ep.handshake is not None
    leaf, intermediate = ep.handshake.chain[0], ep.handshake.chain[1]
    raw = UnparsableCertificate(
        index=1,
        der=intermediate.der,
        sha256_fingerprint=intermediate.sha256_fingerprint,
        reason="unparsable certificate: for this test",
    )
    handshake = ep.handshake.model_copy(update={"chain": [leaf], "unparsable": [raw]})
    # When: a 2 1 1 of that intermediate is matched against the chain as sent
    [result] = match_endpoints(
        [lookup(ta(EC))], [ep.model_copy(update={"handshake": handshake})], NOW
    )
    # Then: the record matched the certificate at its position as sent
    assert result.authenticated and result.matched_cert_index == 1
