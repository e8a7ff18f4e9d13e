"""DNSSEC for the lab: signed scenario zones, a signed ``lab.`` parent and its trust anchor.

Theory of operation: every zone that is signed gets one ECDSA P-256 key
(algorithm 13, ECDSAP256SHA256, RFC 6605) with the SEP flag, used as a
combined signing key (a CSK: it signs the DNSKEY RRset and the data), and an
NSEC chain (RFC 4034 §4), both made by :func:`dns.dnssec.sign_zone`.  The
parent zone ``lab.`` delegates each scenario zone (``NS ns.lab.``; the name
server's address is authoritative data of ``lab.`` itself, so no glue below a
cut is needed) and holds a DS record (SHA-256, RFC 4509) for every child that
publishes a key.  ``lab.`` is then signed last, so its NSEC chain covers the
DS records, and the DS of ``lab.``'s key is the trust anchor
(:func:`trust_anchor_text`), written to a file for the checker.

What a validator that starts from that anchor sees:

* **signed child** (:attr:`DnssecMode.SIGNED`): DS in ``lab.`` (signed by
  ``lab.``) matches the child's DNSKEY, the DNSKEY RRset is signed by that
  key, and so is every RRset of the child, NSEC included: *secure*.
* **unsigned child** (:attr:`DnssecMode.UNSIGNED`): ``lab.`` has no DS at the
  delegation; its NSEC record at the child's name, signed by ``lab.``, lists
  only NS, RRSIG and NSEC in its type bitmap, which proves that no DS exists
  (RFC 4035 §5.2): an *insecure* delegation, and the child's answers carry
  no signatures.
* **bogus child** (:attr:`DnssecMode.BOGUS`, :attr:`DnssecMode.EXPIRED`): the
  DS in ``lab.`` is valid and matches the child's DNSKEY, and the DNSKEY
  RRset's own signature is valid, so the chain reaches the child's key; but
  every other RRSIG of the child (MX, A, TXT, TLSA, NSEC, …) either has its
  signature bytes corrupted after signing (``bogus``) or expired yesterday
  (``expired``).  Data that must be secure cannot be validated: *bogus*
  (RFC 4035 §5.5), which a validating resolver answers with SERVFAIL.

Nothing here does I/O; :class:`mxtls.lab.world.Lab` serves the zones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdatatype
import dns.rrset
import dns.transaction
import dns.zone
from cryptography.hazmat.primitives.asymmetric import ec
from dns.dnssectypes import Algorithm, DSDigest
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.RRSIG import RRSIG

ALGORITHM = Algorithm.ECDSAP256SHA256  # RFC 8624 §3.1: MUST implement, RECOMMENDED to sign
DS_DIGEST = DSDigest.SHA256  # RFC 8624 §3.3: MUST implement
CSK_FLAGS = 257  # RFC 4034 §2.1.1: Zone Key (256) + Secure Entry Point (1)
SIGNATURE_INCEPTION = dt.timedelta(days=-1)  # signatures valid from a day before ``now``
SIGNATURE_VALIDITY = dt.timedelta(days=30)  # ... until 30 days after ``now``
EXPIRED_INCEPTION = dt.timedelta(days=-31)  # ``expired`` zones: valid for 30 days ...
EXPIRED_EXPIRATION = dt.timedelta(days=-1)  # ... that ended yesterday
ANCHOR_TTL_S = 3600


class DnssecMode(StrEnum):
    """How a lab zone is signed."""

    UNSIGNED = "unsigned"  # no keys; the parent proves there is no DS
    SIGNED = "signed"  # valid chain from the trust anchor: secure
    BOGUS = "bogus"  # valid DS and DNSKEY, corrupted signatures on the data
    EXPIRED = "expired"  # valid DS and DNSKEY, expired signatures on the data


@dataclass(frozen=True, slots=True)
class ZoneKey:
    """A zone's signing key: the private half and its DNSKEY rdata."""

    origin: dns.name.Name
    private_key: ec.EllipticCurvePrivateKey
    dnskey: DNSKEY

    @property
    def key_tag(self) -> int:
        """The key tag (RFC 4034 Appendix B) that RRSIG and DS records name."""
        return dns.dnssec.key_id(self.dnskey)

    def ds(self) -> DS:
        """The DS record the parent publishes for this key (SHA-256 digest)."""
        return dns.dnssec.make_ds(self.origin, self.dnskey, DS_DIGEST)


