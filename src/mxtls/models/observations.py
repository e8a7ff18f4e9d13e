"""Observations: facts recorded by probes, never verdicts.

Everything a probe saw goes here (what was sent, what came back, timings, raw
certificate bytes).  Whether a fact is a problem is decided in ``checks/``.
All models are frozen and reject unknown fields; they are serialised as the
per-host / per-endpoint detail of the JSON report.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mxtls.models.auth import AuthAttempt


class _Model(BaseModel):
    # Certificates travel as DER bytes; JSON carries them as base64.
    model_config = ConfigDict(
        frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64"
    )


# --------------------------------------------------------------------------- DNS

DnsStatus = Literal["NOERROR", "NXDOMAIN", "NODATA", "SERVFAIL", "REFUSED", "TIMEOUT", "ERROR"]


class DnsAnswer(_Model):
    """One DNS lookup as the run's resolver answered it.

    ``status`` folds rcode and transport failures: NODATA is NOERROR with an
    empty answer; TIMEOUT and ERROR mean no usable response arrived.
    ``records`` are the answer RRset in presentation form (for MX:
    ``"10 mx1.example."``); ``cname_chain`` lists the CNAME targets followed.
    """

    qname: str
    rdtype: str
    status: DnsStatus
    records: list[str] = Field(default_factory=list)
    cname_chain: list[str] = Field(default_factory=list)
    ad: bool = False
    error: str | None = None
    elapsed_ms: float = 0.0

    @property
    def failed(self) -> bool:
        """True for SERVFAIL/REFUSED/TIMEOUT/ERROR (not for NXDOMAIN/NODATA)."""
        return self.status in ("SERVFAIL", "REFUSED", "TIMEOUT", "ERROR")


class MxHost(_Model):
    """One mail host of the domain, with its address lookups.

    ``name`` is the A-label host name without the trailing dot.  ``implicit``
    is True when the domain has no MX and its own A/AAAA are used (RFC 5321
    §5.1).  ``ip_literal`` is True when the MX target is an IP address.
    """

    name: str
    preference: int
    implicit: bool = False
    ip_literal: bool = False
    cname_target: str | None = None
    a: DnsAnswer | None = None
    aaaa: DnsAnswer | None = None
    addresses: list[str] = Field(default_factory=list)
    caa: DnsAnswer | None = None
    caa_domain: str | None = None


SubmissionService = Literal["submissions", "submission"]
MailboxService = Literal["imaps", "imap", "pop3s", "pop3"]


class SrvTarget(_Model):
    """One RFC 6186 SRV record: ``_submissions._tcp`` (implicit TLS) or ``_submission._tcp``,
    or a mailbox service: ``_imaps._tcp``, ``_imap._tcp``, ``_pop3s._tcp``, ``_pop3._tcp``.

    A ``target`` of ``.`` means the service is deliberately not offered
    (RFC 6186 §3, RFC 2782).
    """

    service: SubmissionService | MailboxService
    priority: int
    weight: int
    port: int
    target: str


class Discovery(_Model):
    """What DNS said about where mail for the domain goes."""

    domain: str
    mx: DnsAnswer
    null_mx: bool = False
    hosts: list[MxHost] = Field(default_factory=list)


# ------------------------------------------------------------------------- SMTP


class SmtpReply(_Model):
    """A complete (possibly multi-line) SMTP reply: code and the text of each line."""

    code: int
    lines: list[str]

    @property
    def text(self) -> str:
        """All lines joined by spaces."""
        return " ".join(self.lines)


class EhloInfo(_Model):
    """The answer to EHLO (or HELO after an EHLO refusal).

    ``capabilities`` maps upper-cased keywords to their parameters
    (``{"AUTH": ["PLAIN", "LOGIN"], "SIZE": ["35882577"], "STARTTLS": []}``).
    """

    command: Literal["EHLO", "HELO"]
    reply: SmtpReply
    capabilities: dict[str, list[str]] = Field(default_factory=dict)


class TranscriptLine(_Model):
    """One line of the SMTP dialogue: ``C`` (client) or ``S`` (server), ``T`` for TLS events."""

    dir: Literal["C", "S", "T"]
    text: str
    t_ms: float


# ``blocked``: the run's address policy refused the target (mxtls.net.guard): nothing was sent.
ConnectFailureKind = Literal["refused", "timeout", "unreachable", "reset", "blocked", "other"]


class ConnectFailure(_Model):
    """The TCP connection could not be established."""

    kind: ConnectFailureKind
    detail: str


# -------------------------------------------------------------------------- TLS


class CertificateInfo(_Model):
    """Facts parsed from one certificate as the server sent it (``der`` is kept)."""

    der: bytes
    subject: str
    issuer: str
    common_name: str | None = None
    sans: list[str] = Field(default_factory=list)
    serial: str
    not_before: datetime
    not_after: datetime
    key_type: str
    key_bits: int
    signature_algorithm: str
    sha256_fingerprint: str
    spki_sha256: str
    is_ca: bool = False
    self_issued: bool = False


class UnparsableCertificate(_Model):
    """A certificate the server sent that cannot be read (the bytes are kept).

    ``index`` is its position in the list as sent (0 = the leaf); ``reason``
    reads ``"unparsable certificate: InvalidVersion: 12 is not a valid X509
    version"``.
    """

    index: int
    der: bytes
    sha256_fingerprint: str
    reason: str


class TlsHandshake(_Model):
    """A completed TLS handshake: what was negotiated and the chain as sent.

    ``sni`` is the name sent in the ClientHello (None when SNI was withheld).
    ``chain`` is the server's certificate list in the order it was sent,
    leaf first, without the certificates in ``unparsable``; when the leaf
    itself is unparsable, ``chain`` is empty.
    """

    sni: str | None
    version: str
    cipher: str
    cipher_bits: int | None = None
    group: str | None = None
    alpn: str | None = None
    chain: list[CertificateInfo] = Field(default_factory=list)
    unparsable: list[UnparsableCertificate] = Field(default_factory=list)
    elapsed_ms: float = 0.0

    def certificates_sent(self) -> list[bytes]:
        """The DER of every certificate kept, in the order sent (for DANE matching)."""
        if not self.chain:
            return [u.der for u in self.unparsable]
        bad = {u.index: u.der for u in self.unparsable}
        described = iter(c.der for c in self.chain)
        total = len(self.chain) + len(self.unparsable)
        return [bad[i] if i in bad else next(described) for i in range(total)]


TlsMode = Literal["starttls", "implicit"]
EndpointRole = Literal["mx", "submission", "mailbox", "server"]
MailProtocol = Literal["smtp", "imap", "pop3"]


class MailboxReply(_Model):
    """An IMAP or POP3 response: status, text and the lines that came with it.

    ``status`` is IMAP's ``OK``/``NO``/``BAD``/``BYE``/``PREAUTH`` or POP3's
    ``+OK``/``-ERR``; ``code`` is an IMAP response code (``[ALERT]`` …);
    ``lines`` are IMAP's untagged lines before the completion, or the body
    of a multi-line POP3 response.
    """

    status: str
    text: str
    code: str | None = None
    lines: list[str] = Field(default_factory=list)


class EndpointObservation(_Model):
    """Everything seen on one (host, ip, port).

    The dialogue stops at the first step that failed; the fields after it
    stay None.  ``stopped_at`` names that step and ``stop_reason`` says why
    (``timeout``, ``closed``, ``protocol``, ``rejected``, ``tls``).
    ``throttled`` is True when the server's behaviour looked like rate
    limiting (421, "too many connections", close right after connect).

    ``nosni_starttls_offered`` is what the EHLO of the second connection
    (the one without SNI) advertised, so STARTTLS can be compared across
    connections.

    ``protocol`` is what was spoken: SMTP fills ``banner``, ``ehlo``,
    ``starttls_reply`` and ``ehlo_tls``; IMAP and POP3 (mailbox access for
    users) fill ``greeting``, ``capabilities``, ``upgrade_reply`` and
    ``capabilities_tls`` instead.  The TLS fields are the same for all three.

    ``role`` says why the endpoint was probed: an MX host (the relay path),
    a submission server named by an RFC 6186 SRV record, or a server named
    by the user.  ``optional`` is True when nothing published promises a
    service there (an MX host's port other than 25, a default port of a
    named server): a closed port is then a fact, not a fault.
    """

    host: str
    ip: str
    port: int
    connect_port: int
    tls_mode: TlsMode
    protocol: MailProtocol = "smtp"
    role: EndpointRole = "mx"
    optional: bool = False
    connect_failure: ConnectFailure | None = None
    banner: SmtpReply | None = None
    ehlo: EhloInfo | None = None
    ehlo_rejected: SmtpReply | None = None
    starttls_offered: bool | None = None
    starttls_reply: SmtpReply | None = None
    starttls_leftover: str | None = None
    handshake: TlsHandshake | None = None
    handshake_error: str | None = None
    ehlo_tls: EhloInfo | None = None
    handshake_nosni: TlsHandshake | None = None
    auth: AuthAttempt | None = None
    auth_plaintext: AuthAttempt | None = None
    nosni_starttls_offered: bool | None = None
    greeting: MailboxReply | None = None
    capabilities: dict[str, list[str]] | None = None
    upgrade_reply: MailboxReply | None = None
    capabilities_tls: dict[str, list[str]] | None = None
    stopped_at: str | None = None
    stop_reason: str | None = None
    stop_detail: str | None = None
    throttled: bool = False
    timings_ms: dict[str, float] = Field(default_factory=dict)
    transcript: list[TranscriptLine] = Field(default_factory=list)
    internal_error: str | None = None
