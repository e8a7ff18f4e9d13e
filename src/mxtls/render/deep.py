"""Terminal rendering of deep scans: protocols, suites, groups, behaviours, flaws.

Every accepted suite is listed (wrapped, never cut): a reader checking one
suite must not be told "+12 more".
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from mxtls.models.deep import DeepScan
from mxtls.models.vulns import VulnProbe
from mxtls.render.layout import hanging, wrap

LEGACY_VERSIONS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")


def render_deep(console: Console, scan: DeepScan, width: int) -> list[Text]:
    """The lines of one endpoint's deep scan, indented under its host."""
    tls = scan.tls
    ip = f"[{scan.ip}]" if ":" in scan.ip else scan.ip
    head = Text(f"deep scan {ip}:{scan.port}", style="bold")
    head.append(
        f"  {tls.connections_used} connections" + (" — THROTTLED" if tls.throttled else ""),
        style="yellow" if tls.throttled else "dim",
    )
    lines = wrap(console, head, width, indent=2)
    if tls.error:
        lines += wrap(console, Text(tls.error, style="red"), width, indent=4)
    for proto in tls.protocols:
        style = {"accepted": "", "rejected": "dim", "unknown": "yellow"}[proto.support]
        if proto.version in LEGACY_VERSIONS and proto.support == "accepted":
            style = "red"
        label = Text(f"{proto.version:<8} {proto.support}", style=style)
        body = Text()
        if proto.suites:
            names = [s.openssl_name or s.iana_name for s in proto.suites]
            order = {True: "server order", False: "client order", None: "order unknown"}[
                proto.server_order
            ]
            body.append(f"{len(names)} suites, {order}: {', '.join(names)}", style="dim")
        lines += hanging(console, label, body, width, indent=4, column=23)
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
            f"secure renegotiation {_yn(b.secure_renegotiation)}, "
            f"extended master secret {_yn(b.extended_master_secret)}, "
            f"fallback SCSV {_yn(b.fallback_scsv)}, "
            f"compression {'none' if not b.compression else b.compression}, "
            f"OCSP stapling {_yn(b.ocsp_stapled)}, session tickets {_yn(b.session_ticket)}"
        )
    for cert in tls.certificates:
        if cert.chain:
            leaf = cert.chain[0]
            facts.append(
                f"{cert.key_type} certificate: {leaf.subject}, {leaf.key_type} {leaf.key_bits}"
            )
    for fact in facts:
        lines += wrap(console, Text(fact, style="dim"), width, indent=4)
    if scan.vulns is not None:
        lines += wrap(console, _flaws(scan), width, indent=4)
    if tls.untested:
        lines += wrap(
            console, Text(f"not tested: {', '.join(tls.untested)}", "yellow"), width, indent=4
        )
    return lines


def _flaws(scan: DeepScan) -> Text:
    assert scan.vulns is not None
    v = scan.vulns
    probes: list[tuple[str, VulnProbe | None]] = [
        ("Heartbleed", v.heartbleed),
        ("CCS injection", v.ccs_injection),
        ("ROBOT", v.robot),
        ("STARTTLS injection", v.starttls_injection),
    ]
    parts = Text("flaws: ")
    first = True
    for name, probe in probes:
        if probe is None:
            continue
        if not first:
            parts.append(", ")
        first = False
        if probe.vulnerable:
            parts.append(f"{name} VULNERABLE", style="bold red")
        elif probe.vulnerable is None:
            parts.append(f"{name} not tested", style="yellow")
        else:
            parts.append(f"{name} no", style="green")
    return parts


def _yn(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")