def make_zone_key(origin: dns.name.Name) -> ZoneKey:
    """A fresh ECDSA P-256 combined signing key for ``origin``."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    dnskey = dns.dnssec.make_dnskey(private_key.public_key(), ALGORITHM, flags=CSK_FLAGS)
    return ZoneKey(origin=origin, private_key=private_key, dnskey=dnskey)


def sign_zone(
    zone: dns.zone.Zone,
    key: ZoneKey,
    *,
    now: dt.datetime,
    mode: DnssecMode = DnssecMode.SIGNED,
) -> None:
    """Add ``key``'s DNSKEY, RRSIGs and an NSEC chain to ``zone`` (in place).

    In ``bogus`` and ``expired`` mode every RRSIG except the one over the
    DNSKEY RRset is broken, so the failure a validator meets is in the data,
    not in the key (see the module docstring).

    Raises:
        ValueError: ``mode`` is ``unsigned``, or the zone has no SOA.
    """
    if mode is DnssecMode.UNSIGNED:
        raise ValueError("an unsigned zone is not signed")
    if zone.origin is None:
        raise ValueError("a lab zone needs an origin")
    valid = (now + SIGNATURE_INCEPTION, now + SIGNATURE_VALIDITY)
    expired = (now + EXPIRED_INCEPTION, now + EXPIRED_EXPIRATION)
    origin = zone.origin

    def signer(txn: dns.transaction.Transaction, rrset: dns.rrset.RRset) -> None:
        broken = mode is not DnssecMode.SIGNED and rrset.rdtype != dns.rdatatype.DNSKEY
        inception, expiration = expired if broken and mode is DnssecMode.EXPIRED else valid
        rrsig: dns.rdata.Rdata = dns.dnssec.sign(
            rrset,
            key.private_key,
            origin,
            key.dnskey,
            inception=inception,
            expiration=expiration,
        )
        if broken and mode is DnssecMode.BOGUS:
            assert isinstance(rrsig, RRSIG)
            rrsig = rrsig.replace(signature=_corrupt(rrsig.signature))
        txn.add(rrset.name, rrset.ttl, rrsig)

    dns.dnssec.sign_zone(zone, keys=[(key.private_key, key.dnskey)], rrset_signer=signer)


def _corrupt(signature: bytes) -> bytes:
    """The signature with every bit of its first and last byte flipped (still the right size)."""
    if len(signature) < 2:
        return bytes(b ^ 0xFF for b in signature)
    return bytes([signature[0] ^ 0xFF]) + signature[1:-1] + bytes([signature[-1] ^ 0xFF])


def add_ds(parent: dns.zone.Zone, key: ZoneKey, ttl: int) -> None:
    """Publish the DS of a child's ``key`` in ``parent`` at the delegation."""
    with parent.writer() as txn:
        txn.add(key.origin, ttl, key.ds())


@dataclass(frozen=True, slots=True)
class SignedLab:
    """The keys of a signed lab: the parent's (the trust anchor) and each signed child's."""

    parent: ZoneKey
    children: Mapping[dns.name.Name, ZoneKey]

    def trust_anchor(self) -> str:
        """The trust anchor as zone-file text: see :func:`trust_anchor_text`."""
        return trust_anchor_text(self.parent)


def sign_lab(
    parent: dns.zone.Zone,
    children: Mapping[dns.name.Name, tuple[dns.zone.Zone, DnssecMode]],
    *,
    now: dt.datetime,
    ttl: int,
) -> SignedLab:
    """Sign the children that want it, publish their DS in ``parent``, then sign ``parent``.

    Args:
        parent: the ``lab.`` zone, already holding the delegations (NS).
        children: origin -> (zone, mode); unsigned children are left alone
            and get no DS.
        now: the lab's clock; signatures are valid around it.
        ttl: TTL of the DS records.

    Returns:
        The keys, parent first.
    """
    keys: dict[dns.name.Name, ZoneKey] = {}
    for origin, (zone, mode) in children.items():
        if mode is DnssecMode.UNSIGNED:
            continue
        key = make_zone_key(origin)
        sign_zone(zone, key, now=now, mode=mode)
        add_ds(parent, key, ttl)
        keys[origin] = key
    assert parent.origin is not None
    parent_key = make_zone_key(parent.origin)
    sign_zone(parent, parent_key, now=now)
    return SignedLab(parent=parent_key, children=keys)


def trust_anchor_text(key: ZoneKey, ttl: int = ANCHOR_TTL_S) -> str:
    """``lab. 3600 IN DS <tag> 13 2 <digest>`` plus a newline: one DS line in zone-file form.

    The same form as the IANA root anchor's DS and as unbound's
    ``trust-anchor-file`` accepts.
    """
    rrset = dns.rrset.from_rdata(key.origin, ttl, key.ds())
    return rrset.to_text() + "\n"


def dnskey_text(key: ZoneKey, ttl: int = ANCHOR_TTL_S) -> str:
    """The key as one DNSKEY line in zone-file form (an alternative trust anchor)."""
    return dns.rrset.from_rdata(key.origin, ttl, key.dnskey).to_text() + "\n"


__all__ = [
    "ALGORITHM",
    "DS_DIGEST",
    "DnssecMode",
    "SignedLab",
    "ZoneKey",
    "add_ds",
    "dnskey_text",
    "make_zone_key",
    "sign_lab",
    "sign_zone",
    "trust_anchor_text",
]
