"""``mxtls explain [CODE]``: what a finding means and how to fix it."""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict

import click


@click.command()
@click.argument("code", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the entry (or every entry) as JSON.")
@click.option("--no-color", is_flag=True, help="Plain output.")
def explain(code: str | None, as_json: bool, no_color: bool) -> None:
    """Explain a finding CODE: meaning, why it matters, how to fix it, the standard.

    Without CODE, list every code with its severity and what to do.

    \b
    Examples:
      mxtls explain cert.chain_incomplete
      mxtls explain                       every code, one line each
      mxtls explain dane.mismatch --json
    """
    from rich.console import Console

    from mxtls.checks.codes import CODES
    from mxtls.checks.explain import EXPLANATIONS
    from mxtls.checks.explain import explain as explain_code
    from mxtls.render.explain import catalog_lines, explanation_lines

    console = Console(no_color=no_color or None, highlight=False)
    if code is None:
        if as_json:
            entries = [asdict(EXPLANATIONS[c]) for c in CODES if c in EXPLANATIONS]
            click.echo(json.dumps(entries, indent=2, ensure_ascii=False))
        else:
            for line in catalog_lines(console):
                console.print(line, soft_wrap=True)
        return
    wanted = code.strip().lower()
    try:
        entry = explain_code(wanted)
    except KeyError:
        close = difflib.get_close_matches(wanted, list(EXPLANATIONS), n=3, cutoff=0.6)
        more = f"; did you mean {', '.join(close)}?" if close else ""
        raise click.UsageError(
            f"unknown finding code {code!r}{more} (`mxtls explain` lists them)"
        ) from None
    if as_json:
        click.echo(json.dumps(asdict(entry), indent=2, ensure_ascii=False))
    else:
        for line in explanation_lines(console, entry):
            console.print(line, soft_wrap=True)
