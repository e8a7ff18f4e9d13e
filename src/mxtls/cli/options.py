"""Turn command-line strings into a CheckConfig (errors are ConfigError → exit 2)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from mxtls.config import MX_PORTS, CheckConfig, Limits, Timeouts, parse_nameserver
from mxtls.errors import ConfigError


class FiniteFloatRange(click.FloatRange):
    """A float option within bounds that also refuses ``nan`` and ``inf``.

    ``click.FloatRange`` compares with ``<``/``>``, and every comparison with
    NaN is false, so ``--timeout nan`` would pass and every step would then
    "time out" at once.
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Parse ``value`` as for ``FloatRange``, then refuse non-finite numbers."""
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def parse_ports(text: str) -> tuple[int, ...]:
    """``"25,465,587"`` → ``(25, 465, 587)``; duplicates dropped, order kept.

    Raises:
        ConfigError: empty list or a value outside 1..65535.
    """
    ports: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or not 0 < int(part) < 65536:
            raise ConfigError(f"invalid port {part!r} in --ports")
        if int(part) not in ports:
            ports.append(int(part))
    if not ports:
        raise ConfigError("--ports needs at least one port")
    return tuple(ports)


def parse_port_map(items: Iterable[str]) -> tuple[tuple[int, int], ...]:
    """``["25:10025"]`` → ``((25, 10025),)``.

    Raises:
        ConfigError: not ``PORT:LOCAL`` with valid port numbers.
    """
    out: list[tuple[int, int]] = []
    for item in items:
        logical, sep, local = item.partition(":")
        if not sep or not logical.isdigit() or not local.isdigit():
            raise ConfigError(f"invalid --port-map {item!r}: expected PORT:LOCAL, e.g. 25:10025")
        a, b = int(logical), int(local)
        if not (0 < a < 65536 and 0 < b < 65536):
            raise ConfigError(f"invalid --port-map {item!r}: ports are 1..65535")
        out.append((a, b))
    return tuple(out)


def build_config(
    *,
    nameservers: Iterable[str] = (),
    ca_file: Path | None = None,
    ports: tuple[int, ...] = MX_PORTS,
    port_map: tuple[tuple[int, int], ...] = (),
    timeout: float = 10.0,
    ehlo_name: str | None = None,
    warn_days: int = 30,
    max_conns: int = 4,
    only4: bool = False,
    only6: bool = False,
    deep: bool = False,
    dnssec_validate: bool = False,
    trust_anchor: Path | None = None,
) -> CheckConfig:
    """Validate option values and build the run's frozen configuration.

    Raises:
        ConfigError: an unusable value (bad nameserver, missing CA file, -4 with -6).
    """
    if only4 and only6:
        raise ConfigError("-4 and -6 exclude each other")
    if not math.isfinite(timeout) or timeout <= 0:
        raise ConfigError(f"--timeout {timeout!r}: give a positive number of seconds")
    if ca_file is not None and not ca_file.is_file():
        raise ConfigError(f"--ca-file {ca_file}: no such file")
    if trust_anchor is not None and not trust_anchor.is_file():
        raise ConfigError(f"--trust-anchor {trust_anchor}: no such file")
    if trust_anchor is not None and not dnssec_validate:
        raise ConfigError("--trust-anchor only makes sense with --dnssec-validate")
    config = CheckConfig(
        nameservers=tuple(parse_nameserver(ns) for ns in nameservers),
        ca_file=ca_file,
        ports=ports,
        port_map=port_map,
        timeouts=Timeouts.uniform(timeout),
        limits=replace(Limits(), per_address_connections=max_conns),
        warn_days=warn_days,
        ipv4=not only6,
        ipv6=not only4,
        deep=deep,
        dnssec_validate=dnssec_validate,
        trust_anchor=trust_anchor,
    )
    if ehlo_name:
        config = replace(config, ehlo_name=ehlo_name)
    return config


def config_from_options(opts: dict[str, Any], *, deep: bool = False) -> CheckConfig:
    """The configuration that the options of :func:`run_options` describe.

    Without ``--ports`` the MX hosts' port 25 is probed.

    Raises:
        ConfigError: an unusable value (see :func:`build_config`).
    """
    return build_config(
        nameservers=opts["nameservers"],
        ca_file=opts["ca_file"],
        ports=parse_ports(opts["ports"]) if opts["ports"] else MX_PORTS,
        port_map=parse_port_map(opts["port_maps"]),
        timeout=opts["timeout"],
        ehlo_name=opts["ehlo_name"],
        warn_days=opts["warn_days"],
        max_conns=opts["max_conns"],
        only4=opts["only4"],
        only6=opts["only6"],
        deep=deep,
        dnssec_validate=opts["dnssec_validate"],
        trust_anchor=opts["trust_anchor"],
    )


def run_options(fn: Callable[..., None]) -> Callable[..., None]:
    """Options of how a check runs: resolver, trust, ports, timeouts, limits.

    Shared by every command that runs checks or sessions (``check``,
    ``scan-host``, ``badge``, ``ping``...): the names are part of the contract.
    """
    options = [
        click.option(
            "--nameserver",
            "nameservers",
            multiple=True,
            metavar="HOST[:PORT]",
            help="Send every DNS lookup of the run to this resolver (repeatable).",
        ),
        click.option(
            "--ca-file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="PEM bundle that replaces the default trust store (Mozilla roots).",
        ),
        click.option(
            "--ports",
            default=None,
            metavar="LIST",
            help="Comma-separated ports (465 implicit TLS, others STARTTLS). check: probed on "
            "every MX host (default 25); server: for servers named without a port "
            "(default 25,465,587).",
        ),
        click.option(
            "--timeout",
            type=FiniteFloatRange(min=0.1, max=600),
            default=10.0,
            show_default=True,
            metavar="SECONDS",
            help="Bound for each network step (connect, banner, command, handshake, DNS).",
        ),
        click.option(
            "--ehlo-name", metavar="NAME", help="Name sent in EHLO/HELO (default: this FQDN)."
        ),
        click.option(
            "--warn-days",
            type=click.IntRange(min=0),
            default=30,
            show_default=True,
            help="Warn when a certificate expires within this many days.",
        ),
        click.option(
            "--max-conns",
            type=click.IntRange(min=1, max=32),
            default=4,
            show_default=True,
            help="Most connections open to one address at once.",
        ),
        click.option(
            "--dnssec-validate",
            is_flag=True,
            help="Validate DNSSEC in mxtls from a trust anchor, not the resolver's AD bit.",
        ),
        click.option(
            "--trust-anchor",
            type=click.Path(dir_okay=False, path_type=Path),
            help="DS/DNSKEY zone-file text for --dnssec-validate (default: IANA root KSK).",
        ),
        click.option(
            "--port-map",
            "port_maps",
            multiple=True,
            metavar="PORT:LOCAL",
            help="Testing: connect to LOCAL when PORT is meant (e.g. 25:10025 for the lab).",
        ),
        click.option("-4", "only4", is_flag=True, help="IPv4 addresses only."),
        click.option("-6", "only6", is_flag=True, help="IPv6 addresses only."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn
