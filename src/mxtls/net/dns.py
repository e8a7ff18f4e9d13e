"""The resolver: dnspython's async resolver, answers as data, shared by every check.

A runtime holds one :class:`DnsClient` (the nameservers, the timeout and a
cache shared by every check, bounded and TTL-respecting); each check asks
through a :class:`RunResolver` view of it, so every lookup of a check (MX,
A/AAAA, CAA, TLSA, the policy hosts) goes to the same place, ``--nameserver``
applies to all of them, and the lab, a custom resolver and production behave
alike.  Failures (SERVFAIL, REFUSED, timeouts, unreachable servers) are
recorded in :class:`DnsAnswer`, never raised.  The DNSSEC validator reads the
same exchanges (the AD bit, the signatures), so it asks nothing twice.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import dns.asyncbackend
import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.ttl

from mxtls.config import parse_nameserver as parse_nameserver  # its home before config.py
from mxtls.models.observations import DnsAnswer, DnsStatus
from mxtls.net.cache import Monotonic, TtlCache

EDNS_PAYLOAD_BYTES = 1232  # DNS flag day 2020: avoids IP fragmentation
DEFAULT_CACHE_ENTRIES = 10_000  # answers a runtime keeps (a few KiB each at most)
MAX_CACHE_TTL_S = 3600.0  # an answer is asked again after an hour whatever its TTL
FAILURE_CACHE_TTL_S = 30.0  # SERVFAIL/timeouts (RFC 2308 §7.1 allows up to five minutes)
LIVENESS_TTL_S = 10.0  # a "nothing listens there" probe result is reused this long
# The record types a check meets: dnspython imports a type's module when it first
# parses one, and its asyncio backend on the first query (see mxtls.net.preload).
PRELOADED_RDTYPES = (
    "A", "AAAA", "CAA", "CNAME", "DNAME", "DNSKEY", "DS", "MX", "NS", "NSEC", "NSEC3",
    "OPT", "PTR", "RRSIG", "SOA", "TLSA", "TXT",
)  # fmt: skip
for _rdtype in PRELOADED_RDTYPES:
    dns.rdata.get_rdata_class(dns.rdataclass.IN, dns.rdatatype.from_text(_rdtype))  # type: ignore[no-untyped-call]
# Named, not sniffed: dnspython would import sniffio on the first query to find
# out which event loop runs (inside the loop), and mxtls only runs asyncio.
ASYNCIO_BACKEND = dns.asyncbackend.get_backend("asyncio")


@dataclass(frozen=True, slots=True)
class DnsExchange:
    """One question and what came back: the answer as data, plus the response itself.

    ``response`` is the message as dnspython parsed it on arrival, kept for
    the DNSSEC validator, which needs the signatures and the authority
    section (None when no response arrived).  It is shared, never changed:
    parsing a response again, or rendering it to wire format and back, cost
    more CPU than the rest of a check's DNS work.  ``rcode`` and ``flags``
    are those of the response (None and 0 without one).
    """

    answer: DnsAnswer
    rcode: int | None = None
    flags: int = 0
    response: dns.message.Message | None = None

    def message(self) -> dns.message.Message | None:
        """The response as received (None without one)."""
        return self.response


class DnsClient:
    """The resolver of a runtime: dnspython's async resolver and a shared answer cache.

    Every check of a runtime asks through one client, so the answers one
    check got serve the next while their TTL lasts, and identical questions
    asked at the same time go out once.  Answers are kept for their TTL
    (RFC 2308 negative TTL for NXDOMAIN/NODATA), at most
    :data:`MAX_CACHE_TTL_S`; failures (SERVFAIL, timeouts) for
    :data:`FAILURE_CACHE_TTL_S`; at most ``cache_entries`` at once.

    Args:
        nameservers: ``(ip, port)`` pairs; empty uses the system configuration.
        timeout: lifetime of one lookup in seconds (all retries included).
        dnssec_ok: set the DO bit (ask for DNSSEC records and the AD flag).
        cache_entries: bound on the answers kept.
        monotonic: the clock TTLs are measured on.
        keep_responses: keep each parsed response with its answer, for
            in-process DNSSEC validation (about 5 KiB per answer instead of
            a few hundred bytes; without it ``DnsExchange.response`` is None).
    """

    def __init__(
        self,
        nameservers: tuple[tuple[str, int], ...] = (),
        *,
        timeout: float = 5.0,
        dnssec_ok: bool = True,
        cache_entries: int = DEFAULT_CACHE_ENTRIES,
        monotonic: Monotonic = time.monotonic,
        keep_responses: bool = True,
    ) -> None:
        self.keep_responses = keep_responses
        self._resolvers = {
            cd: _dnspython_resolver(nameservers, timeout, dnssec_ok=dnssec_ok, cd=cd)
            for cd in (False, True)
        }
        self._timeout = timeout
        self._cache: TtlCache[tuple[str, str, bool], DnsExchange] = TtlCache(
            cache_entries, monotonic=monotonic
        )
        self.sent = 0  # questions that went to the network
        self._servers = tuple(
            (str(ns.address), int(ns.port))
            if isinstance(ns, dns.nameserver.Do53Nameserver)
            else (str(ns), 53)
            for ns in self._resolvers[False].nameservers
        )
        self.where = ", ".join(_address(ip, port) for ip, port in self._servers) or "(none)"
        self._liveness: asyncio.Task[str | None] | None = None
        self._liveness_at = 0.0

    @property
    def cache(self) -> TtlCache[tuple[str, str, bool], DnsExchange]:
        """The shared answers (for statistics and tests)."""
        return self._cache

    async def exchange(self, qname: str, rdtype: str, *, cd: bool = False) -> DnsExchange:
        """Ask ``qname``/``rdtype`` (CD set when ``cd``); never raises for DNS failures."""
        key = (_fold(qname), rdtype.upper(), cd)
        return await self._cache.get(key, lambda: self._lookup(*key))

    def prefetch(self, qname: str, rdtype: str) -> None:
        """Start asking ``qname``/``rdtype`` without waiting; a later ask shares the answer."""
        key = (_fold(qname), rdtype.upper(), False)
        self._cache.prefetch(key, lambda: self._lookup(*key))

    async def query(self, qname: str, rdtype: str) -> DnsAnswer:
        """Look up ``qname``/``rdtype``; never raises for DNS failures."""
        return (await self.exchange(qname, rdtype)).answer

    async def _lookup(self, qname: str, rdtype: str, cd: bool) -> tuple[DnsExchange, float]:
        self.sent += 1
        started = time.perf_counter()

        def done(
            status: DnsStatus,
            response: dns.message.Message | None = None,
            *,
            ttl: float = FAILURE_CACHE_TTL_S,
            **kw: object,
        ) -> tuple[DnsExchange, float]:
            elapsed = (time.perf_counter() - started) * 1000
            answer = DnsAnswer(
                qname=qname, rdtype=rdtype, status=status, elapsed_ms=round(elapsed, 2), **kw
            )
            if response is None:
                return DnsExchange(answer), ttl
            return (
                DnsExchange(
                    answer, rcode=response.rcode(), flags=response.flags, response=response
                ),
                ttl,
            )

        lookup = asyncio.ensure_future(
            self._resolvers[cd].resolve(
                qname + ".",
                rdtype,
                raise_on_no_answer=False,
                lifetime=self._timeout,
                backend=ASYNCIO_BACKEND,
            )
        )
        try:
            async with asyncio.timeout(self._timeout + 0.5):
                dead = await self._race(lookup)
                if dead is not None:
                    return done("ERROR", error=dead)
                answer = await lookup
        except dns.resolver.NXDOMAIN as exc:
            response = _nxdomain_response(exc)
            return done("NXDOMAIN", response, ttl=negative_ttl(response))
        except dns.resolver.NoNameservers as exc:
            return done(_no_nameservers_status(exc), _failed_response(exc), error=_first_line(exc))
        except (dns.exception.Timeout, TimeoutError):
            return done("TIMEOUT", error=f"no answer from {self.where} within {self._timeout:g}s")
        except dns.exception.DNSException as exc:
            return done("ERROR", error=_first_line(exc))
        except OSError as exc:
            return done("ERROR", error=f"{self.where}: {type(exc).__name__}: {exc}")
        finally:
            if not lookup.done():
                lookup.cancel()
        response = answer.response
        ad = bool(response.flags & dns.flags.AD)
        chain = _cname_chain(response, qname)
        # dnspython followed the response's CNAME chain once already (a tenth of
        # the CPU of a question when done again): its smallest TTL is the same.
        ttl = _bounded_ttl(answer.chaining_result.minimum_ttl)
        if answer.rrset is None:
            return done("NODATA", response, ttl=ttl, ad=ad, cname_chain=chain)
        records = sorted(rd.to_text() for rd in answer.rrset)
        return done("NOERROR", response, ttl=ttl, records=records, ad=ad, cname_chain=chain)

    async def _race(self, lookup: asyncio.Future[dns.resolver.Answer]) -> str | None:
        """Wait for ``lookup``; or, if no configured resolver listens, say so at once.

        UDP to a closed port gets an ICMP "port unreachable" back within a
        round trip, but dnspython's sockets are unconnected and never see it,
        so a lookup would wait its whole timeout.  A connected probe socket
        notices the refusal; its result is shared by the client's lookups.
        """
        now = time.monotonic()
        loop = asyncio.get_running_loop()
        if (
            self._liveness is None
            or self._liveness.get_loop() is not loop
            or (self._liveness.done() and now - self._liveness_at > LIVENESS_TTL_S)
        ):
            self._liveness_at = now
            self._liveness = asyncio.ensure_future(
                _none_listening(self._servers, min(self._timeout, LIVENESS_TTL_S))
            )
        liveness = self._liveness
        pending: set[asyncio.Future[Any]] = {lookup, liveness}
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if lookup.done() or not liveness.done() or liveness.cancelled():
            return None
        return liveness.result()


class RunResolver:
    """The resolver as one check sees it: the runtime's client plus what this check asked.

    Every lookup of a check (MX, A/AAAA, CAA, TLSA, the policy hosts) goes
    through one :class:`RunResolver`; a question asked twice in one check
    gets the same answer both times, even when its TTL ran out in between.

    Args:
        nameservers: ``(ip, port)`` pairs for a client of its own (no ``client``).
        timeout: lifetime of one lookup in seconds (own client only).
        dnssec_ok: set the DO bit (own client only).
        client: the runtime's shared client.
    """

    def __init__(
        self,
        nameservers: tuple[tuple[str, int], ...] = (),
        *,
        timeout: float = 5.0,
        dnssec_ok: bool = True,
        client: DnsClient | None = None,
    ) -> None:
        if client is None:
            client = DnsClient(nameservers, timeout=timeout, dnssec_ok=dnssec_ok)
        self.client = client
        self._seen: dict[tuple[str, str], DnsAnswer] = {}

    async def query(self, qname: str, rdtype: str) -> DnsAnswer:
        """Look up ``qname``/``rdtype``; never raises for DNS failures."""
        key = (_fold(qname), rdtype.upper())
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen.setdefault(key, await self.client.query(*key))
        return seen


def _dnspython_resolver(
    nameservers: tuple[tuple[str, int], ...], timeout: float, *, dnssec_ok: bool, cd: bool
) -> dns.asyncresolver.Resolver:
    if nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in nameservers]
    else:
        try:
            resolver = dns.asyncresolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = ["127.0.0.1"]
    resolver.retry_servfail = False
    resolver.lifetime = timeout
    resolver.timeout = max(timeout / 2, 0.2)
    resolver.cache = None  # the client keeps its own (bounded, shared in flight)
    if dnssec_ok:
        resolver.use_edns(0, dns.flags.DO, EDNS_PAYLOAD_BYTES)
        resolver.flags = dns.flags.RD | dns.flags.AD | (dns.flags.CD if cd else 0)
    elif cd:
        resolver.flags = dns.flags.RD | dns.flags.CD
    return resolver


def _fold(name: str) -> str:
    return name.strip().lower().rstrip(".")


def _ttl(response: dns.message.Message | None) -> float:
    """How long ``response`` may be kept: its smallest TTL, negative TTL included."""
    if not isinstance(response, dns.message.QueryMessage):
        return FAILURE_CACHE_TTL_S
    try:
        ttl = response.resolve_chaining().minimum_ttl
    except (dns.exception.DNSException, ValueError, AttributeError):
        return FAILURE_CACHE_TTL_S
    return _bounded_ttl(ttl)


def negative_ttl(response: dns.message.Message | None) -> float:
    """How long an NXDOMAIN ``response`` may be kept (RFC 2308 §5): the same
    TTL as :func:`_ttl` gives it, found without dnspython's search.

    dnspython's ``resolve_chaining`` looks for the SOA by asking the
    authority section for every ancestor of the name in turn, each miss a
    raised ``KeyError``: twice the CPU of parsing the response, on every
    negative answer (a bulk scan meets about six per domain).
    Here the few records of the response are read once.  The rule is
    dnspython's: the CNAMEs the answer section follows from the question
    (at most ``dns.message.MAX_CHAIN``), then the SOA whose owner is the
    nearest ancestor of the name reached, ``min(its TTL, its MINIMUM)``, or
    ``dns.message.NEGATIVE_TTL_WITHOUT_SOA`` without one.
    """
    if not isinstance(response, dns.message.QueryMessage) or len(response.question) != 1:
        return _ttl(response)  # an odd message: let dnspython say what it makes of it
    question = response.question[0]
    name, ttl = question.name, float(dns.ttl.MAX_TTL)
    if question.rdtype != dns.rdatatype.CNAME:
        cnames = {
            rrset.name: rrset
            for rrset in response.answer
            if rrset.rdtype == dns.rdatatype.CNAME and rrset.rdclass == question.rdclass
        }
        for _ in range(dns.message.MAX_CHAIN):
            cname = cnames.get(name)
            if cname is None:
                break
            ttl = min(ttl, cname.ttl)
            name = next(iter(cname)).target
        else:
            return _ttl(response)  # too long a chain: dnspython's error decides
    soa = None
    for rrset in response.authority:
        if (
            rrset.rdtype == dns.rdatatype.SOA
            and rrset.rdclass == question.rdclass
            and name.is_subdomain(rrset.name)
            and (soa is None or len(rrset.name) > len(soa.name))
        ):
            soa = rrset
    if soa is None:
        return _bounded_ttl(min(ttl, dns.message.NEGATIVE_TTL_WITHOUT_SOA))
    return _bounded_ttl(min(ttl, soa.ttl, next(iter(soa)).minimum))


def _bounded_ttl(ttl: float) -> float:
    return max(0.0, min(float(ttl), MAX_CACHE_TTL_S))


def _nxdomain_response(exc: dns.resolver.NXDOMAIN) -> dns.message.Message | None:
    responses = exc.kwargs.get("responses") or {}
    for response in responses.values():
        if isinstance(response, dns.message.Message):
            return response
    return None


def _failed_response(exc: dns.resolver.NoNameservers) -> dns.message.Message | None:
    """The last server's response (SERVFAIL, REFUSED, ...), when one arrived."""
    for entry in reversed(exc.kwargs.get("errors") or []):
        response = entry[-1] if isinstance(entry, tuple) and entry else None
        if isinstance(response, dns.message.Message):
            return response
    return None


