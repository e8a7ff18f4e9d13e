"""E-mail alerts through a real local SMTP server (aiosmtpd) over STARTTLS and implicit TLS."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from mxtls.lab.ca import LabCA
from mxtls.monitor.config import EmailSpec, Secret
from mxtls.monitor.email import compose, send
from mxtls.net.stream import CLOSE_WAIT_SECONDS

USER, PASSWORD = "alerts", "smtp-password-from-env-42"
IDLE_WAIT_S = 10.0  # bound on the sink's connections ending before it stops
LINGER_S = 5.0  # a slow server's delay between its 221 and its TLS close (> CLOSE_WAIT_SECONDS)
PAYLOADS = [
    {
        "event": "finding.new",
        "domain": "good.lab",
        "checked_at": "2026-01-01T00:00:00+00:00",
        "changes": [
            {
                "type": "finding.new",
                "code": "cert.expired",
                "severity": "error",
                "target": "mx.good.lab[127.0.0.1]:25",
                "message": "m",
            }
        ],
        "report": {"verdict": {"dane": "refuses"}},
    }
]


class Sink:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope.content)
        return "250 OK"


def authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    ca = LabCA(name="mxtls smtp sink root")
    issued = ca.issue(["localhost"])
    d = tmp_path_factory.mktemp("smtp-sink")
    crt, key = issued.write(d, "sink")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(crt, key)
    return context, ca.write_root(d / "root.pem")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def spec(port: int, tls_mode: str, ca: Path, password: str = PASSWORD) -> EmailSpec:
    return EmailSpec(
        to=("postmaster@good.lab",),
        host="localhost",
        port=port,
        tls=tls_mode,
        sender="mxtls@good.lab",
        username=Secret(USER, "env:SMTP_USER"),
        password=Secret(password, "env:SMTP_PASSWORD"),
        ca_file=ca,
        events=None,
        timeout_s=10,
    )


class SinkSMTP(SMTP):
    """aiosmtpd's server, counting live connections; ``linger_s`` delays its close after QUIT."""

    def __init__(self, controller: SinkController, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.controller = controller

    def connection_made(self, transport: Any) -> None:
        if self.transport is None:  # not the second call, after STARTTLS
            self.controller.connections_changed(+1)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)  # the socket is closed by now
        self.controller.connections_changed(-1)

    async def smtp_QUIT(self, arg: str) -> None:  # noqa: N802
        if not self.controller.linger_s or arg:
            await super().smtp_QUIT(arg)
            return
        await self.push("221 Bye")  # then no close_notify for a while: a server slow to let go
        await asyncio.sleep(self.controller.linger_s)
        assert self.transport is not None
        self.transport.close()


