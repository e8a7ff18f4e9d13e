"""``check``, ``server``, ``scan-host``, ``badge``, ``schema``: the commands that run a check.

Exit status (docs/findings.md): 0 no finding at or above ``--fail-on``;
1 at least one; 2 usage error or bad input; 3 the check itself failed.

The module's top level is light (click and the option parsers): the engine,
its models and the renderers are imported inside each command, after the
arguments are parsed and before the event loop starts (see
:mod:`mxtls.cli.lazy`).
"""

from __future__ import annotations

import dataclasses
import functools
import getpass
import os
import sys
import traceback
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mxtls.cli.options import config_from_options, parse_ports, run_options
from mxtls.cli.output import check_writable, chosen_format, deliver, output_options
from mxtls.errors import MxtlsError
from mxtls.models.severity import Severity

if TYPE_CHECKING:
    from rich.console import Console

    from mxtls.engine.progress import ProgressEvent
    from mxtls.engine.runtime import Runtime
    from mxtls.models.report import Report
    from mxtls.protocol.sasl import Credentials

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
T = TypeVar("T")

CHECK_EPILOG = """\b
Examples:
  mxtls check example.com
  mxtls check example.com --json --fail-on warning > report.json
  mxtls check example.com --format html --output report.html
  mxtls check example.com --format junit --fail-on warning -o mxtls-junit.xml
  mxtls check example.com --ports 25 --nameserver 127.0.0.1:5353
  mxtls check good.lab --nameserver 127.0.0.1:53000 --port-map 25:10025 --ca-file lab-root.pem

\b
Exit status: 0 no finding at or above --fail-on (default: error),
1 at least one such finding, 2 usage error or bad input, 3 internal failure.
Finding codes are listed in docs/findings.md.
"""

SERVER_EPILOG = """\b
Examples:
  mxtls server smtp.example.com              ports 25, 465 and 587
  mxtls server smtp.example.com:587 mx1.example.com:25
  mxtls server 192.0.2.25 --deep --json
  mxtls server '[2001:db8::25]:25'
  mxtls server imap.example.com:993 pop.example.com:110
  MXTLS_PW=... mxtls server smtp.example.com:587 --auth-user me --auth-password-env MXTLS_PW

\b
A port you name (HOST:PORT or --ports) must answer; a default port that is
closed is only noted (smtp.port_closed), unless every port of the server is.
Exit status as for `mxtls check`. With --deep the scan opens a few dozen
connections per port (at most --max-conns at once) and stops when the
server throttles.
"""

SCAN_EPILOG = """\b
Examples:
  mxtls scan-host mx1.example.com            ports 25, 465 and 587
  mxtls scan-host mx1.example.com:25 --json

\b
The same as `mxtls server HOST[:PORT] --deep`.
"""


def _common_options(fn: Callable[..., None]) -> Callable[..., None]:
    """Options shared by `check`, `server` and `scan-host` (names are part of the contract)."""
    return output_options()(_report_options(_auth_options(run_options(fn))))


