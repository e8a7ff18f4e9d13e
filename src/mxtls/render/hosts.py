"""Terminal rendering of hosts: one line per endpoint, one block per certificate.

Endpoints are lines, not table rows: the address is the label and what the
session showed wraps beside it (or under it, for a long IPv6 address), so
an 80-column pipe shows every address, port and cipher whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from rich.console import Console
from rich.text import Text

from mxtls.checks.delivery import plaintext_only_reason
from mxtls.checks.mailbox import READY_STATUS, UPGRADE_VERB
from mxtls.checks.reach import session_ready, unreachable_reason
from mxtls.models.findings import Finding, endpoint_target
from mxtls.models.observations import CertificateInfo, EndpointObservation
from mxtls.models.report import HostReport
from mxtls.render.deep import render_deep
from mxtls.render.layout import hanging, wrap
from mxtls.render.view import auth_lines

MAX_ADDRESS_COLUMN = 42  # a wider address pushes the details under it
MAX_NAMES_SHOWN = 8  # certificate SANs listed before "+N more (see --json)"


def address(ep: EndpointObservation) -> str:
    """``192.0.2.1:25`` or ``[2001:db8::1]:25`` (the logical port)."""
    ip = f"[{ep.ip}]" if ":" in ep.ip else ep.ip
    return f"{ip}:{ep.port}"


def render_host(
    console: Console,
    host: HostReport,
    width: int,
    now: datetime,
    *,
    title: str,
    verbose: bool = False,
    expiry: Mapping[str, str] | None = None,
) -> list[Text]:
    """The host's title line, its endpoints, its certificates and deep scans.

    ``expiry`` styles each endpoint's days left as the checks judged them
    (:func:`expiry_styles`); without it they are plain.
    """
    head = Text()
    head.append(title + " ", style="dim")
    head.append(host.name, style="bold")
    if host.cname_target:
        head.append(f" → CNAME {host.cname_target}", style="yellow")
    if host.provider:
        head.append(f" ({host.provider})", style="dim")
    addresses = ", ".join(host.addresses) or "no address"
    lines = hanging(console, head, Text(addresses, style="dim"), width)
    if not host.endpoints:
        return lines
    column = min(max(len(address(ep)) for ep in host.endpoints) + 4, MAX_ADDRESS_COLUMN)
    for ep in host.endpoints:
        label = Text(address(ep))
        lines += hanging(
            console, label, endpoint_summary(ep, verbose), width, indent=2, column=column
        )
        for line in auth_lines(ep):  # SMTP AUTH as tried (--auth-user): never the secret
            lines += wrap(console, Text(line), width, indent=column)
    lines += certificates(console, host, width, now, expiry or {})
    for skip in host.deep_skipped:
        lines += wrap(
            console,
            Text(f"deep scan {address_of(skip.ip, skip.port)} not run: {skip.reason}", "yellow"),
            width,
            indent=2,
        )
    for scan in host.deep:
        lines += render_deep(console, scan, width)
    return lines


def address_of(ip: str, port: int) -> str:
    """``ip:port`` with brackets for IPv6."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def endpoint_summary(ep: EndpointObservation, verbose: bool = False) -> Text:
    """What one session showed, in a few words (red where it failed)."""
    text = Text()
    if ep.protocol != "smtp":
        text = _mailbox_summary(ep)
    elif not session_ready(ep) and not (ep.tls_mode == "implicit" and ep.handshake):
        if ep.connect_failure is not None and ep.optional:
            text.append(f"closed ({unreachable_reason(ep)})", style="dim")
        else:
            text.append(unreachable_reason(ep), style="red")
    elif ep.tls_mode == "implicit":
        text.append("implicit TLS")
    else:
        plain = plaintext_only_reason(ep)
        if plain is not None or ep.handshake is None:
            text.append(plain or _stopped(ep), style="red")
            text.append(" → plaintext" if plain else "", style="red")
        else:
            text.append("STARTTLS")
        if ep.ehlo is not None and ep.ehlo.command == "HELO":
            text.append(" (HELO only, no ESMTP)", style="yellow")
    hs = ep.handshake
    if hs is not None:
        text.append(f" → {hs.version} {hs.cipher}")
        if hs.group:
            text.append(f" ({hs.group})", style="dim")
    elif ep.tls_mode == "implicit" and session_ready(ep):
        text.append(" → no TLS", style="red")
    if verbose and "total" in ep.timings_ms:
        text.append(f"  {ep.timings_ms['total']:.0f} ms", style="dim")
    if ep.stopped_at and hs is not None and ep.stop_reason not in (None, "internal"):
        text.append(f"; stopped at {ep.stopped_at} ({ep.stop_reason})", style="yellow")
    return text


