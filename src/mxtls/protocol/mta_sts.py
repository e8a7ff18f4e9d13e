"""MTA-STS codecs (RFC 8461): the ``_mta-sts`` TXT record and the policy file.

Theory of operation
-------------------
MTA-STS has two texts, and both are parsed here without any I/O:

* the TXT record at ``_mta-sts.DOMAIN`` (§3.1) announces that a policy exists
  and names its version with ``id``.  :func:`select_sts_records` applies the
  discovery rule (discard strings that do not start with ``v=STSv1``, then
  exactly one must remain) and :meth:`MtaStsRecord.parse` checks the one that
  remains against the ABNF;
* the policy file fetched from ``https://mta-sts.DOMAIN/.well-known/mta-sts.txt``
  (§3.2) holds ``version``, ``mode``, ``max_age`` and ``mx`` lines.
  :meth:`MtaStsPolicy.parse` collects *every* problem it finds, so a report can
  explain all that is wrong with a policy at once, and keeps harmless
  deviations (blank lines, duplicate ``mx`` patterns) as ``notes``.

:func:`mx_matches_pattern` is the §4.1 rule a sender uses to decide whether an
MX host is allowed by a policy.

What senders do is the yardstick.  Unknown policy keys and unrelated TXT
strings are ignored, as the RFC says (some checkers wrongly treat both as
fatal); the 64 KiB size bound and the ``id`` syntax are enforced (some
resolvers skip them).  Field names are case-sensitive (RFC 7405 ``%s``
strings in the ABNF), so ``Mode: enforce`` is an unknown extension, not a mode;
the reasons say so, because it is an easy mistake to make.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from mxtls.protocol.peer_text import bounded_reasons, shown
from mxtls.protocol.txt_fields import (
    EXT_NAME,
    EXT_VALUE,
    LDH_LABEL,
    WSP,
    RecordSyntaxError,
    split_fields,
    split_name_value,
)
from mxtls.protocol.txt_fields import (
    SelectionKind as SelectionKind,
)
from mxtls.protocol.txt_fields import (
    TxtSelection as TxtSelection,
)
from mxtls.protocol.txt_fields import (
    select_records as select_records,
)

MTA_STS_POLICY_MAX_BYTES = 64 * 1024  # RFC 8461 §3.3: senders SHOULD cap the policy at 64 KiB
MTA_STS_MAX_AGE_MAX_SECONDS = 31_557_600  # RFC 8461 §3.2: max_age ≤ 31557600 s (about one year)
MTA_STS_MAX_AGE_DEFAULT_SECONDS = 604_800  # one week for generated policies: RFC 8461 §3.2
# suggests weeks, long enough to ride out outages
MTA_STS_MAX_AGE_MAX_DIGITS = 10  # RFC 8461 §3.2: sts-policy-max-age-value = 1*10(DIGIT)
MTA_STS_ID_MAX_CHARS = 32  # RFC 8461 §3.1: sts-id = %s"id=" 1*32(ALPHA / DIGIT)
DNS_LABEL_MAX_OCTETS = 63  # RFC 1035 §2.3.4
DNS_NAME_MAX_OCTETS = 253  # RFC 1035 §2.3.4 (255 on the wire, 253 in text without the root dot)

STS_VERSION = "STSv1"  # RFC 8461 §3.1 and §3.2
_TXT_PREFIX = "v=" + STS_VERSION

_STS_ID = re.compile(rf"[A-Za-z0-9]{{1,{MTA_STS_ID_MAX_CHARS}}}\Z")
_DIGITS = re.compile(r"[0-9]+\Z")
# Control characters: RFC 5234 CTL = %x00-1F / %x7F (HTAB is allowed as WSP where WSP is).
_CTL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class MtaStsSyntaxError(RecordSyntaxError):
    """A ``_mta-sts`` TXT record or a policy file does not follow RFC 8461."""


class MtaStsMode(StrEnum):
    """``mode`` of a policy (RFC 8461 §5)."""

    ENFORCE = "enforce"
    TESTING = "testing"
    NONE = "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class MtaStsRecord:
    """A parsed ``_mta-sts`` TXT record (RFC 8461 §3.1).

    Attributes:
        id: the policy instance id (1-32 letters and digits); a change tells
            senders to fetch the policy again.
        extensions: other ``name=value`` fields, in order (senders ignore them).
    """

    id: str
    extensions: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, txt: str) -> MtaStsRecord:
        """Parse one TXT string (the character-strings of one record, joined).

        The grammar (RFC 8461 §3.1)::

            sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim]
            sts-version     = %s"v=STSv1"
            sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
            sts-field-delim = *WSP ";" *WSP

        Raises:
            MtaStsSyntaxError: the string breaks a rule; the reason names it.
        """
        if not txt.startswith(_TXT_PREFIX):
            raise MtaStsSyntaxError(
                f"record must start with {_TXT_PREFIX!r} (case-sensitive; RFC 8461 §3.1)"
            )
        fields = split_fields(txt[len(_TXT_PREFIX) :])
        if isinstance(fields, str):
            raise MtaStsSyntaxError(f"{fields} (RFC 8461 §3.1 sts-field-delim)")
        ids: list[str] = []
        extensions: list[tuple[str, str]] = []
        problems: list[str] = []
        for field in fields:
            if field.startswith("id="):
                value = field[3:]
                if _STS_ID.match(value):
                    ids.append(value)
                else:
                    problems.append(
                        f"id {shown(value)} must be 1-{MTA_STS_ID_MAX_CHARS} letters or digits "
                        "(RFC 8461 §3.1 sts-id)"
                    )
                    ids.append(value)
                continue
            split = split_name_value(field, EXT_VALUE)
            if isinstance(split, str):
                problems.append(f"{split} (RFC 8461 §3.1 sts-extension)")
            else:
                extensions.append(split)
        if not ids:
            hint = [n for n, _ in extensions if n.lower() == "id"]
            problems.append(
                "required field 'id' is missing (RFC 8461 §3.1)"
                + (
                    f"; field names are case-sensitive and {shown(hint[0])} is not 'id'"
                    if hint
                    else ""
                )
            )
        elif len(ids) > 1:
            problems.append("field 'id' appears more than once: the policy version is ambiguous")
        if problems:
            raise MtaStsSyntaxError(*problems)
        return cls(id=ids[0], extensions=tuple(extensions))

    def to_text(self) -> str:
        """The record as it would be published: ``v=STSv1; id=...;``."""
        parts = [_TXT_PREFIX, f"id={self.id}", *(f"{n}={v}" for n, v in self.extensions)]
        return "; ".join(parts) + ";"


def select_sts_records(txts: Sequence[str]) -> TxtSelection[MtaStsRecord]:
    """Discovery at ``_mta-sts.DOMAIN`` (RFC 8461 §3.1).

    "If multiple TXT records for '_mta-sts' are returned by the resolver,
    records that do not begin with 'v=STSv1;' are discarded.  If the number
    of resulting records is not one, or if the resulting record is
    syntactically invalid, senders MUST assume the recipient domain does not
    have an available MTA-STS Policy."

    A string is a candidate when it starts with ``v=STSv1`` followed by ``;``,
    whitespace or nothing, so that ``v=STSv1 ; id=1`` is reported as a broken
    record of the domain rather than silently treated as absent.

    Args:
        txts: every TXT string at the name (each record's strings joined).
    """
    return select_records(txts, _TXT_PREFIX, MtaStsRecord.parse, MtaStsSyntaxError)


# ------------------------------------------------------------------- policy file


def _domain_problem(name: str) -> str | None:
    """Why ``name`` is not an RFC 5321 ``Domain`` (ASCII, LDH labels), or None."""
    if not name:
        return "is empty"
    if not name.isascii():
        return "is not ASCII: write internationalised names in A-label (xn--) form"
    if name.endswith("."):
        return "ends with '.': patterns are written without the root dot"
    if len(name) > DNS_NAME_MAX_OCTETS:
        return f"is longer than {DNS_NAME_MAX_OCTETS} characters"
    for label in name.split("."):
        if label == "*":
            return "has '*' outside the leftmost label"
        if "*" in label:
            return "has '*' inside a label: a wildcard must be the whole leftmost label"
        if len(label) > DNS_LABEL_MAX_OCTETS:
            return f"has a label longer than {DNS_LABEL_MAX_OCTETS} characters"
        if not LDH_LABEL.match(label):
            return f"has an invalid label {shown(label)} (letters, digits, inner hyphens)"
    return None


def _mx_pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` is not ``["*."] Domain`` (RFC 8461 §3.2), or None."""
    if pattern == "*":
        return "is a bare '*': a wildcard must be followed by a domain ('*.example.com')"
    domain = pattern[2:] if pattern.startswith("*.") else pattern
    problem = _domain_problem(domain)
    if problem is not None and pattern.startswith("*.") and problem.startswith("has '*'"):
        return "has more than one wildcard label"
    return problem


def _check_value(value: str) -> str | None:
    if _CTL.search(value):
        return "contains a control character"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class MtaStsPolicy:
    """A parsed MTA-STS policy file (RFC 8461 §3.2).

    Attributes:
        mode: enforce, testing or none.
        max_age: how long senders may cache the policy, in seconds.
        mx: the MX patterns in file order (``mail.example.com``, ``*.example.net``).
        extensions: unknown ``key: value`` lines, kept in order; senders ignore them.
        notes: harmless deviations a report may mention (blank lines, a field
            name in the wrong case, duplicate ``mx`` lines).
    """

    mode: MtaStsMode
    max_age: int
    mx: tuple[str, ...] = ()
    extensions: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()

    @classmethod
    def from_bytes(cls, body: bytes) -> MtaStsPolicy:
        """Parse a fetched body: size bound, strict UTF-8, then :meth:`parse`.

        Raises:
            MtaStsSyntaxError: the body is too large, not UTF-8, or does not parse.
        """
        if len(body) > MTA_STS_POLICY_MAX_BYTES:
            raise MtaStsSyntaxError(
                f"policy is {len(body)} bytes, over the {MTA_STS_POLICY_MAX_BYTES}-byte "
                "limit senders apply (RFC 8461 §3.3)"
            )
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MtaStsSyntaxError(
                f"policy is not UTF-8 (byte {exc.start}; RFC 8461 §3.2)"
            ) from None
        return cls.parse(text)

    @classmethod
    def parse(cls, text: str) -> MtaStsPolicy:
        """Parse a policy file, collecting every problem.

        The grammar (RFC 8461 §3.2), in short: lines ``name ":" *WSP value *WSP``
        separated by LF or CRLF, no whitespace before the name; ``version:
        STSv1``, ``mode`` and ``max_age`` exactly once; ``mx`` one or more times
        unless the mode is ``none``; ``max_age`` is 1-10 digits up to 31557600;
        an ``mx`` value is ``["*."] Domain``; other names are extensions that
        senders ignore.

        Raises:
            MtaStsSyntaxError: with one reason per problem, each naming its line.
        """
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MTA_STS_POLICY_MAX_BYTES:
            raise MtaStsSyntaxError(
                f"policy is {size} bytes, over the {MTA_STS_POLICY_MAX_BYTES}-byte limit "
                "senders apply (RFC 8461 §3.3)"
            )
        problems: list[str] = []
        notes: list[str] = []
        if text.startswith("\ufeff"):
            problems.append(
                "policy starts with a byte-order mark: senders will not recognise the first field"
            )
            text = text[1:]
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the optional final sts-policy-term
        singles: dict[str, list[tuple[int, str]]] = {"version": [], "mode": [], "max_age": []}
        mx: list[str] = []
        extensions: list[tuple[str, str]] = []
        blank_lines: list[int] = []
        for number, raw in enumerate(lines, start=1):
            line = raw[:-1] if raw.endswith("\r") else raw
            where = f"line {number}"
            if line.strip(WSP) == "":
                blank_lines.append(number)
                continue
            if line[0] in WSP:
                problems.append(f"{where}: whitespace before the field name (RFC 8461 §3.2)")
                line = line.lstrip(WSP)
            name, colon, value = line.partition(":")
            if not colon:
                problems.append(f"{where}: no ':' between field name and value (RFC 8461 §3.2)")
                continue
            value = value.strip(WSP)
            if name != name.rstrip(WSP):
                problems.append(f"{where}: whitespace before ':' (RFC 8461 §3.2)")
                name = name.rstrip(WSP)
            value_problem = _check_value(value)
            if name in singles or name == "mx":
                if value_problem is not None:
                    problems.append(f"{where}: {name} value {value_problem}")
                    continue
                if name == "mx":
                    mx_problem = _mx_pattern_problem(value)
                    if mx_problem is not None:
                        problems.append(
                            f"{where}: mx pattern {shown(value)} {mx_problem} (RFC 8461 §3.2)"
                        )
                    elif value in mx:
                        notes.append(f"{where}: mx pattern {shown(value)} is listed twice")
                    else:
                        mx.append(value)
                else:
                    singles[name].append((number, value))
                continue
            if not EXT_NAME.match(name):
                problems.append(
                    f"{where}: field name {shown(name)} is not 1-32 letters, digits, '_', '-', '.' "
                    "starting alnum (RFC 8461 §3.2)"
                )
                continue
            if name.lower() in ("version", "mode", "max_age", "mx"):
                notes.append(
                    f"{where}: field names are case-sensitive: {shown(name)} is ignored as an "
                    f"unknown field, not read as {name.lower()!r}"
                )
            if value == "" or value_problem is not None:
                notes.append(
                    f"{where}: unknown field {shown(name)} has an empty or invalid value "
                    "(ignored by senders)"
                )
            extensions.append((name, value))
        if blank_lines:
            notes.append(
                "blank line(s) at "
                + ", ".join(str(n) for n in blank_lines)
                + ": not allowed by the RFC 8461 §3.2 grammar, ignored by common senders"
            )
        for name, seen in singles.items():
            if len(seen) > 1:
                at = ", ".join(str(n) for n, _ in seen)
                problems.append(f"{name!r} appears {len(seen)} times (lines {at}); it must be once")
        wrong_case = {n.lower(): n for n, _ in extensions}
        for name in ("version", "mode", "max_age"):
            if not singles[name] and name in wrong_case:
                problems.append(
                    f"required field {name!r} is missing; field names are case-sensitive and "
                    f"{shown(wrong_case[name])} is not {name!r} (RFC 8461 §3.2)"
                )
        version = _single(singles["version"], "version", problems)
        if version is not None and version != STS_VERSION:
            problems.append(f"version {shown(version)} must be {STS_VERSION!r} (case-sensitive)")
        mode_text = _single(singles["mode"], "mode", problems)
        mode: MtaStsMode | None = None
        if mode_text is not None:
            try:
                mode = MtaStsMode(mode_text)
            except ValueError:
                problems.append(
                    f"mode {shown(mode_text)} must be one of enforce, testing, none "
                    "(case-sensitive)"
                )
        max_age_text = _single(singles["max_age"], "max_age", problems)
        max_age: int | None = None
        if max_age_text is not None:
            max_age = _parse_max_age(max_age_text, problems)
        if not mx and mode in (MtaStsMode.ENFORCE, MtaStsMode.TESTING):
            problems.append(f"mode {shown(mode_text or '')} needs at least one valid 'mx' line")
        if problems or mode is None or max_age is None:
            raise MtaStsSyntaxError(*problems)
        return cls(
            mode=mode,
            max_age=max_age,
            mx=tuple(mx),
            extensions=tuple(extensions),
            notes=bounded_reasons(notes),
        )

    def to_text(self) -> str:
        """The policy file as a server would publish it (CRLF line ends)."""
        lines = [f"version: {STS_VERSION}", f"mode: {self.mode}"]
        lines += [f"mx: {p}" for p in self.mx]
        lines.append(f"max_age: {self.max_age}")
        lines += [f"{n}: {v}" for n, v in self.extensions]
        return "".join(line + "\r\n" for line in lines)

    def allows_mx(self, mx_host: str) -> bool:
        """True when ``mx_host`` matches one of the policy's ``mx`` patterns (§4.1)."""
        return any(mx_matches_pattern(mx_host, p) for p in self.mx)


def _single(seen: list[tuple[int, str]], name: str, problems: list[str]) -> str | None:
    """The value of a once-only field; a problem when it is missing."""
    if not seen:
        if not any(p.startswith(f"required field {name!r}") for p in problems):
            problems.append(f"required field {name!r} is missing (RFC 8461 §3.2)")
        return None
    return seen[0][1]


def _parse_max_age(text: str, problems: list[str]) -> int | None:
    if not _DIGITS.match(text) or not text.isascii():
        problems.append(f"max_age {shown(text)} must be plain digits (RFC 8461 §3.2)")
        return None
    if len(text) > MTA_STS_MAX_AGE_MAX_DIGITS:
        problems.append(f"max_age {shown(text)} has more than {MTA_STS_MAX_AGE_MAX_DIGITS} digits")
        return None
    value = int(text)
    if value > MTA_STS_MAX_AGE_MAX_SECONDS:
        problems.append(
            f"max_age {value} is above the maximum {MTA_STS_MAX_AGE_MAX_SECONDS} (RFC 8461 §3.2)"
        )
        return None
    return value


def _normalise_host(name: str) -> str:
    return name[:-1].lower() if name.endswith(".") else name.lower()


def mx_matches_pattern(mx_host: str, pattern: str) -> bool:
    """Whether ``mx_host`` is allowed by one policy ``mx`` pattern (RFC 8461 §4.1).

    A wildcard pattern ``*.example.com`` stands for exactly one leftmost
    label: it matches ``mail.example.com`` but neither ``example.com`` nor
    ``foo.bar.example.com``.  Comparison is case-insensitive
    and a trailing root dot on either side is ignored.  Both names are
    compared as given: internationalised names must already be in A-label form.
    """
    host = _normalise_host(mx_host)
    pat = _normalise_host(pattern)
    if not host or not pat:
        return False
    if pat.startswith("*."):
        suffix = pat[1:]  # ".example.com"
        if not host.endswith(suffix):
            return False
        label = host[: -len(suffix)]
        return label != "" and "." not in label
    return host == pat
