"""Line layout for the terminal report: wrap and stack, never cut.

A report is read in wide terminals, in 80-column pipes, CI logs and
e-mails.  Tables that truncate cells (``127.77.24.1:…``) lose exactly what
the reader needs, so the report is built from lines: a label and a body
that wraps under itself (a hanging indent), stacked under the label when
the label leaves too little room.  Words longer than a line (a digest) are
folded, never cut; no line carries trailing spaces.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

MIN_BODY = 24  # below this many columns beside a label, the body goes under it
STACK_INDENT = 4  # extra indent of a body stacked under its label


def as_text(value: Text | str, style: str = "") -> Text:
    """``value`` as rich Text (a str gets ``style``)."""
    return value.copy() if isinstance(value, Text) else Text(value, style=style)


def wrap(console: Console, body: Text | str, width: int, *, indent: int = 0) -> list[Text]:
    """``body`` wrapped to ``width`` columns, each line indented by ``indent`` spaces."""
    room = max(width - indent, 8)
    out: list[Text] = []
    for paragraph in as_text(body).split("\n"):
        lines = paragraph.wrap(console, room) if paragraph.plain else [Text("")]
        for line in lines:
            line.rstrip()
            out.append(Text(" " * indent) + line if indent else line)
    return out


def hanging(
    console: Console,
    label: Text | str,
    body: Text | str,
    width: int,
    *,
    indent: int = 0,
    column: int | None = None,
) -> list[Text]:
    """``label`` then ``body`` starting at ``column`` and wrapping under itself.

    Args:
        console: for cell widths.
        label: printed at ``indent``.
        body: wrapped text; may contain newlines.
        width: total line width.
        indent: spaces before the label.
        column: where the body starts (default: two spaces after the label).
            When the label reaches past it, or fewer than :data:`MIN_BODY`
            columns remain, the body is stacked on the following lines.
    """
    head = Text(" " * indent) + as_text(label)
    start = column if column is not None else head.cell_len + 2
    body_text = as_text(body)
    if not body_text.plain:
        head.rstrip()
        return [head]
    if head.cell_len + 1 > start or width - start < MIN_BODY:
        head.rstrip()
        return [head, *wrap(console, body_text, width, indent=indent + STACK_INDENT)]
    lines = wrap(console, body_text, width, indent=start)
    first = lines[0]
    first_body = first[start:]
    head.append(" " * (start - head.cell_len))
    lines[0] = head + first_body
    if not first_body.plain:
        lines[0].rstrip()
    return lines
