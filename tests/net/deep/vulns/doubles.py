"""Scripted loopback peers for the vulnerability probes.

* :class:`TlsDouble` speaks TLS at the record level (a ServerHello, a real
  certificate, ServerHelloDone) and then plays one scripted behaviour: a
  Heartbleed server that answers an oversized heartbeat with an oversized
  response, a server that accepts an early ChangeCipherSpec, an RSA server
  with a deliberately leaky padding check...  No local TLS library can be
  made to behave like these vulnerable servers, hence the script.
* :class:`SslPeer` is a sound peer: Python's ``ssl`` (OpenSSL) on memory BIOs,
  implicit TLS or SMTP + STARTTLS, optionally an SMTP server that keeps
  plaintext pipelined after STARTTLS and runs it inside TLS (the
  CVE-2011-0411 bug) when ``inject=True``.

Every server listens on 127.0.0.1 port 0; every read is bounded by
``PEER_IO_TIMEOUT_S`` so a test cannot hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from mxtls.config import CheckConfig, Limits, Timeouts
from mxtls.lab.ca import Issued
from mxtls.protocol.tls_wire import ClientHello

PEER_IO_TIMEOUT_S = 3.0
PIPELINED_WAIT_S = 0.05  # one write on loopback arrives at once
HEARTBEAT_EXTENSION = 0x000F
TLS12 = 0x0303
EHLO_PLAIN = b"250-mx.vuln.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
EHLO_TLS = b"250-mx.vuln.test\r\n250 8BITMIME\r\n"
MX = "mx.vuln.test"


def config(port: int, logical: int = 465, *, timeout: float = 0.5) -> CheckConfig:
    """Short timeouts; logical port ``logical`` goes to local ``port``."""
    return CheckConfig(
        ehlo_name="checker.vuln.test",
        port_map=((logical, port),),
        timeouts=Timeouts(
            connect=1.0,
            banner=1.0,
            command=timeout,
            handshake=1.0,
            endpoint_total=10.0,
        ),
        limits=Limits(),
    )


def rec(content_type: int, body: bytes, version: int = TLS12) -> bytes:
    return bytes([content_type]) + version.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


def hs(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def server_flight(suite: int, certs: list[bytes], extensions: bytes = b"") -> bytes:
    """ServerHello + Certificate + ServerHelloDone in one handshake record."""
    hello = TLS12.to_bytes(2, "big") + os.urandom(32) + b"\x00" + suite.to_bytes(2, "big") + b"\x00"
    if extensions:
        hello += len(extensions).to_bytes(2, "big") + extensions
    chain = b"".join(len(c).to_bytes(3, "big") + c for c in certs)
    return rec(22, hs(2, hello) + hs(11, len(chain).to_bytes(3, "big") + chain) + hs(14, b""))


def alert(description: int) -> bytes:
    return rec(21, bytes([2, description]))


async def read_record(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    async with asyncio.timeout(PEER_IO_TIMEOUT_S):
        header = await reader.readexactly(5)
        body = await reader.readexactly(int.from_bytes(header[3:5], "big"))
    return header[0], body


Behaviour = Callable[["TlsDouble", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class TlsDouble:
    """A record-level TLS server playing ``behaviour`` after its first flight.

    ``smtp=True`` puts a minimal SMTP dialogue with STARTTLS in front.
    """

    issued: Issued
    behaviour: Behaviour
    suite: int = 0xC02F  # ECDHE-RSA-AES128-GCM-SHA256 (never completed)
    echo_heartbeat: bool = False
    smtp: bool = False
    connections: int = 0
    hellos: list[ClientHello] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None

    @property
    def leaf_der(self) -> bytes:
        return self.issued.cert.public_bytes(Encoding.DER)

    async def __aenter__(self) -> TlsDouble:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1):
                await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            if self.smtp:
                await smtp_preamble(reader, writer)
            ctype, body = await read_record(reader)
            assert ctype == 22
            hello = ClientHello.from_bytes(rec(22, body, 0x0301))
            self.hellos.append(hello)
            ext = b""
            if self.echo_heartbeat and hello.extension(HEARTBEAT_EXTENSION) is not None:
                ext = HEARTBEAT_EXTENSION.to_bytes(2, "big") + b"\x00\x01\x01"
            writer.write(server_flight(self.suite, [self.leaf_der], ext))
            await writer.drain()
            await self.behaviour(self, reader, writer)
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()


async def smtp_preamble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> list[bytes]:
    """Banner, EHLO, STARTTLS -> 220.  Returns lines pipelined after STARTTLS."""
    writer.write(f"220 {MX} ESMTP\r\n".encode())
    async with asyncio.timeout(PEER_IO_TIMEOUT_S):
        while True:
            line = await reader.readline()
            if not line:
                raise ConnectionError("client left")
            verb = line.strip().upper()
            if verb.startswith(b"EHLO"):
                writer.write(EHLO_PLAIN)
            elif verb == b"STARTTLS":
                break
            else:
                writer.write(b"502 5.5.2 unknown\r\n")
    pipelined: list[bytes] = []
    # A client that pipelines wrote the next command in the same segment.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(PIPELINED_WAIT_S):
            while True:
                line = await reader.readline()
                if not line:
                    break
                pipelined.append(line)
    writer.write(b"220 2.0.0 Ready to start TLS\r\n")
    await writer.drain()
    return pipelined


# --- behaviours ------------------------------------------------------------------------


async def idle(_d: TlsDouble, reader: asyncio.StreamReader, _w: asyncio.StreamWriter) -> None:
    """Read and ignore everything (a server discarding what it should discard)."""
    async with asyncio.timeout(PEER_IO_TIMEOUT_S):
        while await reader.read(4096):
            pass


async def heartbleed(_d: TlsDouble, reader: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    """Answer a heartbeat request with as many bytes as it claims (plus padding)."""
    while True:
        ctype, body = await read_record(reader)
        if ctype == 24 and body[:1] == b"\x01":
            claimed = int.from_bytes(body[1:3], "big")
            w.write(rec(24, b"\x02" + body[1:3] + b"\xaa" * claimed + b"\x00" * 16))
            await w.drain()


async def ccs_vulnerable(
    _d: TlsDouble, reader: asyncio.StreamReader, w: asyncio.StreamWriter
) -> None:
    """Accept the first early CCS silently; fail to 'decrypt' the next record."""
    ctype, _ = await read_record(reader)
    assert ctype == 20
    await read_record(reader)
    w.write(alert(21))  # decryption_failed
    await w.drain()


async def ccs_sound(_d: TlsDouble, reader: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
    ctype, _ = await read_record(reader)
    w.write(alert(10))  # unexpected_message
    await w.drain()


def rsa_decrypt(issued: Issued, ciphertext: bytes) -> bytes:
    key = issued.key
    assert isinstance(key, rsa.RSAPrivateKey)
    numbers = key.private_numbers()
    n = numbers.public_numbers.n
    k = (n.bit_length() + 7) // 8
    return pow(int.from_bytes(ciphertext, "big"), numbers.d, n).to_bytes(k, "big")


def padding_error(block: bytes) -> str | None:
    """What a strict PKCS #1 v1.5 check finds wrong in a premaster block (None: fine)."""
    if block[:2] != b"\x00\x02":
        return "header"
    zero = block.find(b"\x00", 2)
    if zero < 0:
        return "separator"
    if len(block) - zero - 1 != 48:
        return "length"
    if block[zero + 1 : zero + 3] != b"\x03\x03":
        return "version"
    return None


