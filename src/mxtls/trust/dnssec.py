"""DNSSEC validation primitives (RFC 4033-4035), pure: signatures, keys, denial proofs.

The chain of trust is walked by :class:`mxtls.net.dnssec.DnssecProbe`, which
asks the questions; everything it decides about a response it got is here,
as functions of the response, the zone's validated keys and the time:

* :func:`verify_rrset` checks an RRset's signatures with a zone's keys;
* :func:`named_by` matches a DNSKEY against the DS records (or anchor keys)
  that vouch for it, :func:`supported` says whether an algorithm or digest is
  one this validator implements (RFC 8624; otherwise the zone is insecure);
* :func:`signed_nsecs`, :func:`nodata_proven` and :func:`nxdomain_proven`
  check authenticated denial of existence with NSEC (RFC 4035 §5.4);
* :class:`ZoneState` is what the walk knows about a zone, and
  :func:`combine` folds the parts of an answer into its worst status.

Work per response is bounded (KeyTrap, CVE-2023-50387): at most
:data:`MAX_RRSETS_PER_RESPONSE` RRsets looked at and
:data:`MAX_RRSIGS_PER_RRSET` signatures tried per RRset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dns.exception
import dns.message
import dns.name
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.NSEC import NSEC

from mxtls.models.dnssec import DnssecStatus
from mxtls.trust.anchors import DNSKEY_ZONE_FLAG

MAX_DNSKEYS = 16  # keys accepted in one DNSKEY RRset (KeyTrap, CVE-2023-50387)
MAX_RRSIGS_PER_RRSET = 8  # signatures tried per RRset (KeyTrap)
MAX_RRSETS_PER_RESPONSE = 64  # RRsets looked at in one response

# RFC 8624 §3.1 "MUST/RECOMMENDED validate" algorithms that cryptography implements.
SUPPORTED_ALGORITHMS = frozenset({5, 7, 8, 10, 13, 14, 15, 16})
SUPPORTED_DIGESTS = frozenset({1, 2, 4})  # RFC 8624 §3.3: SHA-1, SHA-256, SHA-384

_SEVERITY: dict[DnssecStatus, int] = {"secure": 0, "insecure": 1, "indeterminate": 2, "bogus": 3}


@dataclass(frozen=True, slots=True)
class ZoneState:
    """What the walk knows about the zone holding a name."""

    name: dns.name.Name
    status: DnssecStatus
    keys: dns.rrset.RRset | None = None  # validated DNSKEY RRset, when secure
    chain: tuple[str, ...] = ()
    reason: str | None = None


def verify_rrset(
    rrset: dns.rrset.RRset, sigs: dns.rrset.RRset | None, zone: ZoneState, now: float
) -> str | None:
    """None when a signature of ``zone``'s keys over ``rrset`` validates, else why not."""
    assert zone.keys is not None
    if sigs is None or len(sigs) == 0:
        return "no RRSIG"
    own = [sig for sig in sigs if sig.signer == zone.name][:MAX_RRSIGS_PER_RRSET]
    if not own:
        signers = ", ".join(sorted({name_text(sig.signer) for sig in sigs}))
        return f"signed by {signers}, not by the zone {name_text(zone.name)}"
    sigset = dns.rrset.from_rdata_list(sigs.name, sigs.ttl, own)
    # Loaded by a validating probe (mxtls.net.dnssec.VALIDATOR_MODULES) before any
    # event loop runs; a run that reads the resolver's AD bit never loads it.
    from dns import dnssec

    try:
        dnssec.validate(rrset, sigset, {zone.name: zone.keys}, now=now)
    except dns.exception.ValidationFailure as exc:
        return f"no signature validates ({exc})"
    except (dns.exception.DNSException, ValueError) as exc:
        return f"signature not verifiable ({exc})"
    return None


