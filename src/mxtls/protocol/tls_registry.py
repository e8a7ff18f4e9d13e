"""TLS registries: protocol versions, cipher suites, groups, signature schemes, alerts.

Every closed set the wire codec (:mod:`mxtls.protocol.tls_wire`) and the checks speak
of lives here as a table, so that docs can be generated from it and a rule such as
"RC4 is weak" is written once.

The cipher-suite table is data: one row per suite with its IANA code point, its IANA
name and its OpenSSL name (``-`` when OpenSSL has none).  Rows cover the IANA "TLS
Cipher Suites" registry as far as deployed servers may pick from it (NULL, anonymous,
EXPORT, RC4, DES, 3DES, IDEA, SEED, CAMELLIA, ARIA, AES-CBC/GCM/CCM, CHACHA20, PSK,
SRP, KRB5 and the TLS 1.3 suites), plus the three pre-standard ChaCha20 code points
(``..._OLD``, draft-agl-tls-chacha20poly1305) that older servers still answer to.
The traits (key exchange, authentication, bulk cipher, key bits, mode, MAC) are
*derived* from the IANA name by :func:`_traits`, which is a handful of small tables,
so a new row needs no hand-written traits.  GOST, FIPS (0xFEFE-style) and CECPQ1
code points are left out: they never had an IANA registration.

SSLv2 has its own 3-byte "cipher specs" (:data:`SSL2_CIPHER_SPECS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from types import MappingProxyType


class TlsVersion(IntEnum):
    """Protocol versions with their wire values.

    ``SSL2`` is special: SSLv2 has its own record format and carries ``0x0002`` in
    its CLIENT-HELLO; it never appears in a TLS record header.
    """

    SSL2 = 0x0002
    SSL3 = 0x0300
    TLS1_0 = 0x0301
    TLS1_1 = 0x0302
    TLS1_2 = 0x0303
    TLS1_3 = 0x0304

    @property
    def label(self) -> str:
        """The customary name: ``"SSLv3"``, ``"TLSv1.2"``..."""
        return _VERSION_LABELS[self]


_VERSION_LABELS = {
    TlsVersion.SSL2: "SSLv2",
    TlsVersion.SSL3: "SSLv3",
    TlsVersion.TLS1_0: "TLSv1",
    TlsVersion.TLS1_1: "TLSv1.1",
    TlsVersion.TLS1_2: "TLSv1.2",
    TlsVersion.TLS1_3: "TLSv1.3",
}


def version_label(value: int) -> str:
    """A printable name for any 16-bit version value, known or not (``"0x7f1c"``)."""
    try:
        return TlsVersion(value).label
    except ValueError:
        return f"{value:#06x}"


# Signalling cipher suite values: offered like suites, never selected.
TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF  # RFC 5746 §3.3
TLS_FALLBACK_SCSV = 0x5600  # RFC 7507 §6


def is_grease(value: int) -> bool:
    """True for the reserved GREASE values 0x0A0A, 0x1A1A ... 0xFAFA (RFC 8701 §2)."""
    return (value & 0x0F0F) == 0x0A0A and (value >> 8) == (value & 0xFF)


class KeyExchange(StrEnum):
    """How the premaster secret is agreed."""

    NULL = "NULL"
    RSA = "RSA"  # client encrypts to the certificate key: no forward secrecy
    DH = "DH"  # static DH in the certificate
    DHE = "DHE"
    ECDH = "ECDH"  # static ECDH in the certificate
    ECDHE = "ECDHE"
    PSK = "PSK"
    DHE_PSK = "DHE_PSK"
    ECDHE_PSK = "ECDHE_PSK"
    RSA_PSK = "RSA_PSK"
    SRP = "SRP"
    KRB5 = "KRB5"
    ANY = "ANY"  # TLS 1.3: negotiated separately (always ephemeral)


class Authentication(StrEnum):
    """What authenticates the server."""

    NULL = "NULL"
    ANON = "anon"
    RSA = "RSA"
    DSS = "DSS"
    ECDSA = "ECDSA"
    PSK = "PSK"
    SRP = "SRP"
    KRB5 = "KRB5"
    ANY = "ANY"  # TLS 1.3: by the certificate and signature_algorithms


class BulkCipher(StrEnum):
    """The record-protection algorithm."""

    NULL = "NULL"
    RC4 = "RC4"
    RC2 = "RC2"
    DES = "DES"
    TRIPLE_DES = "3DES"
    IDEA = "IDEA"
    SEED = "SEED"
    AES = "AES"
    CAMELLIA = "CAMELLIA"
    ARIA = "ARIA"
    CHACHA20 = "CHACHA20"
    SM4 = "SM4"


class CipherMode(StrEnum):
    """How the bulk cipher is used."""

    NULL = "null"
    STREAM = "stream"
    CBC = "cbc"
    GCM = "gcm"
    CCM = "ccm"
    CCM_8 = "ccm_8"
    POLY1305 = "poly1305"


_AEAD_MODES = frozenset({CipherMode.GCM, CipherMode.CCM, CipherMode.CCM_8, CipherMode.POLY1305})
_WEAK_CIPHERS = frozenset(
    {BulkCipher.NULL, BulkCipher.RC4, BulkCipher.RC2, BulkCipher.DES, BulkCipher.TRIPLE_DES}
)
_EPHEMERAL_KX = frozenset(
    {KeyExchange.DHE, KeyExchange.ECDHE, KeyExchange.DHE_PSK, KeyExchange.ECDHE_PSK}
    | {KeyExchange.ANY}
)
_PSK_KX = frozenset(
    {KeyExchange.PSK, KeyExchange.DHE_PSK, KeyExchange.ECDHE_PSK, KeyExchange.RSA_PSK}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CipherSuite:
    """One TLS cipher suite and the traits a check judges it by.

    ``bits`` is the effective symmetric key strength as OpenSSL reports it
    (3DES counts 112, EXPORT suites 40 or 56).  ``block_bits`` is the cipher's
    block size (None for stream ciphers, ChaCha20 and NULL); 64-bit blocks are
    what SWEET32 (CVE-2016-2183) exploits.  ``min_version`` is the lowest protocol
    version that can negotiate the suite (SHA-256/384 and AEAD suites need the
    TLS 1.2 PRF; RFC 5487 PSK suites work from TLS 1.0; others follow OpenSSL's
    table).
    """

    code: int
    iana_name: str
    openssl_name: str | None
    kx: KeyExchange
    auth: Authentication
    cipher: BulkCipher
    bits: int
    mode: CipherMode
    block_bits: int | None
    mac: str  # "MD5", "SHA1", "SHA256", "SHA384", "SM3", "NULL" or "AEAD"
    export: bool
    min_version: TlsVersion

    @property
    def aead(self) -> bool:
        """GCM, CCM or ChaCha20-Poly1305."""
        return self.mode in _AEAD_MODES

    @property
    def cbc(self) -> bool:
        """A CBC-mode suite (MAC-then-encrypt: Lucky13, POODLE-TLS class)."""
        return self.mode is CipherMode.CBC

    @property
    def anonymous(self) -> bool:
        """No server authentication at all (ADH/AECDH, or TLS_NULL_WITH_NULL_NULL)."""
        return self.auth in (Authentication.ANON, Authentication.NULL)

    @property
    def weak(self) -> bool:
        """NULL, anonymous, EXPORT, RC4, DES or 3DES: what ``tls.cipher_weak`` names."""
        return self.export or self.anonymous or self.cipher in _WEAK_CIPHERS

    @property
    def forward_secret(self) -> bool:
        """The key exchange is ephemeral (DHE/ECDHE, and every TLS 1.3 suite)."""
        return self.kx in _EPHEMERAL_KX

    @property
    def sweet32(self) -> bool:
        """A 64-bit block cipher (3DES, DES, IDEA, RC2): CVE-2016-2183."""
        return self.block_bits == 64

    @property
    def tls13_only(self) -> bool:
        """A TLS 1.3 suite, which names no key exchange and cannot be used before 1.3."""
        return self.min_version is TlsVersion.TLS1_3


# --- deriving traits from IANA names ---------------------------------------------------

# "TLS_<kx/auth>_WITH_<cipher>_<mac>"; EXPORT/EXPORT1024 suffixes are stripped first.
_KX_AUTH: Mapping[str, tuple[KeyExchange, Authentication]] = {
    "NULL": (KeyExchange.NULL, Authentication.NULL),
    "RSA": (KeyExchange.RSA, Authentication.RSA),
    "DH_DSS": (KeyExchange.DH, Authentication.DSS),
    "DH_RSA": (KeyExchange.DH, Authentication.RSA),
    "DHE_DSS": (KeyExchange.DHE, Authentication.DSS),
    "DHE_RSA": (KeyExchange.DHE, Authentication.RSA),
    "DH_anon": (KeyExchange.DHE, Authentication.ANON),
    "ECDH_ECDSA": (KeyExchange.ECDH, Authentication.ECDSA),
    "ECDH_RSA": (KeyExchange.ECDH, Authentication.RSA),
    "ECDHE_ECDSA": (KeyExchange.ECDHE, Authentication.ECDSA),
    "ECDHE_RSA": (KeyExchange.ECDHE, Authentication.RSA),
    "ECDH_anon": (KeyExchange.ECDHE, Authentication.ANON),
    "PSK": (KeyExchange.PSK, Authentication.PSK),
    "DHE_PSK": (KeyExchange.DHE_PSK, Authentication.PSK),
    "PSK_DHE": (KeyExchange.DHE_PSK, Authentication.PSK),  # IANA's spelling for 0xC0AA/AB
    "ECDHE_PSK": (KeyExchange.ECDHE_PSK, Authentication.PSK),
    "RSA_PSK": (KeyExchange.RSA_PSK, Authentication.RSA),
    "SRP_SHA": (KeyExchange.SRP, Authentication.SRP),
    "SRP_SHA_RSA": (KeyExchange.SRP, Authentication.RSA),
    "SRP_SHA_DSS": (KeyExchange.SRP, Authentication.DSS),
    "KRB5": (KeyExchange.KRB5, Authentication.KRB5),
}

# cipher token -> (cipher, effective bits, mode, block bits); matched longest first.
_CIPHERS: dict[str, tuple[BulkCipher, int, CipherMode, int | None]] = {
    "NULL": (BulkCipher.NULL, 0, CipherMode.NULL, None),
    "RC4_40": (BulkCipher.RC4, 40, CipherMode.STREAM, None),
    "RC4_56": (BulkCipher.RC4, 56, CipherMode.STREAM, None),
    "RC4_128": (BulkCipher.RC4, 128, CipherMode.STREAM, None),
    "RC2_CBC_40": (BulkCipher.RC2, 40, CipherMode.CBC, 64),
    "RC2_CBC_56": (BulkCipher.RC2, 56, CipherMode.CBC, 64),
    "RC2_56": (BulkCipher.RC2, 56, CipherMode.CBC, 64),
    "DES40_CBC": (BulkCipher.DES, 40, CipherMode.CBC, 64),
    "DES_CBC_40": (BulkCipher.DES, 40, CipherMode.CBC, 64),
    "DES_CBC": (BulkCipher.DES, 56, CipherMode.CBC, 64),
    "3DES_EDE_CBC": (BulkCipher.TRIPLE_DES, 112, CipherMode.CBC, 64),
    "IDEA_CBC": (BulkCipher.IDEA, 128, CipherMode.CBC, 64),
    "SEED_CBC": (BulkCipher.SEED, 128, CipherMode.CBC, 128),
    "CHACHA20_POLY1305": (BulkCipher.CHACHA20, 256, CipherMode.POLY1305, None),
    "SM4_GCM": (BulkCipher.SM4, 128, CipherMode.GCM, 128),
    "SM4_CCM": (BulkCipher.SM4, 128, CipherMode.CCM, 128),
}
for _family, _cipher in (
    ("AES", BulkCipher.AES),
    ("CAMELLIA", BulkCipher.CAMELLIA),
    ("ARIA", BulkCipher.ARIA),
):
    for _bits in (128, 256):
        for _suffix, _mode in (
            ("CBC", CipherMode.CBC),
            ("GCM", CipherMode.GCM),
            ("CCM", CipherMode.CCM),
            ("CCM_8", CipherMode.CCM_8),
        ):
            _CIPHERS[f"{_family}_{_bits}_{_suffix}"] = (_cipher, _bits, _mode, 128)
_CIPHER_TOKENS = sorted(_CIPHERS, key=len, reverse=True)

_MACS = {"": "AEAD", "MD5": "MD5", "SHA": "SHA1", "SHA256": "SHA256", "SHA384": "SHA384"}
_MACS |= {"SM3": "SM3", "NULL": "NULL"}


def _cipher_and_mac(rest: str) -> tuple[tuple[BulkCipher, int, CipherMode, int | None], str]:
    """Split ``AES_128_CBC_SHA256`` into the cipher traits and the MAC name."""
    if rest.startswith("SHA"):  # RFC 9150 integrity-only TLS 1.3 suites: TLS_SHA256_SHA256
        return _CIPHERS["NULL"], rest.split("_")[0]
    for token in _CIPHER_TOKENS:
        if rest == token or rest.startswith(token + "_"):
            mac = rest[len(token) + 1 :].removesuffix("_OLD")
            return _CIPHERS[token], _MACS[mac]
    raise ValueError(f"unknown cipher in {rest!r}")


def _traits(code: int, iana: str, openssl: str) -> CipherSuite:
    """Build a :class:`CipherSuite` from one data row (raises ValueError on a bad row)."""
    body = iana.removeprefix("TLS_")
    if "_WITH_" in body:
        kx_part, rest = body.split("_WITH_", 1)
        export = "_EXPORT" in kx_part
        kx_part = kx_part.replace("_EXPORT1024", "").replace("_EXPORT", "")
        kx, auth = _KX_AUTH[kx_part]
        tls13 = False
    else:  # TLS 1.3: TLS_AES_128_GCM_SHA256
        rest, export, tls13 = body, False, True
        kx, auth = KeyExchange.ANY, Authentication.ANY
    (cipher, bits, mode, block), mac = _cipher_and_mac(rest)
    if tls13:
        # The hash names the HKDF hash, not a MAC (except in RFC 9150's NULL suites).
        mac = mac if cipher is BulkCipher.NULL else "AEAD"
        min_version = TlsVersion.TLS1_3
    elif mode in _AEAD_MODES:
        mac, min_version = "AEAD", TlsVersion.TLS1_2
    elif mac in ("SHA256", "SHA384"):
        min_version = TlsVersion.TLS1_0 if kx in _PSK_KX else TlsVersion.TLS1_2
    else:
        min_version = TlsVersion.SSL3
    return CipherSuite(
        code=code,
        iana_name=iana,
        openssl_name=None if openssl == "-" else openssl,
        kx=kx,
        auth=auth,
        cipher=cipher,
        bits=bits,
        mode=mode,
        block_bits=block,
        mac=mac,
        export=export,
        min_version=min_version,
    )


# --- the cipher-suite table ------------------------------------------------------------

# code        IANA name                                   OpenSSL name
_SUITE_ROWS = """
0x0000 TLS_NULL_WITH_NULL_NULL                           NULL
0x0001 TLS_RSA_WITH_NULL_MD5                             NULL-MD5
0x0002 TLS_RSA_WITH_NULL_SHA                             NULL-SHA
0x0003 TLS_RSA_EXPORT_WITH_RC4_40_MD5                    EXP-RC4-MD5
0x0004 TLS_RSA_WITH_RC4_128_MD5                          RC4-MD5
0x0005 TLS_RSA_WITH_RC4_128_SHA                          RC4-SHA
0x0006 TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5                EXP-RC2-CBC-MD5
0x0007 TLS_RSA_WITH_IDEA_CBC_SHA                         IDEA-CBC-SHA
0x0008 TLS_RSA_EXPORT_WITH_DES40_CBC_SHA                 EXP-DES-CBC-SHA
0x0009 TLS_RSA_WITH_DES_CBC_SHA                          DES-CBC-SHA
0x000a TLS_RSA_WITH_3DES_EDE_CBC_SHA                     DES-CBC3-SHA
0x000b TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA              EXP-DH-DSS-DES-CBC-SHA
0x000c TLS_DH_DSS_WITH_DES_CBC_SHA                       DH-DSS-DES-CBC-SHA
0x000d TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA                  DH-DSS-DES-CBC3-SHA
0x000e TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA              EXP-DH-RSA-DES-CBC-SHA
0x000f TLS_DH_RSA_WITH_DES_CBC_SHA                       DH-RSA-DES-CBC-SHA
0x0010 TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA                  DH-RSA-DES-CBC3-SHA
0x0011 TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA             EXP-EDH-DSS-DES-CBC-SHA
0x0012 TLS_DHE_DSS_WITH_DES_CBC_SHA                      EDH-DSS-DES-CBC-SHA
0x0013 TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA                 EDH-DSS-DES-CBC3-SHA
0x0014 TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA             EXP-EDH-RSA-DES-CBC-SHA
0x0015 TLS_DHE_RSA_WITH_DES_CBC_SHA                      EDH-RSA-DES-CBC-SHA
0x0016 TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA                 EDH-RSA-DES-CBC3-SHA
0x0017 TLS_DH_anon_EXPORT_WITH_RC4_40_MD5                EXP-ADH-RC4-MD5
0x0018 TLS_DH_anon_WITH_RC4_128_MD5                      ADH-RC4-MD5
0x0019 TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA             EXP-ADH-DES-CBC-SHA
0x001a TLS_DH_anon_WITH_DES_CBC_SHA                      ADH-DES-CBC-SHA
0x001b TLS_DH_anon_WITH_3DES_EDE_CBC_SHA                 ADH-DES-CBC3-SHA
0x001e TLS_KRB5_WITH_DES_CBC_SHA                         KRB5-DES-CBC-SHA
0x001f TLS_KRB5_WITH_3DES_EDE_CBC_SHA                    KRB5-DES-CBC3-SHA
0x0020 TLS_KRB5_WITH_RC4_128_SHA                         KRB5-RC4-SHA
0x0021 TLS_KRB5_WITH_IDEA_CBC_SHA                        KRB5-IDEA-CBC-SHA
0x0022 TLS_KRB5_WITH_DES_CBC_MD5                         KRB5-DES-CBC-MD5
0x0023 TLS_KRB5_WITH_3DES_EDE_CBC_MD5                    KRB5-DES-CBC3-MD5
0x0024 TLS_KRB5_WITH_RC4_128_MD5                         KRB5-RC4-MD5
0x0025 TLS_KRB5_WITH_IDEA_CBC_MD5                        KRB5-IDEA-CBC-MD5
0x0026 TLS_KRB5_EXPORT_WITH_DES_CBC_40_SHA               EXP-KRB5-DES-CBC-SHA
0x0027 TLS_KRB5_EXPORT_WITH_RC2_CBC_40_SHA               EXP-KRB5-RC2-CBC-SHA
0x0028 TLS_KRB5_EXPORT_WITH_RC4_40_SHA                   EXP-KRB5-RC4-SHA
0x0029 TLS_KRB5_EXPORT_WITH_DES_CBC_40_MD5               EXP-KRB5-DES-CBC-MD5
0x002a TLS_KRB5_EXPORT_WITH_RC2_CBC_40_MD5               EXP-KRB5-RC2-CBC-MD5
0x002b TLS_KRB5_EXPORT_WITH_RC4_40_MD5                   EXP-KRB5-RC4-MD5
0x002c TLS_PSK_WITH_NULL_SHA                             PSK-NULL-SHA
0x002d TLS_DHE_PSK_WITH_NULL_SHA                         DHE-PSK-NULL-SHA
0x002e TLS_RSA_PSK_WITH_NULL_SHA                         RSA-PSK-NULL-SHA
0x002f TLS_RSA_WITH_AES_128_CBC_SHA                      AES128-SHA
0x0030 TLS_DH_DSS_WITH_AES_128_CBC_SHA                   DH-DSS-AES128-SHA
0x0031 TLS_DH_RSA_WITH_AES_128_CBC_SHA                   DH-RSA-AES128-SHA
0x0032 TLS_DHE_DSS_WITH_AES_128_CBC_SHA                  DHE-DSS-AES128-SHA
0x0033 TLS_DHE_RSA_WITH_AES_128_CBC_SHA                  DHE-RSA-AES128-SHA
0x0034 TLS_DH_anon_WITH_AES_128_CBC_SHA                  ADH-AES128-SHA
0x0035 TLS_RSA_WITH_AES_256_CBC_SHA                      AES256-SHA
0x0036 TLS_DH_DSS_WITH_AES_256_CBC_SHA                   DH-DSS-AES256-SHA
0x0037 TLS_DH_RSA_WITH_AES_256_CBC_SHA                   DH-RSA-AES256-SHA
0x0038 TLS_DHE_DSS_WITH_AES_256_CBC_SHA                  DHE-DSS-AES256-SHA
0x0039 TLS_DHE_RSA_WITH_AES_256_CBC_SHA                  DHE-RSA-AES256-SHA
0x003a TLS_DH_anon_WITH_AES_256_CBC_SHA                  ADH-AES256-SHA
0x003b TLS_RSA_WITH_NULL_SHA256                          NULL-SHA256
0x003c TLS_RSA_WITH_AES_128_CBC_SHA256                   AES128-SHA256
0x003d TLS_RSA_WITH_AES_256_CBC_SHA256                   AES256-SHA256
0x003e TLS_DH_DSS_WITH_AES_128_CBC_SHA256                DH-DSS-AES128-SHA256
0x003f TLS_DH_RSA_WITH_AES_128_CBC_SHA256                DH-RSA-AES128-SHA256
0x0040 TLS_DHE_DSS_WITH_AES_128_CBC_SHA256               DHE-DSS-AES128-SHA256
0x0041 TLS_RSA_WITH_CAMELLIA_128_CBC_SHA                 CAMELLIA128-SHA
0x0042 TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA              DH-DSS-CAMELLIA128-SHA
0x0043 TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA              DH-RSA-CAMELLIA128-SHA
0x0044 TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA             DHE-DSS-CAMELLIA128-SHA
0x0045 TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA             DHE-RSA-CAMELLIA128-SHA
0x0046 TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA             ADH-CAMELLIA128-SHA
0x0060 TLS_RSA_EXPORT1024_WITH_RC4_56_MD5                EXP1024-RC4-MD5
0x0061 TLS_RSA_EXPORT1024_WITH_RC2_56_MD5                EXP1024-RC2-CBC-MD5
0x0062 TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA               EXP1024-DES-CBC-SHA
0x0063 TLS_DHE_DSS_EXPORT1024_WITH_DES_CBC_SHA           EXP1024-DHE-DSS-DES-CBC-SHA
0x0064 TLS_RSA_EXPORT1024_WITH_RC4_56_SHA                EXP1024-RC4-SHA
0x0065 TLS_DHE_DSS_EXPORT1024_WITH_RC4_56_SHA            EXP1024-DHE-DSS-RC4-SHA
0x0066 TLS_DHE_DSS_WITH_RC4_128_SHA                      DHE-DSS-RC4-SHA
0x0067 TLS_DHE_RSA_WITH_AES_128_CBC_SHA256               DHE-RSA-AES128-SHA256
0x0068 TLS_DH_DSS_WITH_AES_256_CBC_SHA256                DH-DSS-AES256-SHA256
0x0069 TLS_DH_RSA_WITH_AES_256_CBC_SHA256                DH-RSA-AES256-SHA256
0x006a TLS_DHE_DSS_WITH_AES_256_CBC_SHA256               DHE-DSS-AES256-SHA256
0x006b TLS_DHE_RSA_WITH_AES_256_CBC_SHA256               DHE-RSA-AES256-SHA256
0x006c TLS_DH_anon_WITH_AES_128_CBC_SHA256               ADH-AES128-SHA256
0x006d TLS_DH_anon_WITH_AES_256_CBC_SHA256               ADH-AES256-SHA256
0x0084 TLS_RSA_WITH_CAMELLIA_256_CBC_SHA                 CAMELLIA256-SHA
0x0085 TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA              DH-DSS-CAMELLIA256-SHA
0x0086 TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA              DH-RSA-CAMELLIA256-SHA
0x0087 TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA             DHE-DSS-CAMELLIA256-SHA
0x0088 TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA             DHE-RSA-CAMELLIA256-SHA
0x0089 TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA             ADH-CAMELLIA256-SHA
0x008a TLS_PSK_WITH_RC4_128_SHA                          PSK-RC4-SHA
0x008b TLS_PSK_WITH_3DES_EDE_CBC_SHA                     PSK-3DES-EDE-CBC-SHA
0x008c TLS_PSK_WITH_AES_128_CBC_SHA                      PSK-AES128-CBC-SHA
0x008d TLS_PSK_WITH_AES_256_CBC_SHA                      PSK-AES256-CBC-SHA
0x008e TLS_DHE_PSK_WITH_RC4_128_SHA                      DHE-PSK-RC4-SHA
0x008f TLS_DHE_PSK_WITH_3DES_EDE_CBC_SHA                 DHE-PSK-3DES-EDE-CBC-SHA
0x0090 TLS_DHE_PSK_WITH_AES_128_CBC_SHA                  DHE-PSK-AES128-CBC-SHA
0x0091 TLS_DHE_PSK_WITH_AES_256_CBC_SHA                  DHE-PSK-AES256-CBC-SHA
0x0092 TLS_RSA_PSK_WITH_RC4_128_SHA                      RSA-PSK-RC4-SHA
0x0093 TLS_RSA_PSK_WITH_3DES_EDE_CBC_SHA                 RSA-PSK-3DES-EDE-CBC-SHA
0x0094 TLS_RSA_PSK_WITH_AES_128_CBC_SHA                  RSA-PSK-AES128-CBC-SHA
0x0095 TLS_RSA_PSK_WITH_AES_256_CBC_SHA                  RSA-PSK-AES256-CBC-SHA
0x0096 TLS_RSA_WITH_SEED_CBC_SHA                         SEED-SHA
0x0097 TLS_DH_DSS_WITH_SEED_CBC_SHA                      DH-DSS-SEED-SHA
0x0098 TLS_DH_RSA_WITH_SEED_CBC_SHA                      DH-RSA-SEED-SHA
0x0099 TLS_DHE_DSS_WITH_SEED_CBC_SHA                     DHE-DSS-SEED-SHA
0x009a TLS_DHE_RSA_WITH_SEED_CBC_SHA                     DHE-RSA-SEED-SHA
0x009b TLS_DH_anon_WITH_SEED_CBC_SHA                     ADH-SEED-SHA
0x009c TLS_RSA_WITH_AES_128_GCM_SHA256                   AES128-GCM-SHA256
0x009d TLS_RSA_WITH_AES_256_GCM_SHA384                   AES256-GCM-SHA384
0x009e TLS_DHE_RSA_WITH_AES_128_GCM_SHA256               DHE-RSA-AES128-GCM-SHA256
0x009f TLS_DHE_RSA_WITH_AES_256_GCM_SHA384               DHE-RSA-AES256-GCM-SHA384
0x00a0 TLS_DH_RSA_WITH_AES_128_GCM_SHA256                DH-RSA-AES128-GCM-SHA256
0x00a1 TLS_DH_RSA_WITH_AES_256_GCM_SHA384                DH-RSA-AES256-GCM-SHA384
0x00a2 TLS_DHE_DSS_WITH_AES_128_GCM_SHA256               DHE-DSS-AES128-GCM-SHA256
0x00a3 TLS_DHE_DSS_WITH_AES_256_GCM_SHA384               DHE-DSS-AES256-GCM-SHA384
0x00a4 TLS_DH_DSS_WITH_AES_128_GCM_SHA256                DH-DSS-AES128-GCM-SHA256
0x00a5 TLS_DH_DSS_WITH_AES_256_GCM_SHA384                DH-DSS-AES256-GCM-SHA384
0x00a6 TLS_DH_anon_WITH_AES_128_GCM_SHA256               ADH-AES128-GCM-SHA256
0x00a7 TLS_DH_anon_WITH_AES_256_GCM_SHA384               ADH-AES256-GCM-SHA384
0x00a8 TLS_PSK_WITH_AES_128_GCM_SHA256                   PSK-AES128-GCM-SHA256
0x00a9 TLS_PSK_WITH_AES_256_GCM_SHA384                   PSK-AES256-GCM-SHA384
0x00aa TLS_DHE_PSK_WITH_AES_128_GCM_SHA256               DHE-PSK-AES128-GCM-SHA256
0x00ab TLS_DHE_PSK_WITH_AES_256_GCM_SHA384               DHE-PSK-AES256-GCM-SHA384
0x00ac TLS_RSA_PSK_WITH_AES_128_GCM_SHA256               RSA-PSK-AES128-GCM-SHA256
0x00ad TLS_RSA_PSK_WITH_AES_256_GCM_SHA384               RSA-PSK-AES256-GCM-SHA384
0x00ae TLS_PSK_WITH_AES_128_CBC_SHA256                   PSK-AES128-CBC-SHA256
0x00af TLS_PSK_WITH_AES_256_CBC_SHA384                   PSK-AES256-CBC-SHA384
0x00b0 TLS_PSK_WITH_NULL_SHA256                          PSK-NULL-SHA256
0x00b1 TLS_PSK_WITH_NULL_SHA384                          PSK-NULL-SHA384
0x00b2 TLS_DHE_PSK_WITH_AES_128_CBC_SHA256               DHE-PSK-AES128-CBC-SHA256
0x00b3 TLS_DHE_PSK_WITH_AES_256_CBC_SHA384               DHE-PSK-AES256-CBC-SHA384
0x00b4 TLS_DHE_PSK_WITH_NULL_SHA256                      DHE-PSK-NULL-SHA256
0x00b5 TLS_DHE_PSK_WITH_NULL_SHA384                      DHE-PSK-NULL-SHA384
0x00b6 TLS_RSA_PSK_WITH_AES_128_CBC_SHA256               RSA-PSK-AES128-CBC-SHA256
0x00b7 TLS_RSA_PSK_WITH_AES_256_CBC_SHA384               RSA-PSK-AES256-CBC-SHA384
0x00b8 TLS_RSA_PSK_WITH_NULL_SHA256                      RSA-PSK-NULL-SHA256
0x00b9 TLS_RSA_PSK_WITH_NULL_SHA384                      RSA-PSK-NULL-SHA384
0x00ba TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256              CAMELLIA128-SHA256
0x00bb TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA256           DH-DSS-CAMELLIA128-SHA256
0x00bc TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA256           DH-RSA-CAMELLIA128-SHA256
0x00bd TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256          DHE-DSS-CAMELLIA128-SHA256
0x00be TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256          DHE-RSA-CAMELLIA128-SHA256
0x00bf TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256          ADH-CAMELLIA128-SHA256
0x00c0 TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256              CAMELLIA256-SHA256
0x00c1 TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA256           DH-DSS-CAMELLIA256-SHA256
0x00c2 TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA256           DH-RSA-CAMELLIA256-SHA256
0x00c3 TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256          DHE-DSS-CAMELLIA256-SHA256
0x00c4 TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256          DHE-RSA-CAMELLIA256-SHA256
0x00c5 TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256          ADH-CAMELLIA256-SHA256
0x00c6 TLS_SM4_GCM_SM3                                   TLS_SM4_GCM_SM3
0x00c7 TLS_SM4_CCM_SM3                                   TLS_SM4_CCM_SM3
0x1301 TLS_AES_128_GCM_SHA256                            TLS_AES_128_GCM_SHA256
0x1302 TLS_AES_256_GCM_SHA384                            TLS_AES_256_GCM_SHA384
0x1303 TLS_CHACHA20_POLY1305_SHA256                      TLS_CHACHA20_POLY1305_SHA256
0x1304 TLS_AES_128_CCM_SHA256                            TLS_AES_128_CCM_SHA256
0x1305 TLS_AES_128_CCM_8_SHA256                          TLS_AES_128_CCM_8_SHA256
0xc001 TLS_ECDH_ECDSA_WITH_NULL_SHA                      ECDH-ECDSA-NULL-SHA
0xc002 TLS_ECDH_ECDSA_WITH_RC4_128_SHA                   ECDH-ECDSA-RC4-SHA
0xc003 TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA              ECDH-ECDSA-DES-CBC3-SHA
0xc004 TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA               ECDH-ECDSA-AES128-SHA
0xc005 TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA               ECDH-ECDSA-AES256-SHA
0xc006 TLS_ECDHE_ECDSA_WITH_NULL_SHA                     ECDHE-ECDSA-NULL-SHA
0xc007 TLS_ECDHE_ECDSA_WITH_RC4_128_SHA                  ECDHE-ECDSA-RC4-SHA
0xc008 TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA             ECDHE-ECDSA-DES-CBC3-SHA
0xc009 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA              ECDHE-ECDSA-AES128-SHA
0xc00a TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA              ECDHE-ECDSA-AES256-SHA
0xc00b TLS_ECDH_RSA_WITH_NULL_SHA                        ECDH-RSA-NULL-SHA
0xc00c TLS_ECDH_RSA_WITH_RC4_128_SHA                     ECDH-RSA-RC4-SHA
0xc00d TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA                ECDH-RSA-DES-CBC3-SHA
0xc00e TLS_ECDH_RSA_WITH_AES_128_CBC_SHA                 ECDH-RSA-AES128-SHA
0xc00f TLS_ECDH_RSA_WITH_AES_256_CBC_SHA                 ECDH-RSA-AES256-SHA
0xc010 TLS_ECDHE_RSA_WITH_NULL_SHA                       ECDHE-RSA-NULL-SHA
0xc011 TLS_ECDHE_RSA_WITH_RC4_128_SHA                    ECDHE-RSA-RC4-SHA
0xc012 TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA               ECDHE-RSA-DES-CBC3-SHA
0xc013 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA                ECDHE-RSA-AES128-SHA
0xc014 TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA                ECDHE-RSA-AES256-SHA
0xc015 TLS_ECDH_anon_WITH_NULL_SHA                       AECDH-NULL-SHA
0xc016 TLS_ECDH_anon_WITH_RC4_128_SHA                    AECDH-RC4-SHA
0xc017 TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA               AECDH-DES-CBC3-SHA
0xc018 TLS_ECDH_anon_WITH_AES_128_CBC_SHA                AECDH-AES128-SHA
0xc019 TLS_ECDH_anon_WITH_AES_256_CBC_SHA                AECDH-AES256-SHA
0xc01a TLS_SRP_SHA_WITH_3DES_EDE_CBC_SHA                 SRP-3DES-EDE-CBC-SHA
0xc01b TLS_SRP_SHA_RSA_WITH_3DES_EDE_CBC_SHA             SRP-RSA-3DES-EDE-CBC-SHA
0xc01c TLS_SRP_SHA_DSS_WITH_3DES_EDE_CBC_SHA             SRP-DSS-3DES-EDE-CBC-SHA
0xc01d TLS_SRP_SHA_WITH_AES_128_CBC_SHA                  SRP-AES-128-CBC-SHA
0xc01e TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA              SRP-RSA-AES-128-CBC-SHA
0xc01f TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA              SRP-DSS-AES-128-CBC-SHA
0xc020 TLS_SRP_SHA_WITH_AES_256_CBC_SHA                  SRP-AES-256-CBC-SHA
0xc021 TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA              SRP-RSA-AES-256-CBC-SHA
0xc022 TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA              SRP-DSS-AES-256-CBC-SHA
0xc023 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256           ECDHE-ECDSA-AES128-SHA256
0xc024 TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384           ECDHE-ECDSA-AES256-SHA384
0xc025 TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256            ECDH-ECDSA-AES128-SHA256
0xc026 TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384            ECDH-ECDSA-AES256-SHA384
0xc027 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256             ECDHE-RSA-AES128-SHA256
0xc028 TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384             ECDHE-RSA-AES256-SHA384
0xc029 TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256              ECDH-RSA-AES128-SHA256
0xc02a TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384              ECDH-RSA-AES256-SHA384
0xc02b TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256           ECDHE-ECDSA-AES128-GCM-SHA256
0xc02c TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384           ECDHE-ECDSA-AES256-GCM-SHA384
0xc02d TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256            ECDH-ECDSA-AES128-GCM-SHA256
0xc02e TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384            ECDH-ECDSA-AES256-GCM-SHA384
0xc02f TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256             ECDHE-RSA-AES128-GCM-SHA256
0xc030 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384             ECDHE-RSA-AES256-GCM-SHA384
0xc031 TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256              ECDH-RSA-AES128-GCM-SHA256
0xc032 TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384              ECDH-RSA-AES256-GCM-SHA384
0xc033 TLS_ECDHE_PSK_WITH_RC4_128_SHA                    ECDHE-PSK-RC4-SHA
0xc034 TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA               ECDHE-PSK-3DES-EDE-CBC-SHA
0xc035 TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA                ECDHE-PSK-AES128-CBC-SHA
0xc036 TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA                ECDHE-PSK-AES256-CBC-SHA
0xc037 TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256             ECDHE-PSK-AES128-CBC-SHA256
0xc038 TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384             ECDHE-PSK-AES256-CBC-SHA384
0xc039 TLS_ECDHE_PSK_WITH_NULL_SHA                       ECDHE-PSK-NULL-SHA
0xc03a TLS_ECDHE_PSK_WITH_NULL_SHA256                    ECDHE-PSK-NULL-SHA256
0xc03b TLS_ECDHE_PSK_WITH_NULL_SHA384                    ECDHE-PSK-NULL-SHA384
0xc03c TLS_RSA_WITH_ARIA_128_CBC_SHA256                  ARIA128-CBC-SHA256
0xc03d TLS_RSA_WITH_ARIA_256_CBC_SHA384                  ARIA256-CBC-SHA384
0xc03e TLS_DH_DSS_WITH_ARIA_128_CBC_SHA256               -
0xc03f TLS_DH_DSS_WITH_ARIA_256_CBC_SHA384               -
0xc040 TLS_DH_RSA_WITH_ARIA_128_CBC_SHA256               -
0xc041 TLS_DH_RSA_WITH_ARIA_256_CBC_SHA384               -
0xc042 TLS_DHE_DSS_WITH_ARIA_128_CBC_SHA256              DHE-DSS-ARIA128-CBC-SHA256
0xc043 TLS_DHE_DSS_WITH_ARIA_256_CBC_SHA384              DHE-DSS-ARIA256-CBC-SHA384
0xc044 TLS_DHE_RSA_WITH_ARIA_128_CBC_SHA256              DHE-RSA-ARIA128-CBC-SHA256
0xc045 TLS_DHE_RSA_WITH_ARIA_256_CBC_SHA384              DHE-RSA-ARIA256-CBC-SHA384
0xc046 TLS_DH_anon_WITH_ARIA_128_CBC_SHA256              DH-anon-ARIA128-CBC-SHA256
0xc047 TLS_DH_anon_WITH_ARIA_256_CBC_SHA384              DH-anon-ARIA256-CBC-SHA384
0xc048 TLS_ECDHE_ECDSA_WITH_ARIA_128_CBC_SHA256          ECDHE-ECDSA-ARIA128-CBC-SHA256
0xc049 TLS_ECDHE_ECDSA_WITH_ARIA_256_CBC_SHA384          ECDHE-ECDSA-ARIA256-CBC-SHA384
0xc04a TLS_ECDH_ECDSA_WITH_ARIA_128_CBC_SHA256           -
0xc04b TLS_ECDH_ECDSA_WITH_ARIA_256_CBC_SHA384           -
0xc04c TLS_ECDHE_RSA_WITH_ARIA_128_CBC_SHA256            ECDHE-RSA-ARIA128-CBC-SHA256
0xc04d TLS_ECDHE_RSA_WITH_ARIA_256_CBC_SHA384            ECDHE-RSA-ARIA256-CBC-SHA384
0xc04e TLS_ECDH_RSA_WITH_ARIA_128_CBC_SHA256             -
0xc04f TLS_ECDH_RSA_WITH_ARIA_256_CBC_SHA384             -
0xc050 TLS_RSA_WITH_ARIA_128_GCM_SHA256                  ARIA128-GCM-SHA256
0xc051 TLS_RSA_WITH_ARIA_256_GCM_SHA384                  ARIA256-GCM-SHA384
0xc052 TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256              DHE-RSA-ARIA128-GCM-SHA256
0xc053 TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384              DHE-RSA-ARIA256-GCM-SHA384
0xc054 TLS_DH_RSA_WITH_ARIA_128_GCM_SHA256               DH-RSA-ARIA128-GCM-SHA256
0xc055 TLS_DH_RSA_WITH_ARIA_256_GCM_SHA384               DH-RSA-ARIA256-GCM-SHA384
0xc056 TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256              DHE-DSS-ARIA128-GCM-SHA256
0xc057 TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384              DHE-DSS-ARIA256-GCM-SHA384
0xc058 TLS_DH_DSS_WITH_ARIA_128_GCM_SHA256               DH-DSS-ARIA128-GCM-SHA256
0xc059 TLS_DH_DSS_WITH_ARIA_256_GCM_SHA384               DH-DSS-ARIA256-GCM-SHA384
0xc05a TLS_DH_anon_WITH_ARIA_128_GCM_SHA256              ADH-ARIA128-GCM-SHA256
0xc05b TLS_DH_anon_WITH_ARIA_256_GCM_SHA384              ADH-ARIA256-GCM-SHA384
0xc05c TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256          ECDHE-ECDSA-ARIA128-GCM-SHA256
0xc05d TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384          ECDHE-ECDSA-ARIA256-GCM-SHA384
0xc05e TLS_ECDH_ECDSA_WITH_ARIA_128_GCM_SHA256           ECDH-ECDSA-ARIA128-GCM-SHA256
0xc05f TLS_ECDH_ECDSA_WITH_ARIA_256_GCM_SHA384           ECDH-ECDSA-ARIA256-GCM-SHA384
0xc060 TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256            ECDHE-ARIA128-GCM-SHA256
0xc061 TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384            ECDHE-ARIA256-GCM-SHA384
0xc062 TLS_ECDH_RSA_WITH_ARIA_128_GCM_SHA256             ECDH-ARIA128-GCM-SHA256
0xc063 TLS_ECDH_RSA_WITH_ARIA_256_GCM_SHA384             ECDH-ARIA256-GCM-SHA384
0xc064 TLS_PSK_WITH_ARIA_128_CBC_SHA256                  -
0xc065 TLS_PSK_WITH_ARIA_256_CBC_SHA384                  -
0xc066 TLS_DHE_PSK_WITH_ARIA_128_CBC_SHA256              -
0xc067 TLS_DHE_PSK_WITH_ARIA_256_CBC_SHA384              -
0xc068 TLS_RSA_PSK_WITH_ARIA_128_CBC_SHA256              -
0xc069 TLS_RSA_PSK_WITH_ARIA_256_CBC_SHA384              -
0xc06a TLS_PSK_WITH_ARIA_128_GCM_SHA256                  PSK-ARIA128-GCM-SHA256
0xc06b TLS_PSK_WITH_ARIA_256_GCM_SHA384                  PSK-ARIA256-GCM-SHA384
0xc06c TLS_DHE_PSK_WITH_ARIA_128_GCM_SHA256              DHE-PSK-ARIA128-GCM-SHA256
0xc06d TLS_DHE_PSK_WITH_ARIA_256_GCM_SHA384              DHE-PSK-ARIA256-GCM-SHA384
0xc06e TLS_RSA_PSK_WITH_ARIA_128_GCM_SHA256              RSA-PSK-ARIA128-GCM-SHA256
0xc06f TLS_RSA_PSK_WITH_ARIA_256_GCM_SHA384              RSA-PSK-ARIA256-GCM-SHA384
0xc070 TLS_ECDHE_PSK_WITH_ARIA_128_CBC_SHA256            -
0xc071 TLS_ECDHE_PSK_WITH_ARIA_256_CBC_SHA384            -
0xc072 TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256      ECDHE-ECDSA-CAMELLIA128-SHA256
0xc073 TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384      ECDHE-ECDSA-CAMELLIA256-SHA384
0xc074 TLS_ECDH_ECDSA_WITH_CAMELLIA_128_CBC_SHA256       ECDH-ECDSA-CAMELLIA128-SHA256
0xc075 TLS_ECDH_ECDSA_WITH_CAMELLIA_256_CBC_SHA384       ECDH-ECDSA-CAMELLIA256-SHA384
0xc076 TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256        ECDHE-RSA-CAMELLIA128-SHA256
0xc077 TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384        ECDHE-RSA-CAMELLIA256-SHA384
0xc078 TLS_ECDH_RSA_WITH_CAMELLIA_128_CBC_SHA256         ECDH-RSA-CAMELLIA128-SHA256
0xc079 TLS_ECDH_RSA_WITH_CAMELLIA_256_CBC_SHA384         ECDH-RSA-CAMELLIA256-SHA384
0xc07a TLS_RSA_WITH_CAMELLIA_128_GCM_SHA256              -
0xc07b TLS_RSA_WITH_CAMELLIA_256_GCM_SHA384              -
0xc07c TLS_DHE_RSA_WITH_CAMELLIA_128_GCM_SHA256          -
0xc07d TLS_DHE_RSA_WITH_CAMELLIA_256_GCM_SHA384          -
0xc07e TLS_DH_RSA_WITH_CAMELLIA_128_GCM_SHA256           -
0xc07f TLS_DH_RSA_WITH_CAMELLIA_256_GCM_SHA384           -
0xc080 TLS_DHE_DSS_WITH_CAMELLIA_128_GCM_SHA256          -
0xc081 TLS_DHE_DSS_WITH_CAMELLIA_256_GCM_SHA384          -
0xc082 TLS_DH_DSS_WITH_CAMELLIA_128_GCM_SHA256           -
0xc083 TLS_DH_DSS_WITH_CAMELLIA_256_GCM_SHA384           -
0xc084 TLS_DH_anon_WITH_CAMELLIA_128_GCM_SHA256          -
0xc085 TLS_DH_anon_WITH_CAMELLIA_256_GCM_SHA384          -
0xc086 TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_GCM_SHA256      -
0xc087 TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_GCM_SHA384      -
0xc088 TLS_ECDH_ECDSA_WITH_CAMELLIA_128_GCM_SHA256       -
0xc089 TLS_ECDH_ECDSA_WITH_CAMELLIA_256_GCM_SHA384       -
0xc08a TLS_ECDHE_RSA_WITH_CAMELLIA_128_GCM_SHA256        -
0xc08b TLS_ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384        -
0xc08c TLS_ECDH_RSA_WITH_CAMELLIA_128_GCM_SHA256         -
0xc08d TLS_ECDH_RSA_WITH_CAMELLIA_256_GCM_SHA384         -
0xc08e TLS_PSK_WITH_CAMELLIA_128_GCM_SHA256              -
0xc08f TLS_PSK_WITH_CAMELLIA_256_GCM_SHA384              -
0xc090 TLS_DHE_PSK_WITH_CAMELLIA_128_GCM_SHA256          -
0xc091 TLS_DHE_PSK_WITH_CAMELLIA_256_GCM_SHA384          -
0xc092 TLS_RSA_PSK_WITH_CAMELLIA_128_GCM_SHA256          -
0xc093 TLS_RSA_PSK_WITH_CAMELLIA_256_GCM_SHA384          -
0xc094 TLS_PSK_WITH_CAMELLIA_128_CBC_SHA256              PSK-CAMELLIA128-SHA256
0xc095 TLS_PSK_WITH_CAMELLIA_256_CBC_SHA384              PSK-CAMELLIA256-SHA384
0xc096 TLS_DHE_PSK_WITH_CAMELLIA_128_CBC_SHA256          DHE-PSK-CAMELLIA128-SHA256
0xc097 TLS_DHE_PSK_WITH_CAMELLIA_256_CBC_SHA384          DHE-PSK-CAMELLIA256-SHA384
0xc098 TLS_RSA_PSK_WITH_CAMELLIA_128_CBC_SHA256          RSA-PSK-CAMELLIA128-SHA256
0xc099 TLS_RSA_PSK_WITH_CAMELLIA_256_CBC_SHA384          RSA-PSK-CAMELLIA256-SHA384
0xc09a TLS_ECDHE_PSK_WITH_CAMELLIA_128_CBC_SHA256        ECDHE-PSK-CAMELLIA128-SHA256
0xc09b TLS_ECDHE_PSK_WITH_CAMELLIA_256_CBC_SHA384        ECDHE-PSK-CAMELLIA256-SHA384
0xc09c TLS_RSA_WITH_AES_128_CCM                          AES128-CCM
0xc09d TLS_RSA_WITH_AES_256_CCM                          AES256-CCM
0xc09e TLS_DHE_RSA_WITH_AES_128_CCM                      DHE-RSA-AES128-CCM
0xc09f TLS_DHE_RSA_WITH_AES_256_CCM                      DHE-RSA-AES256-CCM
0xc0a0 TLS_RSA_WITH_AES_128_CCM_8                        AES128-CCM8
0xc0a1 TLS_RSA_WITH_AES_256_CCM_8                        AES256-CCM8
0xc0a2 TLS_DHE_RSA_WITH_AES_128_CCM_8                    DHE-RSA-AES128-CCM8
0xc0a3 TLS_DHE_RSA_WITH_AES_256_CCM_8                    DHE-RSA-AES256-CCM8
0xc0a4 TLS_PSK_WITH_AES_128_CCM                          PSK-AES128-CCM
0xc0a5 TLS_PSK_WITH_AES_256_CCM                          PSK-AES256-CCM
0xc0a6 TLS_DHE_PSK_WITH_AES_128_CCM                      DHE-PSK-AES128-CCM
0xc0a7 TLS_DHE_PSK_WITH_AES_256_CCM                      DHE-PSK-AES256-CCM
0xc0a8 TLS_PSK_WITH_AES_128_CCM_8                        PSK-AES128-CCM8
0xc0a9 TLS_PSK_WITH_AES_256_CCM_8                        PSK-AES256-CCM8
0xc0aa TLS_PSK_DHE_WITH_AES_128_CCM_8                    DHE-PSK-AES128-CCM8
0xc0ab TLS_PSK_DHE_WITH_AES_256_CCM_8                    DHE-PSK-AES256-CCM8
0xc0ac TLS_ECDHE_ECDSA_WITH_AES_128_CCM                  ECDHE-ECDSA-AES128-CCM
0xc0ad TLS_ECDHE_ECDSA_WITH_AES_256_CCM                  ECDHE-ECDSA-AES256-CCM
0xc0ae TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8                ECDHE-ECDSA-AES128-CCM8
0xc0af TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8                ECDHE-ECDSA-AES256-CCM8
0xc0b4 TLS_SHA256_SHA256                                 TLS_SHA256_SHA256
0xc0b5 TLS_SHA384_SHA384                                 TLS_SHA384_SHA384
0xcc13 TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256_OLD   ECDHE-RSA-CHACHA20-POLY1305-OLD
0xcc14 TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256_OLD ECDHE-ECDSA-CHACHA20-POLY1305-OLD
0xcc15 TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256_OLD     DHE-RSA-CHACHA20-POLY1305-OLD
0xcca8 TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256       ECDHE-RSA-CHACHA20-POLY1305
0xcca9 TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256     ECDHE-ECDSA-CHACHA20-POLY1305
0xccaa TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256         DHE-RSA-CHACHA20-POLY1305
0xccab TLS_PSK_WITH_CHACHA20_POLY1305_SHA256             PSK-CHACHA20-POLY1305
0xccac TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256       ECDHE-PSK-CHACHA20-POLY1305
0xccad TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256         DHE-PSK-CHACHA20-POLY1305
0xccae TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256         RSA-PSK-CHACHA20-POLY1305
0xd001 TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256             -
0xd002 TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384             -
0xd003 TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256           -
0xd005 TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256             -
"""


def _load_suites() -> dict[int, CipherSuite]:
    table: dict[int, CipherSuite] = {}
    for line in _SUITE_ROWS.strip().splitlines():
        code, iana, openssl = line.split()
        suite = _traits(int(code, 16), iana, openssl)
        table[suite.code] = suite
    return table


CIPHER_SUITES: Mapping[int, CipherSuite] = MappingProxyType(_load_suites())
"""All known TLS cipher suites by code point."""

_BY_OPENSSL = {s.openssl_name: s for s in CIPHER_SUITES.values() if s.openssl_name}
_BY_IANA = {s.iana_name: s for s in CIPHER_SUITES.values()}


def cipher_suite(code: int) -> CipherSuite | None:
    """The suite with this 16-bit code point, or None if it is not in the registry."""
    return CIPHER_SUITES.get(code)


def cipher_suite_by_openssl_name(name: str) -> CipherSuite | None:
    """The suite OpenSSL calls ``name`` (e.g. ``"ECDHE-RSA-AES128-GCM-SHA256"``)."""
    return _BY_OPENSSL.get(name)


def cipher_suite_by_iana_name(name: str) -> CipherSuite | None:
    """The suite IANA calls ``name`` (e.g. ``"TLS_RSA_WITH_RC4_128_SHA"``)."""
    return _BY_IANA.get(name)


def cipher_suite_name(code: int) -> str:
    """The IANA name of ``code``, or its hex value when unknown (for messages)."""
    suite = CIPHER_SUITES.get(code)
    return suite.iana_name if suite else f"{code:#06x}"


def suites_for_version(version: TlsVersion) -> list[int]:
    """Code points a client may offer in a hello for ``version`` (all that can be chosen).

    TLS 1.3 suites only for TLS 1.3; for earlier versions every suite whose
    ``min_version`` allows it.  Servers have been seen to pick suites "too new" for
    the protocol they negotiate, so a scanner may still offer more than this.
    """
    if version is TlsVersion.TLS1_3:
        return [s.code for s in CIPHER_SUITES.values() if s.tls13_only]
    return [s.code for s in CIPHER_SUITES.values() if not s.tls13_only and s.min_version <= version]


# --- SSLv2 cipher specs ----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Ssl2CipherSpec:
    """An SSLv2 cipher kind (3-byte code; RFC-less, from the Netscape SSL 2.0 draft)."""

    code: int
    name: str
    openssl_name: str
    cipher: BulkCipher
    bits: int
    export: bool


SSL2_CIPHER_SPECS: Mapping[int, Ssl2CipherSpec] = MappingProxyType(
    {
        s.code: s
        for s in (
            Ssl2CipherSpec(
                code=0x010080,
                name="SSL_CK_RC4_128_WITH_MD5",
                openssl_name="RC4-MD5",
                cipher=BulkCipher.RC4,
                bits=128,
                export=False,
            ),
            Ssl2CipherSpec(
                code=0x020080,
                name="SSL_CK_RC4_128_EXPORT40_WITH_MD5",
                openssl_name="EXP-RC4-MD5",
                cipher=BulkCipher.RC4,
                bits=40,
                export=True,
            ),
            Ssl2CipherSpec(
                code=0x030080,
                name="SSL_CK_RC2_128_CBC_WITH_MD5",
                openssl_name="RC2-CBC-MD5",
                cipher=BulkCipher.RC2,
                bits=128,
                export=False,
            ),
            Ssl2CipherSpec(
                code=0x040080,
                name="SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5",
                openssl_name="EXP-RC2-CBC-MD5",
                cipher=BulkCipher.RC2,
                bits=40,
                export=True,
            ),
            Ssl2CipherSpec(
                code=0x050080,
                name="SSL_CK_IDEA_128_CBC_WITH_MD5",
                openssl_name="IDEA-CBC-MD5",
                cipher=BulkCipher.IDEA,
                bits=128,
                export=False,
            ),
            Ssl2CipherSpec(
                code=0x060040,
                name="SSL_CK_DES_64_CBC_WITH_MD5",
                openssl_name="DES-CBC-MD5",
                cipher=BulkCipher.DES,
                bits=56,
                export=False,
            ),
            Ssl2CipherSpec(
                code=0x0700C0,
                name="SSL_CK_DES_192_EDE3_CBC_WITH_MD5",
                openssl_name="DES-CBC3-MD5",
                cipher=BulkCipher.TRIPLE_DES,
                bits=112,
                export=False,
            ),
            Ssl2CipherSpec(
                code=0x080080,
                name="SSL_CK_RC4_64_WITH_MD5",
                openssl_name="RC4-64-MD5",
                cipher=BulkCipher.RC4,
                bits=64,
                export=False,
            ),
        )
    }
)
"""Every SSLv2 cipher spec; all of them are weak by today's measure."""


