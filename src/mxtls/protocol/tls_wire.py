"""TLS wire codec: crafted ClientHellos out, the server's first flight in.

Theory of operation
-------------------
A deep scan asks a server one question per connection: "of these versions, suites
and groups, which would you pick?"  It sends one hand-built ClientHello and reads
the answer, a ServerHello (and, for TLS <= 1.2, the rest of the plaintext flight:
Certificate, ServerKeyExchange, ServerHelloDone) or an Alert, and then hangs up.
No key is ever derived and nothing is decrypted, so the scan works for protocols
and suites the local OpenSSL no longer implements (SSLv2, SSLv3, EXPORT, RC4...),
the way testssl.sh's socket mode does.

This module is sans-I/O: bytes in, bytes or events out; no socket, no clock.

* **Out.**  :class:`ClientHello` is an immutable value; ``to_bytes()`` frames it as
  one (or, past 2^14 bytes, several) handshake records and ``from_bytes()`` parses
  it back, so ``ClientHello.from_bytes(ch.to_bytes()) == ch``.  Extensions are an
  ordered tuple of raw :class:`Extension` values, built by the ``Extension.*``
  constructors, so unknown or GREASE extensions and any order can be expressed and
  the RFC 8448 hello round-trips byte for byte.  :func:`build_client_hello` makes a
  typical hello for one protocol version; :func:`build_sslv2_client_hello` makes
  the SSLv2 CLIENT-HELLO used to detect SSLv2.
* **In.**  :class:`RecordReader` is fed with ``receive_data()`` (``b""`` means the
  peer closed) and drained with ``next_event()``, which returns one event at a time
  and :class:`NeedData` when it needs more bytes.  The first byte decides the
  framing: SSLv2 records have the high bit set, TLS content types never do.
  Handshake messages are reassembled across records, and several messages may
  share one record.  After a ChangeCipherSpec (TLS <= 1.2) or a TLS 1.3
  ServerHello, further records are encrypted and surface as :class:`OpaqueRecord`.
* **Bounds.**  A record longer than ``max_record_bytes`` (default 2^14 + 2048, the
  TLSCiphertext limit) or a handshake message longer than ``max_handshake_bytes``
  is refused before it is buffered, so after ``next_event()`` has returned
  :class:`NeedData` the reader holds less than one record plus one message.
* **Errors.**  Anything the peer sends that is not well-formed raises
  :class:`TlsWireError`; after that the reader is in an error state and raises the
  same error again.  Nothing else escapes ``next_event()``.  Misuse by the caller
  (a 31-byte random, feeding data after EOF) raises ``ValueError``/``RuntimeError``.
"""

from __future__ import annotations

import os
import struct
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

from mxtls.protocol.tls_registry import (
    ALERT_DESCRIPTIONS,
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
    AlertLevel,
    ExtensionType,
    NamedGroupCode,
    TlsVersion,
)

MAX_RECORD_BYTES = 2**14 + 2048  # RFC 5246 §6.2.3: TLSCiphertext.length limit
MAX_PLAINTEXT_FRAGMENT_BYTES = 2**14  # RFC 8446 §5.1: what we put in one record
MAX_HANDSHAKE_MESSAGE_BYTES = 128 * 1024  # above OpenSSL's 100 KiB default max_cert_list
MAX_SSL2_RECORD_BYTES = 2**15 - 1  # SSL 2.0 draft: 15-bit length in the 2-byte header

# RFC 8446 §4.1.3: a HelloRetryRequest is a ServerHello with this random (SHA-256 of
# "HelloRetryRequest"), and a TLS 1.3 server negotiating less ends its random with
# "DOWNGRD" + 01 (TLS 1.2) or 00 (TLS 1.1 and below).
HELLO_RETRY_REQUEST_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
)
_DOWNGRADE_SENTINELS = {
    b"DOWNGRD\x01": TlsVersion.TLS1_2,
    b"DOWNGRD\x00": TlsVersion.TLS1_1,
}

_CT_CHANGE_CIPHER_SPEC = 20
_CT_ALERT = 21
_CT_HANDSHAKE = 22
_CT_APPLICATION_DATA = 23
_CT_HEARTBEAT = 24
_CONTENT_TYPES = frozenset({20, 21, 22, 23, 24})

_HS_CLIENT_HELLO = 1
_HS_SERVER_HELLO = 2
_HS_CERTIFICATE = 11
_HS_SERVER_KEY_EXCHANGE = 12
_HS_SERVER_HELLO_DONE = 14

_SSL2_MT_ERROR = 0
_SSL2_MT_CLIENT_HELLO = 1
_SSL2_MT_SERVER_HELLO = 4


class TlsWireError(Exception):
    """The peer sent something that is not well-formed TLS (or SSLv2).

    ``offending`` holds up to 80 bytes of the input around the problem, for the
    observation's detail field.
    """

    def __init__(self, message: str, offending: bytes = b"") -> None:
        super().__init__(message)
        self.offending = bytes(offending[:80])


