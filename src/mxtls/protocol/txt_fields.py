"""The TXT record grammar MTA-STS (RFC 8461 §3.1) and TLS-RPT (RFC 8460 §3) share.

Both records are ``v=VERSION`` followed by ``;``-delimited ``name=value``
fields with the same extension-name and value rules, and both are discovered
the same way ("discard strings without the version tag, then exactly one
must remain").  The two codecs parse their own fields on top of this.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from mxtls.protocol.peer_text import bounded_reasons, shown

WSP = " \t"  # RFC 5234 WSP = SP / HTAB
# ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")  (both RFCs)
EXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}\Z")
# ext-value = 1*(%x21-3A / %x3C / %x3E-7E)  (no "=", ";", SP, CTL; both RFCs)
EXT_VALUE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+\Z")
# RFC 5321 §4.1.2: sub-domain = Let-dig [Ldh-str]
LDH_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\Z")


class RecordSyntaxError(ValueError):
    """A policy record does not follow its RFC.

    Attributes:
        reasons: every problem found, each naming the rule it breaks (at most
            ``MAX_REASONS``, each clipped: the peer chose the record's length).
        reason: the reasons joined with ``"; "`` (also the ``str()`` of the error).
    """

    def __init__(self, reason: str, *more: str) -> None:
        self.reasons: tuple[str, ...] = bounded_reasons((reason, *more))
        self.reason = "; ".join(self.reasons)
        super().__init__(self.reason)


class SelectionKind(StrEnum):
    """How many TXT strings of the right version a discovery lookup returned."""

    NONE = "none"
    ONE = "one"
    SEVERAL = "several"


RecordT = TypeVar("RecordT")


@dataclass(frozen=True, slots=True, kw_only=True)
class TxtSelection(Generic[RecordT]):
    """The outcome of the "discard, then exactly one" TXT discovery rule.

    Shared by MTA-STS (RFC 8461 §3.1) and TLS-RPT (RFC 8460 §3), whose rules
    are worded alike.

    Attributes:
        kind: none, exactly one, or several candidate strings.
        candidates: the TXT strings that carry the version tag, in input order.
        ignored: the strings discarded because they do not.
        record: the parsed record when ``kind`` is ``ONE`` and it parses.
        errors: why the single candidate does not parse (empty otherwise).
    """

    kind: SelectionKind
    candidates: tuple[str, ...]
    ignored: tuple[str, ...]
    record: RecordT | None = None
    errors: tuple[str, ...] = ()


def split_fields(rest: str) -> list[str] | str:
    """Split what follows the version tag into ``name=value`` fields.

    Implements ``1*(field-delim field) [field-delim]`` with
    ``field-delim = *WSP ";" *WSP`` (RFC 8461 §3.1, RFC 8460 §3).  Trailing
    whitespace after the last field is tolerated.

    Returns:
        The fields, or a reason string when the delimiters are wrong.
    """
    pieces = rest.split(";")
    if pieces[0].strip(WSP):
        return "the version must be followed by ';' before the next field"
    if len(pieces) == 1:
        return "no field follows the version"
    fields = [p.strip(WSP) for p in pieces[1:]]
    if fields[-1] == "":
        fields.pop()  # the optional trailing field-delim
    if not fields:
        return "no field follows the version"
    if "" in fields:
        return "empty field between two ';'"
    return fields


def split_name_value(field: str, value_rule: re.Pattern[str]) -> tuple[str, str] | str:
    """``name=value`` of one TXT field, or a reason naming the broken rule."""
    name, eq, value = field.partition("=")
    if not eq:
        return f"field {shown(field)} has no '='"
    if name != name.strip(WSP) or value != value.strip(WSP):
        return f"field {shown(field)}: no whitespace is allowed around '='"
    if not EXT_NAME.match(name):
        return f"field name {shown(name)} is not 1-32 letters, digits, '_', '-', '.' starting alnum"
    if not value_rule.match(value):
        return (
            f"field {shown(name)}: value {shown(value)} must be visible ASCII "
            "without '=', ';' or spaces"
        )
    return name, value


def has_version_tag(txt: str, tag: str) -> bool:
    """True when ``txt`` starts with ``tag`` followed by ``;``, WSP or the end."""
    if not txt.startswith(tag):
        return False
    rest = txt[len(tag) :]
    return rest == "" or rest[0] in ";" + WSP


def select_records(
    txts: Iterable[str],
    tag: str,
    parse: Callable[[str], RecordT],
    error_type: type[ValueError],
) -> TxtSelection[RecordT]:
    """Apply the shared discovery rule: keep strings tagged ``tag``, then need one.

    Args:
        txts: every TXT string at the name (each record's strings joined).
        tag: the version tag, e.g. ``"v=STSv1"``.
        parse: the record parser for the single candidate.
        error_type: the syntax error ``parse`` raises; it must have ``reasons``.
    """
    candidates: list[str] = []
    ignored: list[str] = []
    for txt in txts:
        (candidates if has_version_tag(txt, tag) else ignored).append(txt)
    if not candidates:
        return TxtSelection(kind=SelectionKind.NONE, candidates=(), ignored=tuple(ignored))
    if len(candidates) > 1:
        return TxtSelection(
            kind=SelectionKind.SEVERAL, candidates=tuple(candidates), ignored=tuple(ignored)
        )
    try:
        record = parse(candidates[0])
    except error_type as exc:
        reasons: tuple[str, ...] = getattr(exc, "reasons", (str(exc),))
        return TxtSelection(
            kind=SelectionKind.ONE,
            candidates=tuple(candidates),
            ignored=tuple(ignored),
            errors=reasons,
        )
    return TxtSelection(
        kind=SelectionKind.ONE,
        candidates=tuple(candidates),
        ignored=tuple(ignored),
        record=record,
    )


# A TXT record in presentation form (RFC 1035 §5.1), as resolvers print it: quoted
# character-strings with \" \\ and \DDD escapes, or unquoted words.  Possessive
# quantifiers keep the scan linear: a 64 KB record decodes in about a millisecond
# (dnspython's tokenizer took 0.2 s, on the event loop).
_TXT_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*+)"', re.DOTALL)
_TXT_WORD = re.compile(r'((?:[^\s"\\]|\\.)++)', re.DOTALL)
_TXT_SPACE = re.compile(r"\s*+")
_TXT_ESCAPE = re.compile(r"\\([0-9]{3}|.)", re.DOTALL)


def decode_txt_presentation(presentation: str) -> bytes | None:
    """The bytes of a TXT record: its character-strings unescaped and concatenated.

    Returns None when ``presentation`` is not a TXT record's presentation form
    (an unterminated quote, a ``\\DDD`` above 255, a lone backslash).
    """
    parts: list[bytes] = []
    pos = _skip_space(presentation, 0)
    while pos < len(presentation):
        found = _TXT_QUOTED.match(presentation, pos) or _TXT_WORD.match(presentation, pos)
        if found is None:
            return None
        text = _unescape(found.group(1))
        if text is None:
            return None
        parts.append(text)
        pos = _skip_space(presentation, found.end())
    return b"".join(parts)


def _skip_space(text: str, pos: int) -> int:
    space = _TXT_SPACE.match(text, pos)
    return space.end() if space else pos


def _unescape(text: str) -> bytes | None:
    out = bytearray()
    pos = 0
    for escape in _TXT_ESCAPE.finditer(text):
        out += text[pos : escape.start()].encode("utf-8", "surrogateescape")
        code = escape.group(1)
        if code.isdigit():
            if int(code) > 255:
                return None
            out.append(int(code))
        else:
            out += code.encode("utf-8", "surrogateescape")
        pos = escape.end()
    out += text[pos:].encode("utf-8", "surrogateescape")
    return bytes(out)
