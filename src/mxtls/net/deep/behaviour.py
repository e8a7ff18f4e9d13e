"""Behaviour probes: renegotiation, EMS, fallback SCSV, compression, resumption, certificates.

Each probe is one TLS <= 1.2 hello whose plaintext answer shows a behaviour:

* **The behaviour hello** offers the accepted suites of one version with every
  extension a current client sends and DEFLATE before null compression.  Its
  ServerHello says whether renegotiation_info (RFC 5746) and Extended Master
  Secret (RFC 7627) are acknowledged, which compression method was taken (any
  but null is CRIME), whether a session id was issued and the SessionTicket
  extension acknowledged, and whether an OCSP response was stapled.
* **The fallback hello** offers a lower accepted version plus TLS_FALLBACK_SCSV;
  a server that knows better versions must answer ``inappropriate_fallback``
  (RFC 7507 §3).
* **The key-type hellos** offer only ECDSA (then only RSA) suites and signature
  algorithms; the Certificate message, plaintext up to TLS 1.2, is the chain the
  server sends to such a client (servers with dual certificates send different
  chains), with the stapled OCSP status if any.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from cryptography.x509 import ocsp

from mxtls.models.deep import Behaviour, KeyTypeCertificate
from mxtls.models.observations import CertificateInfo
from mxtls.net.deep.enumerate import (
    CHUNK_SUITES,
    Prober,
    enumeration_groups,
    label,
    ordered_suites,
    suite_info,
)
from mxtls.protocol.tls_registry import (
    CIPHER_SUITES,
    TLS_FALLBACK_SCSV,
    Authentication,
    ExtensionType,
    TlsVersion,
    cipher_suite,
)
from mxtls.protocol.tls_wire import build_client_hello
from mxtls.trust.certinfo import CERTIFICATE_ERRORS
from mxtls.trust.certinfo import describe_chain as describe_certificates

DEFLATE = 1  # RFC 3749 §2
INAPPROPRIATE_FALLBACK_ALERT = 86  # RFC 7507 §2
OCSP_STATUS_TYPE = 1  # RFC 6066 §8: CertificateStatusType ocsp

# Signature schemes per key type (RFC 8446 §4.2.3; SHA-1/SHA-224 kept for old servers).
ECDSA_SIGNATURE_ALGORITHMS = (0x0403, 0x0503, 0x0603, 0x0303, 0x0203)
RSA_SIGNATURE_ALGORITHMS = (0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0301, 0x0201)

KeyType = Literal["ECDSA", "RSA"]
_AUTH = {"ECDSA": Authentication.ECDSA, "RSA": Authentication.RSA}
_SIGALGS = {"ECDSA": ECDSA_SIGNATURE_ALGORITHMS, "RSA": RSA_SIGNATURE_ALGORITHMS}


async def probe_behaviour(
    probe: Prober, version: TlsVersion, suites: Sequence[int], sni: str | None
) -> Behaviour | None:
    """Renegotiation, EMS, compression, resumption and stapling on one ``version`` hello.

    Returns None when the server did not answer with a ServerHello for ``version``.
    """
    hello = build_client_hello(
        version,
        suites,
        server_name=sni,
        groups=enumeration_groups(version),
        compression_methods=(DEFLATE, 0),
    )
    result = await probe(hello.to_bytes())
    sh = result.server_hello
    if sh is None or sh.negotiated_version != version:
        return None
    has_extensions = version is not TlsVersion.SSL3  # an SSLv3 hello offers none
    return Behaviour(
        version=label(version),
        secure_renegotiation=sh.renegotiation_info is not None,
        extended_master_secret=sh.extended_master_secret if has_extensions else None,
        compression=sh.compression_method,
        session_id=bool(sh.session_id),
        session_ticket=(
            sh.extension(ExtensionType.SESSION_TICKET) is not None if has_extensions else None
        ),
        ocsp_stapled=result.certificate_status is not None if has_extensions else None,
    )


async def probe_fallback_scsv(
    probe: Prober, lower: TlsVersion, suites: Sequence[int], sni: str | None
) -> bool | None:
    """True: ``inappropriate_fallback`` to a ``lower`` hello with the SCSV; False: accepted."""
    offer = [s for s in suites if s != TLS_FALLBACK_SCSV] + [TLS_FALLBACK_SCSV]
    hello = build_client_hello(lower, offer, server_name=sni, groups=enumeration_groups(lower))
    result = await probe(hello.to_bytes(), flight=False)
    if result.alert is not None and result.alert.description == INAPPROPRIATE_FALLBACK_ALERT:
        return True
    sh = result.server_hello
    if sh is not None and sh.negotiated_version == lower:
        return False
    return None


def ocsp_status(body: bytes) -> str:
    """The certificate status in a CertificateStatus body (``good``, ``revoked``...).

    A responder error gives its status name (``try_later``); bytes that are
    not an OCSP response give ``malformed``.
    """
    if len(body) < 4 or body[0] != OCSP_STATUS_TYPE:
        return "malformed"
    der = body[4 : 4 + int.from_bytes(body[1:4], "big")]
    try:
        response = ocsp.load_der_ocsp_response(der)
        if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
            return response.response_status.name.lower()
        return response.certificate_status.name.lower()
    except CERTIFICATE_ERRORS:  # the server's bytes: anything cryptography may raise
        return "malformed"


def describe_chain(ders: Sequence[bytes], notes: list[str]) -> list[CertificateInfo]:
    """Describe each certificate as sent; unparsable ones are noted and left out."""
    chain, unparsable = describe_certificates(ders)
    notes.extend(f"certificate #{u.index}: {u.reason}" for u in unparsable)
    return chain


async def probe_key_type(
    probe: Prober, version: TlsVersion, key_type: KeyType, sni: str | None, notes: list[str]
) -> KeyTypeCertificate | None:
    """The chain (and stapled OCSP status) sent to a client that only speaks ``key_type``.

    Returns None when the server has no such certificate (it refused, or
    picked a suite of another authentication).
    """
    auth = _AUTH[key_type]
    suites = [c for c in ordered_suites(version) if CIPHER_SUITES[c].auth is auth]
    if not suites:
        return None
    hello = build_client_hello(
        version,
        suites[:CHUNK_SUITES],
        server_name=sni,
        groups=enumeration_groups(version),
        signature_algorithms=_SIGALGS[key_type],
    )
    result = await probe(hello.to_bytes())
    sh = result.server_hello
    if sh is None or sh.negotiated_version != version or not result.certificates:
        return None
    suite = cipher_suite(sh.cipher_suite)
    if suite is None or suite.auth is not auth:
        return None
    status = result.certificate_status
    return KeyTypeCertificate(
        key_type=key_type,
        suite=suite_info(sh.cipher_suite),
        chain=describe_chain(result.certificates, notes),
        ocsp_stapled=status is not None,
        ocsp_status=ocsp_status(status) if status is not None else None,
    )
