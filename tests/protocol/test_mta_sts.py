"""MTA-STS TXT record and policy file codecs (RFC 8461 §3.1, §3.2, §4.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mxtls.protocol.mta_sts import (
    MTA_STS_MAX_AGE_MAX_SECONDS,
    MTA_STS_POLICY_MAX_BYTES,
    MtaStsMode,
    MtaStsPolicy,
    MtaStsRecord,
    MtaStsSyntaxError,
    SelectionKind,
    mx_matches_pattern,
    select_sts_records,
)

# ------------------------------------------------------------------ TXT record

VALID_TXT = [
    # RFC 8461 §3.1 example
    ("v=STSv1; id=20160831085700Z;", MtaStsRecord(id="20160831085700Z")),
    ("v=STSv1;id=1", MtaStsRecord(id="1")),
    ("v=STSv1 ;\tid=abc ; ", MtaStsRecord(id="abc")),
    ("v=STSv1; id=" + "a" * 32, MtaStsRecord(id="a" * 32)),
    (
        "v=STSv1; id=2024x; ext.name-1=some:value/x; Id=kept",
        MtaStsRecord(id="2024x", extensions=(("ext.name-1", "some:value/x"), ("Id", "kept"))),
    ),
    (
        "v=STSv1; foo=bar; id=7",
        MtaStsRecord(id="7", extensions=(("foo", "bar"),)),
    ),
]


@pytest.mark.parametrize(("txt", "expected"), VALID_TXT)
def test_txt_record_parses(txt: str, expected: MtaStsRecord) -> None:
    assert MtaStsRecord.parse(txt) == expected


INVALID_TXT = [
    ("", "must start with 'v=STSv1'"),
    ("v=stsv1; id=1", "must start with 'v=STSv1'"),
    ("V=STSv1; id=1", "must start with 'v=STSv1'"),
    (" v=STSv1; id=1", "must start with 'v=STSv1'"),
    ("v=STSv1", "no field follows the version"),
    ("v=STSv1;", "no field follows the version"),
    ("v=STSv1 id=1", "followed by ';'"),
    ("v=STSv10; id=1", "followed by ';'"),
    ("v=STSv1; id=1;; x=y", "empty field"),
    ("v=STSv1; foo=bar", "required field 'id' is missing"),
    ("v=STSv1; ID=abc", "'ID' is not 'id'"),
    ("v=STSv1; id=", "1-32 letters or digits"),
    ("v=STSv1; id=" + "a" * 33, "1-32 letters or digits"),
    ("v=STSv1; id=2024-01-01", "1-32 letters or digits"),
    ("v=STSv1; id=abc def", "1-32 letters or digits"),
    ("v=STSv1; id = abc", "no whitespace is allowed around '='"),
    ("v=STSv1; id=1; id=2", "more than once"),
    ("v=STSv1; id=1; _x=1", "field name '_x'"),
    ("v=STSv1; id=1; x=a=b", "must be visible ASCII"),
    ("v=STSv1; id=1; novalue", "has no '='"),
]


@pytest.mark.parametrize(("txt", "reason"), INVALID_TXT)
def test_txt_record_rejected_with_reason(txt: str, reason: str) -> None:
    with pytest.raises(MtaStsSyntaxError) as info:
        MtaStsRecord.parse(txt)
    assert reason in info.value.reason
    assert str(info.value) == info.value.reason


def test_txt_record_reports_every_problem() -> None:
    with pytest.raises(MtaStsSyntaxError) as info:
        MtaStsRecord.parse("v=STSv1; id=a-b; _bad=1; x=")
    assert len(info.value.reasons) == 3


def test_txt_record_round_trip() -> None:
    record = MtaStsRecord(id="20240101T000000", extensions=(("ext", "1"),))
    assert record.to_text() == "v=STSv1; id=20240101T000000; ext=1;"
    assert MtaStsRecord.parse(record.to_text()) == record


# ----------------------------------------------------------------- TXT selection


def test_selection_none_when_no_sts_string() -> None:
    sel = select_sts_records(["v=spf1 -all", "google-site-verification=abc", "v=STSv10; id=1"])
    assert sel.kind is SelectionKind.NONE
    assert sel.record is None
    assert len(sel.ignored) == 3


def test_selection_none_when_empty() -> None:
    sel = select_sts_records([])
    assert sel.kind is SelectionKind.NONE
    assert sel.candidates == ()


def test_selection_ignores_unrelated_strings() -> None:
    # RFC 8461 §3.1: strings not starting with v=STSv1 are discarded, not fatal
    sel = select_sts_records(["v=spf1 -all", "v=STSv1; id=20160831085700Z;"])
    assert sel.kind is SelectionKind.ONE
    assert sel.record == MtaStsRecord(id="20160831085700Z")
    assert sel.ignored == ("v=spf1 -all",)
    assert sel.errors == ()


def test_selection_several() -> None:
    sel = select_sts_records(["v=STSv1; id=1", "v=STSv1; id=2", "other"])
    assert sel.kind is SelectionKind.SEVERAL
    assert sel.candidates == ("v=STSv1; id=1", "v=STSv1; id=2")
    assert sel.record is None


def test_selection_one_invalid_keeps_the_reasons() -> None:
    sel = select_sts_records(["v=STSv1; id=not-valid!"])
    assert sel.kind is SelectionKind.ONE
    assert sel.record is None
    assert sel.errors and "1-32 letters or digits" in sel.errors[0]


def test_selection_whitespace_before_semicolon_is_a_candidate() -> None:
    sel = select_sts_records(["v=STSv1 ; id=5"])
    assert sel.kind is SelectionKind.ONE
    assert sel.record == MtaStsRecord(id="5")


# ------------------------------------------------------------------- policy file

RFC_POLICY = (
    # RFC 8461 §3.2 example
    "version: STSv1\r\n"
    "mode: enforce\r\n"
    "mx: mail.example.com\r\n"
    "mx: *.example.net\r\n"
    "mx: backupmx.example.com\r\n"
    "max_age: 604800\r\n"
)
RFC_POLICY_PARSED = MtaStsPolicy(
    mode=MtaStsMode.ENFORCE,
    max_age=604800,
    mx=("mail.example.com", "*.example.net", "backupmx.example.com"),
)


@pytest.mark.parametrize(
    "text",
    [
        RFC_POLICY,
        RFC_POLICY.replace("\r\n", "\n"),
        RFC_POLICY.rstrip("\r\n"),
        RFC_POLICY.replace(": ", ":"),
        RFC_POLICY.replace(": ", ":\t ").replace("\r\n", "  \r\n"),
    ],
    ids=["crlf", "lf", "no-final-newline", "no-space", "extra-whitespace"],
)
def test_rfc_policy_parses(text: str) -> None:
    assert MtaStsPolicy.parse(text) == RFC_POLICY_PARSED


def test_policy_from_bytes() -> None:
    assert MtaStsPolicy.from_bytes(RFC_POLICY.encode()) == RFC_POLICY_PARSED


def test_mixed_line_endings_and_field_order() -> None:
    text = "max_age: 86400\nmx: a.example\r\nmode: testing\nversion: STSv1"
    assert MtaStsPolicy.parse(text) == MtaStsPolicy(
        mode=MtaStsMode.TESTING, max_age=86400, mx=("a.example",)
    )


def test_mode_none_needs_no_mx() -> None:
    policy = MtaStsPolicy.parse("version: STSv1\nmode: none\nmax_age: 0\n")
    assert policy == MtaStsPolicy(mode=MtaStsMode.NONE, max_age=0)


def test_unknown_fields_are_kept_and_ignored() -> None:
    text = RFC_POLICY + "x-comment: hello, world; a=b\r\nfoo.bar: 1\r\n"
    policy = MtaStsPolicy.parse(text)
    assert policy.mx == RFC_POLICY_PARSED.mx
    assert policy.extensions == (("x-comment", "hello, world; a=b"), ("foo.bar", "1"))
    assert policy.notes == ()


def test_blank_lines_and_duplicate_mx_are_notes() -> None:
    text = RFC_POLICY.replace("mx: mail.example.com\r\n", "\r\nmx: mail.example.com\r\n") + (
        "mx: mail.example.com\r\n\r\n"
    )
    policy = MtaStsPolicy.parse(text)
    assert policy.mx == RFC_POLICY_PARSED.mx
    assert len(policy.notes) == 2
    assert any("blank line" in n for n in policy.notes)
    assert any("listed twice" in n for n in policy.notes)


def test_wrong_case_extension_is_noted() -> None:
    policy = MtaStsPolicy.parse(RFC_POLICY + "MX: other.example\n")
    assert policy.mx == RFC_POLICY_PARSED.mx
    assert policy.extensions == (("MX", "other.example"),)
    assert any("case-sensitive" in n for n in policy.notes)


@pytest.mark.parametrize(
    ("text", "reasons"),
    [
        ("", ["'version' is missing", "'mode' is missing", "'max_age' is missing"]),
        (RFC_POLICY.replace("STSv1", "STSv2"), ["must be 'STSv1'"]),
        (RFC_POLICY.replace("STSv1", "stsv1"), ["must be 'STSv1'"]),
        (RFC_POLICY.replace("enforce", "Enforce"), ["must be one of enforce, testing, none"]),
        (RFC_POLICY.replace("enforce", "reject"), ["must be one of enforce, testing, none"]),
        (RFC_POLICY.replace("604800", "31557601"), ["above the maximum 31557600"]),
        (RFC_POLICY.replace("604800", "00000000001"), ["more than 10 digits"]),
        (RFC_POLICY.replace("604800", "-1"), ["plain digits"]),
        (RFC_POLICY.replace("604800", "+60"), ["plain digits"]),
        (RFC_POLICY.replace("604800", "1e6"), ["plain digits"]),
        (RFC_POLICY.replace("604800", "６０"), ["plain digits"]),
        (RFC_POLICY.replace("604800", ""), ["plain digits"]),
        (RFC_POLICY + "mode: testing\r\n", ["'mode' appears 2 times (lines 2, 7)"]),
        (RFC_POLICY + "max_age: 1\r\n", ["'max_age' appears 2 times"]),
        (RFC_POLICY + "version: STSv1\r\n", ["'version' appears 2 times"]),
        ("version: STSv1\nmode: enforce\nmax_age: 86400\n", ["needs at least one valid 'mx'"]),
        ("version: STSv1\nmode: testing\nmax_age: 86400\n", ["needs at least one valid 'mx'"]),
        (RFC_POLICY.replace("mode: enforce", " mode: enforce"), ["line 2: whitespace before"]),
        (RFC_POLICY.replace("mode: enforce", "mode : enforce"), ["whitespace before ':'"]),
        (RFC_POLICY + "garbage line\r\n", ["line 7: no ':'"]),
        (RFC_POLICY + "bad name: x\r\n", ["field name 'bad name'"]),
        ("\ufeff" + RFC_POLICY, ["byte-order mark"]),
        (RFC_POLICY.replace("Mode", "mode").replace("mode:", "Mode:"), ["'Mode' is not 'mode'"]),
        (RFC_POLICY.replace("enforce", "enforce\x00"), ["control character"]),
        (RFC_POLICY.replace("mail.example.com", "*"), ["bare '*'"]),
        (RFC_POLICY.replace("mail.example.com", "*.*.example.com"), ["more than one wildcard"]),
        (RFC_POLICY.replace("mail.example.com", "mx*.example.com"), ["inside a label"]),
        (RFC_POLICY.replace("mail.example.com", "mail.*.example.com"), ["outside the leftmost"]),
        (RFC_POLICY.replace("mail.example.com", "mail.example.com."), ["ends with '.'"]),
        (RFC_POLICY.replace("mail.example.com", "mail_1.example.com"), ["invalid label"]),
        (RFC_POLICY.replace("mail.example.com", "-mail.example.com"), ["invalid label"]),
        (RFC_POLICY.replace("mail.example.com", "mail..example.com"), ["invalid label"]),
        (RFC_POLICY.replace("mail.example.com", "a" * 64 + ".example"), ["longer than 63"]),
        (RFC_POLICY.replace("mail.example.com", "mäil.example.com"), ["A-label"]),
        (RFC_POLICY.replace("mail.example.com", "mail.example.com x"), ["invalid label"]),
        (RFC_POLICY.replace("mail.example.com", ""), ["is empty"]),
    ],
)
def test_policy_problems(text: str, reasons: list[str]) -> None:
    with pytest.raises(MtaStsSyntaxError) as info:
        MtaStsPolicy.parse(text)
    for reason in reasons:
        assert any(reason in r for r in info.value.reasons), (reason, info.value.reasons)


def test_policy_collects_all_problems() -> None:
    text = " version: STSv2\r\nmode: Enforce\nmode: testing\nmx: *.*.x.com\nmax_age: 1e3\n"
    with pytest.raises(MtaStsSyntaxError) as info:
        MtaStsPolicy.parse(text)
    assert len(info.value.reasons) == 6, info.value.reasons


def test_policy_max_age_bounds() -> None:
    top = RFC_POLICY.replace("604800", str(MTA_STS_MAX_AGE_MAX_SECONDS))
    assert MtaStsPolicy.parse(top).max_age == 31_557_600
    assert MtaStsPolicy.parse(RFC_POLICY.replace("604800", "0000000000")).max_age == 0


def test_policy_size_bound() -> None:
    padding = "x-pad: " + "a" * 1000 + "\n"
    text = RFC_POLICY + padding * (MTA_STS_POLICY_MAX_BYTES // len(padding) + 1)
    with pytest.raises(MtaStsSyntaxError) as info:
        MtaStsPolicy.parse(text)
    assert "65536-byte limit" in info.value.reason
    with pytest.raises(MtaStsSyntaxError):
        MtaStsPolicy.from_bytes(text.encode())
    # exactly at the bound is fine
    body = RFC_POLICY.encode()
    body += b"x-pad: " + b"a" * (MTA_STS_POLICY_MAX_BYTES - len(body) - 8) + b"\n"
    assert len(body) == MTA_STS_POLICY_MAX_BYTES
    assert MtaStsPolicy.from_bytes(body).mx == RFC_POLICY_PARSED.mx


def test_policy_not_utf8() -> None:
    with pytest.raises(MtaStsSyntaxError) as info:
        MtaStsPolicy.from_bytes(RFC_POLICY.encode() + b"x: \xff\n")
    assert "not UTF-8" in info.value.reason


def test_policy_round_trip_and_allows_mx() -> None:
    text = RFC_POLICY_PARSED.to_text()
    assert text == RFC_POLICY
    assert MtaStsPolicy.parse(text) == RFC_POLICY_PARSED
    assert RFC_POLICY_PARSED.allows_mx("MAIL.example.com.")
    assert RFC_POLICY_PARSED.allows_mx("mx1.example.net")
    assert not RFC_POLICY_PARSED.allows_mx("example.net")
    assert not RFC_POLICY_PARSED.allows_mx("mx.other.example")


# ---------------------------------------------------------------- MX matching


@pytest.mark.parametrize(
    ("host", "pattern", "expected"),
    [
        # RFC 8461 §4.1 examples
        ("mail.example.com", "*.example.com", True),
        ("example.com", "*.example.com", False),
        ("foo.bar.example.com", "*.example.com", False),
        ("mail.example.com", "mail.example.com", True),
        ("MAIL.Example.COM.", "mail.example.com", True),
        ("mail.example.com", "MAIL.EXAMPLE.COM.", True),
        ("mail.example.com.", "*.EXAMPLE.com", True),
        ("mail.example.com", "mail.example.org", False),
        ("mailexample.com", "*.example.com", False),
        ("xmail.example.com", "mail.example.com", False),
        (".example.com", "*.example.com", False),
        ("", "*.example.com", False),
        ("mail.example.com", "", False),
        ("a.b.example.com", "*.b.example.com", True),
    ],
)
def test_mx_matches_pattern(host: str, pattern: str, expected: bool) -> None:
    assert mx_matches_pattern(host, pattern) is expected


# ---------------------------------------------------------------- properties

_TXT_FRAGMENTS = ["v=STSv1", ";", " ", "\t", "id=", "abc", "1", "=", "x", "-", "é", "\x00"]
_POLICY_FRAGMENTS = [
    "version",
    "mode",
    "mx",
    "max_age",
    ":",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "STSv1",
    "enforce",
    "none",
    "*.",
    "*",
    ".",
    "example",
    "1",
    "99999999999",
    "\ufeff",
    "é",
    "\x00",
]


@given(st.one_of(st.text(), st.lists(st.sampled_from(_TXT_FRAGMENTS)).map("".join)))
def test_txt_parser_raises_only_its_error(txt: str) -> None:
    try:
        record = MtaStsRecord.parse(txt)
    except MtaStsSyntaxError as exc:
        assert exc.reasons
    else:
        assert MtaStsRecord.parse(record.to_text()) == record
    select_sts_records([txt, txt])  # never raises


@given(st.one_of(st.text(), st.lists(st.sampled_from(_POLICY_FRAGMENTS)).map("".join)))
def test_policy_parser_raises_only_its_error(text: str) -> None:
    try:
        policy = MtaStsPolicy.parse(text)
    except MtaStsSyntaxError as exc:
        assert exc.reasons
    else:
        assert MtaStsPolicy.parse(policy.to_text()).mx == policy.mx


@given(st.binary(max_size=512))
def test_policy_from_bytes_raises_only_its_error(body: bytes) -> None:
    try:
        MtaStsPolicy.from_bytes(body)
    except MtaStsSyntaxError:
        pass


_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_DOMAIN = st.lists(_LABEL, min_size=1, max_size=4).map(".".join)


@given(
    mode=st.sampled_from(list(MtaStsMode)),
    max_age=st.integers(0, MTA_STS_MAX_AGE_MAX_SECONDS),
    mx=st.lists(st.one_of(_DOMAIN, _DOMAIN.map(lambda d: "*." + d)), min_size=1, unique=True),
)
def test_policy_round_trip_property(mode: MtaStsMode, max_age: int, mx: list[str]) -> None:
    policy = MtaStsPolicy(mode=mode, max_age=max_age, mx=tuple(mx))
    assert MtaStsPolicy.parse(policy.to_text()) == policy
    assert MtaStsPolicy.parse(policy.to_text().replace("\r\n", "\n")) == policy


@given(label=_LABEL, domain=_DOMAIN)
def test_wildcard_matches_exactly_one_label(label: str, domain: str) -> None:
    assert mx_matches_pattern(f"{label}.{domain}", f"*.{domain}")
    assert not mx_matches_pattern(domain, f"*.{domain}")
    assert not mx_matches_pattern(f"{label}.{label}.{domain}", f"*.{domain}")
