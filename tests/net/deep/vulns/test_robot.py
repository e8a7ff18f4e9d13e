"""ROBOT: fires on a leaky RSA padding check, silent on uniform answers and no RSA."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mxtls.lab.ca import Issued
from mxtls.net.deep.vulns import ProbeContext, probe_robot
from mxtls.net.deep.vulns.robot import (
    PAYLOADS,
    classify_oracle,
    client_key_exchange,
    encode_premaster,
)

from .doubles import (
    MX,
    SslPeer,
    TlsDouble,
    config,
    flaky,
    leaky_strong,
    leaky_weak,
    padding_error,
    robot_server,
    rsa_decrypt,
    uniform,
)

RSA_AES128_GCM = 0x009C


def _ctx(port: int, logical: int = 465) -> ProbeContext:
    return ProbeContext(MX, "127.0.0.1", logical, config(port, logical), asyncio.Semaphore(4))


def test_payload_blocks_are_what_they_claim() -> None:
    # Each variant is a k-byte block with exactly the intended defect
    expected = {
        "valid": None,
        "wrong_first_two_bytes": "header",
        "wrong_position_00": "length",
        "no_00_in_the_middle": "separator",
        "wrong_version_number": "version",
    }
    for payload in PAYLOADS:
        block = encode_premaster(payload, 256, 0x0303)
        assert len(block) == 256
        assert 0 not in block[2 : 256 - 51], payload  # PKCS #1 padding bytes are non-zero
        assert padding_error(block) == expected[payload], payload
    with pytest.raises(ValueError):
        encode_premaster("valid", 58, 0x0303)


@pytest.mark.parametrize("record_version", [0x0303, 0x0300])
def test_client_key_exchange_decrypts_to_the_block(rsa_leaf: Issued, record_version: int) -> None:
    key = rsa_leaf.cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    cke = client_key_exchange("wrong_version_number", key.public_numbers(), 0x0303, record_version)
    prefix = 2 if record_version == 0x0303 else 0  # SSL 3.0 has no length prefix
    assert cke[:3] == bytes([22]) + record_version.to_bytes(2, "big")
    assert int.from_bytes(cke[3:5], "big") == 4 + prefix + 256
    assert cke[5] == 16 and int.from_bytes(cke[6:9], "big") == prefix + 256
    ciphertext = cke[9 + prefix :]
    assert rsa_decrypt(rsa_leaf, ciphertext) == encode_premaster(
        "wrong_version_number", 256, 0x0303
    )


def test_oracle_classes() -> None:
    same = dict.fromkeys(PAYLOADS, "alert fatal bad_record_mac")
    assert classify_oracle(same) is None
    weak = {
        **same,
        "wrong_first_two_bytes": "x",
        "wrong_position_00": "x",
        "no_00_in_the_middle": "x",
    }
    assert classify_oracle(weak) == "weak"
    assert classify_oracle({**same, "no_00_in_the_middle": "silence"}) == "strong"


async def test_strong_oracle_is_vulnerable(rsa_leaf: Issued) -> None:
    # Given an RSA server whose alert depends on the padding error
    async with TlsDouble(rsa_leaf, robot_server(leaky_strong), suite=RSA_AES128_GCM) as server:
        obs = await probe_robot(_ctx(server.port))
    # Then two identical rounds of different answers make an oracle
    assert obs.vulnerable is True, obs
    assert obs.oracle == "strong"
    assert obs.rsa_key_exchange is True
    assert obs.modulus_bits == 2048
    assert obs.connections == 10 and server.connections == 10
    assert len(obs.rounds) == 2
    assert obs.rounds[0]["wrong_first_two_bytes"] == "alert fatal decrypt_error"
    assert obs.rounds[0]["valid"] == "alert fatal bad_record_mac"


async def test_weak_oracle_behind_starttls(rsa_leaf: Issued) -> None:
    double = TlsDouble(rsa_leaf, robot_server(leaky_weak), suite=RSA_AES128_GCM, smtp=True)
    async with double as server:
        obs = await probe_robot(_ctx(server.port, 25))
    assert obs.vulnerable is True, obs
    assert obs.oracle == "weak"


async def test_uniform_answers_are_sound(rsa_leaf: Issued) -> None:
    async with TlsDouble(rsa_leaf, robot_server(uniform), suite=RSA_AES128_GCM) as server:
        obs = await probe_robot(_ctx(server.port))
    assert obs.vulnerable is False, obs
    assert obs.connections == 5
    assert obs.rounds == [dict.fromkeys(PAYLOADS, "alert fatal bad_record_mac")]


async def test_inconsistent_rounds_are_not_tested(rsa_leaf: Issued) -> None:
    async with TlsDouble(rsa_leaf, robot_server(flaky), suite=RSA_AES128_GCM) as server:
        obs = await probe_robot(_ctx(server.port))
    assert obs.vulnerable is None
    assert obs.not_tested_reason and "inconsistent" in obs.not_tested_reason
    assert len(obs.rounds) == 2


async def test_openssl_rsa_peer_is_sound(rsa_files: tuple[Path, Path]) -> None:
    # Real OpenSSL with RSA key exchange: implicit rejection, one answer for all
    async with SslPeer(*rsa_files, ciphers="AES128-GCM-SHA256:AES256-SHA") as peer:
        obs = await probe_robot(_ctx(peer.port))
    assert obs.vulnerable is False, obs
    assert obs.rsa_key_exchange is True
    assert obs.cipher_suite == "TLS_RSA_WITH_AES_128_GCM_SHA256"
    assert obs.connections == 5


async def test_no_rsa_key_exchange_is_sound(rsa_files: tuple[Path, Path]) -> None:
    async with SslPeer(*rsa_files, ciphers="ECDHE+AESGCM") as peer:
        obs = await probe_robot(_ctx(peer.port))
    assert obs.vulnerable is False, obs
    assert obs.rsa_key_exchange is False
    assert obs.connections == 1
    assert "handshake_failure" in obs.evidence[0]


def test_rsa_leaf_is_rsa(rsa_leaf: Issued) -> None:
    assert isinstance(rsa_leaf.key, rsa.RSAPrivateKey)
