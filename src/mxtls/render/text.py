"""Terminal rendering with rich: a table per MX host, then findings by severity.

Colour follows rich's detection (off when not a terminal, off with NO_COLOR).
The renderer only renders: every verdict shown comes from ``report.findings``.
"""

from __future__ import annotations

from datetime import datetime

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from mxtls.models.findings import Finding, Severity
from mxtls.models.observations import EndpointObservation
from mxtls.models.report import HostReport, Report
from mxtls.render.deep import render_deep

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
SEVERITY_ORDER = (Severity.ERROR, Severity.WARNING, Severity.INFO)


def render_text(report: Report, console: Console, *, transcript: bool = False) -> None:
    """Print ``report`` for a person."""
    console.print(_headline(report))
    if report.verdict.senders:
        console.print(_verdict_block(report))
    if report.kind == "domain" and not report.null_mx:
        console.print(_policy_block(report))
    if report.null_mx:
        console.print("  null MX (RFC 7505): this domain accepts no mail; nothing was probed.")
    for host in report.hosts:
        console.print(_host_block(host, report.checked_at, report.kind))
        if transcript:
            for ep in host.endpoints:
                console.print(_transcript(ep))
    console.print(_findings_block(report.findings))
    if report.internal_errors:
        console.print(Text("Internal errors (please report them):", style="bold red"))
        for line in report.internal_errors:
            console.print(Text("  " + line.splitlines()[0]))
    console.print(_result_line(report))


def _headline(report: Report) -> Text:
    s = report.summary
    text = Text()
    text.append(report.domain, style="bold")
    if report.input.strip().rstrip(".").lower() != report.domain:
        text.append(f" ({report.input})")
    what = "host scan" if report.kind == "host" else f"{s.hosts} MX host{'s' * (s.hosts != 1)}"
    text.append(
        f" — {what}, {s.endpoints} endpoint"
        f"{'s' * (s.endpoints != 1)} ({s.endpoints_with_tls} with TLS), "
        f"{report.duration_ms / 1000:.2f} s"
    )
    return text


_SENDER_LABEL = {
    "opportunistic": "opportunistic senders",
    "mta_sts": "MTA-STS senders",
    "dane": "DANE senders",
}
_OUTCOME_STYLE = {
    "delivers": "green",
    "delivers_partly": "yellow",
    "refuses": "bold red",
    "not_applicable": "dim",
    "unreachable": "red",
}


def _verdict_block(report: Report) -> RenderableType:
    """One line per sender kind: will it deliver, and how."""
    lines: list[Text] = []
    for sv in report.verdict.senders:
        line = Text("  ")
        line.append(f"{_SENDER_LABEL[sv.sender]:<22}", style="bold")
        line.append(sv.summary, style=_OUTCOME_STYLE[sv.outcome])
        if sv.applies and sv.sender != "opportunistic":
            line.append(f"  [{sv.policy}]", style="dim")
        lines.append(line)
    return Group(*lines)


def _policy_block(report: Report) -> RenderableType:
    """What the domain publishes against downgrades: MTA-STS, TLS-RPT, DNSSEC, DANE."""
    lines: list[Text] = [Text("")]
    sts = report.mta_sts
    if sts is not None:
        if sts.mode is not None:
            text = (
                f"MTA-STS  {sts.mode}, id {sts.record_id}, max_age {sts.max_age}, "
                f"mx {', '.join(sts.mx_patterns) or '—'}"
            )
        elif sts.record is not None:
            text = f"MTA-STS  record {sts.record!r}, policy not usable"
        else:
            text = f"MTA-STS  none ({sts.txt.status})"
        lines.append(Text("  " + text, style="dim"))
    rpt = report.tls_rpt
    if rpt is not None:
        text = f"TLS-RPT  rua {', '.join(rpt.rua)}" if rpt.rua else "TLS-RPT  none or invalid"
        lines.append(Text("  " + text, style="dim"))
    statuses = {f"{r.qname}/{r.rdtype}": r.status for r in report.dnssec}
    if statuses:
        mode = report.dnssec[0].mode
        shown = ", ".join(f"{k} {v}" for k, v in statuses.items())
        lines.append(Text(f"  DNSSEC   ({mode}) {shown}", style="dim"))
    if report.dane is not None:
        for lk in report.dane.lookups:
            if not lk.records:
                continue
            status = lk.dnssec.status if lk.dnssec else ("secure" if lk.answer.ad else "?")
            lines.append(
                Text(
                    f"  TLSA     {lk.qname} ({status}): {'; '.join(lk.records)[:120]}", style="dim"
                )
            )
    return Group(*lines)


def _host_block(host: HostReport, now: datetime, kind: str = "domain") -> RenderableType:
    title = Text()
    if kind == "host":
        title.append("\nhost ", style="dim")
    else:
        title.append("\nMX ", style="dim")
        title.append(f"{host.preference} " if not host.implicit else "(implicit) ", style="dim")
    title.append(host.name, style="bold")
    if host.cname_target:
        title.append(f" → CNAME {host.cname_target}", style="yellow")
    title.append(f"  {', '.join(host.addresses) or 'no address'}", style="dim")
    if not host.endpoints:
        return title
    table = Table(box=None, padding=(0, 1, 0, 0), header_style="bold dim", show_edge=False)
    table.add_column("endpoint", no_wrap=True)
    table.add_column("banner", no_wrap=True)
    table.add_column("TLS via", no_wrap=True)
    table.add_column("version", no_wrap=True)
    table.add_column("cipher", no_wrap=True, overflow="ellipsis", max_width=28)
    table.add_column("cert", no_wrap=True, justify="right")
    table.add_column("time", no_wrap=True, justify="right")
    for ep in host.endpoints:
        table.add_row(*_endpoint_row(ep, now))
    return Group(title, table, *_certificates(host, now), *(render_deep(d) for d in host.deep))


