"""The opt-out list: names and address ranges that no probe may contact.

Public Internet scanners publish an opt-out address and honour it (the
DNSSEC/DANE survey at stats.dnssec-tools.org does; so do the research scans of
TLDs).  ``mxtls scan --exclude FILE`` reads such a list; the engine consults
it twice, as the bulk scanner promises:

* before a domain is checked at all (:meth:`Exclusions.domain`): an excluded
  domain gets no lookup and no connection;
* after MX resolution, before any connection (:meth:`Exclusions.host` and
  :meth:`Exclusions.address`): an MX host whose name is listed, or an address
  inside a listed range, is not contacted, and the report says so in the
  host's ``not_contacted`` list (the sender verdict then reads "not tested"
  for it, never "unreachable").

The file has one entry per line (``#`` starts a comment): a domain name (it
and every name under it: ``example.com`` covers ``mx1.example.com``), an IP
address, or a CIDR range (``192.0.2.0/24``, ``2001:db8::/32``).  IDNs are
matched as A-labels.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from mxtls.errors import ConfigError
from mxtls.models.observations import MxHost
from mxtls.models.report import NotContacted

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
MAX_ENTRY_CHARS = 255  # a domain name's longest presentation form (RFC 1035 §3.1)


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

    @classmethod
    def parse(cls, lines: Iterable[str], *, source: str = "exclude list") -> Exclusions:
        """Read an opt-out list (see the module docstring).

        Raises:
            ConfigError: a line is neither a name, an address nor a range
                (the message names the line).
        """
        from mxtls.engine.plan import normalize_domain
        from mxtls.errors import InvalidDomain

        names: set[str] = set()
        networks: list[Network] = []
        for number, raw in enumerate(lines, 1):
            text = raw.split("#", 1)[0].strip()
            if not text:
                continue
            if len(text) > MAX_ENTRY_CHARS:
                raise ConfigError(f"{source}, line {number}: entry too long")
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
                continue
            except ValueError:
                pass
            try:
                names.add(normalize_domain(text))
            except InvalidDomain as exc:
                raise ConfigError(
                    f"{source}, line {number}: not a name, address or range: {text!r} ({exc})"
                ) from None
        return cls(names=frozenset(names), networks=tuple(networks))

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


def split_excluded(host: MxHost, exclude: Exclusions | None) -> tuple[MxHost, list[NotContacted]]:
    """``host`` with only the addresses that may be contacted, and the ones left alone.

    The returned host is ``host`` itself when nothing is excluded.
    """
    if not exclude or not host.addresses:
        return host, []
    by_name = exclude.host(host.name)
    allowed: list[str] = []
    skipped: list[NotContacted] = []
    for ip in host.addresses:
        reason = by_name or exclude.address(ip)
        if reason is None:
            allowed.append(ip)
        else:
            skipped.append(NotContacted(host=host.name, ip=ip, reason=reason))
    if not skipped:
        return host, []
    return host.model_copy(update={"addresses": allowed}), skipped
