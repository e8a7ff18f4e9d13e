"""Reverse DNS against a real authoritative DNS server on loopback (the lab's), and its checks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import dns.name
import dns.zone
import pytest

from mxtls.checks.ptr import check_ptr
from mxtls.lab.dns_server import DnsFault, DnsServer
from mxtls.models.observations import EndpointObservation, SmtpReply
from mxtls.net.dns import RunResolver
from mxtls.net.ptr import reverse_lookup

REVERSE = """
$TTL 60
@ SOA ns.test. hostmaster.test. 1 60 60 60 60
@ NS ns.test.
1.0 PTR mx.ok.test.
2.0 PTR stale.ok.test.
5.0 PTR mx.ok.test.
5.0 PTR alias.ok.test.
"""
FORWARD = """
$TTL 60
@ SOA ns.test. hostmaster.test. 1 60 60 60 60
@ NS ns.test.
mx A 127.77.0.1
mx A 127.77.0.5
stale A 127.77.0.9
alias A 127.77.0.5
"""


@pytest.fixture
async def resolver() -> AsyncIterator[RunResolver]:
    zones = [
        dns.zone.from_text(REVERSE, "77.127.in-addr.arpa.", relativize=False),
        dns.zone.from_text(FORWARD, "ok.test.", relativize=False),
    ]
    faults = {dns.name.from_text("4.0.77.127.in-addr.arpa."): DnsFault.SERVFAIL}
    server = DnsServer(zones, faults=faults)
    address = await server.start()
    try:
        yield RunResolver((address,), timeout=2.0)
    finally:
        await server.stop()


async def test_confirmed_unconfirmed_missing_failed(resolver: RunResolver) -> None:
    ok = await reverse_lookup("127.77.0.1", resolver)
    assert (ok.status, ok.names, ok.confirmed_names) == (
        "confirmed",
        ["mx.ok.test"],
        ["mx.ok.test"],
    )
    assert ok.ptr.qname.startswith("1.0.77.127.in-addr.arpa")
    stale = await reverse_lookup("127.77.0.2", resolver)
    assert (stale.status, stale.names, stale.confirmed_names) == (
        "unconfirmed",
        ["stale.ok.test"],
        [],
    )
    assert stale.forward[0].records == ["127.77.0.9"]
    missing = await reverse_lookup("127.77.0.3", resolver)
    assert missing.status == "missing" and missing.ptr.status == "NXDOMAIN"
    failed = await reverse_lookup("127.77.0.4", resolver)
    assert failed.status == "failed" and failed.ptr.status == "SERVFAIL"
    two = await reverse_lookup("127.77.0.5", resolver)
    assert two.status == "confirmed" and set(two.confirmed_names) == {"mx.ok.test", "alias.ok.test"}


def _endpoint(ip: str, banner: str) -> EndpointObservation:
    return EndpointObservation(
        host="mx.ok.test",
        ip=ip,
        port=25,
        connect_port=25,
        tls_mode="starttls",
        banner=SmtpReply(code=220, lines=[f"{banner} ESMTP"]),
    )


async def test_ptr_findings_and_names(resolver: RunResolver) -> None:
    addresses = ["127.77.0.1", "127.77.0.2", "127.77.0.3", "127.77.0.4"]
    reverse = {ip: await reverse_lookup(ip, resolver) for ip in addresses}
    endpoints = [
        _endpoint("127.77.0.1", "mx.ok.test"),  # agrees with PTR and MX name
        _endpoint("127.77.0.2", "stale.ok.test"),  # the PTR name: fine, but no FCrDNS
        _endpoint("127.77.0.3", "localhost.localdomain"),  # a forgotten myhostname
        _endpoint("127.77.0.4", "other.example"),  # PTR lookup failed: nothing judged
    ]
    found = {(f.code, f.target) for f in check_ptr("mx.ok.test", reverse, endpoints)}
    assert found == {
        ("ptr.mismatch", "mx.ok.test[127.77.0.2]:25"),
        ("ptr.missing", "mx.ok.test[127.77.0.3]:25"),
        ("ptr.name_differs", "mx.ok.test[127.77.0.3]:25"),
    }
