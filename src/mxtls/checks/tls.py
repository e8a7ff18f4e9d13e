"""Checks on the negotiated TLS session: protocol version and cipher suite (``tls.*``).

Only what one handshake shows is judged here.  Facts that need several
ClientHellos (is TLS 1.3 supported at all? which suites are *accepted*?) come
from the deep scan; in particular ``tls.no_tls13`` is never inferred from the
negotiated version alone, because a server may prefer TLS 1.2 with a client
that offers both and still support 1.3.

Cipher names arrive in OpenSSL form (``ECDHE-RSA-AES128-GCM-SHA256``,
``AES128-GCM-SHA256``, ``TLS_AES_128_GCM_SHA256``) or IANA form
(``TLS_RSA_WITH_3DES_EDE_CBC_SHA``); both are classified by their tokens.
"""

from __future__ import annotations

import re

from mxtls.checks._common import quote, target_of
from mxtls.checks.codes import make_finding
from mxtls.models.findings import Finding
from mxtls.models.observations import EndpointObservation

# Normalised protocol names (see normalize_version).
OBSOLETE_VERSIONS = frozenset({"SSLv2", "SSLv3"})  # RFC 6176, RFC 7568: MUST NOT be used
LEGACY_VERSIONS = frozenset({"TLSv1.0", "TLSv1.1"})  # RFC 8996: MUST NOT be used

# Tokens that make a suite weak (RFC 7465 RC4; RFC 8996 / NIST SP 800-131A for
# DES and 3DES; NULL, anonymous and EXPORT suites give no protection at all).
_WEAK_TOKENS = {
    "NULL": "NULL encryption",
    "ANON": "anonymous key exchange",
    "ADH": "anonymous key exchange",
    "AECDH": "anonymous key exchange",
    "EXP": "EXPORT-grade",
    "EXPORT": "EXPORT-grade",
    "EXP1024": "EXPORT-grade",
    "RC4": "RC4",
    "DES": "DES",
    "DES40": "DES",
    "3DES": "3DES",
}
# Key exchanges with forward secrecy (ephemeral (EC)DH; EDH/EECDH are OpenSSL aliases).
_FS_KEX = frozenset({"ECDHE", "DHE", "EDH", "EECDH"})
_ANON_KEX = frozenset({"ADH", "AECDH"})
_TOKEN_SPLIT = re.compile(r"[-_]")


def normalize_version(version: str) -> str:
    """``TLSv1.2`` for ``TLSv1.2``/``TLS 1.2``/``TLS1_2``; ``TLSv1.0`` for ``TLSv1``.

    Unknown strings come back unchanged.
    """
    compact = re.sub(r"[\s_.v]", "", version.strip(), flags=re.IGNORECASE).upper()
    table = {
        "SSL2": "SSLv2",
        "SSL20": "SSLv2",
        "SSL3": "SSLv3",
        "SSL30": "SSLv3",
        "TLS1": "TLSv1.0",
        "TLS10": "TLSv1.0",
        "TLS11": "TLSv1.1",
        "TLS12": "TLSv1.2",
        "TLS13": "TLSv1.3",
    }
    return table.get(compact, version)


def cipher_weakness(cipher: str) -> str | None:
    """Why ``cipher`` is weak (``"RC4"``, ``"3DES"``, ...), or None when it is not."""
    tokens = _tokens(cipher)
    if "3DES" in cipher.upper() or ("DES" in tokens and "CBC3" in tokens):
        return "3DES"
    for token in tokens:
        reason = _WEAK_TOKENS.get(token)
        if reason is not None:
            return reason
    return None


def has_forward_secrecy(cipher: str, version: str) -> bool:
    """True for TLS 1.3 and (EC)DHE suites; False for static RSA/(EC)DH key exchange.

    Anonymous (EC)DH counts as ephemeral here: its problem is the missing
    authentication, which ``tls.cipher_weak`` reports.
    """
    if normalize_version(version) == "TLSv1.3":
        return True
    upper = cipher.upper()
    if upper.startswith("TLS_") and "_WITH_" not in upper:
        return True  # TLS 1.3 suite names (TLS_AES_128_GCM_SHA256) carry no key exchange
    if upper.startswith(("TLS_", "SSL_")) and "_WITH_" in upper:
        kex = set(_tokens(upper[4 : upper.index("_WITH_")]))
    else:
        kex = set(_tokens(upper)[:2])
    return bool(kex & (_FS_KEX | _ANON_KEX)) or ("DH" in kex and "ANON" in kex)


def check_tls(obs: EndpointObservation) -> list[Finding]:
    """Judge the protocol version and cipher suite of the negotiated session.

    Emits:
        ``tls.protocol_obsolete`` — RFC 7568 §3: "SSLv3 MUST NOT be used"
        (RFC 6176 likewise for SSLv2).
        ``tls.protocol_legacy`` — RFC 8996 §4: "TLS 1.0 MUST NOT be used"; §5:
        "TLS 1.1 MUST NOT be used".
        ``tls.cipher_weak`` — RFC 9325 §4.1: "Implementations MUST NOT negotiate
        the cipher suites with NULL encryption", "MUST NOT negotiate RC4 cipher
        suites", "MUST NOT negotiate cipher suites offering less than 112 bits
        of security, including so-called 'export-level' encryption"; anonymous
        suites authenticate nobody, and 3DES falls to Sweet32.
        ``tls.no_forward_secrecy`` — RFC 9325 §4.1: "Implementations SHOULD NOT
        negotiate cipher suites based on RSA key transport, a.k.a. 'static
        RSA'" (and likewise static DH); the negotiated suite has no ephemeral
        key exchange.
    """
    handshake = obs.handshake
    if handshake is None:
        return []
    target = target_of(obs)
    findings: list[Finding] = []
    version = normalize_version(handshake.version)
    if version in OBSOLETE_VERSIONS:
        findings.append(
            make_finding(
                "tls.protocol_obsolete", target, f"{target}: negotiated obsolete {version}"
            )
        )
    elif version in LEGACY_VERSIONS:
        findings.append(
            make_finding("tls.protocol_legacy", target, f"{target}: negotiated legacy {version}")
        )
    cipher = handshake.cipher
    weakness = cipher_weakness(cipher)
    if weakness is not None:
        findings.append(
            make_finding(
                "tls.cipher_weak",
                target,
                f"{target}: negotiated cipher {quote(cipher)} ({weakness})",
            )
        )
    if cipher and not has_forward_secrecy(cipher, handshake.version):
        findings.append(
            make_finding(
                "tls.no_forward_secrecy",
                target,
                f"{target}: negotiated {quote(cipher)} over {version}: "
                "static key exchange, no forward secrecy",
            )
        )
    return findings


def _tokens(cipher: str) -> list[str]:
    return [t for t in _TOKEN_SPLIT.split(cipher.upper()) if t]
