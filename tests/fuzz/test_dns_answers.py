"""Fuzzing what a DNS server can answer: the resolver and everything that reads its answers.

A scripted DNS server on loopback (UDP and TCP, one port) answers every
query with the example's response: a real response to the question with
random records of the types mxtls asks for (MX, TXT, A, AAAA, CNAME, TLSA,
CAA) in any section, any rcode and flags (TC sends the resolver to TCP), or
such a response with bytes flipped or cut.  Properties: ``RunResolver.query``
never raises and ends within its bound; what it returns serialises as JSON;
the readers of answers (MX plan, TXT text, TLSA records) raise nothing but
their documented errors.
"""

from __future__ import annotations

import asyncio
import struct
import threading
import time
from collections.abc import Callable, Iterator

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mxtls.config import CheckConfig
from mxtls.engine.plan import initial_hosts
from mxtls.models.observations import DnsAnswer
from mxtls.net.dns import RunResolver
from mxtls.net.https import txt_record_text
from mxtls.protocol.tlsa import TlsaRecord, TlsaSyntaxError

from .profile import FUZZ

QNAME = "x.hostile.test"
TIMEOUT_S = 0.05  # each lookup; a damaged answer the resolver ignores costs this much
# Wall time: a lookup that never ends is the defect; a loaded 2-core machine
# once stretched an ordinary one past 2 s in the long profile.
SLACK_S = 5.0
PORT_TRIES = 20
QTYPES = ["MX", "TXT", "A", "AAAA", "TLSA", "CAA"]

Respond = Callable[[dns.message.Message], bytes]


class ScriptedDns:
    """A DNS server in a thread of its own that answers with ``self.respond(query)``."""

    def __init__(self) -> None:
        self.respond: Respond = lambda query: dns.message.make_response(query).to_wire()
        self.address: tuple[str, int] = ("127.0.0.1", 0)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scripted-dns", daemon=True)

    def _answer(self, wire: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
            return self.respond(query)
        except Exception:  # a broken script answers nothing: the resolver times out
            return None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                reply = server._answer(data)
                if reply is not None:
                    self.transport.sendto(reply[:65535], addr)  # type: ignore[attr-defined]

        async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                size = struct.unpack("!H", await reader.readexactly(2))[0]
                reply = server._answer(await reader.readexactly(size))
                if reply is not None:
                    writer.write(struct.pack("!H", len(reply[:65535])) + reply[:65535])
                    await writer.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        async def start() -> tuple[asyncio.BaseTransport, asyncio.Server]:
            # UDP and TCP on one port: the free UDP port the kernel picks may
            # be taken for TCP by another test's socket, so try a few ports.
            for _ in range(PORT_TRIES):
                transport, _ = await self._loop.create_datagram_endpoint(
                    Udp, local_addr=("127.0.0.1", 0)
                )
                port = transport.get_extra_info("sockname")[1]
                try:
                    tcp_server = await asyncio.start_server(tcp, "127.0.0.1", port)
                except OSError:
                    transport.close()
                    continue
                self.address = ("127.0.0.1", port)
                self._ready.set()
                return transport, tcp_server
            raise OSError(f"no port free for both UDP and TCP in {PORT_TRIES} tries")

        async def close(transport: asyncio.BaseTransport, tcp_server: asyncio.Server) -> None:
            transport.close()
            tcp_server.close()
            await tcp_server.wait_closed()

        udp, tcp_server = self._loop.run_until_complete(start())
        self._loop.run_forever()
        self._loop.run_until_complete(close(udp, tcp_server))
        self._loop.close()

    def start(self) -> ScriptedDns:
        self._thread.start()
        assert self._ready.wait(10), "scripted DNS did not start"
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedDns]:
    dns_server = ScriptedDns().start()
    yield dns_server
    dns_server.stop()


# ------------------------------------------------------------------ answers

