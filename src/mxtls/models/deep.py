"""Deep-scan observations: what many crafted ClientHellos showed about one endpoint.

Facts only, as in :mod:`mxtls.models.observations`: which protocol versions,
suites and groups the server accepted, which it picked first, how it behaved
(renegotiation, Extended Master Secret, fallback SCSV, compression, resumption),
the certificate it sends per key type, and what the scan cost (connections,
time, whether the server pushed back).  Whether any of it is a problem is
decided by :mod:`mxtls.checks.deep_tls`.

``None`` always means "not observed" (not tested, or the scan was cut short),
never "no".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mxtls.models.observations import CertificateInfo, EndpointObservation
from mxtls.models.vulns import VulnObservation


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64"
    )


VersionLabel = Literal["SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
Support = Literal["accepted", "rejected", "unknown"]


class SuiteInfo(_Model):
    """One accepted cipher suite (SSLv2: a 24-bit cipher spec) with its names."""

    code: int
    iana_name: str
    openssl_name: str | None = None


class ProtocolResult(_Model):
    """One protocol version: accepted or not, and the suites accepted with it.

    ``suites`` is in the server's preference order when ``server_order`` is
    True, else in the order the server picked them from our offers.
    ``server_order`` is None when fewer than two suites were accepted or the
    scan could not finish the comparison.  ``complete`` is False when the
    enumeration was cut short (throttling, timeout), so ``suites`` may miss some.
    ``detail`` says how a rejection looked (``alert protocol_version``,
    ``closed``, ``answered TLSv1.2``).
    """

    version: VersionLabel
    support: Support
    suites: list[SuiteInfo] = Field(default_factory=list)
    server_order: bool | None = None
    complete: bool = True
    detail: str | None = None


class GroupScan(_Model):
    """Key-exchange groups accepted with one protocol version, in the order picked.

    TLS 1.2: from the ServerKeyExchange of ECDHE suites, one removal at a time.
    TLS 1.3: from the HelloRetryRequest to a hello carrying no key share;
    ``preferred`` is the server's pick when every known group was offered.
    """

    version: VersionLabel
    groups: list[str] = Field(default_factory=list)
    preferred: str | None = None
    complete: bool = True


class NegotiatedDefault(_Model):
    """What a current client (TLS 1.3 + 1.2, modern suites, X25519/P-256) gets."""

    version: VersionLabel | str
    suite: SuiteInfo
    forward_secret: bool
    group: str | None = None


class Behaviour(_Model):
    """How the server behaves on a TLS <= 1.2 handshake (``version``).

    ``secure_renegotiation``: renegotiation_info in the ServerHello (RFC 5746).
    ``extended_master_secret``: EMS acknowledged (RFC 7627).
    ``compression``: the compression method picked when DEFLATE (1) was offered
    before null; non-zero means TLS compression (CRIME).
    ``session_id`` / ``session_ticket``: a resumable session id was issued, the
    SessionTicket extension was acknowledged (RFC 5077).
    ``ocsp_stapled``: a CertificateStatus message was sent (RFC 6066 §8).
    ``fallback_scsv``: True when a lower-version hello carrying TLS_FALLBACK_SCSV
    drew ``inappropriate_fallback`` (RFC 7507), False when it was accepted, None
    when the server has a single protocol version or it could not be tested.
    """

    version: VersionLabel
    secure_renegotiation: bool | None = None
    extended_master_secret: bool | None = None
    compression: int | None = None
    session_id: bool | None = None
    session_ticket: bool | None = None
    ocsp_stapled: bool | None = None
    fallback_scsv: bool | None = None


class KeyTypeCertificate(_Model):
    """The chain sent to a TLS <= 1.2 client offering only one key type's suites.

    ``ocsp_status`` is the certificate status from a stapled OCSP response
    (``good``, ``revoked``, ``unknown``, or the responder's error status).
    """

    key_type: Literal["ECDSA", "RSA"]
    suite: SuiteInfo
    chain: list[CertificateInfo] = Field(default_factory=list)
    ocsp_stapled: bool = False
    ocsp_status: str | None = None


class DeepScanObservation(_Model):
    """Everything the deep scan of one (host, ip, port) saw.

    ``protocols`` has one entry per version from SSLv2 to TLS 1.3.
    ``dh_bits`` is the finite-field DH prime size of a DHE suite's
    ServerKeyExchange (None: no DHE suite accepted or not observed).
    ``throttled`` is True when the server pushed back (421, refusals or early
    closes mid-scan); the scan then stopped and ``untested`` names the steps it
    could not finish.  ``error`` is set when no channel could be opened at all.
    """

    host: str
    ip: str
    port: int
    protocols: list[ProtocolResult] = Field(default_factory=list)
    groups: list[GroupScan] = Field(default_factory=list)
    dh_bits: int | None = None
    default: NegotiatedDefault | None = None
    behaviour: Behaviour | None = None
    certificates: list[KeyTypeCertificate] = Field(default_factory=list)
    connections_used: int = 0
    starttls_offered: int = 0
    starttls_absent: int = 0
    elapsed_ms: float = 0.0
    throttled: bool = False
    untested: list[str] = Field(default_factory=list)
    error: str | None = None
    notes: list[str] = Field(default_factory=list)

    def protocol(self, version: VersionLabel) -> ProtocolResult | None:
        """The result for ``version``, if it was probed."""
        return next((p for p in self.protocols if p.version == version), None)


class DeepScan(_Model):
    """The deep scan of one endpoint: TLS enumeration and vulnerability probes."""

    host: str
    ip: str
    port: int
    tls: DeepScanObservation
    vulns: VulnObservation | None = None


EndpointKey = tuple[str, str, int]  # (host, ip, port)


def key_type_variants(
    scan: DeepScan, endpoints: Mapping[EndpointKey, EndpointObservation]
) -> list[tuple[KeyTypeCertificate, EndpointObservation]]:
    """The certificates of other key types the deep scan got, each as a client would see it.

    A server holding both an RSA and an ECDSA certificate shows one to a
    given client; the deep scan fetched each.  For every certificate whose
    leaf differs from the one of the main handshake (``endpoints[(host, ip,
    port)]``), the main observation is returned with that chain in its
    handshake (the SNI-less comparison belongs to the main handshake only,
    so it is dropped).  Nothing when the main handshake sent no chain.
    """
    main = endpoints.get((scan.host, scan.ip, scan.port))
    if main is None or main.handshake is None or not main.handshake.chain:
        return []
    seen = {main.handshake.chain[0].sha256_fingerprint}
    out: list[tuple[KeyTypeCertificate, EndpointObservation]] = []
    for cert in scan.tls.certificates:
        if not cert.chain or cert.chain[0].sha256_fingerprint in seen:
            continue
        seen.add(cert.chain[0].sha256_fingerprint)
        handshake = main.handshake.model_copy(update={"chain": list(cert.chain)})
        variant = main.model_copy(update={"handshake": handshake, "handshake_nosni": None})
        out.append((cert, variant))
    return out
