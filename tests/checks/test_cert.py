"""Certificate checks on real chains from the lab CA: one endpoint in, exact codes out."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509

from mxtls.checks.cert import check_caa, check_certificate, check_certificate_consistency
from mxtls.checks.chain import ChainVerdict, analyze_chain
from mxtls.lab.ca import LabCA
from mxtls.models.findings import Severity
from mxtls.models.observations import EndpointObservation
from mxtls.trust.store import TrustStore

from .builders import (
    CA,
    DOMAIN,
    GOOD,
    HOST,
    IP,
    IP2,
    NOW,
    OTHER_CA,
    TRUST,
    WARN_DAYS,
    answer,
    codes,
    discovery,
    endpoint,
    handshake,
    implicit_endpoint,
    mx_host,
    severities,
    stopped,
)

OTHER_HOST = "other.example.test"
SELF_SIGNED = CA.issue([HOST], self_signed=True)
# An older incarnation of the lab CA: same names and keys, so its intermediate
# chains to today's trusted root, but it expired 350 days before NOW.
OLD_CA = LabCA(now=NOW - dt.timedelta(days=4000))
LEAF_UNDER_EXPIRED_INTERMEDIATE = OLD_CA.issue([HOST], days_valid=(4000 - 30, 4000 + 90))


def _with_chain(*certs: x509.Certificate) -> EndpointObservation:
    return endpoint(handshake=handshake(certs))


CASES: list[tuple[str, EndpointObservation, set[str]]] = [
    # Given a healthy chain, Then nothing at all is reported.
    ("clean", endpoint(), set()),
    ("clean-ec384-leaf", endpoint(handshake=handshake(CA.issue([HOST], key="ec384"))), set()),
    ("clean-rsa2048-leaf", endpoint(handshake=handshake(CA.issue([HOST], key="rsa2048"))), set()),
    ("clean-root-sent-too", _with_chain(GOOD.cert, CA.intermediate, CA.root), set()),
    ("clean-implicit-465", implicit_endpoint(), set()),
    ("clean-wildcard-san", endpoint(handshake=handshake(CA.issue(["*.example.test"]))), set()),
    ("clean-cn-only", endpoint(handshake=handshake(CA.issue([], cn=HOST))), set()),
    ("clean-second-san", endpoint(handshake=handshake(CA.issue([OTHER_HOST, HOST]))), set()),
    ("clean-upper-case-san", endpoint(handshake=handshake(CA.issue([HOST.upper()]))), set()),
    # Validity.
    (
        "expired",
        endpoint(handshake=handshake(CA.issue([HOST], days_valid=(-100, -1)))),
        {"cert.expired"},
    ),
    (
        "not-yet-valid",
        endpoint(handshake=handshake(CA.issue([HOST], days_valid=(5, 90)))),
        {"cert.not_yet_valid"},
    ),
    (
        "expiring-soon",
        endpoint(handshake=handshake(CA.issue([HOST], days_valid=(-30, 10)))),
        {"cert.expiring_soon"},
    ),
    (
        "expiring-after-threshold",
        endpoint(handshake=handshake(CA.issue([HOST], days_valid=(-30, WARN_DAYS + 2)))),
        set(),
    ),
    # The --warn-days boundary, exactly and one day either side ("within" includes it).
    (
        "expiring-a-day-inside-threshold",
        endpoint(handshake=handshake(CA.issue([HOST], days_valid=(-30, WARN_DAYS - 1)))),
        {"cert.expiring_soon"},
    ),
    (
        "expiring-exactly-at-threshold",
        endpoint(handshake=handshake(CA.issue([HOST], days_valid=(-30, WARN_DAYS)))),
        {"cert.expiring_soon"},
    ),
    (
        "expiring-a-day-after-threshold",
        endpoint(handshake=handshake(CA.issue([HOST], days_valid=(-30, WARN_DAYS + 1)))),
        set(),
    ),
    # The expiry itself, one day either side.
    (
        "expires-tomorrow-is-not-expired",
        endpoint(handshake=handshake(CA.issue([HOST], days_valid=(-30, 1)))),
        {"cert.expiring_soon"},
    ),
    (
        "intermediate-expired",
        endpoint(handshake=handshake(LEAF_UNDER_EXPIRED_INTERMEDIATE)),
        {"cert.expired"},
    ),
    # Names (RFC 6125).
    (
        "hostname-mismatch",
        endpoint(handshake=handshake(CA.issue([OTHER_HOST]))),
        {"cert.hostname_mismatch"},
    ),
    (
        "wildcard-two-levels-down",
        endpoint(handshake=handshake(CA.issue(["*.test"], cn=HOST))),
        {"cert.hostname_mismatch"},
    ),
    (
        "cn-ignored-when-san-present",
        endpoint(handshake=handshake(CA.issue([OTHER_HOST], cn=HOST))),
        {"cert.hostname_mismatch"},
    ),
    (
        "cn-only-mismatch",
        endpoint(handshake=handshake(CA.issue([], cn=OTHER_HOST))),
        {"cert.hostname_mismatch"},
    ),
    (
        "expired-and-mismatch-are-not-untrusted",
        endpoint(handshake=handshake(CA.issue([OTHER_HOST], days_valid=(-100, -1)))),
        {"cert.expired", "cert.hostname_mismatch"},
    ),
    # Trust, classified.
    ("self-signed", endpoint(handshake=handshake(SELF_SIGNED)), {"cert.self_signed"}),
    (
        "self-signed-expired",
        endpoint(handshake=handshake(CA.issue([HOST], self_signed=True, days_valid=(-9, -2)))),
        {"cert.self_signed", "cert.expired"},
    ),
    (
        "intermediate-not-sent",
        endpoint(handshake=handshake(CA.issue([HOST], send_intermediate=False))),
        {"cert.chain_incomplete"},
    ),
    (
        "root-sent-but-intermediate-missing",
        _with_chain(GOOD.cert, CA.root),
        {"cert.chain_incomplete"},
    ),
    ("unknown-ca", endpoint(handshake=handshake(OTHER_CA.issue([HOST]))), {"cert.untrusted"}),
    (
        "unknown-root-sent",
        _with_chain(*OTHER_CA.issue([HOST]).chain, OTHER_CA.root),
        {"cert.untrusted"},
    ),
    (
        "unknown-ca-leaf-only",
        endpoint(handshake=handshake(OTHER_CA.issue([HOST], send_intermediate=False))),
        {"cert.chain_incomplete"},
    ),
    (
        "unknown-ca-and-expired",
        endpoint(handshake=handshake(OTHER_CA.issue([HOST], days_valid=(-100, -1)))),
        {"cert.untrusted", "cert.expired"},
    ),
    # Order.
    (
        "root-before-intermediate",
        _with_chain(GOOD.cert, CA.root, CA.intermediate),
        {"cert.chain_order"},
    ),
    (
        "unrelated-extra-certificate",
        _with_chain(GOOD.cert, CA.intermediate, OTHER_CA.intermediate),
        {"cert.chain_order"},
    ),
    (
        "intermediate-sent-twice",
        _with_chain(GOOD.cert, CA.intermediate, CA.intermediate),
        {"cert.chain_order"},
    ),
    # Keys and signatures.
    (
        "rsa1024-leaf",
        endpoint(handshake=handshake(CA.issue([HOST], key="rsa1024"))),
        {"cert.key_weak"},
    ),
    (
        "sha1-leaf-is-weak-not-untrusted",
        endpoint(handshake=handshake(CA.issue([HOST], hash_alg="sha1"))),
        {"cert.signature_weak"},
    ),
    (
        "sha1-self-signed",
        endpoint(handshake=handshake(CA.issue([HOST], self_signed=True, hash_alg="sha1"))),
        {"cert.self_signed", "cert.signature_weak"},
    ),
    (
        "rsa1024-self-signed",
        endpoint(handshake=handshake(CA.issue([HOST], self_signed=True, key="rsa1024"))),
        {"cert.self_signed", "cert.key_weak"},
    ),
    # SNI.
    (
        "sni-differs",
        endpoint(handshake_nosni=handshake(CA.issue(["default.example.test"]), sni=None)),
        {"cert.sni_differs"},
    ),
    ("sni-same", endpoint(handshake_nosni=handshake(GOOD, sni=None)), set()),
    # Nothing to judge.
    ("no-handshake", stopped("handshake", "tls", handshake_error="alert 40"), set()),
]


@pytest.mark.parametrize(
    ("observation", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_certificate_codes(observation: EndpointObservation, expected: set[str]) -> None:
    findings = check_certificate(observation, now=NOW, warn_days=WARN_DAYS, trust=TRUST)
    assert codes(findings) == expected
    for finding in findings:
        assert finding.target == f"{HOST}[{IP}]:{observation.port}"
        assert "\n" not in finding.message


def test_severities_follow_the_catalog() -> None:
    obs = endpoint(
        handshake=handshake(CA.issue([OTHER_HOST], days_valid=(-30, 10))),
        handshake_nosni=handshake(CA.issue(["default.example.test"]), sni=None),
    )
    findings = check_certificate(obs, now=NOW, warn_days=WARN_DAYS, trust=TRUST)
    assert severities(findings) == {
        "cert.hostname_mismatch": Severity.ERROR,
        "cert.expiring_soon": Severity.WARNING,
        "cert.sni_differs": Severity.INFO,
    }


def test_trust_store_replaced_by_the_self_signed_certificate() -> None:
    # Given a --ca-file holding the server's own self-signed certificate,
    # Then the chain is trusted: the store is the run's decision.
    trust = TrustStore.from_pem(SELF_SIGNED.chain_pem(), "pinned")
    obs = endpoint(handshake=handshake(SELF_SIGNED))
    assert check_certificate(obs, now=NOW, warn_days=WARN_DAYS, trust=trust) == []


def test_other_ca_trusted_when_its_root_is_the_store() -> None:
    trust = TrustStore.from_pem(OTHER_CA.root_pem(), "other root")
    obs = endpoint(handshake=handshake(OTHER_CA.issue([HOST])))
    assert check_certificate(obs, now=NOW, warn_days=WARN_DAYS, trust=trust) == []
    # ... and the lab's usual chain is then the untrusted one.
    assert codes(check_certificate(endpoint(), now=NOW, warn_days=WARN_DAYS, trust=trust)) == {
        "cert.untrusted"
    }


def test_expiring_soon_threshold_is_configurable() -> None:
    obs = endpoint(handshake=handshake(CA.issue([HOST], days_valid=(-30, 50))))
    assert check_certificate(obs, now=NOW, warn_days=30, trust=TRUST) == []
    assert codes(check_certificate(obs, now=NOW, warn_days=60, trust=TRUST)) == {
        "cert.expiring_soon"
    }
    assert check_certificate(obs, now=NOW, warn_days=0, trust=TRUST) == []


def test_expiry_is_judged_against_the_injected_clock() -> None:
    later = NOW + dt.timedelta(days=200)  # GOOD expires NOW + 90 days
    assert codes(check_certificate(endpoint(), now=later, warn_days=WARN_DAYS, trust=TRUST)) == {
        "cert.expired"
    }
    naive = NOW.replace(tzinfo=None)  # a naive clock is taken to be UTC
    assert check_certificate(endpoint(), now=naive, warn_days=WARN_DAYS, trust=TRUST) == []


def test_ip_literal_host_is_not_name_checked() -> None:
    obs = endpoint(host="192.0.2.10", handshake=handshake(CA.issue([HOST]), sni=None))
    assert check_certificate(obs, now=NOW, warn_days=WARN_DAYS, trust=TRUST) == []


@pytest.mark.parametrize(
    ("chain", "verdict"),
    [
        (GOOD.chain, ChainVerdict.TRUSTED),
        (SELF_SIGNED.chain, ChainVerdict.SELF_SIGNED),
        ((GOOD.cert,), ChainVerdict.CHAIN_INCOMPLETE),
        (OTHER_CA.issue([HOST]).chain, ChainVerdict.UNTRUSTED),
        (CA.issue([HOST], hash_alg="sha1").chain, ChainVerdict.REJECTED),
    ],
    ids=["trusted", "self-signed", "incomplete", "untrusted", "rejected-sha1"],
)
def test_analyze_chain_verdicts(chain: tuple[x509.Certificate, ...], verdict: ChainVerdict) -> None:
    analysis = analyze_chain(chain, TRUST, NOW)
    assert analysis.verdict is verdict
    assert analysis.path[0] == chain[0]


# ------------------------------------------------------------- across addresses


def test_mismatch_across_ips() -> None:
    # Given two addresses of one host on port 25 presenting different leaves,
    # Then one host-level finding.
    a = endpoint()
    b = endpoint(ip=IP2, handshake=handshake(CA.issue([HOST], key="ec384")))
    findings = check_certificate_consistency([a, b])
    assert [(f.code, f.target, f.severity) for f in findings] == [
        ("cert.mismatch_across_ips", HOST, Severity.INFO)
    ]


def test_same_certificate_across_ips_and_ports_differing() -> None:
    same = [endpoint(), endpoint(ip=IP2)]
    # Different certificates on different *ports* are not a mismatch across IPs.
    port_465 = implicit_endpoint(handshake=handshake(CA.issue([HOST], key="ec384")))
    no_tls = stopped("handshake", "tls", ip="192.0.2.12", handshake_error="alert")
    assert check_certificate_consistency([*same, port_465, no_tls]) == []


# ----------------------------------------------------------------------- CAA


@pytest.mark.parametrize(
    ("caa", "expected"),
    [
        (answer("CAA", records=['0 issue "lab.test"'], qname=DOMAIN), set()),
        (answer("CAA", "NODATA", qname="test"), {"cert.caa_missing"}),
        (answer("CAA", "NXDOMAIN", qname=HOST), {"cert.caa_missing"}),
        (answer("CAA", "SERVFAIL", qname=HOST), set()),  # that is dns.error
        (answer("CAA", "TIMEOUT", qname=HOST), set()),
        (None, set()),  # not looked up
    ],
    ids=["present", "nodata", "nxdomain", "servfail", "timeout", "not-looked-up"],
)
def test_caa(caa: object, expected: set[str]) -> None:
    findings = check_caa(discovery(mx_host(caa=caa, caa_domain="test")))
    assert codes(findings) == expected
    assert all(f.target == HOST for f in findings)


def test_caa_not_judged_for_a_host_without_address() -> None:
    host = mx_host(addresses=[], caa=answer("CAA", "NXDOMAIN"), caa_domain="test")
    assert check_caa(discovery(host)) == []


def test_caa_not_judged_for_ip_literal() -> None:
    host = mx_host(name="192.0.2.10", ip_literal=True, caa=answer("CAA", "NODATA"))
    assert check_caa(discovery(host)) == []
