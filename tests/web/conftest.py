"""Web fixtures: the application served by a real uvicorn on loopback, a private database."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from mxtls.config import CheckConfig
from mxtls.web.app import create_app
from mxtls.web.settings import WebSettings

START_TIMEOUT_S = 20.0


class Served:
    """An application served by uvicorn in a thread (its own event loop) on 127.0.0.1:0."""

    def __init__(self, tmp_path: Path, config: CheckConfig, **settings: Any) -> None:
        app = create_app(WebSettings(**settings), config, f"sqlite:///{tmp_path / 'web.sqlite3'}")
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=0,
                log_config=None,
                access_log=False,
                server_header=False,  # as `mxtls serve` runs it
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the web application did not start")
            time.sleep(0.02)
        self.port: int = self.server.servers[0].sockets[0].getsockname()[1]
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30.0)

    def close(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(30)


def wait_done(client: httpx.Client, check_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll the API until the check ended; its state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state: dict[str, Any] = client.get(f"/api/v1/checks/{check_id}").json()
        if state["status"] in ("done", "error"):
            return state
        time.sleep(0.1)
    raise AssertionError(f"check {check_id} did not end within {timeout}s")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """``serve(config, **settings)`` → a running :class:`Served` (stopped after the test)."""
    opened: list[Served] = []

    def factory(config: CheckConfig, **settings: Any) -> Served:
        served = Served(tmp_path, config, **settings)
        opened.append(served)
        return served

    yield factory
    for served in opened:
        served.close()
