"""What changed between two reports of one domain, as typed events (pure).

Two ``mxtls/1`` reports in, a list of :data:`Event` out: no database, no
clock, no I/O, so the monitor, ``mxtls history --diff`` and a future
``mxtls diff OLD.json NEW.json`` all say the same thing about the same pair.

Event types (docs/monitoring.md and the webhook contract):

- ``finding.new`` / ``finding.resolved``: a (code, target) pair appears or
  disappears (a changed message alone is no event);
- ``cert.changed``: an endpoint presents another leaf than before (old and new
  fingerprints, and whether the domain's TLSA records match the new one);
- ``verdict.changed``: a sender kind's verdict moved (see :func:`verdict_state`);
- ``check.failed``: the check itself could not run (an internal error).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal, assert_never

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from mxtls.models.findings import Finding, Severity, endpoint_target
from mxtls.models.report import Report, tlsa_matches
from mxtls.models.verdict import SenderKind, SenderVerdict

EVENT_TYPES = (
    "finding.new",
    "finding.resolved",
    "cert.changed",
    "verdict.changed",
    "check.failed",
)
EventType = Literal[
    "finding.new", "finding.resolved", "cert.changed", "verdict.changed", "check.failed"
]
VerdictState = Literal[
    "authenticated",  # delivers, and every MX it uses is authenticated (PKIX or DANE)
    "encrypted",  # delivers encrypted, but not to an authenticated MX everywhere
    "plaintext",  # delivers, in clear to at least one MX
    "partly",  # delivers to some MX hosts and refuses or cannot reach others
    "refuses",  # the domain's own policy makes this sender refuse
    "unreachable",  # no MX can be reached
    "not_applicable",  # the domain publishes no policy for this sender kind
    "not_tested",  # the check could not tell (e.g. the MX lookup failed)
]
VERDICT_STATES: tuple[VerdictState, ...] = (
    "authenticated",
    "encrypted",
    "plaintext",
    "partly",
    "refuses",
    "unreachable",
    "not_applicable",
    "not_tested",
)


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FindingEvent(_Event):
    """A (code, target) pair that appeared (``finding.new``) or disappeared."""

    type: Literal["finding.new", "finding.resolved"]
    code: str
    severity: Severity
    target: str
    message: str

    @property
    def key(self) -> str:
        """Identity across rounds: ``finding:CODE:TARGET``."""
        return f"finding:{self.code}:{self.target}"


class CertChangedEvent(_Event):
    """An endpoint presents a new leaf certificate.

    ``tlsa_matches`` is None when no TLSA records apply to the endpoint,
    else whether they authenticate the new chain (a renewal with a new key
    and stale ``3 1 1`` records makes it False).
    """

    type: Literal["cert.changed"] = "cert.changed"
    target: str
    host: str
    ip: str
    port: int
    old_sha256: str
    new_sha256: str
    old_spki_sha256: str
    new_spki_sha256: str
    old_not_after: datetime
    new_not_after: datetime
    key_changed: bool
    tlsa_matches: bool | None = None

    @property
    def key(self) -> str:
        """Identity across rounds: ``cert:TARGET``."""
        return f"cert:{self.target}"


class VerdictChangedEvent(_Event):
    """One sender kind's verdict moved from ``old`` to ``new`` (:func:`verdict_state`)."""

    type: Literal["verdict.changed"] = "verdict.changed"
    sender: SenderKind
    old: VerdictState
    new: VerdictState
    summary: str

    @property
    def key(self) -> str:
        """Identity across rounds: ``verdict:SENDER``."""
        return f"verdict:{self.sender}"


class CheckFailedEvent(_Event):
    """The check itself could not run (an internal failure, not a finding)."""

    type: Literal["check.failed"] = "check.failed"
    error: str

    @property
    def key(self) -> str:
        """Identity across rounds: ``check``."""
        return "check"


