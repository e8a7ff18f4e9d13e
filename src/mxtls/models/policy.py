"""Observations of the domain's downgrade-protection policies: MTA-STS and TLS-RPT.

Like :mod:`mxtls.models.observations`, these are facts only: the TXT answers
as the run's resolver gave them, the HTTPS exchange for the MTA-STS policy
file, and what the codecs in :mod:`mxtls.protocol` made of the texts.  Whether
any of it is a problem is decided in :mod:`mxtls.checks.mta_sts` and
:mod:`mxtls.checks.tls_rpt`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mxtls.models.observations import DnsAnswer


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ----------------------------------------------------------------------- MTA-STS

PolicyFetchErrorKind = Literal[
    "dns",  # mta-sts.DOMAIN has no usable A/AAAA (failed lookups or no address)
    "connect",  # TCP connect refused, unreachable or reset
    "timeout",  # a connect/read step or the whole fetch ran out of time
    "tls",  # the TLS handshake failed for a reason other than the certificate
    "cert",  # the certificate did not verify (untrusted, wrong name, expired)
    "protocol",  # the peer did not speak valid HTTP/1.1
    "status",  # the response status was not 200
    "redirect",  # the response was a 3xx (RFC 8461 §3.3: redirects are not followed)
    "size",  # the body exceeds the 64 KiB senders accept
    "media_type",  # Content-Type is not text/plain
    "encoding",  # Content-Encoding other than identity (refused unread: no decompression)
]


class PolicyFetchError(_Model):
    """Why a policy fetch did not produce a usable body.

    ``kind`` is a closed set (see :data:`PolicyFetchErrorKind`); ``detail``
    says what was seen, e.g. ``"301 to https://www.example.com/"``.
    """

    kind: PolicyFetchErrorKind
    detail: str


class MtaStsFetch(_Model):
    """One GET of ``https://mta-sts.DOMAIN/.well-known/mta-sts.txt``.

    Attributes:
        url: the logical URL (always port 443, as senders use).
        host: ``mta-sts.DOMAIN``, the name sent in SNI and checked against the certificate.
        connect_port: the TCP port actually connected (differs from 443 only in the lab).
        a, aaaa: the address lookups of ``host`` through the run's resolver.
        addresses: every address tried, in order.
        address: the address that produced the response (None when none did).
        status: the HTTP status code, when a response arrived.
        content_type: the ``Content-Type`` header as sent.
        location: the ``Location`` header of a redirect.
        body_bytes: body bytes read (at most the size bound + 1).
        text: the body decoded as UTF-8 (invalid bytes replaced), when within the bound.
        error: the first failure, or None when a 200 ``text/plain`` body within
            the bound was read.
        elapsed_ms: wall time of the whole fetch, lookups excluded.
    """

    url: str
    host: str
    connect_port: int
    a: DnsAnswer | None = None
    aaaa: DnsAnswer | None = None
    addresses: list[str] = Field(default_factory=list)
    address: str | None = None
    status: int | None = None
    content_type: str | None = None
    location: str | None = None
    body_bytes: int = 0
    text: str | None = None
    error: PolicyFetchError | None = None
    elapsed_ms: float = 0.0


MtaStsModeText = Literal["enforce", "testing", "none"]


class MtaStsObservation(_Model):
    """The ``_mta-sts`` TXT lookup, the policy fetch and the parsed policy.

    Attributes:
        domain: the mail domain.
        txt: the TXT answer at ``_mta-sts.DOMAIN``.
        txt_strings: every TXT record of the answer, its character-strings
            concatenated (RFC 8461 §3.1), unquoted.
        sts_records: the strings that start with ``v=STSv1`` (discovery candidates).
        record: the one candidate when there is exactly one.
        record_id: its ``id`` when it parses.
        record_errors: why the one candidate does not parse.
        fetch: the HTTPS exchange; None when no fetch was attempted (TXT failed,
            absent, ambiguous or invalid).
        mode, max_age, mx_patterns: the policy fields when the body parses.
        policy_errors: why the body does not parse (every reason found).
        policy_notes: harmless deviations the parser noticed.
    """

    domain: str
    txt: DnsAnswer
    txt_strings: list[str] = Field(default_factory=list)
    sts_records: list[str] = Field(default_factory=list)
    record: str | None = None
    record_id: str | None = None
    record_errors: list[str] = Field(default_factory=list)
    fetch: MtaStsFetch | None = None
    mode: MtaStsModeText | None = None
    max_age: int | None = None
    mx_patterns: list[str] = Field(default_factory=list)
    policy_errors: list[str] = Field(default_factory=list)
    policy_notes: list[str] = Field(default_factory=list)

    @property
    def policy_text(self) -> str | None:
        """The fetched policy body (bounded by the fetch), if any."""
        return self.fetch.text if self.fetch is not None else None


# ----------------------------------------------------------------------- TLS-RPT


class TlsRptObservation(_Model):
    """The ``_smtp._tls`` TXT lookup and what the record says.

    Attributes:
        domain: the mail domain.
        txt: the TXT answer at ``_smtp._tls.DOMAIN``.
        txt_strings: every TXT record, its character-strings concatenated, unquoted.
        rpt_records: the strings that start with ``v=TLSRPTv1`` (discovery candidates).
        record: the one candidate when there is exactly one.
        rua: its report URIs when it parses.
        errors: why the one candidate does not parse.
    """

    domain: str
    txt: DnsAnswer
    txt_strings: list[str] = Field(default_factory=list)
    rpt_records: list[str] = Field(default_factory=list)
    record: str | None = None
    rua: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
