"""DNSSEC status of answers: the resolver's AD bit, or a chain validated in-process.

Theory of operation.  :class:`DnssecProbe` answers one question per
(qname, rdtype): is this answer ``secure``, ``insecure``, ``bogus`` or
``indeterminate`` (RFC 4035 §4.3)?  It has two modes, chosen by
``CheckConfig.dnssec_validate``:

``ad`` (default)
    Read the AD bit of the answer the resolver already got (asked with DO),
    as Postfix does with a local validating resolver (RFC 7672 §2.1.1); no
    question is asked again.  A validating resolver turns a bogus answer
    into SERVFAIL; asking again with CD=1 tells the two apart: if the data
    comes back, it exists but fails validation (RFC 4035 §3.2.2).

``validate``
    Validate the resolver's responses (asked with DO, so they carry the
    signatures; again with CD=1 when a validating resolver answered
    SERVFAIL, so it hands over what it got) with dnspython's primitives from
    the configured trust anchors, so the verdict holds even over a resolver
    that does not validate.  The walk goes label by label from the deepest anchor above
    the name down to the name: a DS query at each label either returns a
    signed DS (a secure zone cut: the child's DNSKEY RRset must be signed
    by a key that a DS names), a signed NSEC at the label whose bitmap has
    NS but no DS (an insecure delegation: everything below is insecure), or
    a signed NSEC showing the label is no cut (the walk goes on in the same
    zone).  The answer's RRsets (each CNAME included) must then be signed
    by the deepest zone's keys; a negative answer must carry the NSEC
    records that prove it (RFC 4035 §5.4).  NSEC3 denials are reported as
    ``indeterminate`` with a reason: they are not validated here.

This module walks and asks; what it decides about each response (signatures,
keys vouched for by a DS, denial proofs) is in :mod:`mxtls.trust.dnssec`,
pure functions of the response, the zone's keys and the time.

Everything is bounded: every query sits under ``timeouts.dns``, the walk
under :data:`MAX_ZONE_CUTS` and :data:`MAX_WALK_LABELS`, CNAME chains under
:data:`MAX_CNAME_HOPS`, and the work one response can cause under the
bounds of :mod:`mxtls.trust.dnssec` (the KeyTrap class of attacks,
CVE-2023-50387).  Questions go through the runtime's
:class:`~mxtls.net.dns.DnsClient`, whose cache (TTL-respecting, bounded) is
the one the checks use; zone states and results are kept for
:data:`DERIVED_TTL_S` in caches of bounded size, so one probe serves every
check of a long-running process.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS

from mxtls.config import CheckConfig
from mxtls.models.dnssec import DnssecMode, DnssecResult, DnssecStatus
from mxtls.net.cache import TtlCache
from mxtls.net.dns import DEFAULT_CACHE_ENTRIES, DnsClient
from mxtls.net.preload import preload_modules
from mxtls.trust.anchors import TrustAnchor, load_trust_anchor
from mxtls.trust.dnssec import (
    MAX_DNSKEYS,
    MAX_RRSETS_PER_RESPONSE,
    ZoneState,
    bogus,
    combine,
    covers,
    find_rrset,
    has_type,
    name_text,
    named_by,
    nodata_proven,
    nxdomain_proven,
    signed_nsecs,
    supported,
    verify_rrset,
)

MAX_ZONE_CUTS = 16  # secure delegations followed below a trust anchor
MAX_WALK_LABELS = 32  # labels below the anchor probed with DS queries
MAX_CNAME_HOPS = 8  # CNAME/DNAME-free chains in mail DNS are short
DERIVED_TTL_S = 60.0  # zone states and results are kept this long (their answers: by TTL)


# What only in-process validation needs: dnspython's signature code (which loads
# cryptography's key serialisation, SSH formats included) and cryptography's backend,
# which that asks for on first use.  Loaded when a validating probe is built, which is
# before any check's event loop runs; the default mode reads the AD bit and needs neither.
VALIDATOR_MODULES = ("dns.dnssec", "cryptography.hazmat.backends.openssl.backend")

_T = TypeVar("_T")
_K = TypeVar("_K", bound=Hashable)
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class _Reply:
    message: dns.message.Message | None
    error: str | None = None


_NotACut = Literal["none", "nxdomain"]


class DnssecProbe:
    """DNSSEC status of answers, for every check of a runtime (see the module docstring).

    Args:
        config: the configuration: mode (``dnssec_validate``), trust anchor
            file, nameservers, the DNS timeout and the fixed clock (``now``).
        nameservers: ``(ip, port)`` pairs for a client of its own; default
            those of ``config``, else the system's resolvers (no ``client``).
        anchors: trust anchors to validate from; default
            ``load_trust_anchor(config.trust_anchor)`` (validate mode only).
        client: the runtime's DNS client, whose answers (and cache) the
            probe shares with the checks.
        clock: the time signatures are checked at, read at each validation;
            default ``config.now`` when set, else the wall clock.
        cache_entries: bound on each cache of zone states and results.

    Raises:
        ConfigError: the trust anchor file is unusable (validate mode).
    """

    def __init__(
        self,
        config: CheckConfig,
        *,
        nameservers: Sequence[tuple[str, int]] | None = None,
        anchors: Sequence[TrustAnchor] | None = None,
        client: DnsClient | None = None,
        clock: Clock | None = None,
        cache_entries: int = DEFAULT_CACHE_ENTRIES,
    ) -> None:
        self.mode: DnssecMode = "validate" if config.dnssec_validate else "ad"
        if client is None:
            servers = tuple(nameservers if nameservers is not None else config.nameservers)
            client = DnsClient(servers, timeout=config.timeouts.dns)
        if self.mode == "validate" and not client.keep_responses:
            raise ValueError("in-process validation needs a DnsClient that keeps responses")
        self._client = client
        self._timeout = config.timeouts.dns
        fixed = config.now
        self._clock: Clock = clock or ((lambda: fixed) if fixed else (lambda: datetime.now(UTC)))
        if self.mode == "validate":
            preload_modules(*VALIDATOR_MODULES)
        if anchors is None and self.mode == "validate":
            anchors = load_trust_anchor(config.trust_anchor)
        self._anchors = list(anchors or ())
        self._anchored: TtlCache[dns.name.Name, ZoneState] = TtlCache(cache_entries)
        self._cuts: TtlCache[dns.name.Name, ZoneState | _NotACut] = TtlCache(cache_entries)
        self._zones: TtlCache[dns.name.Name, ZoneState] = TtlCache(cache_entries)
        self._results: TtlCache[tuple[str, str], DnssecResult] = TtlCache(cache_entries)

    def _now(self) -> float:
        """The time signatures are checked at (POSIX seconds), read afresh each time."""
        return self._clock().timestamp()

    async def status(self, qname: str, rdtype: str) -> DnssecResult:
        """The DNSSEC status of the answer to ``qname``/``rdtype``; never raises for DNS."""
        key = (qname.lower().rstrip("."), rdtype.upper())
        return await _memo(self._results, key, lambda: self._status(*key))

    # -- the two modes -------------------------------------------------------------

    async def _status(self, qname: str, rdtype: str) -> DnssecResult:
        def result(
            status: DnssecStatus, reason: str | None, chain: Sequence[str] = ()
        ) -> DnssecResult:
            return DnssecResult(
                qname=qname,
                rdtype=rdtype,
                status=status,
                mode=self.mode,
                reason=reason,
                chain=list(chain),
            )

        try:
            name = dns.name.from_text(qname)
            rdtype_value = dns.rdatatype.from_text(rdtype)
        except dns.exception.DNSException as exc:
            return result("indeterminate", f"not a valid query: {exc}")
        try:
            async with asyncio.timeout(self._timeout * (MAX_WALK_LABELS + MAX_CNAME_HOPS)):
                if self.mode == "ad":
                    status, reason = await self._ad_status(name, rdtype_value)
                    return result(status, reason)
                zone = await self._validate_answer(name, rdtype_value)
        except TimeoutError:
            return result("indeterminate", "DNSSEC status not established in time")
        return result(zone.status, zone.reason, zone.chain)

    async def _ad_status(
        self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> tuple[DnssecStatus, str | None]:
        # The answer the checks got (same client, same cache): only its AD bit is new here.
        qname, qtype = name_text(name), dns.rdatatype.to_text(rdtype)
        asked = await self._client.exchange(qname, qtype)
        if asked.rcode is None:
            return "indeterminate", f"lookup failed: {asked.answer.error or asked.answer.status}"
        if asked.rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            if asked.flags & dns.flags.AD:
                return "secure", "the resolver validated the answer (AD)"
            return "insecure", "no AD: the answer is unsigned or the resolver does not validate"
        if asked.rcode == dns.rcode.SERVFAIL:
            # RFC 4035 §3.2.2: with CD=1 a validating resolver returns data it cannot validate.
            retry = await self._client.exchange(qname, qtype, cd=True)
            if retry.rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                return "bogus", "SERVFAIL, but answered with CD=1: the answer fails validation"
            return "indeterminate", "SERVFAIL, also with CD=1"
        return "indeterminate", f"lookup failed: {dns.rcode.to_text(dns.rcode.Rcode(asked.rcode))}"

    async def _validate_answer(
        self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> ZoneState:
        parts: list[ZoneState] = []
        current = qname
        reply = await self._ask(current, rdtype)
        for _ in range(MAX_CNAME_HOPS + 1):
            msg = reply.message
            what = f"{name_text(current)}/{dns.rdatatype.to_text(rdtype)}"
            if msg is None:
                return combine(
                    [*parts, ZoneState(current, "indeterminate", reason=f"{what}: {reply.error}")]
                )
            rcode = msg.rcode()
            if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                reason = f"{what}: {dns.rcode.to_text(rcode)}"
                return combine([*parts, ZoneState(current, "indeterminate", reason=reason)])
            asked = current
            for _ in range(MAX_CNAME_HOPS + 1):
                rrset, sigs = find_rrset(msg.answer, current, rdtype)
                if rrset is not None:
                    parts.append(await self._check_rrset(rrset, sigs, msg))
                    return combine(parts)
                cname, cname_sigs = find_rrset(msg.answer, current, dns.rdatatype.CNAME)
                if cname is None:
                    break
                parts.append(await self._check_rrset(cname, cname_sigs, msg))
                current = cname[0].target
            else:
                return combine([*parts, ZoneState(current, "indeterminate", reason="CNAME loop")])
            has_soa = any(r.rdtype == dns.rdatatype.SOA for r in msg.authority)
            if current != asked and rcode == dns.rcode.NOERROR and not has_soa:
                reply = await self._ask(current, rdtype)  # the server stopped at a CNAME
                continue
            nxdomain = rcode == dns.rcode.NXDOMAIN
            parts.append(await self._check_denial(msg, current, rdtype, nxdomain=nxdomain))
            return combine(parts)
        return combine([*parts, ZoneState(current, "indeterminate", reason="CNAME chain too long")])

    # -- answers -------------------------------------------------------------------

    async def _check_rrset(
        self,
        rrset: dns.rrset.RRset,
        sigs: dns.rrset.RRset | None,
        msg: dns.message.Message,
    ) -> ZoneState:
        zone = await self._zone_of(rrset.name)
        if zone.status != "secure":
            return zone
        what = f"{name_text(rrset.name)}/{dns.rdatatype.to_text(rrset.rdtype)}"
        failure = verify_rrset(rrset, sigs, zone, self._now())
        if failure is not None:
            return bogus(zone, f"{what}: {failure}")
        assert sigs is not None
        if min(sig.labels for sig in sigs) < len(rrset.name) - 1:
            # RFC 4035 §5.3.4: a wildcard expansion needs proof that no closer name exists.
            nsecs, nsec_failure, _nsec3 = signed_nsecs(msg, zone, self._now())
            if nsec_failure is not None:
                return bogus(zone, nsec_failure)
            if not any(covers(o, n.next, rrset.name) for o, n in nsecs):
                return bogus(zone, f"{what}: wildcard answer without NSEC proof")
        return zone

    async def _check_denial(
        self,
        msg: dns.message.Message,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        *,
        nxdomain: bool,
    ) -> ZoneState:
        zone = await self._zone_of(name)
        if zone.status != "secure":
            return zone
        what = f"{name_text(name)}/{dns.rdatatype.to_text(rdtype)}"
        nsecs, failure, nsec3 = signed_nsecs(msg, zone, self._now())
        if failure is not None:
            return bogus(zone, failure)
        if not nsecs:
            if nsec3:
                reason = f"{what}: NSEC3 denial of existence is not validated by mxtls"
                return ZoneState(zone.name, "indeterminate", chain=zone.chain, reason=reason)
            return bogus(zone, f"{what}: negative answer without signed NSEC")
        if nxdomain:
            proven = nxdomain_proven(nsecs, name)
        else:
            proven = nodata_proven(nsecs, name, rdtype)
        if not proven:
            kind = "NXDOMAIN" if nxdomain else "NODATA"
            return bogus(zone, f"{what}: the NSEC records do not prove {kind}")
        return zone

    # -- the chain of trust --------------------------------------------------------

    def _zone_of(self, name: dns.name.Name) -> Coroutine[Any, Any, ZoneState]:
        return _memo(self._zones, name, lambda: self._walk(name))

    async def _walk(self, name: dns.name.Name) -> ZoneState:
        covering = [a.name for a in self._anchors if name.is_subdomain(a.name)]
        if not covering:
            return ZoneState(
                dns.name.root, "insecure", reason=f"no trust anchor covers {name_text(name)}"
            )
        anchor = max(covering, key=len)
        zone = await _memo(self._anchored, anchor, functools.partial(self._from_anchor, anchor))
        if len(name) - len(anchor) > MAX_WALK_LABELS:
            return ZoneState(
                zone.name, "indeterminate", reason=f"{name_text(name)}: too many labels"
            )
        if zone.status == "secure":
            # The DS questions of every label below the anchor go out at once; the
            # walk below reads their answers in order.  (Below an insecure cut a
            # few of them are not needed: a price for not waiting a round trip
            # per label on every signed name.)
            for depth in range(len(anchor) + 1, len(name) + 1):
                child = name.split(depth)[1]
                if self._cuts.peek(child) is None:
                    self._client.prefetch(name_text(child), "DS")
        cuts = 0
        for depth in range(len(anchor) + 1, len(name) + 1):
            if zone.status != "secure":
                return zone
            child = name.split(depth)[1]
            step = await _memo(self._cuts, child, functools.partial(self._delegation, zone, child))
            if step == "none":
                continue
            if step == "nxdomain":
                break
            cuts += 1
            if cuts > MAX_ZONE_CUTS:
                reason = f"more than {MAX_ZONE_CUTS} zone cuts above {name_text(name)}"
                return ZoneState(zone.name, "indeterminate", chain=zone.chain, reason=reason)
            zone = step
        return zone

    async def _from_anchor(self, name: dns.name.Name) -> ZoneState:
        """The DNSKEY RRset at a trust anchor, validated by the anchor (RFC 4035 §5)."""
        anchors = [a.rdata for a in self._anchors if a.name == name]
        usable = [a for a in anchors if supported(a)]
        if not usable:
            reason = f"{name_text(name)}: trust anchor uses only unsupported algorithms"
            return ZoneState(name, "insecure", reason=reason)
        return await self._keys(
            name, usable, ZoneState(name, "secure"), f"{name_text(name)}: trust anchor"
        )

    async def _delegation(self, parent: ZoneState, child: dns.name.Name) -> ZoneState | _NotACut:
        """Is ``child`` a secure cut, an insecure one, or no cut of ``parent``?"""
        what = f"DS {name_text(child)}"
        reply = await self._ask(child, dns.rdatatype.DS)
        msg = reply.message
        if msg is None:
            return ZoneState(
                child, "indeterminate", chain=parent.chain, reason=f"{what}: {reply.error}"
            )
        rcode = msg.rcode()
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            reason = f"{what}: {dns.rcode.to_text(rcode)}"
            return ZoneState(child, "indeterminate", chain=parent.chain, reason=reason)
        ds, sigs = find_rrset(msg.answer, child, dns.rdatatype.DS)
        if ds is not None:
            failure = verify_rrset(ds, sigs, parent, self._now())
            if failure is not None:
                return bogus(parent, f"{what}: {failure}")
            usable = [rd for rd in ds if supported(rd)]
            if not usable:  # RFC 4035 §5.2: unsupported algorithms make the child insecure
                note = f"{name_text(child)}: DS with unsupported algorithms only"
                return ZoneState(child, "insecure", chain=(*parent.chain, note), reason=note)
            return await self._keys(child, usable, parent, f"{name_text(child)}: DS")
        cname, cname_sigs = find_rrset(msg.answer, child, dns.rdatatype.CNAME)
        if cname is not None:  # an alias is never a zone cut (RFC 2181 §10.1)
            failure = verify_rrset(cname, cname_sigs, parent, self._now())
            return "none" if failure is None else bogus(parent, f"{what}: CNAME {failure}")
        nsecs, failure, nsec3 = signed_nsecs(msg, parent, self._now())
        if failure is not None:
            return bogus(parent, f"{what}: {failure}")
        if not nsecs and nsec3:
            reason = f"{what}: NSEC3 denial of existence is not validated by mxtls"
            return ZoneState(child, "indeterminate", chain=parent.chain, reason=reason)
        for owner, nsec in nsecs:
            if owner != child:
                continue
            if has_type(nsec, dns.rdatatype.DS):
                return bogus(parent, f"{what}: NSEC lists a DS that was not returned")
            if has_type(nsec, dns.rdatatype.NS) and not has_type(nsec, dns.rdatatype.SOA):
                note = f"{name_text(child)}: no DS (NSEC)"
                reason = f"insecure delegation at {name_text(child)}: a signed NSEC proves no DS"
                return ZoneState(child, "insecure", chain=(*parent.chain, note), reason=reason)
            return "none"
        if any(covers(owner, nsec.next, child) for owner, nsec in nsecs):
            return "nxdomain" if rcode == dns.rcode.NXDOMAIN else "none"
        return bogus(parent, f"{what}: no signed proof that there is no DS")

    async def _keys(
        self,
        name: dns.name.Name,
        trusted_by: Sequence[DS | DNSKEY],
        parent: ZoneState,
        note: str,
    ) -> ZoneState:
        """Fetch the DNSKEY RRset of ``name``; it must be signed by a key that
        ``trusted_by`` (DS digests or anchor keys) names."""
        what = f"DNSKEY {name_text(name)}"
        reply = await self._ask(name, dns.rdatatype.DNSKEY)
        msg = reply.message
        if msg is None:
            return ZoneState(
                name, "indeterminate", chain=parent.chain, reason=f"{what}: {reply.error}"
            )
        if msg.rcode() != dns.rcode.NOERROR:
            reason = f"{what}: {dns.rcode.to_text(msg.rcode())}"
            return ZoneState(name, "indeterminate", chain=parent.chain, reason=reason)
        keys, sigs = find_rrset(msg.answer, name, dns.rdatatype.DNSKEY)
        if keys is None:
            return bogus(parent, f"{what}: no DNSKEY, yet the parent or anchor names one")
        if len(keys) > MAX_DNSKEYS:
            return bogus(parent, f"{what}: more than {MAX_DNSKEYS} keys")
        entry = [k for k in keys if isinstance(k, DNSKEY) and named_by(name, k, trusted_by)]
        if not entry:
            return bogus(parent, f"{what}: no key matches the DS or trust anchor")
        entry_set = dns.rrset.from_rdata_list(name, keys.ttl, entry)
        failure = verify_rrset(keys, sigs, ZoneState(name, "secure", keys=entry_set), self._now())
        if failure is not None:
            return bogus(parent, f"{what}: {failure}")
        return ZoneState(name, "secure", keys=keys, chain=(*parent.chain, note))

    # -- transport -----------------------------------------------------------------

    async def _ask(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> _Reply:
        """The response to validate: the checks' own (DO set), again with CD on failure.

        A validating resolver answers SERVFAIL for data it finds bogus and
        hands it over only with CD=1 (RFC 4035 §3.2.2); a non-validating one
        answers alike either way, so the first question is the checks' own.
        """
        qname, qtype = name_text(name), dns.rdatatype.to_text(rdtype)
        asked = await self._client.exchange(qname, qtype)
        if asked.rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            asked = await self._client.exchange(qname, qtype, cd=True)
        message = asked.message()
        if message is None:
            return _Reply(None, asked.answer.error or asked.answer.status)
        if len(message.answer) + len(message.authority) > MAX_RRSETS_PER_RESPONSE:
            return _Reply(None, f"more than {MAX_RRSETS_PER_RESPONSE} RRsets")
        return _Reply(message)


# -- helpers -----------------------------------------------------------------------


def _memo(
    cache: TtlCache[_K, _T], key: _K, factory: Callable[[], Coroutine[Any, Any, _T]]
) -> Coroutine[Any, Any, _T]:
    """Run ``factory()`` once per key; every caller at the time awaits the same result,
    and later callers get it for :data:`DERIVED_TTL_S`."""

    async def compute() -> tuple[_T, float]:
        return await factory(), DERIVED_TTL_S

    return cache.get(key, compute)
