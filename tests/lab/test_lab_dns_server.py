"""The lab DNS server on its own: answers from a small zone, faults, transports, DNSSEC hook."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import dns.asyncquery
import dns.dnssec
import dns.dnssectypes
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from mxtls.lab.dns_server import DnsFault, DnsServer

ZONE = """
$TTL 300
@ SOA ns.t.lab. hostmaster.t.lab. 1 3600 600 86400 300
@ NS ns.t.lab.
@ MX 10 mx.t.lab.
mx A 127.77.250.1
mx AAAA ::1
alias CNAME mx
outside CNAME mail.example.
loop1 CNAME loop2
loop2 CNAME loop1
a.b.deep TXT "deep"
"""


def make_zone() -> dns.zone.Zone:
    return dns.zone.from_text(ZONE, "t.lab.", relativize=False)


@pytest.fixture
async def server() -> AsyncIterator[DnsServer]:
    srv = DnsServer(
        [make_zone()],
        faults={
            dns.name.from_text("fail.t.lab"): DnsFault.SERVFAIL,
            dns.name.from_text("no.t.lab"): DnsFault.REFUSED,
            dns.name.from_text("silent.t.lab"): DnsFault.TIMEOUT,
        },
    )
    await srv.start("127.0.0.1", 0)
    try:
        yield srv
    finally:
        await srv.stop()


async def ask(
    srv: DnsServer, name: str, rdtype: str, *, tcp: bool = False, timeout: float = 2.0
) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype)
    ip, port = srv.address
    if tcp:
        return await dns.asyncquery.tcp(q, ip, port=port, timeout=timeout)
    return await dns.asyncquery.udp(q, ip, port=port, timeout=timeout)


async def test_positive_answer_is_authoritative_over_udp_and_tcp(server: DnsServer) -> None:
    for tcp in (False, True):
        r = await ask(server, "t.lab", "MX", tcp=tcp)
        assert r.rcode() == dns.rcode.NOERROR
        assert r.flags & dns.flags.AA and not r.flags & dns.flags.RA
        assert [str(rd.exchange) for rd in r.answer[0]] == ["mx.t.lab."]


async def test_cname_answer_carries_the_target_records(server: DnsServer) -> None:
    r = await ask(server, "alias.t.lab", "A")
    assert [(str(rr.name), rr.rdtype) for rr in r.answer] == [
        ("alias.t.lab.", dns.rdatatype.CNAME),
        ("mx.t.lab.", dns.rdatatype.A),
    ]
    # Asking for the CNAME itself returns only the CNAME.
    r = await ask(server, "alias.t.lab", "CNAME")
    assert [rr.rdtype for rr in r.answer] == [dns.rdatatype.CNAME]


async def test_cname_out_of_the_lab_and_cname_loop(server: DnsServer) -> None:
    r = await ask(server, "outside.t.lab", "A")
    assert r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1
    r = await ask(server, "loop1.t.lab", "A")
    assert r.rcode() == dns.rcode.SERVFAIL


async def test_nxdomain_nodata_and_empty_non_terminal(server: DnsServer) -> None:
    r = await ask(server, "nothing.t.lab", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN and not r.answer
    assert r.authority[0].rdtype == dns.rdatatype.SOA
    r = await ask(server, "mx.t.lab", "TXT")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert r.authority[0].rdtype == dns.rdatatype.SOA
    r = await ask(server, "b.deep.t.lab", "A")  # exists only as a parent of a.b.deep
    assert r.rcode() == dns.rcode.NOERROR and not r.answer


async def test_faults_and_names_outside_every_zone(server: DnsServer) -> None:
    assert (await ask(server, "fail.t.lab", "MX")).rcode() == dns.rcode.SERVFAIL
    assert (await ask(server, "no.t.lab", "A")).rcode() == dns.rcode.REFUSED
    assert (await ask(server, "example.com", "A")).rcode() == dns.rcode.REFUSED
    with pytest.raises(dns.exception.Timeout):
        await ask(server, "silent.t.lab", "MX", timeout=0.3)
    with pytest.raises(dns.exception.Timeout):
        await ask(server, "silent.t.lab", "MX", tcp=True, timeout=0.3)


async def test_garbage_gets_formerr_or_nothing(server: DnsServer) -> None:
    loop = asyncio.get_running_loop()
    ip, port = server.address
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setblocking(False)
        await loop.sock_connect(s, (ip, port))
        await loop.sock_sendall(s, b"\x12\x34\x01\x00" + b"\xff" * 20)  # header + junk
        reply = await asyncio.wait_for(loop.sock_recv(s, 512), 2)
    assert reply[:2] == b"\x12\x34"
    assert reply[2] & 0x80  # QR
    assert reply[3] & 0x0F == dns.rcode.FORMERR


async def test_several_queries_on_one_tcp_connection(server: DnsServer) -> None:
    ip, port = server.address
    reader, writer = await asyncio.open_connection(ip, port)
    try:
        wire = b""
        for i, name in enumerate(("t.lab", "mx.t.lab")):
            q = dns.message.make_query(name, "A", id=100 + i).to_wire()
            wire += len(q).to_bytes(2, "big") + q
        writer.write(wire)  # both at once, in one segment
        ids = []
        for _ in range(2):
            n = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), 2), "big")
            ids.append(dns.message.from_wire(await reader.readexactly(n)).id)
        assert ids == [100, 101]
    finally:
        writer.close()


async def test_stop_closes_open_tcp_connections(server: DnsServer) -> None:
    ip, port = server.address
    reader, writer = await asyncio.open_connection(ip, port)
    await asyncio.sleep(0.05)
    await asyncio.wait_for(server.stop(), 3)
    assert await asyncio.wait_for(reader.read(), 2) == b""
    writer.close()


def test_answer_is_pure_and_adds_rrsigs_only_when_do_is_set() -> None:
    # Given a zone signed the way a later DNSSEC scenario will sign it
    zone = make_zone()
    ksk = ec.generate_private_key(ec.SECP256R1())
    dnskey = dns.dnssec.make_dnskey(ksk.public_key(), dns.dnssectypes.Algorithm.ECDSAP256SHA256)
    dns.dnssec.sign_zone(zone, keys=[(ksk, dnskey)], add_dnskey=True, dnskey_ttl=300, lifetime=3600)
    srv = DnsServer([zone])
    # When a query sets DO, every answer RRset comes with its RRSIG
    q = dns.message.make_query("mx.t.lab", "A", want_dnssec=True)
    r = srv.answer(q)
    assert r is not None
    assert [rr.rdtype for rr in r.answer] == [dns.rdatatype.A, dns.rdatatype.RRSIG]
    assert r.ednsflags & dns.flags.DO
    # and without DO there is none
    r = srv.answer(dns.message.make_query("mx.t.lab", "A", use_edns=0))
    assert r is not None and [rr.rdtype for rr in r.answer] == [dns.rdatatype.A]
    # and DNSKEY is served at the apex
    r = srv.answer(dns.message.make_query("t.lab", "DNSKEY", want_dnssec=True))
    assert r is not None and r.answer[0].rdtype == dns.rdatatype.DNSKEY


def test_relative_zones_are_refused() -> None:
    with pytest.raises(ValueError):
        DnsServer([dns.zone.from_text(ZONE, "t.lab.")])
