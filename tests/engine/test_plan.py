"""Planning: domain normalisation and MX interpretation (pure parts)."""

from __future__ import annotations

import pytest

from mxtls.config import CheckConfig
from mxtls.engine.plan import initial_hosts, is_ip_literal, normalize_domain, parse_mx
from mxtls.errors import InvalidDomain
from mxtls.models.observations import DnsAnswer


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.COM", "example.com"),
        ("example.com.", "example.com"),
        ("  mail.example.org ", "mail.example.org"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
    ],
)
def test_normalize_domain(raw: str, expected: str) -> None:
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        ".",
        "localhost",
        "192.0.2.1",
        "[2001:db8::1]",
        "exa mple.com",
        "-bad.example",
        "a..b",
        "x" * 64 + ".example",
        "under_score.example",
        ("a." * 130) + "com",
    ],
)
def test_normalize_domain_rejects(raw: str) -> None:
    with pytest.raises(InvalidDomain):
        normalize_domain(raw)


def _mx(*records: str, status: str = "NOERROR") -> DnsAnswer:
    return DnsAnswer(qname="d.example", rdtype="MX", status=status, records=list(records))


def test_parse_mx_orders_by_preference_then_name() -> None:
    recs = parse_mx(_mx("20 b.example.", "10 z.example.", "10 a.example."))
    assert [(r.preference, r.exchange) for r in recs] == [
        (10, "a.example"),
        (10, "z.example"),
        (20, "b.example"),
    ]


def test_null_mx_is_recognised() -> None:
    assert initial_hosts("d.example", _mx("0 ."), CheckConfig()) == (True, [])


def test_no_mx_means_implicit_mx() -> None:
    null, hosts = initial_hosts("d.example", _mx(status="NODATA"), CheckConfig())
    assert not null
    assert [(h.name, h.implicit) for h in hosts] == [("d.example", True)]


def test_failed_mx_lookup_plans_nothing() -> None:
    assert initial_hosts("d.example", _mx(status="SERVFAIL"), CheckConfig()) == (False, [])


def test_ip_literal_targets_are_flagged() -> None:
    _, hosts = initial_hosts("d.example", _mx("10 192.0.2.7.", "20 mx.d.example."), CheckConfig())
    assert [(h.name, h.ip_literal) for h in hosts] == [("192.0.2.7", True), ("mx.d.example", False)]
    assert is_ip_literal("[2001:db8::1]") and not is_ip_literal("mx.example")


def test_duplicate_and_root_targets_among_real_ones_are_dropped() -> None:
    _, hosts = initial_hosts(
        "d.example", _mx("10 a.example.", "10 a.example.", "0 ."), CheckConfig()
    )
    assert [h.name for h in hosts] == ["a.example"]
