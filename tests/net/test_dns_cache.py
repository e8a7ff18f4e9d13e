"""The runtime's resolver: answers kept for their TTL, a bounded cache, nothing asked twice.

Against the lab's authoritative server, which counts every question it gets.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import dns.name
import dns.zone
import pytest

from mxtls.config import CheckConfig, Timeouts
from mxtls.lab.dns_server import DnsFault, DnsServer
from mxtls.net.dns import DnsClient, RunResolver
from mxtls.net.dnssec import DnssecProbe

ZONE = """\
$TTL 300
@ SOA ns.t.lab. hostmaster.t.lab. 1 3600 600 86400 30
@ NS ns.t.lab.
short 5 A 192.0.2.5
long 86400 A 192.0.2.6
zero 0 A 192.0.2.7
mx A 192.0.2.25
"""
TIMEOUT_S = 2.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def server() -> AsyncIterator[DnsServer]:
    zone = dns.zone.from_text(ZONE, "t.lab.", relativize=False)
    srv = DnsServer([zone], faults={dns.name.from_text("broken.t.lab."): DnsFault.SERVFAIL})
    await srv.start("127.0.0.1", 0)
    try:
        yield srv
    finally:
        await srv.stop()


def _asked(srv: DnsServer, name: str, rdtype: str = "A", cd: bool = False) -> int:
    return srv.asked[(name, rdtype, cd)]


async def test_answers_are_kept_for_their_ttl(server: DnsServer) -> None:
    clock = FakeClock()
    client = DnsClient((server.address,), timeout=TIMEOUT_S, monotonic=clock)
    for _ in range(3):
        assert (await client.query("short.t.lab", "A")).records == ["192.0.2.5"]
        await client.query("long.t.lab", "A")
    assert _asked(server, "short.t.lab") == _asked(server, "long.t.lab") == 1
    clock.now += 5.5  # past the 5 s TTL, well within a day
    await client.query("short.t.lab", "A")
    await client.query("long.t.lab", "A")
    assert _asked(server, "short.t.lab") == 2 and _asked(server, "long.t.lab") == 1
    clock.now += 3600.5  # the cache keeps nothing longer than an hour
    await client.query("long.t.lab", "A")
    assert _asked(server, "long.t.lab") == 2


async def test_negative_answers_follow_the_soa_minimum(server: DnsServer) -> None:
    clock = FakeClock()
    client = DnsClient((server.address,), timeout=TIMEOUT_S, monotonic=clock)
    assert (await client.query("nothing.t.lab", "A")).status == "NXDOMAIN"
    assert (await client.query("mx.t.lab", "MX")).status == "NODATA"
    clock.now += 29  # RFC 2308: the SOA's minimum (30 s) bounds the negative TTL
    await client.query("nothing.t.lab", "A")
    await client.query("mx.t.lab", "MX")
    assert _asked(server, "nothing.t.lab") == 1 and _asked(server, "mx.t.lab", "MX") == 1
    clock.now += 2
    await client.query("nothing.t.lab", "A")
    assert _asked(server, "nothing.t.lab") == 2


async def test_zero_ttl_is_asked_again_but_one_check_sees_one_answer(server: DnsServer) -> None:
    client = DnsClient((server.address,), timeout=TIMEOUT_S)
    first, second = RunResolver(client=client), RunResolver(client=client)
    assert await first.query("zero.t.lab", "A") is await first.query("ZERO.t.lab.", "A")
    await second.query("zero.t.lab", "A")
    assert _asked(server, "zero.t.lab") == 2  # one per check, none kept in between


async def test_concurrent_identical_questions_go_out_once(server: DnsServer) -> None:
    client = DnsClient((server.address,), timeout=TIMEOUT_S)
    answers = await asyncio.gather(*(client.query("mx.t.lab", "A") for _ in range(20)))
    assert {a.records[0] for a in answers} == {"192.0.2.25"}
    assert _asked(server, "mx.t.lab") == 1 and client.sent == 1


async def test_the_cache_stays_within_its_bound(server: DnsServer) -> None:
    client = DnsClient((server.address,), timeout=TIMEOUT_S, cache_entries=8)
    for i in range(40):
        await client.query(f"n{i}.t.lab", "A")
        assert len(client.cache) <= 8
    assert client.cache.in_flight == 0


async def test_ad_mode_reads_the_resolvers_answer_without_asking_again(server: DnsServer) -> None:
    # Given: a check's resolver and the AD-mode probe on one client
    client = DnsClient((server.address,), timeout=TIMEOUT_S)
    probe = DnssecProbe(CheckConfig(timeouts=Timeouts.uniform(TIMEOUT_S)), client=client)
    resolver = RunResolver(client=client)
    await resolver.query("mx.t.lab", "A")
    await resolver.query("broken.t.lab", "A")

    # When: the probe judges the same answers
    plain = await probe.status("mx.t.lab", "A")
    broken = await probe.status("broken.t.lab", "A")

    # Then: no question twice; only the SERVFAIL is asked again, with CD
    assert plain.status == "insecure"  # the lab's server never sets AD
    assert broken.status == "indeterminate"
    assert _asked(server, "mx.t.lab") == 1 and _asked(server, "mx.t.lab", cd=True) == 0
    assert _asked(server, "broken.t.lab") == 1
    assert _asked(server, "broken.t.lab", cd=True) == 1
