"""Deep scan against a real Postfix (Debian, OpenSSL 3) configured old and new.

Skips, with the reason printed, only when Postfix cannot run here.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from mxtls.checks.deep_tls import check_deep
from mxtls.config import CheckConfig, Timeouts
from mxtls.lab.ca import LabCA
from mxtls.net.deep.hello import send_hello
from mxtls.net.deep.scanner import deep_scan_endpoint
from mxtls.protocol.tls_registry import TlsVersion, suites_for_version
from mxtls.protocol.tls_wire import build_client_hello
from mxtls.testing import PostfixInstance
from tests.peers import require_peer

pytestmark = pytest.mark.postfix

HOST = "mx.deep-postfix.test"
TARGET = f"{HOST}[127.0.0.1]:25"
# RFC 2409 §6.2, the 1024-bit Oakley group 2 prime: a real, widely deployed weak group.
OAKLEY_GROUP_2 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
    "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    16,
)
# Debian's OpenSSL 3 has no 3DES, RC4 or DES left (scripted doubles cover those); NULL
# and anonymous suites are still there at security level 0.
LEGACY_CIPHERS = (
    "DHE-RSA-AES128-SHA:ECDHE-RSA-NULL-SHA:AES128-SHA:AECDH-AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256"
)
SOUND_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


@pytest.fixture(scope="module")
def credentials(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes, Path]:
    require_peer("Postfix", *PostfixInstance.available())
    issued = LabCA(name="deep postfix").issue([HOST], key="rsa2048", key_slot=51)
    dh_file = tmp_path_factory.mktemp("dh") / "dh1024.pem"
    dh_file.write_text(_dh_params_pem(OAKLEY_GROUP_2, 2))
    dh_file.chmod(0o644)
    return issued.chain_pem(), issued.key_pem(), dh_file


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    length = bytes([size]) if size < 0x80 else bytes([0x82]) + size.to_bytes(2, "big")
    return bytes([tag]) + length + body


def _dh_params_pem(prime: int, generator: int) -> str:
    """PKCS #3 DHParameter (SEQUENCE of two INTEGERs) as PEM, for Postfix's dh file."""
    ints = b"".join(
        _der(0x02, n.to_bytes(n.bit_length() // 8 + 1, "big")) for n in (prime, generator)
    )
    b64 = base64.encodebytes(_der(0x30, ints)).decode("ascii")
    return f"-----BEGIN DH PARAMETERS-----\n{b64}-----END DH PARAMETERS-----\n"


def _postfix(credentials: tuple[bytes, bytes, Path], settings: dict[str, str]) -> Iterator[int]:
    chain, key, _ = credentials
    with PostfixInstance(HOST, chain, key, ports={25: 0}, settings=settings) as instance:
        yield instance.port_map[25]


@pytest.fixture(scope="module")
def legacy_port(credentials: tuple[bytes, bytes, Path]) -> Iterator[int]:
    """TLS 1.0-1.2 only, NULL, anonymous and static RSA suites, DH-1024, server order."""
    yield from _postfix(
        credentials,
        {
            "smtpd_tls_protocols": ">=TLSv1, <=TLSv1.2",
            "smtpd_tls_ciphers": "high",
            "tls_high_cipherlist": f"{LEGACY_CIPHERS}:@SECLEVEL=0",
            "smtpd_tls_dh1024_param_file": str(credentials[2]),
            "tls_preempt_cipherlist": "yes",
        },
    )


@pytest.fixture(scope="module")
def sound_port(credentials: tuple[bytes, bytes, Path]) -> Iterator[int]:
    """TLS 1.2 and 1.3, ECDHE AEAD only, no anonymous suites, client order."""
    yield from _postfix(
        credentials,
        {
            "smtpd_tls_protocols": ">=TLSv1.2",
            "smtpd_tls_ciphers": "high",
            "tls_high_cipherlist": SOUND_CIPHERS,
            "smtpd_tls_exclude_ciphers": "aNULL",
            "tls_preempt_cipherlist": "no",
        },
    )


def _config(port: int) -> CheckConfig:
    return CheckConfig(
        port_map=((25, port),), timeouts=Timeouts.uniform(3.0), ehlo_name="scanner.test"
    )


async def test_legacy_postfix(legacy_port: int) -> None:
    # Given Postfix with old protocols, weak and static-RSA suites, DH-1024 and its own order
    obs = await deep_scan_endpoint(HOST, "127.0.0.1", 25, _config(legacy_port))
    # Then the scan sees exactly that
    support = {p.version: p.support for p in obs.protocols}
    assert support == {
        "SSLv2": "rejected",
        "SSLv3": "rejected",
        "TLSv1": "accepted",
        "TLSv1.1": "accepted",
        "TLSv1.2": "accepted",
        "TLSv1.3": "rejected",
    }
    tls12 = obs.protocol("TLSv1.2")
    assert tls12 is not None and tls12.server_order is True
    assert [s.openssl_name for s in tls12.suites] == LEGACY_CIPHERS.split(":")
    tls10 = obs.protocol("TLSv1")
    assert tls10 is not None
    assert [s.openssl_name for s in tls10.suites] == LEGACY_CIPHERS.split(":")[:4]
    assert obs.dh_bits == 1024
    assert obs.behaviour is not None and obs.behaviour.fallback_scsv is True
    # And the findings name every weakness, and nothing else
    findings = check_deep(obs, TARGET)
    weak = next(f for f in findings if f.code == "tls.cipher_weak")
    assert "NULL" in weak.message and "anonymous" in weak.message
    codes = {f.code for f in findings}
    assert codes == {
        "tls.protocol_legacy",
        "tls.no_tls13",
        "tls.cipher_weak",
        "tls.no_forward_secrecy",
        "tls.dh_weak",
    }
    print(f"\nlegacy Postfix: {obs.connections_used} connections, {obs.elapsed_ms:.0f} ms")


async def test_sound_postfix_is_silent(sound_port: int) -> None:
    obs = await deep_scan_endpoint(HOST, "127.0.0.1", 25, _config(sound_port))
    assert check_deep(obs, TARGET) == []
    tls12 = obs.protocol("TLSv1.2")
    assert tls12 is not None and tls12.server_order is False
    assert {s.openssl_name for s in tls12.suites} == {
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-RSA-CHACHA20-POLY1305",
    }
    tls13 = obs.protocol("TLSv1.3")
    assert tls13 is not None and len(tls13.suites) == 3
    assert obs.default is not None and obs.default.version == "TLSv1.3"
    assert obs.behaviour is not None and obs.behaviour.fallback_scsv is True
    assert [c.key_type for c in obs.certificates] == ["RSA"]
    assert obs.certificates[0].chain[0].sans == [HOST]
    assert not obs.throttled and not obs.untested
    print(f"\nsound Postfix: {obs.connections_used} connections, {obs.elapsed_ms:.0f} ms")


async def test_postfix_answers_a_hello_with_every_suite(sound_port: int) -> None:
    # OpenSSL (and so Postfix) takes a hello with all 338 TLS 1.2 suites; the
    # 128-suite chunks are for servers that do not.
    suites = suites_for_version(TlsVersion.TLS1_2)
    assert len(suites) > 300
    hello = build_client_hello(TlsVersion.TLS1_2, suites, server_name=HOST).to_bytes()
    result = await asyncio.wait_for(
        send_hello("127.0.0.1", 25, _config(sound_port), hello, flight=False), 10
    )
    assert result.outcome == "hello"
    assert result.server_hello is not None and result.server_hello.cipher_suite == 0xC02F


@pytest.fixture(scope="module")
def stock_port(credentials: tuple[bytes, bytes, Path]) -> Iterator[int]:
    """Postfix as Debian ships it: no DH file, OpenSSL picks a group per suite."""
    yield from _postfix(credentials, {"smtpd_tls_protocols": ">=TLSv1"})


async def test_stock_postfix_weak_dh_hides_behind_anonymous_suites(stock_port: int) -> None:
    # Given a stock Postfix, whose OpenSSL gives 128-bit anonymous suites a
    # 1024-bit group while DHE-RSA suites get 2048 bits (found by the benchmark
    # against sslyze, which reports per-suite DH sizes),
    obs = await deep_scan_endpoint(HOST, "127.0.0.1", 25, _config(stock_port))
    # then the smallest group is the one reported and judged.
    assert obs.dh_bits == 1024
    assert "tls.dh_weak" in {f.code for f in check_deep(obs, TARGET)}
