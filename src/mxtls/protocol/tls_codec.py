"""TLS wire primitives shared by the ClientHello builder and the record reader.

Framing constants and their bounds, the bounds-checked read cursor, length-
prefixed vector encoding and the extension codec.  Sans-I/O like the rest of
``mxtls.protocol``: see :mod:`mxtls.protocol.tls_wire` for the theory of
operation.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mxtls.protocol.tls_registry import (
    ExtensionType,
    TlsVersion,
)

MAX_RECORD_BYTES = 2**14 + 2048  # RFC 5246 §6.2.3: TLSCiphertext.length limit
MAX_PLAINTEXT_FRAGMENT_BYTES = 2**14  # RFC 8446 §5.1: what we put in one record
MAX_HANDSHAKE_MESSAGE_BYTES = 128 * 1024  # above OpenSSL's 100 KiB default max_cert_list
MAX_SSL2_RECORD_BYTES = 2**15 - 1  # SSL 2.0 draft: 15-bit length in the 2-byte header
OFFENDING_MAX_BYTES = 80  # input kept in an error, for the observation's detail

# RFC 8446 §4.1.3: a HelloRetryRequest is a ServerHello with this random (SHA-256 of
# "HelloRetryRequest"), and a TLS 1.3 server negotiating less ends its random with
# "DOWNGRD" + 01 (TLS 1.2) or 00 (TLS 1.1 and below).
HELLO_RETRY_REQUEST_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
)
DOWNGRADE_SENTINELS = {
    b"DOWNGRD\x01": TlsVersion.TLS1_2,
    b"DOWNGRD\x00": TlsVersion.TLS1_1,
}

CT_CHANGE_CIPHER_SPEC = 20
CT_ALERT = 21
CT_HANDSHAKE = 22
CT_APPLICATION_DATA = 23
CT_HEARTBEAT = 24
CONTENT_TYPES = frozenset({20, 21, 22, 23, 24})

HS_CLIENT_HELLO = 1
HS_SERVER_HELLO = 2
HS_CERTIFICATE = 11
HS_SERVER_KEY_EXCHANGE = 12
HS_SERVER_HELLO_DONE = 14

SSL2_MT_ERROR = 0
SSL2_MT_CLIENT_HELLO = 1
SSL2_MT_SERVER_HELLO = 4


class TlsWireError(Exception):
    """The peer sent something that is not well-formed TLS (or SSLv2).

    ``offending`` holds up to 80 bytes of the input around the problem, for the
    observation's detail field.
    """

    def __init__(self, message: str, offending: bytes = b"") -> None:
        super().__init__(message)
        self.offending = bytes(offending[:OFFENDING_MAX_BYTES])


class Cursor:
    """Reads big-endian integers and length-prefixed vectors, raising TlsWireError."""

    __slots__ = ("_data", "_pos", "_what")

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._pos = 0
        self._what = what

    def _fail(self, problem: str) -> TlsWireError:
        return TlsWireError(
            f"{self._what}: {problem} at offset {self._pos}",
            self._data[self._pos : self._pos + OFFENDING_MAX_BYTES],
        )

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, n: int) -> bytes:
        if n > self.remaining:
            raise self._fail(f"truncated (need {n} bytes, have {self.remaining})")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def vector(self, size: int) -> bytes:
        return self.take(self.uint(size))

    def u16_list(self, size: int) -> tuple[int, ...]:
        raw = self.vector(size)
        if len(raw) % 2:
            raise self._fail("odd-length list of 16-bit values")
        return tuple(v for (v,) in struct.iter_unpack(">H", raw))

    def done(self) -> None:
        if self.remaining:
            raise self._fail(f"{self.remaining} trailing bytes")


def u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def u24(value: int) -> bytes:
    return value.to_bytes(3, "big")


def vec(size: int, body: bytes) -> bytes:
    if len(body) >= 1 << (8 * size):
        raise ValueError(f"vector of {len(body)} bytes does not fit a {size}-byte length")
    return len(body).to_bytes(size, "big") + body


def u16s(values: Sequence[int]) -> bytes:
    return b"".join(u16(v) for v in values)


# --- extensions ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyShareEntry:
    """One key_share entry: a group and the client's public value for it."""

    group: int
    key_exchange: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Extension:
    """One hello extension as it appears on the wire (type and opaque body).

    The static constructors encode the bodies the codec knows; anything else
    (GREASE, experiments) is built with ``Extension(type=..., data=...)``.
    """

    type: int
    data: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.type <= 0xFFFF or len(self.data) > 0xFFFF:
            raise ValueError(f"extension {self.type}: type or length out of range")

    def to_bytes(self) -> bytes:
        """The extension as type, length and body."""
        return u16(self.type) + vec(2, self.data)

    @staticmethod
    def server_name(host: str) -> Extension:
        """SNI with one host_name (RFC 6066 §3); ``host`` is an A-label."""
        name = host.encode("ascii")
        return Extension(type=ExtensionType.SERVER_NAME, data=vec(2, b"\x00" + vec(2, name)))

    @staticmethod
    def supported_groups(groups: Sequence[int]) -> Extension:
        """Named groups in preference order (RFC 8422 §5.1.1, RFC 8446 §4.2.7)."""
        return Extension(type=ExtensionType.SUPPORTED_GROUPS, data=vec(2, u16s(groups)))

    @staticmethod
    def ec_point_formats(formats: Sequence[int] = (0,)) -> Extension:
        """EC point formats; 0 is uncompressed (RFC 8422 §5.1.2)."""
        return Extension(type=ExtensionType.EC_POINT_FORMATS, data=vec(1, bytes(formats)))

    @staticmethod
    def signature_algorithms(schemes: Sequence[int]) -> Extension:
        """Signature schemes in preference order (RFC 8446 §4.2.3)."""
        return Extension(type=ExtensionType.SIGNATURE_ALGORITHMS, data=vec(2, u16s(schemes)))

    @staticmethod
    def supported_versions(versions: Sequence[int]) -> Extension:
        """Client supported_versions (RFC 8446 §4.2.1)."""
        return Extension(type=ExtensionType.SUPPORTED_VERSIONS, data=vec(1, u16s(versions)))

    @staticmethod
    def key_share(entries: Sequence[KeyShareEntry]) -> Extension:
        """Client key_share (RFC 8446 §4.2.8); an empty list asks for a HelloRetryRequest."""
        body = b"".join(u16(e.group) + vec(2, e.key_exchange) for e in entries)
        return Extension(type=ExtensionType.KEY_SHARE, data=vec(2, body))

    @staticmethod
    def renegotiation_info(renegotiated_connection: bytes = b"") -> Extension:
        """renegotiation_info; empty on an initial handshake (RFC 5746 §3.2)."""
        return Extension(
            type=ExtensionType.RENEGOTIATION_INFO, data=vec(1, renegotiated_connection)
        )

    @staticmethod
    def extended_master_secret() -> Extension:
        """Extended Master Secret, empty body (RFC 7627 §5.1)."""
        return Extension(type=ExtensionType.EXTENDED_MASTER_SECRET)

    @staticmethod
    def session_ticket(ticket: bytes = b"") -> Extension:
        """SessionTicket; empty asks for a new ticket (RFC 5077 §3.2)."""
        return Extension(type=ExtensionType.SESSION_TICKET, data=ticket)

    @staticmethod
    def status_request() -> Extension:
        """OCSP status_request with no responder ids or extensions (RFC 6066 §8)."""
        return Extension(type=ExtensionType.STATUS_REQUEST, data=b"\x01\x00\x00\x00\x00")

    @staticmethod
    def heartbeat(mode: int = 1) -> Extension:
        """Heartbeat; mode 1 = peer_allowed_to_send (RFC 6520 §2)."""
        return Extension(type=ExtensionType.HEARTBEAT, data=bytes([mode]))

    @staticmethod
    def alpn(protocols: Sequence[str]) -> Extension:
        """ALPN protocol names (RFC 7301 §3.1)."""
        body = b"".join(vec(1, p.encode("ascii")) for p in protocols)
        return Extension(type=ExtensionType.ALPN, data=vec(2, body))

    @staticmethod
    def psk_key_exchange_modes(modes: Sequence[int] = (1,)) -> Extension:
        """PSK modes; 1 = psk_dhe_ke (RFC 8446 §4.2.9)."""
        return Extension(type=ExtensionType.PSK_KEY_EXCHANGE_MODES, data=vec(1, bytes(modes)))

    @staticmethod
    def padding(length: int) -> Extension:
        """``length`` zero bytes of padding (RFC 7685 §3)."""
        return Extension(type=ExtensionType.PADDING, data=bytes(length))


