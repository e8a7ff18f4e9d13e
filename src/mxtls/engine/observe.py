"""Observe: everything one check asks the network, concurrently and within bounds.

:func:`observe_check` is the check's one I/O stage: every planned host is
resolved, then probed on every address and on the ports its
:class:`~mxtls.engine.plan.ProbePlan` names while its TLSA records are
looked up; for a domain, its MTA-STS and TLS-RPT records and policy, the
DNSSEC status of the MX and address answers, and its submission servers
(RFC 6186 SRV, :mod:`mxtls.engine.submission`) are observed at the same
time; the deep scan follows when asked for.  What comes back is :class:`Observed`:
facts only, for :mod:`mxtls.engine.derive` and then the checks.

Every connection takes a slot from the runtime's
:class:`~mxtls.net.politeness.ConnectionLimiter` (a cap for the runtime and
one per address, across every check; mail servers throttle scanners,
sslyze's defaults are 5 per server); an endpoint that throttled us is
reported to it, so later connections to that address wait; with
``Limits.throttle_retries`` the endpoint is probed again once the pause is
over.  Under a runtime that shares endpoint observations
(:mod:`mxtls.engine.reuse`), an endpoint another check has seen is not
probed again.  A slow or dead endpoint costs only its own timeout.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from mxtls.config import CheckConfig
from mxtls.engine.exclude import split_excluded
from mxtls.engine.mailbox import lookup_mailbox, plan_mailbox
from mxtls.engine.plan import ProbePlan, Target, find_caa, resolve_addresses, with_caa
from mxtls.engine.progress import ProgressCallback, ProgressEvent, ProgressKind
from mxtls.engine.reuse import EndpointReuse
from mxtls.engine.runtime import Check
from mxtls.engine.submission import lookup_submission, named_hosts, plan_submission
from mxtls.models.dane import TlsaLookup
from mxtls.models.deep import DeepScan
from mxtls.models.dnssec import DnssecResult
from mxtls.models.findings import endpoint_target
from mxtls.models.observations import (
    ConnectFailure,
    DnsAnswer,
    EndpointObservation,
    MxHost,
    SrvTarget,
)
from mxtls.models.policy import MtaStsObservation, TlsRptObservation
from mxtls.models.ptr import ReverseDns
from mxtls.models.report import DeepSkip, NotContacted
from mxtls.net.dane import lookup_host_tlsa
from mxtls.net.https import observe_mta_sts, observe_tls_rpt
from mxtls.net.politeness import ConnectionLimiter
from mxtls.net.ptr import reverse_lookup
from mxtls.net.smtp_session import probe_endpoint

CheckKind = Literal["domain", "servers"]


@dataclass(frozen=True, slots=True)
class HostObservation:
    """One host: its DNS answers, its endpoints as probed, its TLSA lookups.

    ``not_contacted`` lists the addresses the opt-out list kept us from
    (:mod:`mxtls.engine.exclude`): nothing was observed there.
    """

    host: MxHost
    endpoints: list[EndpointObservation]
    tlsa: list[TlsaLookup]
    reverse: dict[str, ReverseDns] = field(default_factory=dict)
    not_contacted: list[NotContacted] = field(default_factory=list)
    address_dnssec: DnssecResult | None = None  # an SRV target's, when DANE needs it


@dataclass(frozen=True, slots=True)
class Observed:
    """What the probes of one check recorded (facts only).

    Attributes:
        kind: ``domain`` (MX discovery and policies) or ``servers`` (named servers).
        raw: the name as the caller gave it.
        name: the A-label domain, or the servers' names.
        mx: the MX answer (synthesised for a server check).
        null_mx: the MX answer is a null MX (RFC 7505).
        hosts: one entry per planned MX host (or named server), in plan order.
        mta_sts, tls_rpt: the domain's policies (None when not observed).
        dnssec: the DNSSEC status of the MX answer and each host's address answer.
        submission_srv: the two RFC 6186 SRV answers (None: not looked up).
        submission_targets: what they name (``.`` kept).
        submission: the submission hosts they name, as probed.
        submission_dnssec: the DNSSEC status of the SRV answers that name a
            host, and of the addresses of the hosts named by secure ones
            (RFC 7673 §3: what decides whether their TLSA records count).
        mailbox_srv, mailbox_targets, mailbox, mailbox_dnssec: the same for
            the IMAP/POP3 SRV records (``_imaps``, ``_imap``, ``_pop3s``, ``_pop3``).
        deep: the deep scan of every endpoint it could reach (when asked for).
        deep_skipped: the endpoints it could not, and why.
        timings_ms: ``mx_lookup``, ``hosts`` and ``deep_scan``, milliseconds.
    """

    kind: CheckKind
    raw: str
    name: str
    mx: DnsAnswer
    null_mx: bool
    hosts: list[HostObservation]
    mta_sts: MtaStsObservation | None = None
    tls_rpt: TlsRptObservation | None = None
    dnssec: list[DnssecResult] = field(default_factory=list)
    submission_srv: list[DnsAnswer] | None = None
    submission_targets: list[SrvTarget] = field(default_factory=list)
    submission: list[HostObservation] = field(default_factory=list)
    submission_dnssec: list[DnssecResult] = field(default_factory=list)
    mailbox_srv: list[DnsAnswer] | None = None
    mailbox_targets: list[SrvTarget] = field(default_factory=list)
    mailbox: list[HostObservation] = field(default_factory=list)
    mailbox_dnssec: list[DnssecResult] = field(default_factory=list)
    deep: list[DeepScan] = field(default_factory=list)
    deep_skipped: list[DeepSkip] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def endpoints(self) -> list[EndpointObservation]:
        """Every endpoint observation, host by host (submission, then mailbox hosts last)."""
        every = (*self.hosts, *self.submission, *self.mailbox)
        return [ep for h in every for ep in h.endpoints]

    @property
    def tlsa(self) -> list[TlsaLookup]:
        """Every TLSA lookup, host by host (MX, submission, mailbox), each (host, port) once."""
        every = (*self.hosts, *self.submission, *self.mailbox)
        unique = {(lk.host, lk.port): lk for h in reversed(every) for lk in reversed(h.tlsa)}
        return list(reversed(unique.values()))

    @property
    def srv_dnssec(self) -> list[DnssecResult]:
        """The DNSSEC statuses of the RFC 6186 side: SRV answers and their hosts' addresses."""
        return [*self.submission_dnssec, *self.mailbox_dnssec]


