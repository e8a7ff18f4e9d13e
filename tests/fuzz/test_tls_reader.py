"""Fuzzing the TLS bytes a server sends to the deep scan: records, ServerHello, flight.

Inputs are arbitrary bytes and, to get past the framing, well-framed records
carrying handshake messages built from random parts: ServerHello and
HelloRetryRequest with random extensions (the ones the decoder reads among
them: supported_versions, key_share, renegotiation_info, EMS), Certificate
lists, ServerKeyExchange bodies, alerts, ChangeCipherSpec and SSLv2 records.

Properties: only ``TlsWireError`` escapes the reader and the decoders; after
``NeedData`` the reader holds at most ``max_buffered_bytes``; the parameter
readers and the OCSP status reader never raise anything else; time is linear
in the input.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from mxtls.net.deep.behaviour import ocsp_status
from mxtls.protocol.tls_codec import HELLO_RETRY_REQUEST_RANDOM
from mxtls.protocol.tls_wire import (
    Event,
    RecordReader,
    ServerHello,
    ServerKeyExchange,
    TlsWireError,
)

from ..protocol.test_tls_wire import drain
from .linear import assert_linear, repeated
from .profile import FUZZ, FUZZ_TIMING

READ_EXTENSIONS = [43, 51, 0xFF01, 23]  # supported_versions, key_share, reneg_info, EMS


def u(n: int, size: int) -> bytes:
    return n.to_bytes(size, "big")


def vec(size: int, body: bytes) -> bytes:
    return u(len(body) % (1 << (8 * size)), size) + body


def handshake(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + u(len(body), 3) + body


def record(content_type: int, payload: bytes, version: int = 0x0303) -> bytes:
    return bytes([content_type]) + u(version, 2) + u(len(payload) & 0xFFFF, 2) + payload


extension = st.builds(
    lambda kind, body: u(kind, 2) + vec(2, body),
    st.one_of(st.sampled_from(READ_EXTENSIONS), st.integers(0, 0xFFFF)),
    st.one_of(
        st.binary(max_size=40),
        st.sampled_from(
            [b"\x03\x04", b"\x03\x03", b"\x00\x1d", b"\x00\x1d\x00\x20" + b"k" * 32, b"\x00", b""]
        ),
    ),
)

server_hello_body = st.builds(
    lambda version, random, sid, suite, comp, exts, trailing: (
        u(version, 2)
        + random
        + vec(1, sid)
        + u(suite, 2)
        + u(comp, 1)
        + (vec(2, b"".join(exts)) if exts is not None else b"")
        + trailing
    ),
    st.sampled_from([0x0303, 0x0302, 0x0300, 0x7F1C, 0x0304]),
    st.one_of(
        st.binary(min_size=32, max_size=32),
        st.just(HELLO_RETRY_REQUEST_RANDOM),
        st.binary(min_size=24, max_size=24).map(lambda r: r + b"DOWNGRD\x01"),
    ),
    st.binary(max_size=40),
    st.integers(0, 0xFFFF),
    st.integers(0, 255),
    st.one_of(st.none(), st.lists(extension, max_size=8)),
    st.one_of(st.just(b""), st.binary(max_size=4)),
)

certificate_body = st.lists(st.binary(max_size=60), max_size=6).map(
    lambda certs: vec(3, b"".join(vec(3, c) for c in certs))
)

message = st.one_of(
    server_hello_body.map(lambda b: handshake(2, b)),
    certificate_body.map(lambda b: handshake(11, b)),
    st.binary(max_size=80).map(lambda b: handshake(12, b)),
    st.sampled_from([handshake(14, b""), handshake(14, b"x")]),
    st.tuples(st.integers(0, 255), st.binary(max_size=40)).map(lambda t: handshake(*t)),
)

tls_records = st.lists(
    st.one_of(
        st.lists(message, min_size=1, max_size=3).map(lambda ms: record(22, b"".join(ms))),
        st.binary(min_size=2, max_size=2).map(lambda b: record(21, b)),
        st.sampled_from([record(20, b"\x01"), record(20, b"\x02"), record(23, b"secret")]),
        st.tuples(st.integers(0, 255), st.binary(max_size=30)).map(lambda t: record(*t)),
    ),
    max_size=8,
).map(b"".join)

sslv2 = st.binary(max_size=60).map(lambda b: bytes([0x80 | (len(b) >> 8), len(b) & 0xFF]) + b)

wire = st.one_of(
    st.binary(max_size=2000),
    tls_records,
    st.tuples(tls_records, st.integers(0, 2000)).map(lambda t: t[0][: t[1]]),
    st.lists(sslv2, min_size=1, max_size=3).map(b"".join),
)


@FUZZ
@given(
    data=wire,
    chunk=st.integers(1, 700),
    small=st.booleans(),
    close=st.booleans(),
)
def test_reader_raises_only_wire_errors_and_stays_bounded(
    data: bytes, chunk: int, small: bool, close: bool
) -> None:
    reader = (
        RecordReader(max_record_bytes=300, max_handshake_bytes=400) if small else RecordReader()
    )
    try:
        for i in range(0, len(data), chunk):
            reader.receive_data(data[i : i + chunk])
            drain(reader)
            assert reader.buffered_bytes <= reader.max_buffered_bytes
        if close:
            reader.receive_data(b"")
            drain(reader)
    except TlsWireError as exc:
        assert len(exc.offending) <= 80


@FUZZ
@given(body=st.one_of(server_hello_body, st.binary(max_size=120)))
def test_server_hello_decoder_raises_only_wire_errors(body: bytes) -> None:
    try:
        hello = ServerHello.from_bytes(handshake(2, body))
    except TlsWireError:
        return
    assert hello.is_hello_retry_request == (hello.random == HELLO_RETRY_REQUEST_RANDOM)


@FUZZ
@given(body=st.binary(max_size=300))
def test_server_key_exchange_readers_raise_only_wire_errors(body: bytes) -> None:
    ske = ServerKeyExchange(body=body)
    for read in (ske.dh_params, ske.ecdh_params):
        try:
            read()
        except TlsWireError:
            pass


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=300), st.binary(max_size=300).map(lambda b: b"\x01" + vec(3, b))
    )
)
def test_stapled_ocsp_reader_never_raises(body: bytes) -> None:
    assert isinstance(ocsp_status(body), str)


# ------------------------------------------------------------------ timing


def read_all(data: bytes) -> None:
    reader = RecordReader()
    try:
        reader.receive_data(data)
        drain(reader)
    except TlsWireError:
        pass


@FUZZ_TIMING
@given(unit=st.one_of(tls_records.filter(bool), st.binary(min_size=1, max_size=30)))
def test_reader_time_is_linear(unit: bytes) -> None:
    assert_linear(
        read_all,
        repeated(unit, 4096),
        f"RecordReader on {unit[:30]!r} repeated",
    )


def in_records(data: bytes, size: int = 16 * 1024) -> bytes:
    return b"".join(record(22, data[i : i + size]) for i in range(0, len(data), size))


def test_reader_worst_cases_are_linear() -> None:
    # Many tiny records, many messages in few records, one message cut into
    # five-byte records, a long certificate list.
    cases: dict[str, Callable[[int], bytes]] = {
        "one-byte records": lambda s: record(23, b"x") * (1000 * s),
        "empty messages": lambda s: in_records(handshake(0, b"") * (1000 * s)),
        "one message in pieces": lambda s: in_records(handshake(0, b"x" * (2048 * s)), 5),
        "certificate list": lambda s: in_records(
            handshake(11, vec(3, vec(3, b"c") * (1000 * s))) + handshake(14, b"")
        ),
    }
    for what, make in cases.items():
        events = drain_all(make(1))
        assert events, f"{what}: the case must be read, not refused"
        assert_linear(read_all, make, f"RecordReader: {what}")


def drain_all(data: bytes) -> list[Event]:
    reader = RecordReader()
    reader.receive_data(data)
    return drain(reader)


def test_server_hello_time_is_linear_in_its_extensions() -> None:
    def hello(scale: int) -> bytes:
        exts = b"".join(u(0x1000 + i, 2) + vec(2, b"") for i in range(400 * scale))
        body = u(0x0303, 2) + b"r" * 32 + vec(1, b"") + u(0x1301, 2) + b"\x00" + vec(2, exts)
        return handshake(2, body)

    assert_linear(ServerHello.from_bytes, hello, "ServerHello with many extensions")
