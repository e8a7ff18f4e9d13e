"""Certificate bytes become a description here, and nowhere else (pure, no I/O).

Probes call :func:`describe_chain` on the certificates a server sent so that
the JSON carries readable facts next to the raw bytes and checks can judge
without re-parsing; checks and DANE matching that need the parsed object call
:func:`load_certificate`.  Both go through :func:`parse_certificate`.

A certificate is the peer's bytes: cryptography raises many exception
classes on them, and not only while loading (``DuplicateExtension`` and
``UnsupportedAlgorithm`` come when the extensions or the key are first
read; ``InvalidVersion`` for X.509 version 12).  :func:`parse_certificate`
reads every part any mxtls code reads later and turns every one of those
exceptions into :class:`UnparsableCertificateError`, whose reason is the
fact the probes record ("unparsable certificate: ...") and the checks judge.
An object it returns is therefore safe to use anywhere.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from collections.abc import Sequence

from cryptography import exceptions as crypto_exceptions
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from mxtls.models.observations import CertificateInfo, UnparsableCertificate
from mxtls.protocol.peer_text import clip

__all__ = [
    "CERTIFICATE_ERRORS",
    "MAX_CHAIN_JUDGED",
    "UnparsableCertificateError",
    "common_name",
    "describe_certificate",
    "describe_chain",
    "dns_names",
    "is_ca",
    "key_description",
    "load_certificate",
    "parse_certificate",
    "signature_algorithm_name",
    "spki_sha256",
]

# Everything cryptography may raise on hostile certificate bytes: its own
# exception classes (none of which share a base class) and the built-in ones
# its parsers use.  A test checks that no exception class of cryptography is
# missing here.
CERTIFICATE_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    OverflowError,
    NotImplementedError,
    crypto_exceptions.UnsupportedAlgorithm,
    crypto_exceptions.AlreadyFinalized,
    crypto_exceptions.AlreadyUpdated,
    crypto_exceptions.NotYetFinalized,
    crypto_exceptions.InvalidTag,
    crypto_exceptions.InvalidSignature,
    crypto_exceptions.InternalError,
    crypto_exceptions.InvalidKey,
    x509.AttributeNotFound,
    x509.DuplicateExtension,
    x509.ExtensionNotFound,
    x509.InvalidVersion,
    x509.UnsupportedGeneralNameType,
)
UNPARSABLE = "unparsable certificate"
# Certificates kept parsed: a check sees each MX certificate on every port and
# in the checks again; a bulk scan sees a provider's certificate for every tenant.
PARSED_CERTIFICATES_KEPT = 256
# Certificates of one chain that path analysis and DANE matching look at.  Real
# chains have two to four; linking a chain whose certificates share one name
# costs a signature check per pair, and 100 such certificates (well within
# OpenSSL's 100 KB limit on the Certificate message) cost a third of a second of
# CPU per endpoint.  The certificates after these are still described.
MAX_CHAIN_JUDGED = 16


class UnparsableCertificateError(ValueError):
    """Certificate bytes that cryptography cannot read in full.

    Attributes:
        reason: ``"unparsable certificate: InvalidVersion: 12 is not a valid
            X509 version"``, bounded in length.
    """

    def __init__(self, cause: BaseException) -> None:
        detail = str(cause).splitlines()[0] if str(cause) else ""
        text = f"{type(cause).__name__}: {detail}" if detail else type(cause).__name__
        self.reason = clip(f"{UNPARSABLE}: {text}")
        super().__init__(self.reason)


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


@functools.lru_cache(maxsize=PARSED_CERTIFICATES_KEPT)
def parse_certificate(der: bytes) -> tuple[x509.Certificate, CertificateInfo]:
    """Load ``der`` and describe it; every lazily parsed part is read here.

    Both results are immutable, so the same bytes are parsed once while they
    stay among the :data:`PARSED_CERTIFICATES_KEPT` most recently used
    (a failure is not kept: it raises again).

    Raises:
        UnparsableCertificateError: cryptography refused some part of it.
    """
    # cryptography also *warns* about some bytes: a name attribute longer than
    # its RFC 5280 bound (harmless: kept quiet) and a serial number that is not
    # positive (a deprecation: a later release refuses it, as Go's parser does
    # already, so it is unparsable here too).  The peer must not be able to
    # print to our stderr either.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cert, info = _parse(der)
    refused = [w for w in caught if issubclass(w.category, CryptographyDeprecationWarning)]
    if refused:
        raise UnparsableCertificateError(ValueError(str(refused[0].message)))
    return cert, info


def _parse(der: bytes) -> tuple[x509.Certificate, CertificateInfo]:
    try:
        cert = x509.load_der_x509_certificate(der)
        key_type, key_bits = key_description(cert)
        info = CertificateInfo(
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
        cert.tbs_certificate_bytes  # noqa: B018 - what signature checks read
        cert.signature  # noqa: B018
    except CERTIFICATE_ERRORS as exc:
        raise UnparsableCertificateError(exc) from None
    return cert, info


def describe_certificate(der: bytes) -> CertificateInfo:
    """Parse ``der`` into the facts the report shows.

    Raises:
        UnparsableCertificateError: the bytes are not a certificate cryptography
            can read in full (a ``ValueError``).
    """
    return parse_certificate(der)[1]


def load_certificate(der: bytes) -> x509.Certificate:
    """The parsed certificate, safe to read anywhere (see :func:`parse_certificate`).

    Raises:
        UnparsableCertificateError: the bytes are not a certificate cryptography
            can read in full (a ``ValueError``).
    """
    return parse_certificate(der)[0]


def describe_chain(
    ders: Sequence[bytes],
) -> tuple[list[CertificateInfo], list[UnparsableCertificate]]:
    """The chain as sent, described; the certificates that do not parse, as facts.

    The described list always starts with the leaf: when the leaf itself is
    unparsable it is empty (no certificate can stand in for the leaf) and
    only the unparsable certificates are recorded.

    Returns:
        ``(described, unparsable)``: the described certificates in the order
        sent, and each unparsable one with its position and reason.
    """
    described: list[CertificateInfo] = []
    unparsable: list[UnparsableCertificate] = []
    for index, der in enumerate(ders):
        try:
            described.append(describe_certificate(der))
        except UnparsableCertificateError as exc:
            unparsable.append(
                UnparsableCertificate(
                    index=index,
                    der=der,
                    sha256_fingerprint=hashlib.sha256(der).hexdigest(),
                    reason=exc.reason,
                )
            )
    if unparsable and unparsable[0].index == 0:
        described = []
    return described, unparsable
