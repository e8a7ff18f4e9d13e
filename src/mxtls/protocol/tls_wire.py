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

from collections import deque
from dataclasses import dataclass, replace

from mxtls.protocol.tls_codec import (
    CONTENT_TYPES,
    CT_ALERT,
    CT_CHANGE_CIPHER_SPEC,
    CT_HANDSHAKE,
    DOWNGRADE_SENTINELS,
    HELLO_RETRY_REQUEST_RANDOM,
    HS_CERTIFICATE,
    HS_SERVER_HELLO,
    HS_SERVER_HELLO_DONE,
    HS_SERVER_KEY_EXCHANGE,
    MAX_HANDSHAKE_MESSAGE_BYTES,
    MAX_PLAINTEXT_FRAGMENT_BYTES,
    MAX_RECORD_BYTES,
    MAX_SSL2_RECORD_BYTES,
    SSL2_MT_ERROR,
    SSL2_MT_SERVER_HELLO,
    Cursor,
    Extension,
    KeyShareEntry,
    TlsWireError,
    parse_extensions,
)

# --- events ----------------------------------------------------------------------------
from mxtls.protocol.tls_hello import (
    DEFAULT_GROUPS,
    DEFAULT_SIGNATURE_ALGORITHMS,
    ClientHello,
    build_client_hello,
    build_sslv2_client_hello,
    generate_key_share,
)
from mxtls.protocol.tls_registry import (
    ALERT_DESCRIPTIONS,
    AlertLevel,
    ExtensionType,
    TlsVersion,
)


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
        msg = Cursor(message, "ServerHello")
        if msg.uint(1) != HS_SERVER_HELLO:
            raise TlsWireError("not a ServerHello message", message[:4])
        cur = Cursor(msg.vector(3), "ServerHello")
        msg.done()
        version = cur.uint(2)
        random = cur.take(32)
        session_id = cur.vector(1)
        if len(session_id) > 32:
            raise TlsWireError("ServerHello: session_id longer than 32 bytes", session_id)
        suite, compression = cur.uint(2), cur.uint(1)
        extensions = parse_extensions(cur, "ServerHello")
        hrr = random == HELLO_RETRY_REQUEST_RANDOM
        selected: int | None = None
        group: int | None = None
        share: bytes | None = None
        reneg: bytes | None = None
        ems = False
        for ext in extensions:
            ext_cur = Cursor(ext.data, f"ServerHello extension {ext.type}")
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
            downgrade_sentinel=None if hrr else DOWNGRADE_SENTINELS.get(random[-8:]),
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
        cur = Cursor(self.body, "ServerKeyExchange (DH)")
        prime, generator, public = cur.vector(2), cur.vector(2), cur.vector(2)
        if not prime or not generator or not public:
            raise TlsWireError("ServerKeyExchange (DH): empty parameter", self.body[:16])
        return DhParams(prime=prime, generator=generator, public=public)

    def ecdh_params(self) -> EcdhParams:
        """Read it as ECDHE parameters.

        Raises:
            TlsWireError: the body is too short for ECDH parameters.
        """
        cur = Cursor(self.body, "ServerKeyExchange (ECDH)")
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
    outer = Cursor(body, "Certificate")
    cur = Cursor(outer.vector(3), "Certificate list")
    outer.done()
    certs = []
    while cur.remaining:
        der = cur.vector(3)
        if not der:
            raise TlsWireError("Certificate: empty certificate entry", body[:16])
        certs.append(der)
    return Certificate(certificates=tuple(certs))


def _parse_sslv2_server_hello(msg: bytes) -> SSLv2ServerHello:
    cur = Cursor(msg, "SSLv2 SERVER-HELLO")
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
        if self._buf[0] not in CONTENT_TYPES:
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
        if content_type == CT_HANDSHAKE and not self._encrypted:
            if self._record_version is None or not self._handshake:
                self._record_version = record_version
            self._handshake += fragment
            self._read_handshake_messages()
        elif content_type == CT_ALERT and not self._encrypted:
            self._alert += fragment
            while len(self._alert) >= 2:
                self._events.append(Alert(level=self._alert[0], description=self._alert[1]))
                del self._alert[:2]
        elif content_type == CT_CHANGE_CIPHER_SPEC:
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
        if msg_type == HS_SERVER_HELLO:
            hello = ServerHello.from_bytes(message)
            return replace(hello, record_version=self._record_version)
        if msg_type == HS_CERTIFICATE:
            return _parse_certificate(body)
        if msg_type == HS_SERVER_KEY_EXCHANGE:
            return ServerKeyExchange(body=body)
        if msg_type == HS_SERVER_HELLO_DONE:
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
        if record[0] == SSL2_MT_SERVER_HELLO:
            self._events.append(_parse_sslv2_server_hello(record))
        elif record[0] == SSL2_MT_ERROR and len(record) == 3:
            self._events.append(SSLv2Error(code=int.from_bytes(record[1:3], "big")))
        else:
            raise TlsWireError(f"SSLv2: unexpected message type {record[0]}", record[:16])
        return True


# The codec's public face: the builder and the primitives live in tls_hello and
# tls_codec, and are re-exported here so callers import one module.
__all__ = [
    "DEFAULT_GROUPS",
    "DEFAULT_SIGNATURE_ALGORITHMS",
    "Alert",
    "Certificate",
    "ChangeCipherSpec",
    "ClientHello",
    "Closed",
    "DhParams",
    "EcdhParams",
    "Event",
    "Extension",
    "HELLO_RETRY_REQUEST_RANDOM",
    "HandshakeMessage",
    "KeyShareEntry",
    "MAX_HANDSHAKE_MESSAGE_BYTES",
    "MAX_PLAINTEXT_FRAGMENT_BYTES",
    "MAX_RECORD_BYTES",
    "MAX_SSL2_RECORD_BYTES",
    "NeedData",
    "OpaqueRecord",
    "RecordReader",
    "SSLv2Error",
    "SSLv2ServerHello",
    "ServerHello",
    "ServerHelloDone",
    "ServerKeyExchange",
    "TlsWireError",
    "build_client_hello",
    "build_sslv2_client_hello",
    "generate_key_share",
]
