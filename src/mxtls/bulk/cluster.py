"""The scan on Dask distributed: shards by MX address, one loop and one runtime per shard.

``--dask local:N`` starts a ``LocalCluster`` of N worker processes (one
thread each); ``--dask tcp://HOST:8786`` connects to a running scheduler
(``dask-scheduler`` / ``dask-worker``, or a cluster from dask-jobqueue on
Slurm or dask-kubernetes).  The client:

1. reads the input (skipping what ``--resume`` finds done) and plans it:
   MX and address lookups, no connection (:mod:`mxtls.bulk.shard`);
2. packs the domains into shards that never share an MX address (network),
   so each worker's own limiter is the whole politeness there is;
3. submits one task per shard, at most two per worker at a time: a task is
   :func:`scan_shard`, a plain function of the job (frozen settings) and the
   shard (a list of names) that builds one runtime, runs one event loop over
   its domains, and returns plain data;
4. with ``--output DIR/`` each task writes its own ``part-NNNNN`` file
   atomically and returns only its counts; otherwise it returns its
   documents (JSON lines), and the client writes them as shards finish.

Workers need mxtls installed and the job's files (``--ca-file``,
``--trust-anchor``, the output directory) at the same paths.  Nothing holding
a socket, a file or an event loop crosses the wire.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from mxtls.bulk.input import Domain, DomainReader, InputCounts
from mxtls.bulk.job import SUFFIXES, ScanJob, open_input, open_sink
from mxtls.bulk.scan import ScanProgress, scan_domains
from mxtls.bulk.seen import DigestSet
from mxtls.bulk.shard import pack_shards, plan_domains
from mxtls.bulk.sink import document_line
from mxtls.bulk.summary import ScanSummary
from mxtls.bulk.writers import PartWriter, next_part_number
from mxtls.engine.runtime import Runtime
from mxtls.errors import ConfigError
from mxtls.models.report import Report

if TYPE_CHECKING:
    from mxtls.bulk.progress import ProgressDisplay

MAX_LOCAL_WORKERS = 256
TASKS_PER_WORKER = 2  # shards in flight per worker: one running, one queued


@dataclass
class ShardResult:
    """What a shard task sends back (plain data)."""

    summary: ScanSummary
    lines: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    part: str | None = None


def scan_shard(job: ScanJob, names: list[tuple[str, str]], part: int | None) -> ShardResult:
    """Scan one shard on a worker: one event loop, one runtime (a Dask task).

    Args:
        job: the scan's settings.
        names: ``(A-label, input text)`` of each domain.
        part: the part number to write (output is a directory), or None to
            return the documents.
    """
    return asyncio.run(_scan_shard(job, names, part))


async def _scan_shard(job: ScanJob, names: list[tuple[str, str]], part: int | None) -> ShardResult:
    runtime = Runtime(job.config)
    result = ShardResult(summary=ScanSummary())
    writer = None
    if part is not None and job.output.path is not None:
        writer = PartWriter(job.output.path, part, SUFFIXES[job.output.fmt])

    def on_report(_domain: Domain, report: Report) -> None:
        result.summary.add(report)
        if writer is not None:
            writer.write(report)
        else:
            result.lines.append(document_line(report))

    def on_failure(domain: Domain, error: str) -> None:
        result.summary.failed += 1
        result.failures.append((domain.name, error))

    domains = iter([Domain(name=n, text=t, line=0) for n, t in names])
    try:
        await scan_domains(
            domains,
            runtime,
            concurrency=job.concurrency,
            on_report=on_report,
            on_failure=on_failure,
            read_in_thread=False,
        )
    except BaseException:
        if writer is not None:
            writer.abandon()
        raise
    if writer is not None:
        result.part = str(writer.close()) if writer.count else None
        if not writer.count:
            writer.abandon()
    if runtime.reuse is not None:
        result.summary.probes = runtime.reuse.probes
        result.summary.reused = runtime.reuse.reused
    return result


def parse_address(text: str) -> tuple[str, int | str]:
    """``local:N`` → ("local", N); a scheduler address → ("remote", address).

    Raises:
        ConfigError: neither form.
    """
    if text.startswith("local:"):
        count = text.removeprefix("local:")
        if not count.isdigit() or not 0 < int(count) <= MAX_LOCAL_WORKERS:
            raise ConfigError(f"--dask {text!r}: local:N needs 1..{MAX_LOCAL_WORKERS} workers")
        return "local", int(count)
    if "://" not in text:
        raise ConfigError(f"--dask {text!r}: give local:N or a scheduler like tcp://HOST:8786")
    return "remote", text


def run_on_dask(job: ScanJob, display: ProgressDisplay) -> tuple[ScanSummary, InputCounts]:
    """Run ``job`` on Dask (see the module docstring); returns the merged summary.

    Raises:
        ConfigError: a bad ``--dask`` value, or no scheduler at that address.
    """
    assert job.dask is not None
    kind, where = parse_address(job.dask)
    seen, resumed = job.output.done_domains() if job.resume else (DigestSet(), 0)
    reader = DomainReader(seen, job.config.exclude)
    reader.counts.resumed = resumed
    reader.on_invalid = display.invalid
    with open_input(job.source) as handle:
        domains = list(reader.read(handle))
    planner = Runtime(job.config)
    planned = asyncio.run(plan_domains(domains, planner, concurrency=job.concurrency))
    shards = pack_shards(planned, job.part_size)
    del planned, domains

    # Imported here (the CLI never loads Dask otherwise), and untyped: its
    # constructors carry no annotations.
    distributed: Any = importlib.import_module("dask.distributed")
    Client, LocalCluster, as_completed = (
        distributed.Client,
        distributed.LocalCluster,
        distributed.as_completed,
    )
    cluster: Any = None
    try:
        if kind == "local":
            cluster = LocalCluster(
                n_workers=int(where),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                scheduler_port=0,
            )
            client = Client(cluster)
        else:
            try:
                client = Client(str(where), timeout="15s")
            except OSError as exc:
                raise ConfigError(f"--dask {where}: no scheduler reachable: {exc}") from None
        with client:
            summary = _drive(client, as_completed, job, shards, display)
    finally:
        if cluster is not None:
            cluster.close()
    return summary, reader.counts


def _drive(
    client: Any,
    as_completed: Any,
    job: ScanJob,
    shards: list[list[Domain]],
    display: ProgressDisplay,
) -> ScanSummary:
    """Submit the shards a few at a time and gather what comes back."""
    summary = ScanSummary()
    workers = max(1, len(client.scheduler_info().get("workers", {})))
    window = workers * TASKS_PER_WORKER
    directory = job.output.directory and job.output.path is not None
    first_part = next_part_number(job.output.path) if directory and job.output.path else 0
    shipped = replace(job, source="-", summary_path=None)
    sink = None if directory else open_sink(job)
    state = ScanProgress(started=time.monotonic())
    display.start(state)
    pending = iter(enumerate(shards))
    futures = as_completed()

    def submit_next() -> bool:
        item = next(pending, None)
        if item is None:
            return False
        index, shard = item
        names = [(d.name, d.text) for d in shard]
        part = first_part + index if directory else None
        futures.add(client.submit(scan_shard, shipped, names, part, pure=False))
        return True

    for _ in range(window):
        if not submit_next():
            break
    try:
        for future in futures:
            result: ShardResult = future.result()
            summary.merge(result.summary)
            if sink is not None:
                for line in result.lines:
                    sink.write_document(line)
            for name, error in result.failures:
                display.failure(name, error)
            state.done += result.summary.domains
            state.failed += result.summary.failed
            state.with_errors += result.summary.worst.get("error", 0)
            display.update()
            future.release()
            submit_next()
    finally:
        if sink is not None:
            sink.close()
    return summary
