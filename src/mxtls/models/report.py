"""The report: the JSON document of the CLI contract (schema ``mxtls/1``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mxtls.models.dane import DaneObservation
from mxtls.models.deep import DeepScan
from mxtls.models.dnssec import DnssecResult
from mxtls.models.findings import Finding, Severity
from mxtls.models.grade import Grade
from mxtls.models.observations import DnsAnswer, EndpointObservation, MxHost, SrvTarget
from mxtls.models.policy import MtaStsObservation, TlsRptObservation
from mxtls.models.ptr import ReverseDns
from mxtls.models.verdict import DeliveryVerdict

SCHEMA_ID = "mxtls/1"


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64"
    )


class DeepSkip(_Model):
    """An endpoint the deep scan was asked to scan but could not, and why.

    ``reason`` names the step that failed (no TCP connection, no 220
    banner, STARTTLS not offered or refused, throttled).
    """

    host: str
    ip: str
    port: int
    reason: str


class NotContacted(_Model):
    """An address of a host that the run deliberately did not connect to, and why.

    ``reason`` reads ``"192.0.2.0/24 is on the exclusion list"``: the scan's
    opt-out list (``mxtls scan --exclude``) covers the host name or address.
    """

    host: str
    ip: str
    reason: str


class HostReport(_Model):
    """One host (an MX host, a submission server or a named server) and its endpoints.

    ``provider`` names the hosted provider whose public MX naming the host
    follows (Google Workspace …; it controls the host's TLS, certificates and
    DANE); ``ptr`` is the reverse DNS of each address.
    ``not_contacted`` lists the addresses left alone on purpose (the opt-out
    list): nothing was tested there.
    """

    name: str
    preference: int
    implicit: bool
    ip_literal: bool
    cname_target: str | None
    addresses: list[str]
    dns: MxHost
    provider: str | None = None
    ptr: dict[str, ReverseDns] = Field(default_factory=dict)
    endpoints: list[EndpointObservation] = Field(default_factory=list)
    deep: list[DeepScan] = Field(default_factory=list)
    deep_skipped: list[DeepSkip] = Field(default_factory=list)
    not_contacted: list[NotContacted] = Field(default_factory=list)


class SubmissionReport(_Model):
    """The domain's submission service as its SRV records name it, and what was seen there.

    ``dnssec`` is the DNSSEC status of each SRV answer that names a host,
    and of the addresses of the hosts that secure answers name: TLSA records
    of an SRV target count only when both are secure (RFC 7673 §3).
    """

    srv: list[DnsAnswer] = Field(default_factory=list)
    targets: list[SrvTarget] = Field(default_factory=list)
    hosts: list[HostReport] = Field(default_factory=list)
    dnssec: list[DnssecResult] = Field(default_factory=list)


class MailboxReport(SubmissionReport):
    """The domain's IMAP and POP3 services as RFC 6186 SRV records name them
    (``_imaps``, ``_imap``, ``_pop3s``, ``_pop3``), and what was seen there."""


class Summary(_Model):
    """Counts for dashboards and one-line summaries."""

    errors: int
    warnings: int
    infos: int
    hosts: int
    endpoints: int
    endpoints_with_tls: int


class RunSettings(_Model):
    """The settings that shaped the run (so a report explains itself)."""

    ports: list[int]
    nameservers: list[str]
    ca_file: str | None
    ehlo_name: str
    timeout_s: float
    warn_days: int
    deep: bool = False
    dnssec_mode: Literal["ad", "validate"] = "ad"


class Report(_Model):
    """Result of checking one domain (``kind`` domain) or named servers (``servers``).

    ``hosts`` are the MX hosts of a domain, or the servers named by the
    user; ``submission`` is the domain's RFC 6186 submission service.
    ``host`` is the kind of the former ``scan-host`` reports, kept so stored
    documents still load.
    """

    schema_: Literal["mxtls/1"] = Field(default="mxtls/1", alias="schema")
    kind: Literal["domain", "servers", "host"] = "domain"
    domain: str
    input: str
    checked_at: datetime
    duration_ms: float
    findings: list[Finding]
    summary: Summary
    verdict: DeliveryVerdict
    grade: Grade | None = None
    mx: DnsAnswer
    null_mx: bool
    hosts: list[HostReport]
    submission: SubmissionReport | None = None
    mailbox: MailboxReport | None = None
    mta_sts: MtaStsObservation | None = None
    tls_rpt: TlsRptObservation | None = None
    dnssec: list[DnssecResult] = Field(default_factory=list)
    dane: DaneObservation | None = None
    settings: RunSettings
    timings_ms: dict[str, float] = Field(default_factory=dict)
    internal_errors: list[str] = Field(default_factory=list)

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        ser_json_bytes="base64",
        val_json_bytes="base64",
    )

    def worst(self) -> Severity | None:
        """The most severe finding's severity, or None when there are none."""
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=lambda s: s.rank)

    def fails(self, threshold: Severity) -> bool:
        """True when a finding at or above ``threshold`` exists (exit status 1)."""
        return any(f.severity.at_least(threshold) for f in self.findings)


def tlsa_matches(report: Report, host: str, ip: str, port: int, spki_sha256: str) -> bool | None:
    """Whether the endpoint's TLSA records authenticate the chain whose leaf key is given.

    None when the report has no DANE result for the endpoint (no TLSA records).
    """
    if report.dane is None:
        return None
    results = [r for r in report.dane.endpoints if (r.host, r.ip, r.port) == (host, ip, port)]
    for r in results:
        if r.leaf_spki_sha256 == spki_sha256:
            return r.authenticated
    return results[0].authenticated if results else None
