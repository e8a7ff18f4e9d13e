"""Crafted ClientHellos: the one question a deep-scan probe asks per connection.

:class:`ClientHello` is an immutable value whose ``to_bytes()`` and
``from_bytes()`` round-trip byte for byte; :func:`build_client_hello` makes a
typical hello for one protocol version, :func:`build_sslv2_client_hello` the
SSLv2 CLIENT-HELLO.  Sans-I/O (see :mod:`mxtls.protocol.tls_wire`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

from mxtls.protocol.tls_codec import (
    CLIENT_EXTENSION_DECODERS,
    CT_HANDSHAKE,
    HS_CLIENT_HELLO,
    MAX_PLAINTEXT_FRAGMENT_BYTES,
    SSL2_MT_CLIENT_HELLO,
    Cursor,
    Extension,
    KeyShareEntry,
    TlsWireError,
    decode_client_key_share,
    decode_server_name,
    decode_u16_list,
    parse_extensions,
    u16,
    u16s,
    u24,
    vec,
)
from mxtls.protocol.tls_registry import (
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
    ExtensionType,
    NamedGroupCode,
    TlsVersion,
)

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
            u16(self.version)
            + self.random
            + vec(1, self.session_id)
            + vec(2, u16s(self.cipher_suites))
            + vec(1, bytes(self.compression_methods))
        )
        if self.extensions:
            body += vec(2, b"".join(e.to_bytes() for e in self.extensions))
        return bytes([HS_CLIENT_HELLO]) + u24(len(body)) + body

    def to_bytes(self) -> bytes:
        """The hello as handshake record(s), ready to write to the socket."""
        message = self.handshake_bytes()
        header = bytes([CT_HANDSHAKE]) + u16(self.record_version)
        return b"".join(
            header + vec(2, message[i : i + MAX_PLAINTEXT_FRAGMENT_BYTES])
            for i in range(0, len(message), MAX_PLAINTEXT_FRAGMENT_BYTES)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ClientHello:
        """Parse one ClientHello in handshake records (the inverse of :meth:`to_bytes`).

        Raises:
            TlsWireError: not exactly one well-formed ClientHello.
        """
        cur = Cursor(data, "ClientHello record")
        record_version: int | None = None
        fragments: list[bytes] = []  # joined once: ``+=`` per record was quadratic (issue 8)
        while cur.remaining:
            if cur.uint(1) != CT_HANDSHAKE:
                raise TlsWireError("ClientHello: not a handshake record", data[:5])
            version = cur.uint(2)
            record_version = version if record_version is None else record_version
            fragments.append(cur.vector(2))
        message = b"".join(fragments)
        msg = Cursor(message, "ClientHello")
        if record_version is None or msg.uint(1) != HS_CLIENT_HELLO:
            raise TlsWireError("ClientHello: not a ClientHello message", message[:4])
        body = Cursor(msg.vector(3), "ClientHello")
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
        extensions = parse_extensions(body, "ClientHello")
        for ext in extensions:
            decoder = CLIENT_EXTENSION_DECODERS.get(ext.type)
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
        return None if data is None else decode_server_name(data)

    @property
    def supported_groups(self) -> tuple[int, ...]:
        """Offered groups, in order (empty if the extension is absent)."""
        data = self.extension(ExtensionType.SUPPORTED_GROUPS)
        return () if data is None else decode_u16_list(data, 2, "supported_groups")

    @property
    def signature_algorithms(self) -> tuple[int, ...]:
        """Offered signature schemes, in order."""
        data = self.extension(ExtensionType.SIGNATURE_ALGORITHMS)
        return () if data is None else decode_u16_list(data, 2, "signature_algorithms")

    @property
    def supported_versions(self) -> tuple[int, ...]:
        """Versions in supported_versions (empty: the offer is ``version`` alone)."""
        data = self.extension(ExtensionType.SUPPORTED_VERSIONS)
        return () if data is None else decode_u16_list(data, 1, "supported_versions")

    @property
    def key_shares(self) -> tuple[KeyShareEntry, ...]:
        """The key_share entries, in order."""
        data = self.extension(ExtensionType.KEY_SHARE)
        return () if data is None else decode_client_key_share(data)


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
        bytes([SSL2_MT_CLIENT_HELLO])
        + u16(version)
        + u16(len(specs))
        + u16(0)  # no session id
        + u16(len(chal))
        + specs
        + chal
    )
    if len(body) > 0x7FFF:
        raise ValueError("SSLv2 CLIENT-HELLO too long")
    return u16(0x8000 | len(body)) + body
