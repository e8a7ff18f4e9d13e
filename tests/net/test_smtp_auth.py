"""SMTP AUTH against a real Postfix (Debian) that authenticates through a real Dovecot SASL.

Postfix runs on 127.0.0.3 with ``smtpd_sasl_type = dovecot`` pointing at a
private Dovecot's auth service on 127.0.0.2, which holds one test account.
Port 25 takes AUTH before TLS (``smtpd_tls_auth_only = no``), 587 does not.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from mxtls.checks.auth import check_auth
from mxtls.config import CheckConfig, Timeouts
from mxtls.lab.ca import LabCA
from mxtls.models.observations import EndpointObservation
from mxtls.net.smtp_session import probe_endpoint
from mxtls.protocol.sasl import Credentials, Secret
from mxtls.testing import DovecotInstance, PostfixInstance
from tests.peers import require_peer

HOST = "smtp.auth.test"
USER = "alice"
PASSWORD = "Tr0ub4dor&3-correct-horse"  # the one secret no output may ever show


@dataclass(frozen=True)
class AuthPeer:
    ip: str
    port_map: dict[int, int]


def _peer(mechanisms: str) -> Iterator[AuthPeer]:
    for daemon in (DovecotInstance, PostfixInstance):
        ok, reason = daemon.available()
        require_peer(daemon.__name__.removesuffix("Instance"), ok, reason)
    issued = LabCA(name="mxtls auth lab root").issue([HOST])
    chain, key = issued.chain_pem(), issued.key_pem()
    with DovecotInstance(
        HOST,
        chain,
        key,
        ip="127.0.0.2",
        ports={143: 0},
        users={USER: PASSWORD},
        auth_port=True,
        auth_delays=False,
        settings={"auth_mechanisms": mechanisms},
    ) as dovecot:
        sasl_ip, sasl_port = dovecot.auth_address
        settings = {
            "smtpd_sasl_type": "dovecot",
            "smtpd_sasl_path": f"inet:{sasl_ip}:{sasl_port}",
            "smtpd_sasl_auth_enable": "yes",
        }
        services = {25: {"smtpd_tls_auth_only": "no"}, 587: {"smtpd_tls_auth_only": "yes"}}
        with PostfixInstance(
            HOST, chain, key, ip="127.0.0.3", settings=settings, service_settings=services
        ) as postfix:
            yield AuthPeer(postfix.ip, postfix.port_map)


@pytest.fixture(scope="module")
def scram_peer() -> Iterator[AuthPeer]:
    yield from _peer("plain login scram-sha-256")


@pytest.fixture(scope="module")
def plain_peer() -> Iterator[AuthPeer]:
    yield from _peer("plain login")


def _config(peer: AuthPeer, password: str, **kw: object) -> CheckConfig:
    return CheckConfig(
        port_map=tuple(peer.port_map.items()),
        timeouts=Timeouts.uniform(5.0),
        auth=Credentials(USER, Secret(password)),
        **kw,  # type: ignore[arg-type]
    )


def _no_secret_in(obs: EndpointObservation) -> None:
    dumped = obs.model_dump_json()
    plain_blob = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    for needle in (PASSWORD, plain_blob, base64.b64encode(PASSWORD.encode()).decode()):
        assert needle not in dumped


@pytest.mark.parametrize("port", [587, 465])
async def test_scram_inside_tls_is_accepted_and_the_server_proves_itself(
    scram_peer: AuthPeer, port: int
) -> None:
    obs = await probe_endpoint(HOST, scram_peer.ip, port, _config(scram_peer, PASSWORD))
    assert obs.stopped_at is None, obs.stop_detail
    assert obs.auth is not None and obs.auth.in_tls
    assert (obs.auth.mechanism, obs.auth.outcome, obs.auth.reply_code) == (
        "SCRAM-SHA-256",
        "accepted",
        235,
    )
    assert obs.auth.server_verified is True and obs.auth.round_trips == 2
    assert check_auth(obs) == []
    assert ("C", "AUTH SCRAM-SHA-256 <redacted>") in [(t.dir, t.text) for t in obs.transcript]
    _no_secret_in(obs)


async def test_wrong_password_is_auth_failed_with_the_reply(scram_peer: AuthPeer) -> None:
    obs = await probe_endpoint(HOST, scram_peer.ip, 587, _config(scram_peer, "wrong-password"))
    assert obs.auth is not None and obs.auth.outcome == "refused" and obs.auth.reply_code == 535
    [finding] = check_auth(obs)
    assert finding.code == "auth.failed" and "535" in finding.message
    assert "wrong-password" not in obs.model_dump_json() + finding.message


async def test_plain_is_used_inside_tls_when_scram_is_not_offered(plain_peer: AuthPeer) -> None:
    obs = await probe_endpoint(HOST, plain_peer.ip, 587, _config(plain_peer, PASSWORD))
    assert obs.auth is not None
    assert (obs.auth.mechanism, obs.auth.outcome) == ("PLAIN", "accepted")
    texts = [t.text for t in obs.transcript if t.dir == "C"]
    assert "AUTH PLAIN <redacted>" in texts
    _no_secret_in(obs)


async def test_auth_before_tls_is_tested_with_throwaway_credentials(scram_peer: AuthPeer) -> None:
    cfg = _config(scram_peer, PASSWORD, auth_check_plaintext=True)
    # Port 25 takes AUTH in clear: the throw-away credentials get a 535
    relay = await probe_endpoint(HOST, scram_peer.ip, 25, cfg)
    assert relay.auth_plaintext is not None and relay.auth_plaintext.probe
    assert (relay.auth_plaintext.mechanism, relay.auth_plaintext.reply_code) == ("PLAIN", 535)
    assert [f.code for f in check_auth(relay)] == ["auth.plaintext_accepted"]
    assert relay.auth is None  # 25 is not a submission port: the user's secret stays home
    # 587 refuses AUTH before STARTTLS (530), then authenticates inside TLS
    submission = await probe_endpoint(HOST, scram_peer.ip, 587, cfg)
    assert submission.auth_plaintext is not None
    assert submission.auth_plaintext.reply_code == 530
    assert submission.auth is not None and submission.auth.outcome == "accepted"
    assert check_auth(submission) == []
    for obs in (relay, submission):
        _no_secret_in(obs)


async def test_no_tls_means_the_credentials_are_not_sent(plain_peer: AuthPeer) -> None:
    # Given plaintext SMTP where implicit TLS is expected: no TLS session can start
    cfg = CheckConfig(
        port_map=((465, plain_peer.port_map[25]),),  # plaintext SMTP where TLS is expected
        timeouts=Timeouts.uniform(2.0),
        auth=Credentials(USER, Secret(PASSWORD)),
    )
    obs = await probe_endpoint(HOST, plain_peer.ip, 465, cfg)
    assert obs.handshake is None
    assert obs.auth is not None and obs.auth.outcome == "not_sent"
    assert "never sent in clear" in (obs.auth.detail or "")
    assert check_auth(obs) == []
    _no_secret_in(obs)
