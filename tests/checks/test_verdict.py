"""The delivery verdict: each sender kind's conclusion from the same facts.

Table-driven: observations (and the findings the other checks made) in,
per-sender outcomes and implied codes out, exactly.  Most cases have two or
three MX hosts, because "only some MX hosts work" is where a verdict lies
most easily.
"""

from __future__ import annotations

from typing import Any

import pytest

from mxtls.checks.codes import make_finding
from mxtls.checks.delivery import DaneHost, compose_verdict
from mxtls.models.dnssec import DnssecStatus
from mxtls.models.findings import Finding, endpoint_target
from mxtls.models.observations import ConnectFailure, Discovery, EndpointObservation
from mxtls.models.policy import MtaStsObservation

from .builders import (
    DOMAIN,
    HOST,
    IP,
    IP2,
    answer,
    codes,
    discovery,
    ehlo,
    endpoint,
    mx_host,
    reply,
    stopped,
)

TARGET = endpoint_target(HOST, IP, 25)
MX1, MX2, MX3 = "mx1.example.test", "mx2.example.test", "mx3.example.test"
IP_2, IP_3 = "192.0.2.20", "192.0.2.30"
STRICT, ENFORCE, NO_MX = (
    "delivery.strict_senders_fail",
    "mta_sts.enforce_tls_failure",
    "delivery.no_reachable_mx",
)


def sts(mode: str = "enforce", patterns: tuple[str, ...] = (MX1, MX2, MX3)) -> MtaStsObservation:
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


def three_mx(count: int = 2) -> Discovery:
    hosts = [
        mx_host(MX1, preference=10, addresses=[IP]),
        mx_host(MX2, preference=20, addresses=[IP_2]),
        mx_host(MX3, preference=30, addresses=[IP_3]),
    ]
    return discovery(*hosts[:count])


def at(host: str, ip: str, obs: EndpointObservation | None = None) -> EndpointObservation:
    """``obs`` (healthy by default) moved to ``host``/``ip``."""
    return (obs or endpoint()).model_copy(update={"host": host, "ip": ip})


def cert(code: str, host: str = MX1, ip: str = IP) -> Finding:
    return make_finding(code, endpoint_target(host, ip, 25), code)


# The shapes of trouble on port 25.
BUSY = stopped("banner", "rejected", banner=reply(421, "4.3.2 Service shutting down"))
TOO_MANY = stopped(
    "banner", "rejected", banner=reply(421, "4.7.0 too many connections"), throttled=True
)
REFUSED = stopped(
    "connect",
    "closed",
    connect_failure=ConnectFailure(kind="refused", detail="Connection refused"),
)
NO_ROUTE = stopped(
    "connect",
    "closed",
    connect_failure=ConnectFailure(kind="unreachable", detail="Network is unreachable"),
)
CLOSED_AFTER_BANNER = stopped("ehlo", "closed", "connection closed while waiting for reply")
EHLO_VIOLATION = stopped("ehlo", "protocol", "reply code changed mid-reply")
NO_BANNER = stopped("banner", "timeout")
PLAIN = endpoint(
    ehlo=ehlo("PIPELINING"),
    starttls_offered=False,
    starttls_reply=None,
    handshake=None,
    ehlo_tls=None,
)
HELO_ONLY = PLAIN.model_copy(
    update={"ehlo": ehlo(command="HELO"), "ehlo_rejected": reply(502, "5.5.2 unknown")}
)
INTERNAL = stopped("banner", "internal")

DELIVERS = "delivers"
Case = tuple[str, int, list[EndpointObservation], list[Finding], dict[str, Any], dict[str, str]]