async def _read_cke(d: TlsDouble, reader: asyncio.StreamReader) -> str | None:
    ctype, body = await read_record(reader)
    assert ctype == 22 and body[0] == 16
    return padding_error(rsa_decrypt(d.issued, body[6:]))


def robot_server(answers: Callable[[TlsDouble, str | None], int]) -> Behaviour:
    """An RSA server answering the CKE+CCS+Finished flight with ``answers(error)``."""

    async def behaviour(
        d: TlsDouble, reader: asyncio.StreamReader, w: asyncio.StreamWriter
    ) -> None:
        error = await _read_cke(d, reader)
        await read_record(reader)  # ChangeCipherSpec
        await read_record(reader)  # Finished
        w.write(alert(answers(d, error)))
        await w.drain()

    return behaviour


def leaky_strong(_d: TlsDouble, error: str | None) -> int:
    """A different alert for each padding error: a strong oracle."""
    return {"header": 51, "separator": 50, "length": 47}.get(error or "", 20)


def leaky_weak(_d: TlsDouble, error: str | None) -> int:
    """Well-formed blocks (any version) vs the rest: a weak oracle."""
    return 20 if error in (None, "version") else 51


def uniform(_d: TlsDouble, _error: str | None) -> int:
    """The same bad_record_mac whatever the padding (implicit rejection)."""
    return 20


