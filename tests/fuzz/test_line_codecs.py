"""Fuzzing the line codecs a mail server's bytes reach: SMTP, IMAP and POP3.

Properties, for arbitrary bytes cut anywhere and a client that keeps the
dialogue going (it sends a command whenever it may, and switches to TLS when
told to):

* only the codec's ``RemoteProtocolError`` escapes (never an IndexError, never
  the codec's own ``LocalProtocolError``: the driver uses it correctly);
* the unfinished-line buffer never holds more than ``max_line_bytes``;
* a reply costs time linear in its size (``tests/fuzz/linear.py``).

The capability parsers and the "slow down" classifier are fuzzed on the
texts those codecs hand out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mxtls.protocol import imap, pop3, smtp
from mxtls.protocol.events import ConnectionClosed, NeedData, PeerProtocolError

from .linear import assert_linear, repeated
from .profile import FUZZ, FUZZ_TIMING

MAX_LINE = 512  # small bounds so that the fuzzer reaches them
MAX_LINES = 8
DRAIN_BOUND = 10_000  # events per feed; a codec that never settles fails


@dataclass(frozen=True)
class LineCodec:
    name: str
    make: Callable[[], Any]
    commands: tuple[Any, ...]
    error: type[PeerProtocolError]
    idle: Any
    tls_pending: Any
    # Fragments of well-formed responses, so examples get past the first line.
    fragments: tuple[bytes, ...]


CODECS = {
    c.name: c
    for c in (
        LineCodec(
            "smtp",
            lambda: smtp.SmtpClient(MAX_LINE, MAX_LINES),
            (smtp.Ehlo(name="checker.example"), smtp.StartTls(), smtp.Noop(), smtp.Quit()),
            smtp.RemoteProtocolError,
            smtp.SmtpState.IDLE,
            smtp.SmtpState.TLS_PENDING,
            (
                b"220 ",
                b"220-",
                b"250-",
                b"250 ",
                b"421 ",
                b"454 ",
                b"mx.example",
                b"STARTTLS",
                b"AUTH=LOGIN PLAIN",
                b"\r\n",
                b"\n",
                b" ",
                b"x" * 40,
            ),
        ),
        LineCodec(
            "imap",
            lambda: imap.ImapClient(MAX_LINE, MAX_LINES, max_literal_bytes=64),
            (imap.Capability(), imap.StartTls(), imap.Noop(), imap.Logout()),
            imap.RemoteProtocolError,
            imap.ImapState.IDLE,
            imap.ImapState.TLS_PENDING,
            (
                b"* OK ",
                b"* PREAUTH ",
                b"* BYE ",
                b"* CAPABILITY IMAP4rev1 STARTTLS",
                b"m1 ",
                b"m2 ",
                b"m3 ",
                b"OK ",
                b"NO ",
                b"BAD ",
                b"[CAPABILITY X]",
                b"{3}\r\nabc",
                b"{70}",
                b"+ ",
                b"\r\n",
                b" ",
                b"x" * 40,
            ),
        ),
        LineCodec(
            "pop3",
            lambda: pop3.Pop3Client(MAX_LINE, MAX_LINES),
            (pop3.Capa(), pop3.Stls(), pop3.Quit()),
            pop3.RemoteProtocolError,
            pop3.Pop3State.IDLE,
            pop3.Pop3State.TLS_PENDING,
            (
                b"+OK ",
                b"-ERR ",
                b"STLS",
                b"SASL PLAIN",
                b".\r\n",
                b"..x\r\n",
                b"\r\n",
                b" ",
                b"x" * 40,
            ),
        ),
    )
}


def drive(codec: LineCodec, client: Any, data: bytes, choices: list[int]) -> list[object]:
    """Feed ``data`` and drain the events, answering as a checker would."""
    client.receive_data(data)
    assert client.buffered_bytes <= client.max_line_bytes
    events: list[object] = []
    for _ in range(DRAIN_BOUND):
        event = client.next_event()
        events.append(event)
        if isinstance(event, NeedData | ConnectionClosed):
            return events
        if client.state is codec.tls_pending:
            client.start_tls()
        if client.state is codec.idle:
            pick = choices.pop() if choices else 0
            client.send(codec.commands[pick % len(codec.commands)])
    raise AssertionError(f"{codec.name}: next_event() did not settle")


def wire(codec: LineCodec) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, or a mix of protocol fragments and noise."""
    parts = st.one_of(st.sampled_from(codec.fragments), st.binary(max_size=8))
    return st.one_of(st.binary(max_size=2000), st.lists(parts, max_size=120).map(b"".join))


