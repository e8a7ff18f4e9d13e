"""Negotiated protocol and cipher checks: one handshake in, the exact set of codes out."""

from __future__ import annotations

import pytest

from mxtls.checks.tls import check_tls, cipher_weakness, has_forward_secrecy, normalize_version
from mxtls.models.findings import Severity

from .builders import codes, endpoint, handshake, severities, stopped

# (version, cipher as OpenSSL or IANA names it, expected codes)
CASES: list[tuple[str, str, set[str]]] = [
    ("TLSv1.3", "TLS_AES_256_GCM_SHA384", set()),
    ("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", set()),
    ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", set()),  # no tls.no_tls13 from one handshake
    ("TLSv1.2", "ECDHE-ECDSA-CHACHA20-POLY1305", set()),
    ("TLSv1.2", "DHE-RSA-AES256-GCM-SHA384", set()),
    ("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", set()),
    ("TLSv1.2", "AES128-GCM-SHA256", {"tls.no_forward_secrecy"}),
    ("TLSv1.2", "AES256-SHA256", {"tls.no_forward_secrecy"}),
    ("TLSv1.2", "ECDH-RSA-AES128-GCM-SHA256", {"tls.no_forward_secrecy"}),  # static ECDH
    ("TLSv1.2", "TLS_RSA_WITH_AES_128_CBC_SHA", {"tls.no_forward_secrecy"}),
    ("TLSv1.2", "DES-CBC3-SHA", {"tls.cipher_weak", "tls.no_forward_secrecy"}),
    ("TLSv1.2", "ECDHE-RSA-DES-CBC3-SHA", {"tls.cipher_weak"}),
    ("TLSv1.2", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", {"tls.cipher_weak", "tls.no_forward_secrecy"}),
    ("TLSv1.2", "RC4-SHA", {"tls.cipher_weak", "tls.no_forward_secrecy"}),
    ("TLSv1.2", "ECDHE-RSA-RC4-SHA", {"tls.cipher_weak"}),
    ("TLSv1.2", "ADH-AES128-SHA", {"tls.cipher_weak"}),
    ("TLSv1.2", "AECDH-AES256-SHA", {"tls.cipher_weak"}),
    ("TLSv1.2", "TLS_DH_anon_WITH_AES_128_CBC_SHA", {"tls.cipher_weak"}),
    ("TLSv1.2", "NULL-SHA256", {"tls.cipher_weak", "tls.no_forward_secrecy"}),
    ("TLSv1.2", "ECDHE-RSA-NULL-SHA", {"tls.cipher_weak"}),
    ("TLSv1", "EXP-RC4-MD5", {"tls.protocol_legacy", "tls.cipher_weak", "tls.no_forward_secrecy"}),
    ("TLSv1", "EDH-RSA-DES-CBC-SHA", {"tls.protocol_legacy", "tls.cipher_weak"}),
    ("TLSv1", "ECDHE-RSA-AES128-SHA", {"tls.protocol_legacy"}),
    ("TLSv1.1", "ECDHE-RSA-AES256-SHA", {"tls.protocol_legacy"}),
    ("SSLv3", "ECDHE-RSA-AES256-SHA", {"tls.protocol_obsolete"}),
    (
        "SSLv2",
        "DES-CBC3-MD5",
        {"tls.protocol_obsolete", "tls.cipher_weak", "tls.no_forward_secrecy"},
    ),
]


@pytest.mark.parametrize(
    ("version", "cipher", "expected"), CASES, ids=[f"{v}-{c}" for v, c, _ in CASES]
)
def test_negotiated_codes(version: str, cipher: str, expected: set[str]) -> None:
    obs = endpoint(handshake=handshake(version=version, cipher=cipher))
    assert codes(check_tls(obs)) == expected


def test_severities() -> None:
    obs = endpoint(handshake=handshake(version="SSLv3", cipher="RC4-MD5"))
    assert severities(check_tls(obs)) == {
        "tls.protocol_obsolete": Severity.ERROR,
        "tls.cipher_weak": Severity.ERROR,
        "tls.no_forward_secrecy": Severity.WARNING,
    }
    legacy = endpoint(handshake=handshake(version="TLSv1.1", cipher="ECDHE-RSA-AES128-SHA"))
    assert severities(check_tls(legacy)) == {"tls.protocol_legacy": Severity.WARNING}


def test_no_handshake_no_findings() -> None:
    assert check_tls(stopped("handshake", "tls", handshake_error="alert")) == []


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("TLSv1.3", "TLSv1.3"),
        ("TLSv1.2", "TLSv1.2"),
        ("TLS 1.2", "TLSv1.2"),
        ("TLS1_2", "TLSv1.2"),
        ("TLSv1", "TLSv1.0"),
        ("TLSv1.0", "TLSv1.0"),
        ("tlsv1.1", "TLSv1.1"),
        ("SSLv3", "SSLv3"),
        ("SSL 2.0", "SSLv2"),
        ("QUIC", "QUIC"),
    ],
)
def test_normalize_version(raw: str, normal: str) -> None:
    assert normalize_version(raw) == normal


def test_weakness_reasons() -> None:
    assert cipher_weakness("DES-CBC3-SHA") == "3DES"
    assert cipher_weakness("DES-CBC-SHA") == "DES"
    assert cipher_weakness("RC4-SHA") == "RC4"
    assert cipher_weakness("AES128-GCM-SHA256") is None
    assert has_forward_secrecy("AES128-GCM-SHA256", "TLSv1.3")  # 1.3 is always ephemeral