label = st.from_regex(r"[a-z0-9*_-]{1,63}", fullmatch=True)
name = st.one_of(
    st.just(QNAME),
    st.lists(label, min_size=1, max_size=6).map(".".join),
    st.lists(st.just("a" * 63), min_size=3, max_size=3).map(".".join),
)
txt_string = st.binary(max_size=255).map(lambda b: '"' + "".join(f"\\{c:03d}" for c in b) + '"')
rdata_text = {
    "MX": st.builds(lambda p, n: f"{p} {n}.", st.integers(0, 65535), name),
    "TXT": st.lists(txt_string, min_size=1, max_size=4).map(" ".join),
    "A": st.ip_addresses(v=4).map(str),
    "AAAA": st.ip_addresses(v=6).map(str),
    "CNAME": name.map(lambda n: n + "."),
    "TLSA": st.builds(
        lambda u, s, m, d: f"{u} {s} {m} {d.hex() or '00'}",
        st.integers(0, 255),
        st.integers(0, 255),
        st.integers(0, 255),
        st.binary(max_size=80),
    ),
    "CAA": st.builds(
        lambda f, t, v: f'{f} {t} "{v}"',
        st.integers(0, 255),
        st.sampled_from(["issue", "issuewild", "iodef", "x"]),
        st.from_regex(r"[a-z0-9.;= ]{0,40}", fullmatch=True),
    ),
}


@st.composite
def rrsets(draw: st.DrawFn) -> dns.rrset.RRset:
    rdtype = draw(st.sampled_from(sorted(rdata_text)))
    owner = draw(name)
    texts = draw(st.lists(rdata_text[rdtype], min_size=1, max_size=8))
    rrset = dns.rrset.RRset(
        dns.name.from_text(owner), dns.rdataclass.IN, dns.rdatatype.from_text(rdtype)
    )
    rrset.update_ttl(draw(st.integers(0, 2**31 - 1)))
    for text in texts:
        try:
            rrset.add(dns.rdata.from_text(dns.rdataclass.IN, rrset.rdtype, text))
        except Exception:
            continue
    assume(len(rrset) > 0)
    return rrset


@st.composite
def responders(draw: st.DrawFn) -> Respond:
    answer = draw(st.lists(rrsets(), max_size=4))
    authority = draw(st.lists(rrsets(), max_size=2))
    rcode = draw(st.sampled_from([dns.rcode.Rcode(c) for c in (0, 0, 0, 2, 3, 5, 1, 4)]))
    flags = draw(st.sampled_from([0, 0, dns.flags.AD, dns.flags.TC, dns.flags.AA]))
    # Most answers are well-formed (the readers behind the resolver get them);
    # some are damaged (the resolver itself must shrug them off).
    damaged = draw(st.integers(0, 3)) == 0
    damage = draw(st.tuples(st.integers(2, 500), st.integers(0, 255))) if damaged else None
    cut = draw(st.integers(2, 400)) if damaged and draw(st.booleans()) else None
    mismatch = draw(st.booleans())

    def respond(query: dns.message.Message) -> bytes:
        response = dns.message.make_response(query)
        response.set_rcode(rcode)
        response.flags |= flags
        for rrset in answer:
            if mismatch or rrset.name == query.question[0].name:
                response.answer.append(rrset)
            else:
                response.answer.append(
                    dns.rrset.from_rdata_list(query.question[0].name, rrset.ttl, list(rrset))
                )
        response.authority.extend(authority)
        wire = bytearray(response.to_wire(max_size=65535, want_shuffle=False))
        if damage is not None and damage[0] < len(wire):
            wire[damage[0]] = damage[1]
        if cut is not None:
            del wire[cut:]
        return bytes(wire)

    return respond


@FUZZ
@given(respond=responders(), qtype=st.sampled_from(QTYPES))
def test_resolver_turns_any_answer_into_data(
    server: ScriptedDns, respond: Respond, qtype: str
) -> None:
    server.respond = respond

    async def lookup() -> DnsAnswer:
        return await RunResolver((server.address,), timeout=TIMEOUT_S).query(QNAME, qtype)

    started = time.monotonic()
    answer = asyncio.run(lookup(), debug=True)
    elapsed = time.monotonic() - started
    assert elapsed < TIMEOUT_S + SLACK_S
    answer.model_dump_json()
    if qtype == "MX":
        initial_hosts("hostile.test", answer, CheckConfig())
    for record in answer.records:
        if qtype == "TXT":
            txt_record_text(record)
        elif qtype == "TLSA":
            try:
                TlsaRecord.parse(record)
            except TlsaSyntaxError:
                pass
