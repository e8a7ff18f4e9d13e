"""HTML report: one self-contained file (inline CSS, no script, nothing fetched).

Jinja2 renders the templates in ``render/templates`` with autoescaping on,
so every value that came from DNS or a server (banners, certificate
subjects, TXT records) is escaped.  ``_report.html`` is the report's content
alone, for the web page to include in its own layout; ``report.html`` wraps
it into a standalone document.  Jinja2 is imported only when HTML is asked for.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from mxtls.models.report import Report
from mxtls.render.safe_text import html_text
from mxtls.render.view import build_view

if TYPE_CHECKING:  # pragma: no cover
    from jinja2 import BaseLoader, Environment
    from markupsafe import Markup

TEMPLATE = "report.html"
CONTENT_TEMPLATE = "_report.html"


@cache
def template_environment() -> Environment:
    """The Jinja2 environment of mxtls's templates (autoescape on, strict undefined)."""
    return make_environment()


def make_environment(first: BaseLoader | None = None) -> Environment:
    """A Jinja2 environment over the report templates, ``first``'s templates before them.

    The web page renders its own layout with the report's partials; every
    environment made here escapes by default and strips what HTML cannot carry.
    """
    from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined

    report_templates = PackageLoader("mxtls.render", "templates")
    env = Environment(
        loader=ChoiceLoader([first, report_templates]) if first is not None else report_templates,
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        finalize=_printable,
    )
    env.filters["codespans"] = codespans
    return env


def _printable(value: object) -> object:
    """Every printed value loses the characters HTML cannot carry (before escaping)."""
    from markupsafe import Markup

    if isinstance(value, str) and not isinstance(value, Markup):
        return html_text(value)
    return value


def codespans(text: str) -> Markup:
    """Escape ``text`` and show its `backticked` parts (from the code table) as code."""
    from markupsafe import Markup, escape

    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # unbalanced: show the backticks as they are
        return escape(text)
    return Markup("").join(
        Markup("<code>{}</code>").format(p) if i % 2 else escape(p) for i, p in enumerate(parts)
    )


def render_html(report: Report) -> str:
    """The report as a standalone HTML document."""
    template = template_environment().get_template(TEMPLATE)
    return template.render(view=build_view(report))