class SinkController(Controller):
    """Stops once every connection has ended, so no socket of the sink's loop is left open."""

    def __init__(self, *args: Any, linger_s: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.linger_s = linger_s
        self.live = 0
        self.idle = threading.Condition()

    def factory(self) -> SMTP:
        return SinkSMTP(self, self.handler, **self.SMTP_kwargs)

    def connections_changed(self, delta: int) -> None:
        with self.idle:
            self.live += delta
            self.idle.notify_all()

    def stop(self, no_assert: bool = False) -> None:
        with self.idle:
            ended = self.idle.wait_for(lambda: self.live == 0, timeout=IDLE_WAIT_S)
        super().stop(no_assert)
        assert ended, f"the sink still had {self.live} connection(s) after {IDLE_WAIT_S}s"


def client_sockets_to(port: int) -> int:
    """How many sockets of this process are connected to loopback ``port`` (clients' ends)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            with socket.socket(fileno=os.dup(int(fd))) as s:
                peer = s.getpeername()
        except OSError:  # not a socket, not connected, or closed meanwhile
            continue
        count += isinstance(peer, tuple) and peer[1] == port
    return count


def run_sink(linger_s: float = 0.0, **options: Any) -> Iterator[tuple[Sink, int]]:
    """An aiosmtpd server on a free loopback port, with AUTH, until the test ends."""
    sink, port = Sink(), free_port()
    controller = SinkController(
        sink,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        linger_s=linger_s,
        **options,
    )
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.fixture
def starttls_sink(tls: tuple[ssl.SSLContext, Path]) -> Iterator[tuple[Sink, int]]:
    yield from run_sink(tls_context=tls[0], require_starttls=True, auth_require_tls=True)


@pytest.fixture
def implicit_sink(tls: tuple[ssl.SSLContext, Path]) -> Iterator[tuple[Sink, int]]:
    # aiosmtpd sees no STARTTLS here, yet the whole session is TLS
    yield from run_sink(ssl_context=tls[0], auth_require_tls=False)


async def test_starttls_with_auth(
    starttls_sink: tuple[Sink, int], tls: tuple[ssl.SSLContext, Path]
) -> None:
    sink, port = starttls_sink
    s = spec(port, "starttls", tls[1])
    result = await send(s, compose(s, "good.lab", PAYLOADS))
    assert result.delivered, result.error
    (raw,) = sink.messages
    msg = message_from_bytes(raw)
    assert msg["Subject"] == "mxtls: good.lab: 1 change(s)"
    body = raw.decode()
    assert "cert.expired (error) at mx.good.lab[127.0.0.1]:25" in body
    assert PASSWORD not in body and USER not in msg["From"]


async def test_implicit_tls(
    implicit_sink: tuple[Sink, int], tls: tuple[ssl.SSLContext, Path]
) -> None:
    sink, port = implicit_sink
    s = spec(port, "implicit", tls[1])
    assert (await send(s, compose(s, "good.lab", PAYLOADS))).delivered
    assert len(sink.messages) == 1


@pytest.fixture(params=["implicit", "starttls"])
def lingering_sink(
    request: pytest.FixtureRequest, tls: tuple[ssl.SSLContext, Path]
) -> Iterator[tuple[Sink, int, str]]:
    if request.param == "implicit":
        options: dict[str, Any] = {"ssl_context": tls[0], "auth_require_tls": False}
    else:
        options = {"tls_context": tls[0], "require_starttls": True, "auth_require_tls": True}
    for sink, port in run_sink(linger_s=LINGER_S, **options):
        yield sink, port, request.param


async def test_the_connection_has_ended_when_send_returns(
    lingering_sink: tuple[Sink, int, str], tls: tuple[ssl.SSLContext, Path]
) -> None:
    # A server that answers QUIT but sends its TLS close late (as a loaded one does):
    # the client's socket must not outlive send(), or a short run's loop ends with
    # it open (the ResourceWarning "unclosed transport" this test once flaked with).
    sink, port, mode = lingering_sink
    s = spec(port, mode, tls[1])
    started = time.monotonic()
    assert (await send(s, compose(s, "good.lab", PAYLOADS))).delivered
    assert len(sink.messages) == 1
    assert client_sockets_to(port) == 0
    assert time.monotonic() - started < LINGER_S  # dropped after CLOSE_WAIT_SECONDS, not waited out
    assert CLOSE_WAIT_SECONDS < LINGER_S


async def test_failures_are_results_without_the_secret(
    starttls_sink: tuple[Sink, int], tls: tuple[ssl.SSLContext, Path], tmp_path: Path
) -> None:
    sink, port = starttls_sink
    closed = spec(free_port(), "starttls", tls[1])  # nobody listens there
    refused = await send(closed, compose(closed, "good.lab", PAYLOADS))
    assert not refused.delivered and refused.error and PASSWORD not in refused.error
    other_root = LabCA(name="someone else's root").write_root(tmp_path / "other.pem")
    untrusted = spec(port, "starttls", other_root)  # the sink's certificate does not verify
    result = await send(untrusted, compose(untrusted, "good.lab", PAYLOADS))
    assert not result.delivered and result.error and "CERTIFICATE_VERIFY_FAILED" in result.error
    assert sink.messages == []
