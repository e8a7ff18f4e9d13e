"""TLSA records: parsing, presentation, owner names, association data (RFC 6698, RFC 7672).

Chains come from the lab CA (real certificates and signatures); nothing is mocked.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import dns.rdata
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from mxtls.lab.ca import Issued, LabCA
from mxtls.protocol.tlsa import (
    TlsaRecord,
    TlsaSyntaxError,
    generate_tlsa,
    normalize_record,
    spki_der,
    tlsa_owner,
    usable_for_smtp,
)
from mxtls.trust.certinfo import spki_sha256

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
MX = "mx1.example.test"


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


# ----------------------------------------------------------------- presentation

# RFC 6698 §2.3 examples (the zone-file parentheses and line breaks included)
RFC6698_SHA256 = (
    "0 0 1 ( d2abde240d7cd3ee6b4b28c54df034b9\n      7983a1d16e8a410e4561cb106618e971 )"
)
RFC6698_SHA512 = (
    "1 1 2 92003ba34942dc74152e2f2c408d29ec a5a520e7f2e06bb944f4dca346baf63c "
    "1b177615d466f6c4b71c216a50292bd5 8c9ebdd2f74e38fe51ffd48c43326cbc"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            RFC6698_SHA256,
            TlsaRecord(
                0,
                0,
                1,
                bytes.fromhex("d2abde240d7cd3ee6b4b28c54df034b97983a1d16e8a410e4561cb106618e971"),
            ),
        ),
        (RFC6698_SHA512, TlsaRecord(1, 1, 2, bytes.fromhex(RFC6698_SHA512[6:].replace(" ", "")))),
        ("3 1 1 00FF", TlsaRecord(3, 1, 1, b"\x00\xff")),
        ("255 255 255 ab", TlsaRecord(255, 255, 255, b"\xab")),
        ("  2\t0 0 0a 0b  ", TlsaRecord(2, 0, 0, b"\x0a\x0b")),
    ],
)
def test_parse_presentation(text: str, expected: TlsaRecord) -> None:
    assert TlsaRecord.parse(text) == expected


def test_rfc6698_examples_are_pkix_and_unusable_for_smtp() -> None:
    for text in (RFC6698_SHA256, RFC6698_SHA512):
        usable, reason = usable_for_smtp(TlsaRecord.parse(text))
        assert not usable
        assert "RFC 7672 §3.1.3" in reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "expected 'usage selector"),
        ("3 1 1", "expected 'usage selector"),
        ("3 1 x 00", "matching type 'x'"),
        ("256 1 1 00", "above 255"),
        ("-1 1 1 00", "usage '-1'"),
        ("0003 1 1 00", "usage '0003'"),
        ("٣ 1 1 00", "usage '٣'"),
        ("3 1 1 abc", "even number of hex digits"),
        ("3 1 1 zz", "hex digits"),
        ("3 1 1 éé", "even number of hex digits"),
        ("3 1 1 " + "00" * 65_536, "longer than 65535"),
    ],
)
def test_parse_rejects(text: str, reason: str) -> None:
    with pytest.raises(TlsaSyntaxError) as info:
        TlsaRecord.parse(text)
    assert reason in info.value.reason


def test_from_dnspython_rdata(good: Issued) -> None:
    line = generate_tlsa(der(good.cert), 3)
    rdata = dns.rdata.from_text("IN", "TLSA", line)
    assert TlsaRecord.from_rdata(rdata) == TlsaRecord.parse(line)  # type: ignore[arg-type]
    assert TlsaRecord.from_rdata(rdata).to_text() == line  # type: ignore[arg-type]


def test_describe() -> None:
    assert rec("3 1 1 00").describe() == "DANE-EE(3) SPKI(1) SHA2-256(1)"
    assert rec("9 7 5 00").describe() == "unknown(9) unknown(7) unknown(5)"


# ------------------------------------------------------------------ generation


def test_generate_tlsa_311_matches_independent_digests(good: Issued) -> None:
    line = generate_tlsa(der(good.cert), 3)
    reencoded = good.cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert line == "3 1 1 " + hashlib.sha256(reencoded).hexdigest()
    assert line == "3 1 1 " + spki_sha256(good.cert)  # the report's own field agrees


def test_generate_tlsa_other_parameters(good: Issued) -> None:
    cert_der = der(good.cert)
    assert (
        generate_tlsa(cert_der, 3, 0, 1) == "3 0 1 " + good.cert.fingerprint(hashes.SHA256()).hex()
    )
    assert generate_tlsa(cert_der, 2, 0, 2) == "2 0 2 " + hashlib.sha512(cert_der).hexdigest()
    assert generate_tlsa(cert_der, 3, 0, 0) == "3 0 0 " + cert_der.hex()
    assert generate_tlsa(cert_der, 3, 1, 0) == "3 1 0 " + spki_der(cert_der).hex()
    for usage, selector, mtype in ((4, 1, 1), (3, 2, 1), (3, 1, 3)):
        with pytest.raises(ValueError):
            generate_tlsa(cert_der, usage, selector, mtype)
    with pytest.raises(ValueError):
        generate_tlsa(b"not a certificate", 3)


@pytest.mark.parametrize("key", ["ec256", "ec384", "rsa2048"])
def test_spki_cut_from_der_equals_reencoded_key(ca: LabCA, key: str) -> None:
    issued = ca.issue([MX], key=key)  # type: ignore[arg-type]
    expected = issued.cert.public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )
    assert spki_der(der(issued.cert)) == expected
    assert spki_der(der(ca.root)) == ca.root.public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize("bad", [b"", b"\x30", b"\x30\x80", b"\x04\x00", b"\x30\x03\x30\x01\x00"])
def test_spki_rejects_non_certificates(bad: bytes) -> None:
    with pytest.raises(ValueError):
        spki_der(bad)


# ---------------------------------------------------------------- usability

D32, D64 = b"\x01" * 32, b"\x02" * 64


def test_usable_for_smtp_table(good: Issued) -> None:
    cert_der = der(good.cert)
    table = [
        (TlsaRecord(3, 1, 1, D32), True, "usable"),
        (TlsaRecord(2, 0, 2, D64), True, "usable"),
        (TlsaRecord(3, 0, 0, cert_der), True, "usable"),
        (TlsaRecord(2, 1, 0, spki_der(cert_der)), True, "usable"),
        (TlsaRecord(0, 1, 1, D32), False, "PKIX usages 0 and 1"),
        (TlsaRecord(1, 1, 1, D32), False, "PKIX usages 0 and 1"),
        (TlsaRecord(4, 1, 1, D32), False, "unknown certificate usage"),
        (TlsaRecord(3, 2, 1, D32), False, "unknown selector"),
        (TlsaRecord(3, 1, 3, D32), False, "unknown matching type"),
        (TlsaRecord(3, 1, 1, D32[:31]), False, "31 bytes, a 32-byte digest"),
        (TlsaRecord(3, 1, 1, D64), False, "64 bytes, a 32-byte digest"),
        (TlsaRecord(3, 1, 2, D32), False, "32 bytes, a 64-byte digest"),
        (TlsaRecord(3, 0, 0, b"junk"), False, "not a DER certificate"),
        (TlsaRecord(3, 1, 0, b""), False, "not a DER SubjectPublicKeyInfo"),
        (TlsaRecord(3, 1, 0, cert_der), False, "not a DER SubjectPublicKeyInfo"),
    ]
    for record, usable, reason in table:
        got_usable, got_reason = usable_for_smtp(record)
        assert got_usable is usable, record
        assert reason in got_reason, (record, got_reason)


# ---------------------------------------------------------------- properties


@given(st.text())
def test_parse_raises_only_its_error(text: str) -> None:
    try:
        record = TlsaRecord.parse(text)
    except TlsaSyntaxError as exc:
        assert exc.reason
    else:
        assert TlsaRecord.parse(record.to_text()) == record


@given(
    usage=st.integers(0, 255),
    selector=st.integers(0, 255),
    mtype=st.integers(0, 255),
    data=st.binary(min_size=1, max_size=80),
)
def test_round_trip(usage: int, selector: int, mtype: int, data: bytes) -> None:
    record = TlsaRecord(usage, selector, mtype, data)
    assert TlsaRecord.parse(record.to_text()) == record
    usable_for_smtp(record)  # never raises


def test_owner_and_normal_form() -> None:
    assert tlsa_owner("MX.Example.Test.", 25) == "_25._tcp.mx.example.test"
    assert normalize_record("3 1 1 ABCD") == "3 1 1 abcd"
    assert normalize_record("3  1 1 zz") == "3 1 1 zz"  # kept (as it came) to be reported