def _auth_options(fn: Callable[..., None]) -> Callable[..., None]:
    """SMTP AUTH: --auth-user, --auth-password-env, --auth-check-plaintext."""
    options = [
        click.option(
            "--auth-user",
            metavar="USER",
            help="Authenticate as USER inside TLS on submission ports (SCRAM-SHA-256, "
            "else PLAIN/LOGIN); the password comes from --auth-password-env or a prompt.",
        ),
        click.option(
            "--auth-password-env",
            metavar="NAME",
            help="Read the --auth-user password from environment variable NAME "
            "(never from the command line).",
        ),
        click.option(
            "--auth-check-plaintext",
            is_flag=True,
            help="Test whether STARTTLS ports accept AUTH before TLS, with throw-away "
            "credentials (never yours).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _credentials(opts: dict[str, Any]) -> Credentials | None:
    """The --auth-user credentials, the secret from the environment or a prompt.

    Raises:
        click.UsageError: no user with a secret source, an unset variable, no terminal.
    """
    user, env = opts.get("auth_user"), opts.get("auth_password_env")
    if not user:
        if env:
            raise click.UsageError("--auth-password-env needs --auth-user")
        return None
    from mxtls.protocol.sasl import Credentials, Secret

    if env:
        value = os.environ.get(env)
        if value is None:
            raise click.UsageError(f"--auth-password-env {env}: the variable is not set")
        return Credentials(user, Secret(value))
    if not sys.stdin.isatty():
        raise click.UsageError(
            "--auth-user needs a password: give --auth-password-env NAME (no terminal to prompt on)"
        )
    return Credentials(user, Secret(getpass.getpass(f"Password for {user}: ")))


def _report_options(fn: Callable[..., None]) -> Callable[..., None]:
    """How a report is judged and shown: --fail-on, --transcript, --verbose, --no-color."""
    options = [
        click.option(
            "--fail-on",
            type=click.Choice([s.value for s in Severity]),
            default="error",
            show_default=True,
            help="Exit 1 when a finding of this severity or worse exists.",
        ),
        click.option("--transcript", is_flag=True, help="Show the SMTP dialogue (C:/S: lines)."),
        click.option(
            "-v",
            "--verbose",
            is_flag=True,
            help="List every info finding (one line per code otherwise) and endpoint timings.",
        ),
        click.option("--no-color", is_flag=True, help="Plain output (NO_COLOR is honoured too)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@click.command(epilog=CHECK_EPILOG)
@click.argument("domain")
@click.option(
    "--deep",
    is_flag=True,
    help="Also enumerate protocols, ciphers, groups; test known flaws (more connections).",
)
@_common_options
def check(domain: str, deep: bool, **opts: Any) -> None:
    """Check the mail transport security of DOMAIN."""
    _run_cli(domain, opts, deep=deep, host_mode=False)


@click.command(epilog=SERVER_EPILOG)
@click.argument("servers", metavar="HOST[:PORT]...", nargs=-1, required=True)
@click.option(
    "--deep",
    is_flag=True,
    help="Also enumerate protocols, ciphers, groups; test known flaws (more connections).",
)
@click.option(
    "--protocol",
    type=click.Choice(["smtp", "imap", "pop3"]),
    help="Speak this on every port (default: by port: 143/993 IMAP, 110/995 POP3, else SMTP).",
)
@_common_options
def server(servers: tuple[str, ...], deep: bool, protocol: str | None, **opts: Any) -> None:
    """Test named mail servers (not a domain's MX): SMTP on 25, 465 and 587.

    HOST is a name or an address; HOST:PORT tests that port only. The
    protocol follows the port: 25/465/587/2525 SMTP, 143/993 IMAP, 110/995
    POP3, unless --protocol says otherwise. No MX lookup and no domain
    policies; certificates are judged against HOST.
    """
    opts["protocol"] = protocol
    _run_cli(list(servers), opts, deep=deep, host_mode=True)


@click.command(name="scan-host", epilog=SCAN_EPILOG)
@click.argument("target", metavar="HOST[:PORT]")
@_common_options
def scan_host(target: str, **opts: Any) -> None:
    """Deep-scan one mail host: `mxtls server HOST[:PORT] --deep`."""
    _run_cli([target], opts, deep=True, host_mode=True)


def _run_cli(name: str | list[str], opts: dict[str, Any], *, deep: bool, host_mode: bool) -> None:
    from mxtls.cli.output import emit_report

    chosen_format(opts)
    check_writable(opts["output"])
    report = _check(name, opts, deep=deep, host_mode=host_mode)
    no_color = opts["no_color"] or None
    fail_on = Severity(opts["fail_on"])
    emit_report(report, opts, fail_on=fail_on, no_color=no_color)
    sys.exit(exit_status(report, fail_on))


def _check(name: str | list[str], opts: dict[str, Any], *, deep: bool, host_mode: bool) -> Report:
    """Build the run's configuration from the options and run one check.

    ``name`` is a domain, or (``host_mode``) the servers of `mxtls server`.
    """
    try:
        ports = parse_ports(opts["ports"]) if opts["ports"] else None
        config = config_from_options(opts, deep=deep)
        credentials = _credentials(opts)
    except MxtlsError as exc:
        raise click.UsageError(str(exc)) from None
    config = dataclasses.replace(
        config, auth=credentials, auth_check_plaintext=bool(opts.get("auth_check_plaintext"))
    )
    # Everything the check needs is imported here, before the event loop starts.
    from mxtls.engine.run import check_domain
    from mxtls.engine.runtime import Runtime
    from mxtls.engine.servers import check_servers

    if deep:
        import mxtls.engine.deep  # noqa: F401 - loaded now, not while the scan runs

    stderr: Console | None = None
    if _tty():  # the progress spinner needs rich; CI, cron and pipes go without both
        from rich.console import Console

        stderr = Console(stderr=True, no_color=opts.get("no_color") or None)
    if host_mode:
        servers = [name] if isinstance(name, str) else name
        if credentials is not None:  # the user named these servers: any SMTP port they name
            config = dataclasses.replace(config, auth_ports=None)
        runner: Callable[..., Coroutine[Any, Any, Report]] = functools.partial(
            check_servers, ports=ports, deep=deep, protocol=opts.get("protocol")
        )
        what: Any = servers
        label: str | None = " ".join(servers)
    else:
        assert isinstance(name, str)
        runner, what, label = check_domain, name, None

    def run() -> Report:
        runtime = Runtime(config)  # reads the trust store: before the loop, too
        return _with_progress(runner, what, runtime, stderr, label)

    return run_guarded(run)


def exit_status(report: Report, fail_on: Severity) -> int:
    """Map a report to the contract's exit status."""
    if report.internal_errors:
        return EXIT_INTERNAL
    return EXIT_FINDINGS if report.fails(fail_on) else EXIT_OK


def _with_progress(
    runner: Callable[..., Coroutine[Any, Any, Report]],
    what: Any,
    runtime: Runtime,
    stderr: Console | None,
    label: str | None = None,
) -> Report:
    from mxtls.cli.loop import run as run_loop

    name = label if label is not None else str(what)
    if stderr is None or not stderr.is_terminal:
        return run_loop(runner(what, runtime))
    done = 0
    with stderr.status(f"checking {name} …") as status:

        def progress(event: ProgressEvent) -> None:
            nonlocal done
            if event.kind == "endpoint_done":
                done += 1
            what = f" ({event.detail})" if event.detail else ""
            status.update(f"checking {name}: {done} probes done, last {event.target}{what}")

        return run_loop(runner(what, runtime, progress=progress))


def _tty() -> bool:
    """Whether standard error is a terminal (where a progress spinner belongs)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed by the caller
        return False


def run_guarded(fn: Callable[[], T]) -> T:
    """Run ``fn``; caller mistakes exit 2, anything unexpected exits 3 (one line)."""
    try:
        result = fn()
    except MxtlsError as exc:
        click.echo(f"mxtls: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        click.echo("mxtls: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # boundary: a bug must not become a traceback wall
        click.echo(f"mxtls: internal error: {type(exc).__name__}: {exc}", err=True)
        click.echo(traceback.format_exc(limit=6), err=True)
        sys.exit(EXIT_INTERNAL)
    return result


BADGE_EPILOG = """\b
Examples:
  mxtls badge example.com > badge.svg
  mxtls badge example.com --output public/mail-tls.svg

\b
The badge shows the grade of a full check (see docs/grading.md).
Exit status: 0 badge written, 2 usage error, 3 internal failure.
"""


@click.command(epilog=BADGE_EPILOG)
@click.argument("domain")
@click.option(
    "--output",
    "-o",
    "output",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Write the SVG to FILE (atomically) instead of standard output.",
)
@run_options
def badge(domain: str, output: Path | None, **opts: Any) -> None:
    """Check DOMAIN and print an SVG badge with its grade."""
    from mxtls.render.badge import render_badge

    check_writable(output)
    report = _check(domain, opts, deep=False, host_mode=False)
    deliver(render_badge(report), output)
    sys.exit(EXIT_INTERNAL if report.internal_errors else EXIT_OK)


@click.command()
def schema() -> None:
    """Print the JSON Schema of the `check --json` report."""
    from mxtls.render.json import render_schema

    click.echo(render_schema(), nl=False)
