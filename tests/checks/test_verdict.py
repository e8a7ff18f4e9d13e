"""The delivery verdict: each sender kind's conclusion from the same facts.

Table-driven: observations (and the findings the other checks made) in,
per-sender outcomes and implied codes out.
"""

from __future__ import annotations

from mxtls.checks.codes import make_finding
from mxtls.checks.delivery import DaneHost, compose_verdict
from mxtls.models.findings import Finding, endpoint_target
from mxtls.models.observations import EndpointObservation
from mxtls.models.policy import MtaStsObservation

from .builders import DOMAIN, HOST, IP, answer, codes, discovery, endpoint, reply, stopped

TARGET = endpoint_target(HOST, IP, 25)


def sts(mode: str = "enforce", patterns: tuple[str, ...] = (HOST,)) -> MtaStsObservation:
    return MtaStsObservation.model_validate(
        {
            "domain": DOMAIN,
            "txt": answer("TXT", records=['"v=STSv1; id=1"'], qname=f"_mta-sts.{DOMAIN}"),
            "record": "v=STSv1; id=1",
            "record_id": "1",
            "mode": mode,
            "max_age": 604800,
            "mx_patterns": list(patterns),
        }
    )


def outcomes(
    eps: list[EndpointObservation],
    findings: list[Finding],
    mta_sts: MtaStsObservation | None = None,
    dane: dict[str, DaneHost] | None = None,
) -> tuple[dict[str, str], set[str]]:
    verdict, implied = compose_verdict(discovery(), eps, findings, mta_sts, dane)
    return {s.sender: s.outcome for s in verdict.senders}, codes(implied)


def expired() -> list[Finding]:
    return [make_finding("cert.expired", TARGET, "expired")]


def test_healthy_domain_without_policies() -> None:
    got = outcomes([endpoint()], [])
    assert got == (
        {"opportunistic": "delivers", "mta_sts": "not_applicable", "dane": "not_applicable"},
        set(),
    )


def test_enforce_with_valid_certificate_delivers() -> None:
    assert outcomes([endpoint()], [], sts())[0]["mta_sts"] == "delivers"


def test_enforce_with_expired_certificate_refuses() -> None:
    got, implied = outcomes([endpoint()], expired(), sts())
    assert got["mta_sts"] == "refuses"
    assert implied == {"delivery.strict_senders_fail", "mta_sts.enforce_tls_failure"}
    # Opportunistic senders still deliver (encrypted, unauthenticated).
    assert got["opportunistic"] == "delivers"


def test_testing_mode_is_not_enforced() -> None:
    got, implied = outcomes([endpoint()], expired(), sts("testing"))
    assert got["mta_sts"] == "not_applicable" and implied == set()


def test_mx_not_covered_is_refused_by_enforcing_senders() -> None:
    got, implied = outcomes([endpoint()], [], sts(patterns=("other.example.test",)))
    assert got["mta_sts"] == "refuses"
    assert implied == {"delivery.strict_senders_fail"}


def test_no_starttls_under_enforce_refuses() -> None:
    plain = endpoint(
        ehlo=None, starttls_offered=False, starttls_reply=None, handshake=None, ehlo_tls=None
    )
    plain = plain.model_copy(update={"ehlo": endpoint().ehlo_tls})
    got, implied = outcomes([plain], [], sts())
    assert got["mta_sts"] == "refuses"
    assert "delivery.strict_senders_fail" in implied


def test_unreachable_mx_is_not_a_policy_refusal() -> None:
    down = stopped("banner", "timeout", banner=None)
    got, implied = outcomes([down], [], sts())
    assert got["mta_sts"] == "unreachable" and implied == set()


def test_dane_mismatch_refuses_and_takes_its_own_line() -> None:
    dane = {HOST: DaneHost(True, "secure TLSA", {(IP, 25): (False, "no TLSA record matches")})}
    got, implied = outcomes([endpoint()], [], None, dane)
    assert got["dane"] == "refuses" and implied == {"delivery.strict_senders_fail"}


def test_dane_match_delivers() -> None:
    dane = {HOST: DaneHost(True, "secure TLSA", {(IP, 25): (True, "3 1 1 matched")})}
    assert outcomes([endpoint()], [], None, dane)[0]["dane"] == "delivers"


def test_banner_421_everywhere_is_unreachable_for_everyone() -> None:
    busy = stopped("banner", "rejected", banner=reply(421, "busy"))
    got, implied = outcomes([busy], [], sts())
    assert (
        got == {"opportunistic": "unreachable", "mta_sts": "unreachable", "dane": "not_applicable"}
        and implied == set()
    )


def test_bogus_dnssec_makes_dane_senders_defer() -> None:
    # RFC 7672 §2.1.1: a bogus TLSA (or address) answer is a lookup failure.
    dane = {HOST: DaneHost(True, "TLSA answer is DNSSEC-bogus", refuse="bogus: senders defer")}
    got, implied = outcomes([endpoint()], [], None, dane)
    assert got["dane"] == "refuses" and implied == {"delivery.strict_senders_fail"}
