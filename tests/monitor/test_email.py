"""E-mail alerts through a real local SMTP server (aiosmtpd) over STARTTLS and implicit TLS."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from mxtls.lab.ca import LabCA
from mxtls.monitor.config import EmailSpec, Secret
from mxtls.monitor.email import compose, send

USER, PASSWORD = "alerts", "smtp-password-from-env-42"
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


def run_sink(**options: Any) -> Iterator[tuple[Sink, int]]:
    """An aiosmtpd server on a free loopback port, with AUTH, until the test ends."""
    sink, port = Sink(), free_port()
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, authenticator=authenticator, **options
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
