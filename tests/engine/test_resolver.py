"""The run's resolver: nameserver parsing, and answers as data against the lab DNS."""

from __future__ import annotations

import time

import pytest

from mxtls.errors import ConfigError
from mxtls.lab.world import Lab
from mxtls.net.dns import RunResolver, parse_nameserver


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


async def test_unreachable_resolver_times_out_within_bound() -> None:
    resolver = RunResolver((("127.0.0.1", 9),), timeout=1.0)
    started = time.perf_counter()
    answer = await resolver.query("example.com", "MX")
    assert answer.failed
    assert time.perf_counter() - started < 3.0
