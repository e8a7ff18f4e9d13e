"""The TLS registries: lookups, derived traits, and agreement with the local OpenSSL."""

from __future__ import annotations

import ssl

import pytest

from mxtls.protocol import tls_registry as reg
from mxtls.protocol.tls_registry import (
    Authentication,
    BulkCipher,
    CipherMode,
    KeyExchange,
    TlsVersion,
)


def test_versions_have_wire_values_and_labels() -> None:
    assert [v.value for v in TlsVersion] == [0x0002, 0x0300, 0x0301, 0x0302, 0x0303, 0x0304]
    assert TlsVersion.TLS1_2.label == "TLSv1.2"
    assert reg.version_label(0x0300) == "SSLv3"
    assert reg.version_label(0x7F1C) == "0x7f1c"


@pytest.mark.parametrize(
    ("openssl", "code", "iana", "kx", "auth", "cipher", "bits", "mode", "min_version"),
    [
        (
            "ECDHE-RSA-AES128-GCM-SHA256", 0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            KeyExchange.ECDHE, Authentication.RSA, BulkCipher.AES, 128, CipherMode.GCM,
            TlsVersion.TLS1_2,
        ),
        (
            "DHE-RSA-CHACHA20-POLY1305", 0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            KeyExchange.DHE, Authentication.RSA, BulkCipher.CHACHA20, 256, CipherMode.POLY1305,
            TlsVersion.TLS1_2,
        ),
        (
            "DES-CBC3-SHA", 0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
            KeyExchange.RSA, Authentication.RSA, BulkCipher.TRIPLE_DES, 112, CipherMode.CBC,
            TlsVersion.SSL3,
        ),
        (
            "EXP-RC4-MD5", 0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5",
            KeyExchange.RSA, Authentication.RSA, BulkCipher.RC4, 40, CipherMode.STREAM,
            TlsVersion.SSL3,
        ),
        (
            "AECDH-AES256-SHA", 0xC019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA",
            KeyExchange.ECDHE, Authentication.ANON, BulkCipher.AES, 256, CipherMode.CBC,
            TlsVersion.SSL3,
        ),
        (
            "ECDH-ECDSA-AES128-SHA", 0xC004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA",
            KeyExchange.ECDH, Authentication.ECDSA, BulkCipher.AES, 128, CipherMode.CBC,
            TlsVersion.SSL3,
        ),
        (
            "DHE-PSK-AES128-CCM8", 0xC0AA, "TLS_PSK_DHE_WITH_AES_128_CCM_8",
            KeyExchange.DHE_PSK, Authentication.PSK, BulkCipher.AES, 128, CipherMode.CCM_8,
            TlsVersion.TLS1_2,
        ),
        (
            "PSK-AES128-CBC-SHA256", 0x00AE, "TLS_PSK_WITH_AES_128_CBC_SHA256",
            KeyExchange.PSK, Authentication.PSK, BulkCipher.AES, 128, CipherMode.CBC,
            TlsVersion.TLS1_0,
        ),
        (
            "TLS_AES_256_GCM_SHA384", 0x1302, "TLS_AES_256_GCM_SHA384",
            KeyExchange.ANY, Authentication.ANY, BulkCipher.AES, 256, CipherMode.GCM,
            TlsVersion.TLS1_3,
        ),
        (
            "SEED-SHA", 0x0096, "TLS_RSA_WITH_SEED_CBC_SHA",
            KeyExchange.RSA, Authentication.RSA, BulkCipher.SEED, 128, CipherMode.CBC,
            TlsVersion.SSL3,
        ),
        (
            "ECDHE-ARIA256-GCM-SHA384", 0xC061, "TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384",
            KeyExchange.ECDHE, Authentication.RSA, BulkCipher.ARIA, 256, CipherMode.GCM,
            TlsVersion.TLS1_2,
        ),
    ],
)  # fmt: skip
def test_lookups_and_traits(
    openssl: str,
    code: int,
    iana: str,
    kx: KeyExchange,
    auth: Authentication,
    cipher: BulkCipher,
    bits: int,
    mode: CipherMode,
    min_version: TlsVersion,
) -> None:
    suite = reg.cipher_suite_by_openssl_name(openssl)
    assert suite is not None
    assert suite is reg.cipher_suite(code) is reg.cipher_suite_by_iana_name(iana)
    assert (suite.kx, suite.auth, suite.cipher, suite.bits, suite.mode) == (
        kx,
        auth,
        cipher,
        bits,
        mode,
    )
    assert suite.min_version is min_version


@pytest.mark.parametrize(
    ("openssl", "weak", "forward_secret", "export", "sweet32", "aead"),
    [
        ("ECDHE-ECDSA-AES256-GCM-SHA384", False, True, False, False, True),
        ("AES128-SHA", False, False, False, False, False),
        ("RC4-SHA", True, False, False, False, False),
        ("DES-CBC-SHA", True, False, False, True, False),
        ("DES-CBC3-SHA", True, False, False, True, False),
        ("IDEA-CBC-SHA", False, False, False, True, False),
        ("EXP-EDH-RSA-DES-CBC-SHA", True, True, True, True, False),
        ("EXP1024-RC4-SHA", True, False, True, False, False),
        ("ADH-AES256-GCM-SHA384", True, True, False, False, True),
        ("NULL-SHA256", True, False, False, False, False),
        ("NULL", True, False, False, False, False),
        ("TLS_CHACHA20_POLY1305_SHA256", False, True, False, False, True),
        ("TLS_SHA256_SHA256", True, True, False, False, False),
    ],
)
def test_flags(
    openssl: str, weak: bool, forward_secret: bool, export: bool, sweet32: bool, aead: bool
) -> None:
    suite = reg.cipher_suite_by_openssl_name(openssl)
    assert suite is not None
    assert suite.weak is weak
    assert suite.forward_secret is forward_secret
    assert suite.export is export
    assert suite.sweet32 is sweet32
    assert suite.aead is aead
    assert suite.cbc is (suite.mode is CipherMode.CBC)


