"""TLS-RPT codec (RFC 8460 §3): the ``_smtp._tls`` TXT record.

Theory of operation
-------------------
A domain asks sending MTAs for daily TLS reports by publishing, at
``_smtp._tls.DOMAIN``, one TXT record such as::

    v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://reports.example.com/v1

:func:`select_tlsrpt_records` applies the discovery rule ("records that do not
begin with 'v=TLSRPTv1;' are discarded.  If the number of resulting records is
not one, senders MUST assume the recipient domain does not implement TLSRPT")
and :meth:`TlsRptRecord.parse` checks the remaining record against the ABNF::

    tlsrpt-record    = tlsrpt-version 1*(field-delim tlsrpt-field) [field-delim]
    field-delim      = *WSP ";" *WSP
    tlsrpt-field     = tlsrpt-rua /        ; Note: Required
                       tlsrpt-extension
    tlsrpt-version   = %s"v=TLSRPTv1"
    tlsrpt-rua       = %s"rua=" tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
    tlsrpt-uri       = URI   ; commas, exclamation points and semicolons MUST be encoded
    tlsrpt-extension = tlsrpt-ext-name "=" tlsrpt-ext-value

Each ``rua`` URI must be ``mailto:`` (reports by mail) or ``https:`` (reports
by POST); any other scheme makes the record unusable for reporters.  Unlike
DMARC, RFC 8460 defines no ``!size`` suffix: a literal ``!`` is a syntax error
and the reason says so, because records copied from DMARC often carry one.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from mxtls.protocol.peer_text import shown
from mxtls.protocol.txt_fields import (
    EXT_VALUE,
    LDH_LABEL,
    WSP,
    RecordSyntaxError,
    TxtSelection,
    select_records,
    split_name_value,
)

TLSRPT_VERSION = "TLSRPTv1"  # RFC 8460 §3
TLSRPT_URI_MAX_CHARS = 2048  # a sanity bound on one rua URI, not an RFC limit
_TXT_PREFIX = "v=" + TLSRPT_VERSION

# RFC 3986 §2: unreserved / reserved / pct-encoded.  "!", "," and ";" are legal
# URI characters, but RFC 8460 §3 says they MUST be percent-encoded in a rua.
_URI_CHARS = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@$&'()*+=]|%[0-9A-Fa-f]{2})*\Z")


class TlsRptSyntaxError(RecordSyntaxError):
    """A ``_smtp._tls`` TXT record does not follow RFC 8460 §3."""


class RuaScheme(StrEnum):
    """The two report delivery schemes of RFC 8460 §3."""

    MAILTO = "mailto"
    HTTPS = "https"


@dataclass(frozen=True, slots=True, kw_only=True)
class RuaUri:
    """One report destination.

    Attributes:
        uri: the URI as published.
        scheme: mailto or https.
        host: the domain that receives the reports: the mail domain of a
            ``mailto:`` address, the host of an ``https:`` URL (what a later
            check resolves: MX for mail, A/AAAA for HTTPS).
    """

    uri: str
    scheme: RuaScheme
    host: str


def _hostname_ok(host: str) -> bool:
    if not host or len(host) > 253:
        return False
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    return all(len(lab) <= 63 and LDH_LABEL.match(lab) for lab in labels)


def parse_rua_uri(uri: str) -> RuaUri:
    """Check one ``rua`` URI and say where its reports go.

    Raises:
        TlsRptSyntaxError: the URI is not a well-formed ``mailto:`` or ``https:`` URI.
    """
    if len(uri) > TLSRPT_URI_MAX_CHARS:
        raise TlsRptSyntaxError(f"rua URI is longer than {TLSRPT_URI_MAX_CHARS} characters")
    scheme, colon, rest = uri.partition(":")
    if not colon or not scheme or "@" in scheme:
        hint = f"; write 'mailto:{uri}'" if "@" in uri else ""
        raise TlsRptSyntaxError(f"rua {shown(uri)} has no URI scheme (RFC 8460 §3){hint}")
    lowered = scheme.lower()  # RFC 3986 §3.1: schemes are case-insensitive
    if lowered not in (RuaScheme.MAILTO, RuaScheme.HTTPS):
        raise TlsRptSyntaxError(
            f"rua {shown(uri)} uses scheme {shown(scheme)}: only mailto: and https: are "
            "defined (RFC 8460 §3)"
        )
    if "!" in uri:
        raise TlsRptSyntaxError(
            f"rua {shown(uri)} contains '!': RFC 8460 §3 requires it percent-encoded "
            "(TLS-RPT has no DMARC-style '!size' suffix)"
        )
    if not _URI_CHARS.match(uri):
        raise TlsRptSyntaxError(
            f"rua {shown(uri)} contains characters not allowed in a URI "
            "(spaces, controls, non-ASCII or a bad %-escape; RFC 3986 §2)"
        )
    if lowered == RuaScheme.MAILTO:
        address = rest.partition("?")[0]
        local, at, domain = address.rpartition("@")
        if not at or not local or not _hostname_ok(domain):
            raise TlsRptSyntaxError(f"rua {shown(uri)} is not mailto:local@domain (RFC 6068)")
        return RuaUri(uri=uri, scheme=RuaScheme.MAILTO, host=domain.lower().rstrip("."))
    if not rest.startswith("//"):
        raise TlsRptSyntaxError(f"rua {shown(uri)} is not https://host/... (RFC 9110 §4.2.2)")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise TlsRptSyntaxError(f"rua {shown(uri)} has an invalid host or port") from None
    host = parts.hostname or ""
    if not host:
        raise TlsRptSyntaxError(f"rua {shown(uri)} has no host (RFC 9110 §4.2.2)")
    if not _hostname_ok(host):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise TlsRptSyntaxError(f"rua {shown(uri)} has an invalid host {shown(host)}") from None
    return RuaUri(uri=uri, scheme=RuaScheme.HTTPS, host=host.rstrip("."))


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsRptRecord:
    """A parsed ``_smtp._tls`` TXT record.

    Attributes:
        rua: the report destinations in published order (at least one).
        extensions: other ``name=value`` fields, in order (reporters ignore them).
    """

    rua: tuple[RuaUri, ...]
    extensions: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, txt: str) -> TlsRptRecord:
        """Parse one TXT string (the character-strings of one record, joined).

        Raises:
            TlsRptSyntaxError: with one reason per problem found.
        """
        if not txt.startswith(_TXT_PREFIX):
            raise TlsRptSyntaxError(
                f"record must start with {_TXT_PREFIX!r} (case-sensitive; RFC 8460 §3)"
            )
        pieces = txt[len(_TXT_PREFIX) :].split(";")
        if pieces[0].strip(WSP):
            raise TlsRptSyntaxError(
                "the version must be followed by ';' before the next field (RFC 8460 §3)"
            )
        fields = [p.strip(WSP) for p in pieces[1:]]
        if fields and fields[-1] == "":
            fields.pop()  # the optional trailing field-delim
        if not fields:
            raise TlsRptSyntaxError("required field 'rua' is missing (RFC 8460 §3)")
        problems: list[str] = []
        if "" in fields:
            problems.append("empty field between two ';' (RFC 8460 §3 field-delim)")
        ruas: list[list[RuaUri]] = []
        extensions: list[tuple[str, str]] = []
        for field in (f for f in fields if f):
            if field.startswith("rua="):
                ruas.append(_parse_rua_list(field[4:], problems))
                continue
            parsed = split_name_value(field, EXT_VALUE)
            if isinstance(parsed, str):
                problems.append(f"{parsed} (RFC 8460 §3)")
            else:
                extensions.append(parsed)
        if not ruas:
            hint = [n for n, _ in extensions if n.lower() == "rua"]
            problems.append(
                "required field 'rua' is missing (RFC 8460 §3)"
                + (
                    f"; field names are case-sensitive and {shown(hint[0])} is not 'rua'"
                    if hint
                    else ""
                )
            )
        elif len(ruas) > 1:
            problems.append("field 'rua' appears more than once: list all URIs in one rua=")
        if problems:
            raise TlsRptSyntaxError(*problems)
        return cls(rua=tuple(ruas[0]), extensions=tuple(extensions))

    def to_text(self) -> str:
        """The record as it would be published."""
        parts = [_TXT_PREFIX, "rua=" + ",".join(r.uri for r in self.rua)]
        parts += [f"{n}={v}" for n, v in self.extensions]
        return "; ".join(parts)


def _parse_rua_list(value: str, problems: list[str]) -> list[RuaUri]:
    """``tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)``; problems are appended."""
    out: list[RuaUri] = []
    items = [item.strip(WSP) for item in value.split(",")]
    if items == [""]:
        problems.append("rua has no URI (RFC 8460 §3)")
        return out
    for item in items:
        if not item:
            problems.append("rua has an empty entry (a stray ',')")
            continue
        try:
            out.append(parse_rua_uri(item))
        except TlsRptSyntaxError as exc:
            problems.extend(exc.reasons)
    return out


def select_tlsrpt_records(txts: Sequence[str]) -> TxtSelection[TlsRptRecord]:
    """Discovery at ``_smtp._tls.DOMAIN`` (RFC 8460 §3).

    Strings that do not start with ``v=TLSRPTv1`` (followed by ``;``,
    whitespace or nothing) are discarded; exactly one must remain.

    Args:
        txts: every TXT string at the name (each record's strings joined).
    """
    return select_records(txts, _TXT_PREFIX, TlsRptRecord.parse, TlsRptSyntaxError)