async def observe_check(
    check: Check,
    *,
    kind: CheckKind,
    raw: str,
    name: str,
    mx: DnsAnswer,
    null_mx: bool,
    planned: list[Target],
) -> Observed:
    """Observe the planned hosts and, for a domain, its policies, DNSSEC status and submission.

    Never raises for network trouble: it is recorded in the observations.
    """
    config, dnssec = check.config, check.runtime.dnssec
    planned_at = time.perf_counter()
    with_policies = kind == "domain" and not null_mx and not mx.failed
    async with asyncio.TaskGroup() as tg:
        host_tasks = [tg.create_task(_observe_planned_host(check, t)) for t in planned]
        sub_task = tg.create_task(_observe_submission(check, name)) if with_policies else None
        box_task = tg.create_task(_observe_mailbox(check, name)) if with_policies else None
        sts_task = tls_rpt_task = None
        status_tasks: list[asyncio.Task[DnssecResult]] = []
        if kind == "domain" and not null_mx and (with_policies or mx.status == "SERVFAIL"):
            # A validating resolver answers SERVFAIL for bogus data: the probe
            # asks again with CD to tell bogus from other failures.
            status_tasks.append(tg.create_task(dnssec.status(name, "MX")))
        if with_policies:
            trust = check.runtime.trust
            sts_task = tg.create_task(observe_mta_sts(name, check.resolver, trust, config))
            tls_rpt_task = tg.create_task(observe_tls_rpt(name, check.resolver))
        for h in (t.host for t in planned):
            if not h.ip_literal and not _is_ip(h.name):
                rdtype = "A" if config.ipv4 else "AAAA"
                status_tasks.append(tg.create_task(dnssec.status(h.name, rdtype)))
    hosts = [t.result() for t in host_tasks]
    sub = sub_task.result() if sub_task else _SrvSide()
    box = box_task.result() if box_task else _SrvSide()
    sub_hosts, box_hosts = sub.hosts, box.hosts
    observed_at = time.perf_counter()
    deep: list[DeepScan] = []
    skipped: list[DeepSkip] = []
    if config.deep:
        # Imported on first use (the CLI imports it before its loop starts when
        # --deep is given): a plain check does not load the deep scan's modules.
        from mxtls.engine.deep import deep_scan, plan_deep

        every = (*hosts, *sub_hosts, *box_hosts)
        to_scan, skipped = plan_deep([ep for h in every for ep in h.endpoints])
        deep = await deep_scan(
            to_scan,
            _deep_config(config, [*sub_hosts, *box_hosts], to_scan),
            check.progress,
            check.runtime.limiter,
        )
    deep_done = time.perf_counter()
    return Observed(
        kind=kind,
        raw=raw,
        name=name,
        mx=mx,
        null_mx=null_mx,
        hosts=hosts,
        mta_sts=sts_task.result() if sts_task else None,
        tls_rpt=tls_rpt_task.result() if tls_rpt_task else None,
        dnssec=[t.result() for t in status_tasks],
        submission_srv=sub.srv,
        submission_targets=sub.targets,
        submission=sub_hosts,
        submission_dnssec=sub.dnssec,
        mailbox_srv=box.srv,
        mailbox_targets=box.targets,
        mailbox=box_hosts,
        mailbox_dnssec=box.dnssec,
        deep=deep,
        deep_skipped=skipped,
        timings_ms={
            "mx_lookup": _ms(planned_at - check.started),
            "hosts": _ms(observed_at - planned_at),
            "deep_scan": _ms(deep_done - observed_at),
        },
    )


