"""``mxtls ping HOST[:PORT]``: per-step latency of repeated sessions, like smtpping.

Each session connects, reads the greeting, asks for capabilities, upgrades
with STARTTLS (or starts with TLS on 465/993/995), asks again inside TLS and
says goodbye; every step is timed.  The sessions run one after another, at
least half a second apart, at most 100 of them, and the run stops when the
server throttles.  The table shows min/median/p95/max per step; ``--json``
prints the ``mxtls-ping/1`` document with every sample.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from mxtls.cli.check import run_guarded
from mxtls.cli.loop import run as run_loop
from mxtls.cli.options import FiniteFloatRange, build_config, parse_port_map, run_options
from mxtls.config import PING_MAX_SESSIONS, PING_MIN_INTERVAL_S
from mxtls.errors import MxtlsError
from mxtls.protocol.starttls import DEFAULT_PORTS, MailProtocol, protocol_for_port

if TYPE_CHECKING:  # loaded when the command runs, not at start-up
    from rich.console import Console

    from mxtls.models.ping import PingReport, PingSample

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

PING_EPILOG = """\b
Examples:
  mxtls ping mx1.example.com                 5 SMTP sessions on port 25
  mxtls ping smtp.example.com:587 --count 20 --interval 2
  mxtls ping imap.example.com:993 --json
  mxtls ping mail.example.com:2525 --protocol smtp

\b
The protocol follows the port (25/465/587/2525 SMTP, 143/993 IMAP,
110/995 POP3) unless --protocol says otherwise. The run options of
`mxtls check` are accepted; --ports, --warn-days and --max-conns do not
apply (one session at a time, to the port named).
Exit status: 0 every session completed, 1 a session failed or the server
throttled (the run stops there), 2 usage error, 3 internal failure.
"""


@click.command(epilog=PING_EPILOG)
@click.argument("target", metavar="HOST[:PORT]")
@click.option(
    "-c",
    "--count",
    type=click.IntRange(min=1, max=PING_MAX_SESSIONS),
    default=5,
    show_default=True,
    help="Number of sessions.",
)
@click.option(
    "-i",
    "--interval",
    type=FiniteFloatRange(min=PING_MIN_INTERVAL_S, max=3600),
    default=1.0,
    show_default=True,
    metavar="SECONDS",
    help="Pause between sessions.",
)
@click.option(
    "--protocol",
    type=click.Choice(["smtp", "imap", "pop3"]),
    help="Protocol to speak (default: by port).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the mxtls-ping/1 JSON document.")
@run_options
@click.option("--no-color", is_flag=True, help="Plain output.")
def ping(
    target: str,
    count: int,
    interval: float,
    protocol: MailProtocol | None,
    as_json: bool,
    **opts: Any,
) -> None:
    """Time each step of COUNT mail sessions to HOST (connect … QUIT)."""
    from rich.console import Console

    from mxtls.engine.ping import ping_host
    from mxtls.engine.runtime import Runtime

    host, port = split_target(target)
    chosen: MailProtocol = protocol or (protocol_for_port(port) if port else "smtp")
    port = port or DEFAULT_PORTS[chosen]
    try:
        config = build_config(
            nameservers=opts["nameservers"],
            ca_file=opts["ca_file"],
            port_map=parse_port_map(opts["port_maps"]),
            timeout=opts["timeout"],
            ehlo_name=opts["ehlo_name"],
            max_conns=opts["max_conns"],
            only4=opts["only4"],
            only6=opts["only6"],
            dnssec_validate=opts["dnssec_validate"],
            trust_anchor=opts["trust_anchor"],
        )
        runtime = Runtime(config)
    except MxtlsError as exc:
        raise click.UsageError(str(exc)) from None
    out = Console(no_color=opts["no_color"] or None, highlight=False)
    err = Console(stderr=True, no_color=opts["no_color"] or None, highlight=False)

    def show(sample: PingSample) -> None:
        (err if as_json else out).print(sample_line(sample))

    report = run_guarded(
        lambda: run_loop(
            ping_host(
                host,
                port,
                runtime,
                protocol=chosen,
                count=count,
                interval=interval,
                on_sample=show,
            )
        )
    )
    if as_json:
        click.echo(report.model_dump_json(by_alias=True, indent=2))
    else:
        render_summary(report, out)
    ok = report.stopped is None and all(s.complete for s in report.samples)
    sys.exit(EXIT_OK if ok else EXIT_FAILED)


def split_target(target: str) -> tuple[str, int | None]:
    """``host[:port]`` or ``[v6]:port`` → ``(host, port or None)``.

    Raises:
        click.UsageError: an unusable port.
    """
    text = target.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, ""
    if not host or (port and (not port.isdigit() or not 0 < int(port) < 65536)):
        raise click.UsageError(f"invalid HOST[:PORT] {target!r}")
    return host, int(port) if port else None


def sample_line(sample: PingSample) -> str:
    """``session 1: 9.8 ms, TLSv1.3`` or where and why it failed (the steps are in the table)."""
    if sample.complete:
        return f"session {sample.seq}: {sample.timings_ms['total']:.1f} ms, {sample.tls_version}"
    spent = sum(sample.timings_ms.values())
    return (
        f"session {sample.seq}: failed at {sample.stopped_at} after {spent:.1f} ms: {sample.error}"
    )


def render_summary(report: PingReport, out: Console) -> None:
    """The per-step table and one summary line (fits 80 columns)."""
    from rich.table import Table

    done = sum(1 for s in report.samples if s.complete)
    tls = "implicit TLS" if report.tls_mode == "implicit" else "STARTTLS"
    out.print(
        f"\n{report.host}[{report.ip}]:{report.port} ({report.protocol.upper()}, {tls}): "
        f"{len(report.samples)} sessions, {done} complete",
        soft_wrap=True,
    )
    if report.stats:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for name in ("step", "n", "min ms", "median ms", "p95 ms", "max ms"):
            table.add_column(name, justify="left" if name == "step" else "right")
        for step, st in report.stats.items():
            table.add_row(
                step,
                str(st.count),
                f"{st.min:.1f}",
                f"{st.median:.1f}",
                f"{st.p95:.1f}",
                f"{st.max:.1f}",
            )
        out.print(table)
    if report.stopped:
        out.print(f"stopped early: {report.stopped}", soft_wrap=True)