def cuts(data: bytes, sizes: list[int]) -> list[bytes]:
    chunks, pos = [], 0
    for size in sizes:
        chunks.append(data[pos : pos + size])
        pos += size
    chunks.append(data[pos:])
    return [c for c in chunks if c]


def fuzz_codec(name: str) -> Callable[..., None]:
    codec = CODECS[name]

    @FUZZ
    @given(
        data=wire(codec),
        sizes=st.lists(st.integers(1, 700), max_size=12),
        choices=st.lists(st.integers(0, 7), max_size=20),
        close=st.booleans(),
    )
    def prop(data: bytes, sizes: list[int], choices: list[int], close: bool) -> None:
        client = codec.make()
        try:
            for chunk in [*cuts(data, sizes), *([b""] if close else [])]:
                drive(codec, client, chunk, choices)
        except codec.error as exc:
            assert len(exc.offending) <= 80
        assert client.buffered_bytes <= MAX_LINE

    prop.__name__ = f"test_{name}_codec_raises_only_remote_errors_and_stays_bounded"
    return prop


test_smtp_codec = fuzz_codec("smtp")
test_imap_codec = fuzz_codec("imap")
test_pop3_codec = fuzz_codec("pop3")


# ------------------------------------------------------------------ timing

LINEAR_BASE_BYTES = 4096


def fuzz_codec_timing(name: str, limits: Callable[[], Any]) -> Callable[..., None]:
    codec = CODECS[name]

    @FUZZ_TIMING
    @given(unit=st.lists(st.sampled_from(codec.fragments), min_size=1, max_size=6).map(b"".join))
    def prop(unit: bytes) -> None:
        def feed(data: bytes) -> None:
            client = limits()
            try:
                drive(codec, client, data, [])
            except codec.error:
                pass

        assert_linear(
            feed,
            repeated(unit, LINEAR_BASE_BYTES),
            f"{name} codec on {unit[:40]!r} repeated",
        )

    prop.__name__ = f"test_{name}_codec_time_is_linear"
    return prop


# Generous bounds here: the point is to feed a lot, not to hit the bounds early.
test_smtp_timing = fuzz_codec_timing("smtp", lambda: smtp.SmtpClient(1 << 20, 1 << 16))
test_imap_timing = fuzz_codec_timing("imap", lambda: imap.ImapClient(1 << 20, 1 << 16, 1 << 20))
test_pop3_timing = fuzz_codec_timing("pop3", lambda: pop3.Pop3Client(1 << 20, 1 << 16))


# ------------------------------------------------------- what the codecs hand out

_LINE_TEXT = st.text(max_size=200)


@FUZZ
@given(code=st.integers(200, 599), lines=st.lists(_LINE_TEXT, min_size=1, max_size=20))
def test_parse_ehlo_never_raises(code: int, lines: list[str]) -> None:
    caps = smtp.parse_ehlo(smtp.Reply(code=code, lines=tuple(lines)))
    assert all(k == k.upper() and k for k in caps)


@FUZZ
@given(text=st.text(max_size=5000))
def test_slow_down_classifier_never_raises(text: str) -> None:
    assert isinstance(smtp.says_slow_down(text), bool)


_CLASSIFIER_UNITS = st.lists(
    st.sampled_from(["a", "-", ".", " ", "4.7.0", "rate", "limit", "é", "_", "x" * 30, "\t"]),
    min_size=1,
    max_size=8,
).map("".join)


@FUZZ_TIMING
@given(unit=_CLASSIFIER_UNITS)
def test_slow_down_classifier_time_is_linear(unit: str) -> None:
    assert_linear(
        smtp.says_slow_down,
        repeated(unit, LINEAR_BASE_BYTES),
        f"says_slow_down on {unit[:40]!r} repeated",
    )


def test_slow_down_classifier_worst_cases_are_linear() -> None:
    # The shapes that made the old regex quadratic: long undotted runs, runs of
    # dots and hyphens, and almost-host-names.
    for unit in ("x", "x-", "x.", "-.", "ab.cd.", "é" * 3 + "."):
        assert_linear(
            smtp.says_slow_down,
            repeated(unit, LINEAR_BASE_BYTES),
            f"says_slow_down on {unit!r} repeated",
        )