async def _none_listening(servers: tuple[tuple[str, int], ...], timeout: float) -> str | None:
    """A message naming the resolvers when every one refused a datagram, else None."""
    if not servers:
        return None
    refused = await asyncio.gather(*(_port_unreachable(ip, port, timeout) for ip, port in servers))
    if not all(refused):
        return None
    where = ", ".join(_address(ip, port) for ip, port in servers)
    return f"nothing listens at the resolver {where} (UDP port unreachable)"


async def _port_unreachable(ip: str, port: int, timeout: float) -> bool:
    """True when a datagram to ``ip``:``port`` comes back as ICMP port unreachable."""
    loop = asyncio.get_running_loop()
    verdict: asyncio.Future[bool] = loop.create_future()

    class _Probe(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            if not verdict.done():
                verdict.set_result(False)

        def error_received(self, exc: Exception) -> None:
            if not verdict.done():
                verdict.set_result(isinstance(exc, ConnectionRefusedError))

    query = dns.message.make_query(".", "NS").to_wire()
    try:
        transport, _ = await loop.create_datagram_endpoint(_Probe, remote_addr=(ip, port))
    except OSError:
        return False  # cannot tell; the lookup itself will say what happened
    try:
        transport.sendto(query)
        async with asyncio.timeout(timeout):
            return await verdict
    except (TimeoutError, OSError):
        return False
    finally:
        transport.close()


def _address(ip: str, port: int) -> str:
    host = f"[{ip}]" if ":" in ip else ip
    return host if port == 53 else f"{host}:{port}"


def _cname_chain(response: dns.message.Message, qname: str) -> list[str]:
    """CNAME targets followed from ``qname`` inside the response's answer section."""
    chain: list[str] = []
    current = dns.name.from_text(qname)
    for _ in range(16):  # bounded: CNAME loops cannot run forever
        found = None
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.CNAME and rrset.name == current:
                found = rrset[0].target
                break
        if found is None:
            break
        chain.append(found.to_text(omit_final_dot=True))
        current = found
    return chain


def _no_nameservers_status(exc: dns.resolver.NoNameservers) -> DnsStatus:
    text = str(exc)
    if "REFUSED" in text:
        return "REFUSED"
    if "SERVFAIL" in text:
        return "SERVFAIL"
    return "ERROR"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
