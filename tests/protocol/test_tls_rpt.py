"""TLS-RPT ``_smtp._tls`` TXT record codec (RFC 8460 §3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mxtls.protocol.mta_sts import SelectionKind
from mxtls.protocol.tls_rpt import (
    RuaScheme,
    RuaUri,
    TlsRptRecord,
    TlsRptSyntaxError,
    parse_rua_uri,
    select_tlsrpt_records,
)


def _mailto(address: str) -> RuaUri:
    return RuaUri(uri=f"mailto:{address}", scheme=RuaScheme.MAILTO, host=address.rpartition("@")[2])


def _https(url: str, host: str) -> RuaUri:
    return RuaUri(uri=url, scheme=RuaScheme.HTTPS, host=host)


VALID = [
    # RFC 8460 §3.1 examples
    ("v=TLSRPTv1;rua=mailto:reports@example.com", (_mailto("reports@example.com"),)),
    (
        "v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt",
        (_https("https://reporting.example.com/v1/tlsrpt", "reporting.example.com"),),
    ),
    (
        "v=TLSRPTv1; rua=mailto:reports@example.com,https://reporting.example.com/v1/tlsrpt",
        (
            _mailto("reports@example.com"),
            _https("https://reporting.example.com/v1/tlsrpt", "reporting.example.com"),
        ),
    ),
    (
        "v=TLSRPTv1 ; rua=mailto:a@x.example , mailto:b@y.example ;",
        (_mailto("a@x.example"), _mailto("b@y.example")),
    ),
    (
        "v=TLSRPTv1; rua=HTTPS://[2001:db8::1]:8443/r?x=%2C",
        (_https("HTTPS://[2001:db8::1]:8443/r?x=%2C", "2001:db8::1"),),
    ),
    (
        "v=TLSRPTv1; rua=mailto:tls%21rpt@example.com?subject=tls",
        (
            RuaUri(
                uri="mailto:tls%21rpt@example.com?subject=tls",
                scheme=RuaScheme.MAILTO,
                host="example.com",
            ),
        ),
    ),
]


@pytest.mark.parametrize(("txt", "rua"), VALID)
def test_record_parses(txt: str, rua: tuple[RuaUri, ...]) -> None:
    record = TlsRptRecord.parse(txt)
    assert record.rua == rua
    assert record.extensions == ()


def test_extensions_are_kept() -> None:
    record = TlsRptRecord.parse("v=TLSRPTv1; x-note=abc; rua=mailto:r@example.com; y=1")
    assert record.rua == (_mailto("r@example.com"),)
    assert record.extensions == (("x-note", "abc"), ("y", "1"))


INVALID = [
    ("", "must start with 'v=TLSRPTv1'"),
    ("v=tlsrptv1; rua=mailto:r@example.com", "must start with 'v=TLSRPTv1'"),
    ("v=TLSRPTv1", "'rua' is missing"),
    ("v=TLSRPTv1;", "'rua' is missing"),
    ("v=TLSRPTv1 rua=mailto:r@example.com", "followed by ';'"),
    ("v=TLSRPTv1; ruf=mailto:r@example.com", "'rua' is missing"),
    ("v=TLSRPTv1; RUA=mailto:r@example.com", "'RUA' is not 'rua'"),
    ("v=TLSRPTv1; rua=", "rua has no URI"),
    ("v=TLSRPTv1; rua=mailto:r@example.com,", "stray ','"),
    ("v=TLSRPTv1; rua=mailto:r@example.com;; x=1", "empty field"),
    ("v=TLSRPTv1; rua=mailto:r@example.com; rua=mailto:s@example.com", "more than once"),
    ("v=TLSRPTv1; rua=ftp://example.com/r", "only mailto: and https: are defined"),
    ("v=TLSRPTv1; rua=http://example.com/r", "only mailto: and https: are defined"),
    ("v=TLSRPTv1; rua=r@example.com", "no URI scheme (RFC 8460 §3); write 'mailto:r@example.com'"),
    ("v=TLSRPTv1; rua=r@example.com:25", "write 'mailto:"),
    ("v=TLSRPTv1; rua=example.com", "no URI scheme"),
    ("v=TLSRPTv1; rua=mailto:r@example.com!10m", "no DMARC-style '!size' suffix"),
    ("v=TLSRPTv1; rua=mailto:r@exa mple.com", "not allowed in a URI"),
    ("v=TLSRPTv1; rua=mailto:r@example.com%zz", "not allowed in a URI"),
    ("v=TLSRPTv1; rua=mailto:rép@example.com", "not allowed in a URI"),
    ("v=TLSRPTv1; rua=mailto:example.com", "not mailto:local@domain"),
    ("v=TLSRPTv1; rua=mailto:@example.com", "not mailto:local@domain"),
    ("v=TLSRPTv1; rua=mailto:r@bad_host.example", "not mailto:local@domain"),
    ("v=TLSRPTv1; rua=https:reports.example.com", "not https://host"),
    ("v=TLSRPTv1; rua=https:///path", "has no host"),
    ("v=TLSRPTv1; rua=https://example.com:99999/", "invalid host or port"),
    ("v=TLSRPTv1; rua=https://[::1/", "invalid host or port"),
    ("v=TLSRPTv1; rua=https://bad_host.example/", "invalid host"),
    ("v=TLSRPTv1; rua=mailto:r@example.com; x = 1", "no whitespace is allowed around '='"),
    ("v=TLSRPTv1; rua=mailto:r@example.com; _x=1", "field name '_x'"),
    ("v=TLSRPTv1; rua=mailto:r@example.com; x=a=b", "visible ASCII"),
]


@pytest.mark.parametrize(("txt", "reason"), INVALID)
def test_record_rejected_with_reason(txt: str, reason: str) -> None:
    with pytest.raises(TlsRptSyntaxError) as info:
        TlsRptRecord.parse(txt)
    assert reason in info.value.reason, info.value.reasons


def test_every_bad_uri_is_reported() -> None:
    with pytest.raises(TlsRptSyntaxError) as info:
        TlsRptRecord.parse("v=TLSRPTv1; rua=ftp://a.example,mailto:x!1,mailto:ok@b.example, ")
    assert len(info.value.reasons) == 3, info.value.reasons


def test_parse_rua_uri_alone() -> None:
    assert parse_rua_uri("mailto:Tls@Example.COM") == RuaUri(
        uri="mailto:Tls@Example.COM", scheme=RuaScheme.MAILTO, host="example.com"
    )
    with pytest.raises(TlsRptSyntaxError):
        parse_rua_uri("https://" + "a" * 3000 + ".example/")


def test_round_trip() -> None:
    record = TlsRptRecord.parse("v=TLSRPTv1;rua=mailto:a@example.com,https://r.example/x; ext=1")
    assert record.to_text() == "v=TLSRPTv1; rua=mailto:a@example.com,https://r.example/x; ext=1"
    assert TlsRptRecord.parse(record.to_text()) == record


# ------------------------------------------------------------------- selection


def test_selection_none() -> None:
    sel = select_tlsrpt_records(["v=spf1 -all", "v=TLSRPTv10; rua=mailto:r@example.com"])
    assert sel.kind is SelectionKind.NONE
    assert sel.record is None


def test_selection_one_ignores_unrelated() -> None:
    sel = select_tlsrpt_records(["v=spf1 -all", "v=TLSRPTv1; rua=mailto:r@example.com"])
    assert sel.kind is SelectionKind.ONE
    assert sel.record is not None
    assert sel.record.rua == (_mailto("r@example.com"),)
    assert sel.ignored == ("v=spf1 -all",)


def test_selection_several() -> None:
    sel = select_tlsrpt_records(
        ["v=TLSRPTv1; rua=mailto:r@example.com", "v=TLSRPTv1; rua=mailto:s@example.com"]
    )
    assert sel.kind is SelectionKind.SEVERAL
    assert len(sel.candidates) == 2


def test_selection_one_invalid() -> None:
    sel = select_tlsrpt_records(["v=TLSRPTv1; rua=http://insecure.example/"])
    assert sel.kind is SelectionKind.ONE
    assert sel.record is None
    assert any("only mailto: and https:" in e for e in sel.errors)


# ------------------------------------------------------------------ properties

_FRAGMENTS = [
    "v=TLSRPTv1",
    ";",
    " ",
    ",",
    "rua=",
    "mailto:",
    "https://",
    "r@",
    "example.com",
    "[",
    "]",
    ":",
    "99999",
    "!",
    "%",
    "%2C",
    "/",
    "é",
    "=",
]


@given(st.one_of(st.text(), st.lists(st.sampled_from(_FRAGMENTS)).map("".join)))
def test_parser_raises_only_its_error(txt: str) -> None:
    try:
        record = TlsRptRecord.parse(txt)
    except TlsRptSyntaxError as exc:
        assert exc.reasons
    else:
        assert record.rua
        assert all(r.scheme in (RuaScheme.MAILTO, RuaScheme.HTTPS) for r in record.rua)
        assert TlsRptRecord.parse(record.to_text()) == record
    select_tlsrpt_records([txt])  # never raises
