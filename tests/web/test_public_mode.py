"""A public-mode server never connects to a non-public address (security regression).

Given a server without ``--allow-private`` whose resolver (a stub on
loopback) points every way a check reaches a host at refused addresses, when
a visitor asks for the check, then the report says those endpoints were not
tested because the address is not public, no connection arrived at the
listeners waiting on the refused loopback addresses, and the process never
even tried to connect to one (every ``socket.connect`` is audited; one that
would leave loopback is blocked by the test, so a regression sends nothing).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from mxtls.config import CheckConfig, Timeouts
from tests.web.conftest import wait_done
from tests.web.peers import Listeners, StubDns, connect_audit, ipv6_loopback

FORBIDDEN_V4 = [
    "10.0.0.1",  # RFC 1918
    "172.16.0.1",
    "192.168.0.1",
    "169.254.0.1",  # link-local
    "100.64.0.1",  # CGNAT
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "192.0.2.1",  # documentation
    "0.0.0.0",
]
FORBIDDEN_V6 = ["fd00::1", "fe80::1", "ff02::1", "2001:db8::1", "::ffff:127.0.0.1", "::1"]
_flip = itertools.count()


def _zone(name: str, rdtype: str) -> list[str] | None:
    table: dict[tuple[str, str], list[str]] = {
        ("loop.test", "A"): ["127.0.0.1"],
        ("mxliteral.test", "MX"): ["10 127.0.0.1."],
        ("mxa.test", "MX"): ["10 mx.mxa.test."],
        ("mx.mxa.test", "A"): ["127.0.0.1"],
        ("mx.mxa.test", "AAAA"): ["::1"],
        ("ranges.test", "MX"): ["10 mx.ranges.test."],
        ("mx.ranges.test", "A"): FORBIDDEN_V4,
        ("mx.ranges.test", "AAAA"): FORBIDDEN_V6,
        ("sts.test", "MX"): ["10 mx.sts.test."],
        ("mx.sts.test", "A"): ["127.0.0.1"],
        ("_mta-sts.sts.test", "TXT"): ['"v=STSv1; id=20260101"'],
        ("mta-sts.sts.test", "A"): ["127.0.0.1"],
        ("srv.test", "MX"): ["10 mx.srv.test."],
        ("mx.srv.test", "A"): ["127.0.0.1"],
        ("_submission._tcp.srv.test", "SRV"): ["0 1 587 sub.srv.test."],
        ("sub.srv.test", "A"): ["127.0.0.1"],
        ("rebind.test", "MX"): ["10 mx.rebind.test."],
    }
    if (name, "A") == ("mx.rebind.test", "A"):
        # Answers change between lookups: the allowed address, then a refused one.
        return ["127.0.0.2"] if next(_flip) % 2 == 0 else ["127.0.0.1"]
    if (name, rdtype) in table:
        return table[(name, rdtype)]
    known = {n for n, _ in table} | {"mx.rebind.test"}
    return [] if name in known else None


@pytest.fixture(scope="module")
def dns_stub() -> Iterator[StubDns]:
    stub = StubDns(_zone)
    yield stub
    stub.close()


@pytest.fixture(scope="module")
def listeners() -> Iterator[Listeners]:
    addresses = ["127.0.0.1", "127.0.0.2"] + (["::1"] if ipv6_loopback() else [])
    server = Listeners(addresses)
    yield server
    server.close()


@pytest.fixture
def public(serve: Any, dns_stub: StubDns, listeners: Listeners) -> Any:
    port = listeners.port
    config = CheckConfig(
        nameservers=(dns_stub.address,),
        port_map=((25, port), (465, port), (587, port), (443, port)),
        timeouts=Timeouts.uniform(1.0),
        ehlo_name="checker.test",
    )
    # 127.0.0.2 stands in for a public address (the rebinding case needs one).
    return serve(config, also_public=("127.0.0.2/32",), cooldown_s=0.0, burst=50).client


def _run(client: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    accepted = client.post(path, json=body)
    assert accepted.status_code == 202, accepted.text
    state = wait_done(client, accepted.json()["id"])
    assert state["status"] == "done", state
    result: dict[str, Any] = state["result"]
    return result


def _blocked(result: dict[str, Any]) -> dict[str, str]:
    """address -> connect failure kind, for every endpoint of the report."""
    out = {}
    for host in result["hosts"]:
        for ep in host["endpoints"]:
            failure = ep.get("connect_failure") or {}
            out[ep["ip"]] = failure.get("kind", "connected")
    return out


def _no_connection(seen: list[tuple[str, int]], listeners: Listeners, *refused: str) -> None:
    assert not [a for a in listeners.accepted if a in refused], listeners.accepted
    assert not [(h, p) for h, p in seen if h in refused and p == listeners.port], seen


def _probes(seen: list[tuple[str, int]], listeners: Listeners) -> list[tuple[str, int]]:
    """The connect calls a check made (the test's own requests to the server left out)."""
    return [(h, p) for h, p in seen if p == listeners.port]


def test_named_directly_is_refused_before_queueing(public: Any, listeners: Listeners) -> None:
    with connect_audit() as seen:
        for target in ("127.0.0.1:25", "[::1]:25", "10.1.2.3", "169.254.169.254:25"):
            response = public.post("/api/v1/servers", json={"servers": [target]})
            assert response.status_code == 422, target
            assert "public addresses only" in response.text
    _no_connection(seen, listeners, "127.0.0.1", "::1")
    assert _probes(seen, listeners) == []


def test_named_server_resolving_to_loopback(public: Any, listeners: Listeners) -> None:
    with connect_audit() as seen:
        result = _run(public, "/api/v1/servers", {"servers": ["loop.test:25"]})
    assert _blocked(result) == {"127.0.0.1": "blocked"}
    _no_connection(seen, listeners, "127.0.0.1")


def test_mx_target_written_as_an_address(public: Any, listeners: Listeners) -> None:
    with connect_audit() as seen:
        result = _run(public, "/api/v1/checks", {"domain": "mxliteral.test"})
    # An address as MX target is itself a finding; if it is probed at all, it is blocked.
    assert set(_blocked(result).values()) <= {"blocked"}
    assert result["hosts"][0]["name"] == "127.0.0.1"
    _no_connection(seen, listeners, "127.0.0.1")


def test_mx_host_addresses(public: Any, listeners: Listeners) -> None:
    with connect_audit() as seen:
        result = _run(public, "/api/v1/checks", {"domain": "mxa.test"})
    assert set(_blocked(result).values()) == {"blocked"}
    assert "127.0.0.1" in _blocked(result) and "::1" in _blocked(result)
    verdicts = {v["sender"]: v["outcome"] for v in result["verdict"]["senders"]}
    assert verdicts["opportunistic"] == "not_tested"  # not "nobody can deliver"
    _no_connection(seen, listeners, "127.0.0.1", "::1")


def test_every_non_public_range(public: Any, listeners: Listeners) -> None:
    with connect_audit() as seen:
        result = _run(public, "/api/v1/checks", {"domain": "ranges.test", "ports": [25, 587]})
    blocked = _blocked(result)
    assert len(blocked) == len(FORBIDDEN_V4) + len(FORBIDDEN_V6)
    assert set(blocked.values()) == {"blocked"}, blocked
    assert _probes(seen, listeners) == []  # not one connect call, to any of them


def test_policy_host(public: Any, listeners: Listeners) -> None:
    with connect_audit() as seen:
        result = _run(public, "/api/v1/checks", {"domain": "sts.test"})
    fetch = result["mta_sts"]["fetch"]
    assert fetch["error"]["kind"] == "connect"
    assert "public addresses only" in fetch["error"]["detail"]
    _no_connection(seen, listeners, "127.0.0.1")


def test_srv_target(public: Any, listeners: Listeners) -> None:
    with connect_audit() as seen:
        result = _run(public, "/api/v1/checks", {"domain": "srv.test"})
    submission = [ep for h in result["submission"]["hosts"] for ep in h["endpoints"]]
    assert submission and {ep["connect_failure"]["kind"] for ep in submission} == {"blocked"}
    _no_connection(seen, listeners, "127.0.0.1")


def test_answers_that_change_between_lookups(public: Any, listeners: Listeners) -> None:
    # Given an MX host whose address flips between an allowed and a refused one,
    # when it is checked again and again, then every connection went to the
    # address that was checked at the moment of connecting: never to the refused one.
    before = list(listeners.accepted)
    outcomes: set[str] = set()
    with connect_audit() as seen:
        for _ in range(4):
            result = _run(public, "/api/v1/checks", {"domain": "rebind.test"})
            outcomes |= {f"{ip}={kind}" for ip, kind in _blocked(result).items()}
            if "127.0.0.1=blocked" in outcomes and "127.0.0.2=connected" in outcomes:
                break
    assert "127.0.0.1=blocked" in outcomes and "127.0.0.2=connected" in outcomes, outcomes
    arrived = listeners.accepted[len(before) :]
    assert arrived and set(arrived) == {"127.0.0.2"}
    _no_connection(seen, listeners, "127.0.0.1")


def test_ports_must_be_mail_ports(public: Any) -> None:
    for body in (
        {"domain": "mxa.test", "ports": [22]},
        {"domain": "mxa.test", "ports": [25, 6379]},
        {"domain": "mxa.test", "ports": [443]},
    ):
        response = public.post("/api/v1/checks", json=body)
        assert response.status_code == 422, body
    response = public.post("/api/v1/servers", json={"servers": ["loop.test:6379"]})
    assert response.status_code == 422
