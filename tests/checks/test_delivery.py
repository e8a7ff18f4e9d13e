"""``delivery.unencrypted_path``: MX hosts that opportunistic senders reach only in clear."""

from __future__ import annotations

import pytest

from mxtls.checks.delivery import check_delivery
from mxtls.models.findings import Severity
from mxtls.models.observations import EndpointObservation

from .builders import DOMAIN, IP2, codes, discovery, ehlo, endpoint, reply, stopped

NO_STARTTLS = {
    "ehlo": ehlo("PIPELINING"),
    "starttls_offered": False,
    "starttls_reply": None,
    "handshake": None,
    "ehlo_tls": None,
}

CASES: list[tuple[str, list[EndpointObservation], set[str]]] = [
    ("tls-everywhere", [endpoint(), endpoint(ip=IP2)], set()),
    ("no-starttls-on-25", [endpoint(**NO_STARTTLS)], {"delivery.unencrypted_path"}),
    (
        "helo-only",
        [endpoint(**{**NO_STARTTLS, "ehlo": ehlo(command="HELO"), "ehlo_rejected": reply(502)})],
        {"delivery.unencrypted_path"},
    ),
    (
        "starttls-454",
        [stopped("starttls", "rejected", starttls_reply=reply(454, "TLS not available"))],
        {"delivery.unencrypted_path"},
    ),
    (
        "handshake-failed",
        [stopped("handshake", "tls", handshake_error="alert 40")],
        {"delivery.unencrypted_path"},
    ),
    (
        # A handshake that stalls without an error text leaves the session in clear too.
        "handshake-silent-timeout",
        [stopped("handshake", "timeout")],
        {"delivery.unencrypted_path"},
    ),
    (
        "one-address-of-two",
        [endpoint(), endpoint(ip=IP2, **NO_STARTTLS)],
        {"delivery.unencrypted_path"},
    ),
    # Submission ports are not the MX path.
    ("no-starttls-on-587-only", [endpoint(port=587, connect_port=587, **NO_STARTTLS)], set()),
    # No SMTP session at all: nothing was delivered in clear either.
    ("banner-timeout", [stopped("banner", "timeout")], set()),
    ("closed-at-starttls", [stopped("starttls", "closed")], set()),
]


@pytest.mark.parametrize(
    ("endpoints", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_delivery_codes(endpoints: list[EndpointObservation], expected: set[str]) -> None:
    findings = check_delivery(discovery(), endpoints)
    assert codes(findings) == expected
    assert all(f.target == DOMAIN and f.severity is Severity.WARNING for f in findings)
    assert len(findings) == len(expected)  # one per MX host
