"""The flapping guard: changes caused by a timeout wait for a second look (pure).

A mail server that misses one round (a timeout, a congested link) would
otherwise page its admin twice: once for ``smtp.connect_failed`` and the
findings that vanished with the certificate, once more when everything is
back.  blackbox_exporter users know the pattern (awesome-prometheus-alerts
#327).  So an event that the round's timeouts can explain is *held*: it is
sent only when the next rounds (``confirm_rounds`` in a row, counting this
one) still show it, and dropped silently when they do not; an event that
undoes a held one cancels it.  Everything else goes out at once.

What the timeouts can explain (:class:`TimeoutScope`): findings on an
endpoint that timed out, on its host, the domain-level codes that follow
from reachability, and verdict changes, when any endpoint or DNS lookup of
the round timed out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mxtls.models.findings import endpoint_target
from mxtls.models.report import Report
from mxtls.monitor.diff import (
    Event,
    FindingEvent,
    VerdictChangedEvent,
    finding_keys,
    verdict_state,
)

DEFAULT_CONFIRM_ROUNDS = 2
# Domain-level codes whose presence follows from which endpoints answered.
REACHABILITY_CODES = frozenset(
    {
        "delivery.no_reachable_mx",
        "delivery.unencrypted_path",
        "delivery.strict_senders_fail",
        "mta_sts.enforce_tls_failure",
        "starttls.inconsistent",
        "cert.mismatch_across_ips",
    }
)


@dataclass(frozen=True, slots=True)
class TimeoutScope:
    """What timed out in one round."""

    endpoints: frozenset[str] = frozenset()  # endpoint targets, ``HOST[IP]:PORT``
    hosts: frozenset[str] = frozenset()  # MX hosts with a timed-out endpoint or lookup
    dns: bool = False  # a DNS lookup of the round timed out
    https: bool = False  # the MTA-STS policy fetch timed out

    @property
    def any(self) -> bool:
        """True when anything timed out."""
        return bool(self.endpoints or self.hosts or self.dns or self.https)

    @classmethod
    def of(cls, report: Report) -> TimeoutScope:
        """Collect the timeouts of ``report``."""
        endpoints: set[str] = set()
        hosts: set[str] = set()
        dns = report.mx.status == "TIMEOUT"
        for host in report.hosts:
            for answer in (host.dns.a, host.dns.aaaa):
                if answer is not None and answer.status == "TIMEOUT":
                    dns = True
                    hosts.add(host.name)
            for ep in host.endpoints:
                timed_out = (
                    ep.connect_failure is not None and ep.connect_failure.kind == "timeout"
                ) or ep.stop_reason == "timeout"
                if timed_out:
                    endpoints.add(endpoint_target(ep.host, ep.ip, ep.port))
                    hosts.add(ep.host)
        fetch = report.mta_sts.fetch if report.mta_sts is not None else None
        https = fetch is not None and fetch.error is not None and fetch.error.kind == "timeout"
        return cls(frozenset(endpoints), frozenset(hosts), dns, https)

    def explains(self, event: Event) -> bool:
        """True when this round's timeouts could be the whole cause of ``event``."""
        if not self.any:
            return False
        if self.dns and report_wide(event):
            return True
        match event:
            case FindingEvent(code=code, target=target):
                if code == "dns.error":
                    return self.dns
                if code.startswith("mta_sts.") and self.https:
                    return True
                if target in self.endpoints or target in self.hosts:
                    return True
                host = target.partition("[")[0]
                return host in self.hosts or code in REACHABILITY_CODES
            case VerdictChangedEvent():
                return True
            case _:
                return False


def report_wide(event: Event) -> bool:
    """Events that a DNS timeout alone can cause (every finding and verdict)."""
    return isinstance(event, FindingEvent | VerdictChangedEvent)


@dataclass(slots=True)
class Held:
    """An event waiting for confirmation, and how many rounds in a row showed it."""

    event: Event
    seen: int = 1


@dataclass(slots=True)
class GuardResult:
    """What to send now, and what stays held (to be stored until the next round)."""

    emit: list[Event] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)


def guard(
    events: list[Event],
    report: Report,
    held: list[Held],
    *,
    confirm_rounds: int = DEFAULT_CONFIRM_ROUNDS,
) -> GuardResult:
    """Split this round's ``events`` into those to send and those to hold.

    Args:
        events: ``diff_reports(previous, report)``.
        report: this round's report.
        held: what the previous rounds held (their events and counts).
        confirm_rounds: rounds in a row an event caused by timeouts must be
            seen before it is sent (1 disables the guard).
    """
    scope = TimeoutScope.of(report)
    out = GuardResult()
    undone: set[str] = set()
    for event in events:
        cancelled = [h for h in held if undoes(event, h.event)]
        if cancelled:  # it undoes a held event: neither is sent
            undone.update(_key(h.event) for h in cancelled)
            continue
        if confirm_rounds > 1 and scope.explains(event):
            out.held.append(Held(event))
        else:
            out.emit.append(event)
    for h in held:
        if _key(h.event) in undone or not still_true(h.event, report):
            continue
        h = Held(h.event, h.seen + 1)
        if h.seen >= confirm_rounds:
            out.emit.append(h.event)
        else:
            out.held.append(h)
    return out


def still_true(event: Event, report: Report) -> bool:
    """Whether ``report`` still shows what ``event`` announced."""
    match event:
        case FindingEvent(type="finding.new", code=code, target=target):
            return (code, target) in finding_keys(report.findings)
        case FindingEvent(type="finding.resolved", code=code, target=target):
            return (code, target) not in finding_keys(report.findings)
        case VerdictChangedEvent(sender=sender, new=new):
            return any(
                v.sender == sender and verdict_state(v) == new for v in report.verdict.senders
            )
        case _:
            return True


def _key(event: Event) -> str:
    if isinstance(event, FindingEvent):
        return f"{event.type}:{event.code}:{event.target}"
    return f"{event.type}:{event.key}"


def undoes(event: Event, held: Event) -> bool:
    """True when ``event`` takes back ``held`` (the state returned to what it was)."""
    match event, held:
        case FindingEvent(), FindingEvent():
            return (
                event.type != held.type and event.code == held.code and event.target == held.target
            )
        case VerdictChangedEvent(), VerdictChangedEvent():
            return event.sender == held.sender and event.new == held.old
        case _:
            return False
