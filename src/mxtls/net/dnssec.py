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

Everything is bounded: every query sits under ``timeouts.dns``, the walk
under :data:`MAX_ZONE_CUTS` and :data:`MAX_WALK_LABELS`, CNAME chains under
:data:`MAX_CNAME_HOPS`, and the work one response can cause under
:data:`MAX_DNSKEYS` and :data:`MAX_RRSIGS_PER_RRSET` (the KeyTrap class of
attacks, CVE-2023-50387).  Questions go through the runtime's
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

import dns.dnssec
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.rrset
import dns.zonefile
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.NSEC import NSEC

from mxtls.config import CheckConfig
from mxtls.models.dnssec import DnssecMode, DnssecResult, DnssecStatus
from mxtls.net.cache import TtlCache
from mxtls.net.dns import DEFAULT_CACHE_ENTRIES, DnsClient
from mxtls.net.preload import preload_modules
from mxtls.trust.anchors import DNSKEY_ZONE_FLAG, TrustAnchor, load_trust_anchor

MAX_ZONE_CUTS = 16  # secure delegations followed below a trust anchor
MAX_WALK_LABELS = 32  # labels below the anchor probed with DS queries
MAX_CNAME_HOPS = 8  # CNAME/DNAME-free chains in mail DNS are short
MAX_DNSKEYS = 16  # keys accepted in one DNSKEY RRset (KeyTrap, CVE-2023-50387)
MAX_RRSIGS_PER_RRSET = 8  # signatures tried per RRset (KeyTrap)
MAX_RRSETS_PER_RESPONSE = 64  # RRsets looked at in one response
DERIVED_TTL_S = 60.0  # zone states and results are kept this long (their answers: by TTL)

# RFC 8624 §3.1 "MUST/RECOMMENDED validate" algorithms that cryptography implements.
SUPPORTED_ALGORITHMS = frozenset({5, 7, 8, 10, 13, 14, 15, 16})
SUPPORTED_DIGESTS = frozenset({1, 2, 4})  # RFC 8624 §3.3: SHA-1, SHA-256, SHA-384

# dnspython's signature check asks cryptography for its backend, imported on first use.
preload_modules("cryptography.hazmat.backends.openssl.backend")

