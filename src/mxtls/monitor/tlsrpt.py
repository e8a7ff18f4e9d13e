"""RFC 8460 aggregate reports: parse what senders send, bounded (pure, no I/O).

Senders deliver a report as JSON (``application/tlsrpt+json``), gzipped
(``application/tlsrpt+gzip``, the usual case) over HTTPS or attached to an
e-mail (RFC 8460 §5.3).  :func:`parse_report_bytes` takes any of the three
(JSON, gzip, an RFC 5322 message) and returns the reports found.

Hostile input stays bounded: the raw input is capped (:data:`MAX_INPUT_BYTES`),
gzip is inflated incrementally up to :data:`MAX_JSON_BYTES` (a decompression
bomb stops there), JSON nesting is tiny by schema, and list lengths and
string sizes are capped by the models.  The models are strict about types
(a count is an integer, not ``"12"``); unknown members are ignored, as
RFC 8460 §4.4's extensibility expects; ``mx-host`` is accepted as a list
or a single string, as some senders write it.
"""

from __future__ import annotations

import email
import email.policy
import gzip
import json
import zlib
from datetime import datetime
from email.message import EmailMessage, Message
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

MAX_INPUT_BYTES = 10 * 1024 * 1024  # a report as received (gzip, JSON or a message)
MAX_JSON_BYTES = 20 * 1024 * 1024  # a report inflated
MAX_POLICIES = 1000
MAX_FAILURE_DETAILS = 10_000
MAX_ATTACHMENTS = 10
GZIP_MAGIC = b"\x1f\x8b"
# RFC 8460 §4.3: the result types; others are kept as they come (future RFCs add some).
RESULT_TYPES = (
    "starttls-not-supported",
    "certificate-host-mismatch",
    "certificate-expired",
    "certificate-not-trusted",
    "validation-failure",
    "tlsa-invalid",
    "dnssec-invalid",
    "dane-required",
    "sts-policy-fetch-error",
    "sts-policy-invalid",
    "sts-webpki-invalid",
)
REPORT_MEDIA_TYPES = ("application/tlsrpt+gzip", "application/tlsrpt+json")

Short = Annotated[str, StringConstraints(max_length=1024)]
Name = Annotated[str, StringConstraints(max_length=253)]


