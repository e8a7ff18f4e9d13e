"""Malformed certificates, each with exactly one defect and a valid signature.

cryptography refuses to *build* these, so a good certificate from the lab CA
is taken apart at the DER level, one element of its TBSCertificate changed,
and the result signed again with the issuer's key: an X.509 parser meets
the defect and nothing else (OpenSSL sends such certificates without
complaint, which is how a hostile server serves them).
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from mxtls.lab.ca import PrivateKey, _der_tlv

ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")  # AlgorithmIdentifier
OID_PRIME256V1 = bytes.fromhex("06082a8648ce3d030107")
OID_PRIME239V1 = bytes.fromhex("06082a8648ce3d030104")  # known to OpenSSL, not to cryptography


def _tlvs(buf: bytes) -> list[bytes]:
    """The DER elements of ``buf`` in order, each with its header."""
    out, pos = [], 0
    while pos < len(buf):
        first = buf[pos + 1]
        if first < 0x80:
            start, length = pos + 2, first
        else:
            count = first & 0x7F
            start = pos + 2 + count
            length = int.from_bytes(buf[pos + 2 : start], "big")
        out.append(buf[pos : start + length])
        pos = start + length
    return out


def _content(tlv: bytes) -> bytes:
    first = tlv[1]
    return tlv[2 + (first & 0x7F if first & 0x80 else 0) :]


def _tbs_elements(cert: x509.Certificate) -> list[bytes]:
    return _tlvs(_content(cert.tbs_certificate_bytes))


def _sign(elements: list[bytes], signer: PrivateKey) -> bytes:
    assert isinstance(signer, ec.EllipticCurvePrivateKey), "the lab CA signs with EC keys"
    tbs = _der_tlv(0x30, b"".join(elements))
    signature = signer.sign(tbs, ec.ECDSA(hashes.SHA256()))
    return _der_tlv(0x30, tbs + ECDSA_SHA256 + _der_tlv(0x03, b"\x00" + signature))


def with_version(cert: x509.Certificate, signer: PrivateKey, version: int) -> bytes:
    """``cert`` claiming X.509 ``version`` (the encoded integer: 2 is v3, 12 is nonsense)."""
    elements = _tbs_elements(cert)
    assert elements[0][0] == 0xA0, "a v3 certificate starts with [0] version"
    elements[0] = _der_tlv(0xA0, _der_tlv(0x02, bytes([version])))
    return _sign(elements, signer)


def with_duplicate_extension(cert: x509.Certificate, signer: PrivateKey) -> bytes:
    """``cert`` with its first extension listed twice (RFC 5280 §4.2 forbids it)."""
    elements = _tbs_elements(cert)
    assert elements[-1][0] == 0xA3, "a v3 certificate ends with [3] extensions"
    extensions = _tlvs(_content(_content(elements[-1])))
    doubled = b"".join([*extensions, extensions[0]])
    elements[-1] = _der_tlv(0xA3, _der_tlv(0x30, doubled))
    return _sign(elements, signer)


def with_unknown_curve(cert: x509.Certificate, signer: PrivateKey) -> bytes:
    """``cert`` whose EC key names a curve cryptography does not support."""
    elements = [e.replace(OID_PRIME256V1, OID_PRIME239V1) for e in _tbs_elements(cert)]
    return _sign(elements, signer)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)