def _mailbox_summary(ep: EndpointObservation) -> Text:
    """How an IMAP or POP3 session got to TLS (or did not), before the TLS part."""
    verb = UPGRADE_VERB.get(ep.protocol, "STARTTLS")
    if ep.connect_failure is not None:
        style = "dim" if ep.optional else "red"
        return Text(unreachable_reason(ep), style=style)
    if ep.tls_mode == "implicit":
        return Text("implicit TLS") if ep.handshake else Text(unreachable_reason(ep), "red")
    greeting = ep.greeting
    if greeting is None:
        return Text(f"no greeting ({ep.stop_reason or 'stopped'})", style="red")
    if greeting.status not in READY_STATUS.get(ep.protocol, ()):
        return Text(f"greeting {greeting.status}", style="red")
    if ep.starttls_offered is False:
        return Text(f"{verb} not offered → plaintext", style="red")
    if ep.handshake is None:
        return Text(f"{verb}: {_stopped(ep)}", style="red")
    return Text(verb)


def _stopped(ep: EndpointObservation) -> str:
    if ep.stopped_at:
        return f"stopped at {ep.stopped_at} ({ep.stop_reason})"
    return "no TLS"


def expiry_styles(findings: Sequence[Finding]) -> dict[str, str]:
    """Per endpoint target, how its certificate's days left look: as the checks judged
    them (``cert.expired`` red, ``cert.expiring_soon`` yellow, at the run's --warn-days)."""
    styles: dict[str, str] = {}
    for f in findings:
        if f.code == "cert.expired":
            styles[f.target] = "bold red"
        elif f.code == "cert.expiring_soon":
            styles.setdefault(f.target, "yellow")
    return styles


def certificates(
    console: Console,
    host: HostReport,
    width: int,
    now: datetime,
    expiry: Mapping[str, str] | None = None,
) -> list[Text]:
    """One block per distinct leaf seen on the host (and where, when several)."""
    where: dict[str, list[str]] = {}
    leaves: dict[str, tuple[CertificateInfo, int]] = {}
    styles: dict[str, str] = {}
    for ep in host.endpoints:
        if ep.handshake and ep.handshake.chain:
            leaf = ep.handshake.chain[0]
            where.setdefault(leaf.sha256_fingerprint, []).append(address(ep))
            leaves[leaf.sha256_fingerprint] = (leaf, len(ep.handshake.chain))
            style = (expiry or {}).get(endpoint_target(ep.host, ep.ip, ep.port), "")
            if style == "bold red" or not styles.get(leaf.sha256_fingerprint):
                styles[leaf.sha256_fingerprint] = style
    lines: list[Text] = []
    for fp, (leaf, length) in leaves.items():
        names = leaf.sans[:MAX_NAMES_SHOWN] or [leaf.common_name or leaf.subject]
        shown = ", ".join(names)
        if len(leaf.sans) > MAX_NAMES_SHOWN:
            shown += f" (+{len(leaf.sans) - MAX_NAMES_SHOWN} more, see --json)"
        head = Text("certificate ", style="dim")
        head.append(shown, style="bold")
        head.append(f" ({leaf.key_type} {leaf.key_bits}, {leaf.signature_algorithm})")
        lines += wrap(console, head, width, indent=2)
        valid = Text(f"valid {leaf.not_before:%Y-%m-%d} → {leaf.not_after:%Y-%m-%d}, ")
        valid.append_text(days_left(leaf.not_after, now, styles.get(fp, "")))
        valid.append(f"; chain of {length} certificate{'s' * (length != 1)} as sent")
        lines += wrap(console, valid, width, indent=4)
        lines += wrap(console, Text(f"issuer {leaf.issuer}", style="dim"), width, indent=4)
        lines += wrap(console, Text(f"sha256 {fp}", style="dim"), width, indent=4)
        if len(leaves) > 1:
            lines += wrap(console, Text(f"on {', '.join(where[fp])}", style="dim"), width, indent=4)
    return lines


def days_left(not_after: datetime, now: datetime, style: str = "") -> Text:
    """``89 days left`` or ``EXPIRED n days ago``, styled as the findings judged it
    (see :func:`expiry_styles`): the renderer has no threshold of its own."""
    seconds = (not_after - now).total_seconds()
    if seconds < 0:
        ago = int(-seconds // 86400)
        return Text(f"EXPIRED {ago} day{'s' * (ago != 1)} ago", style=style)
    days = int(seconds // 86400)
    return Text(f"{days} day{'s' * (days != 1)} left", style=style)


def transcript(console: Console, ep: EndpointObservation, width: int) -> list[Text]:
    """The SMTP dialogue of one endpoint, ``C:``/``S:``/``T:`` lines, wrapped."""
    lines = [Text(f"{ep.host} {address(ep)} transcript", style="bold dim")]
    for line in ep.transcript:
        style = {"C": "green", "S": "", "T": "magenta"}[line.dir]
        label = Text(f"{line.t_ms:8.1f} ms", style="dim")
        body = Text(f"{line.dir}: {line.text}", style=style)
        lines += hanging(console, label, body, width, indent=2)
    return lines
