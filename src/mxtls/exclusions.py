"""The opt-out list as a value: names and networks no probe may contact.

Immutable, hashable and picklable, so it sits in the frozen
:class:`~mxtls.config.CheckConfig` and travels to Dask workers with it.
Reading the list from a file is :func:`mxtls.engine.exclude.parse_exclusions`;
what the engine does with it is described in :mod:`mxtls.engine.exclude`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Exclusions:
    """Names and networks never contacted (immutable; hashable; picklable).

    Attributes:
        names: A-label names, lower case, without the trailing dot; each
            covers itself and every name under it.
        networks: address ranges (a single address is a /32 or /128).
    """

    names: frozenset[str] = field(default_factory=frozenset)
    networks: tuple[Network, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.names or self.networks)

    def name(self, name: str) -> str | None:
        """The listed entry covering ``name`` (itself or a parent), or None."""
        if not self.names:
            return None
        labels = name.rstrip(".").lower().split(".")
        for i in range(len(labels)):
            candidate = ".".join(labels[i:])
            if candidate in self.names:
                return candidate
        return None

    def domain(self, domain: str) -> str | None:
        """Why ``domain`` must not be checked (a reason), or None."""
        entry = self.name(domain)
        return f"{entry} is on the exclusion list" if entry is not None else None

    def host(self, host: str) -> str | None:
        """Why the MX host ``host`` must not be contacted, or None."""
        entry = self.name(host)
        return f"{entry} is on the exclusion list" if entry is not None else None

    def address(self, ip: str) -> str | None:
        """Why ``ip`` must not be contacted, or None (not an address: None)."""
        if not self.networks:
            return None
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        for network in self.networks:
            if address.version == network.version and address in network:
                return f"{network} is on the exclusion list"
        return None
