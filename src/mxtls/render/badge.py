"""An SVG badge with the grade (``mxtls badge DOMAIN > badge.svg``).

Flat, two-part, in the style README badges share: "mail TLS" on the left,
the grade on the right.  The colour follows the letter, and the letter is
text (with a ``<title>`` and ``aria-label`` naming domain and grade), so
nothing is said by colour alone.  Every value is escaped; the file is
plain XML (no script, no external reference).
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from mxtls.models.report import Report
from mxtls.render.safe_text import xml_text

LABEL = "mail TLS"
COLOURS: dict[str | None, str] = {
    "A+": "#1a7f37",
    "A": "#2e8540",
    "B": "#5a7d00",
    "C": "#9a6700",
    "D": "#b35900",
    "F": "#b3261e",
    None: "#6e7781",
}
CHAR_WIDTH = 7  # px per character of 11 px Verdana, close enough for short labels
PAD = 6


def _width(text: str) -> int:
    return len(text) * CHAR_WIDTH + 2 * PAD


def render_badge(report: Report) -> str:
    """The badge of ``report`` as an SVG document."""
    letter = report.grade.letter if report.grade is not None else None
    value = letter or "n/a"
    left, right = _width(LABEL), _width(value)
    total = left + right
    title = f"mxtls grade for {report.domain}: {letter or 'none'}"
    if report.grade is not None:
        title += f" ({report.grade.method})"
    t = escape(xml_text(title))
    colour = COLOURS.get(letter, COLOURS[None])
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" '
        f'role="img" aria-label={quoteattr(xml_text(title))}>\n'
        f"  <title>{t}</title>\n"
        f'  <rect width="{left}" height="20" fill="#555"/>\n'
        f'  <rect x="{left}" width="{right}" height="20" fill="{colour}"/>\n'
        '  <g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" '
        'text-anchor="middle">\n'
        f'    <text x="{left / 2:.1f}" y="14">{escape(LABEL)}</text>\n'
        f'    <text x="{left + right / 2:.1f}" y="14" font-weight="bold">{escape(value)}</text>\n'
        "  </g>\n"
        "</svg>\n"
    )