# --- named groups ----------------------------------------------------------------------


class GroupKind(StrEnum):
    """The family a named group belongs to."""

    EC = "ec"  # short Weierstrass curves (NIST, brainpool, SEC binary curves)
    ECX = "ecx"  # X25519 / X448 (RFC 7748)
    FFDHE = "ffdhe"  # RFC 7919 finite-field groups
    PQ = "pq"  # ML-KEM alone
    HYBRID = "hybrid"  # classical + ML-KEM


@dataclass(frozen=True, slots=True, kw_only=True)
class NamedGroup:
    """A TLS "supported group": curve, FFDHE prime or (hybrid) KEM.

    ``size_bits`` is the curve or prime size (for KEMs, the ML-KEM parameter set);
    ``key_share_bytes`` is the length of a client key_share for it (uncompressed
    point for EC), None where TLS 1.3 defines no key share.  ``deprecated`` marks
    the groups RFC 8422 §5.1.1 deprecated (binary curves, < 256-bit prime curves).
    """

    code: int
    name: str
    kind: GroupKind
    size_bits: int
    key_share_bytes: int | None = None
    deprecated: bool = False


def _groups() -> dict[int, NamedGroup]:
    legacy = (
        "sect163k1 sect163r1 sect163r2 sect193r1 sect193r2 sect233k1 sect233r1 sect239k1 "
        "sect283k1 sect283r1 sect409k1 sect409r1 sect571k1 sect571r1 secp160k1 secp160r1 "
        "secp160r2 secp192k1 secp192r1 secp224k1 secp224r1 secp256k1"
    ).split()
    out = {
        code: NamedGroup(
            code=code, name=name, kind=GroupKind.EC, size_bits=int(name[4:7]), deprecated=True
        )
        for code, name in enumerate(legacy, start=1)
    }
    ec, ecx, ff = GroupKind.EC, GroupKind.ECX, GroupKind.FFDHE
    for g in (
        NamedGroup(code=23, name="secp256r1", kind=ec, size_bits=256, key_share_bytes=65),
        NamedGroup(code=24, name="secp384r1", kind=ec, size_bits=384, key_share_bytes=97),
        NamedGroup(code=25, name="secp521r1", kind=ec, size_bits=521, key_share_bytes=133),
        NamedGroup(code=26, name="brainpoolP256r1", kind=ec, size_bits=256),
        NamedGroup(code=27, name="brainpoolP384r1", kind=ec, size_bits=384),
        NamedGroup(code=28, name="brainpoolP512r1", kind=ec, size_bits=512),
        NamedGroup(code=29, name="x25519", kind=ecx, size_bits=255, key_share_bytes=32),
        NamedGroup(code=30, name="x448", kind=ecx, size_bits=448, key_share_bytes=56),
        NamedGroup(
            code=31, name="brainpoolP256r1tls13", kind=ec, size_bits=256, key_share_bytes=65
        ),
        NamedGroup(
            code=32, name="brainpoolP384r1tls13", kind=ec, size_bits=384, key_share_bytes=97
        ),
        NamedGroup(
            code=33, name="brainpoolP512r1tls13", kind=ec, size_bits=512, key_share_bytes=129
        ),
        NamedGroup(code=0x0100, name="ffdhe2048", kind=ff, size_bits=2048, key_share_bytes=256),
        NamedGroup(code=0x0101, name="ffdhe3072", kind=ff, size_bits=3072, key_share_bytes=384),
        NamedGroup(code=0x0102, name="ffdhe4096", kind=ff, size_bits=4096, key_share_bytes=512),
        NamedGroup(code=0x0103, name="ffdhe6144", kind=ff, size_bits=6144, key_share_bytes=768),
        NamedGroup(code=0x0104, name="ffdhe8192", kind=ff, size_bits=8192, key_share_bytes=1024),
        # draft-ietf-tls-mlkem / draft-ietf-tls-ecdhe-mlkem; hybrid shares are
        # the ML-KEM encapsulation key and the classical share concatenated.
        NamedGroup(
            code=0x0200, name="MLKEM512", kind=GroupKind.PQ, size_bits=512, key_share_bytes=800
        ),
        NamedGroup(
            code=0x0201, name="MLKEM768", kind=GroupKind.PQ, size_bits=768, key_share_bytes=1184
        ),
        NamedGroup(
            code=0x0202, name="MLKEM1024", kind=GroupKind.PQ, size_bits=1024, key_share_bytes=1568
        ),
        NamedGroup(
            code=0x11EB,
            name="SecP256r1MLKEM768",
            kind=GroupKind.HYBRID,
            size_bits=768,
            key_share_bytes=65 + 1184,
        ),
        NamedGroup(
            code=0x11EC,
            name="X25519MLKEM768",
            kind=GroupKind.HYBRID,
            size_bits=768,
            key_share_bytes=1184 + 32,
        ),
        NamedGroup(
            code=0x11ED,
            name="SecP384r1MLKEM1024",
            kind=GroupKind.HYBRID,
            size_bits=1024,
            key_share_bytes=97 + 1568,
        ),
        NamedGroup(
            code=0x6399,
            name="X25519Kyber768Draft00",
            kind=GroupKind.HYBRID,
            size_bits=768,
            key_share_bytes=32 + 1184,
            deprecated=True,
        ),
    ):
        out[g.code] = g
    return out


