"""``mxtls scan``: many domains, one ``mxtls/1`` document each, streamed.

The module's top level is light (click and the option parsers): the bulk
package, the engine and the models are imported inside the command.

The command reads its options into a :class:`~mxtls.bulk.job.ScanJob` (plain
data: a Dask worker gets the same one), opens the output, then runs the scan
here or on a Dask cluster, showing progress on stderr and a summary at the
end.  Exit status: 0 every domain was checked; 3 a check could not run (its
domain has no document, so ``--resume`` retries it); 2 usage error; 130
interrupted (what was written stays valid and resumable).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mxtls.cli.options import config_from_options, run_options
from mxtls.config import Limits
from mxtls.errors import ConfigError, MxtlsError

if TYPE_CHECKING:
    from mxtls.bulk.job import ScanJob
    from mxtls.bulk.progress import ProgressDisplay
    from mxtls.bulk.summary import ScanSummary

EXIT_OK, EXIT_USAGE, EXIT_INTERNAL = 0, 2, 3

SCAN_FORMATS = ("jsonl", "parquet", "csv")
DEFAULT_CONCURRENCY = 100
DEFAULT_GAP_S = 0.1
DEFAULT_REUSE_S = 3600.0  # an endpoint seen in the last hour serves every domain naming it

EPILOG = """\b
Examples:
  mxtls scan domains.txt -o results.jsonl
  mxtls scan domains.txt -o results.jsonl --resume      after a crash or Ctrl-C
  mxtls scan domains.txt -o out/ --format parquet       part files, resumable
  mxtls scan domains.txt --exclude optout.txt --ehlo-name scanner.example.net
  mxtls scan domains.txt -o out/ --dask local:4         4 worker processes
  mxtls scan domains.txt -o out/ --dask tcp://scheduler:8786
  cat domains.txt | mxtls scan - --summary summary.json > results.jsonl

\b
Each output line is the document `mxtls check DOMAIN --json` prints, on one
line. MX hosts shared by many domains are probed once per scan; at most
--max-conns connections go to one network (--network-prefix) at once.
Exit status: 0 all domains checked, 3 some check could not run, 2 usage
error. See docs/bulk.md.
"""


def _parse_rate(text: str | None) -> float | None:
    """``"50/s"``, ``"3000/min"`` or ``"50"`` → connections per second."""
    if text is None:
        return None
    number, _, unit = text.strip().partition("/")
    factor = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 1 / 60, "min": 1 / 60}.get(unit.strip().lower())
    try:
        value = float(number)
    except ValueError:
        value = float("nan")
    if factor is None or not value > 0 or value == float("inf"):
        raise ConfigError(f"--rate {text!r}: give connections per second, e.g. 50/s or 3000/min")
    return value * factor


def _parse_prefixes(text: str) -> tuple[int, int]:
    """``"24,48"`` → (24, 48)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ConfigError(f"--network-prefix {text!r}: give V4,V6 prefix lengths, e.g. 24,48")
    v4, v6 = int(parts[0]), int(parts[1])
    if not (0 < v4 <= 32 and 0 < v6 <= 128):
        raise ConfigError(f"--network-prefix {text!r}: IPv4 1..32, IPv6 1..128")
    return v4, v6


