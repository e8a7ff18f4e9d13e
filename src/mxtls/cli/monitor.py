"""`mxtls monitor`, `mxtls history` and `mxtls tlsrpt`: the monitor's command line.

Thin: parse options, open the store, hand over to :mod:`mxtls.monitor`,
print.  Exit status for ``monitor --once`` follows the check contract across
all domains (0, 1 at a finding at or above a domain's ``fail_on``, 3 when a
check failed); 2 is a usage error or bad input everywhere.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click

from mxtls.cli.loop import run as run_loop
from mxtls.errors import MxtlsError

EXIT_USAGE = 2
T = TypeVar("T")

MONITOR_EPILOG = """\b
Example configuration (mxtls.toml):
  [defaults]
  interval = "6h"
  warn_days = 21
  [[domain]]
  name = "example.com"
  [[webhook]]
  url = "https://hooks.example.net/mxtls"
  secret = "env:MXTLS_WEBHOOK_SECRET"
  [monitor]
  retention = "90d"

\b
Examples:
  mxtls monitor --config mxtls.toml --metrics-port 9325
  mxtls monitor --config mxtls.toml --once        (from cron; exit status as `check`)
  mxtls monitor --config mxtls.toml --db postgresql+psycopg://mxtls@/mxtls

\b
Exit status with --once: 0 no finding at or above a domain's fail_on,
1 at least one, 2 bad configuration, 3 a check could not run.
"""

DB_OPTION = click.option(
    "--db",
    "db_url",
    envvar="MXTLS_DB",
    metavar="URL",
    help="History database: sqlite:///PATH or postgresql+psycopg://... "
    "(default: the user's data dir; env MXTLS_DB).",
)


def _guard(fn: Callable[[], T]) -> T:
    """Caller mistakes exit 2 with one line."""
    try:
        return fn()
    except MxtlsError as exc:
        click.echo(f"mxtls: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


@click.command(epilog=MONITOR_EPILOG)
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML file: [defaults], [[domain]], [[webhook]], [[email]], [monitor].",
)
@click.option("--once", is_flag=True, help="Check every domain once, then exit (for cron).")
@DB_OPTION
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    help="Serve Prometheus metrics on this port (0: any free port; printed).",
)
@click.option(
    "--metrics-host", default=None, metavar="ADDR", help="Address for metrics (default 127.0.0.1)."
)
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
def monitor(
    config_path: Path,
    once: bool,
    db_url: str | None,
    metrics_port: int | None,
    metrics_host: str | None,
    quiet: bool,
) -> None:
    """Check domains on a schedule; store history, alert on changes, export metrics.

    Each domain is checked every `interval` through one shared runtime; every
    report is stored, compared with the previous one, and the changes
    (finding.new, finding.resolved, cert.changed, verdict.changed,
    check.failed) go to the configured webhooks and e-mail. SIGTERM stops
    cleanly: running checks finish (or are abandoned after a grace period)
    and nothing is half-written.
    """
    from mxtls.monitor.config import load_config

    _setup_logging(quiet)
    config = _guard(lambda: load_config(config_path))
    settings = config.settings
    changes: dict[str, Any] = {}
    if metrics_port is not None:
        changes["metrics_port"] = metrics_port
    if metrics_host is not None:
        changes["metrics_host"] = metrics_host
    if db_url is not None:
        changes["db"] = db_url
    config = replace(config, settings=replace(settings, **changes))
    status = run_loop(_monitor(config, once))
    sys.exit(status)


async def _monitor(config: Any, once: bool) -> int:
    from prometheus_client import start_http_server

    from mxtls.monitor.service import Monitor
    from mxtls.store.db import open_store

    log = logging.getLogger("mxtls.monitor")
    store = _guard(lambda: open_store(config.settings.db))
    try:
        mon = Monitor(config, store)  # builds the one runtime: bad CA file, anchor, limits
    except MxtlsError as exc:
        store.close()
        click.echo(f"mxtls: error: {exc}", err=True)
        return EXIT_USAGE
    try:
        await mon.restore_metrics()
        server = None
        if config.settings.metrics_port is not None:
            server, _ = start_http_server(
                config.settings.metrics_port,
                addr=config.settings.metrics_host,
                registry=mon.metrics.registry(),
            )
            host, port = server.server_address[:2]
            log.info("metrics on http://%s:%d/metrics", _bracket(str(host)), port)
        try:
            return await _run(mon, config, once)
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
    finally:
        await mon.aclose()
        await asyncio.to_thread(store.close)


async def _run(mon: Any, config: Any, once: bool) -> int:
    from mxtls.monitor.service import exit_status

    log = logging.getLogger("mxtls.monitor")
    log.info(
        "monitoring %d domain(s), history in %s, %d webhook(s), %d e-mail channel(s)",
        len(config.domains),
        mon.store.url,
        len(config.webhooks),
        len(config.emails),
    )
    if once:
        outcomes = await mon.run_round()
        for o in outcomes:
            click.echo(_outcome_line(o))
        return int(exit_status(outcomes))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await mon.run_forever(stop)
    log.info("stopped after %d round(s)", mon.rounds)
    return 0


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _outcome_line(o: Any) -> str:
    if o.report is None:
        return f"{o.domain}: check failed: {o.error}"
    s = o.report.summary
    kinds: dict[str, int] = {}
    for e in o.events:
        kinds[e.type] = kinds.get(e.type, 0) + 1
    changes = ", ".join(f"{k} x{n}" for k, n in kinds.items()) or "no change"
    held = f", {len(o.held)} held" if o.held else ""
    return f"{o.domain}: {s.errors} error(s), {s.warnings} warning(s); {changes}{held}"


def _setup_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s mxtls: %(message)s", "%Y-%m-%dT%H:%M:%S"))
    logger = logging.getLogger("mxtls")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False


# --------------------------------------------------------------------------- history


@click.command()
@click.argument("domain")
@DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--diff", "show_diff", is_flag=True, help="Show the last change (two reports).")
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="Rows to show."
)
def history(domain: str, db_url: str | None, as_json: bool, show_diff: bool, limit: int) -> None:
    """Show the stored reports and change events of DOMAIN."""
    from mxtls.store.db import open_store

    name = domain.strip().rstrip(".").lower()
    store = _guard(lambda: open_store(db_url))
    try:
        if show_diff:
            data = store.call(lambda s: _last_change(s, name, limit))
        else:
            data = store.call(lambda s: _history(s, name, limit))
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(data, indent=2))
    elif show_diff:
        _print_diff(data)
    else:
        _print_history(data)


def _history(session: Any, domain: str, limit: int) -> dict[str, Any]:
    from mxtls.store import history as h

    reports = h.list_reports(session, domain, limit)
    events = h.list_events(session, domain, limit)
    return {
        "domain": domain,
        "reports": [
            {
                "id": r.id,
                "checked_at": h.as_utc(r.checked_at).isoformat(),
                "status": r.status,
                "errors": r.errors,
                "warnings": r.warnings,
                "infos": r.infos,
                "duration_ms": r.duration_ms,
                "error": r.error,
            }
            for r in reports
        ],
        "events": [
            {
                "id": e.id,
                "report_id": e.report_id,
                "created_at": e.created_at.isoformat(),
                "event": e.event.model_dump(mode="json"),
            }
            for e in events
        ],
    }


def _last_change(session: Any, domain: str, limit: int) -> dict[str, Any]:
    """The newest pair of consecutive reports that differ, and the events between them."""
    from mxtls.monitor.diff import diff_reports
    from mxtls.store import history as h

    rows = [r for r in h.list_reports(session, domain, limit + 1) if r.status == "ok"]
    newer = None
    for row in rows:
        if row.document is None:
            continue
        report = h.decompress_report(row.document)
        if newer is not None:
            changes = diff_reports(report, newer[1])
            if changes:
                return {
                    "domain": domain,
                    "from": {"id": row.id, "checked_at": report.checked_at.isoformat()},
                    "to": {"id": newer[0], "checked_at": newer[1].checked_at.isoformat()},
                    "changes": [c.model_dump(mode="json") for c in changes],
                }
        newer = (row.id, report)
    return {"domain": domain, "from": None, "to": None, "changes": []}


def _print_history(data: dict[str, Any]) -> None:
    if not data["reports"]:
        click.echo(f"{data['domain']}: nothing stored yet")
        return
    click.echo(f"{data['domain']}: newest {len(data['reports'])} report(s)")
    for r in data["reports"]:
        if r["status"] == "ok":
            what = f"{r['errors']} error(s) {r['warnings']} warning(s) {r['infos']} info"
        else:
            what = f"check failed: {r['error']}"
        click.echo(f"  #{r['id']:<6} {r['checked_at'][:19]}  {what}"[:80])
    if data["events"]:
        from mxtls.monitor.email import describe

        click.echo("events:")
        for e in data["events"]:
            line = f"  {e['created_at'][:19]}  {e['event']['type']:<17} {describe(e['event'])}"
            click.echo(line[:80])


def _print_diff(data: dict[str, Any]) -> None:
    from mxtls.monitor.email import describe

    if not data["changes"]:
        click.echo(f"{data['domain']}: no change between the stored reports")
        return
    click.echo(
        f"{data['domain']}: #{data['from']['id']} ({data['from']['checked_at'][:19]}) -> "
        f"#{data['to']['id']} ({data['to']['checked_at'][:19]})"
    )
    for c in data["changes"]:
        click.echo(f"  {c['type']:<17} {describe(c)}"[:80])


# --------------------------------------------------------------------------- tlsrpt


@click.group()
def tlsrpt() -> None:
    """Received TLS-RPT reports (RFC 8460): import and summarise."""


@tlsrpt.command(name="import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@DB_OPTION
def tlsrpt_import(files: tuple[Path, ...], db_url: str | None) -> None:
    """Store the reports in FILES (.json, .json.gz, or .eml with reports attached).

    Each failure a sender reports is matched to the newest stored mxtls report
    of the policy domain: the same problem seen by both is one incident.
    Exit status 2 when a file is not a usable report (the others are stored).
    """
    from mxtls.monitor.tlsrpt import MAX_INPUT_BYTES, TlsRptError
    from mxtls.store import tlsrpt as tlsrpt_store
    from mxtls.store.db import open_store

    store = _guard(lambda: open_store(db_url))
    bad = 0
    try:
        for path in files:
            try:
                if path.stat().st_size > MAX_INPUT_BYTES:
                    raise TlsRptError(f"larger than {MAX_INPUT_BYTES} bytes")
                data = path.read_bytes()
                done = store.call(
                    functools.partial(tlsrpt_store.ingest_bytes, data=data, source=str(path))
                )
            except (OSError, TlsRptError) as exc:
                bad += 1
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                click.echo(f"{path}: error: {reason}", err=True)
                continue
            for one in done:
                state = "stored" if one.stored else "already stored"
                click.echo(
                    f"{path}: {one.organization} {one.report_id}: {state}, "
                    f"{one.failures} failure kind(s), {one.correlated} also seen by mxtls"
                )
    finally:
        store.close()
    if bad:
        sys.exit(EXIT_USAGE)


@tlsrpt.command(name="summary")
@click.argument("domain")
@DB_OPTION
@click.option("--days", type=click.IntRange(1, 3650), help="Only reports of the last N days.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def tlsrpt_summary(domain: str, db_url: str | None, days: int | None, as_json: bool) -> None:
    """Sum what senders reported about DOMAIN, failures next to mxtls's findings."""
    from datetime import UTC, datetime, timedelta

    from mxtls.store import tlsrpt as tlsrpt_store
    from mxtls.store.db import open_store

    since = datetime.now(UTC) - timedelta(days=days) if days else None
    store = _guard(lambda: open_store(db_url))
    try:
        summary = store.call(lambda s: tlsrpt_store.summarise(s, domain, since))
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(_summary_json(summary), indent=2))
        return
    if not summary.policies:
        click.echo(f"{summary.domain}: no TLS-RPT reports stored")
        return
    click.echo(
        f"{summary.domain}: reports from {', '.join(summary.organizations)}"[:80]
        + f"\n  covering {summary.first:%Y-%m-%d} .. {summary.last:%Y-%m-%d}"
    )
    for p in summary.policies:
        total = p.successful + p.failed
        rate = f"{100 * p.failed / total:.1f}%" if total else "n/a"
        click.echo(
            f"  {p.policy_type}: {p.reports} report(s), {p.successful} ok, "
            f"{p.failed} failed sessions ({rate})"
        )
        for r in p.results:
            seen = f"  = mxtls {r.correlated_code}" if r.correlated_code else ""
            click.echo(f"    {r.sessions:>7} {r.result_type} at {r.receiving_mx or '?'}{seen}"[:80])


def _summary_json(summary: Any) -> dict[str, Any]:
    return {
        "domain": summary.domain,
        "first": summary.first.isoformat() if summary.first else None,
        "last": summary.last.isoformat() if summary.last else None,
        "organizations": summary.organizations,
        "policies": [
            {
                "policy_type": p.policy_type,
                "reports": p.reports,
                "successful_sessions": p.successful,
                "failed_sessions": p.failed,
                "results": [
                    {
                        "result_type": r.result_type,
                        "receiving_mx": r.receiving_mx,
                        "sessions": r.sessions,
                        "correlated_code": r.correlated_code,
                    }
                    for r in p.results
                ],
            }
            for p in summary.policies
        ],
    }
