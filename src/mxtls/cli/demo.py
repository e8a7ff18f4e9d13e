"""``mxtls demo`` and ``mxtls lab``: the built-in local mail world.

``demo`` starts the lab on loopback, checks a handful of its domains (one
perfect, several broken), prints the reports and stops the lab.  ``lab``
keeps the world running so a user can point ``mxtls check`` (or any other
tool) at it and reproduce a problem.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mxtls.cli.loop import run as run_loop
from mxtls.cli.options import FiniteFloatRange
from mxtls.config import CheckConfig, Timeouts
from mxtls.models.severity import Severity

if TYPE_CHECKING:  # loaded by the commands themselves, not at start-up
    from rich.console import Console
    from rich.text import Text

    from mxtls.lab.world import Lab
    from mxtls.models.report import Report

DEMO_TIMEOUT_S = 3.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)  # stop `mxtls lab` cleanly, as Ctrl-C does
DEMO_DOMAINS_AT_ONCE = 8  # `--all` checks 60+ domains; a few at a time keeps timings honest


def demo_domains() -> tuple[str, ...]:
    """The rows marked ``demo`` in the scenario table: the perfect domains, the
    provider-like shapes of real domains, and the most common breakages."""
    from mxtls.lab.scenarios import SCENARIOS

    return tuple(sc.domain for sc in SCENARIOS if sc.demo)


def lab_config(lab: Lab, *, timeout: float = DEMO_TIMEOUT_S) -> CheckConfig:
    """A CheckConfig pointed at ``lab``: its resolver, its CA, its port map."""
    return CheckConfig(
        nameservers=(lab.nameserver,),
        ca_file=lab.ca_file,
        port_map=tuple(sorted(lab.port_map.items())),
        timeouts=Timeouts.uniform(timeout),
        ehlo_name="demo.mxtls.invalid",
        # The lab's DNS server is authoritative and never sets AD: validate
        # in-process from the lab's own trust anchor (its signed `lab.` zone).
        dnssec_validate=True,
        trust_anchor=lab.trust_anchor,
    )


def with_account(lab: Lab, domain: str, config: CheckConfig) -> CheckConfig:
    """``config`` for ``domain``: with the row's lab account, SMTP AUTH is tried inside
    TLS and, with throw-away credentials, before it (``--auth-user``,
    ``--auth-check-plaintext``), as a user would ask."""
    account = lab.account(domain)
    if account is None:
        return replace(config)
    return replace(config, auth=account, auth_check_plaintext=True)


def lab_flags(lab: Lab) -> str:
    """The ``mxtls check`` flags that reach ``lab`` from another terminal."""
    ip, port = lab.nameserver
    maps = " ".join(f"--port-map {a}:{b}" for a, b in sorted(lab.port_map.items()))
    return (
        f"--nameserver {ip}:{port} {maps} --ca-file {lab.ca_file} "
        f"--dnssec-validate --trust-anchor {lab.trust_anchor}"
    )


@click.command()
@click.argument("domains", nargs=-1)
@click.option("--all", "all_domains", is_flag=True, help="Check every lab domain.")
@click.option("--list", "list_only", is_flag=True, help="List the lab domains and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON report per line (JSONL).")
@click.option("--transcript", is_flag=True, help="Show the SMTP dialogues.")
@click.option("--no-color", is_flag=True, help="Plain output.")
def demo(
    domains: tuple[str, ...],
    all_domains: bool,
    list_only: bool,
    as_json: bool,
    transcript: bool,
    no_color: bool,
) -> None:
    """Start the built-in lab and check some of its domains.

    The lab is a real local mail world on loopback: a DNS server, SMTP
    servers with STARTTLS and implicit TLS, IMAP and POP3 servers, a
    submission server with SMTP AUTH for a lab account, and a throwaway CA
    issuing good and deliberately broken certificates.  Nothing leaves this
    machine.  Where a lab domain has an account (mailbox.lab), the demo logs
    in with it inside TLS and checks that AUTH is refused before TLS; the
    password is never shown.

    \b
    Examples:
      mxtls demo                    perfect domains, provider shapes, common breakages
      mxtls demo expired.lab        one domain
      mxtls demo --all              every scenario
      mxtls demo --list             what each lab domain demonstrates
    """
    from rich.console import Console

    _load_demo_modules()
    console = Console(no_color=no_color or None, highlight=False)
    run_loop(_demo(domains, all_domains, list_only, as_json, transcript, console))


def _load_demo_modules() -> None:
    """Import what the demo needs before its event loop starts (not while it runs)."""
    import mxtls.engine.run
    import mxtls.lab.world
    import mxtls.render.json
    import mxtls.render.text  # noqa: F401


async def _demo(
    domains: tuple[str, ...],
    all_domains: bool,
    list_only: bool,
    as_json: bool,
    transcript: bool,
    console: Console,
) -> None:
    from rich.text import Text

    from mxtls.engine.run import check_domain
    from mxtls.lab.world import Lab
    from mxtls.render.json import render_json
    from mxtls.render.text import render_text

    if list_only:  # the table alone: no need to start the lab
        for line in _list_lines(console):
            console.print(line, soft_wrap=True)
        return
    async with Lab() as lab:
        unknown = [d for d in domains if d not in lab.domains]
        if unknown:
            raise click.UsageError(
                f"not a lab domain: {', '.join(unknown)} (see `mxtls demo --list`)"
            )
        chosen = list(lab.domains if all_domains else (domains or demo_domains()))
        config = lab_config(lab)
        if not as_json:
            console.print(
                Text(
                    f"mxtls demo: lab running on loopback (DNS {lab.nameserver[0]}:"
                    f"{lab.nameserver[1]}); checking {len(chosen)} domains …",
                    style="bold",
                )
            )
        gate = asyncio.Semaphore(DEMO_DOMAINS_AT_ONCE)

        async def one(domain: str) -> Report:
            async with gate:
                return await check_domain(domain, with_account(lab, domain, config))

        reports = await asyncio.gather(*(one(d) for d in chosen))

        if as_json:
            for report in reports:
                click.echo(render_json(report, indent=None))
            return
        for name, report in zip(chosen, reports, strict=True):
            sc = lab.scenario(name)
            _heading(console, f"{name}: {sc.description}")
            render_text(report, console, transcript=transcript)
        _heading(console, "summary")
        for line in _summary_lines(console, chosen, reports):
            console.print(line, soft_wrap=True)
        console.print(
            "\nTry it yourself while a lab runs (`mxtls lab` in another terminal):\n"
            "  mxtls check good.lab <flags printed by `mxtls lab`>\n"
            "Check a real domain: mxtls check example.com"
        )


def _heading(console: Console, title: str) -> None:
    """A section title between reports: a rule line, then the wrapped title."""
    from rich.text import Text

    from mxtls.render.layout import wrap

    console.print(Text("─" * console.width, style="dim"), soft_wrap=True)
    for line in wrap(console, Text(title, style="bold"), console.width):
        console.print(line, soft_wrap=True)


def _list_lines(console: Console) -> list[Text]:
    """Each lab domain, what it demonstrates, and the codes a checker must report."""
    from rich.text import Text

    from mxtls.lab.scenarios import SCENARIOS
    from mxtls.render.layout import hanging, wrap

    lines: list[Text] = []
    for sc in SCENARIOS:
        head = Text(sc.domain, style="bold")
        lines += hanging(console, head, sc.description, console.width, column=24)
        codes = ", ".join(sorted(sc.expected)) or "no findings"
        lines += wrap(console, Text(f"expects: {codes}", style="dim"), console.width, indent=4)
        if sc.account is not None:
            login = f"logs in: SMTP AUTH as {sc.account} (password picked when the lab starts)"
            lines += wrap(console, Text(login, style="dim"), console.width, indent=4)
    return lines


def _summary_lines(console: Console, chosen: list[str], reports: list[Report]) -> list[Text]:
    from rich.text import Text

    from mxtls.render.layout import hanging

    lines: list[Text] = []
    for name, report in zip(chosen, reports, strict=True):
        s = report.summary
        codes = sorted({f.code for f in report.findings if f.severity is not Severity.INFO})
        style = "red" if s.errors else ("yellow" if s.warnings else "green")
        counts = f"{s.errors} error{'s' * (s.errors != 1)}, "
        counts += f"{s.warnings} warning{'s' * (s.warnings != 1)}, {s.infos} info"
        body = Text(counts)
        if codes:
            body.append(": " + ", ".join(codes), style="dim")
        lines += hanging(console, Text(name, style=style), body, console.width, column=24)
    return lines


@click.command()
@click.option(
    "--duration",
    type=FiniteFloatRange(min=1),
    default=3600.0,
    show_default=True,
    help="Stop the lab after this many seconds (Ctrl-C stops it earlier).",
)
@click.option(
    "--latency-ms",
    type=FiniteFloatRange(min=0, max=5000),
    default=0.0,
    help="Simulated round trip before each SMTP reply (to mimic a real network).",
)
@click.option(
    "--synthetic",
    type=click.IntRange(min=0, max=10_000_000),
    default=0,
    metavar="N",
    help="Also serve N synthetic domains d1.synth.lab ... on a few MX hosts (bulk scans).",
)
@click.option(
    "--synthetic-list",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the synthetic domains to FILE, one per line (for `mxtls scan FILE`).",
)
def lab(duration: float, latency_ms: float, synthetic: int, synthetic_list: Path | None) -> None:
    """Run the built-in lab in the foreground and print how to reach it.

    \b
    With --synthetic N the lab also serves N domains whose MX records point
    to a handful of lab MX hosts, as hosted mail does: the world in which
    `mxtls scan` is measured (see docs/bulk.md).
    """
    from mxtls.lab.world import Lab

    async def serve() -> None:
        # SIGTERM (a service manager, `kill`, a CI job's end) must stop the lab
        # like Ctrl-C does: through `async with`, which removes its keys and
        # certificates from the temporary directory.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, stop.set)
        async with Lab(latency=latency_ms / 1000, synthetic=synthetic) as world:
            click.echo("mxtls lab is running on loopback. In another terminal:")
            click.echo(f"  mxtls check good.lab {lab_flags(world)}")
            click.echo("Lab domains: " + ", ".join(world.domains))
            for domain in world.domains:
                account = world.account(domain)
                if account is not None:
                    click.echo(
                        f"Lab account of {domain} (SMTP AUTH on its submission host):\n"
                        f"  MXTLS_LAB_PASSWORD='{account.secret.reveal()}' mxtls check {domain} "
                        f"--auth-user {account.user} --auth-password-env MXTLS_LAB_PASSWORD "
                        "<flags above>"
                    )
            if world.synthetic is not None:
                first, last = world.synthetic.domain(1), world.synthetic.domain(synthetic)
                click.echo(f"Synthetic domains: {first} ... {last}")
                if synthetic_list is not None:
                    write_lines(synthetic_list, world.synthetic.domains())
                    click.echo(f"  listed in {synthetic_list}: mxtls scan {synthetic_list} ...")
            click.echo(f"Stopping after {duration:g} s, on Ctrl-C or on SIGTERM.")
            sys.stdout.flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), duration)

    try:
        run_loop(serve())
    except KeyboardInterrupt:
        click.echo("lab stopped")


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """Write ``lines`` to ``path``, one per line (a usage error if it cannot be written)."""
    try:
        with path.open("w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(line + "\n")
    except OSError as exc:
        raise click.UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