async def _observe_planned_host(check: Check, target: Target) -> HostObservation:
    """Resolve one host and probe it; its TLSA records are looked up meanwhile.

    The TLSA lookup needs only the host's name, so it starts with the address
    lookup rather than after it: on a signed zone its DNSSEC walk is the
    longest chain of round trips of the check.
    """
    config, host, plan = target.config, target.host, target.plan
    tlsa: asyncio.Task[list[TlsaLookup]] | None = None
    address_status: asyncio.Task[DnssecResult] | None = None
    # RFC 7672 §2.2: TLSA applies only under a host name.  A host named by
    # SRV records gets the ports of the secure ones only (RFC 7673 §3), and
    # its address answer's DNSSEC status, which decides whether they count.
    tlsa_ports = plan.tlsa_lookups()
    if tlsa_ports and not host.ip_literal and not _is_ip(host.name):
        tlsa = asyncio.create_task(
            lookup_host_tlsa(
                host.name,
                tlsa_ports,
                check.resolver,
                check.runtime.dnssec,
                dnssec_timeout=config.timeouts.dns * 4,
            )
        )
        if plan.role in ("submission", "mailbox"):
            rdtype = "A" if config.ipv4 else "AAAA"
            address_status = asyncio.create_task(check.runtime.dnssec.status(host.name, rdtype))
    # The CAA climb runs beside the probes too: they wait only for addresses.
    caa = None
    if not host.addresses and not host.ip_literal:
        caa = asyncio.create_task(find_caa(host.name, check.resolver, config.deadline))
    reverse: asyncio.Future[list[ReverseDns]] | None = None
    try:
        resolved = host
        if not host.addresses:
            resolved = await resolve_addresses(host, check.resolver, config)
        check.emit("host", resolved.name, ", ".join(resolved.addresses) or "no address")
        endpoints: list[EndpointObservation] = []
        not_contacted: list[NotContacted] = []
        if resolved.addresses:
            # Reverse DNS of each address, while the host is probed (RFC 1912 §2.1).
            reverse = asyncio.gather(
                *(reverse_lookup(ip, check.resolver) for ip in resolved.addresses)
            )
            probed, not_contacted = split_excluded(resolved, config.exclude)
            endpoints = await observe_host(
                probed,
                config,
                check.runtime.limiter,
                check.progress,
                plan,
                reuse=check.runtime.reuse,
            )
        if caa is not None:
            resolved = with_caa(resolved, *await caa)
        if not resolved.addresses or reverse is None:
            return HostObservation(resolved, [], [])
        ptrs = {r.address: r for r in await reverse}
        lookups = await tlsa if tlsa is not None else []
        status = await address_status if address_status is not None else None
        return HostObservation(
            resolved,
            endpoints,
            lookups,
            reverse=ptrs,
            not_contacted=not_contacted,
            address_dnssec=status,
        )
    finally:
        if reverse is not None and not reverse.done():
            reverse.cancel()
        for task in (tlsa, caa, address_status):
            if task is not None and not task.done():
                task.cancel()  # not awaited (no address, or the check was cancelled)
            elif task is not None and not task.cancelled():
                task.exception()  # retrieved: a failure matters only when awaited above