def _address(ep: EndpointObservation) -> str:
    ip = f"[{ep.ip}]" if ":" in ep.ip else ep.ip
    return f"{ip}:{ep.port}"


def _endpoint_row(ep: EndpointObservation, now: datetime) -> list[str | Text]:
    if ep.connect_failure is not None:
        failed = Text(f"connect {ep.connect_failure.kind}", style="red")
        return [_address(ep), failed, "", "", "", "", _ms(ep)]
    banner = Text(str(ep.banner.code)) if ep.banner else Text("—", style="red")
    if ep.banner and ep.banner.code != 220:
        banner.stylize("red")
    if ep.tls_mode == "implicit":
        via = Text("implicit")
    elif ep.starttls_offered is None:
        via = Text("?", style="dim")
    elif not ep.starttls_offered:
        via = Text("absent", style="red")
    elif ep.starttls_reply is not None and ep.starttls_reply.code != 220:
        via = Text(f"refused {ep.starttls_reply.code}", style="red")
    else:
        via = Text("STARTTLS")
    hs = ep.handshake
    if hs is None:
        reason = ep.handshake_error or (
            f"stopped at {ep.stopped_at}: {ep.stop_reason}" if ep.stopped_at else "no TLS"
        )
        return [_address(ep), banner, via, Text(reason[:40], "red"), "", "", _ms(ep)]
    days = Text("")
    if hs.chain:
        days = _days_left(hs.chain[0].not_after, now)
    return [_address(ep), banner, via, hs.version, hs.cipher, days, _ms(ep)]


def _certificates(host: HostReport, now: datetime) -> list[Text]:
    """One line per distinct leaf certificate seen on the host."""
    seen: dict[str, list[str]] = {}
    leaves = {}
    for ep in host.endpoints:
        if ep.handshake and ep.handshake.chain:
            leaf = ep.handshake.chain[0]
            seen.setdefault(leaf.sha256_fingerprint, []).append(_address(ep))
            leaves[leaf.sha256_fingerprint] = (leaf, len(ep.handshake.chain))
    lines = []
    for fp, where in seen.items():
        leaf, length = leaves[fp]
        names = ", ".join(leaf.sans[:4]) or (leaf.common_name or leaf.subject)
        if len(leaf.sans) > 4:
            names += f" (+{len(leaf.sans) - 4})"
        line = Text("  cert ", style="dim")
        line.append(names, style="bold")
        line.append(f" · {leaf.key_type} {leaf.key_bits} · {leaf.signature_algorithm}")
        line.append(f"\n       valid {leaf.not_before:%Y-%m-%d} → {leaf.not_after:%Y-%m-%d} (")
        line.append_text(_days_left(leaf.not_after, now))
        line.append(f") · chain of {length} · sha256 {fp[:12]}…")
        line.append(f"\n       issuer {leaf.issuer}", style="dim")
        if len(seen) > 1:
            line.append(f"\n       on {', '.join(where)}", style="dim")
        lines.append(line)
    return lines


def _days_left(not_after: datetime, now: datetime) -> Text:
    """``89 d`` (yellow within 30 days) or a red ``expired``."""
    seconds = (not_after - now).total_seconds()
    if seconds < 0:
        return Text("expired", style="red")
    days = int(seconds // 86400)
    return Text(f"{days} d", style="yellow" if days < 30 else "")


def _ms(ep: EndpointObservation) -> str:
    total = ep.timings_ms.get("total")
    return f"{total:.0f} ms" if total is not None else ""


def _transcript(ep: EndpointObservation) -> RenderableType:
    lines = [Text(f"\n  {ep.host}[{ep.ip}]:{ep.port} transcript", style="bold dim")]
    for line in ep.transcript:
        style = {"C": "green", "S": "", "T": "magenta"}[line.dir]
        lines.append(Text(f"  {line.t_ms:8.1f} ms {line.dir}: {line.text}", style=style))
    return Group(*lines)


def _findings_block(findings: list[Finding]) -> RenderableType:
    if not findings:
        return Text("\nNo findings.", style="green")
    parts: list[RenderableType] = [Text("\nFindings", style="bold")]
    for sev in SEVERITY_ORDER:
        group = [f for f in findings if f.severity == sev]
        if not group:
            continue
        parts.append(Text(f"  {sev.value.upper()} ({len(group)})", style=SEVERITY_STYLE[sev]))
        for f in group:
            line = Text("    ")
            line.append(f.code, style=SEVERITY_STYLE[sev])
            if f.message.startswith(f.target):
                line.append(f"  {f.message}")
            else:
                line.append(f"  {f.target}", style="dim")
                line.append(f": {f.message}")
            parts.append(line)
    return Group(*parts)


def _result_line(report: Report) -> Text:
    s = report.summary
    style = "bold red" if s.errors else ("yellow" if s.warnings else "bold green")
    return Text(
        f"\n{_plural(s.errors, 'error')}, {_plural(s.warnings, 'warning')}, {s.infos} info",
        style=style,
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"
