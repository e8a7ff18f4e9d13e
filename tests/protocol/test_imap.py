"""Byte-exact tests of the sans-I/O IMAP client codec (whole, then one byte at a time)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mxtls.protocol.events import ConnectionClosed, NeedData
from mxtls.protocol.imap import (
    TRANSITIONS,
    Capability,
    Event,
    ImapClient,
    ImapResponse,
    ImapState,
    LocalProtocolError,
    Logout,
    Noop,
    RemoteProtocolError,
    StartTls,
    parse_capabilities,
)

BYTEWISE = pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
DOVECOT_GREETING = (
    b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
    b"STARTTLS LOGINDISABLED] Dovecot (Debian) ready.\r\n"
)


def feed(client: ImapClient, data: bytes, *, bytewise: bool) -> list[Event]:
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


def state_of(client: ImapClient) -> ImapState:
    return client.state


def greeted() -> ImapClient:
    client = ImapClient()
    client.receive_data(b"* OK ready\r\n")
    assert client.next_event() == ImapResponse(tag=None, status="OK", code=None, text="ready")
    return client


GREETINGS: list[tuple[bytes, ImapResponse]] = [
    (
        DOVECOT_GREETING,
        ImapResponse(
            tag=None,
            status="OK",
            code="CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
            "STARTTLS LOGINDISABLED",
            text="Dovecot (Debian) ready.",
        ),
    ),
    (b"* ok lower case\n", ImapResponse(tag=None, status="OK", code=None, text="lower case")),
    (b"* PREAUTH hi\r\n", ImapResponse(tag=None, status="PREAUTH", code=None, text="hi")),
    (
        b"* BYE [UNAVAILABLE] Too many connections\r\n",
        ImapResponse(tag=None, status="BYE", code="UNAVAILABLE", text="Too many connections"),
    ),
    (b"* OK caf\xc3\xa9\r\n", ImapResponse(tag=None, status="OK", code=None, text="café")),
    (b"* OK caf\xe9\r\n", ImapResponse(tag=None, status="OK", code=None, text="café")),
]


@BYTEWISE
@pytest.mark.parametrize(("data", "expected"), GREETINGS, ids=lambda x: repr(x)[:40])
def test_greetings_parse_exactly(data: bytes, expected: ImapResponse, bytewise: bool) -> None:
    client = ImapClient()
    assert feed(client, data, bytewise=bytewise) == [expected]
    assert state_of(client) is ImapState.IDLE


MALFORMED: list[tuple[bytes, str]] = [
    (b"220 mx.example ESMTP\r\n", "tagged response while no command"),  # SMTP on 143
    (b"+OK POP3 ready\r\n", "continuation request"),  # POP3 on 143
    (b"* NO nope\r\n", "malformed greeting"),
    (b"* OK [a literal {99999999}\r\n", "literal of 99999999 bytes"),
    (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\n", "tagged response while no command"),
]


@BYTEWISE
@pytest.mark.parametrize(("data", "message"), MALFORMED, ids=lambda x: repr(x)[:30])
def test_malformed_greetings_are_remote_errors(data: bytes, message: str, bytewise: bool) -> None:
    client = ImapClient()
    with pytest.raises(RemoteProtocolError, match=message) as info:
        feed(client, data, bytewise=bytewise)
    assert client.state is ImapState.ERROR and len(info.value.offending) <= 80
    with pytest.raises(RemoteProtocolError):
        client.next_event()


def test_commands_are_tagged_in_sequence() -> None:
    client = greeted()
    assert client.send(Capability()) == b"m1 CAPABILITY\r\n"
    assert client.state is ImapState.AWAIT_RESPONSE
    with pytest.raises(LocalProtocolError, match="AWAIT_RESPONSE"):
        client.send(Noop())
    client.receive_data(b"m1 OK done\r\n")
    client.next_event()
    assert client.send(Noop()) == b"m2 NOOP\r\n"


def test_no_command_before_the_greeting() -> None:
    with pytest.raises(LocalProtocolError):
        ImapClient().send(Capability())


@BYTEWISE
def test_full_starttls_dialogue_with_leftover(bytewise: bool) -> None:
    client = ImapClient()
    feed(client, DOVECOT_GREETING, bytewise=bytewise)
    client.send(Capability())
    wire = (
        b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN auth=login LOGINDISABLED\r\n"
        b"m1 OK Pre-login capabilities listed, post-login capabilities have more.\r\n"
    )
    [caps] = feed(client, wire, bytewise=bytewise)
    assert isinstance(caps, ImapResponse) and caps.tag == "m1" and caps.ok
    assert caps.untagged == ("CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN auth=login LOGINDISABLED",)
    assert parse_capabilities(caps) == {
        "IMAP4REV1": [],
        "STARTTLS": [],
        "AUTH": ["PLAIN", "LOGIN"],
        "LOGINDISABLED": [],
    }
    client.send(StartTls())
    # The server keeps talking in plaintext after its OK: kept aside, never parsed
    events = feed(
        client, b"m2 OK Begin TLS negotiation now.\r\n* BYE injected\r\n", bytewise=bytewise
    )
    assert events == [
        ImapResponse(tag="m2", status="OK", code=None, text="Begin TLS negotiation now.")
    ]
    assert state_of(client) is ImapState.TLS_PENDING
    assert client.start_tls() == b"* BYE injected\r\n"
    assert state_of(client) is ImapState.IDLE
    assert client.send(Capability()) == b"m3 CAPABILITY\r\n"


def test_refused_starttls_stays_in_plaintext() -> None:
    client = greeted()
    client.send(StartTls())
    [no] = feed(client, b"m1 BAD [PRIVACYREQUIRED] not now\r\n", bytewise=False)
    assert isinstance(no, ImapResponse) and no.status == "BAD" and no.code == "PRIVACYREQUIRED"
    assert state_of(client) is ImapState.IDLE
    with pytest.raises(LocalProtocolError):
        client.start_tls()


def test_logout_ends_the_dialogue() -> None:
    client = greeted()
    client.send(Logout())
    events = feed(
        client, b"* BYE Logging out\r\nm1 OK Logout completed.\r\nrubbish\r\n", bytewise=False
    )
    assert [e.untagged for e in events if isinstance(e, ImapResponse)] == [("BYE Logging out",)]
    assert state_of(client) is ImapState.CLOSED
    client.receive_data(b"")
    assert client.next_event() == ConnectionClosed()


def test_literals_are_skipped_not_stored() -> None:
    client = greeted()
    client.send(Capability())
    wire = b'* ID ("name" {5}\r\nhel\nl "x")\r\n* CAPABILITY IMAP4rev1\r\nm1 OK done\r\n'
    [resp] = feed(client, wire, bytewise=True)
    assert isinstance(resp, ImapResponse)
    assert resp.untagged == ('ID ("name" {5} "x")', "CAPABILITY IMAP4rev1")


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (b"m9 OK wrong tag\r\n", "tagged b'm9', expected m1"),
        (b"m1 MAYBE\r\n", "malformed tagged response"),
        (b"+ go on\r\n", "continuation request"),
    ],
)
def test_bad_completions(wire: bytes, message: str) -> None:
    client = greeted()
    client.send(Capability())
    with pytest.raises(RemoteProtocolError, match=message):
        feed(client, wire, bytewise=False)


def test_close_mid_response_names_the_unfinished_bytes() -> None:
    client = greeted()
    client.send(Capability())
    client.receive_data(b"* BYE server shutting down\r\nm1 O")
    client.receive_data(b"")
    closed = client.next_event()
    assert isinstance(closed, ConnectionClosed)
    assert closed.incomplete.startswith(b"* BYE server shutting down")
    assert client.state is ImapState.CLOSED


def test_line_and_untagged_bounds() -> None:
    client = ImapClient(max_line_bytes=64, max_response_lines=2)
    client.receive_data(b"* OK " + b"x" * 100)
    with pytest.raises(RemoteProtocolError, match="longer than 64"):
        client.next_event()
    assert client.buffered_bytes <= 64
    client = ImapClient(max_line_bytes=64, max_response_lines=2)
    feed(client, b"* OK hi\r\n", bytewise=False)
    client.send(Capability())
    with pytest.raises(RemoteProtocolError, match="more than 2 untagged"):
        feed(client, b"* A\r\n* B\r\n* C\r\n", bytewise=False)


def test_transitions_table_is_complete_for_the_walk() -> None:
    assert TRANSITIONS[(ImapState.AWAIT_RESPONSE, "response:OK-to-STARTTLS")] is (
        ImapState.TLS_PENDING
    )
    assert {s for s, _ in TRANSITIONS} == set(ImapState) - {ImapState.ERROR}


# ------------------------------------------------------------------ properties

MAX_LINE = 64


def _drain(client: ImapClient) -> list[Event]:
    events: list[Event] = []
    for _ in range(1000):
        event = client.next_event()
        events.append(event)
        if isinstance(event, NeedData | ConnectionClosed):
            return events
        if client.state is ImapState.IDLE:
            client.send(Noop())  # keep a command outstanding so responses are solicited
    raise AssertionError("next_event() did not settle")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=200), max_size=20), st.booleans())
def test_arbitrary_bytes_raise_only_remote_errors_and_stay_bounded(
    chunks: list[bytes], close: bool
) -> None:
    client = ImapClient(max_line_bytes=MAX_LINE, max_response_lines=5, max_literal_bytes=100)
    try:
        for chunk in [*chunks, b""] if close else chunks:
            client.receive_data(chunk)
            assert client.buffered_bytes <= MAX_LINE
            _drain(client)
    except RemoteProtocolError as exc:
        assert client.state is ImapState.ERROR
        assert len(exc.offending) <= 80
    assert client.buffered_bytes <= MAX_LINE


_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(_TEXT.filter(lambda t: not t.endswith("}")), max_size=4),
    st.sampled_from(["OK", "NO", "BAD"]),
    # a line ending in {N} announces a literal (RFC 9051 §4.3), the tagged line too
    _TEXT.filter(lambda t: not t.startswith("[") and not t.endswith("}")),
    st.lists(st.integers(1, 30), max_size=30),
)
def test_split_anywhere_gives_the_same_response(
    untagged: list[str], status: str, text: str, cuts: list[int]
) -> None:
    wire = b"".join(b"* %s\r\n" % u.encode() for u in untagged) + f"m1 {status} {text}\r\n".encode()
    chunks, pos = [], 0
    for cut in cuts:
        chunks.append(wire[pos : pos + cut])
        pos += cut
    chunks.append(wire[pos:])
    client = greeted()
    client.send(Capability())
    events = [e for chunk in chunks if chunk for e in feed(client, chunk, bytewise=False)]
    expected = ImapResponse(tag="m1", status=status, code=None, text=text, untagged=tuple(untagged))
    assert events == [expected]