NAMED_GROUPS: Mapping[int, NamedGroup] = MappingProxyType(_groups())
"""Supported groups by code point (IANA "TLS Supported Groups")."""

_GROUPS_BY_NAME = {g.name.lower(): g for g in NAMED_GROUPS.values()}


def named_group(code: int) -> NamedGroup | None:
    """The group with this code point, or None."""
    return NAMED_GROUPS.get(code)


def named_group_by_name(name: str) -> NamedGroup | None:
    """The group called ``name`` (case-insensitive: ``"X25519"``, ``"secp256r1"``)."""
    return _GROUPS_BY_NAME.get(name.lower())


def group_name(code: int) -> str:
    """The group's name, or its hex value when unknown."""
    group = NAMED_GROUPS.get(code)
    return group.name if group else f"{code:#06x}"


class NamedGroupCode(IntEnum):
    """The group code points the codec itself refers to."""

    SECP256R1 = 23
    SECP384R1 = 24
    SECP521R1 = 25
    X25519 = 29
    X448 = 30
    FFDHE2048 = 0x0100
    FFDHE3072 = 0x0101
    X25519MLKEM768 = 0x11EC


# --- signature schemes -----------------------------------------------------------------

SIGNATURE_SCHEMES: Mapping[int, str] = MappingProxyType(
    {
        # TLS 1.2 (hash, signature) pairs, RFC 5246 §7.4.1.4.1; MD5/SHA-1/SHA-224 ones
        # are deprecated by RFC 9155.
        0x0101: "rsa_pkcs1_md5",
        0x0102: "dsa_md5",
        0x0103: "ecdsa_md5",
        0x0201: "rsa_pkcs1_sha1",
        0x0202: "dsa_sha1",
        0x0203: "ecdsa_sha1",
        0x0301: "rsa_pkcs1_sha224",
        0x0302: "dsa_sha224",
        0x0303: "ecdsa_sha224",
        0x0402: "dsa_sha256",
        0x0502: "dsa_sha384",
        0x0602: "dsa_sha512",
        # RFC 8446 §4.2.3
        0x0401: "rsa_pkcs1_sha256",
        0x0501: "rsa_pkcs1_sha384",
        0x0601: "rsa_pkcs1_sha512",
        0x0403: "ecdsa_secp256r1_sha256",
        0x0503: "ecdsa_secp384r1_sha384",
        0x0603: "ecdsa_secp521r1_sha512",
        0x0804: "rsa_pss_rsae_sha256",
        0x0805: "rsa_pss_rsae_sha384",
        0x0806: "rsa_pss_rsae_sha512",
        0x0807: "ed25519",
        0x0808: "ed448",
        0x0809: "rsa_pss_pss_sha256",
        0x080A: "rsa_pss_pss_sha384",
        0x080B: "rsa_pss_pss_sha512",
        # RFC 8734
        0x081A: "ecdsa_brainpoolP256r1tls13_sha256",
        0x081B: "ecdsa_brainpoolP384r1tls13_sha384",
        0x081C: "ecdsa_brainpoolP512r1tls13_sha512",
        # draft-ietf-tls-mldsa
        0x0904: "mldsa44",
        0x0905: "mldsa65",
        0x0906: "mldsa87",
    }
)
"""Signature scheme names by code point (IANA "TLS SignatureScheme")."""


