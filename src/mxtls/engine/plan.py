"""Plan a run: domain → MX records → hosts → addresses → endpoints.

Discovery only records what DNS said (``Discovery``/``MxHost``); whether a
CNAME target or a missing address is a problem is for ``checks.mx``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass

import dns.exception
import dns.name

from mxtls.config import CheckConfig
from mxtls.errors import InvalidDomain
from mxtls.models.observations import Discovery, DnsAnswer, EndpointRole, MxHost
from mxtls.net.dns import RunResolver

MAX_DOMAIN_BYTES = 253  # RFC 1035 §2.3.4 (255 octets on the wire, dots and length bytes)
MAX_LABEL_BYTES = 63  # RFC 1035 §2.3.4
_LDH = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


@dataclass(frozen=True, slots=True)
class ProbePlan:
    """Which ports of a host to probe, and why.

    Attributes:
        ports: the logical ports, in order.
        role: an MX host (the relay path), a submission server named by SRV,
            or a server named by the user.
        required: the ports where a service is promised (an MX host's 25, an
            SRV record's port, a port the user named); a closed port outside
            this set is ``optional`` in the observation.
        tlsa_ports: the ports whose TLSA records are looked up; None: the
            role's rule (an MX host: 25 and every port probed, RFC 7672
            §2.2; a named server: every port probed).  A host named by SRV
            records gets the ports of the DNSSEC-secure ones (RFC 7673 §3).
    """

    ports: tuple[int, ...]
    role: EndpointRole = "mx"
    required: frozenset[int] = frozenset({25})
    tlsa_ports: tuple[int, ...] | None = None

    def tlsa_lookups(self) -> tuple[int, ...]:
        """The ports to look TLSA records up for, in order, without repeats."""
        if self.tlsa_ports is not None:
            return tuple(dict.fromkeys(self.tlsa_ports))
        if self.role == "mx":
            return tuple(dict.fromkeys((25, *self.ports)))
        if self.role == "server":
            return tuple(dict.fromkeys(self.ports))
        return ()

    @classmethod
    def mx(cls, ports: tuple[int, ...]) -> ProbePlan:
        """An MX host: port 25 is the relay path (RFC 5321 §4.5.4.1), any other port is extra."""
        return cls(ports=ports, role="mx", required=frozenset({25}))


@dataclass(frozen=True, slots=True)
class Target:
    """One host to probe: which ports and why (the plan), with the config to probe it with.

    A submission host's config says which of its ports speak TLS first (the
    ports its ``_submissions`` SRV records name).
    """

    host: MxHost
    plan: ProbePlan
    config: CheckConfig


def normalize_domain(raw: str) -> str:
    """Turn user input into a lower-case A-label domain without the final dot.

    IDNs are converted with IDNA (``bücher.example`` → ``xn--bcher-kva.example``).

    Raises:
        InvalidDomain: empty, an IP address, not LDH after IDNA, too long,
            or a single label.
    """
    text = raw.strip().rstrip(".")
    if not text:
        raise InvalidDomain("empty domain name")
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        pass
    else:
        raise InvalidDomain(f"{raw!r} is an IP address; give the mail domain's name")
    try:
        name = dns.name.from_unicode(text) if not text.isascii() else dns.name.from_text(text)
        ascii_name = name.to_text(omit_final_dot=True).lower()
    except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
        raise InvalidDomain(f"invalid domain name {raw!r}: {exc}") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > MAX_DOMAIN_BYTES:
        raise InvalidDomain(f"invalid domain name {raw!r}: longer than {MAX_DOMAIN_BYTES} bytes")
    if len(labels) < 2:
        raise InvalidDomain(f"invalid domain name {raw!r}: a mail domain has at least two labels")
    for label in labels:
        if not label or len(label) > MAX_LABEL_BYTES:
            raise InvalidDomain(f"invalid domain name {raw!r}: bad label length")
        if not set(label) <= _LDH or label.startswith("-") or label.endswith("-"):
            raise InvalidDomain(
                f"invalid domain name {raw!r}: label {label!r} is not letters, digits and hyphens"
            )
    return ascii_name


def is_ip_literal(name: str) -> bool:
    """True when an MX target is written as an address (``192.0.2.1``, ``[192.0.2.1]``)."""
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class MxRecord:
    """One parsed MX record."""

    preference: int
    exchange: str


def parse_mx(answer: DnsAnswer) -> list[MxRecord]:
    """MX records of ``answer`` sorted by preference then name (skips malformed ones)."""
    out: list[MxRecord] = []
    for text in answer.records:
        pref, _, exchange = text.partition(" ")
        if pref.isdigit():
            out.append(MxRecord(int(pref), exchange.strip().rstrip(".").lower() or "."))
    return sorted(out, key=lambda r: (r.preference, r.exchange))


async def resolve_host(host: MxHost, resolver: RunResolver, config: CheckConfig) -> MxHost:
    """Fill ``host`` with its A/AAAA answers, addresses, CNAME target and CAA."""
    if host.ip_literal:
        return host
    async with asyncio.TaskGroup() as tg:
        addressed = tg.create_task(resolve_addresses(host, resolver, config))
        caa = tg.create_task(find_caa(host.name, resolver, config.deadline))
    return with_caa(addressed.result(), *caa.result())


async def resolve_addresses(host: MxHost, resolver: RunResolver, config: CheckConfig) -> MxHost:
    """Fill ``host`` with its A/AAAA answers, addresses and CNAME target (no CAA).

    What a probe waits for: the engine looks the CAA records up meanwhile
    (:func:`find_caa`, :func:`with_caa`), since their climb towards the root
    can take several round trips.
    """
    if host.ip_literal:
        return host
    async with asyncio.TaskGroup() as tg:
        a = tg.create_task(resolver.query(host.name, "A")) if config.ipv4 else None
        aaaa = tg.create_task(resolver.query(host.name, "AAAA")) if config.ipv6 else None
    a_answer = a.result() if a else None
    aaaa_answer = aaaa.result() if aaaa else None
    addresses: list[str] = []
    for answer in (a_answer, aaaa_answer):
        if answer is not None and answer.status == "NOERROR":
            addresses.extend(answer.records)
    cname_target = None
    for answer in (a_answer, aaaa_answer):
        if answer is not None and answer.cname_chain:
            cname_target = answer.cname_chain[-1]
            break
    return host.model_copy(
        update={
            "a": a_answer,
            "aaaa": aaaa_answer,
            "addresses": addresses[: config.limits.max_addresses_per_host],
            "cname_target": cname_target,
        }
    )


def with_caa(host: MxHost, caa: DnsAnswer, caa_domain: str) -> MxHost:
    """``host`` with the CAA answer :func:`find_caa` found (and where)."""
    return host.model_copy(update={"caa": caa, "caa_domain": caa_domain})


async def find_caa(
    host: str, resolver: RunResolver, deadline: float | None = None
) -> tuple[DnsAnswer, str]:
    """The relevant CAA RRset for ``host`` (RFC 8659 §3: climb towards the root).

    The climb stops before single-label names (TLDs publish no CAA for mail
    hosts), at the first answer with records or a failed lookup, and at the
    check's ``deadline`` (a name of 127 labels would otherwise cost 125
    lookups one after the other).
    """
    labels = host.split(".")
    answer = await resolver.query(host, "CAA")
    where = host
    for i in range(1, max(len(labels) - 1, 1)):
        if answer.records or answer.failed:
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
        where = ".".join(labels[i:])
        answer = await resolver.query(where, "CAA")
    return answer, where


def initial_hosts(domain: str, mx: DnsAnswer, config: CheckConfig) -> tuple[bool, list[MxHost]]:
    """``(null_mx, hosts)`` from the MX answer, before address lookups.

    RFC 7505 §3: a null MX is a single record with an empty (root) exchange.
    RFC 5321 §5.1: no MX at all means the domain itself is the implicit MX.
    """
    if mx.failed:
        return False, []
    records = parse_mx(mx)
    if len(records) == 1 and records[0].exchange == ".":
        return True, []
    if not records:
        return False, [MxHost(name=domain, preference=0, implicit=True)]
    hosts: list[MxHost] = []
    seen: set[str] = set()
    for rec in records:
        if rec.exchange == "." or rec.exchange in seen:
            continue
        seen.add(rec.exchange)
        hosts.append(
            MxHost(
                name=rec.exchange.strip("[]"),
                preference=rec.preference,
                ip_literal=is_ip_literal(rec.exchange),
            )
        )
    return False, hosts[: config.limits.max_mx_hosts]


def build_discovery(domain: str, mx: DnsAnswer, null_mx: bool, hosts: list[MxHost]) -> Discovery:
    """Assemble the discovery record."""
    return Discovery(domain=domain, mx=mx, null_mx=null_mx, hosts=hosts)