def flaky(d: TlsDouble, error: str | None) -> int:
    """Leaky in the first round of five connections, uniform afterwards."""
    return leaky_strong(d, error) if d.connections <= 5 else 20


# --- Python ssl peers -----------------------------------------------------------------


class _ServerTls:
    """OpenSSL server side on memory BIOs over an asyncio stream pair."""

    def __init__(self, ctx: ssl.SSLContext, reader: asyncio.StreamReader, w: asyncio.StreamWriter):
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.incoming, self.outgoing, server_side=True)
        self.reader = reader
        self.writer = w

    async def _flush(self) -> None:
        data = self.outgoing.read()
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def _feed(self) -> None:
        async with asyncio.timeout(PEER_IO_TIMEOUT_S):
            data = await self.reader.read(16384)
        if not data:
            raise ConnectionError("client left")
        self.incoming.write(data)

    async def handshake(self) -> bool:
        for _ in range(100):
            try:
                self.obj.do_handshake()
                await self._flush()
                return True
            except ssl.SSLWantReadError:
                await self._flush()
                await self._feed()
            except ssl.SSLError:
                await self._flush()  # deliver OpenSSL's alert, as real servers do
                return False
        return False

    async def send(self, data: bytes) -> None:
        self.obj.write(data)
        await self._flush()

    async def recv(self) -> bytes:
        for _ in range(100):
            try:
                return self.obj.read(4096)
            except ssl.SSLWantReadError:
                await self._feed()
            except ssl.SSLError:
                await self._flush()
                return b""
        return b""


@dataclass
class SslPeer:
    """A sound OpenSSL peer (Python ``ssl``); SMTP with STARTTLS when ``smtp``.

    ``inject=True`` makes the SMTP server vulnerable to STARTTLS command
    injection: lines pipelined after STARTTLS are run inside the TLS session.
    """

    crt: Path
    key: Path
    smtp: bool = False
    inject: bool = False
    ciphers: str | None = None
    max_tls12: bool = True
    connections: int = 0
    port: int = 0
    _server: asyncio.Server | None = None

    def context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.crt, self.key)
        if self.ciphers:
            ctx.set_ciphers(self.ciphers)
        if self.max_tls12:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        return ctx

    async def __aenter__(self) -> SslPeer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1):
                await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            pipelined = await smtp_preamble(reader, writer) if self.smtp else []
            tls = _ServerTls(self.context(), reader, writer)
            if not await tls.handshake():
                return
            if self.smtp:
                await self._smtp_in_tls(tls, pipelined if self.inject else [])
            else:
                await tls.recv()
        except (TimeoutError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def _smtp_in_tls(self, tls: _ServerTls, pending: list[bytes]) -> None:
        buffered = b"".join(pending)
        for _ in range(20):
            if b"\n" not in buffered:
                data = await tls.recv()
                if not data:
                    return
                buffered += data
                continue
            line, buffered = buffered.split(b"\n", 1)
            verb = line.strip().upper()
            if verb == b"QUIT":
                await tls.send(b"221 2.0.0 Bye\r\n")
                return
            await tls.send(EHLO_TLS if verb.startswith(b"EHLO") else b"250 2.0.0 Ok\r\n")