@dataclass(frozen=True, slots=True)
class _SrvSide:
    """One RFC 6186 side (submission or mailbox) as observed; empty: not looked up."""

    srv: list[DnsAnswer] | None = None
    targets: list[SrvTarget] = field(default_factory=list)
    hosts: list[HostObservation] = field(default_factory=list)
    dnssec: list[DnssecResult] = field(default_factory=list)


async def _observe_submission(check: Check, domain: str) -> _SrvSide:
    """The RFC 6186 SRV lookups, then every host and port they name, probed as submission."""
    answers, targets = await lookup_submission(domain, check.resolver)
    secure, statuses = await _secure_srv(check, answers, targets)
    planned = [
        Target(
            sub.host,
            _with_tlsa(sub.plan, sub.host.name, secure),
            replace(check.config, implicit_ports=sub.implicit_ports),
        )
        for sub in plan_submission(targets)
    ]
    return await _srv_side(check, answers, targets, planned, statuses)


async def _observe_mailbox(check: Check, domain: str) -> _SrvSide:
    """The IMAP/POP3 SRV lookups, then every host and port they name, in their protocols."""
    answers, targets = await lookup_mailbox(domain, check.resolver)
    secure, statuses = await _secure_srv(check, answers, targets)
    planned = [
        Target(
            box.host,
            _with_tlsa(box.plan, box.host.name, secure),
            replace(check.config, implicit_ports=box.implicit_ports, port_protocols=box.protocols),
        )
        for box in plan_mailbox(targets)
    ]
    return await _srv_side(check, answers, targets, planned, statuses)


async def _secure_srv(
    check: Check, answers: list[DnsAnswer], targets: list[SrvTarget]
) -> tuple[set[tuple[str, int]], list[DnssecResult]]:
    """The (host, port) pairs named by DNSSEC-secure SRV answers, and every answer's status.

    RFC 7673 §3: a client looks up TLSA records for an SRV target only when
    the SRV answer was secure; an insecure one may have been forged, and so
    may the host it names.  Only answers that name a host are validated.
    """
    naming = [a for a in answers if named_hosts(a)]
    statuses = await asyncio.gather(*(check.runtime.dnssec.status(a.qname, "SRV") for a in naming))
    secure: set[tuple[str, int]] = set()
    for answer, status in zip(naming, statuses, strict=True):
        if status.status == "secure":
            secure |= named_hosts(answer)
    return secure, list(statuses)


def _with_tlsa(plan: ProbePlan, host: str, secure: set[tuple[str, int]]) -> ProbePlan:
    """The plan, with TLSA looked up on the ports secure SRV records name for ``host``."""
    return replace(plan, tlsa_ports=tuple(p for p in plan.ports if (host, p) in secure))


async def _srv_side(
    check: Check,
    answers: list[DnsAnswer],
    targets: list[SrvTarget],
    planned: list[Target],
    statuses: list[DnssecResult],
) -> _SrvSide:
    hosts = await _observe_all(check, planned)
    addresses = [h.address_dnssec for h in hosts if h.address_dnssec is not None]
    return _SrvSide(answers, targets, hosts, [*statuses, *addresses])


async def _observe_all(check: Check, planned: list[Target]) -> list[HostObservation]:
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(_observe_planned_host(check, t)) for t in planned]
    return [t.result() for t in tasks]


def _deep_config(
    config: CheckConfig,
    submission: list[HostObservation],
    scanned: Sequence[EndpointObservation] = (),
) -> CheckConfig:
    """The deep scan's config: TLS first on the ports the submission SRV records say so,
    and each port's protocol as the main probe spoke it (IMAP on 143 …)."""
    implicit = set(config.implicit_ports)
    for host in submission:
        for ep in host.endpoints:
            if ep.tls_mode == "implicit":
                implicit.add(ep.port)
            else:
                implicit.discard(ep.port)
    protocols = dict(config.port_protocols)
    protocols.update((ep.port, ep.protocol) for ep in scanned if ep.protocol != "smtp")
    return replace(
        config,
        deep=True,
        implicit_ports=frozenset(implicit),
        port_protocols=tuple(protocols.items()),
    )


