"""Which addresses and ports a runtime may connect to: the gate every connection passes.

A checker that runs on the Internet for strangers (``mxtls serve``) must not
become a way into the network it runs in.  Whatever a domain's DNS says (an
MX pointing at ``127.0.0.1``, an MX host whose A record is ``10.0.0.5``, an
``mta-sts`` host in ``fd00::/8``, an SRV target on a link-local address, or
an answer that changes between two lookups), the address actually connected
to is what counts.  So the check sits at the connection layer, not where
names are resolved: :func:`mxtls.net.stream.connect` (every SMTP, IMAP, POP3
and deep-scan connection) and the HTTPS policy fetch's network backend
(:mod:`mxtls.net.https`) ask the run's :class:`AddressPolicy` about the very
address and port they are about to connect to, and nothing else in mxtls
opens a TCP connection to a checked target (``tests/net/test_guard.py``
reads the source to keep it so).  Names never reach the connect call:
mxtls resolves through its own resolver and connects to address literals,
so DNS rebinding has nothing to rebind.

The policy travels in the run's :class:`~mxtls.config.CheckConfig`
(``address_policy``), which the :class:`~mxtls.engine.runtime.Runtime`
holds, so every check of a runtime, and every probe of a check, gets the
same one.  The default lets everything through (the CLI checks what its
user names, the lab lives on loopback); :data:`PUBLIC_ONLY` refuses every
address that is not globally routable, and every port that is not a mail
port or the MTA-STS policy port.

The resolver's own traffic (UDP/TCP to the configured nameservers) is not
a target: the operator chose those servers.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

__all__ = [
    "ALLOW_ALL",
    "MAIL_PORTS",
    "PUBLIC_ONLY",
    "AddressPolicy",
    "Refused",
    "non_public_reason",
    "public_only",
]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# The ports mail lives on: SMTP relay and submission (RFC 5321, 6409, 8314),
# the common alternative submission port, IMAP and POP3 in clear and over TLS.
MAIL_PORTS = frozenset({25, 465, 587, 2525, 143, 993, 110, 995})
HTTPS_POLICY_PORT = 443  # RFC 8461 §3.3: the MTA-STS policy host

# (what the range is called, its networks), first match wins.  Named ranges
# make the refusal say why; anything else Python does not call global is
# refused too (the fallback below), so an unlisted special range cannot slip.
_RANGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("loopback", ("127.0.0.0/8", "::1/128")),
    ("unspecified", ("0.0.0.0/8", "::/128")),
    ("private (RFC 1918)", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")),
    ("private (unique local, RFC 4193)", ("fc00::/7",)),
    ("link-local", ("169.254.0.0/16", "fe80::/10")),
    ("shared address space (CGNAT, RFC 6598)", ("100.64.0.0/10",)),
    ("multicast", ("224.0.0.0/4", "ff00::/8")),
    (
        "documentation",
        ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20"),
    ),
    ("benchmarking (RFC 2544)", ("198.18.0.0/15", "2001:2::/48")),
    ("IETF protocol assignments", ("192.0.0.0/24", "2001::/23")),
    ("reserved", ("240.0.0.0/4", "255.255.255.255/32", "100::/64", "fec0::/10")),
)
_NETWORKS = tuple((name, ipaddress.ip_network(net)) for name, nets in _RANGES for net in nets)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: an IPv4 address inside


class Refused(OSError):
    """A connection the run's :class:`AddressPolicy` does not allow (raised before any packet)."""


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def non_public_reason(address: str) -> str | None:
    """Why ``address`` is not a public Internet address (None when it is one).

    ``address`` must be an address literal; anything else (a host name, an
    address with a zone index) is refused, because mxtls connects only to
    addresses its own resolver returned.
    """
    try:
        ip: Address = ipaddress.ip_address(address)
    except ValueError:
        return "not an address literal"
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_v4(ip)
        reason = non_public_reason(str(inner)) if inner is not None else None
        if reason is not None:  # else the IPv6 address itself is judged below
            return f"{reason} (embedded in {ip})"
    for name, network in _NETWORKS:
        if ip.version == network.version and ip in network:
            return name
    if not ip.is_global:
        return "not globally routable"
    return None


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Where a runtime may connect.

    Attributes:
        allow_private: connect to any address (the CLI, the lab, tests);
            False refuses every address :func:`non_public_reason` names.
        ports: the TCP ports that may be connected to (None: any).
        also_public: networks (CIDR) to treat as public anyway: a relay the
            operator wants reachable, or a test's stand-in for the Internet.
    """

    allow_private: bool = True
    ports: frozenset[int] | None = None
    also_public: tuple[str, ...] = ()

    def refusal(self, address: str, port: int) -> str | None:
        """Why a connection to ``address``:``port`` is not allowed (None: allowed)."""
        if self.ports is not None and port not in self.ports:
            return f"port {port} is not a mail port"
        if self.allow_private:
            return None
        if self.also_public and _within(address, self.also_public):
            return None
        reason = non_public_reason(address)
        if reason is None:
            return None
        return f"{address} is {reason}: this checker connects to public addresses only"

    def check(self, address: str, port: int) -> None:
        """Raise :class:`Refused` unless a connection to ``address``:``port`` is allowed.

        Raises:
            Refused: the policy does not allow it.
        """
        reason = self.refusal(address, port)
        if reason is not None:
            raise Refused(reason)


def _within(address: str, networks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for net in networks:
        network = ipaddress.ip_network(net, strict=False)
        if ip.version == network.version and ip in network:
            return True
    return False


def public_only(
    port_map: tuple[tuple[int, int], ...] = (), also_public: tuple[str, ...] = ()
) -> AddressPolicy:
    """Public addresses on mail ports and 443 only; with ``port_map``, their local ports too.

    ``port_map`` is the run's (the operator's) ``--port-map``: the local port
    a mail port is mapped to is where that mail port is reached.
    """
    logical = MAIL_PORTS | {HTTPS_POLICY_PORT}
    mapped = {local for port, local in port_map if port in logical}
    return AddressPolicy(
        allow_private=False, ports=frozenset(logical | mapped), also_public=also_public
    )


ALLOW_ALL = AddressPolicy()
PUBLIC_ONLY = AddressPolicy(allow_private=False, ports=frozenset(MAIL_PORTS | {HTTPS_POLICY_PORT}))
