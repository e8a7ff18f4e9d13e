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

        try:
            async with asyncio.timeout(self._timeout + 0.5):
                answer = await self._resolver.resolve(
                    qname + ".", rdtype, raise_on_no_answer=False, lifetime=self._timeout
                )
        except dns.resolver.NXDOMAIN:
            return done("NXDOMAIN")
        except dns.resolver.NoNameservers as exc:
            return done(_no_nameservers_status(exc), error=_first_line(exc))
        except (dns.exception.Timeout, TimeoutError):
            return done("TIMEOUT", error=f"no answer within {self._timeout:g}s")
        except dns.exception.DNSException as exc:
            return done("ERROR", error=_first_line(exc))
        except OSError as exc:
            return done("ERROR", error=f"{type(exc).__name__}: {exc}")
        response = answer.response
        ad = bool(response.flags & dns.flags.AD)
        chain = _cname_chain(response, qname)
        if answer.rrset is None:
            return done("NODATA", ad=ad, cname_chain=chain)
        records = sorted(rd.to_text() for rd in answer.rrset)
        return done("NOERROR", records=records, ad=ad, cname_chain=chain)


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
