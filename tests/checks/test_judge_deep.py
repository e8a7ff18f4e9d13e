"""Deep-scan facts judged with the rest: per-key-type certificates and stapled OCSP."""

from __future__ import annotations

from mxtls.checks.judge import RunObservations, judge_deep
from mxtls.models.deep import DeepScan, DeepScanObservation, KeyTypeCertificate, SuiteInfo

from .builders import CA, HOST, IP, NOW, TRUST, WARN_DAYS, codes, discovery, endpoint, handshake

SUITE = SuiteInfo(code=0xC02F, iana_name="TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")


def _scan(*certs: KeyTypeCertificate) -> RunObservations:
    tls = DeepScanObservation(host=HOST, ip=IP, port=25, certificates=list(certs))
    return RunObservations(
        discovery=discovery(),
        endpoints=[endpoint()],
        deep=[DeepScan(host=HOST, ip=IP, port=25, tls=tls)],
    )


def _judge(obs: RunObservations) -> set[str]:
    return codes(judge_deep(obs, now=NOW, warn_days=WARN_DAYS, trust=TRUST))


def test_second_key_type_certificate_is_judged_like_the_first() -> None:
    # Given a server whose RSA certificate (seen only by RSA-only clients) is expired,
    expired_rsa = CA.issue([HOST], key="rsa2048", days_valid=(-100, -1))
    cert = KeyTypeCertificate(key_type="RSA", suite=SUITE, chain=handshake(expired_rsa).chain)
    # then the deep scan's judgment reports it even though the main handshake was clean.
    assert _judge(_scan(cert)) == {"cert.expired"}


def test_same_certificate_is_not_judged_twice() -> None:
    cert = KeyTypeCertificate(key_type="ECDSA", suite=SUITE, chain=handshake().chain)
    assert _judge(_scan(cert)) == set()


def test_stapled_revoked_ocsp_response_is_cert_revoked() -> None:
    cert = KeyTypeCertificate(
        key_type="ECDSA",
        suite=SUITE,
        chain=handshake().chain,
        ocsp_stapled=True,
        ocsp_status="revoked",
    )
    assert _judge(_scan(cert)) == {"cert.revoked"}
    good = cert.model_copy(update={"ocsp_status": "good"})
    assert _judge(_scan(good)) == set()