class TlsRptError(ValueError):
    """The input is not a usable TLS-RPT report (the message says why)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", strict=True, populate_by_name=True)


class DateRange(_Model):
    """The period the report covers."""

    start: datetime = Field(alias="start-datetime")
    end: datetime = Field(alias="end-datetime")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _parse_time(cls, value: Any) -> Any:
        if isinstance(value, str):  # strict mode takes no strings for datetimes
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"not an RFC 3339 date-time: {value[:40]!r}") from None
        return value


class Policy(_Model):
    """The policy the sender applied (RFC 8460 §4.4)."""

    policy_type: Annotated[str, StringConstraints(max_length=32)] = Field(alias="policy-type")
    policy_string: list[Short] = Field(default_factory=list, alias="policy-string", max_length=100)
    policy_domain: Name = Field(alias="policy-domain")
    mx_host: list[Name] = Field(default_factory=list, alias="mx-host", max_length=100)

    @field_validator("mx_host", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class SessionSummary(_Model):
    """Session counts for one policy."""

    successful: int = Field(alias="total-successful-session-count", ge=0)
    failed: int = Field(alias="total-failure-session-count", ge=0)


class FailureDetail(_Model):
    """One kind of failure seen by the sender (RFC 8460 §4.4)."""

    result_type: Annotated[str, StringConstraints(max_length=64)] = Field(alias="result-type")
    sending_mta_ip: Short | None = Field(default=None, alias="sending-mta-ip")
    receiving_mx_hostname: Name | None = Field(default=None, alias="receiving-mx-hostname")
    receiving_mx_helo: Short | None = Field(default=None, alias="receiving-mx-helo")
    receiving_ip: Short | None = Field(default=None, alias="receiving-ip")
    failed_session_count: int = Field(alias="failed-session-count", ge=0)
    additional_information: Short | None = Field(default=None, alias="additional-information")
    failure_reason_code: Short | None = Field(default=None, alias="failure-reason-code")


class PolicyResult(_Model):
    """One policy block: the policy, its counts and the failure details."""

    policy: Policy
    summary: SessionSummary
    failure_details: list[FailureDetail] = Field(
        default_factory=list, alias="failure-details", max_length=MAX_FAILURE_DETAILS
    )


class TlsRptReport(_Model):
    """One aggregate report (RFC 8460 §4.4)."""

    organization_name: Short = Field(alias="organization-name")
    date_range: DateRange = Field(alias="date-range")
    contact_info: Short | None = Field(default=None, alias="contact-info")
    report_id: Short = Field(alias="report-id")
    policies: list[PolicyResult] = Field(max_length=MAX_POLICIES)


def parse_report_bytes(data: bytes, *, content_type: str | None = None) -> list[TlsRptReport]:
    """The reports in ``data``: gzip, JSON, or an e-mail with reports attached.

    Raises:
        TlsRptError: too large, not a report, or a message with none attached.
    """
    if len(data) > MAX_INPUT_BYTES:
        raise TlsRptError(f"larger than {MAX_INPUT_BYTES} bytes")
    kind = (content_type or "").split(";")[0].strip().lower()
    if data[:2] == GZIP_MAGIC or kind == "application/tlsrpt+gzip":
        return [parse_report_json(inflate(data))]
    stripped = data.lstrip()
    if stripped[:1] == b"{" or kind in ("application/tlsrpt+json", "application/json"):
        return [parse_report_json(data)]
    return parse_message(data)


def inflate(data: bytes, limit: int = MAX_JSON_BYTES) -> bytes:
    """Gunzip ``data`` incrementally, refusing to produce more than ``limit`` bytes.

    Raises:
        TlsRptError: not gzip, truncated, or it would inflate past ``limit``.
    """
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise TlsRptError(f"not valid gzip: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise TlsRptError(f"inflates past {limit} bytes (decompression bomb?)")
    if not inflater.eof:
        raise TlsRptError("truncated gzip stream")
    return out


def parse_report_json(data: bytes) -> TlsRptReport:
    """One report from its JSON text.

    Raises:
        TlsRptError: not JSON, too large, or not shaped like RFC 8460 §4.4.
    """
    if len(data) > MAX_JSON_BYTES:
        raise TlsRptError(f"JSON larger than {MAX_JSON_BYTES} bytes")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise TlsRptError(f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise TlsRptError("not a JSON object")
    try:
        return TlsRptReport.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise TlsRptError(f"not an RFC 8460 report: {where}: {first['msg']}") from None


def parse_message(data: bytes) -> list[TlsRptReport]:
    """The reports attached to an RFC 5322 message (RFC 8460 §5.3).

    Raises:
        TlsRptError: no report attachment, or an attachment that is no report.
    """
    message = email.message_from_bytes(data, policy=email.policy.default)
    reports: list[TlsRptReport] = []
    for part in _attachments(message):
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        if len(reports) >= MAX_ATTACHMENTS:
            raise TlsRptError(f"more than {MAX_ATTACHMENTS} report attachments")
        if payload[:2] == GZIP_MAGIC:
            payload = inflate(payload)
        reports.append(parse_report_json(payload))
    if not reports:
        raise TlsRptError("no TLS-RPT report attached (application/tlsrpt+gzip or +json)")
    return reports


def _attachments(message: Message) -> list[Message]:
    out = []
    for part in message.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type().lower()
        name = (part.get_filename() or "").lower()
        if kind in REPORT_MEDIA_TYPES or name.endswith((".json.gz", ".json")):
            out.append(part)
    return out


def example_report(**changes: Any) -> dict[str, Any]:
    """RFC 8460 §4.5's example report as a dict (for documentation and tests)."""
    report: dict[str, Any] = {
        "organization-name": "Company-X",
        "date-range": {
            "start-datetime": "2016-04-01T00:00:00Z",
            "end-datetime": "2016-04-01T23:59:59Z",
        },
        "contact-info": "sts-reporting@company-x.example",
        "report-id": "5065427c-23d3-47ca-b6e0-946ea0e8c4be",
        "policies": [
            {
                "policy": {
                    "policy-type": "sts",
                    "policy-string": [
                        "version: STSv1",
                        "mode: testing",
                        "mx: *.mail.company-y.example",
                        "max_age: 86400",
                    ],
                    "policy-domain": "company-y.example",
                    "mx-host": ["*.mail.company-y.example"],
                },
                "summary": {
                    "total-successful-session-count": 5326,
                    "total-failure-session-count": 303,
                },
                "failure-details": [
                    {
                        "result-type": "certificate-expired",
                        "sending-mta-ip": "2001:db8:abcd:0012::1",
                        "receiving-mx-hostname": "mx1.mail.company-y.example",
                        "failed-session-count": 100,
                    },
                    {
                        "result-type": "starttls-not-supported",
                        "sending-mta-ip": "2001:db8:abcd:0013::1",
                        "receiving-mx-hostname": "mx2.mail.company-y.example",
                        "receiving-ip": "203.0.113.56",
                        "failed-session-count": 200,
                        "additional-information": "https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported",
                    },
                    {
                        "result-type": "validation-failure",
                        "sending-mta-ip": "198.51.100.62",
                        "receiving-ip": "203.0.113.58",
                        "failed-session-count": 3,
                        "failure-reason-code": "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED",
                    },
                ],
            }
        ],
    }
    report.update(changes)
    return report


def to_gzip(report: dict[str, Any]) -> bytes:
    """``report`` as ``application/tlsrpt+gzip`` bytes."""
    return gzip.compress(json.dumps(report).encode(), mtime=0)


def to_message(reports: list[bytes], *, sender: str = "noreply@company-x.example") -> bytes:
    """An RFC 8460 §5.3 report e-mail with the gzipped reports attached."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "tlsrpt@company-y.example"
    msg["Subject"] = "Report Domain: company-y.example Submitter: company-x.example"
    msg["TLS-Report-Domain"] = "company-y.example"
    msg["TLS-Report-Submitter"] = "company-x.example"
    msg.set_content("This is an aggregate TLS report.")
    for i, body in enumerate(reports):
        msg.add_attachment(
            body,
            maintype="application",
            subtype="tlsrpt+gzip",
            filename=f"company-x.example!company-y.example!1459468800!1459555199!{i}.json.gz",
        )
    return msg.as_bytes()
