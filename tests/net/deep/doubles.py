"""Scripted record-level TLS servers for what OpenSSL 3 will no longer do.

A :class:`ScriptedServer` speaks just enough SMTP to reach STARTTLS (banner,
EHLO, STARTTLS) on loopback, reads one ClientHello (TLS records or an SSLv2
CLIENT-HELLO) and writes whatever its handler returns: the plaintext first
flight of an old server (SSLv3, EXPORT, NULL suites, DEFLATE, no
renegotiation_info, no EMS, small DH groups), an SSLv2 SERVER-HELLO, or an
alert.  Nothing is encrypted: a scan never gets past the first flight.  After
``limit`` connections it answers ``421`` (a throttling MTA); with
``refuse_after`` it closes its listener so connections are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from mxtls.config import CheckConfig, Timeouts
from mxtls.protocol.tls_registry import (
    CIPHER_SUITES,
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
    TLS_FALLBACK_SCSV,
    ExtensionType,
    KeyExchange,
    TlsVersion,
)
from mxtls.protocol.tls_wire import ClientHello

Handler = Callable[[ClientHello | bytes], bytes | None]  # None: hang up; b"": stay silent
READ_TIMEOUT_S = 2.0


def record(content_type: int, body: bytes, version: int = 0x0301) -> bytes:
    return bytes([content_type]) + version.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


def handshake(msg_type: int, body: bytes, version: int) -> bytes:
    return record(22, bytes([msg_type]) + len(body).to_bytes(3, "big") + body, version)


def alert(description: int, version: int = 0x0301) -> bytes:
    return record(21, bytes([2, description]), version)


def server_hello(
    version: int,
    suite: int,
    *,
    compression: int = 0,
    session_id: bytes = b"",
    extensions: list[tuple[int, bytes]] | None = None,
) -> bytes:
    body = version.to_bytes(2, "big") + bytes(range(32)) + bytes([len(session_id)]) + session_id
    body += suite.to_bytes(2, "big") + bytes([compression])
    if extensions:
        exts = b"".join(t.to_bytes(2, "big") + len(d).to_bytes(2, "big") + d for t, d in extensions)
        body += len(exts).to_bytes(2, "big") + exts
    return handshake(2, body, version)


def certificate(ders: list[bytes], version: int) -> bytes:
    entries = b"".join(len(d).to_bytes(3, "big") + d for d in ders)
    return handshake(11, len(entries).to_bytes(3, "big") + entries, version)


def dh_key_exchange(prime_bits: int, version: int) -> bytes:
    prime = ((1 << (prime_bits - 1)) | 1).to_bytes(prime_bits // 8, "big")
    params = b"".join(len(v).to_bytes(2, "big") + v for v in (prime, b"\x02", b"\x05" * 16))
    return handshake(12, params + b"\x04\x01\x00\x00", version)  # fake signature


def ecdh_key_exchange(group: int, version: int) -> bytes:
    params = b"\x03" + group.to_bytes(2, "big") + b"\x20" + b"\x09" * 32
    return handshake(12, params + b"\x04\x01\x00\x00", version)


def certificate_status(ocsp_der: bytes, version: int) -> bytes:
    return handshake(22, b"\x01" + len(ocsp_der).to_bytes(3, "big") + ocsp_der, version)


def sslv2_server_hello(specs: list[int], cert: bytes) -> bytes:
    spec_bytes = b"".join(s.to_bytes(3, "big") for s in specs)
    body = bytes([4, 0, 1]) + (2).to_bytes(2, "big")
    body += len(cert).to_bytes(2, "big") + len(spec_bytes).to_bytes(2, "big")
    body += (16).to_bytes(2, "big") + cert + spec_bytes + b"\x07" * 16
    return (0x8000 | len(body)).to_bytes(2, "big") + body


@dataclass
class OldServer:
    """The first flight of a configurable old server (a handler for ScriptedServer).

    ``suites`` is the server's preference order; ``versions`` the versions it speaks.
    """

    versions: tuple[int, ...]
    suites: tuple[int, ...]
    cert_der: bytes
    sslv2_specs: tuple[int, ...] = ()
    deflate: bool = False
    renegotiation_info: bool = True
    ems: bool = True
    dh_bits: int = 2048
    honour_fallback: bool = True
    ocsp_der: bytes | None = None

    def __call__(self, hello: ClientHello | bytes) -> bytes | None:
        if isinstance(hello, bytes):  # SSLv2 CLIENT-HELLO
            if not self.sslv2_specs:
                return None
            return sslv2_server_hello(list(self.sslv2_specs), self.cert_der)
        top = max(self.versions)
        version = min(hello.version, top)
        if version not in self.versions:
            return alert(70)
        offered = set(hello.cipher_suites)
        if TLS_FALLBACK_SCSV in offered and version < top and self.honour_fallback:
            return alert(86, version)
        suite = next((s for s in self.suites if s in offered), None)
        if suite is None:
            return alert(40, version)
        client_exts = {e.type for e in hello.extensions}
        exts: list[tuple[int, bytes]] = []
        reneg = ExtensionType.RENEGOTIATION_INFO in client_exts
        if self.renegotiation_info and (reneg or TLS_EMPTY_RENEGOTIATION_INFO_SCSV in offered):
            exts.append((ExtensionType.RENEGOTIATION_INFO, b"\x00"))
        if self.ems and ExtensionType.EXTENDED_MASTER_SECRET in client_exts:
            exts.append((ExtensionType.EXTENDED_MASTER_SECRET, b""))
        stapling = self.ocsp_der is not None and ExtensionType.STATUS_REQUEST in client_exts
        if stapling:
            exts.append((ExtensionType.STATUS_REQUEST, b""))
        compression = 1 if self.deflate and 1 in hello.compression_methods else 0
        out = server_hello(version, suite, compression=compression, extensions=exts)
        out += certificate([self.cert_der], version)
        if stapling and self.ocsp_der is not None:
            out += certificate_status(self.ocsp_der, version)
        kx = CIPHER_SUITES[suite].kx
        if kx is KeyExchange.DHE:
            out += dh_key_exchange(self.dh_bits, version)
        elif kx is KeyExchange.ECDHE:
            out += ecdh_key_exchange((hello.supported_groups or (29,))[0], version)
        return out + handshake(14, b"", version)


@dataclass
class ScriptedServer:
    """SMTP up to STARTTLS, then one scripted TLS answer per connection (loopback, port 0)."""

    handler: Handler
    limit: int | None = None  # connections served before answering 421
    refuse_after: int | None = None  # close the listener after this many connections
    connections: int = 0
    port: int = 0
    _server: asyncio.Server | None = field(default=None, repr=False)

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                await self._server.wait_closed()

    def config(self, **timeouts: float) -> CheckConfig:
        return CheckConfig(
            port_map=((25, self.port),),
            ehlo_name="scanner.test",
            timeouts=Timeouts(
                **{"connect": 2, "banner": 2, "command": 2, "handshake": 2, **timeouts}
            ),
        )

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.refuse_after is not None and self.connections >= self.refuse_after:
            assert self._server is not None
            self._server.close()
        try:
            async with asyncio.timeout(READ_TIMEOUT_S):
                if self.limit is not None and self.connections > self.limit:
                    writer.write(b"421 4.7.0 mx.double.test Error: too many connections\r\n")
                    return
                writer.write(b"220 mx.double.test ESMTP double\r\n")
                while True:
                    line = await reader.readline()
                    if not line:
                        return
                    verb = line.strip().upper()
                    if verb.startswith(b"EHLO"):
                        writer.write(b"250-mx.double.test\r\n250 STARTTLS\r\n")
                    elif verb == b"STARTTLS":
                        writer.write(b"220 2.0.0 go ahead\r\n")
                        break
                    else:
                        writer.write(b"502 5.5.2 no\r\n")
                hello = await _read_hello(reader)
                answer = self.handler(hello)
                if answer is None:
                    return
                writer.write(answer)
                await writer.drain()
                await reader.read(1)  # wait for the scanner to hang up
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def _read_hello(reader: asyncio.StreamReader) -> ClientHello | bytes:
    first = await reader.readexactly(2)
    if first[0] & 0x80:  # SSLv2 record, 2-byte header
        return first + await reader.readexactly(((first[0] & 0x7F) << 8) | first[1])
    data = first + await reader.readexactly(3)
    data += await reader.readexactly(int.from_bytes(data[3:5], "big"))
    needed = 4 + int.from_bytes(data[6:9], "big")
    have = len(data) - 5
    while have < needed:  # the hello continues in further records
        header = await reader.readexactly(5)
        body = await reader.readexactly(int.from_bytes(header[3:5], "big"))
        data += header + body
        have += len(body)
    return ClientHello.from_bytes(data)


SSL3_CBC_SUITES = (0x002F, 0x0035, 0x000A)  # AES128-SHA, AES256-SHA, DES-CBC3-SHA
TLS1_2 = TlsVersion.TLS1_2
