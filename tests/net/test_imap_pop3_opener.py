"""The one STARTTLS opener speaks IMAP and POP3 to a real Dovecot (Debian) on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mxtls.config import CheckConfig
from mxtls.engine.ping import ping_host
from mxtls.engine.runtime import Runtime
from mxtls.lab.ca import LabCA
from mxtls.net.starttls import Dialogue, Stopped, open_tls_start
from mxtls.net.tls import tls_handshake
from mxtls.protocol.starttls import IMAP, POP3, Dialect, MailProtocol
from mxtls.testing.dovecot import DovecotInstance
from tests.peers import require_peer

HOST = "mail.dovecot.test"
IP = "127.0.0.2"  # Dovecot "secures" a client whose address equals its own


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotInstance]:
    require_peer("Dovecot", *DovecotInstance.available())
    issued = LabCA(name="mxtls dovecot opener root").issue([HOST])
    with DovecotInstance(HOST, issued.chain_pem(), issued.key_pem(), ip=IP) as instance:
        yield instance


def _config(dovecot: DovecotInstance) -> CheckConfig:
    return CheckConfig(port_map=tuple(dovecot.port_map.items()))


@pytest.mark.parametrize(
    ("dialect", "port", "before", "after"),
    [
        (IMAP, 143, {"LOGINDISABLED": []}, {"AUTH": ["PLAIN", "LOGIN"]}),
        (POP3, 110, {"SASL": []}, {"USER": [], "SASL": ["PLAIN", "LOGIN"]}),
    ],
    ids=["imap", "pop3"],
)
async def test_walk_to_tls_and_ask_again_inside(
    dovecot: DovecotInstance,
    dialect: Dialect[object, object],
    port: int,
    before: dict[str, list[str]],
    after: dict[str, list[str]],
) -> None:
    # Given Dovecot's default policy (no plaintext login before TLS)
    opened = await open_tls_start(IP, port, dialect, _config(dovecot))
    assert isinstance(opened, Dialogue), opened
    try:
        # Then the capabilities in clear say so, and the upgrade was offered and taken
        caps = opened.seen.capabilities
        assert dialect.starttls_name in caps and before.items() <= caps.items()
        assert "USER" not in caps and "AUTH" not in caps
        assert opened.seen.leftover == b""
        # When TLS starts where the opener stopped
        result = await tls_handshake(opened.raw, server_name=HOST, timeout=5)
        assert result.stream is not None and result.handshake is not None, result.error
        assert result.handshake.chain[0].sans == [HOST]
        opened.upgrade(result.stream)
        # Then the capabilities asked again inside TLS offer the logins
        await opened.hello(f"{dialect.hello_step}_tls")
        assert after.items() <= opened.seen.capabilities.items()
        assert dialect.starttls_name not in opened.seen.capabilities
        await opened.goodbye()
    finally:
        opened.raw.abort()


@pytest.mark.parametrize(("dialect", "port"), [(IMAP, 993), (POP3, 995)], ids=["imaps", "pop3s"])
async def test_implicit_tls_ports(
    dovecot: DovecotInstance, dialect: Dialect[object, object], port: int
) -> None:
    opened = await open_tls_start(IP, port, dialect, _config(dovecot))
    assert isinstance(opened, Dialogue)
    try:
        result = await tls_handshake(opened.raw, server_name=HOST, timeout=5)
        assert result.stream is not None, result.error
        opened.upgrade(result.stream)
        greeting = await opened.greeting()
        assert dovecot.greeting_token in dialect.summary(greeting)
    finally:
        opened.raw.abort()


async def test_wrong_protocol_is_a_protocol_stop(dovecot: DovecotInstance) -> None:
    # POP3 spoken to the IMAP port: the codec refuses the greeting, as data
    stop = await open_tls_start(
        IP, 143, POP3, CheckConfig(port_map=((143, dovecot.port_map[143]),))
    )
    assert isinstance(stop, Stopped) and stop.kind == "protocol"
    assert "malformed status line" in stop.detail


@pytest.mark.parametrize(
    ("port", "protocol", "steps"),
    [
        (143, "imap", ["connect", "greeting", "capability", "starttls", "handshake"]),
        (995, "pop3", ["connect", "handshake", "greeting", "capa_tls", "quit", "total"]),
    ],
)
async def test_ping_times_imap_and_pop3_sessions(
    dovecot: DovecotInstance, port: int, protocol: MailProtocol, steps: list[str]
) -> None:
    report = await ping_host(
        IP, port, Runtime(_config(dovecot)), protocol=protocol, count=2, interval=0.5
    )
    assert report.stopped is None and all(s.complete for s in report.samples)
    assert list(report.samples[0].timings_ms)[: len(steps)] == steps
    assert report.stats["handshake"].count == 2
