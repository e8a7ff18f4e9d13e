"""Reverse DNS of an address through the run's resolver: PTR, then forward confirmation.

One PTR query for ``address``; for each PTR name (at most
:data:`MAX_PTR_NAMES`), one A or AAAA query of the address's family.  Every
lookup goes through the run's resolver, so ``--nameserver`` and the shared
answer cache apply; a failed lookup is recorded as such (``failed``), never
turned into "missing".
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Protocol

import dns.reversename

from mxtls.models.observations import DnsAnswer
from mxtls.models.ptr import ReverseDns, ReverseStatus

__all__ = ["MAX_PTR_NAMES", "reverse_lookup"]

MAX_PTR_NAMES = 4  # an address with more PTR names is unusual; the rest are not followed


class _Resolver(Protocol):
    async def query(self, qname: str, rdtype: str) -> DnsAnswer: ...


def _name(record: str) -> str:
    return record.strip().rstrip(".").lower()


async def reverse_lookup(address: str, resolver: _Resolver) -> ReverseDns:
    """The PTR names of ``address`` and which of them resolve back to it.

    Raises:
        ValueError: ``address`` is not an IP address (a caller's bug).
    """
    ip = ipaddress.ip_address(address)
    qname = dns.reversename.from_address(str(ip)).to_text()
    ptr = await resolver.query(qname, "PTR")
    if ptr.failed:
        return ReverseDns(address=str(ip), status="failed", ptr=ptr)
    names = list(dict.fromkeys(_name(r) for r in ptr.records))[:MAX_PTR_NAMES]
    if not names:
        return ReverseDns(address=str(ip), status="missing", ptr=ptr)
    rdtype = "AAAA" if ip.version == 6 else "A"
    forward = await asyncio.gather(*(resolver.query(name, rdtype) for name in names))
    confirmed = [
        name
        for name, answer in zip(names, forward, strict=True)
        if any(_same(record, ip) for record in answer.records)
    ]
    status: ReverseStatus = "confirmed" if confirmed else "unconfirmed"
    return ReverseDns(
        address=str(ip),
        status=status,
        names=names,
        confirmed_names=confirmed,
        ptr=ptr,
        forward=list(forward),
    )


def _same(record: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    try:
        return ipaddress.ip_address(record.strip()) == ip
    except ValueError:
        return False