def signed_nsecs(
    msg: dns.message.Message, zone: ZoneState, now: float
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
        _rrset, sigs = find_rrset(msg.authority, rrset.name, dns.rdatatype.NSEC)
        failure = verify_rrset(rrset, sigs, zone, now)
        if failure is not None:
            return [], f"NSEC {name_text(rrset.name)}: {failure}", nsec3
        out.extend((rrset.name, rd) for rd in rrset if isinstance(rd, NSEC))
    return out, None, nsec3


def find_rrset(
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


def supported(rdata: DS | DNSKEY) -> bool:
    """Whether this validator can use the record (RFC 4035 §5.2: otherwise insecure)."""
    if rdata.algorithm not in SUPPORTED_ALGORITHMS:
        return False
    return not isinstance(rdata, DS) or rdata.digest_type in SUPPORTED_DIGESTS


def named_by(name: dns.name.Name, key: DNSKEY, trusted_by: Sequence[DS | DNSKEY]) -> bool:
    from dns import dnssec  # loaded by a validating probe (see verify_rrset)

    if not key.flags & DNSKEY_ZONE_FLAG:
        return False
    for rdata in trusted_by:
        if isinstance(rdata, DNSKEY):
            if rdata == key:
                return True
            continue
        try:
            if dnssec.make_ds(name, key, rdata.digest_type) == rdata:
                return True
        except (dns.exception.DNSException, ValueError):
            continue
    return False


def has_type(nsec: NSEC, rdtype: int) -> bool:
    """Whether the NSEC type bitmap (RFC 4034 §4.1.2) lists ``rdtype``."""
    window, bit = divmod(rdtype, 256)
    for number, bitmap in nsec.windows:
        if number == window:
            index = bit // 8
            return index < len(bitmap) and bool(bitmap[index] & (0x80 >> (bit % 8)))
    return False


def covers(owner: dns.name.Name, next_name: dns.name.Name, name: dns.name.Name) -> bool:
    """Whether the NSEC span (owner, next) holds ``name`` (canonical order, RFC 4034 §6.1)."""
    after_owner: bool = owner < name
    before_next: bool = name < next_name
    if owner < next_name:
        return after_owner and before_next
    return after_owner or before_next  # the last NSEC of the zone wraps to the apex


def nodata_proven(
    nsecs: list[tuple[dns.name.Name, NSEC]], name: dns.name.Name, rdtype: int
) -> bool:
    """RFC 4035 §5.4: the NSEC at the name lacks the type (and CNAME), or the
    name is an empty non-terminal whose covering NSEC leads below it."""
    for owner, nsec in nsecs:
        if owner == name:
            return not has_type(nsec, rdtype) and not has_type(nsec, dns.rdatatype.CNAME)
    return any(
        covers(owner, nsec.next, name) and nsec.next.is_subdomain(name) for owner, nsec in nsecs
    )


def nxdomain_proven(nsecs: list[tuple[dns.name.Name, NSEC]], name: dns.name.Name) -> bool:
    """RFC 4035 §5.4: an NSEC covers the name and one covers the wildcard at
    the closest encloser, so neither the name nor a wildcard could answer."""
    for owner, nsec in nsecs:
        if owner == name or not covers(owner, nsec.next, name):
            continue
        common = max(name.fullcompare(owner)[2], name.fullcompare(nsec.next)[2])
        encloser = name.split(common)[1]
        wildcard = dns.name.Name((b"*",) + encloser.labels)
        if any(o == wildcard for o, _n in nsecs):
            return False  # the wildcard exists: it should have answered
        return any(covers(o, n.next, wildcard) for o, n in nsecs)
    return False


def bogus(zone: ZoneState, reason: str) -> ZoneState:
    return ZoneState(zone.name, "bogus", chain=zone.chain, reason=reason)


def combine(parts: Sequence[ZoneState]) -> ZoneState:
    """The worst status of the parts of an answer (CNAMEs, data, denial)."""
    if not parts:
        return ZoneState(dns.name.root, "indeterminate", reason="nothing to validate")
    worst = max(parts, key=lambda z: _SEVERITY[z.status])
    chain = tuple(dict.fromkeys(step for part in parts for step in part.chain))
    return ZoneState(worst.name, worst.status, chain=chain, reason=worst.reason)


def name_text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True) if name != dns.name.root else "."
