"""TLSA records for mail (RFC 6698, RFC 7671, RFC 7672, RFC 7673): the codec, pure.

A TLSA record ``usage selector mtype data`` at ``_25._tcp.MXHOST`` pins a key
or certificate of the mail server.  For SMTP relay only two usages count
(RFC 7672 §3.1.3): DANE-EE(3) pins the server's own certificate or key,
DANE-TA(2) pins a CA that issued it.  PKIX-TA(0) and PKIX-EE(1) are not meant
for SMTP relay and its clients treat them as unusable, as they do records
with unknown parameters or a digest of the wrong length
(:func:`usable_for_smtp`).  On other ports (submission, IMAP, POP3: RFC 6698
§2.1.1, RFC 7673) the PKIX usages are usable too, on top of PKIX validation
(:func:`usable_for_port`).

This module reads and writes records (:class:`TlsaRecord`), names their
owner (:func:`tlsa_owner`) and computes what a record holds for a
certificate (:func:`association_data`, :func:`generate_tlsa`).  Matching a
presented chain against an RRset is :func:`mxtls.trust.dane.match_chain`.

Selectors: 0 = the whole certificate DER, 1 = its SubjectPublicKeyInfo DER, cut
from the certificate bytes as sent (not re-encoded).  Matching types: 0 =
exact bytes, 1 = SHA-256, 2 = SHA-512 (RFC 6698 §2.1).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.serialization import load_der_public_key

from mxtls.protocol.peer_text import clip, shown
from mxtls.trust.certinfo import CERTIFICATE_ERRORS, load_certificate

if TYPE_CHECKING:
    from dns.rdtypes.ANY.TLSA import TLSA

SHA256_BYTES = 32  # RFC 6698 §2.1.3 matching type 1: SHA-256 digest length
SHA512_BYTES = 64  # RFC 6698 §2.1.3 matching type 2: SHA-512 digest length
TLSA_FIELD_MAX = 255  # RFC 6698 §2.1: usage, selector and matching type are one octet each
TLSA_DATA_MAX_BYTES = 65_535  # RFC 1035 §3.2.1: RDLENGTH is 16 bits, an upper bound for the data


class TlsaUsage(IntEnum):
    """Certificate usage (RFC 6698 §2.1.1, acronyms from RFC 7218)."""

    PKIX_TA = 0
    PKIX_EE = 1
    DANE_TA = 2
    DANE_EE = 3


class TlsaSelector(IntEnum):
    """Selector (RFC 6698 §2.1.2)."""

    CERT = 0
    SPKI = 1


class TlsaMatchingType(IntEnum):
    """Matching type (RFC 6698 §2.1.3)."""

    FULL = 0
    SHA2_256 = 1
    SHA2_512 = 2


_DIGEST_BYTES = {TlsaMatchingType.SHA2_256: SHA256_BYTES, TlsaMatchingType.SHA2_512: SHA512_BYTES}


class TlsaSyntaxError(ValueError):
    """A TLSA record in presentation form does not parse.

    Attributes:
        reason: what is wrong, naming the rule.
    """

    def __init__(self, reason: str) -> None:
        self.reason = clip(reason)
        super().__init__(self.reason)


def _label(enum: type[IntEnum], value: int) -> str:
    try:
        return f"{enum(value).name.replace('_', '-')}({value})"
    except ValueError:
        return f"unknown({value})"


@dataclass(frozen=True, slots=True)
class TlsaRecord:
    """One TLSA record.  Fields keep unknown values so they can be reported.

    Attributes:
        usage: certificate usage, 0-255 (see :class:`TlsaUsage`).
        selector: 0-255 (see :class:`TlsaSelector`).
        mtype: matching type, 0-255 (see :class:`TlsaMatchingType`).
        data: certificate association data.
    """

    usage: int
    selector: int
    mtype: int
    data: bytes

    @classmethod
    def parse(cls, presentation: str) -> TlsaRecord:
        """Parse ``"3 1 1 0123ab..."`` (RFC 6698 §2.2).

        The data may be split by whitespace and wrapped in parentheses, as
        zone files often do.

        Raises:
            TlsaSyntaxError: not three octets followed by an even number of hex digits.
        """
        tokens = presentation.replace("(", " ").replace(")", " ").split()
        if len(tokens) < 4:
            raise TlsaSyntaxError(
                "expected 'usage selector matching-type hex-data' (RFC 6698 §2.2)"
            )
        numbers: list[int] = []
        for name, token in zip(("usage", "selector", "matching type"), tokens[:3], strict=True):
            if not (token.isascii() and token.isdigit()) or len(token) > 3:
                raise TlsaSyntaxError(f"{name} {shown(token)} is not a decimal number 0-255")
            value = int(token)
            if value > TLSA_FIELD_MAX:
                raise TlsaSyntaxError(f"{name} {value} is above 255 (one octet)")
            numbers.append(value)
        hexdata = "".join(tokens[3:])
        if len(hexdata) > 2 * TLSA_DATA_MAX_BYTES:
            raise TlsaSyntaxError(f"association data is longer than {TLSA_DATA_MAX_BYTES} bytes")
        if not hexdata.isascii() or len(hexdata) % 2:
            raise TlsaSyntaxError("association data must be an even number of hex digits")
        try:
            data = bytes.fromhex(hexdata)
        except ValueError:
            raise TlsaSyntaxError("association data must be hex digits") from None
        return cls(numbers[0], numbers[1], numbers[2], data)

    @classmethod
    def from_rdata(cls, rdata: TLSA) -> TlsaRecord:
        """Build from a dnspython TLSA rdata (``answer.rrset`` items)."""
        return cls(int(rdata.usage), int(rdata.selector), int(rdata.mtype), bytes(rdata.cert))

    def to_text(self) -> str:
        """Presentation form, ``"3 1 1 0123ab..."`` (lower-case hex, one token)."""
        return f"{self.usage} {self.selector} {self.mtype} {self.data.hex()}"

    def describe(self) -> str:
        """``"DANE-EE(3) SPKI(1) SHA2-256(1)"``: for messages."""
        return " ".join(
            (
                _label(TlsaUsage, self.usage),
                _label(TlsaSelector, self.selector),
                _label(TlsaMatchingType, self.mtype),
            )
        )


SMTP_RELAY_PORT = 25  # RFC 7672: DANE for MTA-to-MTA SMTP, where PKIX usages are unusable


def pkix_usages_apply(port: int) -> bool:
    """Are PKIX-TA(0) and PKIX-EE(1) usable for the service on ``port``?

    RFC 7672 §3.1.3 rules them out for SMTP relay (port 25) only: its
    clients have no agreed set of trust anchors.  For every other service,
    submission and IMAP/POP3 included (RFC 7673 for services found through
    SRV records), RFC 6698 §2.1.1 applies and all four usages count.
    """
    return port != SMTP_RELAY_PORT


def usable_for_smtp(rec: TlsaRecord) -> tuple[bool, str]:
    """Whether an SMTP relay client may use ``rec`` at all (RFC 7672 §3.1.3, RFC 7671 §4).

    SMTP clients treat PKIX-TA(0) and PKIX-EE(1) records as unusable, and
    records with unknown usage, selector or matching type are unusable too.
    A digest whose length does not fit its matching type can never match, so
    it is reported as unusable as well; so is full data (matching type 0) that
    is not a DER certificate or public key of the kind the selector names.

    Returns:
        ``(usable, reason)``; the reason explains either verdict.
    """
    return usable_record(rec, pkix=False)


def usable_for_port(rec: TlsaRecord, port: int) -> tuple[bool, str]:
    """Whether a client of the service on ``port`` may use ``rec`` (:func:`pkix_usages_apply`)."""
    return usable_record(rec, pkix=pkix_usages_apply(port))


def usable_record(rec: TlsaRecord, *, pkix: bool) -> tuple[bool, str]:
    """Whether ``rec`` is usable, with (``pkix``, RFC 6698) or without (RFC 7672) PKIX usages.

    Returns:
        ``(usable, reason)``; the reason explains either verdict.
    """
    what = rec.describe()
    if rec.usage in (TlsaUsage.PKIX_TA, TlsaUsage.PKIX_EE) and not pkix:
        return False, f"{what}: PKIX usages 0 and 1 are unusable for SMTP (RFC 7672 §3.1.3)"
    if rec.usage not in (
        TlsaUsage.PKIX_TA,
        TlsaUsage.PKIX_EE,
        TlsaUsage.DANE_TA,
        TlsaUsage.DANE_EE,
    ):
        return False, f"{what}: unknown certificate usage (RFC 7671 §4)"
    if rec.selector not in (TlsaSelector.CERT, TlsaSelector.SPKI):
        return False, f"{what}: unknown selector (RFC 7671 §4)"
    if rec.mtype not in (
        TlsaMatchingType.FULL,
        TlsaMatchingType.SHA2_256,
        TlsaMatchingType.SHA2_512,
    ):
        return False, f"{what}: unknown matching type (RFC 7671 §4)"
    expected = _DIGEST_BYTES.get(TlsaMatchingType(rec.mtype))
    if expected is not None and len(rec.data) != expected:
        return (
            False,
            f"{what}: data is {len(rec.data)} bytes, a {expected}-byte digest is required",
        )
    if rec.mtype == TlsaMatchingType.FULL:
        try:
            if rec.selector == TlsaSelector.CERT:
                load_certificate(rec.data)
            else:
                load_der_public_key(rec.data)
        except CERTIFICATE_ERRORS:
            kind = "certificate" if rec.selector == TlsaSelector.CERT else "SubjectPublicKeyInfo"
            return False, f"{what}: data is not a DER {kind} this checker can read"
    return True, f"{what}: usable"


# ------------------------------------------------------------------ association


def _der_header(buf: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """``(tag, content_start, content_end)`` of the DER TLV at ``pos``.

    Raises:
        ValueError: the TLV is truncated or not DER (indefinite/oversized length).
    """
    if pos + 2 > end:
        raise ValueError("truncated DER header")
    tag, first = buf[pos], buf[pos + 1]
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte DER tags are not used in a TBSCertificate")
    if first < 0x80:
        start, length = pos + 2, first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + 2 + count > end:
            raise ValueError("bad DER length")
        start = pos + 2 + count
        length = int.from_bytes(buf[pos + 2 : start], "big")
    if start + length > end:
        raise ValueError("DER value runs past its container")
    return tag, start, start + length


def spki_der(cert_der: bytes) -> bytes:
    """The SubjectPublicKeyInfo of a certificate, cut from the DER as sent.

    Reading the bytes in place (rather than re-encoding the parsed key) keeps
    selector 1 exact for keys a library might re-encode differently.

    Raises:
        ValueError: ``cert_der`` is not a DER certificate.
    """
    tag, start, end = _der_header(cert_der, 0, len(cert_der))
    if tag != 0x30:
        raise ValueError("a certificate is a SEQUENCE")
    tag, pos, tbs_end = _der_header(cert_der, start, end)
    if tag != 0x30:
        raise ValueError("a TBSCertificate is a SEQUENCE")
    tag, _, after = _der_header(cert_der, pos, tbs_end)
    if tag == 0xA0:  # [0] EXPLICIT version
        pos = after
    for _ in range(5):  # serialNumber, signature, issuer, validity, subject
        _, _, pos = _der_header(cert_der, pos, tbs_end)
    tag, _, spki_end = _der_header(cert_der, pos, tbs_end)
    if tag != 0x30:
        raise ValueError("a SubjectPublicKeyInfo is a SEQUENCE")
    return cert_der[pos:spki_end]


def association_data(cert_der: bytes, selector: int, mtype: int) -> bytes:
    """What a TLSA record with ``selector``/``mtype`` holds for this certificate.

    Raises:
        ValueError: unknown selector or matching type, or not a DER certificate.
    """
    if selector == TlsaSelector.CERT:
        selected = cert_der
    elif selector == TlsaSelector.SPKI:
        selected = spki_der(cert_der)
    else:
        raise ValueError(f"unknown TLSA selector {selector}")
    if mtype == TlsaMatchingType.FULL:
        return selected
    if mtype == TlsaMatchingType.SHA2_256:
        return hashlib.sha256(selected).digest()
    if mtype == TlsaMatchingType.SHA2_512:
        return hashlib.sha512(selected).digest()
    raise ValueError(f"unknown TLSA matching type {mtype}")


def generate_tlsa(cert_der: bytes, usage: int, selector: int = 1, mtype: int = 1) -> str:
    """The presentation line to publish for a certificate, e.g. ``"3 1 1 <hex>"``.

    Raises:
        ValueError: a parameter outside the defined values, or not a DER certificate.
    """
    if usage not in tuple(TlsaUsage):
        raise ValueError(f"unknown TLSA usage {usage}")
    return TlsaRecord(usage, selector, mtype, association_data(cert_der, selector, mtype)).to_text()


def tlsa_owner(host: str, port: int) -> str:
    """``_25._tcp.mx.example`` for ``("mx.example.", 25)`` (RFC 6698 §3)."""
    return f"_{port}._tcp.{host.strip().lower().rstrip('.')}"


def normalize_record(text: str) -> str:
    """One presentation form per record (``"3 1 1 <lower-case hex>"``).

    Records that do not parse are kept as they came, so they can be reported.
    """
    try:
        return TlsaRecord.parse(text).to_text()
    except TlsaSyntaxError:
        return " ".join(text.split())
