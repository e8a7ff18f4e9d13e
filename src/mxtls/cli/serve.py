"""``mxtls serve``: the web checker and JSON API, run by uvicorn.

FastAPI, uvicorn and the engine are imported inside the command, after the
options are parsed (see :mod:`mxtls.cli.lazy`).
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path
from typing import Any

import click

from mxtls.cli.options import config_from_options, run_options
from mxtls.errors import MxtlsError

DEFAULT_PORT = 8025
SERVE_EPILOG = """\b
Examples:
  mxtls serve --lab                       try it: the built-in lab, on 127.0.0.1:8025
  mxtls serve --host 0.0.0.0 --db postgresql+psycopg://mxtls@db/mxtls
  mxtls serve --api-key-file keys.txt --trusted-proxies 1

\b
Without --allow-private the server refuses to connect to any loopback,
private, link-local, CGNAT, multicast, reserved or documentation address,
however it was reached (the domain's MX, an address record, the MTA-STS
policy host, an SRV target): put it on the Internet as it is. Behind a
reverse proxy, say how many with --trusted-proxies so that rate limits
apply to the visitor's address, not the proxy's.
"""


@click.command(epilog=SERVE_EPILOG)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", "listen_port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True
)
@click.option("--db", "db_url", metavar="URL", help="History database (default: SQLite file).")
@click.option(
    "--allow-private",
    is_flag=True,
    help="Also connect to loopback, private and other non-public addresses (an intranet).",
)
@click.option(
    "--lab",
    is_flag=True,
    help="Start the built-in lab and check its domains (implies --allow-private; try good.lab).",
)
@click.option(
    "--api-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="API keys, one per line: a request with `Authorization: Bearer KEY` gets --key-rate.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0.1),
    default=6.0,
    show_default=True,
    help="Checks per minute per client address (a token bucket).",
)
@click.option("--burst", type=click.IntRange(min=1), default=5, show_default=True)
@click.option(
    "--key-rate",
    type=click.FloatRange(min=0.1),
    default=120.0,
    show_default=True,
    help="Checks per minute per API key.",
)
@click.option(
    "--trusted-proxies",
    type=click.IntRange(min=0, max=10),
    default=0,
    show_default=True,
    help="Reverse proxies in front whose X-Forwarded-For is believed (0: none).",
)
@click.option("--max-running", type=click.IntRange(min=1, max=256), default=4, show_default=True)
@click.option("--max-queue", type=click.IntRange(min=1, max=10_000), default=64, show_default=True)
@click.option(
    "--cooldown",
    type=click.FloatRange(min=0),
    default=300.0,
    show_default=True,
    help="Seconds a finished check of the same target is reused.",
)
@run_options
def serve(
    host: str,
    listen_port: int,
    db_url: str | None,
    allow_private: bool,
    lab: bool,
    api_key_file: Path | None,
    rate: float,
    burst: int,
    key_rate: float,
    trusted_proxies: int,
    max_running: int,
    max_queue: int,
    cooldown: float,
    **opts: Any,
) -> None:
    """Serve the web checker and its JSON API (FastAPI, uvicorn)."""
    from mxtls.web.settings import WebSettings, read_api_keys

    if opts["ports"]:
        raise click.UsageError("--ports: each request names its ports (mail ports only)")
    if opts["port_maps"] and not (allow_private or lab):
        raise click.UsageError("--port-map needs --allow-private (it is for a lab or intranet)")
    try:
        config = config_from_options(opts)
        settings = WebSettings(
            allow_private=allow_private or lab,
            rate_per_minute=rate,
            burst=burst,
            key_rate_per_minute=key_rate,
            trusted_proxies=trusted_proxies,
            max_running=max_running,
            max_queue=max_queue,
            cooldown_s=cooldown,
            api_key_digests=read_api_keys(api_key_file) if api_key_file else frozenset(),
        )
    except MxtlsError as exc:
        raise click.UsageError(str(exc)) from None
    _run(host, listen_port, db_url, settings, config, lab=lab, timeout=opts["timeout"])


def _run(
    host: str,
    port: int,
    db_url: str | None,
    settings: Any,
    config: Any,
    *,
    lab: bool,
    timeout: float,
) -> None:
    import uvicorn

    from mxtls.cli.loop import imports_done
    from mxtls.web.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    world = None
    if lab:
        from mxtls.cli.demo import lab_config
        from mxtls.lab.world import Lab

        world = Lab().start()
        config = dataclasses.replace(
            lab_config(world, timeout=min(timeout, 4.0)), ehlo_name=config.ehlo_name
        )
        click.echo(
            f"mxtls serve: the built-in lab runs; try {', '.join(world.domains[:3])}", err=True
        )
    try:
        app = create_app(settings, config, db_url)
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_config=None,
                access_log=False,  # the application writes its own (no query strings)
                server_header=False,
                proxy_headers=False,  # X-Forwarded-For only through --trusted-proxies
                timeout_keep_alive=5,
                timeout_graceful_shutdown=int(settings.grace_s) + 5,
                limit_concurrency=1000,
                h11_max_incomplete_event_size=16 * 1024,
            )
        )
        mode = "every address" if settings.allow_private else "public addresses only"
        click.echo(f"mxtls serve: http://{_url_host(host)}:{port}/ ({mode})", err=True)
        imports_done()  # uvicorn runs its own loop (mxtls.cli.loop)
        server.run()
    except MxtlsError as exc:
        click.echo(f"mxtls: error: {exc}", err=True)
        sys.exit(2)
    finally:
        if world is not None:
            world.stop()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
