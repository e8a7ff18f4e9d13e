"""Terminal rendering: verdict, policies, hosts, findings with what to do, the grade.

Readable at 80 columns (a pipe, a CI log, an e-mail) as in a wide
terminal: every line is laid out by :mod:`mxtls.render.layout`, which wraps
and stacks but never cuts an address, a host name, a cipher, a code or a
digest.  The same finding at several endpoints of a host is one entry that
lists the endpoints (the JSON keeps one finding per target); info findings
are one line per code unless ``verbose``; every warning and error carries
its one-line hint from :mod:`mxtls.checks.explain`.

Colour follows rich's detection (off when not a terminal, off with
NO_COLOR).  The renderer only renders: every verdict shown comes from the
report.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from mxtls.models.findings import Finding, Severity
from mxtls.models.report import Report, SubmissionReport
from mxtls.render import view
from mxtls.render.hints import hint_for, host_of
from mxtls.render.hosts import expiry_styles, render_host, transcript
from mxtls.render.layout import hanging, wrap

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
SEVERITY_TITLE = {Severity.ERROR: "Errors", Severity.WARNING: "Warnings", Severity.INFO: "Info"}
MAX_INFO_TARGETS = 4  # targets named on an info summary line before "+N more"
VERDICT_COLUMN = 25  # where the verdict text starts (after "  opportunistic senders  ")
POLICY_COLUMN = 11  # where a policy line's text starts (after "  MTA-STS  ")


@dataclass(frozen=True, slots=True)
class TextOptions:
    """What the text report shows.

    Attributes:
        transcript: the SMTP dialogue of every endpoint.
        verbose: every info finding and per-endpoint timings.
        timings: the run's duration in the headline (golden tests turn it off).
    """

    transcript: bool = False
    verbose: bool = False
    timings: bool = True


def render_text(
    report: Report,
    console: Console,
    *,
    transcript: bool = False,
    verbose: bool = False,
    timings: bool = True,
) -> None:
    """Print ``report`` for a person, at the console's width."""
    options = TextOptions(transcript=transcript, verbose=verbose, timings=timings)
    for line in report_lines(report, console, options):
        console.print(line, soft_wrap=True)


def report_lines(report: Report, console: Console, options: TextOptions) -> list[Text]:
    """The report as lines that fit ``console.width``."""
    width = console.width
    out = headline(console, report, width, options)
    if report.verdict.senders:
        out += [Text(""), *verdict_lines(console, report, width)]
    if report.kind == "domain" and not report.null_mx:
        out += policy_lines(console, report, width)
    if report.null_mx:
        out += wrap(
            console,
            "null MX (RFC 7505): this domain accepts no mail; nothing was probed.",
            width,
            indent=2,
        )
    for host in report.hosts:
        out.append(Text(""))
        out += render_host(
            console,
            host,
            width,
            report.checked_at,
            title=_host_title(report, host.preference, host.implicit),
            verbose=options.verbose,
            expiry=expiry_styles(report.findings),
        )
        if options.transcript:
            for ep in host.endpoints:
                out += transcript(console, ep, width)
    out += submission_lines(console, report, width, options)
    out += mailbox_lines(console, report, width, options)
    out += finding_lines(console, report.findings, width, verbose=options.verbose)
    if report.internal_errors:
        out += [Text(""), Text("Internal errors (please report them):", style="bold red")]
        for line in report.internal_errors:
            out += wrap(console, line.splitlines()[0], width, indent=2)
    out.append(Text(""))
    out += legend_lines(console, report, width, options)
    out.append(result_line(report))
    out += grade_lines(console, report, width)
    return out


def headline(console: Console, report: Report, width: int, options: TextOptions) -> list[Text]:
    """``good.lab — 2 MX hosts, 1 submission host, 3 endpoints (3 with TLS), 0.21 s``."""
    s = report.summary
    text = Text()
    text.append(report.domain, style="bold")
    if report.input.strip().rstrip(".").lower() != report.domain:
        text.append(f" ({report.input})")
    if report.kind == "domain":
        what = f"{s.hosts} MX host{'s' * (s.hosts != 1)}"
        for section, label in ((report.submission, "submission"), (report.mailbox, "mailbox")):
            extra = len(section.hosts) if section is not None else 0
            if extra:
                what += f", {extra} {label} host{'s' * (extra != 1)}"
    else:
        what = f"{s.hosts} server{'s' * (s.hosts != 1)}"
    text.append(
        f" — {what}, {s.endpoints} endpoint{'s' * (s.endpoints != 1)} "
        f"({s.endpoints_with_tls} with TLS)"
    )
    if options.timings:
        text.append(f", {report.duration_ms / 1000:.2f} s")
    return wrap(console, text, width)


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
    "unreachable": "bold red",
    "not_tested": "yellow",
}


