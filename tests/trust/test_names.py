"""``hostname_matches``: RFC 6125 matching of a presented identifier to the MX name."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mxtls.checks.cert import presented_names
from mxtls.trust.certinfo import describe_certificate
from mxtls.trust.names import hostname_matches
from tests.checks.builders import CA, der_chain


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("mx.example.com", "mx.example.com", True),
        ("MX.Example.COM", "mx.example.com", True),
        ("mx.example.com", "MX.EXAMPLE.COM", True),
        ("mx.example.com.", "mx.example.com", True),
        ("mx.example.com", "mx.example.com.", True),
        ("mx.example.com", "mx2.example.com", False),
        ("mx.example.com", "example.com", False),
        ("example.com", "mx.example.com", False),
        # Wildcards: whole leftmost label only, exactly one label.
        ("*.example.com", "mx.example.com", True),
        ("*.example.com", "MX.example.com", True),
        ("*.EXAMPLE.com", "mx.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.mx.example.com", False),
        ("*.example.com", ".example.com", False),
        ("*.example.com", "xn--bcher-kva.example.com", True),
        ("*.com", "example.com", False),  # needs two labels after the wildcard
        ("*", "example", False),
        ("m*.example.com", "mx.example.com", False),  # partial wildcard
        ("*x.example.com", "mx.example.com", False),
        ("xn--*.example.com", "xn--bcher-kva.example.com", False),
        ("mx.*.com", "mx.example.com", False),
        ("*.*.com", "a.example.com", False),
        ("**.example.com", "mx.example.com", False),
        # The host is a reference identifier, never a pattern.
        ("*.example.com", "*.example.com", False),
        ("mx.example.com", "*.example.com", False),
        # Internationalised names compare as A-labels.
        ("xn--bcher-kva.example", "bücher.example", True),
        ("bücher.example", "xn--bcher-kva.example", True),
        ("*.xn--bcher-kva.example", "mx.bücher.example", True),
        ("xn--bcher-kva.example", "bucher.example", False),
        # Garbage never matches.
        ("", "", False),
        ("", "mx.example.com", False),
        ("mx..example.com", "mx..example.com", False),
        (".", ".", False),
    ],
)
def test_table(pattern: str, host: str, expected: bool) -> None:
    assert hostname_matches(pattern, host) is expected


LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?", fullmatch=True)
NAME = st.lists(LABEL, min_size=1, max_size=5).map(".".join)
SUFFIX = st.lists(LABEL, min_size=2, max_size=4).map(".".join)


def _mixed_case(flips: list[bool], name: str) -> str:
    return "".join(c.upper() if i < len(flips) and flips[i] else c for i, c in enumerate(name))


@given(NAME, st.lists(st.booleans(), max_size=80), st.lists(st.booleans(), max_size=80))
def test_names_match_themselves_in_any_case(
    name: str, flips1: list[bool], flips2: list[bool]
) -> None:
    assert hostname_matches(_mixed_case(flips1, name), _mixed_case(flips2, name))
    assert hostname_matches(name + ".", name)


@given(NAME, NAME)
def test_distinct_names_do_not_match(a: str, b: str) -> None:
    assume(a != b)
    assert not hostname_matches(a, b)


@given(LABEL, LABEL, SUFFIX)
def test_wildcard_matches_exactly_one_label(label: str, extra: str, suffix: str) -> None:
    pattern = f"*.{suffix}"
    assert hostname_matches(pattern, f"{label}.{suffix}")
    assert hostname_matches(pattern.upper(), f"{label}.{suffix}")
    assert not hostname_matches(pattern, suffix)
    assert not hostname_matches(pattern, f"{extra}.{label}.{suffix}")


@given(LABEL, LABEL, SUFFIX)
def test_partial_wildcards_never_match(label: str, tail: str, suffix: str) -> None:
    host = f"{label}{tail}.{suffix}"
    assert not hostname_matches(f"{label}*.{suffix}", host)
    assert not hostname_matches(f"*{tail}.{suffix}", host)


@given(st.text(max_size=60), st.text(max_size=60))
def test_never_raises(pattern: str, host: str) -> None:
    assert hostname_matches(pattern, host) in (True, False)


def test_presented_names_prefer_sans_over_cn() -> None:
    with_san = describe_certificate(der_chain(CA.issue(["a.example"], cn="b.example"))[0])
    cn_only = describe_certificate(der_chain(CA.issue([], cn="b.example"))[0])
    assert presented_names(with_san) == ["a.example"]
    assert presented_names(cn_only) == ["b.example"]
