"""``mxtls generate``: records to paste into a zone file and a web server."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mxtls.cli.options import build_config, parse_port_map
from mxtls.config import CheckConfig
from mxtls.errors import MxtlsError
from mxtls.protocol.mta_sts import MTA_STS_MAX_AGE_DEFAULT_SECONDS, MtaStsMode

if TYPE_CHECKING:
    from mxtls.generate import TlsaSuggestion

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


def _config(
    nameservers: tuple[str, ...], port_maps: tuple[str, ...], timeout: float
) -> CheckConfig:
    try:
        return build_config(
            nameservers=nameservers, port_map=parse_port_map(port_maps), timeout=timeout
        )
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
    from mxtls.engine.plan import normalize_domain
    from mxtls.generate import ROLLOVER_HINT

    config = _config(nameservers, port_maps, timeout)
    try:
        host = normalize_domain(mxhost)
    except MxtlsError as exc:
        raise click.UsageError(str(exc)) from None
    suggestions, problems = asyncio.run(_live_tlsa(host, port, config))
    for problem in problems:
        click.echo(f"; {problem}", err=True)
    if not suggestions:
        click.echo(f"mxtls: error: no certificate from {host} port {port}", err=True)
        sys.exit(1)
    seen: set[str] = set()
    for addr, s in suggestions:
        if s.ee_line in seen:
            continue
        seen.add(s.ee_line)
        leaf = s.leaf
        click.echo(
            f"; {host} port {port} via {addr}: {leaf.subject}, key {leaf.key_type} "
            f"{leaf.key_bits}, expires {leaf.not_after:%Y-%m-%d}"
        )
        for line in s.zone_lines():
            click.echo(line)
    click.echo(ROLLOVER_HINT)


async def _live_tlsa(
    host: str, port: int, config: CheckConfig
) -> tuple[list[tuple[str, TlsaSuggestion]], list[str]]:
    # Imported before the first await: nothing else runs on the loop yet.
    from mxtls.engine.plan import resolve_host
    from mxtls.generate import suggest_tlsa
    from mxtls.models.observations import MxHost
    from mxtls.net.dns import RunResolver
    from mxtls.net.smtp_session import probe_endpoint

    resolver = RunResolver(config.nameservers, timeout=config.timeouts.dns)
    resolved = await resolve_host(MxHost(name=host, preference=0), resolver, config)
    if not resolved.addresses:
        return [], [f"{host} has no A/AAAA record"]
    out: list[tuple[str, TlsaSuggestion]] = []
    problems: list[str] = []
    for ip in resolved.addresses:
        obs = await probe_endpoint(host, ip, port, config, handshake_only=True)
        if obs.handshake is None or not obs.handshake.chain:
            why = obs.handshake_error or obs.stop_detail or "no TLS"
            problems.append(f"{host}[{ip}]:{port}: {why}")
            continue
        out.append((ip, suggest_tlsa(host, port, obs.handshake.chain)))
    return out, problems


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
    from mxtls.engine.plan import normalize_domain
    from mxtls.generate import mta_sts_records

    config = _config(nameservers, (), timeout)
    try:
        name = normalize_domain(domain)
    except MxtlsError as exc:
        raise click.UsageError(str(exc)) from None
    hosts = list(mx_hosts) or asyncio.run(_mx_hosts(name, config))
    if not hosts and mode != "none":
        click.echo(f"mxtls: error: {name} has no MX hosts to cover; give --mx", err=True)
        sys.exit(1)
    txt, policy = mta_sts_records(
        name, hosts, mode=MtaStsMode(mode), max_age=max_age, now=datetime.now(UTC)
    )
    click.echo("; DNS: change the id whenever the policy changes")
    click.echo(txt)
    click.echo(
        f"; HTTPS: https://mta-sts.{name}/.well-known/mta-sts.txt (Content-Type: text/plain)"
    )
    click.echo(policy.replace("\r\n", "\n"), nl=False)
    if policy_file is not None:
        policy_file.write_bytes(policy.encode())


async def _mx_hosts(domain: str, config: CheckConfig) -> list[str]:
    # Imported before the first await: nothing else runs on the loop yet.
    from mxtls.engine.plan import initial_hosts
    from mxtls.net.dns import RunResolver

    resolver = RunResolver(config.nameservers, timeout=config.timeouts.dns)
    answer = await resolver.query(domain, "MX")
    _, hosts = initial_hosts(domain, answer, config)
    return [h.name for h in hosts if not h.implicit]


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
    from mxtls.engine.plan import normalize_domain
    from mxtls.generate import tls_rpt_record
    from mxtls.protocol.tls_rpt import TlsRptSyntaxError

    try:
        name = normalize_domain(domain) if domain else None
        click.echo(tls_rpt_record(name, rua))
    except (MxtlsError, TlsRptSyntaxError) as exc:
        raise click.UsageError(str(exc)) from None
