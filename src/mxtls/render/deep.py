"""Terminal rendering of deep scans: protocols, suites, groups, behaviours, flaws."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from mxtls.models.deep import DeepScan
from mxtls.models.vulns import VulnProbe

MAX_SUITES_SHOWN = 8


def render_deep(scan: DeepScan) -> RenderableType:
    """A compact block for one endpoint's deep scan."""
    tls = scan.tls
    ip = f"[{scan.ip}]" if ":" in scan.ip else scan.ip
    head = Text(f"  deep scan {ip}:{scan.port}", style="bold")
    head.append(
        f"  {tls.connections_used} connections, {tls.elapsed_ms:.0f} ms"
        + (" — THROTTLED" if tls.throttled else ""),
        style="dim" if not tls.throttled else "yellow",
    )
    lines: list[RenderableType] = [head]
    if tls.error:
        lines.append(Text(f"    {tls.error}", style="red"))
    for proto in tls.protocols:
        style = {"accepted": "", "rejected": "dim", "unknown": "yellow"}[proto.support]
        if proto.version in ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1") and proto.support == "accepted":
            style = "red"
        line = Text(f"    {proto.version:<8} {proto.support:<9}", style=style)
        if proto.suites:
            names = [s.openssl_name or s.iana_name for s in proto.suites]
            shown = ", ".join(names[:MAX_SUITES_SHOWN])
            more = f" (+{len(names) - MAX_SUITES_SHOWN})" if len(names) > MAX_SUITES_SHOWN else ""
            order = {True: "server order", False: "client order", None: "order ?"}[
                proto.server_order
            ]
            line.append(f"{len(names)} suites, {order}: {shown}{more}", style="dim")
        lines.append(line)
    facts: list[str] = []
    for g in tls.groups:
        if g.groups:
            facts.append(f"{g.version} groups: {', '.join(g.groups)}")
    if tls.dh_bits:
        facts.append(f"DHE {tls.dh_bits} bits")
    if tls.default:
        fs = "forward secret" if tls.default.forward_secret else "NOT forward secret"
        facts.append(f"default {tls.default.version} {tls.default.suite.iana_name} ({fs})")
    b = tls.behaviour
    if b is not None:
        facts.append(
            "renegotiation_info "
            + _yn(b.secure_renegotiation)
            + ", EMS "
            + _yn(b.extended_master_secret)
            + ", fallback SCSV "
            + _yn(b.fallback_scsv)
            + ", compression "
            + ("none" if not b.compression else str(b.compression))
            + ", OCSP staple "
            + _yn(b.ocsp_stapled)
            + ", tickets "
            + _yn(b.session_ticket)
        )
    for cert in tls.certificates:
        if cert.chain:
            leaf = cert.chain[0]
            facts.append(
                f"{cert.key_type} certificate: {leaf.subject}, {leaf.key_type} {leaf.key_bits}"
            )
    for fact in facts:
        lines.append(Text(f"    {fact}", style="dim"))
    if scan.vulns is not None:
        v = scan.vulns
        probes: list[tuple[str, VulnProbe | None]] = [
            ("Heartbleed", v.heartbleed),
            ("CCS injection", v.ccs_injection),
            ("ROBOT", v.robot),
            ("STARTTLS injection", v.starttls_injection),
        ]
        parts = Text("    flaws: ")
        for i, (name, probe) in enumerate(probes):
            if probe is None:
                continue
            if i:
                parts.append(", ")
            if probe.vulnerable:
                parts.append(f"{name} VULNERABLE", style="bold red")
            elif probe.vulnerable is None:
                parts.append(f"{name} not tested", style="yellow")
            else:
                parts.append(f"{name} no", style="green")
        lines.append(parts)
    if tls.untested:
        lines.append(Text(f"    not tested: {', '.join(tls.untested)}", style="yellow"))
    return Group(*lines)


def _yn(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")