_SEVERITY: dict[DnssecStatus, int] = {"secure": 0, "insecure": 1, "indeterminate": 2, "bogus": 3}
_T = TypeVar("_T")
_K = TypeVar("_K", bound=Hashable)
Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class _Reply:
    message: dns.message.Message | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Zone:
    """What the walk knows about the zone holding a name."""

    name: dns.name.Name
    status: DnssecStatus
    keys: dns.rrset.RRset | None = None  # validated DNSKEY RRset, when secure
    chain: tuple[str, ...] = ()
    reason: str | None = None


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
        if anchors is None and self.mode == "validate":
            anchors = load_trust_anchor(config.trust_anchor)
        self._anchors = list(anchors or ())
        self._anchored: TtlCache[dns.name.Name, _Zone] = TtlCache(cache_entries)
        self._cuts: TtlCache[dns.name.Name, _Zone | _NotACut] = TtlCache(cache_entries)
        self._zones: TtlCache[dns.name.Name, _Zone] = TtlCache(cache_entries)
        self._results: TtlCache[tuple[str, str], DnssecResult] = TtlCache(cache_entries)

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
        qname, qtype = _text(name), dns.rdatatype.to_text(rdtype)
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
    ) -> _Zone:
        parts: list[_Zone] = []
        current = qname
        reply = await self._ask(current, rdtype)
        for _ in range(MAX_CNAME_HOPS + 1):
            msg = reply.message
            what = f"{_text(current)}/{dns.rdatatype.to_text(rdtype)}"
            if msg is None:
                return _combine(
                    [*parts, _Zone(current, "indeterminate", reason=f"{what}: {reply.error}")]
                )
            rcode = msg.rcode()
            if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                reason = f"{what}: {dns.rcode.to_text(rcode)}"
                return _combine([*parts, _Zone(current, "indeterminate", reason=reason)])
            asked = current
            for _ in range(MAX_CNAME_HOPS + 1):
                rrset, sigs = _find(msg.answer, current, rdtype)
                if rrset is not None:
                    parts.append(await self._check_rrset(rrset, sigs, msg))
                    return _combine(parts)
                cname, cname_sigs = _find(msg.answer, current, dns.rdatatype.CNAME)
                if cname is None:
                    break
                parts.append(await self._check_rrset(cname, cname_sigs, msg))
                current = cname[0].target
            else:
                return _combine([*parts, _Zone(current, "indeterminate", reason="CNAME loop")])
            has_soa = any(r.rdtype == dns.rdatatype.SOA for r in msg.authority)
            if current != asked and rcode == dns.rcode.NOERROR and not has_soa:
                reply = await self._ask(current, rdtype)  # the server stopped at a CNAME
                continue
            nxdomain = rcode == dns.rcode.NXDOMAIN
            parts.append(await self._check_denial(msg, current, rdtype, nxdomain=nxdomain))
            return _combine(parts)
        return _combine([*parts, _Zone(current, "indeterminate", reason="CNAME chain too long")])

    # -- answers -------------------------------------------------------------------

    async def _check_rrset(
        self,
        rrset: dns.rrset.RRset,
        sigs: dns.rrset.RRset | None,
        msg: dns.message.Message,
    ) -> _Zone:
        zone = await self._zone_of(rrset.name)
        if zone.status != "secure":
            return zone
        what = f"{_text(rrset.name)}/{dns.rdatatype.to_text(rrset.rdtype)}"
        failure = self._verify(rrset, sigs, zone)
        if failure is not None:
            return _bogus(zone, f"{what}: {failure}")
        assert sigs is not None
        if min(sig.labels for sig in sigs) < len(rrset.name) - 1:
            # RFC 4035 §5.3.4: a wildcard expansion needs proof that no closer name exists.
            nsecs, nsec_failure, _nsec3 = self._nsecs(msg, zone)
            if nsec_failure is not None:
                return _bogus(zone, nsec_failure)
            if not any(_covers(o, n.next, rrset.name) for o, n in nsecs):
                return _bogus(zone, f"{what}: wildcard answer without NSEC proof")
        return zone

    async def _check_denial(
        self,
        msg: dns.message.Message,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        *,
        nxdomain: bool,
    ) -> _Zone:
        zone = await self._zone_of(name)
        if zone.status != "secure":
            return zone
        what = f"{_text(name)}/{dns.rdatatype.to_text(rdtype)}"
        nsecs, failure, nsec3 = self._nsecs(msg, zone)
        if failure is not None:
            return _bogus(zone, failure)
        if not nsecs:
            if nsec3:
                reason = f"{what}: NSEC3 denial of existence is not validated by mxtls"
                return _Zone(zone.name, "indeterminate", chain=zone.chain, reason=reason)
            return _bogus(zone, f"{what}: negative answer without signed NSEC")
        if nxdomain:
            proven = _nxdomain_proven(nsecs, name)
        else:
            proven = _nodata_proven(nsecs, name, rdtype)
        if not proven:
            kind = "NXDOMAIN" if nxdomain else "NODATA"
            return _bogus(zone, f"{what}: the NSEC records do not prove {kind}")
        return zone

    # -- the chain of trust --------------------------------------------------------

    def _zone_of(self, name: dns.name.Name) -> Coroutine[Any, Any, _Zone]:
        return _memo(self._zones, name, lambda: self._walk(name))

    async def _walk(self, name: dns.name.Name) -> _Zone:
        covering = [a.name for a in self._anchors if name.is_subdomain(a.name)]
        if not covering:
            return _Zone(dns.name.root, "insecure", reason=f"no trust anchor covers {_text(name)}")
        anchor = max(covering, key=len)
        zone = await _memo(self._anchored, anchor, functools.partial(self._from_anchor, anchor))
        if len(name) - len(anchor) > MAX_WALK_LABELS:
            return _Zone(zone.name, "indeterminate", reason=f"{_text(name)}: too many labels")
        if zone.status == "secure":
            # The DS questions of every label below the anchor go out at once; the
            # walk below reads their answers in order.  (Below an insecure cut a
            # few of them are not needed: a price for not waiting a round trip
            # per label on every signed name.)
            for depth in range(len(anchor) + 1, len(name) + 1):
                child = name.split(depth)[1]
                if self._cuts.peek(child) is None:
                    self._client.prefetch(_text(child), "DS")
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
                reason = f"more than {MAX_ZONE_CUTS} zone cuts above {_text(name)}"
                return _Zone(zone.name, "indeterminate", chain=zone.chain, reason=reason)
            zone = step
        return zone

    async def _from_anchor(self, name: dns.name.Name) -> _Zone:
        """The DNSKEY RRset at a trust anchor, validated by the anchor (RFC 4035 §5)."""
        anchors = [a.rdata for a in self._anchors if a.name == name]
        usable = [a for a in anchors if _usable(a)]
        if not usable:
            reason = f"{_text(name)}: trust anchor uses only unsupported algorithms"
            return _Zone(name, "insecure", reason=reason)
        return await self._keys(name, usable, _Zone(name, "secure"), f"{_text(name)}: trust anchor")

    async def _delegation(self, parent: _Zone, child: dns.name.Name) -> _Zone | _NotACut:
        """Is ``child`` a secure cut, an insecure one, or no cut of ``parent``?"""
        what = f"DS {_text(child)}"
        reply = await self._ask(child, dns.rdatatype.DS)
        msg = reply.message
        if msg is None:
            return _Zone(
                child, "indeterminate", chain=parent.chain, reason=f"{what}: {reply.error}"
            )
        rcode = msg.rcode()
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            reason = f"{what}: {dns.rcode.to_text(rcode)}"
            return _Zone(child, "indeterminate", chain=parent.chain, reason=reason)
        ds, sigs = _find(msg.answer, child, dns.rdatatype.DS)
        if ds is not None:
            failure = self._verify(ds, sigs, parent)
            if failure is not None:
                return _bogus(parent, f"{what}: {failure}")
            usable = [rd for rd in ds if _usable(rd)]
            if not usable:  # RFC 4035 §5.2: unsupported algorithms make the child insecure
                note = f"{_text(child)}: DS with unsupported algorithms only"
                return _Zone(child, "insecure", chain=(*parent.chain, note), reason=note)
            return await self._keys(child, usable, parent, f"{_text(child)}: DS")
        cname, cname_sigs = _find(msg.answer, child, dns.rdatatype.CNAME)
        if cname is not None:  # an alias is never a zone cut (RFC 2181 §10.1)
            failure = self._verify(cname, cname_sigs, parent)
            return "none" if failure is None else _bogus(parent, f"{what}: CNAME {failure}")
        nsecs, failure, nsec3 = self._nsecs(msg, parent)
        if failure is not None:
            return _bogus(parent, f"{what}: {failure}")
        if not nsecs and nsec3:
            reason = f"{what}: NSEC3 denial of existence is not validated by mxtls"
            return _Zone(child, "indeterminate", chain=parent.chain, reason=reason)
        for owner, nsec in nsecs:
            if owner != child:
                continue
            if _has_type(nsec, dns.rdatatype.DS):
                return _bogus(parent, f"{what}: NSEC lists a DS that was not returned")
            if _has_type(nsec, dns.rdatatype.NS) and not _has_type(nsec, dns.rdatatype.SOA):
                note = f"{_text(child)}: no DS (NSEC)"
                reason = f"insecure delegation at {_text(child)}: a signed NSEC proves no DS"
                return _Zone(child, "insecure", chain=(*parent.chain, note), reason=reason)
            return "none"
        if any(_covers(owner, nsec.next, child) for owner, nsec in nsecs):
            return "nxdomain" if rcode == dns.rcode.NXDOMAIN else "none"
        return _bogus(parent, f"{what}: no signed proof that there is no DS")

    async def _keys(
        self,
        name: dns.name.Name,
        trusted_by: Sequence[DS | DNSKEY],
        parent: _Zone,
        note: str,
    ) -> _Zone:
        """Fetch the DNSKEY RRset of ``name``; it must be signed by a key that
        ``trusted_by`` (DS digests or anchor keys) names."""
        what = f"DNSKEY {_text(name)}"
        reply = await self._ask(name, dns.rdatatype.DNSKEY)
        msg = reply.message
        if msg is None:
            return _Zone(name, "indeterminate", chain=parent.chain, reason=f"{what}: {reply.error}")
        if msg.rcode() != dns.rcode.NOERROR:
            reason = f"{what}: {dns.rcode.to_text(msg.rcode())}"
            return _Zone(name, "indeterminate", chain=parent.chain, reason=reason)
        keys, sigs = _find(msg.answer, name, dns.rdatatype.DNSKEY)
        if keys is None:
            return _bogus(parent, f"{what}: no DNSKEY, yet the parent or anchor names one")
        if len(keys) > MAX_DNSKEYS:
            return _bogus(parent, f"{what}: more than {MAX_DNSKEYS} keys")
        entry = [k for k in keys if isinstance(k, DNSKEY) and _named_by(name, k, trusted_by)]
        if not entry:
            return _bogus(parent, f"{what}: no key matches the DS or trust anchor")
        entry_set = dns.rrset.from_rdata_list(name, keys.ttl, entry)
        failure = self._verify(keys, sigs, _Zone(name, "secure", keys=entry_set))
        if failure is not None:
            return _bogus(parent, f"{what}: {failure}")
        return _Zone(name, "secure", keys=keys, chain=(*parent.chain, note))

    def _verify(
        self, rrset: dns.rrset.RRset, sigs: dns.rrset.RRset | None, zone: _Zone
    ) -> str | None:
        """None when a signature of ``zone``'s keys over ``rrset`` validates, else why not."""
        assert zone.keys is not None
        if sigs is None or len(sigs) == 0:
            return "no RRSIG"
        own = [sig for sig in sigs if sig.signer == zone.name][:MAX_RRSIGS_PER_RRSET]
        if not own:
            signers = ", ".join(sorted({_text(sig.signer) for sig in sigs}))
            return f"signed by {signers}, not by the zone {_text(zone.name)}"
        sigset = dns.rrset.from_rdata_list(sigs.name, sigs.ttl, own)
        try:
            now = self._clock().timestamp()
            dns.dnssec.validate(rrset, sigset, {zone.name: zone.keys}, now=now)
        except dns.exception.ValidationFailure as exc:
            return f"no signature validates ({exc})"
        except (dns.exception.DNSException, ValueError) as exc:
            return f"signature not verifiable ({exc})"
        return None

    def _nsecs(
        self, msg: dns.message.Message, zone: _Zone
    ) -> tuple[list[tuple[dns.name.Name, NSEC]], str | None, bool]:
        """Validated NSEC records of ``zone`` in the authority section.

        Returns ``(records, failure, nsec3_seen)``; ``failure`` names the first
        NSEC RRset whose signature does not validate.
        """
        out: list[tuple[dns.name.Name, NSEC]] = []
        nsec3 = False
        for rrset in msg.authority[:MAX_RRSETS_PER_RESPONSE]:
            if rrset.rdtype == dns.rdatatype.NSEC3:
                nsec3 = True
            if rrset.rdtype != dns.rdatatype.NSEC or not rrset.name.is_subdomain(zone.name):
                continue
            _rrset, sigs = _find(msg.authority, rrset.name, dns.rdatatype.NSEC)
            failure = self._verify(rrset, sigs, zone)
            if failure is not None:
                return [], f"NSEC {_text(rrset.name)}: {failure}", nsec3
            out.extend((rrset.name, rd) for rd in rrset if isinstance(rd, NSEC))
        return out, None, nsec3

    # -- transport -----------------------------------------------------------------

    async def _ask(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> _Reply:
        """The response to validate: the checks' own (DO set), again with CD on failure.

        A validating resolver answers SERVFAIL for data it finds bogus and
        hands it over only with CD=1 (RFC 4035 §3.2.2); a non-validating one
        answers alike either way, so the first question is the checks' own.
        """
        qname, qtype = _text(name), dns.rdatatype.to_text(rdtype)
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


def _find(
    section: list[dns.rrset.RRset], name: dns.name.Name, rdtype: dns.rdatatype.RdataType
) -> tuple[dns.rrset.RRset | None, dns.rrset.RRset | None]:
    """The RRset of ``name``/``rdtype`` in ``section`` and the RRSIGs covering it."""
    found: dns.rrset.RRset | None = None
    sigs: dns.rrset.RRset | None = None
    for rrset in section[:MAX_RRSETS_PER_RESPONSE]:
        if rrset.name != name:
            continue
        if rrset.rdtype == rdtype and found is None:
            found = rrset
        elif rrset.rdtype == dns.rdatatype.RRSIG and rrset.covers == rdtype and sigs is None:
            sigs = rrset
    return found, sigs


def _usable(rdata: DS | DNSKEY) -> bool:
    """Whether this validator can use the record (RFC 4035 §5.2: otherwise insecure)."""
    if rdata.algorithm not in SUPPORTED_ALGORITHMS:
        return False
    return not isinstance(rdata, DS) or rdata.digest_type in SUPPORTED_DIGESTS


def _named_by(name: dns.name.Name, key: DNSKEY, trusted_by: Sequence[DS | DNSKEY]) -> bool:
    if not key.flags & DNSKEY_ZONE_FLAG:
        return False
    for rdata in trusted_by:
        if isinstance(rdata, DNSKEY):
            if rdata == key:
                return True
            continue
        try:
            if dns.dnssec.make_ds(name, key, rdata.digest_type) == rdata:
                return True
        except (dns.exception.DNSException, ValueError):
            continue
    return False


def _has_type(nsec: NSEC, rdtype: int) -> bool:
    """Whether the NSEC type bitmap (RFC 4034 §4.1.2) lists ``rdtype``."""
    window, bit = divmod(rdtype, 256)
    for number, bitmap in nsec.windows:
        if number == window:
            index = bit // 8
            return index < len(bitmap) and bool(bitmap[index] & (0x80 >> (bit % 8)))
    return False


def _covers(owner: dns.name.Name, next_name: dns.name.Name, name: dns.name.Name) -> bool:
    """Whether the NSEC span (owner, next) holds ``name`` (canonical order, RFC 4034 §6.1)."""
    after_owner: bool = owner < name
    before_next: bool = name < next_name
    if owner < next_name:
        return after_owner and before_next
    return after_owner or before_next  # the last NSEC of the zone wraps to the apex


def _nodata_proven(
    nsecs: list[tuple[dns.name.Name, NSEC]], name: dns.name.Name, rdtype: int
) -> bool:
    """RFC 4035 §5.4: the NSEC at the name lacks the type (and CNAME), or the
    name is an empty non-terminal whose covering NSEC leads below it."""
    for owner, nsec in nsecs:
        if owner == name:
            return not _has_type(nsec, rdtype) and not _has_type(nsec, dns.rdatatype.CNAME)
    return any(
        _covers(owner, nsec.next, name) and nsec.next.is_subdomain(name) for owner, nsec in nsecs
    )


def _nxdomain_proven(nsecs: list[tuple[dns.name.Name, NSEC]], name: dns.name.Name) -> bool:
    """RFC 4035 §5.4: an NSEC covers the name and one covers the wildcard at
    the closest encloser, so neither the name nor a wildcard could answer."""
    for owner, nsec in nsecs:
        if owner == name or not _covers(owner, nsec.next, name):
            continue
        common = max(name.fullcompare(owner)[2], name.fullcompare(nsec.next)[2])
        encloser = name.split(common)[1]
        wildcard = dns.name.Name((b"*",) + encloser.labels)
        if any(o == wildcard for o, _n in nsecs):
            return False  # the wildcard exists: it should have answered
        return any(_covers(o, n.next, wildcard) for o, n in nsecs)
    return False


def _bogus(zone: _Zone, reason: str) -> _Zone:
    return _Zone(zone.name, "bogus", chain=zone.chain, reason=reason)


def _combine(parts: Sequence[_Zone]) -> _Zone:
    """The worst status of the parts of an answer (CNAMEs, data, denial)."""
    if not parts:
        return _Zone(dns.name.root, "indeterminate", reason="nothing to validate")
    worst = max(parts, key=lambda z: _SEVERITY[z.status])
    chain = tuple(dict.fromkeys(step for part in parts for step in part.chain))
    return _Zone(worst.name, worst.status, chain=chain, reason=worst.reason)


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True) if name != dns.name.root else "."