def decode_server_name(data: bytes) -> str | None:
    outer = Cursor(data, "server_name")
    names = Cursor(outer.vector(2), "server_name list")
    outer.done()
    found: str | None = None
    while names.remaining:
        kind, name = names.uint(1), names.vector(2)
        if kind == 0 and found is None:
            try:
                found = name.decode("ascii")
            except UnicodeDecodeError:
                raise TlsWireError("server_name: host_name is not ASCII", name) from None
    return found


def decode_u16_list(data: bytes, size: int, what: str) -> tuple[int, ...]:
    cur = Cursor(data, what)
    values = cur.u16_list(size)
    cur.done()
    return values


def decode_client_key_share(data: bytes) -> tuple[KeyShareEntry, ...]:
    outer = Cursor(data, "key_share")
    cur = Cursor(outer.vector(2), "key_share entries")
    outer.done()
    entries = []
    while cur.remaining:
        entries.append(KeyShareEntry(group=cur.uint(2), key_exchange=cur.vector(2)))
    return tuple(entries)


# Bodies validated when a ClientHello is parsed, so its accessors cannot fail later.
CLIENT_EXTENSION_DECODERS: dict[int, Callable[[bytes], object]] = {
    ExtensionType.SERVER_NAME: decode_server_name,
    ExtensionType.SUPPORTED_GROUPS: lambda d: decode_u16_list(d, 2, "supported_groups"),
    ExtensionType.SIGNATURE_ALGORITHMS: lambda d: decode_u16_list(d, 2, "signature_algorithms"),
    ExtensionType.SUPPORTED_VERSIONS: lambda d: decode_u16_list(d, 1, "supported_versions"),
    ExtensionType.KEY_SHARE: decode_client_key_share,
}


def parse_extensions(cur: Cursor, what: str) -> tuple[Extension, ...]:
    """The optional extensions block ending a hello; duplicates are an error."""
    if not cur.remaining:
        return ()
    block = Cursor(cur.vector(2), f"{what} extensions")
    cur.done()
    seen: set[int] = set()
    out = []
    while block.remaining:
        ext_type, data = block.uint(2), block.vector(2)
        if ext_type in seen:  # RFC 8446 §4.2, RFC 5246 §7.4.1.4
            raise TlsWireError(f"{what}: duplicate extension {ext_type}", u16(ext_type))
        seen.add(ext_type)
        out.append(Extension(type=ext_type, data=data))
    return tuple(out)
