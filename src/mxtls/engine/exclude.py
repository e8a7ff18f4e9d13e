"""The opt-out list: names and address ranges that no probe may contact.

Public Internet scanners publish an opt-out address and honour it (the
DNSSEC/DANE survey at stats.dnssec-tools.org does; so do the research scans of
TLDs).  ``mxtls scan --exclude FILE`` reads such a list; the engine consults
it twice, as the bulk scanner promises:

The list itself is a value, :class:`mxtls.exclusions.Exclusions` (it lives in
the frozen configuration); this module reads it and applies it.

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

from mxtls.engine.plan import normalize_domain
from mxtls.errors import ConfigError, InvalidDomain
from mxtls.exclusions import Exclusions, Network
from mxtls.models.observations import MxHost
from mxtls.models.report import NotContacted

MAX_ENTRY_CHARS = 255  # a domain name's longest presentation form (RFC 1035 §3.1)


def parse_exclusions(lines: Iterable[str], *, source: str = "exclude list") -> Exclusions:
    """Read an opt-out list (see the module docstring).

    Raises:
        ConfigError: a line is neither a name, an address nor a range
            (the message names the line).
    """
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
    return Exclusions(names=frozenset(names), networks=tuple(networks))


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
