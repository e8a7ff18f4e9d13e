"""One probe's outcomes against scripted peers, and check_deep on edge observations."""

from __future__ import annotations

from mxtls.checks.deep_tls import check_deep
from mxtls.models.deep import (
    DeepScanObservation,
    NegotiatedDefault,
    ProtocolResult,
    SuiteInfo,
)
from mxtls.net.deep.hello import send_hello
from mxtls.protocol.tls_registry import TlsVersion
from mxtls.protocol.tls_wire import build_client_hello
from tests.net.deep.doubles import ScriptedServer, alert

TARGET = "mx.double.test[127.0.0.1]:25"
HELLO = build_client_hello(TlsVersion.TLS1_2, [0xC02F]).to_bytes()


async def test_outcomes_are_data() -> None:
    cases = {
        "alert": lambda _h: alert(40),
        "closed": lambda _h: None,
        "sslv2_error": lambda _h: b"\x80\x03\x00\x00\x01",
        "malformed": lambda _h: b"HTTP/1.0 400 Bad Request\r\n\r\n",
        "timeout": lambda _h: b"",
    }
    for outcome, handler in cases.items():
        async with ScriptedServer(handler) as server:
            result = await send_hello("127.0.0.1", 25, server.config(handshake=0.3), HELLO)
        assert result.outcome == outcome, (outcome, result)
        assert result.answered is (outcome != "timeout")


async def test_throttled_channel_is_no_channel() -> None:
    async with ScriptedServer(lambda _h: alert(40), limit=0) as server:
        result = await send_hello("127.0.0.1", 25, server.config(), HELLO)
    assert result.outcome == "no_channel"
    assert result.failure is not None and result.failure.throttled


def _obs(**fields: object) -> DeepScanObservation:
    base: dict[str, object] = {"host": "mx.double.test", "ip": "127.0.0.1", "port": 25}
    return DeepScanObservation.model_validate({**base, **fields})


def test_unknown_tls13_is_not_reported_missing() -> None:
    aes = SuiteInfo(code=0xC02F, iana_name="TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    obs = _obs(
        protocols=[
            ProtocolResult(version="TLSv1.2", support="accepted", suites=[aes]),
            ProtocolResult(version="TLSv1.3", support="unknown", complete=False),
        ]
    )
    assert check_deep(obs, TARGET) == []


def test_static_rsa_by_preference_names_the_default() -> None:
    rsa = SuiteInfo(code=0x009C, iana_name="TLS_RSA_WITH_AES_128_GCM_SHA256")
    obs = _obs(
        protocols=[ProtocolResult(version="TLSv1.2", support="accepted", suites=[rsa])],
        default=NegotiatedDefault(version="TLSv1.2", suite=rsa, forward_secret=False),
    )
    findings = check_deep(obs, TARGET)
    [fs] = findings
    assert fs.code == "tls.no_forward_secrecy" and fs.severity.value == "warning"
    assert "current client" in fs.message


def test_dh_1024_is_weak_and_2048_is_not() -> None:
    assert [f.code for f in check_deep(_obs(dh_bits=1024), TARGET)] == ["tls.dh_weak"]
    assert check_deep(_obs(dh_bits=2048), TARGET) == []
