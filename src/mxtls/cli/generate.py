"""``mxtls generate``: records to paste into a zone file and a web server."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mxtls.cli.loop import run as run_loop
from mxtls.cli.options import build_config, parse_port_map
from mxtls.errors import MxtlsError
from mxtls.protocol.mta_sts import MTA_STS_MAX_AGE_DEFAULT_SECONDS, MtaStsMode

if TYPE_CHECKING:
    from mxtls.engine.runtime import Runtime

_nameserver = click.option(
    "--nameserver",
    "nameservers",
    multiple=True,
    metavar="HOST[:PORT]",
    help="Send every DNS lookup to this resolver (repeatable).",
)
_port_map = click.option(
    "--port-map",
    "port_maps",
    multiple=True,
    metavar="PORT:LOCAL",
    help="Testing: connect to LOCAL when PORT is meant.",
)
_timeout = click.option(
    "--timeout",
    type=click.FloatRange(min=0.1, max=600),
    default=10.0,
    show_default=True,
    help="Bound for each network step.",
)


@click.group()
def generate() -> None:
    """Generate TLSA, MTA-STS and TLS-RPT records from live facts."""


def _runtime(nameservers: tuple[str, ...], port_maps: tuple[str, ...], timeout: float) -> Runtime:
    from mxtls.engine.runtime import Runtime

    try:
        config = build_config(
            nameservers=nameservers, port_map=parse_port_map(port_maps), timeout=timeout
        )
        return Runtime(config)
    except MxtlsError as exc:
        raise click.UsageError(str(exc)) from None


@generate.command()
@click.argument("mxhost")
@click.option("--port", type=click.IntRange(1, 65535), default=25, show_default=True)
@_nameserver
@_port_map
@_timeout
def tlsa(
    mxhost: str,
    port: int,
    nameservers: tuple[str, ...],
    port_maps: tuple[str, ...],
    timeout: float,
) -> None:
    """TLSA records (3 1 1 and 2 1 1) for MXHOST's live certificate.

    Connects to every address of MXHOST, takes the chain each one sends and
    prints one record set per distinct certificate, plus a rollover hint.
    """
    from mxtls.engine.generate import ROLLOVER_HINT, live_tlsa
    from mxtls.engine.plan import normalize_domain

    runtime = _runtime(nameservers, port_maps, timeout)
    try:
        host = normalize_domain(mxhost)
    except MxtlsError as exc:
        raise click.UsageError(str(exc)) from None
    live = run_loop(live_tlsa(host, runtime, port=port))
    for problem in live.problems:
        click.echo(f"; {problem}", err=True)
    if not live.suggestions:
        click.echo(f"mxtls: error: no certificate from {host} port {port}", err=True)
        sys.exit(1)
    for addr, s in live.distinct():
        leaf = s.leaf
        click.echo(
            f"; {host} port {port} via {addr}: {leaf.subject}, key {leaf.key_type} "
            f"{leaf.key_bits}, expires {leaf.not_after:%Y-%m-%d}"
        )
        for line in s.zone_lines():
            click.echo(line)
    click.echo(ROLLOVER_HINT)


@generate.command(name="mta-sts")
@click.argument("domain")
@click.option(
    "--mode",
    type=click.Choice(["enforce", "testing", "none"]),
    default="testing",
    show_default=True,
    help="Start with testing; switch to enforce once TLS-RPT looks clean.",
)
@click.option(
    "--max-age",
    type=click.IntRange(0, 31_557_600),
    default=MTA_STS_MAX_AGE_DEFAULT_SECONDS,
    show_default=True,
    help="Seconds senders cache the policy.",
)
@click.option("--mx", "mx_hosts", multiple=True, help="MX host (default: the domain's MX).")
@click.option(
    "--policy-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the policy to this file.",
)
@_nameserver
@_timeout
def mta_sts(
    domain: str,
    mode: str,
    max_age: int,
    mx_hosts: tuple[str, ...],
    policy_file: Path | None,
    nameservers: tuple[str, ...],
    timeout: float,
) -> None:
    """The _mta-sts TXT record and the policy file for DOMAIN.

    Serve the policy as text/plain at
    https://mta-sts.DOMAIN/.well-known/mta-sts.txt with a valid certificate.
    """
    from mxtls.engine.generate import mta_sts_for
    from mxtls.engine.plan import normalize_domain

    runtime = _runtime(nameservers, (), timeout)
    try:
        name = normalize_domain(domain)
    except MxtlsError as exc:
        raise click.UsageError(str(exc)) from None
    records = run_loop(
        mta_sts_for(name, runtime, mode=MtaStsMode(mode), max_age=max_age, mx_hosts=mx_hosts)
    )
    if not records.mx_hosts and mode != "none":
        click.echo(f"mxtls: error: {name} has no MX hosts to cover; give --mx", err=True)
        sys.exit(1)
    txt, policy = records.txt, records.policy
    click.echo("; DNS: change the id whenever the policy changes")
    click.echo(txt)
    click.echo(
        f"; HTTPS: https://mta-sts.{name}/.well-known/mta-sts.txt (Content-Type: text/plain)"
    )
    click.echo(policy.replace("\r\n", "\n"), nl=False)
    if policy_file is not None:
        policy_file.write_bytes(policy.encode())


@generate.command(name="tls-rpt")
@click.argument("domain", required=False)
@click.option(
    "--rua",
    multiple=True,
    required=True,
    metavar="URI",
    help="Where reports go: mailto:addr or https://url (repeatable).",
)
def tls_rpt(domain: str | None, rua: tuple[str, ...]) -> None:
    """The _smtp._tls TXT record (RFC 8460) for DOMAIN."""
    from mxtls.engine.generate import tls_rpt_record
    from mxtls.engine.plan import normalize_domain
    from mxtls.protocol.tls_rpt import TlsRptSyntaxError

    try:
        name = normalize_domain(domain) if domain else None
        click.echo(tls_rpt_record(name, rua))
    except (MxtlsError, TlsRptSyntaxError) as exc:
        raise click.UsageError(str(exc)) from None
