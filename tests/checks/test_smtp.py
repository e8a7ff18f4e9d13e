"""SMTP dialogue and STARTTLS checks: one endpoint in, the exact set of codes out."""

from __future__ import annotations

import pytest

from mxtls.checks.smtp import check_dead_servers, check_smtp, looks_throttled, untested_steps
from mxtls.checks.starttls import check_starttls, check_starttls_consistency
from mxtls.models.deep import DeepScan, DeepScanObservation
from mxtls.models.findings import Severity
from mxtls.models.observations import EndpointObservation

from .builders import (
    HOST,
    IP,
    IP2,
    codes,
    connect_failed,
    ehlo,
    endpoint,
    implicit_endpoint,
    reply,
    severities,
    stopped,
)


def judge(obs: EndpointObservation) -> set[str]:
    return codes([*check_smtp(obs), *check_starttls(obs)])


TOO_MANY = reply(421, "4.7.0 Error: too many connections from 203.0.113.5")

CASES: list[tuple[str, EndpointObservation, set[str]]] = [
    ("healthy-25", endpoint(), set()),
    ("healthy-587", endpoint(port=587, connect_port=587), set()),
    ("healthy-465", implicit_endpoint(), set()),
    # Connect.
    ("connect-refused", connect_failed("refused"), {"smtp.connect_failed"}),
    ("connect-timeout", connect_failed("timeout"), {"smtp.connect_failed"}),
    ("connect-unreachable", connect_failed("unreachable"), {"smtp.connect_failed"}),
    # Banner.
    (
        "banner-timeout",
        stopped("banner", "timeout", "no banner within 10s"),
        {"smtp.banner_timeout"},
    ),
    (
        "banner-554",
        stopped("banner", "rejected", banner=reply(554, "5.7.1 no service for you")),
        {"smtp.banner_rejected"},
    ),
    (
        "banner-421-shutdown-is-a-rejection",
        stopped("banner", "rejected", banner=reply(421, "4.3.2 shutting down"), throttled=True),
        {"smtp.banner_rejected"},
    ),
    (
        "banner-421-too-many-is-throttling",
        stopped("banner", "rejected", banner=TOO_MANY, throttled=True),
        {"smtp.rate_limited"},
    ),
    (
        "closed-before-any-byte",
        stopped("banner", "closed", "connection closed while waiting for banner", throttled=True),
        {"smtp.rate_limited"},
    ),
    (
        "closed-mid-banner",
        stopped("banner", "closed", "connection closed (unfinished reply b'22')"),
        {"smtp.banner_rejected"},
    ),
    ("banner-garbage", stopped("banner", "protocol", "not SMTP"), {"smtp.banner_rejected"}),
    ("internal-error-is-no-verdict", stopped("banner", "internal"), set()),
    # The probe's flag alone does not make a complete dialogue throttled.
    ("flagged-but-complete", endpoint(throttled=True), set()),
    # EHLO.
    (
        "ehlo-refused-helo-used",
        endpoint(
            ehlo_rejected=reply(502, "5.5.2 command not recognized"),
            ehlo=ehlo(command="HELO"),
            starttls_offered=False,
            starttls_reply=None,
            handshake=None,
            ehlo_tls=None,
        ),
        {"smtp.ehlo_rejected", "starttls.not_offered"},
    ),
    (
        "ehlo-and-helo-refused",
        stopped("ehlo", "rejected", ehlo_rejected=reply(500, "go away")),
        {"smtp.ehlo_rejected"},
    ),
    ("ehlo-timeout", stopped("ehlo", "timeout"), {"smtp.ehlo_rejected"}),
    # A hang-up on a command, without any reply, is the server shedding us.
    ("closed-at-ehlo", stopped("ehlo", "closed"), {"smtp.rate_limited"}),
    ("closed-at-starttls", stopped("starttls", "closed"), {"smtp.rate_limited"}),
    ("closed-at-ehlo-inside-tls", stopped("ehlo_tls", "closed"), {"smtp.rate_limited"}),
    (
        "ehlo-421-too-many",
        stopped("ehlo", "rejected", ehlo_rejected=TOO_MANY, throttled=True),
        {"smtp.rate_limited"},
    ),
    (
        "ehlo-inside-tls-timeout",
        stopped("ehlo_tls", "timeout"),
        {"smtp.ehlo_rejected"},
    ),
    (
        "implicit-ehlo-refused",
        implicit_endpoint(ehlo_tls=None, ehlo_rejected=reply(554), stopped_at="ehlo_tls"),
        {"smtp.ehlo_rejected"},
    ),
    # AUTH before TLS.
    (
        "auth-in-plaintext-ehlo",
        endpoint(ehlo=ehlo("STARTTLS", AUTH=["PLAIN", "LOGIN"])),
        {"smtp.auth_before_tls"},
    ),
    (
        "old-style-auth-keyword",
        endpoint(ehlo=ehlo("STARTTLS", caps={"AUTH=LOGIN": ["PLAIN"]})),
        {"smtp.auth_before_tls"},
    ),
    ("auth-only-inside-tls", endpoint(ehlo_tls=ehlo("AUTH", "PIPELINING")), set()),
    (
        "auth-on-465-is-inside-tls",
        implicit_endpoint(ehlo_tls=ehlo(AUTH=["PLAIN"])),
        set(),
    ),
    # STARTTLS.
    (
        "starttls-not-offered-25",
        endpoint(
            ehlo=ehlo("PIPELINING"),
            starttls_offered=False,
            starttls_reply=None,
            handshake=None,
            ehlo_tls=None,
        ),
        {"starttls.not_offered"},
    ),
    (
        "starttls-not-offered-587-with-auth",
        endpoint(
            port=587,
            connect_port=587,
            ehlo=ehlo(AUTH=["PLAIN"]),
            starttls_offered=False,
            starttls_reply=None,
            handshake=None,
            ehlo_tls=None,
        ),
        {"starttls.not_offered", "smtp.auth_before_tls"},
    ),
    (
        "starttls-offered-flag-unset-keyword-judged",
        endpoint(
            starttls_offered=None,
            ehlo=ehlo("SIZE"),
            starttls_reply=None,
            handshake=None,
            ehlo_tls=None,
        ),
        {"starttls.not_offered"},
    ),
    (
        "starttls-454",
        stopped("starttls", "rejected", starttls_reply=reply(454, "4.7.0 TLS not available")),
        {"starttls.rejected"},
    ),
    ("starttls-no-reply", stopped("starttls", "timeout"), {"starttls.rejected"}),
    (
        "starttls-421-too-many",
        stopped("starttls", "rejected", starttls_reply=TOO_MANY, throttled=True),
        {"smtp.rate_limited"},
    ),
    (
        "handshake-failed-after-starttls",
        stopped("handshake", "tls", handshake_error="sslv3 alert handshake failure"),
        {"starttls.handshake_failed"},
    ),
    (
        "injection",
        endpoint(starttls_leftover="250 2.0.0 Ok\r\n"),
        {"starttls.injection"},
    ),
    # Implicit TLS (465).
    (
        "implicit-handshake-failed",
        implicit_endpoint(
            handshake=None,
            banner=None,
            ehlo_tls=None,
            stopped_at="handshake",
            stop_reason="tls",
            handshake_error="wrong version number",
        ),
        {"tls.implicit_failed"},
    ),
    (
        "implicit-plaintext-smtp",
        implicit_endpoint(
            handshake=None,
            ehlo_tls=None,
            stopped_at="handshake",
            stop_reason="tls",
            banner=reply(220, "plain ESMTP"),
        ),
        {"tls.implicit_failed"},
    ),
    (
        "implicit-banner-timeout-inside-tls",
        implicit_endpoint(banner=None, ehlo_tls=None, stopped_at="banner", stop_reason="timeout"),
        {"smtp.banner_timeout"},
    ),
    (
        "implicit-connect-refused",
        implicit_endpoint(
            connect_failure={"kind": "refused", "detail": "x"},
            handshake=None,
            banner=None,
            ehlo_tls=None,
        ),
        {"smtp.connect_failed"},
    ),
    # Ports nothing promises (an MX host's 465/587, a server's default port).
    (
        "optional-port-refused",
        implicit_endpoint(
            connect_failure={"kind": "refused", "detail": "x"},
            handshake=None,
            banner=None,
            ehlo_tls=None,
            optional=True,
        ),
        {"smtp.port_closed"},
    ),
    (
        "optional-port-timeout",
        connect_failed("timeout").model_copy(update={"port": 587, "optional": True}),
        {"smtp.port_closed"},
    ),
    # A STARTTLS handshake that stalls without any error text is still a failure.
    ("handshake-silent-timeout", stopped("handshake", "timeout"), {"starttls.handshake_failed"}),
]


