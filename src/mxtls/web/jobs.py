"""The check queue of the web service: one runtime, bounded, shared, remembered.

Theory of operation: a request for a check becomes a :class:`Job` with a
random id (the permalink).  Identical requests (same kind, target, deep
flag and ports) while one is queued or running get that same job, and for
``cooldown_s`` after it finished they get its result: a page that many
people open at once costs one check.  New jobs wait in a bounded queue
(full: :class:`QueueFull`, the caller answers 503) and ``max_running``
workers take them in order, each check running on the server's own event
loop through the service's one :class:`~mxtls.engine.runtime.Runtime`
(its resolver cache, trust store and per-address connection slots are
shared by every visitor) and bounded by ``check_timeout_s``.

Every job is written to the store when it is queued and when it ends, and
its report is stored as the monitor stores its own: a permalink outlives a
restart.  Progress events (the engine's callback) are kept per job, a
bounded list, and whoever streams them waits on the job's condition.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from mxtls.engine.progress import ProgressCallback, ProgressEvent
from mxtls.errors import MxtlsError
from mxtls.models.report import Report
from mxtls.store import webchecks
from mxtls.store.db import Store

log = logging.getLogger("mxtls.web")

JobStatus = Literal["queued", "running", "done", "error"]
JobKind = Literal["domain", "servers"]
MAX_EVENTS_PER_JOB = 500  # progress lines kept; a check has a few dozen
MAX_JOBS_IN_MEMORY = 2000  # finished jobs kept for the cooldown and fast reads
KEEPALIVE_S = 15.0  # a silent progress stream says it lives this often
ID_BYTES = 12  # 16 URL-safe characters: not guessable, short enough for a link

Runner = Callable[["Job", ProgressCallback], Awaitable[Report]]


class QueueFull(Exception):
    """The queue holds ``max_queue`` checks: try again later."""


class ShuttingDown(Exception):
    """The service is stopping and takes no new checks."""


@dataclass(frozen=True, slots=True)
class JobRequest:
    """What was asked for; equal requests share one job."""

    kind: JobKind
    target: str  # the A-label domain, or the servers joined by spaces
    deep: bool = False
    ports: tuple[int, ...] | None = None
    servers: tuple[str, ...] = ()


@dataclass(slots=True)
class Job:
    """One check: its state, its progress, its report."""

    id: str
    request: JobRequest
    created_at: datetime
    status: JobStatus = "queued"
    report: Report | None = None
    error: str | None = None
    events: list[ProgressEvent] = field(default_factory=list)
    finished: float | None = None  # monotonic time it ended
    signal: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def ended(self) -> bool:
        """Done or failed."""
        return self.status in ("done", "error")

    def poke(self) -> None:
        """Wake whoever waits for news of this job (one loop: no lock needed)."""
        self.signal.set()
        self.signal = asyncio.Event()


class CheckService:
    """Queue, workers and memory of the web service's checks.

    Args:
        store: where jobs and reports are kept.
        runner: runs one job's check (the engine through the service's runtime).
        max_queue, max_running, cooldown_s, check_timeout_s: the bounds.
        on_report: called with each finished report (metrics).
        clock: monotonic seconds (injected in tests).
    """

    def __init__(
        self,
        store: Store,
        runner: Runner,
        *,
        max_queue: int,
        max_running: int,
        cooldown_s: float,
        check_timeout_s: float,
        on_report: Callable[[Report, float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.runner = runner
        self.cooldown_s = cooldown_s
        self.check_timeout_s = check_timeout_s
        self.on_report = on_report
        self.clock = clock
        self.max_running = max_running
        self._queue: asyncio.Queue[Job] = asyncio.Queue(maxsize=max_queue)
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._by_request: dict[JobRequest, Job] = {}
        self._workers: list[asyncio.Task[None]] = []
        self.running = 0
        self.closing = False

    # -- life cycle --------------------------------------------------------

    async def start(self) -> None:
        """Mark what a previous run left unfinished, then start the workers."""
        await self.store.run(lambda s: webchecks.interrupt_unfinished(s, datetime.now(UTC)))
        self._workers = [
            asyncio.create_task(self._work(), name=f"mxtls-web-worker-{n}")
            for n in range(self.max_running)
        ]

    async def aclose(self, grace_s: float) -> None:
        """Take nothing new; let running checks finish for ``grace_s``; fail the rest."""
        self.closing = True
        deadline = self.clock() + grace_s
        while self.running and self.clock() < deadline:
            await asyncio.sleep(0.05)
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        now = datetime.now(UTC)
        for job in list(self._jobs.values()):
            if not job.ended:
                await self._fail(job, webchecks.INTERRUPTED, now)

    # -- asking ------------------------------------------------------------

    async def submit(self, request: JobRequest) -> Job:
        """The job for ``request``: a running or recent one, or a new one in the queue.

        Raises:
            QueueFull: the queue is full.
            ShuttingDown: the service is stopping.
        """
        if self.closing:
            raise ShuttingDown
        same = self._by_request.get(request)
        if same is not None and (not same.ended or self._fresh(same)):
            return same
        if self._queue.full():
            raise QueueFull
        job = Job(id=secrets.token_urlsafe(ID_BYTES), request=request, created_at=_now())
        self._remember(job)
        self._by_request[request] = job
        self._queue.put_nowait(job)  # before any await: the bound holds
        await self.store.run(
            lambda s: webchecks.add_check(
                s, job.id, request.kind, request.target, request.deep, job.created_at
            )
        )
        return job

    def _fresh(self, job: Job) -> bool:
        return (
            job.status == "done"
            and job.finished is not None
            and self.clock() - job.finished < self.cooldown_s
        )

    def job(self, job_id: str) -> Job | None:
        """A job this process knows (queued, running, or recently finished)."""
        return self._jobs.get(job_id)

    async def lookup(self, job_id: str) -> Job | webchecks.StoredCheck | None:
        """The job with this id: in memory, else from the store (a permalink after a restart)."""
        job = self._jobs.get(job_id)
        if job is not None:
            return job
        return await self.store.run(lambda s: webchecks.get_check(s, job_id))

    @property
    def queued(self) -> int:
        """Jobs waiting."""
        return self._queue.qsize()

    async def follow(self, job: Job, *, limit_s: float) -> AsyncIterator[ProgressEvent | None]:
        """Yield the job's progress events as they come; ``None`` when it ended.

        Stops after ``limit_s`` seconds or when the service closes, ended or not.
        """
        seen = 0
        deadline = self.clock() + limit_s
        while True:
            signal = job.signal
            if seen == len(job.events) and not job.ended and not self.closing:
                remaining = deadline - self.clock()
                if remaining <= 0:
                    return
                try:
                    async with asyncio.timeout(min(remaining, KEEPALIVE_S)):
                        await signal.wait()
                except TimeoutError:
                    pass
            fresh = job.events[seen:]
            seen = len(job.events)
            ended = job.ended
            for event in fresh:
                yield event
            if ended:
                yield None
                return
            if self.closing or self.clock() >= deadline:
                return
            if not fresh:
                yield ProgressEvent("host", "", "keepalive")  # lets the stream prove it lives

    # -- working -----------------------------------------------------------

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            self.running += 1
            try:
                await self._run(job)
            finally:
                self.running -= 1
                self._queue.task_done()

    async def _run(self, job: Job) -> None:
        await self._set(job, "running")
        await self.store.run(lambda s: webchecks.mark_running(s, job.id))
        started = self.clock()

        def progress(event: ProgressEvent) -> None:
            if len(job.events) < MAX_EVENTS_PER_JOB:
                job.events.append(event)
                job.poke()

        try:
            async with asyncio.timeout(self.check_timeout_s):
                report = await self.runner(job, progress)
        except TimeoutError:
            await self._fail(job, f"the check took longer than {self.check_timeout_s:g}s", _now())
            return
        except MxtlsError as exc:
            await self._fail(job, str(exc), _now())
            return
        except Exception as exc:  # boundary: one visitor's check must not stop the service
            log.exception("check %s of %s failed", job.id, job.request.target)
            await self._fail(job, f"internal error: {type(exc).__name__}", _now())
            return
        elapsed = self.clock() - started
        await self.store.run(lambda s: webchecks.finish_check(s, job.id, report, _now()))
        job.report = report
        if self.on_report is not None:
            self.on_report(report, elapsed)
        await self._set(job, "done")

    async def _fail(self, job: Job, error: str, at: datetime) -> None:
        job.error = error
        await self.store.run(lambda s: webchecks.fail_check(s, job.id, error, at))
        await self._set(job, "error")

    async def _set(self, job: Job, status: JobStatus) -> None:
        job.status = status
        if job.ended:
            job.finished = self.clock()
        job.poke()

    def _remember(self, job: Job) -> None:
        self._jobs[job.id] = job
        while len(self._jobs) > MAX_JOBS_IN_MEMORY:
            oldest_id = next(iter(self._jobs))
            oldest = self._jobs[oldest_id]
            if not oldest.ended:  # never forget a job still queued or running
                self._jobs.move_to_end(oldest_id)
                break
            del self._jobs[oldest_id]
            if self._by_request.get(oldest.request) is oldest:
                del self._by_request[oldest.request]


def _now() -> datetime:
    return datetime.now(UTC)
