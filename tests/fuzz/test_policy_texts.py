"""Fuzzing the policy texts DNS and HTTPS hand to mxtls: MTA-STS and TLS-RPT.

The ``_mta-sts`` and ``_smtp._tls`` TXT records, the MTA-STS policy body (any
bytes up to the 64 KiB bound) and the TXT presentation form the resolver
gives.  Properties: only the documented syntax errors escape; every reason
is bounded (a hostile field is quoted, never copied whole); time is linear
in the size of the text.
"""

from __future__ import annotations

from collections.abc import Callable

import dns.rdata
import dns.rdataclass
import dns.rdatatype
from hypothesis import given
from hypothesis import strategies as st

from mxtls.net.https import txt_record_text
from mxtls.protocol.mta_sts import (
    MTA_STS_POLICY_MAX_BYTES,
    MtaStsPolicy,
    MtaStsRecord,
    MtaStsSyntaxError,
    mx_matches_pattern,
    select_sts_records,
)
from mxtls.protocol.peer_text import MAX_REASON_CHARS, MAX_REASONS
from mxtls.protocol.tls_rpt import (
    TlsRptRecord,
    TlsRptSyntaxError,
    parse_rua_uri,
    select_tlsrpt_records,
)
from mxtls.protocol.txt_fields import RecordSyntaxError, decode_txt_presentation

from .linear import assert_linear, repeated
from .profile import FUZZ, FUZZ_TIMING

STS_TXT = [
    "v=STSv1",
    "v=STSv1;",
    "; ",
    ";",
    "id=",
    "id=2024",
    "ID=1",
    " ",
    "\t",
    "=",
    "x",
    "a" * 40,
    "é",
    "\x00",
    "ext=val",
]
RPT_TXT = [
    "v=TLSRPTv1",
    ";",
    "; ",
    "rua=",
    "mailto:",
    "https://",
    "r@example.com",
    "example.com/x",
    ",",
    "!",
    "%2C",
    "%zz",
    " ",
    "@",
    ":",
    "[::1]",
    ":99999",
    "é",
]
POLICY = [
    "version: STSv1",
    "mode: enforce",
    "mode: testing",
    "mode: none",
    "mx: ",
    "*.example.com",
    "mail.example.com",
    "max_age: 86400",
    "max_age: 99999999999",
    "\r\n",
    "\n",
    "\r",
    " ",
    ":",
    "Mode: enforce",
    "\ufeff",
    "é",
    "\x00",
    "*.",
    ".",
    "x" * 70,
]


def texts(fragments: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.text(max_size=500), st.lists(st.sampled_from(fragments)).map("".join))


def assert_reasons_bounded(reasons: tuple[str, ...] | list[str]) -> None:
    assert len(reasons) <= MAX_REASONS + 1
    assert all(len(r) <= MAX_REASON_CHARS for r in reasons)


@FUZZ
@given(txts=st.lists(texts(STS_TXT), max_size=4))
def test_sts_txt_selection_never_raises(txts: list[str]) -> None:
    selection = select_sts_records(txts)
    assert_reasons_bounded(selection.errors)
    for txt in txts:
        try:
            record = MtaStsRecord.parse(txt)
        except MtaStsSyntaxError as exc:
            assert_reasons_bounded(exc.reasons)
        else:
            assert MtaStsRecord.parse(record.to_text()) == record


@FUZZ
@given(txts=st.lists(texts(RPT_TXT), max_size=4))
def test_tlsrpt_txt_selection_never_raises(txts: list[str]) -> None:
    selection = select_tlsrpt_records(txts)
    assert_reasons_bounded(selection.errors)
    for txt in txts:
        try:
            TlsRptRecord.parse(txt)
        except TlsRptSyntaxError as exc:
            assert_reasons_bounded(exc.reasons)


@FUZZ
@given(uri=texts(RPT_TXT))
def test_rua_uri_raises_only_its_error(uri: str) -> None:
    try:
        parse_rua_uri(uri)
    except TlsRptSyntaxError as exc:
        assert_reasons_bounded(exc.reasons)


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=2000),
        st.lists(st.sampled_from(POLICY)).map(lambda parts: "".join(parts).encode()),
    )
)
def test_policy_body_raises_only_its_error(body: bytes) -> None:
    try:
        policy = MtaStsPolicy.from_bytes(body)
    except MtaStsSyntaxError as exc:
        assert_reasons_bounded(exc.reasons)
    else:
        assert_reasons_bounded(policy.notes)
        for pattern in policy.mx:
            mx_matches_pattern("mail.example.com", pattern)


@FUZZ
@given(host=st.text(max_size=100), pattern=st.text(max_size=100))
def test_mx_pattern_matching_never_raises(host: str, pattern: str) -> None:
    assert isinstance(mx_matches_pattern(host, pattern), bool)


@FUZZ
@given(presentation=st.text(max_size=500))
def test_txt_presentation_never_raises(presentation: str) -> None:
    assert isinstance(txt_record_text(presentation), str)


@FUZZ
@given(strings=st.lists(st.binary(max_size=255), min_size=1, max_size=5))
def test_txt_presentation_decodes_as_dnspython_encodes(strings: list[bytes]) -> None:
    # What the resolver prints is what the decoder reads back, byte for byte.
    rdata = dns.rdata.from_wire(
        dns.rdataclass.IN,
        dns.rdatatype.TXT,
        b"".join(bytes([len(s)]) + s for s in strings),
        0,
        sum(1 + len(s) for s in strings),
    )
    assert decode_txt_presentation(rdata.to_text()) == b"".join(strings)


# ------------------------------------------------------------------ timing

BASE_CHARS = 2048  # 16x stays within the 64 KiB a policy or a TXT record can have


def swallow(parse: Callable[[str], object]) -> Callable[[str], None]:
    """``parse`` with its documented syntax error taken as a result."""

    def call(text: str) -> None:
        try:
            parse(text)
        except RecordSyntaxError:
            pass

    return call


def prefixed(prefix: str, unit: str) -> Callable[[int], str]:
    body = repeated(unit, BASE_CHARS)
    return lambda scale: prefix + body(scale)


@FUZZ_TIMING
@given(unit=st.lists(st.sampled_from(POLICY), min_size=1, max_size=6).map("".join))
def test_policy_time_is_linear(unit: str) -> None:
    assert BASE_CHARS * 16 <= MTA_STS_POLICY_MAX_BYTES
    assert_linear(
        swallow(MtaStsPolicy.parse),
        repeated(unit, BASE_CHARS),
        f"MtaStsPolicy.parse on {unit[:40]!r} repeated",
    )


@FUZZ_TIMING
@given(unit=st.lists(st.sampled_from(STS_TXT + RPT_TXT), min_size=1, max_size=6).map("".join))
def test_txt_records_time_is_linear(unit: str) -> None:
    parsers: dict[str, Callable[[str], object]] = {
        "v=STSv1; ": MtaStsRecord.parse,
        "v=TLSRPTv1; ": TlsRptRecord.parse,
    }
    for prefix, parse in parsers.items():
        assert_linear(swallow(parse), prefixed(prefix, unit), f"{prefix}{unit[:40]!r} repeated")
    assert_linear(
        lambda text: select_sts_records([text, text]),
        repeated(unit, BASE_CHARS),
        "select_sts_records",
    )


def test_presentation_time_is_linear() -> None:
    for unit in ('"a" ', '"\\065', "\\", '"x\\"', "a"):
        assert_linear(txt_record_text, repeated(unit, BASE_CHARS), f"TXT {unit!r} repeated")
