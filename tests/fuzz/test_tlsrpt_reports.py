"""Fuzzing RFC 8460 aggregate reports: what any sender may POST or mail to mxtls.

``mxtls tlsrpt`` and the web service's ``/tlsrpt`` take reports from
strangers: JSON, gzip, or an e-mail with attachments.  Properties: only
:class:`TlsRptError` escapes (never a pydantic, zlib, JSON or e-mail error),
and every error message is bounded.  Inputs are arbitrary bytes and
mutations of RFC 8460 §4.5's example in each of the three wrappings.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mxtls.monitor.tlsrpt import (
    TlsRptError,
    example_report,
    parse_report_bytes,
    to_gzip,
    to_message,
)

from .profile import FUZZ

MAX_MESSAGE_CHARS = 2000  # an error names the field and pydantic's reason, no more

_JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
_PATH_KEYS: list[str | int] = [
    "policies",
    0,
    "policy",
    "summary",
    "failure-details",
    1,
    "date-range",
    "mx-host",
]
_PATHS = st.lists(st.sampled_from(_PATH_KEYS), min_size=1, max_size=4)


def _mutate(report: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    """Replace the value at ``path`` (as far as it exists) with ``value``."""
    node: Any = report
    for key in path[:-1]:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return report
    try:
        node[path[-1]] = value
    except (IndexError, TypeError):
        pass
    return report


@st.composite
def mutated_reports(draw: st.DrawFn) -> tuple[str, bytes]:
    """A mutated report and the wrapping to send it in (the e-mail is built by
    the test: the e-mail package draws its MIME boundary from ``random``)."""
    report = example_report()
    for _ in range(draw(st.integers(1, 3))):
        report = _mutate(report, draw(_PATHS), draw(_JSON_VALUES))
    text = json.dumps(report).encode()
    cut = draw(st.one_of(st.none(), st.integers(0, len(text))))
    if cut is not None:
        text = text[:cut]
    wrapping = draw(st.sampled_from(["json", "gzip", "message", "gzip-truncated"]))
    if wrapping == "json":
        return wrapping, text
    packed = gzip.compress(text, mtime=0)
    if wrapping == "gzip-truncated":
        return wrapping, packed[: draw(st.integers(0, len(packed)))]
    return wrapping, packed


_MESSAGE = to_message([to_gzip(example_report())])


def _only_documented(data: bytes, content_type: str | None = None) -> None:
    try:
        reports = parse_report_bytes(data, content_type=content_type)
    except TlsRptError as exc:
        assert len(str(exc)) <= MAX_MESSAGE_CHARS
    else:
        assert reports


@FUZZ
@given(
    data=st.binary(max_size=4000),
    content_type=st.sampled_from(
        [None, "application/tlsrpt+gzip", "application/tlsrpt+json", "message/rfc822"]
    ),
)
def test_arbitrary_bytes_raise_only_the_report_error(data: bytes, content_type: str | None) -> None:
    _only_documented(data, content_type)


@FUZZ
@given(sample=mutated_reports())
def test_mutated_reports_raise_only_the_report_error(sample: tuple[str, bytes]) -> None:
    wrapping, data = sample
    _only_documented(to_message([data]) if wrapping == "message" else data)


@FUZZ
@given(header=st.binary(max_size=300), cut=st.integers(0, 2000), body=st.binary(max_size=300))
def test_hostile_messages_raise_only_the_report_error(header: bytes, cut: int, body: bytes) -> None:
    _only_documented(header + b"\r\n" + _MESSAGE[:cut] + body)


def test_the_example_survives_every_wrapping() -> None:
    # The properties above would pass on a parser that refuses everything.
    report = example_report()
    for data in (json.dumps(report).encode(), to_gzip(report), to_message([to_gzip(report)])):
        [parsed] = parse_report_bytes(data)
        assert parsed.organization_name == "Company-X"