class _Cursor:
    """Reads big-endian integers and length-prefixed vectors, raising TlsWireError."""

    __slots__ = ("_data", "_pos", "_what")

    def __init__(self, data: bytes, what: str) -> None:
        self._data = data
        self._pos = 0
        self._what = what

    def _fail(self, problem: str) -> TlsWireError:
        return TlsWireError(
            f"{self._what}: {problem} at offset {self._pos}", self._data[self._pos :]
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


def _u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def _u24(value: int) -> bytes:
    return value.to_bytes(3, "big")


def _vec(size: int, body: bytes) -> bytes:
    if len(body) >= 1 << (8 * size):
        raise ValueError(f"vector of {len(body)} bytes does not fit a {size}-byte length")
    return len(body).to_bytes(size, "big") + body


def _u16s(values: Sequence[int]) -> bytes:
    return b"".join(_u16(v) for v in values)


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
        return _u16(self.type) + _vec(2, self.data)

    @staticmethod
    def server_name(host: str) -> Extension:
        """SNI with one host_name (RFC 6066 §3); ``host`` is an A-label."""
        name = host.encode("ascii")
        return Extension(type=ExtensionType.SERVER_NAME, data=_vec(2, b"\x00" + _vec(2, name)))

    @staticmethod
    def supported_groups(groups: Sequence[int]) -> Extension:
        """Named groups in preference order (RFC 8422 §5.1.1, RFC 8446 §4.2.7)."""
        return Extension(type=ExtensionType.SUPPORTED_GROUPS, data=_vec(2, _u16s(groups)))

    @staticmethod
    def ec_point_formats(formats: Sequence[int] = (0,)) -> Extension:
        """EC point formats; 0 is uncompressed (RFC 8422 §5.1.2)."""
        return Extension(type=ExtensionType.EC_POINT_FORMATS, data=_vec(1, bytes(formats)))

    @staticmethod
    def signature_algorithms(schemes: Sequence[int]) -> Extension:
        """Signature schemes in preference order (RFC 8446 §4.2.3)."""
        return Extension(type=ExtensionType.SIGNATURE_ALGORITHMS, data=_vec(2, _u16s(schemes)))

    @staticmethod
    def supported_versions(versions: Sequence[int]) -> Extension:
        """Client supported_versions (RFC 8446 §4.2.1)."""
        return Extension(type=ExtensionType.SUPPORTED_VERSIONS, data=_vec(1, _u16s(versions)))

    @staticmethod
    def key_share(entries: Sequence[KeyShareEntry]) -> Extension:
        """Client key_share (RFC 8446 §4.2.8); an empty list asks for a HelloRetryRequest."""
        body = b"".join(_u16(e.group) + _vec(2, e.key_exchange) for e in entries)
        return Extension(type=ExtensionType.KEY_SHARE, data=_vec(2, body))

    @staticmethod
    def renegotiation_info(renegotiated_connection: bytes = b"") -> Extension:
        """renegotiation_info; empty on an initial handshake (RFC 5746 §3.2)."""
        return Extension(
            type=ExtensionType.RENEGOTIATION_INFO, data=_vec(1, renegotiated_connection)
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
        body = b"".join(_vec(1, p.encode("ascii")) for p in protocols)
        return Extension(type=ExtensionType.ALPN, data=_vec(2, body))

    @staticmethod
    def psk_key_exchange_modes(modes: Sequence[int] = (1,)) -> Extension:
        """PSK modes; 1 = psk_dhe_ke (RFC 8446 §4.2.9)."""
        return Extension(type=ExtensionType.PSK_KEY_EXCHANGE_MODES, data=_vec(1, bytes(modes)))

    @staticmethod
    def encrypt_then_mac() -> Extension:
        """Encrypt-then-MAC, empty body (RFC 7366 §2)."""
        return Extension(type=ExtensionType.ENCRYPT_THEN_MAC)

    @staticmethod
    def padding(length: int) -> Extension:
        """``length`` zero bytes of padding (RFC 7685 §3)."""
        return Extension(type=ExtensionType.PADDING, data=bytes(length))


def _decode_server_name(data: bytes) -> str | None:
    outer = _Cursor(data, "server_name")
    names = _Cursor(outer.vector(2), "server_name list")
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


def _decode_u16_list(data: bytes, size: int, what: str) -> tuple[int, ...]:
    cur = _Cursor(data, what)
    values = cur.u16_list(size)
    cur.done()
    return values


def _decode_client_key_share(data: bytes) -> tuple[KeyShareEntry, ...]:
    outer = _Cursor(data, "key_share")
    cur = _Cursor(outer.vector(2), "key_share entries")
    outer.done()
    entries = []
    while cur.remaining:
        entries.append(KeyShareEntry(group=cur.uint(2), key_exchange=cur.vector(2)))
    return tuple(entries)


# Bodies validated when a ClientHello is parsed, so its accessors cannot fail later.
_CLIENT_EXTENSION_DECODERS: dict[int, Callable[[bytes], object]] = {
    ExtensionType.SERVER_NAME: _decode_server_name,
    ExtensionType.SUPPORTED_GROUPS: lambda d: _decode_u16_list(d, 2, "supported_groups"),
    ExtensionType.SIGNATURE_ALGORITHMS: lambda d: _decode_u16_list(d, 2, "signature_algorithms"),
    ExtensionType.SUPPORTED_VERSIONS: lambda d: _decode_u16_list(d, 1, "supported_versions"),
    ExtensionType.KEY_SHARE: _decode_client_key_share,
}


def _parse_extensions(cur: _Cursor, what: str) -> tuple[Extension, ...]:
    """The optional extensions block ending a hello; duplicates are an error."""
    if not cur.remaining:
        return ()
    block = _Cursor(cur.vector(2), f"{what} extensions")
    cur.done()
    seen: set[int] = set()
    out = []
    while block.remaining:
        ext_type, data = block.uint(2), block.vector(2)
        if ext_type in seen:  # RFC 8446 §4.2, RFC 5246 §7.4.1.4
            raise TlsWireError(f"{what}: duplicate extension {ext_type}", _u16(ext_type))
        seen.add(ext_type)
        out.append(Extension(type=ext_type, data=data))
    return tuple(out)


# --- ClientHello -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientHello:
    """A ClientHello, as bytes we send (or a peer sent).

    ``version`` is the legacy_version field (0x0303 for TLS 1.3, whose real offer is
    the supported_versions extension); ``record_version`` is the version in the
    record header, 0x0301 by default because some servers reject a hello whose
    record says more than TLS 1.0.  An empty ``extensions`` tuple omits the
    extensions block, as SSLv3 clients did.

    Raises:
        ValueError: a field is out of range (wrong random length, >32-byte session
            id, no cipher suites, duplicate extension types...).
    """

    cipher_suites: tuple[int, ...]
    random: bytes
    version: int = TlsVersion.TLS1_2
    session_id: bytes = b""
    compression_methods: tuple[int, ...] = (0,)
    extensions: tuple[Extension, ...] = ()
    record_version: int = TlsVersion.TLS1_0

    def __post_init__(self) -> None:
        if len(self.random) != 32:
            raise ValueError("random must be 32 bytes")
        if len(self.session_id) > 32:
            raise ValueError("session_id is at most 32 bytes")
        if not 1 <= len(self.cipher_suites) <= 0x7FFF:
            raise ValueError("offer between 1 and 32767 cipher suites")
        if not 1 <= len(self.compression_methods) <= 0xFF:
            raise ValueError("offer between 1 and 255 compression methods")
        if any(not 0 <= c <= 0xFFFF for c in self.cipher_suites):
            raise ValueError("cipher suite code out of range")
        if any(not 0 <= c <= 0xFF for c in self.compression_methods):
            raise ValueError("compression method out of range")
        if not (0 <= self.version <= 0xFFFF and 0 <= self.record_version <= 0xFFFF):
            raise ValueError("version out of range")
        types = [e.type for e in self.extensions]
        if len(set(types)) != len(types):
            raise ValueError("duplicate extension type")

    def handshake_bytes(self) -> bytes:
        """The handshake message (type, 24-bit length, body) without record framing."""
        body = (
            _u16(self.version)
            + self.random
            + _vec(1, self.session_id)
            + _vec(2, _u16s(self.cipher_suites))
            + _vec(1, bytes(self.compression_methods))
        )
        if self.extensions:
            body += _vec(2, b"".join(e.to_bytes() for e in self.extensions))
        return bytes([_HS_CLIENT_HELLO]) + _u24(len(body)) + body

    def to_bytes(self) -> bytes:
        """The hello as handshake record(s), ready to write to the socket."""
        message = self.handshake_bytes()
        header = bytes([_CT_HANDSHAKE]) + _u16(self.record_version)
        return b"".join(
            header + _vec(2, message[i : i + MAX_PLAINTEXT_FRAGMENT_BYTES])
            for i in range(0, len(message), MAX_PLAINTEXT_FRAGMENT_BYTES)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ClientHello:
        """Parse one ClientHello in handshake records (the inverse of :meth:`to_bytes`).

        Raises:
            TlsWireError: not exactly one well-formed ClientHello.
        """
        cur = _Cursor(data, "ClientHello record")
        record_version: int | None = None
        message = b""
        while cur.remaining:
            if cur.uint(1) != _CT_HANDSHAKE:
                raise TlsWireError("ClientHello: not a handshake record", data[:5])
            version = cur.uint(2)
            record_version = version if record_version is None else record_version
            message += cur.vector(2)
        msg = _Cursor(message, "ClientHello")
        if record_version is None or msg.uint(1) != _HS_CLIENT_HELLO:
            raise TlsWireError("ClientHello: not a ClientHello message", message[:4])
        body = _Cursor(msg.vector(3), "ClientHello")
        msg.done()
        legacy_version = body.uint(2)
        random = body.take(32)
        session_id = body.vector(1)
        if len(session_id) > 32:
            raise TlsWireError("ClientHello: session_id longer than 32 bytes", session_id)
        suites = body.u16_list(2)
        compression = tuple(body.vector(1))
        if not suites or not compression:
            raise TlsWireError("ClientHello: empty cipher suite or compression list")
        extensions = _parse_extensions(body, "ClientHello")
        for ext in extensions:
            decoder = _CLIENT_EXTENSION_DECODERS.get(ext.type)
            if decoder is not None:
                decoder(ext.data)
        return cls(
            cipher_suites=suites,
            random=random,
            version=legacy_version,
            session_id=session_id,
            compression_methods=compression,
            extensions=extensions,
            record_version=record_version,
        )

    def extension(self, ext_type: int) -> bytes | None:
        """The body of extension ``ext_type``, or None if absent."""
        return next((e.data for e in self.extensions if e.type == ext_type), None)

    @property
    def server_name(self) -> str | None:
        """The SNI host name, if any."""
        data = self.extension(ExtensionType.SERVER_NAME)
        return None if data is None else _decode_server_name(data)

    @property
    def supported_groups(self) -> tuple[int, ...]:
        """Offered groups, in order (empty if the extension is absent)."""
        data = self.extension(ExtensionType.SUPPORTED_GROUPS)
        return () if data is None else _decode_u16_list(data, 2, "supported_groups")

    @property
    def signature_algorithms(self) -> tuple[int, ...]:
        """Offered signature schemes, in order."""
        data = self.extension(ExtensionType.SIGNATURE_ALGORITHMS)
        return () if data is None else _decode_u16_list(data, 2, "signature_algorithms")

    @property
    def supported_versions(self) -> tuple[int, ...]:
        """Versions in supported_versions (empty: the offer is ``version`` alone)."""
        data = self.extension(ExtensionType.SUPPORTED_VERSIONS)
        return () if data is None else _decode_u16_list(data, 1, "supported_versions")

    @property
    def key_shares(self) -> tuple[KeyShareEntry, ...]:
        """The key_share entries, in order."""
        data = self.extension(ExtensionType.KEY_SHARE)
        return () if data is None else _decode_client_key_share(data)


DEFAULT_GROUPS: tuple[int, ...] = (
    NamedGroupCode.X25519,
    NamedGroupCode.SECP256R1,
    NamedGroupCode.X448,
    NamedGroupCode.SECP521R1,
    NamedGroupCode.SECP384R1,
    NamedGroupCode.FFDHE2048,
    NamedGroupCode.FFDHE3072,
)
"""Groups offered unless the caller says otherwise: what current clients send."""

DEFAULT_SIGNATURE_ALGORITHMS: tuple[int, ...] = (
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806,
    0x0809, 0x080A, 0x080B, 0x0401, 0x0501, 0x0601, 0x0303, 0x0301,
    0x0203, 0x0201, 0x0402, 0x0202,
)  # fmt: skip
"""Signature schemes offered: modern first, SHA-1 last so old servers still answer."""


def generate_key_share(group: int) -> bytes:
    """A fresh, valid public key for ``group`` (the private half is discarded).

    A scan never finishes the handshake, but a server checks that the share is
    well-formed before it answers, so random bytes would draw illegal_parameter.

    Raises:
        ValueError: no generator for this group (FFDHE, brainpool...); offer it
            without a share and let the server ask with a HelloRetryRequest.
    """
    curves: dict[int, ec.EllipticCurve] = {
        NamedGroupCode.SECP256R1: ec.SECP256R1(),
        NamedGroupCode.SECP384R1: ec.SECP384R1(),
        NamedGroupCode.SECP521R1: ec.SECP521R1(),
    }
    if group == NamedGroupCode.X25519:
        return x25519.X25519PrivateKey.generate().public_key().public_bytes_raw()
    if group == NamedGroupCode.X448:
        return x448.X448PrivateKey.generate().public_key().public_bytes_raw()
    if group in curves:
        return (
            ec.generate_private_key(curves[group])
            .public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        )
    if group == NamedGroupCode.X25519MLKEM768:
        # draft-ietf-tls-ecdhe-mlkem §4: ML-KEM-768 encapsulation key, then X25519.
        from cryptography.hazmat.primitives.asymmetric import mlkem

        ek = mlkem.MLKEM768PrivateKey.generate().public_key().public_bytes_raw()
        return ek + generate_key_share(NamedGroupCode.X25519)
    raise ValueError(f"cannot generate a key share for group {group:#06x}")


def build_client_hello(
    version: TlsVersion,
    cipher_suites: Sequence[int],
    *,
    server_name: str | None = None,
    groups: Sequence[int] = DEFAULT_GROUPS,
    key_share_groups: Sequence[int] | None = None,
    key_shares: Mapping[int, bytes] | None = None,
    signature_algorithms: Sequence[int] = DEFAULT_SIGNATURE_ALGORITHMS,
    supported_versions: Sequence[int] | None = None,
    record_version: int = TlsVersion.TLS1_0,
    random: bytes | None = None,
    session_id: bytes | None = None,
    compression_methods: Sequence[int] = (0,),
    alpn: Sequence[str] = (),
    heartbeat: bool = False,
    pad: bool = True,
    extra_extensions: Sequence[Extension] = (),
) -> ClientHello:
    """A typical ClientHello offering exactly one protocol ``version``.

    TLS 1.3: legacy_version 0x0303, supported_versions ``[0x0304]`` (or the given
    list), a 32-byte session id (middlebox compatibility, RFC 8446 §D.4) and key
    shares for ``key_share_groups`` (default: X25519 when offered).  TLS 1.0-1.2:
    legacy_version is ``version``.  SSLv3: no extensions at all (SSLv3-only
    servers may reject them); secure renegotiation is signalled by the SCSV.
    Every hello carries renegotiation_info, extended_master_secret, session_ticket,
    status_request, supported_groups, ec_point_formats and signature_algorithms,
    as current clients do, and is padded to 512 bytes when it would otherwise be
    256-511 bytes long (RFC 7685 §4: some load balancers hang on those).

    Args:
        key_shares: public values supplied by the caller, by group; groups in
            ``key_share_groups`` without one are generated with ``cryptography``.
        random, session_id: fixed values for reproducible bytes; random otherwise.
        extra_extensions: appended as given (before padding).

    Raises:
        ValueError: bad arguments, or a key share that cannot be generated.
    """
    if version == TlsVersion.SSL2:
        raise ValueError("SSLv2 has its own hello: use build_sslv2_client_hello()")
    suites = list(cipher_suites)
    rnd = os.urandom(32) if random is None else random
    tls13 = version == TlsVersion.TLS1_3
    if session_id is None:
        session_id = os.urandom(32) if tls13 else b""
    extensions: list[Extension] = []
    if version == TlsVersion.SSL3:
        if TLS_EMPTY_RENEGOTIATION_INFO_SCSV not in suites:
            suites.append(TLS_EMPTY_RENEGOTIATION_INFO_SCSV)
        extensions.extend(extra_extensions)
    else:
        if server_name:
            extensions.append(Extension.server_name(server_name))
        extensions += [
            Extension.renegotiation_info(),
            Extension.extended_master_secret(),
            Extension.session_ticket(),
            Extension.status_request(),
        ]
        if groups:
            extensions.append(Extension.supported_groups(groups))
            extensions.append(Extension.ec_point_formats())
        if signature_algorithms:
            extensions.append(Extension.signature_algorithms(signature_algorithms))
        if alpn:
            extensions.append(Extension.alpn(alpn))
        if heartbeat:
            extensions.append(Extension.heartbeat())
        if supported_versions is None and tls13:
            supported_versions = (TlsVersion.TLS1_3,)
        if supported_versions:
            extensions.append(Extension.supported_versions(supported_versions))
        if tls13 or (supported_versions and TlsVersion.TLS1_3 in supported_versions):
            if key_share_groups is None:
                key_share_groups = [g for g in groups if g == NamedGroupCode.X25519][:1]
            provided = key_shares or {}
            entries = [
                KeyShareEntry(group=g, key_exchange=provided.get(g) or generate_key_share(g))
                for g in key_share_groups
            ]
            extensions.append(Extension.key_share(entries))
            extensions.append(Extension.psk_key_exchange_modes())
        extensions.extend(extra_extensions)
    hello = ClientHello(
        cipher_suites=tuple(suites),
        random=rnd,
        version=TlsVersion.TLS1_2 if tls13 else version,
        session_id=session_id,
        compression_methods=tuple(compression_methods),
        extensions=tuple(extensions),
        record_version=record_version,
    )
    length = len(hello.handshake_bytes())
    if pad and extensions and 256 <= length < 512:
        hello = replace(
            hello,
            extensions=(*hello.extensions, Extension.padding(max(512 - length - 4, 1))),
        )
    return hello


def build_sslv2_client_hello(
    cipher_specs: Sequence[int],
    *,
    challenge: bytes | None = None,
    version: int = TlsVersion.SSL2,
) -> bytes:
    """An SSLv2 CLIENT-HELLO record (2-byte header) offering ``cipher_specs``.

    With ``version`` 0x0002 it asks for SSLv2 itself; an SSLv2 server answers with
    SERVER-HELLO listing the specs it shares, others with an alert or by closing.
    A higher ``version`` makes the SSLv2-compatible hello of RFC 5246 §E.2.

    Raises:
        ValueError: no specs, a spec out of range, or a bad challenge length.
    """
    chal = os.urandom(16) if challenge is None else challenge
    if not 16 <= len(chal) <= 32:
        raise ValueError("SSLv2 challenge is 16 to 32 bytes")
    if not cipher_specs or any(not 0 <= s <= 0xFFFFFF for s in cipher_specs):
        raise ValueError("offer at least one 24-bit cipher spec")
    specs = b"".join(s.to_bytes(3, "big") for s in cipher_specs)
    body = (
        bytes([_SSL2_MT_CLIENT_HELLO])
        + _u16(version)
        + _u16(len(specs))
        + _u16(0)  # no session id
        + _u16(len(chal))
        + specs
        + chal
    )
    if len(body) > 0x7FFF:
        raise ValueError("SSLv2 CLIENT-HELLO too long")
    return _u16(0x8000 | len(body)) + body


# --- events ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerHello:
    """The server's choice (or a HelloRetryRequest, which shares the format).

    ``version`` is the legacy_version field; :attr:`negotiated_version` is what was
    actually chosen (supported_versions when present).  ``key_share`` is the server's
    public value (None in a HelloRetryRequest, which names only the group).
    ``renegotiation_info`` is None when the extension is absent (no RFC 5746
    support).  ``downgrade_sentinel`` is set when the random ends with the TLS 1.3
    downgrade marker for that version (RFC 8446 §4.1.3).
    """

    version: int
    random: bytes
    session_id: bytes
    cipher_suite: int
    compression_method: int
    extensions: tuple[Extension, ...] = ()
    selected_version: int | None = None
    key_share_group: int | None = None
    key_share: bytes | None = None
    renegotiation_info: bytes | None = None
    extended_master_secret: bool = False
    is_hello_retry_request: bool = False
    downgrade_sentinel: TlsVersion | None = None
    record_version: int | None = None

    @property
    def negotiated_version(self) -> int:
        """supported_versions' choice if present, else legacy_version."""
        return self.selected_version if self.selected_version is not None else self.version

    def extension(self, ext_type: int) -> bytes | None:
        """The body of extension ``ext_type``, or None if absent."""
        return next((e.data for e in self.extensions if e.type == ext_type), None)

    @classmethod
    def from_bytes(cls, message: bytes) -> ServerHello:
        """Parse a ServerHello handshake message (4-byte header included).

        Raises:
            TlsWireError: the message is malformed.
        """
        msg = _Cursor(message, "ServerHello")
        if msg.uint(1) != _HS_SERVER_HELLO:
            raise TlsWireError("not a ServerHello message", message[:4])
        cur = _Cursor(msg.vector(3), "ServerHello")
        msg.done()
        version = cur.uint(2)
        random = cur.take(32)
        session_id = cur.vector(1)
        if len(session_id) > 32:
            raise TlsWireError("ServerHello: session_id longer than 32 bytes", session_id)
        suite, compression = cur.uint(2), cur.uint(1)
        extensions = _parse_extensions(cur, "ServerHello")
        hrr = random == HELLO_RETRY_REQUEST_RANDOM
        selected: int | None = None
        group: int | None = None
        share: bytes | None = None
        reneg: bytes | None = None
        ems = False
        for ext in extensions:
            ext_cur = _Cursor(ext.data, f"ServerHello extension {ext.type}")
            if ext.type == ExtensionType.SUPPORTED_VERSIONS:
                selected = ext_cur.uint(2)
            elif ext.type == ExtensionType.KEY_SHARE:
                group = ext_cur.uint(2)
                share = None if hrr else ext_cur.vector(2)
            elif ext.type == ExtensionType.RENEGOTIATION_INFO:
                reneg = ext_cur.vector(1)
            elif ext.type == ExtensionType.EXTENDED_MASTER_SECRET:
                ems = True
            else:
                continue
            ext_cur.done()
        return cls(
            version=version,
            random=random,
            session_id=session_id,
            cipher_suite=suite,
            compression_method=compression,
            extensions=extensions,
            selected_version=selected,
            key_share_group=group,
            key_share=share,
            renegotiation_info=reneg,
            extended_master_secret=ems,
            is_hello_retry_request=hrr,
            downgrade_sentinel=None if hrr else _DOWNGRADE_SENTINELS.get(random[-8:]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Certificate:
    """The TLS <= 1.2 Certificate message: DER certificates as sent, leaf first."""

    certificates: tuple[bytes, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class DhParams:
    """Finite-field DH parameters from a DHE ServerKeyExchange (RFC 5246 §7.4.3)."""

    prime: bytes
    generator: bytes
    public: bytes

    @property
    def prime_bits(self) -> int:
        """Size of the prime in bits (what ``tls.dh_weak`` judges)."""
        return int.from_bytes(self.prime, "big").bit_length()


@dataclass(frozen=True, slots=True, kw_only=True)
class EcdhParams:
    """ECDH parameters from an ECDHE ServerKeyExchange (RFC 8422 §5.4).

    ``curve_type`` 3 is named_curve; 1 and 2 (explicit curves) leave
    ``named_group`` and ``public`` None.
    """

    curve_type: int
    named_group: int | None = None
    public: bytes | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerKeyExchange:
    """The raw ServerKeyExchange body; its layout depends on the chosen suite."""

    body: bytes

    def dh_params(self) -> DhParams:
        """Read it as DHE (or anonymous DH) parameters.

        Raises:
            TlsWireError: the body is too short for DH parameters.
        """
        cur = _Cursor(self.body, "ServerKeyExchange (DH)")
        prime, generator, public = cur.vector(2), cur.vector(2), cur.vector(2)
        if not prime or not generator or not public:
            raise TlsWireError("ServerKeyExchange (DH): empty parameter", self.body[:16])
        return DhParams(prime=prime, generator=generator, public=public)

    def ecdh_params(self) -> EcdhParams:
        """Read it as ECDHE parameters.

        Raises:
            TlsWireError: the body is too short for ECDH parameters.
        """
        cur = _Cursor(self.body, "ServerKeyExchange (ECDH)")
        curve_type = cur.uint(1)
        if curve_type != 3:
            return EcdhParams(curve_type=curve_type)
        return EcdhParams(curve_type=3, named_group=cur.uint(2), public=cur.vector(1))


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerHelloDone:
    """The end of the server's TLS <= 1.2 flight."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HandshakeMessage:
    """Any other plaintext handshake message (CertificateRequest, CertificateStatus...)."""

    msg_type: int
    body: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """A plaintext alert."""

    level: int
    description: int

    @property
    def name(self) -> str:
        """The description's registry name, e.g. ``"handshake_failure"``."""
        return ALERT_DESCRIPTIONS.get(self.description, f"unknown({self.description})")

    @property
    def fatal(self) -> bool:
        """Level 2 (fatal)."""
        return self.level == AlertLevel.FATAL


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeCipherSpec:
    """A ChangeCipherSpec record (in TLS 1.3 only a compatibility no-op)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OpaqueRecord:
    """A record the reader does not interpret: encrypted, application data, heartbeat.

    ``content_type`` is None for SSLv2 records after the first.
    """

    content_type: int | None
    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class SSLv2ServerHello:
    """An SSLv2 SERVER-HELLO: the server speaks SSLv2 and shares these cipher specs."""

    session_id_hit: bool
    certificate_type: int
    version: int
    certificate: bytes
    cipher_specs: tuple[int, ...]
    connection_id: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class SSLv2Error:
    """An SSLv2 ERROR message (e.g. 0x0001 NO-CIPHER-ERROR)."""

    code: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NeedData:
    """Nothing complete yet: feed more bytes with ``receive_data()``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Closed:
    """The peer closed the connection at a message boundary."""


Event = (
    ServerHello
    | Certificate
    | ServerKeyExchange
    | ServerHelloDone
    | HandshakeMessage
    | Alert
    | ChangeCipherSpec
    | OpaqueRecord
    | SSLv2ServerHello
    | SSLv2Error
    | NeedData
    | Closed
)


def _parse_certificate(body: bytes) -> Certificate:
    outer = _Cursor(body, "Certificate")
    cur = _Cursor(outer.vector(3), "Certificate list")
    outer.done()
    certs = []
    while cur.remaining:
        der = cur.vector(3)
        if not der:
            raise TlsWireError("Certificate: empty certificate entry", body[:16])
        certs.append(der)
    return Certificate(certificates=tuple(certs))


def _parse_sslv2_server_hello(msg: bytes) -> SSLv2ServerHello:
    cur = _Cursor(msg, "SSLv2 SERVER-HELLO")
    cur.uint(1)  # message type, checked by the caller
    hit, cert_type, version = cur.uint(1), cur.uint(1), cur.uint(2)
    cert_len, specs_len, conn_len = cur.uint(2), cur.uint(2), cur.uint(2)
    if specs_len % 3:
        raise TlsWireError("SSLv2 SERVER-HELLO: cipher specs not a multiple of 3", msg[:16])
    cert = cur.take(cert_len)
    specs = cur.take(specs_len)
    conn = cur.take(conn_len)
    cur.done()
    return SSLv2ServerHello(
        session_id_hit=bool(hit),
        certificate_type=cert_type,
        version=version,
        certificate=cert,
        cipher_specs=tuple(int.from_bytes(specs[i : i + 3], "big") for i in range(0, specs_len, 3)),
        connection_id=conn,
    )


# --- the reader ------------------------------------------------------------------------


class RecordReader:
    """Turns the server's bytes into events; see the module's theory of operation.

    Args:
        max_record_bytes: longest record accepted (TLS and SSLv2).
        max_handshake_bytes: longest handshake message accepted.
    """

    def __init__(
        self,
        *,
        max_record_bytes: int = MAX_RECORD_BYTES,
        max_handshake_bytes: int = MAX_HANDSHAKE_MESSAGE_BYTES,
    ) -> None:
        self.max_record_bytes = max_record_bytes
        self.max_handshake_bytes = max_handshake_bytes
        self._buf = bytearray()
        self._handshake = bytearray()
        self._alert = bytearray()
        self._events: deque[Event] = deque()
        self._framing: str | None = None  # "tls" or "ssl2", decided by the first byte
        self._ssl2_messages = 0
        self._encrypted = False
        self._tls13 = False
        self._record_version: int | None = None
        self._eof = False
        self._error: TlsWireError | None = None

    @property
    def buffered_bytes(self) -> int:
        """Bytes held but not yet turned into events."""
        return len(self._buf) + len(self._handshake) + len(self._alert)

    @property
    def max_buffered_bytes(self) -> int:
        """The most :attr:`buffered_bytes` can be once ``next_event()`` returned NeedData."""
        return 5 + self.max_record_bytes + 4 + self.max_handshake_bytes + 1

    def receive_data(self, data: bytes) -> None:
        """Add bytes from the peer; ``b""`` records that the peer closed.

        Raises:
            RuntimeError: data after EOF was already given.
        """
        if self._eof:
            if data:
                raise RuntimeError("receive_data() after end of stream")
            return
        if data:
            self._buf += data
        else:
            self._eof = True

    def next_event(self) -> Event:
        """The next event, :class:`NeedData` or :class:`Closed`.

        Raises:
            TlsWireError: the peer's bytes are not well-formed; raised again on
                every later call.
        """
        if self._error is not None:
            raise self._error
        try:
            while not self._events:
                if not self._read_record():
                    if not self._eof:
                        return NeedData()
                    if self.buffered_bytes:
                        raise TlsWireError(
                            f"connection closed inside a record or message "
                            f"({self.buffered_bytes} bytes pending)",
                            bytes(self._buf or self._handshake or self._alert),
                        )
                    return Closed()
            return self._events.popleft()
        except TlsWireError as exc:
            self._error = exc
            raise

    # -- records --

    def _read_record(self) -> bool:
        """Consume one complete record into events; False if it is not all here."""
        if not self._buf:
            return False
        if self._framing is None:
            self._framing = "ssl2" if self._buf[0] & 0x80 else "tls"
        if self._framing == "ssl2":
            return self._read_ssl2_record()
        if self._buf[0] not in _CONTENT_TYPES:
            raise TlsWireError(
                f"not a TLS record (content type {self._buf[0]})", bytes(self._buf[:80])
            )
        if len(self._buf) < 5:
            return False
        content_type, major, length = self._buf[0], self._buf[1], (self._buf[3] << 8) | self._buf[4]
        if major != 3:
            raise TlsWireError("record version is not 3.x", bytes(self._buf[:5]))
        if length > self.max_record_bytes:
            raise TlsWireError(
                f"record of {length} bytes exceeds {self.max_record_bytes}", bytes(self._buf[:5])
            )
        if len(self._buf) < 5 + length:
            return False
        record_version = (self._buf[1] << 8) | self._buf[2]
        fragment = bytes(self._buf[5 : 5 + length])
        del self._buf[: 5 + length]
        self._dispatch(content_type, record_version, fragment)
        return True

    def _dispatch(self, content_type: int, record_version: int, fragment: bytes) -> None:
        if content_type == _CT_HANDSHAKE and not self._encrypted:
            if self._record_version is None or not self._handshake:
                self._record_version = record_version
            self._handshake += fragment
            self._read_handshake_messages()
        elif content_type == _CT_ALERT and not self._encrypted:
            self._alert += fragment
            while len(self._alert) >= 2:
                self._events.append(Alert(level=self._alert[0], description=self._alert[1]))
                del self._alert[:2]
        elif content_type == _CT_CHANGE_CIPHER_SPEC:
            if fragment != b"\x01":
                raise TlsWireError("malformed ChangeCipherSpec", fragment)
            self._events.append(ChangeCipherSpec())
            if not self._tls13:  # in TLS 1.3 it is a no-op (RFC 8446 §5)
                self._encrypted = True
        else:
            self._events.append(OpaqueRecord(content_type=content_type, data=fragment))

    def _read_handshake_messages(self) -> None:
        while len(self._handshake) >= 4:
            msg_type = self._handshake[0]
            length = int.from_bytes(self._handshake[1:4], "big")
            if length > self.max_handshake_bytes:
                raise TlsWireError(
                    f"handshake message of {length} bytes exceeds {self.max_handshake_bytes}",
                    bytes(self._handshake[:4]),
                )
            if len(self._handshake) < 4 + length:
                return
            message = bytes(self._handshake[: 4 + length])
            del self._handshake[: 4 + length]
            event = self._parse_handshake(msg_type, message)
            self._events.append(event)
            if isinstance(event, ServerHello) and event.selected_version == TlsVersion.TLS1_3:
                self._tls13 = True
                if not event.is_hello_retry_request:
                    # Everything after a TLS 1.3 ServerHello is encrypted, and a
                    # handshake message must not span the key change (RFC 8446 §5.1).
                    self._encrypted = True
                    if self._handshake:
                        raise TlsWireError(
                            "handshake data after a TLS 1.3 ServerHello in the same record",
                            bytes(self._handshake[:80]),
                        )
                    return

    def _parse_handshake(self, msg_type: int, message: bytes) -> Event:
        body = message[4:]
        if msg_type == _HS_SERVER_HELLO:
            hello = ServerHello.from_bytes(message)
            return replace(hello, record_version=self._record_version)
        if msg_type == _HS_CERTIFICATE:
            return _parse_certificate(body)
        if msg_type == _HS_SERVER_KEY_EXCHANGE:
            return ServerKeyExchange(body=body)
        if msg_type == _HS_SERVER_HELLO_DONE:
            if body:
                raise TlsWireError("ServerHelloDone with a body", message[:16])
            return ServerHelloDone()
        return HandshakeMessage(msg_type=msg_type, body=body)

    def _read_ssl2_record(self) -> bool:
        first = self._buf[0]
        header = 2 if first & 0x80 else 3
        if len(self._buf) < header:
            return False
        length = ((first & (0x7F if header == 2 else 0x3F)) << 8) | self._buf[1]
        limit = min(self.max_record_bytes, MAX_SSL2_RECORD_BYTES)
        if length > limit:
            raise TlsWireError(f"SSLv2 record of {length} bytes exceeds {limit}")
        if len(self._buf) < header + length:
            return False
        record = bytes(self._buf[header : header + length])
        del self._buf[: header + length]
        self._ssl2_messages += 1
        if self._ssl2_messages > 1:
            self._events.append(OpaqueRecord(content_type=None, data=record))
            return True
        if header != 2 or not record:
            raise TlsWireError("SSLv2: malformed first record", record[:16])
        if record[0] == _SSL2_MT_SERVER_HELLO:
            self._events.append(_parse_sslv2_server_hello(record))
        elif record[0] == _SSL2_MT_ERROR and len(record) == 3:
            self._events.append(SSLv2Error(code=int.from_bytes(record[1:3], "big")))
        else:
            raise TlsWireError(f"SSLv2: unexpected message type {record[0]}", record[:16])
        return True
