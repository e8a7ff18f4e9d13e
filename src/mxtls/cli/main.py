"""Command line: the root group and the table of its commands.

Each command lives in its own module under :mod:`mxtls.cli` and is imported
only when it is invoked (or asked for its ``--help``), so ``mxtls --help``,
``mxtls --version`` and a mistyped command answer without loading pydantic,
cryptography, dnspython or any service library (see :mod:`mxtls.cli.lazy`).

To add a command: write it in ``mxtls/cli/<name>.py`` with a light top level
(imports of the engine, models and libraries inside the command's function),
then add one row to :data:`COMMANDS` whose summary is the first line of the
command's docstring.  ``tests/test_startup.py`` checks both.

Exit status (docs/findings.md): 0 no finding at or above ``--fail-on``;
1 at least one; 2 usage error or bad input; 3 the check itself failed.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from mxtls._version import __version__
from mxtls.cli import loop
from mxtls.cli.lazy import LazyCommand, LazyGroup

COMMANDS = (
    LazyCommand(
        "badge", "mxtls.cli.check:badge", "Check DOMAIN and print an SVG badge with its grade."
    ),
    LazyCommand("check", "mxtls.cli.check:check", "Check the mail transport security of DOMAIN."),
    LazyCommand(
        "demo", "mxtls.cli.demo:demo", "Start the built-in lab and check some of its domains."
    ),
    LazyCommand(
        "diff",
        "mxtls.cli.diff:diff",
        "Show what changed from the report OLD to the report NEW (saved `--json` output).",
    ),
    LazyCommand(
        "explain",
        "mxtls.cli.explain:explain",
        "Explain a finding CODE: meaning, why it matters, how to fix it, the standard.",
    ),
    LazyCommand(
        "generate",
        "mxtls.cli.generate:generate",
        "Generate TLSA, MTA-STS and TLS-RPT records from live facts.",
    ),
    LazyCommand(
        "history",
        "mxtls.cli.monitor:history",
        "Show the stored reports and change events of DOMAIN.",
    ),
    LazyCommand(
        "lab",
        "mxtls.cli.demo:lab",
        "Run the built-in lab in the foreground and print how to reach it.",
    ),
    LazyCommand(
        "monitor",
        "mxtls.cli.monitor:monitor",
        "Check domains on a schedule; store history, alert on changes, export metrics.",
    ),
    LazyCommand(
        "ping",
        "mxtls.cli.ping:ping",
        "Time each step of COUNT mail sessions to HOST (connect … QUIT).",
    ),
    LazyCommand(
        "scan",
        "mxtls.cli.scan:scan",
        "Check many domains: one mxtls/1 JSON document per domain, streamed.",
    ),
    LazyCommand(
        "scan-host",
        "mxtls.cli.check:scan_host",
        "Deep-scan one mail host: `mxtls server HOST[:PORT] --deep`.",
    ),
    LazyCommand(
        "schema", "mxtls.cli.check:schema", "Print the JSON Schema of the `check --json` report."
    ),
    LazyCommand(
        "serve",
        "mxtls.cli.serve:serve",
        "Serve the web checker and its JSON API (FastAPI, uvicorn).",
    ),
    LazyCommand(
        "server",
        "mxtls.cli.check:server",
        "Test named mail servers (not a domain's MX): SMTP on 25, 465 and 587.",
    ),
    LazyCommand(
        "tlsrpt",
        "mxtls.cli.monitor:tlsrpt",
        "Received TLS-RPT reports (RFC 8460): import and summarise.",
    ),
)


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="mxtls")
def cli() -> None:
    """Is mail to a domain protected in transit, and will strict senders deliver?

    mxtls finds a domain's MX hosts, connects to every address on port 25
    (the relay path) and to the submission servers its SRV records name,
    speaks SMTP, negotiates STARTTLS or implicit TLS, and judges protocols,
    ciphers and the certificate chain. Start with `mxtls demo` (a built-in
    local mail world), then `mxtls check YOUR-DOMAIN`; `mxtls server HOST`
    tests one server, `mxtls explain CODE` says what a finding means.
    """


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point.

    The command line runs on asyncio alone, so trio is kept out of its
    process: httpcore imports trio whenever it is installed (selenium, among
    others, installs it), which cost every check 0.1 s of CPU and 4 MiB for
    nothing.  Only the command line does this; a program that imports mxtls
    as a library keeps its own choice.  The same holds for the garbage
    collector's settings during a command's imports (:mod:`mxtls.cli.loop`).
    """
    sys.modules.setdefault("trio", None)  # type: ignore[arg-type]  # import trio fails
    loop.importing()  # until the command's loop starts (mxtls.cli.loop)
    cli.main(args=list(argv) if argv is not None else None, prog_name="mxtls")
