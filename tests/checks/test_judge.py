"""``run_checks``: every check, deduplicated and sorted; and the code coverage of the tables."""

from __future__ import annotations

from mxtls.checks.codes import CODES
from mxtls.checks.judge import run_checks, sort_findings
from mxtls.models.findings import Finding
from mxtls.models.observations import Discovery, EndpointObservation

from . import test_cert, test_delivery, test_dns_mx, test_smtp, test_tls
from .builders import (
    CA,
    DOMAIN,
    HOST,
    IP,
    IP2,
    NOW,
    TRUST,
    WARN_DAYS,
    answer,
    discovery,
    ehlo,
    endpoint,
    handshake,
    implicit_endpoint,
    mx_host,
    stopped,
)


def run(observed: Discovery, endpoints: list[EndpointObservation]) -> list[Finding]:
    return run_checks(observed, endpoints, now=NOW, warn_days=WARN_DAYS, trust=TRUST)


def test_healthy_domain_has_no_findings() -> None:
    # Given one MX with two addresses, each healthy on 25, 465 and 587,
    endpoints = [
        obs
        for ip in (IP, IP2)
        for obs in (
            endpoint(ip=ip),
            endpoint(ip=ip, port=587, connect_port=587),
            implicit_endpoint(ip=ip),
        )
    ]
    # Then nothing at all is reported.
    assert run(discovery(mx_host(addresses=[IP, IP2])), endpoints) == []


def test_findings_sorted_and_deduplicated() -> None:
    # Given a domain with a broken second MX and several problems on the first,
    second = mx_host(name="mx2.example.test", caa=answer("CAA", "NODATA"))
    observed = discovery(
        mx_host(),
        second,
        mx=answer("MX", records=[f"10 {HOST}.", "20 mx2.example.test."], qname=DOMAIN),
    )
    endpoints = [
        endpoint(
            ehlo=ehlo("STARTTLS", AUTH=["PLAIN"]),
            handshake=handshake(
                CA.issue([HOST], days_valid=(-30, 5)),
                version="TLSv1.1",
                cipher="ECDHE-RSA-AES128-SHA",
            ),
        ),
        endpoint(
            ip=IP2,
            ehlo=ehlo(),
            starttls_offered=False,
            starttls_reply=None,
            handshake=None,
            ehlo_tls=None,
        ),
        stopped("banner", "timeout", host="mx2.example.test"),
    ]
    # When judged (twice the same endpoint: duplicates must collapse),
    findings = run(observed, [*endpoints, endpoints[0]])
    # Then errors come first, then warnings, then infos; within a severity by target, code.
    ranks = [f.severity.rank for f in findings]
    assert ranks == sorted(ranks, reverse=True)
    keys = [(f.severity.rank, f.target, f.code) for f in findings]
    assert keys == sorted(keys, key=lambda k: (-k[0], k[1], k[2]))
    assert len(findings) == len(set(findings))
    assert [(f.code, f.target) for f in findings] == [
        ("starttls.not_offered", f"{HOST}[{IP2}]:25"),
        ("smtp.banner_timeout", f"mx2.example.test[{IP}]:25"),
        ("delivery.unencrypted_path", DOMAIN),
        ("starttls.inconsistent", HOST),
        ("cert.expiring_soon", f"{HOST}[{IP}]:25"),
        ("smtp.auth_before_tls", f"{HOST}[{IP}]:25"),
        ("tls.protocol_legacy", f"{HOST}[{IP}]:25"),
        ("cert.caa_missing", "mx2.example.test"),
    ]


def test_null_mx_judges_nothing_else() -> None:
    observed = discovery(mx=answer("MX", records=["0 ."], qname=DOMAIN), null_mx=True, hosts=[])
    stray = stopped("connect", "closed", connect_failure={"kind": "refused", "detail": "x"})
    assert [f.code for f in run(observed, [stray])] == ["mx.null"]


def test_sort_findings_orders_by_severity_target_code() -> None:
    def f(code: str, target: str) -> Finding:
        return Finding(code=code, severity=CODES[code].severity, target=target, message="m")

    unsorted = [
        f("cert.sni_differs", "a"),
        f("mx.cname", "b"),
        f("dns.error", "z"),
        f("dns.error", "a"),
        f("mx.cname", "b"),
    ]
    assert [(x.code, x.target) for x in sort_findings(unsorted)] == [
        ("dns.error", "a"),
        ("dns.error", "z"),
        ("mx.cname", "b"),
        ("cert.sni_differs", "a"),
    ]


# Codes judged by this layer (the rest belong to the deep scan, MTA-STS, TLS-RPT,
# DANE, revocation and the delivery verdict).
JUDGED_HERE = {
    code for code in CODES if code.split(".")[0] in {"dns", "mx", "smtp", "starttls", "cert"}
} | {
    "tls.implicit_failed",
    "tls.protocol_obsolete",
    "tls.protocol_legacy",
    "tls.cipher_weak",
    "tls.no_forward_secrecy",
}
JUDGED_HERE -= {"cert.revoked"}
ACROSS_ENDPOINTS = {"cert.mismatch_across_ips", "cert.caa_missing", "starttls.inconsistent"}


def test_every_code_of_this_layer_is_exercised_by_a_table() -> None:
    # The tables assert the *exact* set of codes per case, so their union is
    # what the checks were seen to emit.
    expected: set[str] = set()
    for table in (test_cert.CASES, test_smtp.CASES, test_dns_mx.CASES, test_delivery.CASES):
        for case in table:
            expected |= case[-1]
    for _, _, case_codes in test_tls.CASES:
        expected |= case_codes
    assert JUDGED_HERE - ACROSS_ENDPOINTS - expected == set()
    assert expected <= set(CODES)


def test_codes_never_emitted_from_one_handshake() -> None:
    # tls.no_tls13 is a deep-scan fact: TLS 1.2 negotiated proves nothing.
    obs = endpoint(handshake=handshake(version="TLSv1.2", cipher="ECDHE-RSA-AES128-GCM-SHA256"))
    findings = run(discovery(), [obs])
    assert findings == []