def test_table_covers_every_family_testssl_names() -> None:
    suites = list(reg.CIPHER_SUITES.values())
    assert len(suites) > 300
    assert {s.cipher for s in suites} == set(BulkCipher)
    assert {s.kx for s in suites} == set(KeyExchange)
    assert sum(s.export for s in suites) >= 20
    assert sum(s.tls13_only for s in suites) == 9  # RFC 8446: 5, RFC 8998: 2, RFC 9150: 2
    assert {0x1301, 0x1302, 0x1303, 0x1304, 0x1305} <= set(reg.CIPHER_SUITES)
    # Signalling values are not suites a server can choose.
    assert reg.cipher_suite(reg.TLS_EMPTY_RENEGOTIATION_INFO_SCSV) is None
    assert reg.cipher_suite(reg.TLS_FALLBACK_SCSV) is None


def test_names_are_unique_and_well_formed() -> None:
    suites = list(reg.CIPHER_SUITES.values())
    openssl = [s.openssl_name for s in suites if s.openssl_name]
    assert len(openssl) == len(set(openssl))
    assert len({s.iana_name for s in suites}) == len(suites)
    assert all(s.iana_name.startswith("TLS_") for s in suites)
    assert all(0 <= s.code <= 0xFFFF for s in suites)


def test_table_agrees_with_local_openssl() -> None:
    """Every suite this machine's OpenSSL knows is in the table with the same facts."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    local = ctx.get_ciphers()
    assert len(local) > 20
    kea = {
        "kx-rsa": {KeyExchange.RSA},
        "kx-dhe": {KeyExchange.DHE},
        "kx-ecdhe": {KeyExchange.ECDHE},
        "kx-psk": {KeyExchange.PSK},
        "kx-dhe-psk": {KeyExchange.DHE_PSK},
        "kx-ecdhe-psk": {KeyExchange.ECDHE_PSK},
        "kx-rsa-psk": {KeyExchange.RSA_PSK},
        "kx-srp": {KeyExchange.SRP},
        "kx-any": {KeyExchange.ANY},
    }
    for info in local:
        suite = reg.cipher_suite(info["id"] & 0xFFFF)
        assert suite is not None, info["name"]
        assert suite.openssl_name == info["name"]
        assert suite.aead is info["aead"], info["name"]
        assert suite.bits == info["strength_bits"], info["name"]
        assert suite.kx in kea[info["kea"]], info["name"]


def test_suites_for_version() -> None:
    tls13 = reg.suites_for_version(TlsVersion.TLS1_3)
    assert set(tls13) == {s.code for s in reg.CIPHER_SUITES.values() if s.tls13_only}
    ssl3 = set(reg.suites_for_version(TlsVersion.SSL3))
    tls12 = set(reg.suites_for_version(TlsVersion.TLS1_2))
    assert 0x0005 in ssl3 and 0xC02F not in ssl3
    assert ssl3 < tls12 and 0xC02F in tls12 and 0x1301 not in tls12


def test_sslv2_cipher_specs() -> None:
    specs = reg.SSL2_CIPHER_SPECS
    assert {0x010080, 0x020080, 0x030080, 0x040080, 0x050080, 0x060040, 0x0700C0} <= set(specs)
    assert specs[0x020080].export and specs[0x020080].bits == 40
    assert specs[0x0700C0].cipher is BulkCipher.TRIPLE_DES


def test_named_groups() -> None:
    assert reg.named_group(29) == reg.named_group_by_name("X25519")
    x25519 = reg.named_group_by_name("x25519")
    assert x25519 is not None and x25519.key_share_bytes == 32
    hybrid = reg.named_group(0x11EC)
    assert hybrid is not None and hybrid.name == "X25519MLKEM768"
    assert hybrid.kind is reg.GroupKind.HYBRID and hybrid.key_share_bytes == 1216
    for code, bits in ((0x0100, 2048), (0x0101, 3072), (0x0102, 4096), (0x0104, 8192)):
        group = reg.named_group(code)
        assert group is not None and group.kind is reg.GroupKind.FFDHE
        assert group.size_bits == bits
    assert [reg.group_name(c) for c in (23, 24, 25, 30)] == [
        "secp256r1",
        "secp384r1",
        "secp521r1",
        "x448",
    ]
    sect163k1 = reg.named_group(1)
    assert sect163k1 is not None and sect163k1.deprecated
    assert reg.group_name(0x1234) == "0x1234"
    assert all(reg.NAMED_GROUPS[int(c)].code == c for c in reg.NamedGroupCode)


def test_signature_schemes_alerts_grease() -> None:
    assert reg.SIGNATURE_SCHEMES[0x0804] == "rsa_pss_rsae_sha256"
    assert reg.SIGNATURE_SCHEMES[0x0201] == "rsa_pkcs1_sha1"
    assert reg.ALERT_DESCRIPTIONS[40] == "handshake_failure"
    assert reg.ALERT_DESCRIPTIONS[70] == "protocol_version"
    assert reg.is_grease(0x0A0A) and reg.is_grease(0xFAFA)
    assert not reg.is_grease(0x0A1A) and not reg.is_grease(0x1301)
    assert reg.cipher_suite_name(0xC02F) == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    assert reg.cipher_suite_name(0xFAFA) == "0xfafa"
