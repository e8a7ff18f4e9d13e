"""Deep scan against scripted old servers: what OpenSSL 3 can no longer serve.

Each scenario is a record-level double (tests/net/deep/doubles.py) behind a real
SMTP STARTTLS exchange on loopback; the scan and the checks run unchanged.
"""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from mxtls.checks.deep_tls import check_deep
from mxtls.lab.ca import LabCA
from mxtls.models.deep import DeepScanObservation
from mxtls.net.deep.scanner import deep_scan_endpoint
from mxtls.protocol.tls_registry import TlsVersion
from tests.net.deep.doubles import OldServer, ScriptedServer

HOST = "mx.double.test"
TARGET = f"{HOST}[127.0.0.1]:25"


@pytest.fixture(scope="module")
def ca() -> LabCA:
    return LabCA(name="deep doubles")


@pytest.fixture(scope="module")
def rsa_cert(ca: LabCA) -> bytes:
    issued = ca.issue([HOST], key="rsa2048", key_slot=31)
    return issued.cert.public_bytes(serialization.Encoding.DER)


async def _scan(handler: OldServer) -> tuple[DeepScanObservation, set[str]]:
    async with ScriptedServer(handler) as server:
        obs = await deep_scan_endpoint(HOST, "127.0.0.1", 25, server.config())
    assert obs.connections_used == server.connections
    return obs, {f.code for f in check_deep(obs, TARGET)}


async def test_sslv3_with_cbc_is_obsolete_and_poodle(rsa_cert: bytes) -> None:
    # Given a server that speaks only SSLv3 with CBC suites (and 3DES)
    server = OldServer(versions=(TlsVersion.SSL3,), suites=(0x002F, 0x000A), cert_der=rsa_cert)
    # When it is scanned
    obs, codes = await _scan(server)
    # Then SSLv3 is the only version, with both suites, and the findings say so
    sslv3 = obs.protocol("SSLv3")
    assert sslv3 is not None and sslv3.support == "accepted"
    assert [s.code for s in sslv3.suites] == [0x002F, 0x000A]
    assert sslv3.server_order is True
    for version in ("SSLv2", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"):
        assert obs.protocol(version).support == "rejected", version  # type: ignore[union-attr]
    messages = " ".join(f.message for f in check_deep(obs, TARGET))
    assert "POODLE" in messages and "SWEET32" in messages
    assert codes == {
        "tls.protocol_obsolete",
        "tls.no_tls13",
        "tls.cipher_weak",
        "tls.no_forward_secrecy",
    }
    assert obs.behaviour is not None and obs.behaviour.version == "SSLv3"
    assert obs.behaviour.secure_renegotiation is True  # answered to the SCSV


async def test_sslv2_server_hello_is_drown_exposure(rsa_cert: bytes) -> None:
    server = OldServer(
        versions=(TlsVersion.TLS1_2,),
        suites=(0xC02F,),
        cert_der=rsa_cert,
        sslv2_specs=(0x010080, 0x020080, 0x0700C0),
    )
    obs, codes = await _scan(server)
    sslv2 = obs.protocol("SSLv2")
    assert sslv2 is not None and sslv2.support == "accepted"
    assert [s.openssl_name for s in sslv2.suites] == ["RC4-MD5", "EXP-RC4-MD5", "DES-CBC3-MD5"]
    assert "tls.protocol_obsolete" in codes and "tls.cipher_weak" in codes
    drown = [f for f in check_deep(obs, TARGET) if f.code == "tls.protocol_obsolete"]
    assert "DROWN" in drown[0].message


async def test_export_and_null_suites_are_weak(rsa_cert: bytes) -> None:
    # RSA EXPORT (FREAK), DHE EXPORT with a 512-bit group (Logjam), NULL
    server = OldServer(
        versions=(TlsVersion.TLS1_0,),
        suites=(0x0003, 0x0014, 0x0002),
        cert_der=rsa_cert,
        dh_bits=512,
    )
    obs, codes = await _scan(server)
    tls10 = obs.protocol("TLSv1")
    assert tls10 is not None
    assert {s.code for s in tls10.suites} == {0x0003, 0x0014, 0x0002}
    assert obs.dh_bits == 512
    findings = check_deep(obs, TARGET)
    weak = next(f for f in findings if f.code == "tls.cipher_weak")
    assert "FREAK" in weak.message and "Logjam" in weak.message and "NULL" in weak.message
    dh = next(f for f in findings if f.code == "tls.dh_weak")
    assert "Logjam" in dh.message
    assert {"tls.protocol_legacy", "tls.no_tls13", "tls.no_forward_secrecy"} <= codes


async def test_deflate_no_reneg_no_ems(rsa_cert: bytes) -> None:
    server = OldServer(
        versions=(TlsVersion.TLS1_2,),
        suites=(0xC02F, 0xC030),
        cert_der=rsa_cert,
        deflate=True,
        renegotiation_info=False,
        ems=False,
    )
    obs, codes = await _scan(server)
    assert obs.behaviour is not None
    assert obs.behaviour.compression == 1
    assert obs.behaviour.secure_renegotiation is False
    assert obs.behaviour.extended_master_secret is False
    assert obs.behaviour.fallback_scsv is None  # a single version: nothing to fall back to
    assert codes == {"tls.compression", "tls.insecure_renegotiation", "tls.no_ems", "tls.no_tls13"}


@pytest.fixture(scope="module")
def revoked_and_stapled(ca: LabCA) -> tuple[bytes, bytes]:
    """A certificate (DER) and a stapled OCSP response saying it is revoked.

    Built here, before any event loop runs: RSA key generation takes up to
    100 ms of CPU, which inside the test would be a callback blocking the
    loop (the loop watchdog of tests/conftest.py fails the test for it).
    """
    issued = ca.issue([HOST], key="rsa2048", key_slot=32)
    now = dt.datetime.now(dt.UTC)
    response = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=issued.cert,
            issuer=ca.intermediate,
            algorithm=hashes.SHA256(),
            cert_status=ocsp.OCSPCertStatus.REVOKED,
            this_update=now,
            next_update=now + dt.timedelta(days=1),
            revocation_time=now - dt.timedelta(days=1),
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, ca.intermediate)
        .sign(ca.intermediate_key, hashes.SHA256())
    )
    return (
        issued.cert.public_bytes(serialization.Encoding.DER),
        response.public_bytes(serialization.Encoding.DER),
    )


async def test_fallback_scsv_ignored_and_stapled_ocsp(
    revoked_and_stapled: tuple[bytes, bytes],
) -> None:
    cert_der, ocsp_der = revoked_and_stapled
    server = OldServer(
        versions=(TlsVersion.TLS1_1, TlsVersion.TLS1_2),
        suites=(0xC02F, 0xC013),
        cert_der=cert_der,
        honour_fallback=False,
        ocsp_der=ocsp_der,
    )
    obs, _ = await _scan(server)
    assert obs.behaviour is not None
    assert obs.behaviour.fallback_scsv is False
    assert obs.behaviour.ocsp_stapled is True
    [rsa] = obs.certificates
    assert rsa.key_type == "RSA" and rsa.ocsp_status == "revoked"
    assert rsa.chain[0].sans == [HOST]
