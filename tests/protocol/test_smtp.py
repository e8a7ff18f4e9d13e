"""Byte-exact tests of the sans-I/O SMTP client codec (h11 ``test_io.py`` style).

Every reply case is fed whole and then one byte at a time: a server may split
its reply across TCP segments anywhere (sslyze's ``recv(2048)`` bug).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mxtls.protocol.smtp import (
    TRANSITIONS,
    Command,
    ConnectionClosed,
    Ehlo,
    Event,
    Helo,
    LocalProtocolError,
    NeedData,
    Noop,
    Quit,
    RemoteProtocolError,
    Reply,
    SmtpClient,
    SmtpState,
    StartTls,
    parse_ehlo,
)


def feed(client: SmtpClient, data: bytes, *, bytewise: bool) -> list[Event]:
    """Feed ``data`` (whole or byte by byte), collecting events until NeedData each time."""
    events: list[Event] = []
    chunks = [data[i : i + 1] for i in range(len(data))] if bytewise else [data]
    for chunk in chunks:
        client.receive_data(chunk)
        while True:
            event = client.next_event()
            if isinstance(event, NeedData):
                break
            events.append(event)
            if isinstance(event, ConnectionClosed):
                return events
    return events


def state_of(client: SmtpClient) -> SmtpState:
    """The state, read through a call so mypy does not narrow it between steps."""
    return client.state


def greeted(**kwargs: int) -> SmtpClient:
    client = SmtpClient(**kwargs)
    client.receive_data(b"220 mx.example ESMTP\r\n")
    assert client.next_event() == Reply(code=220, lines=("mx.example ESMTP",))
    return client


BYTEWISE = pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])

# --------------------------------------------------------------------- replies

REPLY_CASES: list[tuple[bytes, Reply]] = [
    (b"220 mx.example ESMTP Postfix\r\n", Reply(code=220, lines=("mx.example ESMTP Postfix",))),
    (
        b"220-mx.example ESMTP\r\n220-second\r\n220 third\r\n",
        Reply(code=220, lines=("mx.example ESMTP", "second", "third")),
    ),
    (b"220\r\n", Reply(code=220, lines=("",))),  # RFC 5321 §4.2: the text is optional
    (b"220-\r\n220 \r\n", Reply(code=220, lines=("", ""))),
    (b"220 bare LF\n", Reply(code=220, lines=("bare LF",))),
    (b"220-mixed\n220 ends\r\n", Reply(code=220, lines=("mixed", "ends"))),
    (b"220 caf\xc3\xa9 utf-8\r\n", Reply(code=220, lines=("café utf-8",))),
    (b"220 caf\xe9 latin-1\r\n", Reply(code=220, lines=("café latin-1",))),
    (b"220 tab\there  \r\n", Reply(code=220, lines=("tab\there  ",))),
    (b"421 4.7.0 too many connections\r\n", Reply(code=421, lines=("4.7.0 too many connections",))),
    (b"554 5.7.1 go away\r\n", Reply(code=554, lines=("5.7.1 go away",))),
]


@BYTEWISE
@pytest.mark.parametrize(("data", "expected"), REPLY_CASES, ids=lambda x: repr(x)[:40])
def test_greeting_parses_exactly(data: bytes, expected: Reply, bytewise: bool) -> None:
    client = SmtpClient()
    assert client.state is SmtpState.AWAIT_GREETING
    assert feed(client, data, bytewise=bytewise) == [expected]
    assert state_of(client) is SmtpState.IDLE


MALFORMED_CASES: list[tuple[bytes, str]] = [
    (b"hello there\r\n", "malformed"),
    (b"22 short\r\n", "malformed"),
    (b"22\r\n", "malformed"),
    (b"2200 four digits\r\n", "malformed"),
    (b"220_underscore\r\n", "malformed"),
    (b"abc text\r\n", "malformed"),
    (b"620 first digit six\r\n", "malformed"),
    (b"\r\n", "malformed"),
    (b"220-first\r\n250 other code\r\n", "inside a multi-line 220"),
    (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\n", "malformed"),  # TLS on a plaintext port
]


@BYTEWISE
@pytest.mark.parametrize(("data", "message"), MALFORMED_CASES, ids=lambda x: repr(x)[:30])
def test_malformed_replies_are_remote_errors(data: bytes, message: str, bytewise: bool) -> None:
    client = SmtpClient()
    with pytest.raises(RemoteProtocolError, match=message) as info:
        feed(client, data, bytewise=bytewise)
    assert client.state is SmtpState.ERROR
    assert info.value.offending and len(info.value.offending) <= 80
    # The error sticks: only RemoteProtocolError comes out from now on.
    with pytest.raises(RemoteProtocolError):
        client.next_event()
    assert client.state is SmtpState.ERROR


def test_offending_bytes_are_truncated_to_80() -> None:
    client = SmtpClient()
    client.receive_data(b"x" * 300 + b"\r\n")
    with pytest.raises(RemoteProtocolError) as info:
        client.next_event()
    assert info.value.offending == b"x" * 80


# -------------------------------------------------------------------- commands

COMMAND_CASES: list[tuple[Command, bytes]] = [
    (Ehlo(name="checker.example"), b"EHLO checker.example\r\n"),
    (Helo(name="checker.example"), b"HELO checker.example\r\n"),
    (Ehlo(name="[192.0.2.1]"), b"EHLO [192.0.2.1]\r\n"),
    (StartTls(), b"STARTTLS\r\n"),
    (Quit(), b"QUIT\r\n"),
    (Noop(), b"NOOP\r\n"),
]


@pytest.mark.parametrize(("cmd", "wire"), COMMAND_CASES, ids=lambda x: repr(x)[:30])
def test_commands_encode_exactly(cmd: Command, wire: bytes) -> None:
    client = greeted()
    assert client.send(cmd) == wire
    assert client.state is SmtpState.AWAIT_REPLY


@pytest.mark.parametrize("name", ["", "two words", "bad\r\nQUIT", "caf\xe9"])
def test_unusable_ehlo_name_is_local_error(name: str) -> None:
    client = greeted()
    with pytest.raises(LocalProtocolError):
        client.send(Ehlo(name=name))
    assert client.state is SmtpState.IDLE


def test_no_pipelining_and_no_command_before_greeting() -> None:
    client = SmtpClient()
    with pytest.raises(LocalProtocolError):
        client.send(Noop())
    client.receive_data(b"220 hi\r\n")
    client.next_event()
    client.send(Ehlo(name="c.example"))
    with pytest.raises(LocalProtocolError, match="AWAIT_REPLY"):
        client.send(Noop())


# -------------------------------------------------------------------- dialogue

EHLO_REPLY = (
    b"250-mx.example Hello\r\n250-PIPELINING\r\n250-SIZE 35882577\r\n"
    b"250-AUTH=LOGIN PLAIN\r\n250-AUTH PLAIN LOGIN CRAM-MD5\r\n250-starttls\r\n"
    b"250 8BITMIME\r\n"
)


@BYTEWISE
def test_full_starttls_dialogue(bytewise: bool) -> None:
    # Given a greeted client
    client = greeted()
    # When EHLO is answered with a multi-line reply
    client.send(Ehlo(name="c.example"))
    [ehlo] = feed(client, EHLO_REPLY, bytewise=bytewise)
    assert isinstance(ehlo, Reply) and ehlo.code == 250 and len(ehlo.lines) == 7
    assert client.state is SmtpState.IDLE
    # Then its capabilities parse, and STARTTLS upgrades the session
    assert parse_ehlo(ehlo) == {
        "PIPELINING": [],
        "SIZE": ["35882577"],
        "AUTH": ["LOGIN", "PLAIN", "CRAM-MD5"],
        "STARTTLS": [],
        "8BITMIME": [],
    }
    client.send(StartTls())
    assert feed(client, b"220 2.0.0 Ready to start TLS\r\n", bytewise=bytewise) == [
        Reply(code=220, lines=("2.0.0 Ready to start TLS",))
    ]
    assert state_of(client) is SmtpState.TLS_PENDING
    assert client.next_event() == NeedData()
    with pytest.raises(LocalProtocolError):
        client.send(Ehlo(name="c.example"))
    assert client.start_tls() == b""
    # And inside TLS the second EHLO needs no new greeting
    assert state_of(client) is SmtpState.IDLE
    client.send(Ehlo(name="c.example"))
    assert feed(client, b"250 mx.example\r\n", bytewise=bytewise) == [
        Reply(code=250, lines=("mx.example",))
    ]
    client.send(Quit())
    assert feed(client, b"221 bye\r\n", bytewise=bytewise) == [Reply(code=221, lines=("bye",))]
    assert state_of(client) is SmtpState.CLOSED


@BYTEWISE
def test_plaintext_after_starttls_220_is_kept_aside_not_parsed(bytewise: bool) -> None:
    client = greeted()
    client.send(StartTls())
    events = feed(client, b"220 go ahead\r\n250 injected\r\nnot smtp at all", bytewise=bytewise)
    assert events == [Reply(code=220, lines=("go ahead",))]
    assert client.state is SmtpState.TLS_PENDING
    assert client.start_tls() == b"250 injected\r\nnot smtp at all"
    assert client.leftover_total == len(b"250 injected\r\nnot smtp at all")


def test_starttls_leftover_is_bounded() -> None:
    client = greeted(max_line_bytes=64)
    client.send(StartTls())
    client.receive_data(b"220 go\r\n" + b"A" * 100_000)
    assert client.next_event() == Reply(code=220, lines=("go",))
    assert client.start_tls() == b"A" * 64
    assert client.leftover_total == 100_000


def test_starttls_refused_keeps_plaintext_session() -> None:
    client = greeted()
    client.send(StartTls())
    assert feed(client, b"454 4.7.0 TLS not available\r\n", bytewise=False) == [
        Reply(code=454, lines=("4.7.0 TLS not available",))
    ]
    assert client.state is SmtpState.IDLE
    with pytest.raises(LocalProtocolError):
        client.start_tls()
    client.send(Quit())
    assert feed(client, b"221 bye\r\n", bytewise=False)[0] == Reply(code=221, lines=("bye",))


def test_bytes_after_quit_reply_are_ignored() -> None:
    client = greeted()
    client.send(Quit())
    assert feed(client, b"221 bye\r\ngarbage \x00\xff", bytewise=False) == [
        Reply(code=221, lines=("bye",))
    ]
    assert client.state is SmtpState.CLOSED
    client.receive_data(b"")
    assert client.next_event() == ConnectionClosed()


def test_unsolicited_reply_is_an_error_after_the_solicited_one() -> None:
    client = greeted()
    client.send(Noop())
    client.receive_data(b"250 ok\r\n250 surprise\r\n")
    assert client.next_event() == Reply(code=250, lines=("ok",))
    with pytest.raises(RemoteProtocolError, match="no command was outstanding"):
        client.next_event()
    assert client.state is SmtpState.ERROR


def test_two_replies_before_any_command_is_an_error() -> None:
    client = SmtpClient()
    client.receive_data(b"220 hi\r\n220 again\r\n")
    assert client.next_event() == Reply(code=220, lines=("hi",))
    with pytest.raises(RemoteProtocolError):
        client.next_event()


# -------------------------------------------------------------------- closing


@BYTEWISE
def test_close_between_replies(bytewise: bool) -> None:
    client = greeted()
    assert feed(client, b"", bytewise=False) == [ConnectionClosed()]
    assert client.state is SmtpState.CLOSED
    assert client.next_event() == ConnectionClosed()  # repeats


@BYTEWISE
def test_close_inside_a_reply_reports_the_fragment(bytewise: bool) -> None:
    client = greeted()
    client.send(Ehlo(name="c.example"))
    events = feed(client, b"250-mx.example\r\n250-SIZ", bytewise=bytewise)
    assert events == []
    client.receive_data(b"")
    assert client.next_event() == ConnectionClosed(incomplete=b"250-mx.example\r\n250-SIZ")
    assert client.state is SmtpState.CLOSED
    with pytest.raises(LocalProtocolError):
        client.receive_data(b"more")


def test_close_before_greeting() -> None:
    client = SmtpClient()
    client.receive_data(b"")
    assert client.next_event() == ConnectionClosed()
    assert client.state is SmtpState.CLOSED


# ---------------------------------------------------------------------- bounds


@BYTEWISE
def test_line_of_exactly_max_bytes_is_accepted(bytewise: bool) -> None:
    client = SmtpClient(max_line_bytes=32)
    line = b"220 " + b"x" * (32 - 6) + b"\r\n"
    assert len(line) == 32
    assert feed(client, line, bytewise=bytewise) == [Reply(code=220, lines=("x" * 26,))]


@BYTEWISE
def test_line_one_byte_over_max_is_rejected(bytewise: bool) -> None:
    client = SmtpClient(max_line_bytes=32)
    line = b"220 " + b"x" * (32 - 5) + b"\r\n"
    with pytest.raises(RemoteProtocolError, match="longer than 32"):
        feed(client, line, bytewise=bytewise)


def test_megabyte_without_line_end_never_grows_the_buffer() -> None:
    client = SmtpClient(max_line_bytes=4096)
    for _ in range(256):  # 1 MiB in 4 KiB reads, as the transport would feed it
        client.receive_data(b"220" + b"A" * 4093)
        assert client.buffered_bytes <= 4096
    with pytest.raises(RemoteProtocolError, match="longer than 4096"):
        client.next_event()
    assert client.buffered_bytes == 0


def test_megabyte_in_one_call_is_rejected_without_buffering() -> None:
    client = SmtpClient()
    client.receive_data(b"2" * (1 << 20))
    assert client.buffered_bytes == 0
    with pytest.raises(RemoteProtocolError):
        client.next_event()


@BYTEWISE
def test_too_many_reply_lines(bytewise: bool) -> None:
    client = greeted(max_reply_lines=3)
    client.send(Ehlo(name="c.example"))
    assert feed(client, b"250-a\r\n250-b\r\n250 c\r\n", bytewise=bytewise) == [
        Reply(code=250, lines=("a", "b", "c"))
    ]
    client.send(Ehlo(name="c.example"))
    with pytest.raises(RemoteProtocolError, match="more than 3 reply lines"):
        feed(client, b"250-a\r\n250-b\r\n250-c\r\n250 d\r\n", bytewise=bytewise)


def test_constructor_rejects_useless_bounds() -> None:
    with pytest.raises(LocalProtocolError):
        SmtpClient(max_line_bytes=2)
    with pytest.raises(LocalProtocolError):
        SmtpClient(max_reply_lines=0)


def test_transition_table_is_closed() -> None:
    # Every target state is a state, and every state but ERROR can reach CLOSED by eof.
    assert set(TRANSITIONS.values()) <= set(SmtpState)
    for state in SmtpState:
        if state is not SmtpState.ERROR:
            assert TRANSITIONS[(state, "eof")] is SmtpState.CLOSED


# ------------------------------------------------------------------ parse_ehlo

EHLO_CASES: list[tuple[tuple[str, ...], dict[str, list[str]]]] = [
    (("mx.example",), {}),
    (("mx.example", "STARTTLS"), {"STARTTLS": []}),
    (("mx.example", "size 1000", "8bitmime"), {"SIZE": ["1000"], "8BITMIME": []}),
    (("mx.example", "AUTH=LOGIN PLAIN"), {"AUTH": ["LOGIN", "PLAIN"]}),
    (("mx.example", "AUTH PLAIN", "AUTH=LOGIN"), {"AUTH": ["PLAIN", "LOGIN"]}),
    (("mx.example", "AUTH=", "  ", "X-EXT a  b"), {"AUTH": [], "X-EXT": ["a", "b"]}),
    (("mx.example", "=odd"), {}),
]


@pytest.mark.parametrize(("lines", "caps"), EHLO_CASES, ids=lambda x: repr(x)[:40])
def test_parse_ehlo(lines: tuple[str, ...], caps: dict[str, list[str]]) -> None:
    assert parse_ehlo(Reply(code=250, lines=lines)) == caps


# ------------------------------------------------------------------ properties

MAX_LINE = 64


def _drain(client: SmtpClient) -> list[Event]:
    events: list[Event] = []
    for _ in range(10_000):
        event = client.next_event()
        if isinstance(event, NeedData | ConnectionClosed):
            events.append(event)
            return events
        events.append(event)
        if client.state is SmtpState.IDLE:
            client.send(Noop())  # keep a command outstanding so replies are solicited
    raise AssertionError("next_event() did not settle")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=200), max_size=20), st.booleans())
def test_arbitrary_bytes_raise_only_remote_errors_and_stay_bounded(
    chunks: list[bytes], close: bool
) -> None:
    client = SmtpClient(max_line_bytes=MAX_LINE, max_reply_lines=5)
    try:
        for chunk in [*chunks, b""] if close else chunks:
            client.receive_data(chunk)
            assert client.buffered_bytes <= MAX_LINE
            _drain(client)
    except RemoteProtocolError as exc:
        assert client.state is SmtpState.ERROR
        assert len(exc.offending) <= 80
    assert client.buffered_bytes <= MAX_LINE


_LINE_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20).map(
    lambda s: s.encode("ascii")
)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(200, 599),
    st.lists(_LINE_TEXT, min_size=1, max_size=5),
    st.lists(st.integers(1, 50), max_size=30),
)
def test_split_anywhere_gives_the_same_reply(
    code: int, texts: list[bytes], cuts: list[int]
) -> None:
    wire = b"".join(
        b"%d%s%s\r\n" % (code, b" " if i == len(texts) - 1 else b"-", t)
        for i, t in enumerate(texts)
    )
    chunks, pos = [], 0
    for cut in cuts:
        chunks.append(wire[pos : pos + cut])
        pos += cut
    chunks.append(wire[pos:])
    client = SmtpClient()
    events: list[Event] = []
    for chunk in chunks:
        if chunk:
            client.receive_data(chunk)
            events.extend(e for e in _drain(client) if not isinstance(e, NeedData))
    assert events == [Reply(code=code, lines=tuple(t.decode() for t in texts))]