# id, MX hosts, port-25 endpoints, findings, compose_verdict extras,
# expected {sender: outcome} plus "codes" (the implied codes, comma-separated).
CASES: list[Case] = [
    (
        "two-healthy",
        2,
        [at(MX1, IP), at(MX2, IP_2)],
        [],
        {},
        {"opportunistic": DELIVERS, "mta_sts": "not_applicable", "dane": "not_applicable"},
    ),
    (
        "second-mx-421-to-everyone",
        2,
        [at(MX1, IP), at(MX2, IP_2, BUSY)],
        [],
        {},
        {"opportunistic": "delivers_partly"},
    ),
    (
        "every-mx-down-in-a-different-way",
        3,
        [at(MX1, IP, BUSY), at(MX2, IP_2, REFUSED), at(MX3, IP_3, NO_BANNER)],
        [],
        {},
        {"opportunistic": "unreachable", "codes": NO_MX},
    ),
    (
        "all-421-even-when-it-reads-like-throttling",
        2,
        [at(MX1, IP, TOO_MANY), at(MX2, IP_2, TOO_MANY)],
        [],
        {},
        {"opportunistic": "unreachable", "codes": NO_MX},
    ),
    (
        "closed-right-after-the-banner",
        1,
        [at(MX1, IP, CLOSED_AFTER_BANNER)],
        [],
        {},
        {"opportunistic": "unreachable", "codes": NO_MX},
    ),
    (
        "ehlo-answered-with-a-protocol-violation",
        2,
        [at(MX1, IP, EHLO_VIOLATION), at(MX2, IP_2, CLOSED_AFTER_BANNER)],
        [],
        {},
        {"opportunistic": "unreachable", "codes": NO_MX},
    ),
    (
        "one-address-of-two-answers",
        1,
        [at(MX1, IP, REFUSED), at(MX1, IP2)],
        [],
        {},
        {"opportunistic": DELIVERS},
    ),
    (
        "helo-only-session-still-takes-mail",
        1,
        [at(MX1, IP, HELO_ONLY)],
        [],
        {},
        {"opportunistic": DELIVERS},
    ),
    (
        "plaintext-fallback-mx",
        2,
        [at(MX1, IP), at(MX2, IP_2, PLAIN)],
        [],
        {},
        {"opportunistic": DELIVERS},
    ),
    (
        "enforce-second-mx-expired",
        2,
        [at(MX1, IP), at(MX2, IP_2)],
        [cert("cert.expired", MX2, IP_2)],
        {"mta_sts": sts()},
        {"opportunistic": DELIVERS, "mta_sts": "delivers_partly", "codes": f"{STRICT},{ENFORCE}"},
    ),
    (
        "enforce-every-mx-fails",
        2,
        [at(MX1, IP), at(MX2, IP_2, PLAIN)],
        [cert("cert.hostname_mismatch", MX1, IP)],
        {"mta_sts": sts()},
        {"mta_sts": "refuses", "codes": f"{STRICT},{ENFORCE}"},
    ),
    (
        "enforce-second-mx-not-covered",
        2,
        [at(MX1, IP), at(MX2, IP_2)],
        [],
        {"mta_sts": sts(patterns=(MX1,))},
        {"mta_sts": "delivers_partly", "codes": STRICT},
    ),
    (
        "enforce-second-mx-down-is-not-a-refusal",
        2,
        [at(MX1, IP), at(MX2, IP_2, NO_BANNER)],
        [],
        {"mta_sts": sts()},
        {"opportunistic": "delivers_partly", "mta_sts": "delivers_partly"},
    ),
    (
        "enforce-but-nobody-answers",
        2,
        [at(MX1, IP, NO_BANNER), at(MX2, IP_2, BUSY)],
        [],
        {"mta_sts": sts()},
        {"opportunistic": "unreachable", "mta_sts": "unreachable", "codes": NO_MX},
    ),
    (
        "testing-mode-is-not-enforced",
        2,
        [at(MX1, IP), at(MX2, IP_2)],
        [cert("cert.expired")],
        {"mta_sts": sts("testing")},
        {"mta_sts": "not_applicable"},
    ),
    (
        "dane-on-one-mx-mismatch-on-the-other",
        2,
        [at(MX1, IP), at(MX2, IP_2)],
        [],
        {
            "dane": {
                MX1: DaneHost(True, "secure TLSA", {(IP, 25): (True, "3 1 1 matched")}),
                MX2: DaneHost(True, "secure TLSA", {(IP_2, 25): (False, "no TLSA matches")}),
            }
        },
        {"dane": "delivers_partly", "codes": STRICT},
    ),
    (
        "dane-only-on-one-mx-the-other-opportunistic",
        2,
        [at(MX1, IP), at(MX2, IP_2)],
        [],
        {"dane": {MX1: DaneHost(True, "secure TLSA", {(IP, 25): (True, "3 1 1 matched")})}},
        {"dane": DELIVERS},
    ),
    (
        "bogus-tlsa-makes-dane-senders-defer",
        1,
        [at(MX1, IP)],
        [],
        {"dane": {MX1: DaneHost(True, "bogus", refuse="TLSA answer is DNSSEC-bogus")}},
        {"opportunistic": DELIVERS, "dane": "refuses", "codes": STRICT},
    ),
    (
        "bogus-mx-answer-validating-senders-defer",
        2,
        [at(MX1, IP), at(MX2, IP_2)],
        [],
        {"mx_dnssec": "bogus"},
        {"opportunistic": DELIVERS, "dane": "refuses", "codes": STRICT},
    ),
    (
        "mxtls-failed-on-the-only-mx-is-no-verdict-on-reachability",
        1,
        [at(MX1, IP, INTERNAL)],
        [],
        {},
        {"opportunistic": "not_tested"},
    ),
    (
        # No route from this machine (an IPv6-only MX seen from an IPv4-only
        # network) says nothing about what senders elsewhere get.
        "no-route-from-here-is-not-nobody-can-deliver",
        2,
        [at(MX1, IP, REFUSED), at(MX2, "2001:db8::25", NO_ROUTE)],
        [],
        {},
        {"opportunistic": "not_tested"},
    ),
    (
        "port-25-not-probed",
        2,
        [at(MX1, IP).model_copy(update={"port": 587})],
        [],
        {},
        {"opportunistic": "not_tested", "mta_sts": "not_tested", "dane": "not_tested"},
    ),
    (
        "submission-on-the-mx-name-is-not-the-relay-path",
        1,
        [at(MX1, IP, BUSY), at(MX1, IP).model_copy(update={"role": "submission"})],
        [],
        {},
        {"opportunistic": "unreachable", "codes": NO_MX},
    ),
]


