"""Command line: parse, build a CheckConfig, run the engine, render, exit.

Exit status (docs/findings.md): 0 no finding at or above ``--fail-on``;
1 at least one; 2 usage error or bad input; 3 the check itself failed.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

import click
from rich.console import Console

from mxtls._version import __version__
from mxtls.cli.options import build_config, parse_port_map, parse_ports
from mxtls.config import DEFAULT_PORTS, CheckConfig
from mxtls.engine.observe import ProgressEvent
from mxtls.engine.run import check_domain
from mxtls.errors import MxtlsError
from mxtls.models.findings import Severity
from mxtls.models.report import Report
from mxtls.render.json import render_json, render_schema
from mxtls.render.text import render_text

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

CHECK_EPILOG = """\b
Examples:
  mxtls check example.com
  mxtls check example.com --json --fail-on warning > report.json
  mxtls check example.com --ports 25 --nameserver 127.0.0.1:5353
  mxtls check good.lab --nameserver 127.0.0.1:53000 --port-map 25:10025 --ca-file lab-root.pem

\b
Exit status: 0 no finding at or above --fail-on (default: error),
1 at least one such finding, 2 usage error or bad input, 3 internal failure.
Finding codes are listed in docs/findings.md.
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="mxtls")
def cli() -> None:
    """Is mail to a domain protected in transit, and will strict senders deliver?

    mxtls finds a domain's MX hosts, connects to every address on ports
    25/465/587, speaks SMTP, negotiates STARTTLS or implicit TLS, and judges
    protocols, ciphers and the certificate chain. Start with `mxtls demo`
    (a built-in local mail world), then `mxtls check YOUR-DOMAIN`.
    """


@cli.command(epilog=CHECK_EPILOG)
@click.argument("domain")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report (schema mxtls/1).")
@click.option(
    "--nameserver",
    "nameservers",
    multiple=True,
    metavar="HOST[:PORT]",
    help="Send every DNS lookup of the run to this resolver (repeatable).",
)
@click.option(
    "--ca-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PEM bundle that replaces the default trust store (Mozilla roots).",
)
@click.option(
    "--ports",
    default=",".join(map(str, DEFAULT_PORTS)),
    show_default=True,
    metavar="LIST",
    help="Comma-separated ports; 465 is implicit TLS, others STARTTLS.",
)
@click.option(
    "--fail-on",
    type=click.Choice([s.value for s in Severity]),
    default="error",
    show_default=True,
    help="Exit 1 when a finding of this severity or worse exists.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=600),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="Bound for each network step (connect, banner, command, handshake, DNS).",
)
@click.option("--ehlo-name", metavar="NAME", help="Name sent in EHLO/HELO (default: this FQDN).")
@click.option(
    "--warn-days",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="Warn when a certificate expires within this many days.",
)
@click.option("--transcript", is_flag=True, help="Show the SMTP dialogue (C:/S: lines).")
@click.option(
    "--max-conns",
    type=click.IntRange(min=1, max=32),
    default=4,
    show_default=True,
    help="Most connections open to one address at once.",
)
@click.option(
    "--port-map",
    "port_maps",
    multiple=True,
    metavar="PORT:LOCAL",
    help="Testing: connect to LOCAL when PORT is meant (e.g. 25:10025 for the lab).",
)
@click.option("-4", "only4", is_flag=True, help="IPv4 addresses only.")
@click.option("-6", "only6", is_flag=True, help="IPv6 addresses only.")
@click.option("--no-color", is_flag=True, help="Plain output (NO_COLOR is honoured too).")
def check(
    domain: str,
    as_json: bool,
    nameservers: tuple[str, ...],
    ca_file: Path | None,
    ports: str,
    fail_on: str,
    timeout: float,
    ehlo_name: str | None,
    warn_days: int,
    transcript: bool,
    max_conns: int,
    port_maps: tuple[str, ...],
    only4: bool,
    only6: bool,
    no_color: bool,
) -> None:
    """Check the mail transport security of DOMAIN."""
    try:
        config = build_config(
            nameservers=nameservers,
            ca_file=ca_file,
            ports=parse_ports(ports),
            port_map=parse_port_map(port_maps),
            timeout=timeout,
            ehlo_name=ehlo_name,
            warn_days=warn_days,
            max_conns=max_conns,
            only4=only4,
            only6=only6,
        )
    except MxtlsError as exc:
        raise click.UsageError(str(exc)) from None
    stderr = Console(stderr=True, no_color=no_color or None)
    report = _run_guarded(lambda: _check_with_progress(domain, config, stderr), stderr)
    if as_json:
        click.echo(render_json(report))
    else:
        out = Console(no_color=no_color or None, highlight=False)
        render_text(report, out, transcript=transcript)
    sys.exit(exit_status(report, Severity(fail_on)))


def exit_status(report: Report, fail_on: Severity) -> int:
    """Map a report to the contract's exit status."""
    if report.internal_errors:
        return EXIT_INTERNAL
    return EXIT_FINDINGS if report.fails(fail_on) else EXIT_OK


def _check_with_progress(domain: str, config: CheckConfig, stderr: Console) -> Report:
    if not stderr.is_terminal:
        return asyncio.run(check_domain(domain, config))
    done = 0
    with stderr.status(f"checking {domain} …") as status:

        def progress(event: ProgressEvent) -> None:
            nonlocal done
            if event.kind == "endpoint_done":
                done += 1
            status.update(f"checking {domain}: {done} endpoints done, last {event.target}")

        return asyncio.run(check_domain(domain, config, progress=progress))


def _run_guarded(fn: Callable[[], Report], stderr: Console) -> Report:
    """Run ``fn``; caller mistakes exit 2, anything unexpected exits 3 (one line)."""
    try:
        result = fn()
    except MxtlsError as exc:
        click.echo(f"mxtls: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        click.echo("mxtls: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # boundary: a bug must not become a traceback wall
        click.echo(f"mxtls: internal error: {type(exc).__name__}: {exc}", err=True)
        click.echo(traceback.format_exc(limit=6), err=True)
        sys.exit(EXIT_INTERNAL)
    return result


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the `check --json` report."""
    click.echo(render_schema(), nl=False)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    from mxtls.cli.demo import demo, lab
    from mxtls.cli.generate import generate

    cli.add_command(demo)
    cli.add_command(lab)
    cli.add_command(generate)
    cli.main(args=list(argv) if argv is not None else None, prog_name="mxtls")
