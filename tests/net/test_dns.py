"""The run's resolver: nameserver parsing, and answers as data against the lab DNS."""

from __future__ import annotations

import socket
import time

import pytest

from mxtls.errors import ConfigError
from mxtls.lab.world import Lab
from mxtls.net.dns import RunResolver, parse_nameserver
from tests.bounds import SLACK_S, bound


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("::1", ("::1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        ("[2001:db8::53]", ("2001:db8::53", 53)),
    ],
)
def test_parse_nameserver(spec: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(spec) == expected


@pytest.mark.parametrize("spec", ["dns.example", "127.0.0.1:0", "127.0.0.1:x", "[::1", "[::1]x"])
def test_parse_nameserver_rejects(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_nameserver(spec)


async def test_answers_are_data(lab: Lab) -> None:
    resolver = RunResolver((lab.nameserver,), timeout=2.0)
    mx = await resolver.query("good.lab", "MX")
    assert mx.status == "NOERROR" and len(mx.records) == 2
    assert (await resolver.query("no-such-name.good.lab", "A")).status == "NXDOMAIN"
    assert (await resolver.query("good.lab", "AAAA")).status in ("NODATA", "NOERROR")
    servfail = await resolver.query("servfail.lab", "MX")
    assert servfail.status == "SERVFAIL" and servfail.failed


async def test_identical_queries_are_asked_once(lab: Lab) -> None:
    resolver = RunResolver((lab.nameserver,), timeout=2.0)
    first = await resolver.query("good.lab", "MX")
    second = await resolver.query("GOOD.lab.", "MX")
    assert first is second


def _closed_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: nothing listens there now


async def test_dead_resolver_is_named_at_once() -> None:
    # Given a resolver address where nothing listens (the kernel answers
    # "port unreachable"), a lookup says so without waiting for its timeout,
    port = _closed_udp_port()
    resolver = RunResolver((("127.0.0.1", port),), timeout=30.0)
    started = time.perf_counter()
    answer = await resolver.query("example.com", "MX")
    assert time.perf_counter() - started < SLACK_S  # no timeout waited out
    # and the message names the resolver that is dead.
    assert answer.status == "ERROR" and answer.error is not None
    assert f"127.0.0.1:{port}" in answer.error and "nothing listens" in answer.error
    # The next lookup reuses that knowledge.
    again = await resolver.query("example.org", "A")
    assert again.status == "ERROR" and f"127.0.0.1:{port}" in (again.error or "")


async def test_silent_resolver_timeout_names_the_resolver() -> None:
    # A socket that receives and never answers: the lookup times out, naming the server.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        resolver = RunResolver((("127.0.0.1", port),), timeout=0.5)
        answer = await resolver.query("example.com", "MX")
    assert answer.status == "TIMEOUT"
    assert f"127.0.0.1:{port}" in (answer.error or "")


async def test_unreachable_resolver_times_out_within_bound() -> None:
    resolver = RunResolver((("127.0.0.1", 9),), timeout=1.0)
    started = time.perf_counter()
    answer = await resolver.query("example.com", "MX")
    assert answer.failed
    assert time.perf_counter() - started < bound(1.0)