@pytest.mark.parametrize(
    ("count", "eps", "findings", "extras", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_verdict_table(
    count: int,
    eps: list[EndpointObservation],
    findings: list[Finding],
    extras: dict[str, Any],
    expected: dict[str, str],
) -> None:
    verdict, implied = compose_verdict(
        three_mx(count),
        eps,
        findings,
        extras.get("mta_sts"),
        extras.get("dane"),
        extras.get("mx_dnssec"),
    )
    got: dict[str, str] = {s.sender: s.outcome for s in verdict.senders}
    want = dict(expected)
    want_codes = set(filter(None, want.pop("codes", "").split(",")))
    assert {k: got[k] for k in want} == want
    assert codes(implied) == want_codes
    assert all(f.target == DOMAIN for f in implied if f.code.startswith("delivery."))
    # Every MX host has a line in every applying sender's verdict, in MX order.
    for sender in verdict.senders:
        if sender.applies:
            assert [m.host for m in sender.mx] == [MX1, MX2, MX3][:count]


def test_unreachable_mx_lines_say_why_per_host() -> None:
    verdict, implied = compose_verdict(
        three_mx(3),
        [at(MX1, IP, BUSY), at(MX2, IP_2, CLOSED_AFTER_BANNER), at(MX3, IP_3, EHLO_VIOLATION)],
        [],
        None,
    )
    opportunistic = verdict.senders[0]
    assert opportunistic.summary.startswith("cannot deliver")
    reasons = {m.host: m.reason for m in opportunistic.mx}
    assert "421" in reasons[MX1]
    assert "closed" in reasons[MX2] and "banner" in reasons[MX2]
    assert "EHLO" in reasons[MX3]
    (finding,) = implied
    assert all(h in finding.message for h in (MX1, MX2, MX3))


def test_no_address_at_all_is_unreachable() -> None:
    # MX hosts without A/AAAA (mx.unresolvable): nobody can connect anywhere.
    gone = discovery(mx_host(MX1, addresses=[]), mx_host(MX2, addresses=[]))
    verdict, implied = compose_verdict(gone, [], [], None)
    assert {s.sender: s.outcome for s in verdict.senders}["opportunistic"] == "unreachable"
    assert codes(implied) == {NO_MX}
    assert "no address" in verdict.senders[0].mx[0].reason


@pytest.mark.parametrize("status", ["bogus", "insecure", "secure", "indeterminate", None], ids=str)
def test_mx_answer_lost_to_a_validating_resolver(status: DnssecStatus | None) -> None:
    # A validating resolver answers SERVFAIL for a bogus MX RRset: no hosts to probe.
    lost = discovery(hosts=[], mx=answer("MX", "SERVFAIL", qname=DOMAIN))
    verdict, implied = compose_verdict(lost, [], [], None, None, status)
    if status != "bogus":
        assert verdict.senders == [] and implied == []
        return
    senders = {s.sender: s for s in verdict.senders}
    assert senders["dane"].outcome == "refuses" and "DNSSEC-bogus" in senders["dane"].summary
    assert codes(implied) == {STRICT}


# RFC 8461 §4.2 / §5: each of these makes PKIX validation fail, so an enforcing
# MTA-STS sender refuses the MX.  Listed here, not read from the code, so that
# dropping one from the checks' table fails this test.
REFUSING = [
    "cert.expired",
    "cert.not_yet_valid",
    "cert.hostname_mismatch",
    "cert.self_signed",
    "cert.untrusted",
    "cert.chain_incomplete",
]
NOT_REFUSING = ["cert.expiring_soon", "cert.chain_order", "cert.sni_differs", "cert.caa_missing"]


@pytest.mark.parametrize("code", REFUSING)
def test_every_pkix_failure_makes_enforcing_senders_refuse(code: str) -> None:
    verdict, implied = compose_verdict(
        three_mx(2), [at(MX1, IP), at(MX2, IP_2)], [cert(code)], sts()
    )
    senders = {s.sender: s for s in verdict.senders}
    assert senders["mta_sts"].outcome == "delivers_partly"
    assert [m.refused for m in senders["mta_sts"].mx] == [True, False]
    assert codes(implied) == {STRICT, ENFORCE}
    assert senders["opportunistic"].outcome == DELIVERS


@pytest.mark.parametrize("code", NOT_REFUSING)
def test_other_certificate_findings_do_not_refuse(code: str) -> None:
    verdict, implied = compose_verdict(three_mx(1), [at(MX1, IP)], [cert(code)], sts())
    assert {s.sender: s.outcome for s in verdict.senders}["mta_sts"] == DELIVERS
    assert implied == []


def test_silent_handshake_timeout_is_plaintext_for_opportunistic_and_refused_by_enforce() -> None:
    # STARTTLS accepted, then the handshake stalls: no alert, no error text.
    stalled = stopped("handshake", "timeout")
    assert stalled.handshake_error is None
    verdict, implied = compose_verdict(three_mx(1), [at(MX1, IP, stalled)], [], sts())
    senders = {s.sender: s for s in verdict.senders}
    assert senders["opportunistic"].outcome == DELIVERS
    assert senders["opportunistic"].mx[0].encrypted is False
    assert senders["mta_sts"].outcome == "refuses"
    assert codes(implied) == {STRICT, ENFORCE}


def test_null_mx_has_no_verdict() -> None:
    verdict, implied = compose_verdict(discovery(null_mx=True, hosts=[]), [], [], sts())
    assert verdict.senders == [] and implied == []


def test_the_one_mx_defaults_still_hold() -> None:
    # The builders' single healthy MX: delivers, no policies.
    verdict, implied = compose_verdict(discovery(), [endpoint()], [], None)
    assert [s.outcome for s in verdict.senders] == [DELIVERS, "not_applicable", "not_applicable"]
    assert implied == []
    assert TARGET == f"{HOST}[{IP}]:25"
