"""Regression (issue 8, defect 4): ``ClientHello.from_bytes`` in linear time.

The reader rebuilt the message with ``bytes +=`` once per record, so input
cut into one-byte records cost time quadratic in its length (1.2 MB on the
wire took 2.2 s).  The codec-level test is enough here: no network path
feeds a ClientHello to mxtls (only its own hellos and the lab's are parsed).
"""

from __future__ import annotations

import pytest

from mxtls.protocol.tls_registry import TlsVersion
from mxtls.protocol.tls_wire import ClientHello, TlsWireError, build_client_hello

from ..fuzz.linear import assert_linear

BASE_RECORDS = 25_000  # 1x; 16x is 400,000 one-byte records (2.4 MB)
# The quadratic copy only dominates once the message outgrows the CPU caches, so
# this test allows 40x at 16x (linear measures ~16x, the old code ~58x).
SLACK = 2.5
RECORD_HEADER = b"\x16\x03\x01\x00\x01"  # handshake, TLS 1.0, one byte of fragment


def one_byte_records(message: bytes) -> bytes:
    return b"".join(RECORD_HEADER + message[i : i + 1] for i in range(len(message)))


def hello() -> ClientHello:
    return build_client_hello(TlsVersion.TLS1_2, [0x1301, 0xC02F], pad=False)


def parse(data: bytes) -> None:
    with pytest.raises(TlsWireError):
        ClientHello.from_bytes(data)


def test_one_byte_records_round_trip() -> None:
    ch = hello()
    assert ClientHello.from_bytes(one_byte_records(ch.handshake_bytes())) == ch


def test_from_bytes_is_linear_in_the_number_of_records() -> None:
    # A hello followed by junk, one byte per record: every record is read
    # before the trailing bytes are refused.
    message = hello().handshake_bytes()

    def records(scale: int) -> bytes:
        size = BASE_RECORDS * scale
        return one_byte_records(message + b"\x00" * (size - len(message)))

    assert_linear(parse, records, "ClientHello.from_bytes over one-byte records", slack=SLACK)