@click.command(epilog=EPILOG)
@click.argument("source", metavar="[FILE|-]", default="-")
@click.option(
    "--output",
    "-o",
    type=click.Path(),
    metavar="PATH",
    help="A file, or a directory (ending in / or existing) for part files. Default: stdout.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(SCAN_FORMATS),
    default="jsonl",
    show_default=True,
    help="jsonl: one document per line; parquet: flattened columns; csv: one row per finding.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=10_000),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Domains checked at once (per worker with --dask).",
)
@click.option("--resume", is_flag=True, help="Skip the domains already in --output; append.")
@click.option(
    "--dask",
    metavar="ADDRESS|local:N",
    help="Run on Dask: local:N starts N worker processes; tcp://HOST:8786 uses a scheduler.",
)
@click.option(
    "--summary",
    "summary_path",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Also write the end-of-scan summary as JSON to FILE.",
)
@click.option(
    "--exclude",
    "exclude_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    metavar="FILE",
    help="Opt-out list: domains, MX host names, addresses and CIDR ranges never contacted.",
)
@click.option(
    "--rate",
    metavar="N/s",
    help="Most new SMTP connections per second, whole scan (per worker with --dask).",
)
@click.option(
    "--gap",
    type=click.FloatRange(min=0, max=60),
    default=DEFAULT_GAP_S,
    show_default=True,
    metavar="SECONDS",
    help="Least time between two connections to one network.",
)
@click.option(
    "--network-prefix",
    default="24,48",
    show_default=True,
    metavar="V4,V6",
    help="Addresses in one such network share --max-conns (a provider's MX range).",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0, max=5),
    default=1,
    show_default=True,
    help="Probe again, after the pause, an endpoint that throttled the scan (421).",
)
@click.option(
    "--part-size",
    type=click.IntRange(min=1, max=1_000_000),
    default=1000,
    show_default=True,
    help="Domains per part file when --output is a directory.",
)
@click.option(
    "--dns-cache",
    type=click.IntRange(min=100, max=10_000_000),
    default=Limits().dns_cache_entries,
    show_default=True,
    metavar="N",
    help="DNS answers (and DNSSEC states) kept; memory grows with N, not with the input.",
)
@click.option("--no-progress", is_flag=True, help="No progress display on stderr.")
@run_options
def scan(**opts: Any) -> None:
    """Check many domains: one mxtls/1 JSON document per domain, streamed.

    FILE has one domain per line (# starts a comment; IDNs welcome;
    duplicates are dropped; invalid lines are reported and skipped). With
    no FILE or -, domains are read from standard input.
    """
    from mxtls.bulk.progress import ProgressDisplay

    job = _build_job(opts)
    started = time.monotonic()
    display = ProgressDisplay(job.source, enabled=not opts["no_progress"])
    try:
        if job.dask:
            from mxtls.bulk.cluster import run_on_dask
            from mxtls.cli.loop import imports_done

            imports_done()  # Dask's client runs its own loop
            summary, counts = run_on_dask(job, display)
        else:
            summary, counts = _run_local(job, display)
    except MxtlsError as exc:
        display.stop()
        click.echo(f"mxtls: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        display.stop()
        click.echo("mxtls scan: interrupted; rerun with --resume to continue", err=True)
        sys.exit(130)
    display.stop()
    summary.seconds = time.monotonic() - started
    for line in summary.text_lines(counts):
        click.echo(line, err=True)
    if job.summary_path is not None:
        from mxtls.cli.output import write_atomic

        text = json.dumps(summary.to_dict(counts), indent=2) + "\n"
        try:
            write_atomic(job.summary_path, text)
        except OSError as exc:
            click.echo(f"mxtls: error: cannot write --summary: {exc.strerror or exc}", err=True)
            sys.exit(EXIT_USAGE)
    sys.exit(EXIT_INTERNAL if summary.failed or summary.internal_errors else EXIT_OK)


def _build_job(opts: dict[str, Any]) -> ScanJob:
    """Check the options and turn them into a plain-data job (usage errors exit 2)."""
    from mxtls.bulk.job import OutputSpec, ScanJob, prepare_output

    try:
        config = config_from_options(opts)
        v4, v6 = _parse_prefixes(opts["network_prefix"])
        concurrency = opts["concurrency"]
        config = replace(
            config,
            limits=replace(
                config.limits,
                total_connections=max(Limits().total_connections, 2 * concurrency),
                network_prefix_v4=v4,
                network_prefix_v6=v6,
                connection_gap=opts["gap"],
                connection_rate=_parse_rate(opts["rate"]),
                throttle_retries=opts["retries"],
                endpoint_reuse_s=DEFAULT_REUSE_S,
                dns_cache_entries=opts["dns_cache"],
            ),
        )
        if opts["exclude_path"] is not None:
            from mxtls.engine.exclude import parse_exclusions

            path: Path = opts["exclude_path"]
            with path.open(encoding="utf-8", errors="replace") as handle:
                config = replace(config, exclude=parse_exclusions(handle, source=str(path)))
        if opts["dask"]:
            from mxtls.bulk.cluster import parse_address

            parse_address(opts["dask"])
        output = OutputSpec.of(opts["output"], opts["output_format"])
        job = ScanJob(
            config=config,
            source=opts["source"],
            output=output,
            concurrency=concurrency,
            resume=opts["resume"],
            dask=opts["dask"],
            summary_path=opts["summary_path"],
            part_size=opts["part_size"],
        )
        prepare_output(job)
    except MxtlsError as exc:
        raise click.UsageError(str(exc)) from None
    return job


def _run_local(job: ScanJob, display: ProgressDisplay) -> tuple[ScanSummary, Any]:
    """The scan in this process: one event loop, one runtime."""
    from mxtls.bulk.input import DomainReader
    from mxtls.bulk.job import open_input, open_sink
    from mxtls.bulk.scan import ScanProgress, scan_domains
    from mxtls.bulk.summary import ScanSummary
    from mxtls.cli.loop import run as run_loop
    from mxtls.engine.runtime import Runtime

    runtime = Runtime(job.config)
    seen, resumed = job.output.done_domains() if job.resume else (None, 0)
    reader = DomainReader(seen if seen is not None else _new_seen(), job.config.exclude)
    reader.counts.resumed = resumed
    reader.on_invalid = display.invalid
    summary = ScanSummary()
    sink = open_sink(job)
    state = ScanProgress(started=time.monotonic())
    display.start(state)

    def on_report(_domain: Any, report: Any) -> None:
        sink.write(report)
        summary.add(report)
        display.update()

    def on_failure(domain: Any, error: str) -> None:
        summary.failed += 1
        display.failure(domain.name, error)

    try:
        with open_input(job.source) as handle:
            run_loop(
                scan_domains(
                    reader.read(handle),
                    runtime,
                    concurrency=job.concurrency,
                    on_report=on_report,
                    on_failure=on_failure,
                    progress=state,
                    read_in_thread=job.source == "-",
                )
            )
    finally:
        sink.close()
    if runtime.reuse is not None:
        summary.probes, summary.reused = runtime.reuse.probes, runtime.reuse.reused
    return summary, reader.counts


def _new_seen() -> Any:
    from mxtls.bulk.seen import DigestSet

    return DigestSet()
