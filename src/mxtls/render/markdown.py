"""Markdown report, sized for a ticket or an e-mail: grade, verdicts, findings first.

Values that came from DNS or a server are escaped (CommonMark backslash
escapes for every character that could start markup, ``|`` for GFM tables,
line breaks folded, control characters replaced), so a banner reading
``<script>`` or ``*bold*`` shows as the text it is.
"""

from __future__ import annotations

from mxtls.models.report import Report
from mxtls.render.safe_text import html_text
from mxtls.render.view import FindingView, HostView, ReportView, build_view

# CommonMark: any ASCII punctuation may be backslash-escaped; these can start
# markup (emphasis, code, links, HTML, entities, tables, strikethrough, headings).
_SPECIAL = frozenset("\\`*_[]<>|&~#!")
_TRANSLATE = {ord(c): "\\" + c for c in _SPECIAL} | {ord("\r"): " ", ord("\n"): " "}


def md(text: object) -> str:
    """``text`` as literal Markdown (inline, one line, no control characters)."""
    return html_text(text).translate(_TRANSLATE)


def render_markdown(report: Report) -> str:
    """The report as a Markdown document."""
    view = build_view(report)
    out: list[str] = []
    grade = f" — grade {view.grade.letter}" if view.grade.letter else ""
    out.append(f"# Mail transport security of {md(view.domain)}{grade}")
    out.append("")
    c = view.counts
    out.append(
        f"Checked {view.checked_at} in {view.duration} by mxtls {view.version}: "
        f"{c['hosts']} host(s), {c['endpoints']} endpoint(s) ({c['endpoints_with_tls']} with TLS); "
        f"**{c['errors']} error(s), {c['warnings']} warning(s)**, {c['infos']} info."
    )
    out.append("")
    out.extend(_grade(view))
    if view.null_mx:
        out += ["The domain publishes a null MX (RFC 7505): it accepts no mail.", ""]
    if view.senders:
        out += ["## Will senders deliver?", ""]
        out += ["| sender | outcome | summary | policy |", "|---|---|---|---|"]
        for s in view.senders:
            out.append(
                f"| {md(s.label)} | **{md(s.outcome_label)}** | {md(s.summary)} | {md(s.policy)} |"
            )
        out.append("")
    out.extend(_findings(view))
    if view.policies:
        out += ["## Policies", ""]
        for p in view.policies:
            out.append(f"- **{md(p.name)}**: {md(p.value)}")
            out += [f"  - {md(r)}" for r in p.records]
        out.append("")
    for host in view.hosts:
        out.extend(_host(host))
    if view.internal_errors:
        out += ["## Internal errors", ""]
        out += [f"- {md(line)}" for line in view.internal_errors]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _grade(view: ReportView) -> list[str]:
    g = view.grade
    if g.letter is None:
        return [f"**{md(g.note)}.**", ""]
    out = [f"## Grade {g.letter}", "", f"Method `{g.method}` (docs/grading.md)."]
    if g.caps or g.raised:
        out.append("")
    for cap in g.caps:
        out.append(
            f"- capped at **{cap.grade}** by `{cap.rule}` ({md(cap.because)}): {md(cap.summary)}"
        )
    for r in g.raised:
        out.append(f"- raised to **{r.grade}** by `{r.rule}` ({md(r.because)})")
    out.append("")
    return out


def _findings(view: ReportView) -> list[str]:
    out = ["## Findings", ""]
    if not view.findings:
        return out + ["No findings.", ""]
    for group in view.groups:
        out += [f"### {group.label} ({len(group.findings)})", ""]
        out += [line for f in group.findings for line in _finding(f)]
        out.append("")
    return out


def _finding(f: FindingView) -> list[str]:
    lines = [f"- **{f.severity.upper()}** `{f.code}` {md(f.text)}"]
    if f.hint:
        lines.append(f"  - What to do: {md(f.hint)}")
    else:
        lines.append(f"  - Means: {f.summary}")  # the code table's own Markdown
    return lines


def _host(host: HostView) -> list[str]:
    cname = f"; CNAME to {md(host.cname)}" if host.cname else ""
    cname += f"; operated by {md(host.provider)}" if host.provider else ""
    out = [f"## {md(host.label)}: {md(host.name)}", "", f"Addresses: {md(host.addresses)}{cname}"]
    out.append("")
    if host.endpoints:
        out += ["| endpoint | banner | TLS via | TLS | certificate |", "|---|---|---|---|---|"]
        for e in host.endpoints:
            out.append(
                f"| {md(e.address)} | {md(e.banner)} | {md(e.tls_via)} | {md(e.tls)} "
                f"| {md(e.cert_expiry)} |"
            )
        out.append("")
        logins = [f"- {md(e.address)}: {md(line)}" for e in host.endpoints for line in e.auth]
        if logins:
            out += [*logins, ""]
    for cert in host.certificates:
        out.append(
            f"- Certificate for {md(cert.names)}: valid {cert.not_before} to {cert.not_after}, "
            f"**{md(cert.expiry)}**; {md(cert.key)}, {md(cert.signature)}; "
            f"issuer {md(cert.issuer)}; seen on {md(cert.where)}"
        )
    if host.certificates:
        out.append("")
    return out
