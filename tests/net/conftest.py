"""Fixtures for the net/ tests: the lab certificate and loopback servers (127.0.0.1, port 0).

The MTA-STS fetch tests (``test_https*``) get a lab CA, leaf certificates and
a per-test :class:`~tests.net.policy_servers.PolicyWorld` (DNS and HTTPS).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from mxtls.lab.ca import Issued, LabCA
from mxtls.trust.store import TrustStore

from .policy_servers import POLICY_HOST, PolicyWorld
from .servers import MX_NAME, Handler, Lab

Serve = Callable[..., Awaitable[int]]


@pytest.fixture(scope="session")
def lab_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Issued, Path, Path]:
    issued = LabCA().issue([MX_NAME])
    crt, key = issued.write(tmp_path_factory.mktemp("lab"), "mx")
    return issued, crt, key


@pytest.fixture
def peer(lab_cert: tuple[Issued, Path, Path]) -> Lab:
    issued, crt, key = lab_cert
    return Lab(issued=issued, crt=crt, key=key)


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """``port = await serve(handler, tls_context=None)``; every server is closed after the test.

    Each connection runs ``handler(reader, writer)``; the probe may hang up at
    any point, so connection errors inside a handler end it quietly.
    """
    servers: list[asyncio.Server] = []
    tasks: set[asyncio.Task[None]] = set()

    async def start(handler: Handler, tls_context: ssl.SSLContext | None = None) -> int:
        async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                tasks.add(task)
            try:
                await handler(reader, writer)
            except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(writer.wait_closed(), 1)

        server = await asyncio.start_server(run, "127.0.0.1", 0, ssl=tls_context)
        servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    yield start
    for server in servers:
        server.close()
    for task in list(tasks):
        if not task.done():
            task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for server in servers:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)


# -- the MTA-STS fetch tests ---------------------------------------------------


@pytest.fixture(scope="session")
def ca() -> LabCA:
    return LabCA()


@pytest.fixture(scope="session")
def trust(ca: LabCA) -> TrustStore:
    return TrustStore.from_pem(ca.root_pem(), "lab root")


@pytest.fixture(scope="session")
def good_cert(ca: LabCA) -> Issued:
    return ca.issue([POLICY_HOST])


@pytest.fixture(scope="session")
def wrong_name_cert(ca: LabCA) -> Issued:
    return ca.issue(["www.example.lab"])


@pytest.fixture(scope="session")
def untrusted_cert() -> Issued:
    return LabCA(name="mxtls untrusted root", slot=1).issue([POLICY_HOST])


@pytest.fixture
async def policy_world(tmp_path: Path) -> AsyncIterator[PolicyWorld]:
    w = PolicyWorld(cert_dir=tmp_path)
    try:
        yield w
    finally:
        await w.aclose()
