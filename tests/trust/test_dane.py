"""DANE matching for SMTP: a chain as sent against a TLSA RRset (RFC 7671, RFC 7672).

Chains come from the lab CA (real certificates and signatures); nothing is mocked.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given
from hypothesis import strategies as st

from mxtls.engine.derive import pkix_path
from mxtls.lab.ca import Issued, LabCA
from mxtls.protocol.tlsa import TlsaRecord, association_data, generate_tlsa
from mxtls.trust.dane import PkixPath, cert_matches_hostname, match_chain
from mxtls.trust.store import TrustStore

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
MX = "mx1.example.test"
D32 = b"\x01" * 32


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def chain_der(issued: Issued) -> list[bytes]:
    return [der(c) for c in issued.chain]


def rec(line: str) -> TlsaRecord:
    return TlsaRecord.parse(line)


def tlsa(cert: x509.Certificate, usage: int, selector: int = 1, mtype: int = 1) -> TlsaRecord:
    return rec(generate_tlsa(der(cert), usage, selector, mtype))


@pytest.fixture(scope="module")
def ca() -> LabCA:
    return LabCA(now=NOW)


@pytest.fixture(scope="module")
def good(ca: LabCA) -> Issued:
    return ca.issue([MX, "mx2.example.test"])


# ---------------------------------------------------------------- hostnames


@pytest.mark.parametrize(
    ("names", "cn", "host", "expected"),
    [
        ([MX], None, MX, True),
        ([MX], None, "MX1.Example.Test.", True),
        (["*.example.test"], None, MX, True),
        (["*.example.test"], None, "a.b.example.test", False),
        (["*.example.test"], None, "example.test", False),
        (["*.test"], None, "example.test", False),
        (["mx*.example.test"], None, MX, False),
        (["other.example.test"], MX, MX, False),  # a SAN is present, so the CN is not used
        ([], MX, MX, True),  # no SAN: the CN is used
        ([], "other.example.test", MX, False),
    ],
)
def test_cert_matches_hostname(
    ca: LabCA, names: list[str], cn: str | None, host: str, expected: bool
) -> None:
    issued = ca.issue(names, cn=cn)
    assert cert_matches_hostname(issued.cert, host) is expected


# ------------------------------------------------------------------ matching


def test_dane_ee_matches_leaf(good: Issued) -> None:
    for selector, mtype in ((1, 1), (0, 1), (1, 2), (0, 2), (0, 0), (1, 0)):
        result = match_chain(
            [tlsa(good.cert, 3, selector, mtype)], chain_der(good), mx_host=MX, now=NOW
        )
        assert result.authenticated, (selector, mtype, result.reason)
        assert result.cert_index == 0
        assert result.record == tlsa(good.cert, 3, selector, mtype)
        assert "RFC 7672 §3.1.1" in result.reason


def test_dane_ta_matches_intermediate(ca: LabCA, good: Issued) -> None:
    record = tlsa(ca.intermediate, 2)
    result = match_chain([record], chain_der(good), mx_host=MX, now=NOW)
    assert result.authenticated, result.reason
    assert result.cert_index == 1
    assert result.outcomes[0].matched_index == 1
    full = match_chain([tlsa(ca.intermediate, 2, 0, 0)], chain_der(good), mx_host=MX, now=NOW)
    assert full.authenticated


def test_dane_ta_root_only_when_sent(ca: LabCA, good: Issued) -> None:
    record = tlsa(ca.root, 2, 0, 1)
    not_sent = match_chain([record], chain_der(good), mx_host=MX, now=NOW)
    assert not not_sent.authenticated
    assert "matches no certificate the server sent" in not_sent.outcomes[0].reason
    sent = match_chain([record], [*chain_der(good), der(ca.root)], mx_host=MX, now=NOW)
    assert sent.authenticated
    assert sent.cert_index == 2


def test_dane_ta_out_of_order_chain(ca: LabCA, good: Issued) -> None:
    chain = [der(good.cert), der(ca.root), der(ca.intermediate)]
    result = match_chain([tlsa(ca.root, 2)], chain, mx_host=MX, now=NOW)
    assert result.authenticated, result.reason
    assert result.cert_index == 1


def test_mismatch(ca: LabCA, good: Issued) -> None:
    other = ca.issue([MX], key_slot=7)
    result = match_chain(
        [tlsa(other.cert, 3), tlsa(LabCA(now=NOW, slot=5).intermediate, 2)],
        chain_der(good),
        mx_host=MX,
        now=NOW,
    )
    assert not result.authenticated
    assert result.record is None and result.cert_index is None
    assert result.usable_count == 2
    assert [o.matched_index for o in result.outcomes] == [None, None]
    assert "does not match the leaf" in result.outcomes[0].reason
    assert "matches no certificate" in result.outcomes[1].reason
    assert result.reason == "no usable TLSA record authenticates the presented chain"


def test_pkix_usages_are_unusable_even_when_they_match(ca: LabCA, good: Issued) -> None:
    records = [tlsa(good.cert, 1), tlsa(ca.intermediate, 0)]
    result = match_chain(records, chain_der(good), mx_host=MX, now=NOW)
    assert not result.authenticated
    assert result.usable_count == 0
    assert all(not o.usable and o.matched_index is None for o in result.outcomes)
    assert result.reason == "no usable TLSA records (RFC 7672 §3.1.3)"


def test_wrong_digest_length_is_unusable(good: Issued) -> None:
    digest = bytes.fromhex(generate_tlsa(der(good.cert), 3).split()[3])
    result = match_chain(
        [TlsaRecord(3, 1, 1, digest[:31]), TlsaRecord(3, 1, 2, digest)],
        chain_der(good),
        mx_host=MX,
        now=NOW,
    )
    assert not result.authenticated
    assert result.usable_count == 0


def test_dane_ee_ignores_expiry_and_name(ca: LabCA) -> None:
    expired = ca.issue(["wrong.example.test"], days_valid=(-100, -1), key_slot=3)
    result = match_chain([tlsa(expired.cert, 3)], chain_der(expired), mx_host=MX, now=NOW)
    assert result.authenticated, result.reason
    self_signed = ca.issue(["x"], self_signed=True, key_slot=4)
    result = match_chain([tlsa(self_signed.cert, 3)], chain_der(self_signed), mx_host=MX, now=NOW)
    assert result.authenticated


def test_dane_ta_checks_leaf_dates(ca: LabCA) -> None:
    record = tlsa(ca.intermediate, 2)
    expired = ca.issue([MX], days_valid=(-100, -1))
    result = match_chain([record], chain_der(expired), mx_host=MX, now=NOW)
    assert not result.authenticated
    assert result.outcomes[0].matched_index == 1
    assert "the leaf certificate expired" in result.outcomes[0].reason
    future = ca.issue([MX], days_valid=(5, 90))
    result = match_chain([record], chain_der(future), mx_host=MX, now=NOW)
    assert "not valid before" in result.outcomes[0].reason


def test_dane_ta_rejects_wrong_name(ca: LabCA) -> None:
    wrong = ca.issue(["other.example.test"])
    result = match_chain([tlsa(ca.intermediate, 2)], chain_der(wrong), mx_host=MX, now=NOW)
    assert not result.authenticated
    assert "does not name 'mx1.example.test'" in result.outcomes[0].reason
    wildcard = ca.issue(["*.example.test"])
    result = match_chain([tlsa(ca.intermediate, 2)], chain_der(wildcard), mx_host=MX, now=NOW)
    assert result.authenticated


def test_dane_ta_matching_the_leaf_is_not_an_anchor(good: Issued) -> None:
    result = match_chain([tlsa(good.cert, 2)], chain_der(good), mx_host=MX, now=NOW)
    assert not result.authenticated
    assert result.outcomes[0].matched_index == 0
    assert "not a trust anchor" in result.outcomes[0].reason


def test_dane_ee_matching_a_ca_is_not_the_leaf(ca: LabCA, good: Issued) -> None:
    result = match_chain([tlsa(ca.intermediate, 3)], chain_der(good), mx_host=MX, now=NOW)
    assert not result.authenticated
    assert result.outcomes[0].matched_index == 1
    assert "not the leaf" in result.outcomes[0].reason


def test_dane_ta_needs_a_signature_chain(ca: LabCA) -> None:
    # Another CA with the same names but other keys: the issuer *name* of its
    # leaf matches our intermediate, only the signature tells them apart.
    twin = LabCA(now=NOW, slot=9)
    leaf = twin.issue([MX])
    chain = [der(leaf.cert), der(ca.intermediate)]
    result = match_chain([tlsa(ca.intermediate, 2)], chain, mx_host=MX, now=NOW)
    assert not result.authenticated
    assert result.outcomes[0].matched_index == 1
    assert "not signed by any certificate sent" in result.outcomes[0].reason
    # and an unrelated extra certificate in the chain does not help
    chain = [*chain_der(leaf), der(ca.intermediate)]
    result = match_chain([tlsa(ca.intermediate, 2)], chain, mx_host=MX, now=NOW)
    assert not result.authenticated
    assert result.outcomes[0].matched_index == 2


def test_dane_ta_intermediate_must_be_a_ca(ca: LabCA, good: Issued) -> None:
    # A certificate signed by the (non-CA) leaf, sent with leaf and intermediate.
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, MX)]))
        .issuer_name(good.cert.subject)
        .public_key(ca.issue([MX], key_slot=11).key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(MX)]), critical=False)
    )
    grandchild = builder.sign(good.key, hashes.SHA256())
    chain = [der(grandchild), *chain_der(good)]
    result = match_chain([tlsa(ca.intermediate, 2)], chain, mx_host=MX, now=NOW)
    assert not result.authenticated
    assert "intermediate #1 is not a CA certificate" in result.outcomes[0].reason


def test_missing_intermediate(ca: LabCA) -> None:
    bare = ca.issue([MX], send_intermediate=False)
    result = match_chain([tlsa(ca.intermediate, 2)], chain_der(bare), mx_host=MX, now=NOW)
    assert not result.authenticated
    assert result.outcomes[0].matched_index is None
    assert "matches no certificate the server sent" in result.outcomes[0].reason


def test_mixed_rrset_reports_each_record(ca: LabCA, good: Issued) -> None:
    other = ca.issue([MX], key_slot=8)
    records = [
        TlsaRecord(1, 1, 1, D32),
        tlsa(other.cert, 3),
        tlsa(ca.intermediate, 2),
        tlsa(good.cert, 3),
    ]
    result = match_chain(records, chain_der(good), mx_host=MX, now=NOW)
    assert result.authenticated
    assert result.record == records[2]
    assert result.cert_index == 1
    assert [o.usable for o in result.outcomes] == [False, True, True, True]
    assert [o.authenticated for o in result.outcomes] == [False, False, True, True]
    assert [o.matched_index for o in result.outcomes] == [None, None, 1, 0]
    assert result.usable_count == 3


def test_empty_inputs(good: Issued) -> None:
    none = match_chain([], chain_der(good), mx_host=MX, now=NOW)
    assert not none.authenticated and none.reason == "no TLSA records"
    no_chain = match_chain([tlsa(good.cert, 3)], [], mx_host=MX, now=NOW)
    assert not no_chain.authenticated
    assert no_chain.outcomes[0].reason == "the server sent no certificate"


def test_naive_now_is_utc(ca: LabCA) -> None:
    expired = ca.issue([MX], days_valid=(-100, -1))
    naive = NOW.replace(tzinfo=None)
    result = match_chain([tlsa(ca.intermediate, 2)], chain_der(expired), mx_host=MX, now=naive)
    assert "expired" in result.outcomes[0].reason


# ---------------------------------------------------------------- properties


_GOOD = LabCA(now=NOW, slot=3)
_GOOD_ISSUED = _GOOD.issue([MX])
_GOOD_CHAIN = [der(c) for c in _GOOD_ISSUED.chain]
_RECORDS = [
    rec(generate_tlsa(_GOOD_CHAIN[0], 3)),
    rec(generate_tlsa(_GOOD_CHAIN[1], 2)),
    rec(generate_tlsa(_GOOD_CHAIN[1], 2, 0, 0)),
]


@given(
    st.lists(
        st.one_of(
            st.binary(max_size=64),
            st.tuples(st.sampled_from(_GOOD_CHAIN), st.integers(0, 2000), st.integers(0, 255)).map(
                lambda t: t[0][: t[1]] + bytes([t[2]]) + t[0][t[1] + 1 :]
            ),
            st.tuples(st.sampled_from(_GOOD_CHAIN), st.integers(0, 2000)).map(
                lambda t: t[0][: t[1]]
            ),
        ),
        max_size=4,
    )
)
def test_match_chain_never_raises_on_hostile_bytes(chain: list[bytes]) -> None:
    result = match_chain(_RECORDS, chain, mx_host=MX, now=NOW)
    assert len(result.outcomes) == len(_RECORDS)
    for blob in chain:
        try:
            association_data(blob, 1, 1)
        except ValueError:
            pass


# ------------------------------------------------- PKIX usages (other services)


@pytest.fixture(scope="module")
def pkix_good(ca: LabCA, good: Issued) -> PkixPath:
    store = TrustStore.from_certificates([ca.root], "lab root")
    path = pkix_path(chain_der(good), store, NOW)
    assert path.path and path.path[-1] == der(ca.root)  # validated up to the store's root
    return path


def test_pkix_usages_are_unusable_for_smtp_relay(good: Issued, pkix_good: PkixPath) -> None:
    records = [tlsa(good.cert, 1), tlsa(good.chain[1], 0)]
    result = match_chain(records, chain_der(good), mx_host=MX, now=NOW, pkix=pkix_good)
    assert not result.authenticated and result.usable_count == 0
    assert all("RFC 7672 §3.1.3" in o.reason for o in result.outcomes)


def test_pkix_ee_and_ta_authenticate_a_validated_chain(
    ca: LabCA, good: Issued, pkix_good: PkixPath
) -> None:
    # PKIX-EE of the leaf, PKIX-TA of the intermediate sent, PKIX-TA of the root not sent
    records = [tlsa(good.cert, 1), tlsa(good.chain[1], 0), tlsa(ca.root, 0)]
    result = match_chain(
        records, chain_der(good), mx_host=MX, now=NOW, allow_pkix=True, pkix=pkix_good
    )
    ee, ta_sent, ta_anchor = result.outcomes
    assert ee.authenticated and ee.matched_index == 0
    assert ta_sent.authenticated and ta_sent.matched_index == 1
    assert ta_anchor.authenticated and ta_anchor.matched_index is None
    assert ta_anchor.anchor_der == der(ca.root)


@pytest.mark.parametrize(
    ("pkix", "host", "why"),
    [
        (None, MX, "no PKIX validation"),
        (PkixPath(problem="chain ends at root X"), MX, "fails PKIX validation"),
        ("good", "other.example.test", "does not name"),
    ],
)
def test_pkix_usages_need_validation_and_the_name(
    good: Issued, pkix_good: PkixPath, pkix: PkixPath | str | None, host: str, why: str
) -> None:
    path = pkix_good if pkix == "good" else pkix
    assert not isinstance(path, str)
    result = match_chain(
        [tlsa(good.cert, 1)], chain_der(good), mx_host=host, now=NOW, allow_pkix=True, pkix=path
    )
    [outcome] = result.outcomes
    assert outcome.usable and not outcome.authenticated and why in outcome.reason


def test_pkix_ee_refuses_an_expired_leaf(ca: LabCA) -> None:
    expired = ca.issue([MX], days_valid=(-100, -1), key_slot=3)
    store = TrustStore.from_certificates([ca.root], "lab root")
    path = pkix_path(chain_der(expired), store, NOW)
    assert path.path  # trusted: dates are the matcher's business, as for cert.expired
    result = match_chain(
        [tlsa(expired.cert, 1), tlsa(expired.cert, 3)],
        chain_der(expired),
        mx_host=MX,
        now=NOW,
        allow_pkix=True,
        pkix=path,
    )
    pkix_ee, dane_ee = result.outcomes
    assert not pkix_ee.authenticated and "expired" in pkix_ee.reason
    assert dane_ee.authenticated  # DANE-EE checks no dates (RFC 7672 §3.1.1)


def test_an_untrusted_chain_has_no_pkix_path(good: Issued) -> None:
    rogue = LabCA(name="mxtls rogue root", now=NOW, slot=1)
    store = TrustStore.from_certificates([rogue.root], "rogue root")
    path = pkix_path(chain_der(good), store, NOW)
    assert path.path == () and path.problem
