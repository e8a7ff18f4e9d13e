"""The pyOpenSSL memory-BIO handshake against Python ``ssl`` servers on loopback."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from OpenSSL import SSL

from mxtls.lab.ca import LabCA
from mxtls.net.guard import ALLOW_ALL
from mxtls.net.stream import RawStream, connect
from mxtls.net.tls import describe_ssl_error, sni_for, tls_handshake

from .servers import Lab, write

Serve = Callable[..., Awaitable[int]]


@pytest.mark.parametrize(
    ("host", "sni"),
    [
        ("mx.example", "mx.example"),
        ("mx.example.", "mx.example"),
        ("192.0.2.1", None),
        ("2001:db8::1", None),
        ("[2001:db8::1]", None),
    ],
)
def test_sni_for(host: str, sni: str | None) -> None:
    assert sni_for(host) == sni


def test_describe_ssl_error() -> None:
    err = SSL.Error([("SSL routines", "", "tlsv1 alert protocol version")])
    assert describe_ssl_error(err) == "tlsv1 alert protocol version"
    assert "closed by the server" in describe_ssl_error(SSL.SysCallError(-1, "Unexpected EOF"))
    assert "closed the TLS session" in describe_ssl_error(SSL.ZeroReturnError())


async def _stream(port: int) -> RawStream:
    stream = await connect("127.0.0.1", port, 1.0, ALLOW_ALL)
    assert isinstance(stream, RawStream)
    return stream


async def test_handshake_then_application_data_both_ways(serve: Serve, peer: Lab) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        line = await r.readline()
        await write(w, b"echo " + line)

    port = await serve(handler, peer.server_context())
    raw = await _stream(port)
    result = await tls_handshake(raw, server_name="mx.test.example", timeout=1.0)
    assert result.error is None and result.stream is not None and result.handshake is not None
    assert result.handshake.chain[0].common_name == "mx.test.example"
    tls = result.stream
    async with asyncio.timeout(1):
        await tls.send(b"hello\r\n")
        got = b""
        while not got.endswith(b"\n"):
            chunk = await tls.recv(100)
            assert chunk
            got += chunk
        assert got == b"echo hello\r\n"
        assert await tls.recv(100) == b""  # the server closed: end of data, not an error
    await tls.aclose()


@pytest.fixture
def rsa_files(tmp_path: Path) -> tuple[Path, Path]:
    # An RSA key takes up to 100 ms of CPU: made here, not in a callback of the test's loop.
    return LabCA().issue(["mx.test.example"], key="rsa2048").write(tmp_path, "rsa")


async def test_permissive_client_sees_a_tls12_non_pfs_server(
    serve: Serve, rsa_files: tuple[Path, Path]
) -> None:
    # The checker must connect to a weak server to report it (tls.no_forward_secrecy):
    # TLS 1.2 only, RSA key exchange, CBC with SHA-1.
    crt, key = rsa_files
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.set_ciphers("AES128-SHA:@SECLEVEL=0")
    except ssl.SSLError:
        pytest.skip("this Python's OpenSSL cannot serve AES128-SHA")

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await r.read(1)

    port = await serve(handler, ctx)
    raw = await _stream(port)
    result = await tls_handshake(raw, server_name=None, timeout=1.0)
    assert result.handshake is not None, result.error
    assert (result.handshake.version, result.handshake.cipher) == ("TLSv1.2", "AES128-SHA")
    assert result.handshake.cipher_bits == 128
    assert result.handshake.group is None  # no ephemeral key exchange happened
    assert result.handshake.sni is None
    assert result.handshake.chain[0].key_type == "RSA"
    assert result.stream is not None
    await result.stream.aclose()


async def test_handshake_timeout_is_data(serve: Serve) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)  # reads the ClientHello never, answers nothing

    port = await serve(handler)
    raw = await _stream(port)
    result = await tls_handshake(raw, server_name="mx.test.example", timeout=0.3)
    assert result.handshake is None and result.stream is None
    assert result.error == "no TLS handshake within 0.3s"
    await raw.aclose()