# --- extensions and alerts ---------------------------------------------------------------


class ExtensionType(IntEnum):
    """Hello extension code points the codec builds or decodes (IANA "ExtensionType")."""

    SERVER_NAME = 0  # RFC 6066
    MAX_FRAGMENT_LENGTH = 1
    STATUS_REQUEST = 5
    SUPPORTED_GROUPS = 10  # RFC 8422 / 7919
    EC_POINT_FORMATS = 11
    SIGNATURE_ALGORITHMS = 13
    HEARTBEAT = 15  # RFC 6520
    ALPN = 16  # RFC 7301
    SIGNED_CERTIFICATE_TIMESTAMP = 18
    PADDING = 21  # RFC 7685
    ENCRYPT_THEN_MAC = 22  # RFC 7366
    EXTENDED_MASTER_SECRET = 23  # RFC 7627
    COMPRESS_CERTIFICATE = 27
    RECORD_SIZE_LIMIT = 28
    SESSION_TICKET = 35  # RFC 5077
    PRE_SHARED_KEY = 41  # RFC 8446
    EARLY_DATA = 42
    SUPPORTED_VERSIONS = 43
    COOKIE = 44
    PSK_KEY_EXCHANGE_MODES = 45
    CERTIFICATE_AUTHORITIES = 47
    POST_HANDSHAKE_AUTH = 49
    SIGNATURE_ALGORITHMS_CERT = 50
    KEY_SHARE = 51
    RENEGOTIATION_INFO = 0xFF01  # RFC 5746


