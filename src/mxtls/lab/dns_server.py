"""An authoritative DNS server for the lab: UDP and TCP on one loopback port.

Theory of operation: :meth:`DnsServer.answer` is a pure function from a
parsed query to a response (or ``None`` to stay silent), computed from
dnspython :class:`dns.zone.Zone` objects with absolute names.  The asyncio
layer only moves bytes: it parses with :func:`dns.message.from_wire`,
renders with ``to_wire(max_size=…)`` and sets TC when a UDP answer does not
fit, so the client retries over TCP on the same port.

The zones stay dnspython zones so that signing (``dns.dnssec.sign_zone``)
needs nothing from the server.  When a query sets the DO bit (RFC 4035 §3.1):

- every RRset placed in a response is followed by the RRSIGs covering it,
  if the zone holds any;
- a DS query for the apex of a served zone is answered from the *parent*
  zone when the parent is served too (the DS lives on the parent side of
  the cut, RFC 4035 §3.1.4.1); DNSKEY comes from the child;
- negative answers carry the SOA and the NSEC records proving them, with
  their RRSIGs: NODATA the NSEC at the name (or covering an empty
  non-terminal), NXDOMAIN the NSEC covering the name and the one covering
  the wildcard at the closest encloser (RFC 4035 §3.1.3).  NSEC3 zones get
  the NSEC3 records of RFC 5155 §7.2 (matching for NODATA; closest
  encloser, next closer name and wildcard for NXDOMAIN);
- a name at or below a delegation the server does not serve gets a
  referral: the NS set and glue, plus the signed DS or the NSEC proving
  that there is none (RFC 4035 §3.1.4).

The most specific served zone answers, so a delegation to a zone that is
served here is never a referral.  The CD bit is copied into the response
(RFC 4035 §3.1.6); AD is never set, since this server validates nothing.
Wildcards are not expanded.

Names can be configured to fail (:class:`DnsFault`) so that a checker's
``dns.error`` path meets a real SERVFAIL, REFUSED or silence.

A :data:`Synthesizer` (:attr:`DnsServer.synthesizers`) may answer names
that are computed rather than stored (the synthetic world of
:mod:`mxtls.lab.synthetic`: millions of domains, no zone data); it is asked
before the zone, inside the zone it belongs to, and its answers are unsigned.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import cast

import dns.dnssec
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone

log = logging.getLogger(__name__)

UDP_PAYLOAD_NO_EDNS = 512  # RFC 1035 §4.2.1: UDP messages without EDNS
UDP_PAYLOAD_MAX = 1232  # DNS flag day 2020: the largest UDP answer we send, bytes
MAX_QUERY_BYTES = 4096  # a lab query is tiny; anything larger is dropped unparsed
MAX_CNAME_CHAIN = 8  # CNAME hops followed inside our zones before giving up
TCP_IDLE_TIMEOUT_S = 10.0  # RFC 7766 §6.2.3 suggests seconds, not minutes
TCP_MAX_QUERIES = 100  # queries answered on one TCP connection before it is closed
BIND_ATTEMPTS = 10  # tries to find a port free for both UDP and TCP
MAX_COUNTED_QUESTIONS = 100_000  # distinct questions counted in ``asked`` (memory bound)


# (name, type) -> answer RRsets ([] for NODATA), or None: not a computed name.
Synthesizer = Callable[[dns.name.Name, dns.rdatatype.RdataType], "list[dns.rrset.RRset] | None"]


class DnsFault(StrEnum):
    """How a name configured to fail answers (to exercise ``dns.error``)."""

    SERVFAIL = "servfail"
    REFUSED = "refused"
    TIMEOUT = "timeout"  # never answer, over UDP or TCP


class DnsServer:
    """Answers authoritatively from dnspython zones; UDP and TCP on one port.

    Args:
        zones: zones with absolute names (``relativize=False``); a query is
            answered from the zone whose origin is the longest suffix of the
            query name, and REFUSED when no zone contains it.
        faults: names (absolute) that fail, whatever the query type.
    """

    def __init__(
        self,
        zones: Iterable[dns.zone.Zone] = (),
        *,
        faults: Mapping[dns.name.Name, DnsFault] | None = None,
    ) -> None:
        self._zones: dict[dns.name.Name, dns.zone.Zone] = {}
        for zone in zones:
            self.add_zone(zone)
        self.faults: dict[dns.name.Name, DnsFault] = dict(faults or {})
        self.synthesizers: list[Synthesizer] = []
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tcp_tasks: set[asyncio.Task[None]] = set()
        self._address: tuple[str, int] | None = None
        self.queries = 0  # answered or dropped, over both transports
        # Questions by (name, type, CD bit), to show what a client asked twice.  A
        # retransmission or TCP retry of one query (same ID) is one question.
        self.asked: collections.Counter[tuple[str, str, bool]] = collections.Counter()
        self._asked_ids: set[tuple[str, str, bool, int]] = set()

    # -- zone data ---------------------------------------------------------

    def add_zone(self, zone: dns.zone.Zone) -> None:
        """Serve ``zone`` (replacing a zone with the same origin, e.g. once signed)."""
        if zone.origin is None or zone.relativize:
            raise ValueError("lab zones need an origin and absolute names (relativize=False)")
        self._zones[zone.origin] = zone

    @property
    def zones(self) -> Mapping[dns.name.Name, dns.zone.Zone]:
        """The served zones by origin."""
        return self._zones

    def _zone_for(self, name: dns.name.Name) -> dns.zone.Zone | None:
        """The served zone whose origin is the longest suffix of ``name`` (one
        dictionary lookup per label, however many zones are served)."""
        for depth in range(len(name), 0, -1):
            zone = self._zones.get(name.split(depth)[1] if depth < len(name) else name)
            if zone is not None:
                return zone
        return None

    # -- the pure part -----------------------------------------------------

    def answer(self, query: dns.message.Message) -> dns.message.Message | None:
        """The response to ``query``, or None when the server must stay silent."""
        response = dns.message.make_response(query)
        response.flags &= ~dns.flags.RA
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        qname, qtype = question.name, question.rdtype
        fault = self.faults.get(qname)
        if fault is DnsFault.TIMEOUT:
            return None
        if fault is not None:
            response.set_rcode(
                dns.rcode.SERVFAIL if fault is DnsFault.SERVFAIL else dns.rcode.REFUSED
            )
            return response
        zone = self._zone_for(qname)
        if qtype == dns.rdatatype.DS and zone is not None and qname == zone.origin:
            # RFC 4035 §3.1.4.1: the DS RRset is data of the parent side of the cut.
            parent = self._zone_for(qname.parent()) if qname != dns.name.root else None
            if parent is not None:
                zone = parent
        if question.rdclass != dns.rdataclass.IN or zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        dnssec = bool(query.ednsflags & dns.flags.DO)
        if dnssec:
            response.want_dnssec(True)
        response.flags |= dns.flags.AA | (query.flags & dns.flags.CD)  # RFC 4035 §3.1.6
        for synthesize in self.synthesizers:
            found = synthesize(qname, qtype)
            if found is not None:
                if found:
                    response.answer.extend(found)
                else:
                    self._deny(response, zone, qname, dnssec, nxdomain=False)
                return response
        self._resolve(response, zone, qname, qtype, dnssec)
        return response

    def _resolve(
        self,
        response: dns.message.Message,
        zone: dns.zone.Zone,
        qname: dns.name.Name,
        qtype: dns.rdatatype.RdataType,
        dnssec: bool,
    ) -> None:
        for _ in range(MAX_CNAME_CHAIN):
            cut = _delegation_above(zone, qname, qtype)
            if cut is not None:
                if not response.answer:  # a pure referral is not authoritative
                    response.flags &= ~dns.flags.AA
                _refer(response, zone, cut, dnssec)
                return
            node = zone.get_node(qname)
            if node is None:
                nxdomain = not _has_descendants(zone, qname)
                if nxdomain:
                    response.set_rcode(dns.rcode.NXDOMAIN)
                self._deny(response, zone, qname, dnssec, nxdomain=nxdomain)
                return
            if qtype == dns.rdatatype.ANY:
                found = [rds for rds in node.rdatasets if rds.rdtype != dns.rdatatype.RRSIG]
            else:
                rds = node.get_rdataset(dns.rdataclass.IN, qtype)
                found = [rds] if rds is not None else []
            if found:
                for rds in found:
                    _add(response.answer, zone, qname, rds, dnssec)
                return
            cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None:  # NODATA: the name exists, the type does not
                self._deny(response, zone, qname, dnssec, nxdomain=False)
                return
            _add(response.answer, zone, qname, cname, dnssec)
            target = cname[0].target
            next_zone = self._zone_for(target)
            if next_zone is None:  # outside the lab: the client chases it elsewhere
                return
            zone, qname = next_zone, target
        response.set_rcode(dns.rcode.SERVFAIL)  # a CNAME loop in lab data

    @staticmethod
    def _deny(
        response: dns.message.Message,
        zone: dns.zone.Zone,
        qname: dns.name.Name,
        dnssec: bool,
        *,
        nxdomain: bool,
    ) -> None:
        """Authority section of a negative answer: SOA, then (with DO) its proof."""
        assert zone.origin is not None
        soa = zone.get_rdataset(zone.origin, dns.rdatatype.SOA)
        if soa is not None:
            _add(response.authority, zone, zone.origin, soa, dnssec)
        if not dnssec:
            return
        for owner, rdataset in _denial_records(zone, qname, nxdomain=nxdomain):
            _add(response.authority, zone, owner, rdataset, dnssec)

    def handle_wire(self, wire: bytes, *, tcp: bool) -> bytes | None:
        """Parse ``wire``, answer and render it; None means send nothing.

        Over UDP the answer is cut to 512 bytes, or to the querier's EDNS
        payload up to :data:`UDP_PAYLOAD_MAX`, and TC is set when it did not
        fit (RFC 1035 §4.2.1, RFC 6891 §6.2.5).
        """
        self.queries += 1
        if len(wire) > MAX_QUERY_BYTES:
            return None
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return _formerr(wire)
        self._count(query)
        response = self.answer(query)
        if response is None:
            return None
        if tcp:
            max_size = 65535
        elif query.edns < 0:
            max_size = UDP_PAYLOAD_NO_EDNS
        else:
            max_size = max(UDP_PAYLOAD_NO_EDNS, min(query.payload, UDP_PAYLOAD_MAX))
        return response.to_wire(max_size=max_size, prefer_truncation=True)

    def clear_counts(self) -> None:
        """Forget the questions counted so far (``asked``)."""
        self.asked.clear()
        self._asked_ids.clear()

    def _count(self, query: dns.message.Message) -> None:
        if len(query.question) != 1:
            return
        question = query.question[0]
        key = (
            question.name.to_text(omit_final_dot=True).lower(),
            dns.rdatatype.to_text(question.rdtype),
            bool(query.flags & dns.flags.CD),
        )
        if len(self._asked_ids) >= MAX_COUNTED_QUESTIONS:
            return
        seen = (*key, query.id)
        if seen not in self._asked_ids:
            self._asked_ids.add(seen)
            self.asked[key] += 1

    # -- the I/O part ------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` where the server listens (UDP and TCP)."""
        if self._address is None:
            raise RuntimeError("DnsServer is not started")
        return self._address

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Bind UDP then TCP on the same port (port 0: any free port).

        Raises:
            OSError: no port free for both transports after a few attempts.
        """
        loop = asyncio.get_running_loop()
        last_error: OSError | None = None
        for _ in range(BIND_ATTEMPTS):
            udp, _proto = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(host, port)
            )
            actual = udp.get_extra_info("sockname")[1]
            try:
                tcp = await loop.create_server(
                    lambda: _TcpProtocol(self), host, actual, reuse_address=True
                )
            except OSError as exc:
                udp.close()
                last_error = exc
                if port:
                    break
                continue
            self._udp, self._tcp, self._address = udp, tcp, (host, actual)
            return self._address
        raise OSError(f"no port free for DNS over UDP and TCP on {host}") from last_error

    async def stop(self) -> None:
        """Close both transports and every open TCP connection."""
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._tcp is not None:
            self._tcp.close()
            self._tcp = None
        for task in list(self._tcp_tasks):
            task.cancel()
        if self._tcp_tasks:
            await asyncio.wait(self._tcp_tasks, timeout=2.0)


def _add(
    section: list[dns.rrset.RRset],
    zone: dns.zone.Zone,
    name: dns.name.Name,
    rdataset: dns.rdataset.Rdataset,
    dnssec: bool,
) -> None:
    """Append ``rdataset`` at ``name`` and, when DNSSEC is wanted, its RRSIGs."""
    section.append(_rrset(name, rdataset))
    if dnssec:
        sigs = zone.get_rdataset(name, dns.rdatatype.RRSIG, rdataset.rdtype)
        if sigs is not None:
            section.append(_rrset(name, sigs))


def _rrset(name: dns.name.Name, rdataset: dns.rdataset.Rdataset) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(name, rdataset.rdclass, rdataset.rdtype, rdataset.covers)
    for rdata in rdataset:
        rrset.add(rdata, rdataset.ttl)
    return rrset


def _delegation_above(
    zone: dns.zone.Zone, qname: dns.name.Name, qtype: dns.rdatatype.RdataType
) -> dns.name.Name | None:
    """The highest zone cut of ``zone`` at or above ``qname``, if any.

    A DS query for the cut itself is answered from this (parent) zone, so the
    cut does not count for it (RFC 4035 §3.1.4.1).
    """
    assert zone.origin is not None
    for depth in range(len(zone.origin) + 1, len(qname) + 1):
        name = qname.split(depth)[1]
        if zone.get_rdataset(name, dns.rdatatype.NS) is None:
            continue
        if name == qname and qtype == dns.rdatatype.DS:
            return None
        return name
    return None


def _refer(
    response: dns.message.Message, zone: dns.zone.Zone, cut: dns.name.Name, dnssec: bool
) -> None:
    """A referral to ``cut``: NS, the signed DS or its denial (RFC 4035 §3.1.4), glue."""
    assert zone.origin is not None
    ns = zone.get_rdataset(cut, dns.rdatatype.NS)
    assert ns is not None
    response.authority.append(_rrset(cut, ns))  # NS at a cut is not signed
    if dnssec:
        ds = zone.get_rdataset(cut, dns.rdatatype.DS)
        if ds is not None:
            _add(response.authority, zone, cut, ds, dnssec)
        else:
            for owner, rdataset in _denial_records(zone, cut, nxdomain=False):
                _add(response.authority, zone, owner, rdataset, dnssec)
    for rdata in ns:
        target = rdata.target
        if not target.is_subdomain(zone.origin):
            continue
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            glue = zone.get_rdataset(target, rdtype)
            if glue is not None:
                response.additional.append(_rrset(target, glue))


def _denial_records(
    zone: dns.zone.Zone, qname: dns.name.Name, *, nxdomain: bool
) -> list[tuple[dns.name.Name, dns.rdataset.Rdataset]]:
    """The NSEC or NSEC3 RRsets that prove a negative answer for ``qname``."""
    assert zone.origin is not None
    closest = _closest_encloser(zone, qname)
    wildcard = dns.name.Name((b"*",) + closest.labels)
    owners: list[dns.name.Name | None]
    param = zone.get_rdataset(zone.origin, dns.rdatatype.NSEC3PARAM)
    if param is not None:  # RFC 5155 §7.2.1-2
        rdtype = dns.rdatatype.NSEC3
        hashed = _Nsec3Index(zone, param[0])
        if nxdomain:
            next_closer = qname.split(len(closest) + 1)[1]
            owners = [hashed.match(closest), hashed.cover(next_closer), hashed.cover(wildcard)]
        else:
            owners = [hashed.match(qname)]
    else:  # RFC 4035 §3.1.3
        rdtype = dns.rdatatype.NSEC
        if nxdomain:
            owners = [_nsec_cover(zone, qname), _nsec_cover(zone, wildcard)]
        elif zone.get_rdataset(qname, dns.rdatatype.NSEC) is not None:
            owners = [qname]
        else:  # an empty non-terminal: the NSEC that covers it
            owners = [_nsec_cover(zone, qname)]
    out: list[tuple[dns.name.Name, dns.rdataset.Rdataset]] = []
    for owner in dict.fromkeys(o for o in owners if o is not None):
        rdataset = zone.get_rdataset(owner, rdtype)
        if rdataset is not None:
            out.append((owner, rdataset))
    return out


def _closest_encloser(zone: dns.zone.Zone, qname: dns.name.Name) -> dns.name.Name:
    """The longest existing ancestor of ``qname`` in ``zone`` (RFC 5155 §1.3)."""
    assert zone.origin is not None
    name = qname
    while name != zone.origin:
        name = name.parent()
        if zone.get_node(name) is not None or _has_descendants(zone, name):
            return name
    return zone.origin


def _nsec_cover(zone: dns.zone.Zone, name: dns.name.Name) -> dns.name.Name | None:
    """Owner of the NSEC whose span holds ``name``: the last owner before it, canonically."""
    best: dns.name.Name | None = None
    for owner, node in zone.nodes.items():
        if owner < name and node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NSEC):
            if best is None or owner > best:
                best = owner
    return best


class _Nsec3Index:
    """NSEC3 owners of a zone by hash, for matching and covering look-ups."""

    def __init__(self, zone: dns.zone.Zone, param: dns.rdata.Rdata) -> None:
        self._param = param
        self._owners: dict[str, dns.name.Name] = {}
        for owner, node in zone.nodes.items():
            if node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NSEC3) is not None:
                self._owners[owner.labels[0].decode("ascii").upper()] = owner

    def _hash(self, name: dns.name.Name) -> str:
        p = self._param
        return dns.dnssec.nsec3_hash(name, p.salt, p.iterations, p.algorithm).upper()  # type: ignore[attr-defined]

    def match(self, name: dns.name.Name) -> dns.name.Name | None:
        return self._owners.get(self._hash(name))

    def cover(self, name: dns.name.Name) -> dns.name.Name | None:
        if not self._owners:
            return None
        digest = self._hash(name)
        before = [h for h in self._owners if h < digest]
        return self._owners[max(before) if before else max(self._owners)]  # wraps around


def _has_descendants(zone: dns.zone.Zone, name: dns.name.Name) -> bool:
    """True for an empty non-terminal (NODATA rather than NXDOMAIN, RFC 8020)."""
    return any(n != name and n.is_subdomain(name) for n in zone.nodes)


def _formerr(wire: bytes) -> bytes | None:
    """A FORMERR header echoing the query id, or None if there is no header."""
    if len(wire) < 12:
        return None
    flags = dns.flags.QR | (int.from_bytes(wire[2:4], "big") & dns.flags.RD)
    header = wire[:2] + (flags | dns.rcode.FORMERR).to_bytes(2, "big") + bytes(8)
    return header


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self._server = server
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not subclass DatagramTransport.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        try:
            out = self._server.handle_wire(data, tcp=False)
        except Exception:  # a bug must not kill the lab's resolver
            log.exception("lab DNS: failed to answer a UDP query")
            return
        if out is not None and self._transport is not None:
            self._transport.sendto(out, addr)


class _TcpProtocol(asyncio.Protocol):
    """RFC 1035 §4.2.2 / RFC 7766: two-byte length prefix, several queries per connection."""

    def __init__(self, server: DnsServer) -> None:
        self._server = server
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._data = asyncio.Event()
        self._closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        task = asyncio.get_running_loop().create_task(self._serve())
        self._server._tcp_tasks.add(task)
        task.add_done_callback(self._server._tcp_tasks.discard)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > 2 + 65535 + 2:  # more than one message ahead: stop reading
            assert self._transport is not None
            self._transport.pause_reading()
        self._data.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._data.set()

    async def _read(self, n: int) -> bytes | None:
        while len(self._buffer) < n:
            if self._closed:
                return None
            self._data.clear()
            assert self._transport is not None
            self._transport.resume_reading()
            await self._data.wait()
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    async def _serve(self) -> None:
        assert self._transport is not None
        try:
            for _ in range(TCP_MAX_QUERIES):
                async with asyncio.timeout(TCP_IDLE_TIMEOUT_S):
                    prefix = await self._read(2)
                    if prefix is None:
                        return
                    wire = await self._read(int.from_bytes(prefix, "big"))
                    if wire is None:
                        return
                out = self._server.handle_wire(wire, tcp=True)
                if out is None:  # a silent name: keep the connection until idle timeout
                    continue
                self._transport.write(len(out).to_bytes(2, "big") + out)
        except TimeoutError:
            pass
        except Exception:  # a bug must not kill the lab's resolver
            log.exception("lab DNS: failed to answer a TCP query")
        finally:
            with contextlib.suppress(Exception):
                self._transport.close()
