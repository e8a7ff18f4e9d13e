"""The run's one resolver: dnspython's async resolver, answers as data.

Every lookup of a run (MX, A/AAAA, CAA, later TLSA and the policy hosts)
goes through one :class:`RunResolver`, so ``--nameserver`` applies to all of
them and the lab, a custom resolver and production behave alike.  Failures
(SERVFAIL, REFUSED, timeouts, unreachable servers) are recorded in
:class:`DnsAnswer`, never raised.  Identical queries within a run are asked
once (several MX hosts often share a parent zone for CAA).
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdatatype
import dns.resolver

from mxtls.errors import ConfigError
from mxtls.models.observations import DnsAnswer, DnsStatus

EDNS_PAYLOAD_BYTES = 1232  # DNS flag day 2020: avoids IP fragmentation
LIVENESS_TTL_S = 10.0  # a "nothing listens there" probe result is reused this long


def parse_nameserver(spec: str) -> tuple[str, int]:
    """Parse ``HOST[:PORT]``, ``[V6]:PORT`` or a bare IPv6 address.

    Raises:
        ConfigError: not an IP address or an invalid port.
    """
    spec = spec.strip()
    host, port = spec, 53
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0:
            raise ConfigError(f"invalid nameserver {spec!r}: missing ']'")
        host, rest = spec[1:end], spec[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ConfigError(f"invalid nameserver {spec!r}")
            port = _port(spec, rest[1:])
    elif spec.count(":") == 1:
        host, raw = spec.split(":")
        port = _port(spec, raw)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(
            f"invalid nameserver {spec!r}: give an IP address (optionally :PORT)"
        ) from None
    return host, port


def _port(spec: str, raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"invalid nameserver {spec!r}: bad port {raw!r}")
    return int(raw)


class RunResolver:
    """Resolve names for one run; caches answers per (name, type).

    Args:
        nameservers: ``(ip, port)`` pairs; empty uses the system configuration.
        timeout: lifetime of one lookup in seconds (all retries included).
        dnssec_ok: set the DO bit (ask for DNSSEC records and the AD flag).
    """

    def __init__(
        self,
        nameservers: tuple[tuple[str, int], ...] = (),
        *,
        timeout: float = 5.0,
        dnssec_ok: bool = True,
    ) -> None:
        if nameservers:
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(ip, port) for ip, port in nameservers
            ]
        else:
            try:
                resolver = dns.asyncresolver.Resolver()
            except dns.resolver.NoResolverConfiguration:
                resolver = dns.asyncresolver.Resolver(configure=False)
                resolver.nameservers = ["127.0.0.1"]
        resolver.retry_servfail = False
        resolver.lifetime = timeout
        resolver.timeout = max(timeout / 2, 0.2)
        resolver.cache = None
        if dnssec_ok:
            resolver.use_edns(0, dns.flags.DO, EDNS_PAYLOAD_BYTES)
            resolver.flags = dns.flags.RD | dns.flags.AD
        self._resolver = resolver
        self._timeout = timeout
        self._cache: dict[tuple[str, str], asyncio.Future[DnsAnswer]] = {}
        self._servers = tuple(
            (str(ns.address), int(ns.port))
            if isinstance(ns, dns.nameserver.Do53Nameserver)
            else (str(ns), 53)
            for ns in resolver.nameservers
        )
        self.where = ", ".join(_address(ip, port) for ip, port in self._servers) or "(none)"
        self._liveness: asyncio.Task[str | None] | None = None
        self._liveness_at = 0.0

    async def query(self, qname: str, rdtype: str) -> DnsAnswer:
        """Look up ``qname``/``rdtype``; never raises for DNS failures."""
        key = (qname.lower().rstrip("."), rdtype.upper())
        cached = self._cache.get(key)
        if cached is not None:
            return await asyncio.shield(cached)
        future: asyncio.Future[DnsAnswer] = asyncio.get_running_loop().create_future()
        self._cache[key] = future
        answer = await self._lookup(*key)
        future.set_result(answer)
        return answer

    async def _lookup(self, qname: str, rdtype: str) -> DnsAnswer:
        started = time.perf_counter()

        def done(status: DnsStatus, **kw: object) -> DnsAnswer:
            elapsed = (time.perf_counter() - started) * 1000
            return DnsAnswer(
                qname=qname, rdtype=rdtype, status=status, elapsed_ms=round(elapsed, 2), **kw
            )

        lookup = asyncio.ensure_future(
            self._resolver.resolve(
                qname + ".", rdtype, raise_on_no_answer=False, lifetime=self._timeout
            )
        )
        try:
            async with asyncio.timeout(self._timeout + 0.5):
                dead = await self._race(lookup)
                if dead is not None:
                    return done("ERROR", error=dead)
                answer = await lookup
        except dns.resolver.NXDOMAIN:
            return done("NXDOMAIN")
        except dns.resolver.NoNameservers as exc:
            return done(_no_nameservers_status(exc), error=_first_line(exc))
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
        if answer.rrset is None:
            return done("NODATA", ad=ad, cname_chain=chain)
        records = sorted(rd.to_text() for rd in answer.rrset)
        return done("NOERROR", records=records, ad=ad, cname_chain=chain)

    async def _race(self, lookup: asyncio.Future[dns.resolver.Answer]) -> str | None:
        """Wait for ``lookup``; or, if no configured resolver listens, say so at once.

        UDP to a closed port gets an ICMP "port unreachable" back within a
        round trip, but dnspython's sockets are unconnected and never see it,
        so a lookup would wait its whole timeout.  A connected probe socket
        notices the refusal; its result is shared by the run's lookups.
        """
        now = time.monotonic()
        if self._liveness is None or (
            self._liveness.done() and now - self._liveness_at > LIVENESS_TTL_S
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
