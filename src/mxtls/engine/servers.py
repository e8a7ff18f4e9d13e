"""Check named servers (``mxtls server HOST[:PORT]...``): no MX, no domain policies.

The web checkers' "SMTP server test": the user names servers, and mxtls
probes each on the port given (``HOST:PORT``) or on 25, 465 and 587.  A
port the user named is promised to serve (closed: ``smtp.connect_failed``);
a default port may be closed without fault (``smtp.port_closed``), unless
every port of the server is.  The deep scan is optional (``--deep``; it is
what ``scan-host`` always did).

The protocol follows the port (25/465/587/2525 SMTP, 143/993 IMAP, 110/995
POP3: :func:`mxtls.config.protocol_for_port`) unless ``protocol`` says
otherwise; the targets' config carries it (``port_protocols``), so the
probe, the deep scan and TLSA lookups (``_993._tcp``) all follow it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import replace

from mxtls.config import SERVER_PORTS, CheckConfig, MailProtocol, protocol_for_port
from mxtls.engine.pipeline import run_planned
from mxtls.engine.plan import ProbePlan, Target, normalize_domain
from mxtls.engine.progress import ProgressCallback
from mxtls.engine.runtime import Runtime
from mxtls.errors import InvalidDomain
from mxtls.models.observations import DnsAnswer, MxHost
from mxtls.models.report import Report

MAX_SERVERS = 20  # one command line's worth; a list of domains is `mxtls scan`


def parse_target(text: str) -> tuple[str, int | None]:
    """``HOST``, ``HOST:PORT``, ``[V6]:PORT``, a bare IPv6 address → ``(host, port)``.

    Raises:
        InvalidDomain: an empty host or a port outside 1..65535.
    """
    raw = text.strip()
    if raw.startswith("["):
        host, _, rest = raw[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            raise InvalidDomain(f"invalid server {text!r}: expected [ADDRESS]:PORT")
    elif raw.count(":") == 1:
        host, port = raw.split(":")
    else:
        host, port = raw, ""
    if not host:
        raise InvalidDomain(f"invalid server {text!r}: no host")
    if port and (not port.isdigit() or not 0 < int(port) < 65536):
        raise InvalidDomain(f"invalid port in {text!r}")
    return host, int(port) if port else None


def _host(name: str) -> MxHost:
    """An address stays an address; a name is normalised (IDN to A-label).

    Raises:
        InvalidDomain: neither an IP address nor a usable host name.
    """
    try:
        ip = str(ipaddress.ip_address(name))
    except ValueError:
        return MxHost(name=normalize_domain(name), preference=0)
    return MxHost(name=ip, preference=0, addresses=[ip])


async def check_servers(
    servers: Sequence[str],
    runtime: Runtime | CheckConfig | None = None,
    *,
    ports: Iterable[int] | None = None,
    deep: bool | None = None,
    warn_days: int | None = None,
    progress: ProgressCallback | None = None,
    protocol: MailProtocol | None = None,
) -> Report:
    """Check the named servers: each ``HOST[:PORT]`` on its port, or on ``ports``.

    The protocol follows the port (143/993 IMAP, 110/995 POP3, any other SMTP)
    unless ``protocol`` names one for every port.

    Args:
        servers: ``HOST``, ``HOST:PORT`` or ``[IPV6]:PORT`` strings.
        runtime: the shared runtime, or a config for a one-off runtime.
        ports: the ports for servers named without one (default 25, 465 and
            587, where a closed port is not a fault; ports given here are).
        deep: also run the deep TLS scan.
        warn_days: the ``cert.expiring_soon`` threshold in days.
        progress: called as hosts are resolved and endpoints probed.
        protocol: speak this on every port instead of the port rule.

    Returns:
        A report of kind ``servers``: one host entry per server, no delivery
        verdict and no domain policies.

    Raises:
        InvalidDomain: a server is neither a host name nor an address, or
            has a bad port; no server at all.
        ConfigError: a configuration value or an override is unusable.
    """
    if not servers:
        raise InvalidDomain("name at least one server")
    if len(servers) > MAX_SERVERS:
        raise InvalidDomain(f"at most {MAX_SERVERS} servers at once (use `mxtls scan` for lists)")
    explicit = tuple(ports) if ports is not None else None
    default_ports = explicit or SERVER_PORTS
    by_host: dict[str, tuple[MxHost, dict[int, bool]]] = {}
    for text in servers:
        name, port = parse_target(text)
        host = _host(name)
        _, wanted = by_host.setdefault(host.name, (host, {}))
        if port is not None:
            wanted[port] = True
        else:
            for p in default_ports:
                wanted.setdefault(p, explicit is not None)
    all_ports = tuple(dict.fromkeys(p for _, wanted in by_host.values() for p in wanted))
    check = Runtime.coerce(runtime).begin(
        ports=all_ports, deep=deep, warn_days=warn_days, progress=progress
    )
    spoken = tuple(
        (p, protocol or protocol_for_port(p))
        for p in all_ports
        if (protocol or protocol_for_port(p)) != "smtp"
    )
    config = replace(check.config, port_protocols=spoken)
    targets = [
        Target(
            host,
            ProbePlan(
                ports=tuple(wanted),
                role="server",
                required=frozenset(p for p, named in wanted.items() if named),
            ),
            config,
        )
        for host, wanted in by_host.values()
    ]
    names = [t.host.name for t in targets]
    label = names[0] if len(names) == 1 else ", ".join(names)
    mx = DnsAnswer(qname=label, rdtype="MX", status="NOERROR", records=[f"0 {n}." for n in names])
    return await run_planned(check, "servers", " ".join(servers), label, mx, False, targets)
