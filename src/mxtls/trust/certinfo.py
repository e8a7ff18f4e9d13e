"""Describe a DER certificate as a :class:`CertificateInfo` (pure, no I/O).

Probes call this on every certificate the server sent so that the JSON
carries readable facts next to the raw bytes, and checks can judge without
re-parsing.
"""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from mxtls.models.observations import CertificateInfo


def spki_sha256(cert: x509.Certificate) -> str:
    """Hex SHA-256 of the SubjectPublicKeyInfo (DANE selector 1, matching type 1)."""
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def key_description(cert: x509.Certificate) -> tuple[str, int]:
    """``(key_type, bits)``: ``("RSA", 2048)``, ``("EC-secp256r1", 256)``, ``("Ed25519", 256)``."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC-{key.curve.name}", key.curve.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    return type(key).__name__, 0


def signature_algorithm_name(cert: x509.Certificate) -> str:
    """``sha256WithRSAEncryption``-style name, or the dotted OID when unknown."""
    oid = cert.signature_algorithm_oid
    name = getattr(oid, "_name", None)
    return name if isinstance(name, str) and name != "Unknown OID" else oid.dotted_string


def dns_names(cert: x509.Certificate) -> list[str]:
    """DNS names of the subjectAltName extension (empty when absent)."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return list(ext.value.get_values_for_type(x509.DNSName))


def common_name(cert: x509.Certificate) -> str | None:
    """The subject's (last) CN, if any."""
    attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not attrs:
        return None
    value = attrs[-1].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def is_ca(cert: x509.Certificate) -> bool:
    """True when basicConstraints says CA."""
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def describe_certificate(der: bytes) -> CertificateInfo:
    """Parse ``der`` into the facts the report shows.

    Raises:
        ValueError: the bytes are not a parseable X.509 certificate.
    """
    cert = x509.load_der_x509_certificate(der)
    key_type, key_bits = key_description(cert)
    return CertificateInfo(
        der=der,
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        common_name=common_name(cert),
        sans=dns_names(cert),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_type=key_type,
        key_bits=key_bits,
        signature_algorithm=signature_algorithm_name(cert),
        sha256_fingerprint=hashlib.sha256(der).hexdigest(),
        spki_sha256=spki_sha256(cert),
        is_ca=is_ca(cert),
        self_issued=cert.issuer == cert.subject,
    )
