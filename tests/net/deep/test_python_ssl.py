"""Deep scan against Python ``ssl`` servers (implicit TLS, port 465): modern cases."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mxtls.checks.deep_tls import check_deep
from mxtls.config import CheckConfig, Timeouts
from mxtls.lab.ca import LabCA
from mxtls.net.deep.scanner import deep_scan_endpoint

HOST = "mx.pyssl.test"
TARGET = f"{HOST}[127.0.0.1]:465"
TLS12_SUITES = (
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305"
)


@pytest.fixture(scope="module")
def cert_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    ca = LabCA(name="deep pyssl")
    out = tmp_path_factory.mktemp("pyssl")
    return {
        "ec": ca.issue([HOST], key="ec256", key_slot=40).write(out, "ec"),
        "rsa": ca.issue([HOST], key="rsa2048", key_slot=41).write(out, "rsa"),
    }


def _handle(ctx: ssl.SSLContext, conn: socket.socket) -> None:
    # Blocking sockets: OpenSSL writes its alerts (inappropriate_fallback...) to the
    # socket itself; asyncio's SSL transport drops them when a handshake fails.
    with conn, contextlib.suppress(OSError):
        conn.settimeout(2)
        with ctx.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)


@contextlib.asynccontextmanager
async def _server(ctx: ssl.SSLContext) -> AsyncIterator[CheckConfig]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=_handle, args=(ctx, conn), daemon=True).start()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    try:
        yield CheckConfig(port_map=((465, port),), timeouts=Timeouts.uniform(2.0))
    finally:
        stop.set()
        await asyncio.to_thread(thread.join, 2)
        listener.close()


def _context(
    files: dict[str, tuple[Path, Path]], *kinds: str, tls13: bool = True, server_order: bool
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if not tls13:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_SUITES)
    if server_order:
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    for kind in kinds:
        chain, key = files[kind]
        ctx.load_cert_chain(chain, key)
    return ctx


async def test_modern_server_is_silent_and_fully_described(
    cert_files: dict[str, tuple[Path, Path]],
) -> None:
    # Given a TLS 1.2/1.3 server with ECDSA and RSA certificates and its own suite order
    ctx = _context(cert_files, "ec", "rsa", server_order=True)
    async with _server(ctx) as config:
        obs = await deep_scan_endpoint(HOST, "127.0.0.1", 465, config)
    # Then nothing is wrong with it
    assert check_deep(obs, TARGET) == []
    support = {p.version: p.support for p in obs.protocols}
    assert support == {
        "SSLv2": "rejected",
        "SSLv3": "rejected",
        "TLSv1": "rejected",
        "TLSv1.1": "rejected",
        "TLSv1.2": "accepted",
        "TLSv1.3": "accepted",
    }
    tls12 = obs.protocol("TLSv1.2")
    assert tls12 is not None and tls12.server_order is True
    assert [s.openssl_name for s in tls12.suites] == TLS12_SUITES.split(":")
    # And each key type has its own chain
    by_type = {c.key_type: c for c in obs.certificates}
    assert set(by_type) == {"ECDSA", "RSA"}
    assert by_type["ECDSA"].chain[0].key_type == "EC-secp256r1"
    assert by_type["RSA"].chain[0].key_type == "RSA"
    assert obs.default is not None and obs.default.version == "TLSv1.3"
    assert obs.default.forward_secret
    assert obs.behaviour is not None and obs.behaviour.fallback_scsv is True
    assert obs.behaviour.extended_master_secret and obs.behaviour.secure_renegotiation
    groups = {g.version: g for g in obs.groups}
    assert "x25519" in groups["TLSv1.3"].groups and "secp256r1" in groups["TLSv1.2"].groups
    assert obs.connections_used < 60


async def test_client_order_and_no_tls13(cert_files: dict[str, tuple[Path, Path]]) -> None:
    ctx = _context(cert_files, "rsa", tls13=False, server_order=False)
    async with _server(ctx) as config:
        obs = await deep_scan_endpoint(HOST, "127.0.0.1", 465, config)
    tls12 = obs.protocol("TLSv1.2")
    assert tls12 is not None and tls12.server_order is False
    assert {s.openssl_name for s in tls12.suites} == {
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-CHACHA20-POLY1305",
    }
    assert [c.key_type for c in obs.certificates] == ["RSA"]
    assert {f.code for f in check_deep(obs, TARGET)} == {"tls.no_tls13"}