@pytest.mark.parametrize(
    ("observation", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_dialogue_codes(observation: EndpointObservation, expected: set[str]) -> None:
    findings = [*check_smtp(observation), *check_starttls(observation)]
    assert codes(findings) == expected
    assert {f.severity for f in findings if f.code == "smtp.port_closed"} <= {Severity.INFO}
    assert len(findings) == len(expected)  # one finding per code per endpoint
    for finding in findings:
        assert finding.target == f"{HOST}[{IP}]:{observation.port}"
        assert "\n" not in finding.message


def test_severities() -> None:
    obs = endpoint(
        ehlo=ehlo(AUTH=["PLAIN"]),
        starttls_offered=False,
        starttls_reply=None,
        handshake=None,
        ehlo_tls=None,
    )
    assert severities([*check_smtp(obs), *check_starttls(obs)]) == {
        "smtp.auth_before_tls": Severity.WARNING,
        "starttls.not_offered": Severity.ERROR,
    }


@pytest.mark.parametrize(
    ("code", "text", "expected"),
    [
        (421, "4.7.0 Error: too many connections from 203.0.113.5", True),
        (421, "4.7.0 Try again later, closing connection.", True),
        (451, "4.7.1 Rate limited, slow down", True),
        (421, "4.3.2 Service shutting down", False),
        (421, "", False),
        (421, "mx.ratelimited.example Service shutting down", False),  # words only
        (421, "4.7.0 mx.busy.example closing", False),
        (554, "5.7.1 too many errors", False),  # permanent: a refusal, not throttling
        (250, "busy doing fine", False),
    ],
)
def test_looks_throttled(code: int, text: str, expected: bool) -> None:
    assert looks_throttled(reply(code, text)) is expected


def test_rate_limited_says_what_was_not_tested() -> None:
    obs = stopped("banner", "rejected", banner=TOO_MANY, throttled=True)
    assert untested_steps(obs) == ["banner", "EHLO", "STARTTLS", "TLS handshake and certificate"]
    (finding,) = check_smtp(obs)
    assert finding.code == "smtp.rate_limited"
    assert "STARTTLS" in finding.message and "certificate" in finding.message
    assert untested_steps(endpoint()) == []
    no_tls = endpoint(
        starttls_offered=False, ehlo=ehlo(), starttls_reply=None, handshake=None, ehlo_tls=None
    )
    assert untested_steps(no_tls) == []


def test_starttls_inconsistent_across_addresses() -> None:
    # Given two addresses of one host on port 25, only one offering STARTTLS,
    # Then one host-level warning (and the endpoint-level error for the other).
    good = endpoint()
    bad = endpoint(
        ip=IP2,
        ehlo=ehlo("PIPELINING"),
        starttls_offered=False,
        starttls_reply=None,
        handshake=None,
        ehlo_tls=None,
    )
    findings = check_starttls_consistency([good, bad])
    assert [(f.code, f.target, f.severity) for f in findings] == [
        ("starttls.inconsistent", HOST, Severity.WARNING)
    ]
    # Different ports are different services: 25 with TLS, 587 without is not "inconsistent".
    bad_587 = bad.model_copy(update={"ip": IP, "port": 587, "connect_port": 587})
    assert check_starttls_consistency([good, bad_587]) == []
    # An endpoint that never completed EHLO says nothing either way.
    assert check_starttls_consistency([good, stopped("banner", "timeout", ip=IP2)]) == []


def test_a_named_server_with_every_port_closed_is_down() -> None:
    # Given a server named by the user whose default ports are all closed,
    closed = [
        connect_failed("refused").model_copy(
            update={"port": port, "role": "server", "optional": True}
        )
        for port in (25, 465, 587)
    ]
    findings = [f for obs in closed for f in check_smtp(obs)]
    assert codes(findings) == {"smtp.port_closed"}
    # then the cross-endpoint rule turns "closed" into "down" for that host only.
    other = endpoint(host="up.example.test", role="server", optional=True)
    judged = check_dead_servers(findings, [*closed, other])
    assert codes(judged) == {"smtp.connect_failed"} and len(judged) == 3
    # One open port is enough for the others to stay merely closed.
    assert codes(check_dead_servers(findings[:2], [*closed[:2], endpoint(role="server")])) == {
        "smtp.port_closed"
    }


def test_starttls_inconsistent_across_connections_of_one_address() -> None:
    # Given one address whose main session offers STARTTLS but whose second
    # session (without SNI) does not: a pool member behind one address,
    findings = check_starttls_consistency([endpoint(nosni_starttls_offered=False)])
    assert [(f.code, f.target) for f in findings] == [("starttls.inconsistent", HOST)]
    assert "(no SNI)" in findings[0].message
    # and the deep scan's connections count too, by how many saw what.
    tally = DeepScanObservation(host=HOST, ip=IP, port=25, starttls_offered=7, starttls_absent=1)
    scan = DeepScan(host=HOST, ip=IP, port=25, tls=tally)
    (finding,) = check_starttls_consistency([endpoint(nosni_starttls_offered=True)], [scan])
    assert "deep scan, 1 connection)" in finding.message
    agreeing = DeepScanObservation(host=HOST, ip=IP, port=25, starttls_offered=7)
    quiet = DeepScan(host=HOST, ip=IP, port=25, tls=agreeing)
    assert check_starttls_consistency([endpoint(nosni_starttls_offered=True)], [quiet]) == []
