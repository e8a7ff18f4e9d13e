"""The TLS wire codec: byte-exact vectors, hostile input, and real OpenSSL peers."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mxtls.lab.ca import LabCA
from mxtls.protocol.tls_registry import (
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
    ExtensionType,
    NamedGroupCode,
    TlsVersion,
)
from mxtls.protocol.tls_wire import (
    HELLO_RETRY_REQUEST_RANDOM,
    Alert,
    Certificate,
    ChangeCipherSpec,
    ClientHello,
    Closed,
    Event,
    Extension,
    HandshakeMessage,
    KeyShareEntry,
    NeedData,
    OpaqueRecord,
    RecordReader,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
    SSLv2Error,
    SSLv2ServerHello,
    TlsWireError,
    build_client_hello,
    build_sslv2_client_hello,
    generate_key_share,
)

# --- helpers ---------------------------------------------------------------------------


def record(content_type: int, payload: bytes, version: int = 0x0303) -> bytes:
    return (
        bytes([content_type])
        + version.to_bytes(2, "big")
        + len(payload).to_bytes(2, "big")
        + payload
    )


def handshake(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def drain(reader: RecordReader) -> list[Event]:
    """All events up to NeedData/Closed (bounded: each event consumes input)."""
    events: list[Event] = []
    for _ in range(100_000):
        event = reader.next_event()
        if isinstance(event, NeedData):
            return events
        events.append(event)
        if isinstance(event, Closed):
            return events
    raise AssertionError("reader produced events without consuming input")


def feed_whole(data: bytes) -> list[Event]:
    reader = RecordReader()
    reader.receive_data(data)
    return drain(reader)


def feed_bytewise(data: bytes) -> list[Event]:
    reader = RecordReader()
    events: list[Event] = []
    for i in range(len(data)):
        reader.receive_data(data[i : i + 1])
        events += drain(reader)
    return events


FEEDERS: list[Callable[[bytes], list[Event]]] = [feed_whole, feed_bytewise]


# RFC 8448 §3 "Simple 1-RTT Handshake": the ClientHello record and ServerHello message.
RFC8448_CLIENT_HELLO_RECORD = bytes.fromhex(
    "16030100c4010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef"
    "6283024dece7000006130113031302010000910000000b0009000006736572766572ff0100"
    "0100000a00140012001d0017001800190100010101020103010400230000003300260024001d"
    "002099381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c002b0003"
    "020304000d0020001e040305030603020308040805080604010501060102010402050206020202"
    "002d00020101001c00024001"
)
RFC8448_SERVER_HELLO = bytes.fromhex(
    "020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800"
    "130100002e00330024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69"
    "b1b04e751f0f002b00020304"
)
RFC8448_SERVER_KEY = bytes.fromhex(
    "c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f"
)


# --- ClientHello -----------------------------------------------------------------------


def test_rfc8448_client_hello_parses_and_round_trips_byte_exact() -> None:
    hello = ClientHello.from_bytes(RFC8448_CLIENT_HELLO_RECORD)
    assert hello.record_version == 0x0301
    assert hello.version == 0x0303
    assert hello.random.hex().startswith("cb34ecb1e78163ba")
    assert hello.session_id == b""
    assert hello.cipher_suites == (0x1301, 0x1303, 0x1302)
    assert hello.compression_methods == (0,)
    assert hello.server_name == "server"
    assert hello.supported_groups == (0x1D, 0x17, 0x18, 0x19, 0x100, 0x101, 0x102, 0x103, 0x104)
    assert hello.supported_versions == (0x0304,)
    assert hello.signature_algorithms[:3] == (0x0403, 0x0503, 0x0603)
    assert hello.key_shares == (
        KeyShareEntry(
            group=0x1D,
            key_exchange=bytes.fromhex(
                "99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c"
            ),
        ),
    )
    assert [e.type for e in hello.extensions] == [0, 0xFF01, 10, 35, 51, 43, 13, 45, 28]
    assert hello.to_bytes() == RFC8448_CLIENT_HELLO_RECORD


def test_extension_constructors_match_rfc8448_bodies() -> None:
    hello = ClientHello.from_bytes(RFC8448_CLIENT_HELLO_RECORD)
    assert Extension.server_name("server").data == hello.extension(ExtensionType.SERVER_NAME)
    assert Extension.renegotiation_info().data == hello.extension(0xFF01)
    assert Extension.session_ticket().data == hello.extension(35)
    assert Extension.supported_versions([0x0304]).data == hello.extension(43)
    assert Extension.psk_key_exchange_modes().data == hello.extension(45)
    assert Extension.key_share(hello.key_shares).data == hello.extension(51)
    groups = Extension.supported_groups(hello.supported_groups)
    assert groups.data == hello.extension(10)


def test_build_tls12_client_hello() -> None:
    hello = build_client_hello(
        TlsVersion.TLS1_2,
        [0xC02F, 0x009C],
        server_name="mx.example",
        random=bytes(range(32)),
    )
    assert hello.version == 0x0303 and hello.record_version == 0x0301
    assert hello.session_id == b""
    assert hello.cipher_suites == (0xC02F, 0x009C)
    assert hello.server_name == "mx.example"
    types = {e.type for e in hello.extensions}
    assert {0xFF01, 23, 35, 5, 10, 11, 13} <= types
    assert ExtensionType.SUPPORTED_VERSIONS not in types
    assert ExtensionType.KEY_SHARE not in types
    wire = hello.to_bytes()
    assert wire[:3] == b"\x16\x03\x01"
    assert ClientHello.from_bytes(wire) == hello
    # Fixed inputs give fixed bytes.
    again = build_client_hello(
        TlsVersion.TLS1_2, [0xC02F, 0x009C], server_name="mx.example", random=bytes(range(32))
    )
    assert again.to_bytes() == wire


def test_build_tls13_client_hello_has_real_x25519_share() -> None:
    hello = build_client_hello(TlsVersion.TLS1_3, [0x1301])
    assert hello.version == 0x0303
    assert len(hello.session_id) == 32
    assert hello.supported_versions == (0x0304,)
    (share,) = hello.key_shares
    assert share.group == NamedGroupCode.X25519 and len(share.key_exchange) == 32
    assert hello.extension(ExtensionType.PSK_KEY_EXCHANGE_MODES) == b"\x01\x01"
    other = build_client_hello(TlsVersion.TLS1_3, [0x1301])
    assert other.key_shares[0].key_exchange != share.key_exchange  # fresh keys


def test_build_client_hello_with_caller_key_and_other_groups() -> None:
    key = bytes(range(32))
    hello = build_client_hello(
        TlsVersion.TLS1_3,
        [0x1301],
        groups=[NamedGroupCode.X25519MLKEM768, NamedGroupCode.X25519, NamedGroupCode.SECP256R1],
        key_share_groups=[NamedGroupCode.X25519MLKEM768, 29, 23],
        key_shares={29: key},
    )
    shares = {s.group: s.key_exchange for s in hello.key_shares}
    assert shares[29] == key
    assert len(shares[0x11EC]) == 1184 + 32
    assert len(shares[23]) == 65 and shares[23][0] == 4  # uncompressed point
    with pytest.raises(ValueError):
        generate_key_share(0x0100)  # no FFDHE share generator: ask via HRR instead


def test_build_client_hello_pads_the_f5_range() -> None:
    suites = list(range(0xC001, 0xC001 + 60))
    unpadded = build_client_hello(TlsVersion.TLS1_2, suites, pad=False)
    assert 256 <= len(unpadded.handshake_bytes()) < 512
    padded = build_client_hello(TlsVersion.TLS1_2, suites)
    assert len(padded.handshake_bytes()) == 512
    assert padded.extensions[-1].type == ExtensionType.PADDING


def test_build_ssl3_client_hello_has_no_extensions() -> None:
    hello = build_client_hello(TlsVersion.SSL3, [0x000A, 0x0005])
    assert hello.version == 0x0300
    assert hello.extensions == ()
    assert hello.cipher_suites[-1] == TLS_EMPTY_RENEGOTIATION_INFO_SCSV
    wire = hello.to_bytes()
    assert ClientHello.from_bytes(wire) == hello
    # No extensions block at all: the body ends with the compression methods.
    assert wire.endswith(b"\x01\x00")


def test_large_client_hello_spans_records() -> None:
    hello = ClientHello(
        cipher_suites=(0x1301,),
        random=bytes(32),
        extensions=(Extension.padding(20_000),),
    )
    wire = hello.to_bytes()
    assert wire[0] == 0x16 and int.from_bytes(wire[3:5], "big") == 2**14
    assert ClientHello.from_bytes(wire) == hello


@pytest.mark.parametrize(
    "kwargs",
    [
        {"random": bytes(31)},
        {"session_id": bytes(33)},
        {"cipher_suites": ()},
        {"cipher_suites": (0x10000,)},
        {"compression_methods": ()},
        {"extensions": (Extension(type=1), Extension(type=1))},
    ],
)
def test_client_hello_rejects_bad_fields(kwargs: dict[str, object]) -> None:
    fields: dict[str, object] = {"cipher_suites": (0x1301,), "random": bytes(32)} | kwargs
    with pytest.raises(ValueError):
        ClientHello(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x17\x03\x01\x00\x04\x01\x00\x00\x00",  # not a handshake record
        record(0x16, handshake(2, bytes(38)), 0x0301),  # a ServerHello
        RFC8448_CLIENT_HELLO_RECORD[:-1],  # truncated
        RFC8448_CLIENT_HELLO_RECORD + b"\x00",  # trailing byte
    ],
)
def test_client_hello_from_bytes_rejects_garbage(data: bytes) -> None:
    with pytest.raises(TlsWireError):
        ClientHello.from_bytes(data)


def test_client_hello_duplicate_extension_is_an_error() -> None:
    ext = Extension.extended_master_secret().to_bytes()
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += (2 * len(ext)).to_bytes(2, "big") + ext + ext
    with pytest.raises(TlsWireError, match="duplicate"):
        ClientHello.from_bytes(record(0x16, handshake(1, body), 0x0301))


def test_sslv2_client_hello_bytes() -> None:
    wire = build_sslv2_client_hello([0x010080, 0x0700C0], challenge=bytes(range(16)))
    assert wire == bytes.fromhex(
        "801f"  # 2-byte header, 31 bytes follow
        "01"  # CLIENT-HELLO
        "0002"  # SSLv2
        "0006" "0000" "0010"  # spec, session id and challenge lengths
        "010080" "0700c0"
        "000102030405060708090a0b0c0d0e0f"
    )  # fmt: skip
    with pytest.raises(ValueError):
        build_sslv2_client_hello([0x010080], challenge=bytes(8))


# --- reading: byte-exact vectors -------------------------------------------------------


@pytest.mark.parametrize("feed", FEEDERS)
def test_rfc8448_server_flight(feed: Callable[[bytes], list[Event]]) -> None:
    wire = (
        record(0x16, RFC8448_SERVER_HELLO)
        + record(0x14, b"\x01")
        + record(0x17, b"encrypted-extensions...")
    )
    events = feed(wire)
    assert len(events) == 3
    hello, ccs, opaque = events
    assert isinstance(hello, ServerHello)
    assert hello.version == 0x0303 and hello.record_version == 0x0303
    assert hello.random.hex().startswith("a6af06a4121860dc")
    assert hello.cipher_suite == 0x1301 and hello.compression_method == 0
    assert hello.selected_version == 0x0304 == hello.negotiated_version
    assert hello.key_share_group == 0x1D and hello.key_share == RFC8448_SERVER_KEY
    assert not hello.is_hello_retry_request and hello.downgrade_sentinel is None
    assert hello.renegotiation_info is None and not hello.extended_master_secret
    assert ccs == ChangeCipherSpec()
    assert opaque == OpaqueRecord(content_type=0x17, data=b"encrypted-extensions...")


def _tls12_server_hello(random: bytes = bytes(range(32))) -> bytes:
    extensions = (
        Extension.renegotiation_info().to_bytes()
        + Extension.extended_master_secret().to_bytes()
        + Extension.ec_point_formats().to_bytes()
    )
    body = (
        b"\x03\x03"
        + random
        + b"\x20"
        + bytes([0xAA]) * 32
        + b"\xc0\x2f"
        + b"\x00"
        + len(extensions).to_bytes(2, "big")
        + extensions
    )
    return handshake(2, body)


CERTS = (b"\x30\x03\x02\x01\x01", b"\x30\x03\x02\x01\x02")
ECDHE_PARAMS = b"\x03\x00\x1d\x20" + bytes(range(32)) + b"\x04\x03\x00\x02\xab\xcd"


def _tls12_flight() -> list[bytes]:
    cert_list = b"".join(len(c).to_bytes(3, "big") + c for c in CERTS)
    return [
        _tls12_server_hello(),
        handshake(11, len(cert_list).to_bytes(3, "big") + cert_list),
        handshake(12, ECDHE_PARAMS),
        handshake(14, b""),
    ]


EXPECTED_TLS12 = [
    ServerHello,
    Certificate(certificates=CERTS),
    ServerKeyExchange(body=ECDHE_PARAMS),
    ServerHelloDone(),
]


def _check_tls12(events: list[Event]) -> None:
    assert len(events) == 4
    hello = events[0]
    assert isinstance(hello, ServerHello)
    assert hello.version == 0x0303 == hello.negotiated_version and hello.selected_version is None
    assert hello.cipher_suite == 0xC02F and hello.session_id == bytes([0xAA]) * 32
    assert hello.renegotiation_info == b"" and hello.extended_master_secret
    assert hello.extension(ExtensionType.EC_POINT_FORMATS) == b"\x01\x00"
    assert events[1:] == EXPECTED_TLS12[1:]
    ske = events[2]
    assert isinstance(ske, ServerKeyExchange)
    params = ske.ecdh_params()
    assert params.curve_type == 3 and params.named_group == 29 and params.public == bytes(range(32))


@pytest.mark.parametrize("feed", FEEDERS)
def test_tls12_flight_in_one_record(feed: Callable[[bytes], list[Event]]) -> None:
    _check_tls12(feed(record(0x16, b"".join(_tls12_flight()))))


@pytest.mark.parametrize("feed", FEEDERS)
def test_tls12_flight_one_message_per_record(feed: Callable[[bytes], list[Event]]) -> None:
    _check_tls12(feed(b"".join(record(0x16, m) for m in _tls12_flight())))


@pytest.mark.parametrize("size", [1, 3, 7, 50])
def test_tls12_flight_fragmented_across_records(size: int) -> None:
    stream = b"".join(_tls12_flight())
    wire = b"".join(record(0x16, stream[i : i + size]) for i in range(0, len(stream), size))
    _check_tls12(feed_whole(wire))


def test_dhe_server_key_exchange_prime_size() -> None:
    prime = (1 << 1023) | 0x1F  # a 1024-bit value (primality is not the codec's business)
    body = b"".join(
        len(v).to_bytes(2, "big") + v for v in (prime.to_bytes(128, "big"), b"\x02", b"\x05" * 128)
    )
    params = ServerKeyExchange(body=body + b"\x04\x01\x00\x00").dh_params()
    assert params.prime_bits == 1024 and params.generator == b"\x02"
    with pytest.raises(TlsWireError):
        ServerKeyExchange(body=b"\x00\x80\x01").dh_params()
    with pytest.raises(TlsWireError):
        ServerKeyExchange(body=b"\x03\x00").ecdh_params()


def test_hello_retry_request_is_detected() -> None:
    extensions = b"\x00\x2b\x00\x02\x03\x04" + b"\x00\x33\x00\x02\x00\x17"
    body = (
        b"\x03\x03"
        + HELLO_RETRY_REQUEST_RANDOM
        + b"\x00\x13\x01\x00"
        + len(extensions).to_bytes(2, "big")
        + extensions
    )
    events = feed_bytewise(record(0x16, handshake(2, body)) + record(0x14, b"\x01"))
    hello = events[0]
    assert isinstance(hello, ServerHello)
    assert hello.is_hello_retry_request
    assert hello.key_share_group == 0x17 and hello.key_share is None
    assert hello.negotiated_version == 0x0304
    assert events[1:] == [ChangeCipherSpec()]


@pytest.mark.parametrize(("marker", "version"), [(1, TlsVersion.TLS1_2), (0, TlsVersion.TLS1_1)])
def test_downgrade_sentinel(marker: int, version: TlsVersion) -> None:
    random = bytes(24) + b"DOWNGRD" + bytes([marker])
    (hello, *_) = feed_whole(record(0x16, _tls12_server_hello(random)))
    assert isinstance(hello, ServerHello) and hello.downgrade_sentinel is version


@pytest.mark.parametrize("feed", FEEDERS)
def test_alerts_including_one_split_across_records(feed: Callable[[bytes], list[Event]]) -> None:
    wire = record(0x15, b"\x02\x28", 0x0301) + record(0x15, b"\x01") + record(0x15, b"\x00")
    events = feed(wire)
    assert events == [Alert(level=2, description=40), Alert(level=1, description=0)]
    assert isinstance(events[0], Alert)
    assert events[0].name == "handshake_failure" and events[0].fatal
    assert Alert(level=2, description=250).name == "unknown(250)"


def test_other_handshake_messages_and_eof() -> None:
    wire = record(0x16, handshake(13, b"\x01\x01\x00\x00\x00\x00") + handshake(0, b""))
    reader = RecordReader()
    reader.receive_data(wire)
    reader.receive_data(b"")
    assert drain(reader) == [
        HandshakeMessage(msg_type=13, body=b"\x01\x01\x00\x00\x00\x00"),
        HandshakeMessage(msg_type=0, body=b""),
        Closed(),
    ]
    assert reader.next_event() == Closed()
    with pytest.raises(RuntimeError):
        reader.receive_data(b"x")


def test_records_after_change_cipher_spec_are_opaque() -> None:
    wire = (
        record(0x14, b"\x01") + record(0x16, b"\x14\x00\x00\x0c" + bytes(12)) + record(0x15, b"ab")
    )
    assert feed_whole(wire) == [
        ChangeCipherSpec(),
        OpaqueRecord(content_type=0x16, data=b"\x14\x00\x00\x0c" + bytes(12)),
        OpaqueRecord(content_type=0x15, data=b"ab"),
    ]


def _sslv2_server_hello(cert: bytes, specs: list[int]) -> bytes:
    spec_bytes = b"".join(s.to_bytes(3, "big") for s in specs)
    body = (
        b"\x04\x00\x01\x00\x02"
        + len(cert).to_bytes(2, "big")
        + len(spec_bytes).to_bytes(2, "big")
        + b"\x00\x10"
        + cert
        + spec_bytes
        + bytes(range(16))
    )
    return (0x8000 | len(body)).to_bytes(2, "big") + body


@pytest.mark.parametrize("feed", FEEDERS)
def test_sslv2_server_hello(feed: Callable[[bytes], list[Event]]) -> None:
    cert = LabCA().issue(["mx.example"]).cert.public_bytes(Encoding.DER)
    events = feed(_sslv2_server_hello(cert, [0x010080, 0x0700C0]))
    assert events == [
        SSLv2ServerHello(
            session_id_hit=False,
            certificate_type=1,
            version=2,
            certificate=cert,
            cipher_specs=(0x010080, 0x0700C0),
            connection_id=bytes(range(16)),
        )
    ]


def test_sslv2_error() -> None:
    assert feed_whole(b"\x80\x03\x00\x00\x01") == [SSLv2Error(code=1)]


# --- reading: hostile input ------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "match"),
    [
        (b"220 mx.example ESMTP\r\n", "not a TLS record"),
        (b"HTTP/1.1 400 Bad Request\r\n", "not a TLS record"),
        (b"\x16\x02\x00\x00\x01\x00", "version"),
        (b"\x16\x03\x03\xff\xff", "exceeds"),  # refused before the body arrives
        (record(0x16, b"\x0b\xff\xff\xff"), "exceeds"),
        (record(0x14, b"\x02"), "ChangeCipherSpec"),
        (record(0x16, handshake(14, b"x")), "ServerHelloDone"),
        (record(0x16, handshake(2, bytes(10))), "truncated"),
        (record(0x16, handshake(11, b"\x00\x00\x03\x00\x00\x00")), "empty certificate"),
        (record(0x16, RFC8448_SERVER_HELLO + handshake(8, b"")), "TLS 1.3"),
        (b"\x80\x02\x07\x00", "unexpected message type"),
        (b"\x80\x05\x04\x00\x01\x00\x02", "truncated"),
    ],
)
def test_hostile_input_raises_tls_wire_error(wire: bytes, match: str) -> None:
    reader = RecordReader()
    reader.receive_data(wire)
    with pytest.raises(TlsWireError, match=match):
        drain(reader)
    # The error is sticky.
    with pytest.raises(TlsWireError, match=match):
        reader.next_event()


def test_duplicate_server_hello_extension() -> None:
    ext = b"\x00\x17\x00\x00"
    body = b"\x03\x03" + bytes(32) + b"\x00\xc0\x2f\x00" + b"\x00\x08" + ext + ext
    with pytest.raises(TlsWireError, match="duplicate"):
        feed_whole(record(0x16, handshake(2, body)))


def test_close_inside_a_record_is_an_error() -> None:
    reader = RecordReader()
    reader.receive_data(record(0x16, _tls12_server_hello())[:-3])
    assert reader.next_event() == NeedData()
    reader.receive_data(b"")
    with pytest.raises(TlsWireError, match="closed inside"):
        reader.next_event()


def test_tighter_bounds_are_honoured() -> None:
    reader = RecordReader(max_record_bytes=100, max_handshake_bytes=50)
    reader.receive_data(record(0x16, b"\x0b\x00\x00\x33"))  # 51-byte message announced
    with pytest.raises(TlsWireError, match="exceeds 50"):
        reader.next_event()
    reader = RecordReader(max_record_bytes=100)
    reader.receive_data(b"\x17\x03\x03\x00\x65")  # 101-byte record announced
    with pytest.raises(TlsWireError, match="exceeds 100"):
        reader.next_event()


def _check_reader_on(data: bytes, chunk: int, reader: RecordReader) -> None:
    try:
        for i in range(0, len(data), chunk):
            reader.receive_data(data[i : i + chunk])
            drain(reader)
            assert reader.buffered_bytes <= reader.max_buffered_bytes
        reader.receive_data(b"")
        drain(reader)
    except TlsWireError:
        pass


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=3000), chunk=st.integers(min_value=1, max_value=600))
def test_reader_raises_only_tls_wire_error_on_arbitrary_bytes(data: bytes, chunk: int) -> None:
    _check_reader_on(data, chunk, RecordReader(max_record_bytes=200, max_handshake_bytes=300))


_VALID_STREAM = (
    b"".join(record(0x16, m) for m in _tls12_flight())
    + record(0x15, b"\x02\x28")
    + record(0x16, RFC8448_SERVER_HELLO)
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    flips=st.lists(
        st.tuples(st.integers(0, len(_VALID_STREAM) - 1), st.integers(0, 255)), max_size=6
    ),
    cut=st.integers(0, len(_VALID_STREAM)),
    prefix=st.sampled_from([b"", b"\x80", b"\x15\x03\x03\x00\x02"]),
    chunk=st.integers(min_value=1, max_value=300),
)
def test_reader_on_mutated_flights(
    flips: list[tuple[int, int]], cut: int, prefix: bytes, chunk: int
) -> None:
    data = bytearray(_VALID_STREAM)
    for pos, value in flips:
        data[pos] = value
    _check_reader_on(prefix + bytes(data[:cut]), chunk, RecordReader())


@settings(max_examples=100, deadline=None)
@given(cuts=st.lists(st.integers(0, len(_VALID_STREAM)), max_size=20))
def test_any_segmentation_gives_the_same_events(cuts: list[int]) -> None:
    expected = feed_whole(_VALID_STREAM)
    reader = RecordReader()
    events: list[Event] = []
    bounds = [0, *sorted(cuts), len(_VALID_STREAM)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        if end > start:  # b"" would mean end of stream
            reader.receive_data(_VALID_STREAM[start:end])
            events += drain(reader)
    assert events == expected


_known_extension = st.one_of(
    st.from_regex(r"[a-z0-9]{1,20}(\.[a-z0-9]{1,20}){0,3}", fullmatch=True).map(
        Extension.server_name
    ),
    st.lists(st.integers(0, 0xFFFF), max_size=10).map(Extension.supported_groups),
    st.lists(st.integers(0, 0xFFFF), max_size=10).map(Extension.signature_algorithms),
    st.lists(st.integers(0, 0xFFFF), max_size=10).map(Extension.supported_versions),
    st.lists(
        st.builds(KeyShareEntry, group=st.integers(0, 0xFFFF), key_exchange=st.binary(max_size=70)),
        max_size=3,
    ).map(Extension.key_share),
)
_raw_extension = st.builds(
    Extension,
    type=st.integers(0, 0xFFFF).filter(lambda t: t not in {0, 10, 13, 43, 51}),
    data=st.binary(max_size=100),
)


@settings(max_examples=200, deadline=None)
@given(
    hello=st.builds(
        ClientHello,
        cipher_suites=st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=40).map(tuple),
        random=st.binary(min_size=32, max_size=32),
        version=st.integers(0, 0xFFFF),
        session_id=st.binary(max_size=32),
        compression_methods=st.lists(st.integers(0, 255), min_size=1, max_size=4).map(tuple),
        extensions=st.lists(
            st.one_of(_known_extension, _raw_extension), max_size=8, unique_by=lambda e: e.type
        ).map(tuple),
        record_version=st.integers(0x0300, 0x03FF),
    )
)
def test_client_hello_round_trip(hello: ClientHello) -> None:
    assert ClientHello.from_bytes(hello.to_bytes()) == hello


@settings(max_examples=300, deadline=None)
@given(
    flips=st.lists(
        st.tuples(st.integers(0, len(RFC8448_CLIENT_HELLO_RECORD) - 1), st.integers(0, 255)),
        min_size=1,
        max_size=4,
    ),
    cut=st.integers(0, len(RFC8448_CLIENT_HELLO_RECORD)),
)
def test_client_hello_from_bytes_raises_only_tls_wire_error(
    flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(RFC8448_CLIENT_HELLO_RECORD)
    for pos, value in flips:
        data[pos] = value
    try:
        hello = ClientHello.from_bytes(bytes(data[:cut]))
    except TlsWireError:
        return
    assert ClientHello.from_bytes(hello.to_bytes()) == hello


# --- real peers: Python's ssl (OpenSSL) on loopback --------------------------------------

TIMEOUT = 5.0


@pytest.fixture(scope="module")
def lab_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[bytes]]:
    issued = LabCA().issue(["mx.example"])
    crt, key = issued.write(tmp_path_factory.mktemp("tls_wire"), "mx")
    return crt, key, [c.public_bytes(Encoding.DER) for c in issued.chain]


def _server_context(
    lab_cert: tuple[Path, Path, list[bytes]], *, max_version: ssl.TLSVersion, ciphers: str
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(lab_cert[0], lab_cert[1])
    ctx.maximum_version = max_version
    ctx.set_ciphers(ciphers)
    return ctx


@pytest.fixture
def tls_server() -> Iterator[Callable[[ssl.SSLContext], int]]:
    """Starts blocking OpenSSL servers on 127.0.0.1:0, each in a thread; yields a starter.

    A blocking server rather than asyncio's: when a handshake fails, asyncio's SSL
    transport aborts without flushing the alert OpenSSL wrote, and the alert is
    exactly what one test needs to see.
    """
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def serve(listener: socket.socket, ctx: ssl.SSLContext) -> None:
        with listener:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                conn.settimeout(TIMEOUT)
                try:
                    ctx.wrap_socket(conn, server_side=True).close()
                except (ssl.SSLError, OSError):
                    pass  # the probe hangs up mid-handshake, by design
                finally:
                    conn.close()

    def start(ctx: ssl.SSLContext) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.05)
        thread = threading.Thread(target=serve, args=(listener, ctx), daemon=True)
        thread.start()
        threads.append(thread)
        port: int = listener.getsockname()[1]
        return port

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=TIMEOUT)


async def probe(port: int, hello: bytes, until: tuple[type, ...]) -> list[Event]:
    """Send ``hello`` over a plain socket; read events until one of ``until`` or close."""
    events: list[Event] = []
    async with asyncio.timeout(TIMEOUT):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(hello)
            await writer.drain()
            wire = RecordReader()
            for _ in range(1000):
                event = wire.next_event()
                if isinstance(event, NeedData):
                    wire.receive_data(await reader.read(4096))
                    continue
                events.append(event)
                if isinstance(event, (Closed, *until)):
                    break
        finally:
            writer.close()
    return events


async def test_real_tls12_server_answers_our_hello(
    tls_server: Callable[[ssl.SSLContext], int],
    lab_cert: tuple[Path, Path, list[bytes]],
) -> None:
    # Given an OpenSSL server limited to TLS 1.2 and one ECDSA suite
    ctx = _server_context(
        lab_cert, max_version=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-ECDSA-AES128-GCM-SHA256"
    )
    port = tls_server(ctx)
    # When we offer TLS 1.2 with several suites, that one among them
    hello = build_client_hello(
        TlsVersion.TLS1_2, [0xC02F, 0xC030, 0xC02B, 0x009C], server_name="mx.example"
    )
    events = await probe(port, hello.to_bytes(), (ServerHelloDone,))
    # Then the flight names it and carries the chain as sent
    kinds = [type(e) for e in events]
    assert kinds == [ServerHello, Certificate, ServerKeyExchange, ServerHelloDone]
    server_hello, certificate, ske = events[0], events[1], events[2]
    assert isinstance(server_hello, ServerHello)
    assert server_hello.negotiated_version == TlsVersion.TLS1_2
    assert server_hello.cipher_suite == 0xC02B
    assert server_hello.renegotiation_info == b""
    assert server_hello.extended_master_secret
    assert isinstance(certificate, Certificate)
    assert list(certificate.certificates) == lab_cert[2]
    assert isinstance(ske, ServerKeyExchange)
    assert ske.ecdh_params().named_group in hello.supported_groups


async def test_real_tls13_server_answers_our_hello(
    tls_server: Callable[[ssl.SSLContext], int],
    lab_cert: tuple[Path, Path, list[bytes]],
) -> None:
    ctx = _server_context(lab_cert, max_version=ssl.TLSVersion.TLSv1_3, ciphers="DEFAULT")
    port = tls_server(ctx)
    for suite in (0x1302, 0x1303):
        hello = build_client_hello(TlsVersion.TLS1_3, [suite], server_name="mx.example")
        events = await probe(port, hello.to_bytes(), (ServerHello,))
        (server_hello,) = events
        assert isinstance(server_hello, ServerHello)
        assert server_hello.negotiated_version == TlsVersion.TLS1_3
        assert server_hello.version == TlsVersion.TLS1_2  # legacy_version
        assert server_hello.cipher_suite == suite
        assert server_hello.key_share_group == NamedGroupCode.X25519
        assert server_hello.key_share is not None and len(server_hello.key_share) == 32
        assert server_hello.session_id == hello.session_id  # echoed (RFC 8446 §4.1.3)


async def test_real_tls13_server_asks_for_a_key_share(
    tls_server: Callable[[ssl.SSLContext], int],
    lab_cert: tuple[Path, Path, list[bytes]],
) -> None:
    ctx = _server_context(lab_cert, max_version=ssl.TLSVersion.TLSv1_3, ciphers="DEFAULT")
    port = tls_server(ctx)
    hello = build_client_hello(
        TlsVersion.TLS1_3, [0x1301], groups=[NamedGroupCode.SECP384R1], key_share_groups=[]
    )
    (retry,) = await probe(port, hello.to_bytes(), (ServerHello,))
    assert isinstance(retry, ServerHello)
    assert retry.is_hello_retry_request
    assert retry.key_share_group == NamedGroupCode.SECP384R1


async def test_real_server_refuses_suites_it_lacks_with_an_alert(
    tls_server: Callable[[ssl.SSLContext], int],
    lab_cert: tuple[Path, Path, list[bytes]],
) -> None:
    ctx = _server_context(
        lab_cert, max_version=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-ECDSA-AES128-GCM-SHA256"
    )
    port = tls_server(ctx)
    hello = build_client_hello(TlsVersion.TLS1_2, [0x0005, 0x000A, 0x009C])  # RC4, 3DES, RSA
    events = await probe(port, hello.to_bytes(), (Alert,))
    assert events == [Alert(level=2, description=40)]  # fatal handshake_failure


async def test_real_server_refuses_sslv2(
    tls_server: Callable[[ssl.SSLContext], int],
    lab_cert: tuple[Path, Path, list[bytes]],
) -> None:
    ctx = _server_context(lab_cert, max_version=ssl.TLSVersion.TLSv1_3, ciphers="DEFAULT")
    port = tls_server(ctx)
    events = await probe(port, build_sslv2_client_hello([0x010080, 0x0700C0]), (Alert,))
    # A current OpenSSL never answers SSLv2 with an SSLv2 SERVER-HELLO.
    assert events and isinstance(events[-1], Alert | Closed)
    assert not any(isinstance(e, SSLv2ServerHello) for e in events)