def verdict_lines(console: Console, report: Report, width: int) -> list[Text]:
    """One entry per sender kind; the MX hosts it does not deliver to, with why."""
    title = Text("Delivery verdict", style="bold")
    title.append("  the relay path: MX hosts on port 25", style="dim")
    out = wrap(console, title, width)
    for sv in report.verdict.senders:
        body = Text(sv.summary, style=_OUTCOME_STYLE[sv.outcome])
        if sv.applies and sv.sender != "opportunistic" and sv.policy:
            body.append(f" [{sv.policy}]", style="dim")
        for mx in sv.mx:
            if not mx.delivers:
                body.append(f"\n{mx.host}: {mx.reason}", style="dim")
        label = Text(_SENDER_LABEL[sv.sender], style="bold")
        out += hanging(console, label, body, width, indent=2, column=VERDICT_COLUMN)
    return out


def policy_lines(console: Console, report: Report, width: int) -> list[Text]:
    """What the domain publishes against downgrades (:func:`mxtls.render.view.policy_lines`)."""
    out: list[Text] = []
    for line in view.policy_lines(report):
        out += hanging(console, line.name, line.value, width, indent=2, column=POLICY_COLUMN)
        for record in line.records:
            out += wrap(console, Text(record, style="dim"), width, indent=4)
    if not out:
        return []
    return [Text(""), Text("Policies against downgrade", style="bold"), *out]


def submission_lines(
    console: Console, report: Report, width: int, options: TextOptions
) -> list[Text]:
    """The domain's submission service (RFC 6186 SRV) and the hosts it names."""
    sub = report.submission
    if sub is None:
        return []
    names = f"_submissions._tcp.{report.domain}, _submission._tcp.{report.domain}"
    empty = f"no SRV record ({names})"
    title = ("Submission", "  for mail clients, as RFC 6186 SRV records name it")
    return _srv_section(console, report, sub, title, empty, width, options)


def mailbox_lines(console: Console, report: Report, width: int, options: TextOptions) -> list[Text]:
    """The domain's IMAP/POP3 servers as RFC 6186 SRV records name them (only when some do)."""
    box = report.mailbox
    if box is None or not box.targets:
        return []
    title = ("Mailbox access", "  IMAP and POP3, as RFC 6186 SRV records name them")
    return _srv_section(console, report, box, title, "", width, options)


_IMPLICIT_SERVICES = frozenset({"submissions", "imaps", "pop3s"})  # RFC 8314 §5.1


def _srv_section(
    console: Console,
    report: Report,
    section: SubmissionReport,
    title: tuple[str, str],
    empty: str,
    width: int,
    options: TextOptions,
) -> list[Text]:
    heading = Text(title[0], style="bold")
    heading.append(title[1], style="dim")
    out = [Text(""), *wrap(console, heading, width)]
    if not section.targets and empty:
        out += wrap(console, empty, width, indent=2)
    for t in section.targets:
        what = "not offered (target '.')" if t.target == "." else f"{t.target}:{t.port}"
        tls = "implicit TLS" if t.service in _IMPLICIT_SERVICES else "STARTTLS"
        body = Text(f"{what}, {tls}, priority {t.priority} weight {t.weight}")
        out += hanging(console, f"_{t.service}._tcp", body, width, indent=2, column=21)
    if section.dnssec:  # RFC 7673 §3: TLSA of an SRV target counts only when both are secure
        text = view.dnssec_text(section.dnssec)
        if any(r.rdtype == "SRV" and r.status != "secure" for r in section.dnssec):
            text += "; DANE applies only to hosts that secure answers name"
        body = Text(text, style="dim")
        out += hanging(console, "DNSSEC", body, width, indent=2, column=21)
    for host in section.hosts:
        out.append(Text(""))
        out += render_host(
            console,
            host,
            width,
            report.checked_at,
            title="host",
            verbose=options.verbose,
            expiry=expiry_styles(report.findings),
        )
        if options.transcript:
            for ep in host.endpoints:
                out += transcript(console, ep, width)
    return out


def _host_title(report: Report, preference: int, implicit: bool) -> str:
    if report.kind != "domain":
        return "server"
    return "MX (implicit)" if implicit else f"MX {preference}"


def _where(target: str) -> str:
    """``192.0.2.1:25`` from ``mx[192.0.2.1]:25`` (the host is printed once)."""
    host, bracket, rest = target.partition("[")
    if not bracket:
        return ""
    ip, _, port = rest.partition("]")
    return f"[{ip}]{port}" if ":" in ip else f"{ip}{port}"


