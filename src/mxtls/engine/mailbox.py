"""Plan the mailbox side: RFC 6186 SRV records name the domain's IMAP and POP3 servers.

Beside submission (:mod:`mxtls.engine.submission`), RFC 6186 §3.2-3.3 lets a
domain name where its users read mail: ``_imaps._tcp`` (implicit TLS, 993)
and ``_imap._tcp`` (STARTTLS, 143), ``_pop3s._tcp`` (995) and ``_pop3._tcp``
(110).  Only what the records name is probed, each port in the protocol and
TLS mode of the service that named it; a target of ``.`` means "not
offered".  No record is no finding: many domains serve no mailboxes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from mxtls.config import MailProtocol
from mxtls.engine.plan import ProbePlan
from mxtls.engine.submission import MAX_SRV_TARGETS, parse_srv
from mxtls.models.observations import DnsAnswer, MailboxService, MxHost, SrvTarget
from mxtls.net.dns import RunResolver

# (service, SRV owner label, protocol, TLS from the first byte)
SERVICES: tuple[tuple[MailboxService, str, MailProtocol, bool], ...] = (
    ("imaps", "_imaps._tcp", "imap", True),  # RFC 8314 §5.1
    ("imap", "_imap._tcp", "imap", False),  # RFC 6186 §3.2
    ("pop3s", "_pop3s._tcp", "pop3", True),  # RFC 8314 §5.1
    ("pop3", "_pop3._tcp", "pop3", False),  # RFC 6186 §3.3
)
_BY_SERVICE = {service: (protocol, implicit) for service, _, protocol, implicit in SERVICES}


@dataclass(frozen=True, slots=True)
class MailboxHost:
    """One host to probe for mailbox access: its plan, implicit-TLS ports and protocols."""

    host: MxHost
    plan: ProbePlan
    implicit_ports: frozenset[int]
    protocols: tuple[tuple[int, MailProtocol], ...]


async def lookup_mailbox(
    domain: str, resolver: RunResolver
) -> tuple[list[DnsAnswer], list[SrvTarget]]:
    """The four SRV lookups of ``domain`` and the targets they name (``.`` kept)."""
    answers = await asyncio.gather(
        *(resolver.query(f"{label}.{domain}", "SRV") for _, label, _, _ in SERVICES)
    )
    targets = [
        t
        for (service, _, _, _), answer in zip(SERVICES, answers, strict=True)
        for t in parse_srv(service, answer)
    ]
    return list(answers), targets


def plan_mailbox(targets: list[SrvTarget]) -> list[MailboxHost]:
    """Hosts and ports named by the SRV records (``.`` skipped), bounded."""
    ports: dict[str, dict[int, MailboxService]] = {}
    count = 0
    for t in targets:
        service = t.service
        if t.target == "." or count >= MAX_SRV_TARGETS or service not in _BY_SERVICE:
            continue
        by_port = ports.setdefault(t.target, {})
        if t.port not in by_port:
            by_port[t.port] = service
            count += 1
    hosts: list[MailboxHost] = []
    for name, by_port in ports.items():
        modes = {port: _BY_SERVICE[service] for port, service in by_port.items()}
        hosts.append(
            MailboxHost(
                host=MxHost(name=name, preference=0),
                plan=ProbePlan(ports=tuple(by_port), role="mailbox", required=frozenset(by_port)),
                implicit_ports=frozenset(p for p, (_, implicit) in modes.items() if implicit),
                protocols=tuple((p, protocol) for p, (protocol, _) in modes.items()),
            )
        )
    return hosts
