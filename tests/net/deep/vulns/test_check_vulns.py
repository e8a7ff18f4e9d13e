"""check_vulns: exact codes and severities from observations (no sockets)."""

from __future__ import annotations

import pytest

from mxtls.checks.vulns import check_vulns
from mxtls.models.findings import Severity
from mxtls.models.vulns import (
    CcsInjectionObservation,
    HeartbleedObservation,
    RobotObservation,
    StarttlsInjectionObservation,
    VulnObservation,
)

TARGET = "mx1.example[192.0.2.1]:25"


def _obs(
    hb: bool | None = False,
    ccs: bool | None = False,
    robot: bool | None = False,
    injection: bool | None = False,
    *,
    implicit: bool = False,
) -> VulnObservation:
    return VulnObservation(
        host="mx1.example",
        ip="192.0.2.1",
        port=465 if implicit else 25,
        tls_mode="implicit" if implicit else "starttls",
        heartbleed=HeartbleedObservation(
            vulnerable=hb, version="TLSv1.2", request_record_bytes=3, response_record_bytes=16403
        ),
        ccs_injection=CcsInjectionObservation(
            vulnerable=ccs, version="TLSv1.2", second_reply="alert fatal decryption_failed"
        ),
        robot=RobotObservation(
            vulnerable=robot,
            oracle="strong" if robot else None,
            cipher_suite="TLS_RSA_WITH_AES_128_GCM_SHA256",
        ),
        starttls_injection=None
        if implicit
        else StarttlsInjectionObservation(
            vulnerable=injection, injected="EHLO c.test", first_reply_in_tls="250 mx1.example"
        ),
    )


@pytest.mark.parametrize(
    ("obs", "codes"),
    [
        (_obs(), set()),
        (_obs(None, None, None, None), set()),
        (_obs(hb=True), {"vuln.heartbleed"}),
        (_obs(ccs=True), {"vuln.ccs_injection"}),
        (_obs(robot=True), {"vuln.robot"}),
        (_obs(injection=True), {"starttls.injection"}),
        (
            _obs(True, True, True, True),
            {"vuln.heartbleed", "vuln.ccs_injection", "vuln.robot", "starttls.injection"},
        ),
        (
            _obs(True, True, True, implicit=True),
            {"vuln.heartbleed", "vuln.ccs_injection", "vuln.robot"},
        ),
    ],
)
def test_codes(obs: VulnObservation, codes: set[str]) -> None:
    findings = check_vulns(obs, TARGET)
    assert {f.code for f in findings} == codes
    assert len(findings) == len(codes)
    assert all(f.severity is Severity.ERROR and f.target == TARGET for f in findings)
    assert all("\n" not in f.message for f in findings)
