"""Terminal rendering of the hints catalog (``mxtls explain``).

Lines laid out by :mod:`mxtls.render.layout`: they wrap at the console
width, so the text reads the same in an 80-column pipe and a wide
terminal, and nothing is cut.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from mxtls.checks.codes import CODES
from mxtls.checks.explain import EXPLANATIONS, Explanation
from mxtls.models.findings import Severity
from mxtls.render.layout import hanging, wrap

SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
PLATFORM_COLUMN = 22  # after "  Microsoft Exchange  "
CATALOG_COLUMN = 36  # after the longest code and its severity


def explanation_lines(console: Console, entry: Explanation) -> list[Text]:
    """One code: meaning, what to do, why, how per platform, standards."""
    width = console.width
    head = Text(entry.code, style="bold")
    info = CODES.get(entry.code)
    if info is not None:
        head.append("  ")
        head.append(info.severity.value, style=SEVERITY_STYLE[info.severity])
        head.append(f" · {info.section}", style="dim")
    out = [*wrap(console, head, width), *wrap(console, entry.meaning, width, indent=2)]
    for title, body in (("What to do", entry.hint), ("Why it matters", entry.why)):
        out += [Text(""), Text(title, style="bold"), *wrap(console, body, width, indent=2)]
    out += [Text(""), Text("How to fix it", style="bold")]
    for platform, how in entry.fixes:
        label = Text(platform, style="bold dim")
        out += hanging(console, label, how, width, indent=2, column=PLATFORM_COLUMN)
    out += [Text(""), Text("Standards", style="bold")]
    out += wrap(console, ", ".join(entry.rfcs), width, indent=2)
    return out


def catalog_lines(console: Console) -> list[Text]:
    """Every code with its severity and one-line hint, in catalog order."""
    out: list[Text] = []
    for code, info in CODES.items():
        label = Text(code)
        label.append(f" {info.severity.value}", style=SEVERITY_STYLE[info.severity])
        entry = EXPLANATIONS.get(code)
        body = entry.hint if entry is not None else ""
        out += hanging(console, label, body, console.width, column=CATALOG_COLUMN)
    return out