async def observe_host(
    host: MxHost,
    config: CheckConfig,
    limiter: ConnectionLimiter,
    progress: ProgressCallback | None = None,
    plan: ProbePlan | None = None,
    *,
    reuse: EndpointReuse | None = None,
) -> list[EndpointObservation]:
    """Probe all (address, port) pairs of ``host`` at once; results in address/port order.

    ``plan`` says which ports and why (default: an MX host on
    ``config.ports``); each observation records its role and whether its
    port was optional.  Besides the main dialogue, one extra handshake
    without SNI is made per address (on the plan's first port) so
    ``cert.sni_differs`` can be judged; what its EHLO advertised is kept
    too, to compare STARTTLS across connections.  With ``reuse``,
    observations of the same endpoint made for another check are taken
    instead of probing again (the role and optional flag are this plan's).
    """
    plan = plan if plan is not None else ProbePlan.mx(config.ports)

    def emit(kind: ProgressKind, target: str, detail: str = "") -> None:
        if progress is not None:
            progress(ProgressEvent(kind, target, detail))

    async def probe(ip: str, port: int, sni: bool) -> EndpointObservation:
        target = endpoint_target(host.name, ip, port)
        retries = config.limits.throttle_retries
        while True:
            try:
                # A slot may take long to come (many hosts on one address, pauses
                # after throttling): no probe starts after the check's deadline.
                async with asyncio.timeout_at(config.deadline):
                    await limiter.acquire(ip)
            except TimeoutError:
                return not_probed(host.name, ip, port, config)
            try:
                if sni:
                    emit("endpoint_start", target)
                obs = await probe_endpoint(
                    host.name, ip, port, config, sni=sni, handshake_only=not sni
                )
                if obs.throttled:
                    limiter.pushback(ip)
            finally:
                await limiter.release(ip)
            # One more try after the pause, for a server that said 421 once; not
            # for one whose pushback already doubled the pause (it keeps saying it).
            escalated = limiter.paused_for(ip) > config.limits.throttle_backoff
            if not obs.throttled or retries <= 0 or escalated:
                return obs
            retries -= 1  # the next connection waits out the pause the pushback set

    async def one(ip: str, port: int, *, sni: bool) -> EndpointObservation:
        if reuse is None:
            obs = await probe(ip, port, sni)
        else:
            obs = await reuse.observe(
                host.name, ip, port, config, sni=sni, probe=lambda: probe(ip, port, sni)
            )
        if sni:
            emit("endpoint_done", endpoint_target(host.name, ip, port), _outcome(obs))
        return obs

    pairs = [(ip, port) for ip in host.addresses for port in plan.ports]
    main: dict[tuple[str, int], asyncio.Task[EndpointObservation]] = {}
    nosni: dict[tuple[str, int], asyncio.Task[EndpointObservation]] = {}
    async with asyncio.TaskGroup() as tg:
        for ip, port in pairs:
            main[(ip, port)] = tg.create_task(one(ip, port, sni=True))
        if config.check_nosni and plan.ports:
            for ip in host.addresses:
                key = (ip, plan.ports[0])
                nosni[key] = tg.create_task(one(ip, plan.ports[0], sni=False))
    results: list[EndpointObservation] = []
    for ip, port in pairs:
        update: dict[str, object] = {"role": plan.role, "optional": port not in plan.required}
        extra = nosni.get((ip, port))
        if extra is not None:
            second = extra.result()
            update["nosni_starttls_offered"] = second.starttls_offered
            if second.handshake is not None:
                update["handshake_nosni"] = second.handshake
        results.append(main[(ip, port)].result().model_copy(update=update))
    return results


def not_probed(host: str, ip: str, port: int, config: CheckConfig) -> EndpointObservation:
    """The record of an endpoint whose turn came after the check's time limit ran out."""
    detail = (
        f"not probed: the check's time limit of {config.timeouts.check_total:g}s ran out "
        "before a connection to this address was allowed"
    )
    return EndpointObservation(
        host=host,
        ip=ip,
        port=port,
        connect_port=config.connect_port(port),
        tls_mode="implicit" if config.tls_mode(port) == "implicit" else "starttls",
        protocol=config.protocol(port),
        connect_failure=ConnectFailure(kind="timeout", detail=detail),
        stopped_at="connect",
        stop_reason="timeout",
        stop_detail=f"{endpoint_target(host, ip, port)}: {detail}",
    )


def _outcome(obs: EndpointObservation) -> str:
    if obs.handshake is not None:
        return obs.handshake.version
    if obs.stopped_at:
        return f"stopped at {obs.stopped_at} ({obs.stop_reason})"
    return "no TLS"


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
