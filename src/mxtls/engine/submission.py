"""Plan the submission side: RFC 6186 SRV records name the domain's submission servers.

MX hosts receive mail from other servers on port 25; mail clients submit on
465 (implicit TLS, RFC 8314) or 587 (STARTTLS, RFC 6409), usually on other
hosts (``smtp.example.com``).  Nothing is guessed: only the hosts and ports
that ``_submissions._tcp.DOMAIN`` (implicit TLS) and ``_submission._tcp.DOMAIN``
(STARTTLS) name are probed, each in the mode its service demands; a target
of ``.`` means "not offered" (RFC 6186 §3, RFC 2782).  No SRV at all is
``submission.not_advertised``, judged in :mod:`mxtls.checks.submission`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from mxtls.engine.plan import ProbePlan
from mxtls.models.observations import (
    DnsAnswer,
    MailboxService,
    MxHost,
    SrvTarget,
    SubmissionService,
)
from mxtls.net.dns import RunResolver

SERVICES: tuple[tuple[SubmissionService, str], ...] = (
    ("submissions", "_submissions._tcp"),  # RFC 8314 §5.1: implicit TLS
    ("submission", "_submission._tcp"),  # RFC 6186 §3.1: STARTTLS
)
MAX_SRV_TARGETS = 8  # per domain: hosts x ports probed for submission, at most
MAX_PORT = 65_535


def srv_records(answer: DnsAnswer) -> list[tuple[int, int, int, str]]:
    """``(priority, weight, port, target)`` of each well-formed SRV record of ``answer``."""
    out = []
    for text in answer.records:
        parts = text.split()
        if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
            continue
        priority, weight, port = (int(p) for p in parts[:3])
        if port > MAX_PORT:
            continue
        out.append((priority, weight, port, parts[3].rstrip(".").lower() or "."))
    return out


def named_hosts(answer: DnsAnswer) -> set[tuple[str, int]]:
    """The (host, port) pairs an SRV answer names (``.``, "not offered", left out)."""
    return {(target, port) for _, _, port, target in srv_records(answer) if target != "."}


def parse_srv(service: SubmissionService | MailboxService, answer: DnsAnswer) -> list[SrvTarget]:
    """The SRV records of ``answer`` (``prio weight port target.``), best first.

    Malformed records are skipped; RFC 2782 order: priority, then weight (higher first).
    """
    out = [
        SrvTarget(service=service, priority=priority, weight=weight, port=port, target=target)
        for priority, weight, port, target in srv_records(answer)
    ]
    return sorted(out, key=lambda t: (t.priority, -t.weight, t.target, t.port))


async def lookup_submission(
    domain: str, resolver: RunResolver
) -> tuple[list[DnsAnswer], list[SrvTarget]]:
    """Both SRV lookups of ``domain`` and the targets they name (``.`` kept)."""
    answers = await asyncio.gather(
        *(resolver.query(f"{label}.{domain}", "SRV") for _, label in SERVICES)
    )
    targets = [
        t for (service, _), a in zip(SERVICES, answers, strict=True) for t in parse_srv(service, a)
    ]
    return list(answers), targets


@dataclass(frozen=True, slots=True)
class SubmissionHost:
    """One host to probe for submission: its plan and the ports where TLS comes first."""

    host: MxHost
    plan: ProbePlan
    implicit_ports: frozenset[int]


def plan_submission(targets: list[SrvTarget]) -> list[SubmissionHost]:
    """Hosts and ports named by the SRV records (``.`` skipped), bounded.

    A host named by both services is probed once on every port named, each
    port in the mode of the service that named it.
    """
    ports: dict[str, dict[int, SubmissionService | MailboxService]] = {}
    count = 0
    for t in targets:
        if t.target == "." or count >= MAX_SRV_TARGETS:
            continue
        by_port = ports.setdefault(t.target, {})
        if t.port not in by_port:
            by_port[t.port] = t.service
            count += 1
    return [
        SubmissionHost(
            host=MxHost(name=name, preference=0),
            plan=ProbePlan(ports=tuple(by_port), role="submission", required=frozenset(by_port)),
            implicit_ports=frozenset(p for p, s in by_port.items() if s == "submissions"),
        )
        for name, by_port in ports.items()
    ]
