"""Byte-exact tests of the sans-I/O POP3 client codec (whole, then one byte at a time)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mxtls.protocol.events import ConnectionClosed, NeedData
from mxtls.protocol.pop3 import (
    TRANSITIONS,
    Capa,
    Event,
    LocalProtocolError,
    Pop3Client,
    Pop3Response,
    Pop3State,
    Quit,
    RemoteProtocolError,
    Stls,
    parse_capa,
)

BYTEWISE = pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])


def feed(client: Pop3Client, data: bytes, *, bytewise: bool) -> list[Event]:
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


def state_of(client: Pop3Client) -> Pop3State:
    return client.state


def greeted() -> Pop3Client:
    client = Pop3Client()
    client.receive_data(b"+OK Dovecot (Debian) ready.\r\n")
    assert client.next_event() == Pop3Response(ok=True, text="Dovecot (Debian) ready.")
    return client


GREETINGS: list[tuple[bytes, Pop3Response]] = [
    (b"+OK Dovecot (Debian) ready.\r\n", Pop3Response(ok=True, text="Dovecot (Debian) ready.")),
    (b"+OK\r\n", Pop3Response(ok=True, text="")),
    (b"+OK bare LF\n", Pop3Response(ok=True, text="bare LF")),
    (
        b"-ERR [SYS/TEMP] too many connections\r\n",
        Pop3Response(ok=False, text="[SYS/TEMP] too many connections"),
    ),
    (b"+OK caf\xe9\r\n", Pop3Response(ok=True, text="café")),
]


@BYTEWISE
@pytest.mark.parametrize(("data", "expected"), GREETINGS, ids=lambda x: repr(x)[:40])
def test_greetings_parse_exactly(data: bytes, expected: Pop3Response, bytewise: bool) -> None:
    client = Pop3Client()
    assert feed(client, data, bytewise=bytewise) == [expected]
    assert state_of(client) is Pop3State.IDLE


MALFORMED: list[tuple[bytes, str]] = [
    (b"220 mx.example ESMTP\r\n", "malformed status line"),  # SMTP on 110
    (b"* OK IMAP4rev1 ready\r\n", "malformed status line"),  # IMAP on 110
    (b"+OKAY\r\n", "malformed status line"),
    (b"\r\n", "malformed status line"),
    (b"+OK hi\r\n+OK again\r\n", "no command was outstanding"),
]


@BYTEWISE
@pytest.mark.parametrize(("data", "message"), MALFORMED, ids=lambda x: repr(x)[:30])
def test_malformed_responses_are_remote_errors(data: bytes, message: str, bytewise: bool) -> None:
    client = Pop3Client()
    with pytest.raises(RemoteProtocolError, match=message) as info:
        feed(client, data, bytewise=bytewise)
    assert client.state is Pop3State.ERROR and len(info.value.offending) <= 80


@pytest.mark.parametrize(
    ("cmd", "wire"), [(Capa(), b"CAPA\r\n"), (Stls(), b"STLS\r\n"), (Quit(), b"QUIT\r\n")]
)
def test_commands_encode_exactly(cmd: Capa | Stls | Quit, wire: bytes) -> None:
    client = greeted()
    assert client.send(cmd) == wire
    assert client.state is Pop3State.AWAIT_RESPONSE
    with pytest.raises(LocalProtocolError):
        client.send(cmd)  # no pipelining


@BYTEWISE
def test_full_stls_dialogue(bytewise: bool) -> None:
    client = greeted()
    client.send(Capa())
    wire = (
        b"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n"
        b"STLS\r\nUSER\r\nSASL PLAIN LOGIN\r\n..dot-stuffed\r\n.\r\n"
    )
    [capa] = feed(client, wire, bytewise=bytewise)
    assert isinstance(capa, Pop3Response) and capa.ok
    assert capa.lines[-1] == ".dot-stuffed"
    caps = parse_capa(capa)
    assert caps["SASL"] == ["PLAIN", "LOGIN"] and "STLS" in caps and "USER" in caps
    client.send(Stls())
    events = feed(client, b"+OK Begin TLS negotiation now.\r\n-ERR injected\r\n", bytewise=bytewise)
    assert events == [Pop3Response(ok=True, text="Begin TLS negotiation now.")]
    assert state_of(client) is Pop3State.TLS_PENDING
    assert client.start_tls() == b"-ERR injected\r\n"
    assert client.send(Capa()) == b"CAPA\r\n"


def test_err_to_capa_is_one_line_and_err_to_stls_stays_plain() -> None:
    client = greeted()
    client.send(Capa())
    assert feed(client, b"-ERR unknown command\r\n", bytewise=False) == [
        Pop3Response(ok=False, text="unknown command")
    ]
    client.send(Stls())
    feed(client, b"-ERR TLS not available\r\n", bytewise=False)
    assert state_of(client) is Pop3State.IDLE


def test_quit_ends_the_dialogue() -> None:
    client = greeted()
    client.send(Quit())
    feed(client, b"+OK Logging out.\r\n+OK more rubbish\r\n", bytewise=False)
    assert state_of(client) is Pop3State.CLOSED
    client.receive_data(b"")
    assert client.next_event() == ConnectionClosed()


def test_close_mid_body_names_the_unfinished_bytes() -> None:
    client = greeted()
    client.send(Capa())
    client.receive_data(b"+OK\r\nUSER\r\n")
    client.receive_data(b"")
    closed = client.next_event()
    assert isinstance(closed, ConnectionClosed) and closed.incomplete == b"+OK\r\nUSER\r\n"


def test_bounds() -> None:
    client = Pop3Client(max_line_bytes=32, max_response_lines=3)
    client.receive_data(b"+OK " + b"x" * 100)
    with pytest.raises(RemoteProtocolError, match="longer than 32"):
        client.next_event()
    client = Pop3Client(max_line_bytes=32, max_response_lines=3)
    feed(client, b"+OK hi\r\n", bytewise=False)
    client.send(Capa())
    with pytest.raises(RemoteProtocolError, match="more than 3"):
        feed(client, b"+OK\r\nA\r\nB\r\nC\r\nD\r\n.\r\n", bytewise=False)


def test_transitions_cover_every_state_but_error() -> None:
    assert {s for s, _ in TRANSITIONS} == set(Pop3State) - {Pop3State.ERROR}


# ------------------------------------------------------------------ properties

MAX_LINE = 64


def _drain(client: Pop3Client) -> list[Event]:
    events: list[Event] = []
    for _ in range(1000):
        event = client.next_event()
        events.append(event)
        if isinstance(event, NeedData | ConnectionClosed):
            return events
        if client.state is Pop3State.IDLE:
            client.send(Capa())
    raise AssertionError("next_event() did not settle")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=200), max_size=20), st.booleans())
def test_arbitrary_bytes_raise_only_remote_errors_and_stay_bounded(
    chunks: list[bytes], close: bool
) -> None:
    client = Pop3Client(max_line_bytes=MAX_LINE, max_response_lines=5)
    try:
        for chunk in [*chunks, b""] if close else chunks:
            client.receive_data(chunk)
            assert client.buffered_bytes <= MAX_LINE
            _drain(client)
    except RemoteProtocolError as exc:
        assert client.state is Pop3State.ERROR
        assert len(exc.offending) <= 80
    assert client.buffered_bytes <= MAX_LINE


_TEXT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20)


@settings(max_examples=200, deadline=None)
@given(st.lists(_TEXT, max_size=6), st.lists(st.integers(1, 30), max_size=30))
def test_split_anywhere_gives_the_same_capa(lines: list[str], cuts: list[int]) -> None:
    stuffed = [("." + line) if line.startswith(".") else line for line in lines]
    wire = b"+OK list follows\r\n" + b"".join(f"{s}\r\n".encode() for s in stuffed) + b".\r\n"
    chunks, pos = [], 0
    for cut in cuts:
        chunks.append(wire[pos : pos + cut])
        pos += cut
    chunks.append(wire[pos:])
    client = greeted()
    client.send(Capa())
    events = [e for chunk in chunks if chunk for e in feed(client, chunk, bytewise=False)]
    assert events == [Pop3Response(ok=True, text="list follows", lines=tuple(lines))]