Event = Annotated[
    FindingEvent | CertChangedEvent | VerdictChangedEvent | CheckFailedEvent,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENTS_ADAPTER: TypeAdapter[list[Event]] = TypeAdapter(list[Event])


def diff_reports(
    old: Report | None,
    new: Report,
    *,
    earlier_leaves: Mapping[tuple[str, str, int], Leaf] | None = None,
) -> list[Event]:
    """Every change from ``old`` to ``new`` (two reports of the same domain).

    With no ``old`` (the first report), nothing has changed yet: only a
    failed check is an event.  Events come in a stable order: check
    failures, verdicts, certificates, new findings, resolved findings.

    Args:
        earlier_leaves: the last leaf seen at each endpoint before ``old``
            (from the history), compared with where ``old`` saw none: a
            certificate replaced while the endpoint was unreachable is
            still a ``cert.changed``.
    """
    events: list[Event] = []
    failure = failure_text(new)
    if failure is not None and (old is None or failure_text(old) is None):
        events.append(CheckFailedEvent(error=failure))
    if old is None:
        return events
    events.extend(_verdict_changes(old, new))
    events.extend(_cert_changes(old, new, earlier_leaves or {}))
    events.extend(_finding_changes(old.findings, new.findings))
    return events


def failure_text(report: Report) -> str | None:
    """The first line of the report's first internal error, or None when the check ran."""
    if not report.internal_errors:
        return None
    lines = [ln for ln in report.internal_errors[0].splitlines() if ln.strip()]
    return (lines[-1] if lines else "internal error")[:500]


def verdict_state(verdict: SenderVerdict) -> VerdictState:
    """Fold a sender verdict into one of :data:`VERDICT_STATES`.

    ``delivers`` splits by the channel: authenticated everywhere, encrypted
    everywhere but not authenticated ("encrypted but unauthenticated"), or in
    clear to at least one MX.
    """
    match verdict.outcome:
        case "not_applicable":
            return "not_applicable"
        case "not_tested":
            return "not_tested"
        case "unreachable":
            return "unreachable"
        case "refuses":
            return "refuses"
        case "delivers_partly":
            return "partly"
        case "delivers":
            used = [m for m in verdict.mx if m.delivers]
            if used and all(m.authenticated for m in used):
                return "authenticated"
            if all(m.encrypted is not False for m in used):
                return "encrypted"
            return "plaintext"
        case other:
            assert_never(other)


def finding_keys(findings: Iterable[Finding]) -> set[tuple[str, str]]:
    """The (code, target) pairs of ``findings``: what ``finding.*`` events compare."""
    return {(f.code, f.target) for f in findings}


def _finding_changes(old: list[Finding], new: list[Finding]) -> list[Event]:
    before, after = finding_keys(old), finding_keys(new)
    out: list[Event] = []
    for kind, findings, other in (("finding.new", new, before), ("finding.resolved", old, after)):
        seen: set[tuple[str, str]] = set()
        for f in sorted(findings, key=lambda f: (-f.severity.rank, f.code, f.target)):
            if (f.code, f.target) in other or (f.code, f.target) in seen:
                continue
            seen.add((f.code, f.target))
            out.append(
                FindingEvent(
                    type=kind,
                    code=f.code,
                    severity=f.severity,
                    target=f.target,
                    message=f.message,
                )
            )
    return out


def _verdict_changes(old: Report, new: Report) -> list[Event]:
    before = {v.sender: verdict_state(v) for v in old.verdict.senders}
    out: list[Event] = []
    for v in new.verdict.senders:
        was, now = before.get(v.sender), verdict_state(v)
        if was is not None and was != now:
            out.append(VerdictChangedEvent(sender=v.sender, old=was, new=now, summary=v.summary))
    return out


@dataclass(frozen=True, slots=True)
class Leaf:
    """What ``cert.changed`` compares: a leaf's fingerprints and expiry."""

    sha256: str
    spki_sha256: str
    not_after: datetime


def leaves(report: Report) -> dict[tuple[str, str, int], Leaf]:
    """The leaf each endpoint of ``report`` presented (with SNI)."""
    return {
        (ep.host, ep.ip, ep.port): Leaf(c.sha256_fingerprint, c.spki_sha256, c.not_after)
        for h in report.hosts
        for ep in h.endpoints
        if ep.handshake is not None and ep.handshake.chain
        for c in ep.handshake.chain[:1]
    }


def _cert_changes(
    old: Report, new: Report, earlier: Mapping[tuple[str, str, int], Leaf]
) -> list[Event]:
    before = {**earlier, **leaves(old)}
    out: list[Event] = []
    for (host, ip, port), leaf in leaves(new).items():
        prev = before.get((host, ip, port))
        if prev is None or prev.sha256 == leaf.sha256:
            continue
        out.append(
            CertChangedEvent(
                target=endpoint_target(host, ip, port),
                host=host,
                ip=ip,
                port=port,
                old_sha256=prev.sha256,
                new_sha256=leaf.sha256,
                old_spki_sha256=prev.spki_sha256,
                new_spki_sha256=leaf.spki_sha256,
                old_not_after=prev.not_after,
                new_not_after=leaf.not_after,
                key_changed=prev.spki_sha256 != leaf.spki_sha256,
                tlsa_matches=tlsa_matches(new, host, ip, port, leaf.spki_sha256),
            )
        )
    return out
