"""The monitor: check each domain on its interval, store, diff, alert, export.

Theory of operation: a round (:meth:`Monitor.run_round`) checks a batch of
domains, at most ``max_checks`` at once, through the one :class:`Checker`.
For each domain (:meth:`Monitor.check_one`) one database transaction stores
the report, diffs it against the previous one, passes the events through the
flapping guard and records what is sent and what is held; then the alerts
go out, their outcomes are logged, and metrics and the audit log are
updated.  ``--once`` is one round of every domain.  :meth:`Monitor.run_forever`
starts a round for whatever is due (each domain every ``interval``, its start
spread by ``jitter``), and on stop lets running rounds finish for a grace
period, then cancels them: a check either committed its transaction or left
nothing behind.

Time is injected (``clock``, ``sleep``, ``rng``) so tests run rounds back
to back without waiting for intervals.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from mxtls.errors import MxtlsError
from mxtls.models.report import Report
from mxtls.monitor import audit
from mxtls.monitor.alerts import Alerter, build_payloads
from mxtls.monitor.config import DomainSpec, MonitorConfig
from mxtls.monitor.diff import CheckFailedEvent, Event, diff_reports, leaves
from mxtls.monitor.flapping import Held, guard
from mxtls.monitor.metrics import MonitorMetrics
from mxtls.monitor.runner import Checker, DomainChecker
from mxtls.store import history
from mxtls.store import tlsrpt as tlsrpt_store
from mxtls.store.db import Store

log = logging.getLogger("mxtls.monitor")

EXIT_OK, EXIT_FINDINGS, EXIT_INTERNAL = 0, 1, 3
MAX_JITTER_S = 600.0  # a start is never delayed by more than this
FIRST_SPREAD_S = 30.0  # domains due at start-up all start within this
PRUNE_EVERY_S = 3600.0
SHUTDOWN_GRACE_S = 30.0
MAX_ERROR_CHARS = 2000


@dataclass
class CheckOutcome:
    """What one check of one domain produced."""

    domain: str
    report: Report | None
    error: str | None
    report_id: int
    events: list[Event] = field(default_factory=list)  # sent (or recorded) this round
    held: list[Event] = field(default_factory=list)  # waiting for confirmation
    delivered: int = 0
    failed_deliveries: int = 0
    exit_status: int = EXIT_OK


class Monitor:
    """Scheduled checks of the configured domains with history, alerts and metrics."""

    def __init__(
        self,
        config: MonitorConfig,
        store: Store,
        *,
        checker: DomainChecker | None = None,
        metrics: MonitorMetrics | None = None,
        alerter: Alerter | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        shutdown_grace_s: float = SHUTDOWN_GRACE_S,
    ) -> None:
        self.config = config
        self.store = store
        self.checker: DomainChecker = checker or Checker(config.check)
        self.metrics = metrics or MonitorMetrics()
        self.alerter = alerter or Alerter(config.webhooks, config.emails)
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.shutdown_grace_s = shutdown_grace_s
        self.rounds = 0
        self._gate = asyncio.Semaphore(config.settings.max_checks)
        self._last_prune: float | None = None

    async def restore_metrics(self) -> None:
        """Fill the metrics from the history, so series exist right after a restart."""
        names = [d.name for d in self.config.domains]

        def latest(session: Session) -> list[Report]:
            return [r for r in (history.latest_report(session, n) for n in names) if r]

        for report in await self.store.run(latest):
            self.metrics.observe(report)
        self.metrics.set_tlsrpt(await self.store.run(tlsrpt_store.totals))

    # -- one domain ------------------------------------------------------------

    async def check_one(self, spec: DomainSpec) -> CheckOutcome:
        """Check one domain, store the result, send what changed."""
        started = self.clock()
        report: Report | None = None
        error: str | None = None
        try:
            report = await self.checker.check(spec)
        except MxtlsError as exc:
            error = str(exc)
        except Exception as exc:  # boundary: one domain's bug must not stop the monitor
            error = f"internal error: {type(exc).__name__}: {exc}"
            log.exception("%s: check failed", spec.name)
        duration = self.clock() - started
        at = report.checked_at if report is not None else datetime.now(UTC)
        if report is not None:
            outcome = await self.store.run(lambda s: self._record_report(s, spec, report))
            self.metrics.observe(report)
            if report.internal_errors:
                outcome.exit_status = EXIT_INTERNAL
            elif report.fails(spec.fail_on):
                outcome.exit_status = EXIT_FINDINGS
        else:
            assert error is not None
            err = error[:MAX_ERROR_CHARS]
            outcome = await self.store.run(
                lambda s: self._record_failure(s, spec, at, err, duration * 1000)
            )
            self.metrics.observe_failure(spec.name, at.timestamp(), duration)
        if outcome.events:
            self.metrics.count_events(spec.name, outcome.events)
            await self._alert(spec.name, at, outcome)
        if self.config.settings.audit_log is not None:
            record = (
                audit.audit_record(report)
                if report is not None
                else audit.failure_record(spec.name, at, round(duration * 1000, 1), error or "")
            )
            await asyncio.to_thread(audit.append, self.config.settings.audit_log, record)
        return outcome

    def _record_report(self, session: Session, spec: DomainSpec, report: Report) -> CheckOutcome:
        previous_row = history.latest_row(session, spec.name, ok_only=True)
        previous = history.latest_report(session, spec.name)
        earlier = {}
        if previous is not None and previous_row is not None:
            # an endpoint unreachable last round: compare with the leaf it showed before
            if set(leaves(report)) - set(leaves(previous)):
                earlier = history.last_leaves(session, spec.name, before_report=previous_row.id)
        row = history.save_report(session, report)
        events = diff_reports(previous, report, earlier_leaves=earlier)
        held = [Held(e, n) for e, n in history.load_held(session, spec.name)]
        result = guard(events, report, held, confirm_rounds=self.config.settings.confirm_rounds)
        now = datetime.now(UTC)
        history.replace_held(session, spec.name, [(h.event, h.seen) for h in result.held], now)
        history.add_events(session, spec.name, row.id, result.emit, report.checked_at)
        return CheckOutcome(
            domain=spec.name,
            report=report,
            error=None,
            report_id=row.id,
            events=result.emit,
            held=[h.event for h in result.held],
        )

    def _record_failure(
        self, session: Session, spec: DomainSpec, at: datetime, error: str, duration_ms: float
    ) -> CheckOutcome:
        last = history.latest_row(session, spec.name)
        row = history.save_failure(session, spec.name, at, error, duration_ms)
        events: list[Event] = []
        if last is None or last.status == "ok":  # only the transition is news
            events.append(CheckFailedEvent(error=error[:500]))
        history.add_events(session, spec.name, row.id, events, at)
        return CheckOutcome(
            domain=spec.name,
            report=None,
            error=error,
            report_id=row.id,
            events=events,
            exit_status=EXIT_INTERNAL,
        )

    async def _alert(self, domain: str, at: datetime, outcome: CheckOutcome) -> None:
        if not self.alerter.configured:
            return
        payloads = build_payloads(domain, at, outcome.events, outcome.report)
        rows = await self.alerter.send(domain, payloads)
        outcome.delivered = sum(1 for r in rows if r.status == "delivered")
        outcome.failed_deliveries = len(rows) - outcome.delivered

        def store_rows(session: Session) -> None:
            for row in rows:
                history.record_delivery(session, row)

        await self.store.run(store_rows)

    # -- rounds ----------------------------------------------------------------

    async def run_round(self, specs: Sequence[DomainSpec] | None = None) -> list[CheckOutcome]:
        """Check ``specs`` (default: every domain), at most ``max_checks`` at once."""
        specs = list(self.config.domains if specs is None else specs)
        self.rounds += 1
        number, started = self.rounds, self.clock()

        async def gated(spec: DomainSpec) -> CheckOutcome:
            async with self._gate:
                return await self.check_one(spec)

        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(gated(s)) for s in specs]
        outcomes = [t.result() for t in tasks]
        log.info(
            "round %d: %d domain(s) in %.1fs: %d event(s), %d held, %d alert(s) sent, "
            "%d alert(s) failed, %d check(s) failed",
            number,
            len(outcomes),
            self.clock() - started,
            sum(len(o.events) for o in outcomes),
            sum(len(o.held) for o in outcomes),
            sum(o.delivered for o in outcomes),
            sum(o.failed_deliveries for o in outcomes),
            sum(1 for o in outcomes if o.exit_status == EXIT_INTERNAL),
        )
        await self.prune_if_due()
        # reports imported meanwhile (`mxtls tlsrpt import`, a web endpoint) show up here
        self.metrics.set_tlsrpt(await self.store.run(tlsrpt_store.totals))
        return outcomes

    async def prune_if_due(self, *, force: bool = False) -> history.Pruned | None:
        """Apply the retention (at most once an hour unless ``force``)."""
        now = self.clock()
        if not force and self._last_prune is not None and now - self._last_prune < PRUNE_EVERY_S:
            return None
        self._last_prune = now
        before = datetime.now(UTC) - timedelta(seconds=self.config.settings.retention_s)
        pruned = await self.store.run(lambda s: history.prune(s, before))
        if pruned.reports or pruned.events or pruned.deliveries or pruned.tlsrpt_reports:
            log.info(
                "retention: removed %d report(s), %d event(s), %d delivery record(s), "
                "%d TLS-RPT report(s) older than %s",
                pruned.reports,
                pruned.events,
                pruned.deliveries,
                pruned.tlsrpt_reports,
                before.isoformat(timespec="seconds"),
            )
        return pruned

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Check every domain on its interval until ``stop`` is set."""
        due = await self._initial_due()
        rounds: set[asyncio.Task[list[CheckOutcome]]] = set()
        busy: set[str] = set()
        by_name = {d.name: d for d in self.config.domains}
        stopper = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                now = self.clock()
                ready = [by_name[n] for n, t in sorted(due.items()) if t <= now and n not in busy]
                if ready:
                    names = [s.name for s in ready]
                    busy.update(names)
                    task = asyncio.create_task(self.run_round(ready))
                    rounds.add(task)

                    def done(t: asyncio.Task[list[CheckOutcome]], names: list[str] = names) -> None:
                        rounds.discard(t)
                        busy.difference_update(names)
                        self._reschedule(due, names)
                        if not t.cancelled() and t.exception() is not None:
                            log.error("a round failed: %r", t.exception())

                    task.add_done_callback(done)
                    continue
                waits = [t - now for n, t in due.items() if n not in busy]
                timeout = max(0.0, min(waits)) if waits else None
                await asyncio.wait(
                    [stopper, *rounds], timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
        finally:
            stopper.cancel()
            await self._finish(rounds)

    def _reschedule(self, due: dict[str, float], names: list[str]) -> None:
        now = self.clock()
        for name in names:
            spec = next(d for d in self.config.domains if d.name == name)
            due[name] = now + spec.interval_s + self._jitter(spec)

    def _jitter(self, spec: DomainSpec) -> float:
        spread = min(spec.interval_s * self.config.settings.jitter, MAX_JITTER_S)
        return self.rng.uniform(0, spread) if spread > 0 else 0.0

    async def _initial_due(self) -> dict[str, float]:
        """When each domain is first due: from its last stored check, spread by jitter."""

        def last_checks(session: Session) -> dict[str, datetime]:
            return {
                r.domain: history.as_utc(r.checked_at) for r in history.latest_per_domain(session)
            }

        last = await self.store.run(last_checks)
        wall, now = datetime.now(UTC), self.clock()
        due = {}
        for spec in self.config.domains:
            wait = 0.0
            if spec.name in last:
                elapsed = (wall - last[spec.name]).total_seconds()
                wait = max(0.0, spec.interval_s - elapsed)
            spread = self._jitter(spec)
            due[spec.name] = now + wait + (spread if wait else min(spread, FIRST_SPREAD_S))
        return due

    async def _finish(self, rounds: set[asyncio.Task[list[CheckOutcome]]]) -> None:
        """Let running rounds end within the grace period, then cancel them."""
        if not rounds:
            return
        log.info(
            "stopping: waiting up to %.0fs for %d running round(s)",
            self.shutdown_grace_s,
            len(rounds),
        )
        _, pending = await asyncio.wait(rounds, timeout=self.shutdown_grace_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            log.info(
                "stopping: abandoned %d round(s) in flight (nothing half-written)", len(pending)
            )

    async def aclose(self) -> None:
        """Release the HTTP client (the store is the caller's)."""
        await self.alerter.aclose()


def exit_status(outcomes: Sequence[CheckOutcome]) -> int:
    """The check contract across domains: 3 if any check failed, else 1 if any fails ``fail_on``."""
    statuses = {o.exit_status for o in outcomes}
    if EXIT_INTERNAL in statuses:
        return EXIT_INTERNAL
    return EXIT_FINDINGS if EXIT_FINDINGS in statuses else EXIT_OK
