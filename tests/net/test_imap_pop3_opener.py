"""The one STARTTLS opener speaks IMAP and POP3 to a real Dovecot (Debian) on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from mxtls.checks.mailbox import check_mailbox
from mxtls.config import CheckConfig, Timeouts
from mxtls.engine.ping import ping_host
from mxtls.engine.runtime import Runtime
from mxtls.lab.ca import LabCA
from mxtls.models.observations import EndpointObservation
from mxtls.net.smtp_session import probe_endpoint
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


def _codes(obs: EndpointObservation) -> set[str]:
    return {f.code for f in check_mailbox(obs)}


@pytest.mark.parametrize(
    ("port", "protocol"), [(143, "imap"), (110, "pop3"), (993, "imap"), (995, "pop3")]
)
async def test_probe_records_mailbox_facts_and_a_sound_server_is_clean(
    dovecot: DovecotInstance, port: int, protocol: MailProtocol
) -> None:
    obs = await probe_endpoint(HOST, IP, port, _config(dovecot), protocol=protocol)
    assert obs.stopped_at is None, obs.stop_detail
    assert obs.protocol == protocol and obs.greeting is not None
    assert dovecot.greeting_token in obs.greeting.text
    assert obs.handshake is not None and obs.handshake.chain[0].sans == [HOST]
    assert obs.capabilities_tls and obs.banner is None and obs.ehlo is None
    if obs.tls_mode == "starttls":
        assert obs.starttls_offered is True and obs.upgrade_reply is not None
        assert obs.capabilities is not None
    assert _codes(obs) == set()
    sent = [t.text for t in obs.transcript if t.dir == "C"]
    verb = {"imap": "m2 STARTTLS", "pop3": "STLS"}[protocol]
    assert (verb in sent) == (obs.tls_mode == "starttls")


@pytest.fixture(scope="module")
def lax_dovecot() -> Iterator[DovecotInstance]:
    ok, reason = DovecotInstance.available()
    require_peer("Dovecot", ok, reason)
    issued = LabCA(name="mxtls dovecot lax root").issue([HOST])
    settings = {"disable_plaintext_auth": "no"}
    ports = {143: 0, 110: 0}
    with DovecotInstance(
        HOST, issued.chain_pem(), issued.key_pem(), ip="127.0.0.4", ports=ports, settings=settings
    ) as instance:
        yield instance


@pytest.mark.parametrize(("port", "protocol"), [(143, "imap"), (110, "pop3")])
async def test_login_before_tls_is_reported(
    lax_dovecot: DovecotInstance, port: int, protocol: MailProtocol
) -> None:
    obs = await probe_endpoint(HOST, lax_dovecot.ip, port, _config(lax_dovecot), protocol=protocol)
    assert obs.capabilities is not None
    expected = {"imap": "imap.auth_before_tls", "pop3": "pop3.auth_before_tls"}[protocol]
    assert _codes(obs) == {expected}


async def test_nothing_listening_is_unavailable(dovecot: DovecotInstance) -> None:
    with socket.socket() as s:
        s.bind((IP, 0))
        closed = s.getsockname()[1]
    config = CheckConfig(port_map=((143, closed), (110, closed)), timeouts=Timeouts.uniform(2))
    for port, protocol in ((143, "imap"), (110, "pop3")):
        obs = await probe_endpoint(HOST, IP, port, config, protocol=protocol)  # type: ignore[arg-type]
        expected = {"imap": "imap.unavailable", "pop3": "pop3.unavailable"}[protocol]
        assert _codes(obs) == {expected}