def _message(f: Finding) -> str:
    return f.message.removeprefix(f"{f.target}: ")


def finding_lines(
    console: Console, findings: list[Finding], width: int, *, verbose: bool = False
) -> list[Text]:
    """Errors and warnings, grouped by code and host, each with what to do."""
    if not findings:
        return [Text(""), Text("No findings.", style="green")]
    out: list[Text] = []
    for sev in (Severity.ERROR, Severity.WARNING, Severity.INFO):
        group = [f for f in findings if f.severity == sev]
        if not group:
            continue
        if sev is Severity.INFO and not verbose:
            out += [Text(""), *_info_summary(console, group, width)]
            continue
        out.append(Text(""))
        out.append(Text(f"{SEVERITY_TITLE[sev]} ({len(group)})", style=SEVERITY_STYLE[sev]))
        by_code: dict[str, list[Finding]] = defaultdict(list)
        for f in group:
            by_code[f.code].append(f)
        for code, items in by_code.items():
            out += _code_block(console, code, items, sev, width)
    return out


def _code_block(
    console: Console, code: str, items: list[Finding], sev: Severity, width: int
) -> list[Text]:
    out = wrap(console, Text(code, style=SEVERITY_STYLE[sev]), width, indent=2)
    merged: dict[tuple[str, str], list[str]] = defaultdict(list)
    for f in items:
        merged[(host_of(f.target), _message(f))].append(_where(f.target))
    for (host, message), places in merged.items():
        where = Text(host, style="bold")
        endpoints = [p for p in places if p]
        if endpoints:
            where.append("  " + ", ".join(endpoints))
        out += wrap(console, where, width, indent=4)
        out += wrap(console, message, width, indent=6)
    what = hint_for(code, [f.target for f in items]) if sev is not Severity.INFO else None
    if what:
        out += hanging(console, Text("→", style="green"), Text(what), width, indent=4, column=6)
    return out


def _info_summary(console: Console, group: list[Finding], width: int) -> list[Text]:
    title = Text(f"{SEVERITY_TITLE[Severity.INFO]} ({len(group)})", style="cyan")
    title.append("  one line per code; -v lists each", style="dim")
    out = wrap(console, title, width)
    by_code: dict[str, list[str]] = defaultdict(list)
    for f in group:
        host = host_of(f.target)
        if host not in by_code[f.code]:
            by_code[f.code].append(host)
    for code, hosts in by_code.items():
        shown = ", ".join(hosts[:MAX_INFO_TARGETS])
        if len(hosts) > MAX_INFO_TARGETS:
            shown += f" (+{len(hosts) - MAX_INFO_TARGETS} more)"
        out += hanging(console, Text(code, style="cyan"), Text(shown, style="dim"), width, indent=2)
    return out


def legend_lines(console: Console, report: Report, width: int, options: TextOptions) -> list[Text]:
    """A short legend for the symbols this report uses."""
    entries = [
        "→ in an endpoint line: what the session negotiated (TLS version and cipher)",
        "→ under a finding: what to do; `mxtls explain CODE` says why and how, per MTA",
    ]
    if any(f.severity is Severity.INFO for f in report.findings) and not options.verbose:
        entries.append("Info: facts worth knowing, not faults; -v shows each one")
    out = [Text("Legend", style="dim")]
    for entry in entries:
        out += wrap(console, Text(entry, style="dim"), width, indent=2)
    return out


def result_line(report: Report) -> Text:
    """``1 error, 2 warnings, 5 info``."""
    s = report.summary
    style = "bold red" if s.errors else ("yellow" if s.warnings else "bold green")
    return Text(
        f"{_plural(s.errors, 'error')}, {_plural(s.warnings, 'warning')}, {s.infos} info",
        style=style,
    )


def grade_lines(console: Console, report: Report, width: int) -> list[Text]:
    """``Grade C (mxtls-grade/1)``, then each rule that capped or raised it, and why.

    One rule a line, what made it apply wrapped under itself (finding codes,
    never split), so the grade reads the same at 80 columns as in a wide
    terminal.
    """
    grade = view.grade_view(report)
    if grade.letter is None:
        return wrap(console, Text(grade.note, style="bold"), width)
    title = Text(f"Grade {grade.letter}", style="bold")
    title.append(f" ({grade.method})")
    rules = [(f"{c.rule} → {c.grade}", c.because) for c in grade.caps]
    rules += [(f"{r.rule} → {r.grade}", r.because) for r in grade.raised]
    if not rules:
        title.append(f": {grade.note}")
    out = wrap(console, title, width)
    for rule, because in rules:
        out += hanging(console, Text(rule), Text(because, style="dim"), width, indent=2)
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"
