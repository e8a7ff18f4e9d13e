"""The lab's zone files, as text, from the scenario table and the hosts as started.

``lab.`` delegates every scenario zone; each scenario zone holds its MX,
address, TLSA, CAA, MTA-STS and TLS-RPT records as its row says.  Pure text
building: :class:`~mxtls.lab.world.Lab` parses, signs and serves the zones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import dns.reversename

from mxtls.lab.ca import Issued
from mxtls.lab.scenarios import PTR_SELF, HostSpec, MtaStsSpec, Scenario, TlsaSpec

DNS_HOST = "127.0.0.1"  # where the lab's DNS server listens (ns.lab.)
ZONE_TTL_S = 300


@dataclass(frozen=True, slots=True)
class LabHost:
    """An MX host as started: its addresses and the certificate on each."""

    name: str
    domain: str
    spec: HostSpec
    addresses: tuple[str, ...]
    certs: tuple[Issued, ...]  # one per address (the same object unless per_address)
    nosni_cert: Issued | None
    second_cert: Issued | None = None


@dataclass(frozen=True, slots=True)
class PolicyHost:
    """An MTA-STS policy host as started: ``mta-sts.<domain>``, its address and certificate."""

    name: str
    domain: str
    spec: MtaStsSpec
    address: str
    cert: Issued
    policy: str  # the policy text (what ``serving`` does with it is the spec's business)


def soa_ns() -> list[str]:
    """The SOA and NS lines every lab zone starts with."""
    return [
        f"$TTL {ZONE_TTL_S}",
        "@ SOA ns.lab. hostmaster.lab. 1 3600 600 86400 300",
        "@ NS ns.lab.",
    ]


# A TXT record too big for a UDP answer (exercises TC and the retry over TCP).
_BIG_TXT = " ".join(f'"{i:02d}{"x" * 200}"' for i in range(10))
# A syntactically valid DANE-EE record, so TLSA answers can be tested before DANE scenarios exist.
_SAMPLE_TLSA = "3 1 1 " + "ab" * 32


def parent_zone_text(scenarios: dict[str, Scenario]) -> str:
    """``lab.``: the name server, test records and one delegation per scenario."""
    lines = soa_ns()
    lines += [f"ns.lab. A {DNS_HOST}", f"big.lab. TXT {_BIG_TXT}"]
    lines += [f"_25._tcp.tlsa.lab. TLSA {_SAMPLE_TLSA}"]
    lines += [f"{domain}. NS ns.lab." for domain in scenarios]
    return "\n".join(lines) + "\n"


def txt_string(text: str) -> str:
    """One TXT character-string in zone-file syntax (RFC 1035 §5.1 quoting)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def scenario_zone_text(
    sc: Scenario,
    hosts: dict[str, LabHost],
    policy_hosts: dict[str, PolicyHost],
    tlsa_line: Callable[[LabHost, TlsaSpec], str],
) -> str:
    """One scenario's zone; ``tlsa_line`` renders a TLSA record of a started host."""
    domain = sc.domain
    lines = soa_ns()
    if sc.caa:
        lines.append('@ CAA 0 issue "mxtls.lab"')
    if sc.tls_rpt:
        lines.append(f'_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@{domain}"')
    if sc.mta_sts is not None:
        lines += [f"_mta-sts TXT {txt_string(t)}" for t in sc.mta_sts.txt]
        policy = policy_hosts[f"mta-sts.{domain}"]
        lines.append(f"{policy.name}. A {policy.address}")
    own = [h for h in hosts.values() if h.domain == domain]
    if sc.mx is None:
        lines += [f"@ MX {10 * (i + 1)} {h.name}." for i, h in enumerate(own)]
    else:
        lines += [f"@ MX {rdata}" for rdata in sc.mx]
    for h in own:
        if not h.spec.in_dns:
            continue
        if h.name != domain and not h.name.endswith("." + domain):
            raise ValueError(f"lab host {h.name} is outside its domain {domain}")
        for addr in h.addresses:
            lines.append(f"{h.name}. {'AAAA' if ':' in addr else 'A'} {addr}")
        lines += [tlsa_line(h, spec) for spec in h.spec.tlsa]
    lines += list(sc.records)
    return "\n".join(lines) + "\n"


def reverse_zone_text(hosts: Iterable[LabHost], origin: str) -> str:
    """PTR records under ``origin`` for the hosts' addresses, as each host's spec says.

    A host's PTR is its own name (:data:`PTR_SELF`), another name, or absent;
    IPv4 and IPv4-mapped IPv6 addresses both reverse under ``in-addr.arpa``.
    """
    lines = soa_ns()
    for host in hosts:
        ptr = host.spec.ptr
        if ptr is None:
            continue
        name = host.name if ptr == PTR_SELF else ptr
        for address in host.addresses:
            reverse = dns.reversename.from_address(address).to_text()
            if reverse.endswith("." + origin):
                lines.append(f"{reverse} PTR {name.rstrip('.')}.")
    return "\n".join(lines) + "\n"