class AlertLevel(IntEnum):
    """Alert levels (RFC 5246 §7.2)."""

    WARNING = 1
    FATAL = 2


ALERT_DESCRIPTIONS: Mapping[int, str] = MappingProxyType(
    {
        0: "close_notify",
        10: "unexpected_message",
        20: "bad_record_mac",
        21: "decryption_failed",
        22: "record_overflow",
        30: "decompression_failure",
        40: "handshake_failure",
        41: "no_certificate",
        42: "bad_certificate",
        43: "unsupported_certificate",
        44: "certificate_revoked",
        45: "certificate_expired",
        46: "certificate_unknown",
        47: "illegal_parameter",
        48: "unknown_ca",
        49: "access_denied",
        50: "decode_error",
        51: "decrypt_error",
        60: "export_restriction",
        70: "protocol_version",
        71: "insufficient_security",
        80: "internal_error",
        86: "inappropriate_fallback",
        90: "user_canceled",
        100: "no_renegotiation",
        109: "missing_extension",
        110: "unsupported_extension",
        111: "certificate_unobtainable",
        112: "unrecognized_name",
        113: "bad_certificate_status_response",
        114: "bad_certificate_hash_value",
        115: "unknown_psk_identity",
        116: "certificate_required",
        120: "no_application_protocol",
        121: "ech_required",
    }
)
"""Alert description names by value (IANA "TLS Alerts")."""
