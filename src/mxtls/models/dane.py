"""DANE observations: TLSA lookups and how each presented chain fared against them.

Facts only (RFC 7672, RFC 7671): which name was asked for TLSA records, what
came back and how DNSSEC judged the answer (:class:`TlsaLookup`), then, for
every endpoint that completed a handshake, which record matched which
certificate of the chain as sent and why the others did not
(:class:`DaneEndpointResult`).  Whether any of it is a problem is decided in
:mod:`mxtls.checks.dane`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mxtls.models.dnssec import DnssecResult
from mxtls.models.observations import DnsAnswer


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TlsaLookup(_Model):
    """The TLSA RRset of one (MX host, port), as found.

    Attributes:
        host: the MX host name (A-label, no trailing dot).
        port: the service port (25, 465 or 587).
        qname: the name whose answer is recorded, ``_PORT._tcp.BASE``.
        base_domain: the TLSA base domain: ``host`` or, when the MX host is a
            DNSSEC-secure CNAME with TLSA records at its target, that target
            (RFC 7672 §2.2.2).  DANE-TA(2) checks the certificate against it.
        answer: the TLSA answer of ``qname``; ``answer.cname_chain`` shows a
            TLSA owner that is itself an alias.
        dnssec: the DNSSEC status of that answer, or None when no validator
            was available (then ``answer.ad`` is the only hint).
        records: the TLSA records in presentation form (``"3 1 1 <hex>"``).
        followed_cname: the MX host's CNAME target when it became the base
            domain, else None.
        host_cname: the MX host's CNAME target, whether or not it was used.
        attempts: answers asked for before ``answer`` that were not used
            (the expanded name, when it had no secure TLSA records).
    """

    host: str
    port: int
    qname: str
    base_domain: str
    answer: DnsAnswer
    dnssec: DnssecResult | None = None
    records: list[str] = Field(default_factory=list)
    followed_cname: str | None = None
    host_cname: str | None = None
    attempts: list[DnsAnswer] = Field(default_factory=list)


class DaneRecordOutcome(_Model):
    """What one TLSA record did against one presented chain.

    Attributes:
        record: the record in presentation form.
        usable: whether SMTP clients use it at all (RFC 7672 §3.1.3).
        matched_index: the chain index of the certificate whose data it
            matched (0 = leaf), or None.
        matched_spki_sha256: hex SHA-256 of that certificate's
            SubjectPublicKeyInfo: the key the record depends on.
        authenticated: whether this record authenticates the server.
        reason: why (or why not), naming the record and the certificate.
    """

    record: str
    usable: bool
    matched_index: int | None = None
    matched_spki_sha256: str | None = None
    authenticated: bool = False
    reason: str


class DaneEndpointResult(_Model):
    """One endpoint's chain (the handshake with SNI) judged against its TLSA RRset.

    Attributes:
        host, ip, port: the endpoint.
        authenticated: at least one usable record authenticates the chain.
        matched_record: the first record that did, in presentation form.
        matched_cert_index: the chain index that record matched.
        outcomes: one entry per record of the RRset, in RRset order.
        reference_names: names a DANE-TA(2) match must find in the leaf: the
            TLSA base domain and, after a CNAME expansion, the MX host name.
        leaf_spki_sha256: hex SHA-256 of the leaf's SubjectPublicKeyInfo as
            sent, i.e. the data of the ``3 1 1`` record that would match it.
        leaf_key_type: the leaf's key (``"RSA-2048"``, ``"EC-secp256r1-256"``).
    """

    host: str
    ip: str
    port: int
    authenticated: bool
    matched_record: str | None = None
    matched_cert_index: int | None = None
    outcomes: list[DaneRecordOutcome] = Field(default_factory=list)
    reference_names: list[str] = Field(default_factory=list)
    leaf_spki_sha256: str | None = None
    leaf_key_type: str | None = None


class DaneObservation(_Model):
    """All TLSA lookups of a run and the endpoints judged against them."""

    lookups: list[TlsaLookup] = Field(default_factory=list)
    endpoints: list[DaneEndpointResult] = Field(default_factory=list)
