"""A private Prometheus on loopback that scrapes one target: the exporter as a real test peer.

Theory of operation (the life cycle is :class:`~mxtls.testing.daemon.PrivateDaemon`'s).
``_prepare`` writes a one-job configuration (scrape every
:data:`SCRAPE_INTERVAL_S`); ``prometheus`` runs in the foreground as our
child with its TSDB in the instance's directory and its web API on
``127.0.0.1`` at a free port; readiness is ``/-/ready``.  :meth:`query` runs
an instant PromQL query over the HTTP API.  Nothing of the system's
Prometheus (``/etc/prometheus``, ``/var/lib/prometheus``) is used.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

import httpx

from mxtls.testing.daemon import DaemonError, PrivateDaemon, find_binary, free_tcp_port

START_TIMEOUT_S = 30.0
SCRAPE_INTERVAL_S = 1
POLL_INTERVAL_S = 0.2


class PrometheusError(DaemonError):
    """The private Prometheus could not be started, or a query failed."""


class PrometheusInstance(PrivateDaemon):
    """``with PrometheusInstance("127.0.0.1:9325") as prom: prom.query("up")``."""

    name: ClassVar[str] = "Prometheus"
    slug: ClassVar[str] = "prom"
    error: ClassVar[type[DaemonError]] = PrometheusError

    def __init__(
        self,
        target: str,
        *,
        job: str = "mxtls",
        workdir: Path | None = None,
        start_timeout: float = START_TIMEOUT_S,
    ) -> None:
        super().__init__(ip="127.0.0.1", workdir=workdir, start_timeout=start_timeout)
        self.target = target
        self.job = job
        self.port = 0

    @staticmethod
    def available() -> tuple[bool, str]:
        """Whether ``prometheus`` is installed, and if not, why."""
        if find_binary("prometheus") is None:
            return False, "prometheus not found (Debian package prometheus)"
        return True, ""

    @property
    def url(self) -> str:
        """Base URL of the web API."""
        return f"http://{self.ip}:{self.port}"

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query; the ``result`` vector (``[{"metric": {...}, "value": [t, "v"]}]``).

        Raises:
            PrometheusError: the API answered with an error.
        """
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5)
        data = response.json()
        if data.get("status") != "success":
            raise PrometheusError(f"query {promql!r}: {data.get('error')}")
        result: list[dict[str, Any]] = data["data"]["result"]
        return result

    def wait_for(self, promql: str, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Query until the result is not empty (scrapes take a moment)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(promql)
            if result or time.monotonic() > deadline:
                return result
            time.sleep(POLL_INTERVAL_S)

    # -- PrivateDaemon --------------------------------------------------------------

    def _prepare(self) -> None:
        (self.workdir / "prometheus.yml").write_text(
            "global:\n"
            f"  scrape_interval: {SCRAPE_INTERVAL_S}s\n"
            f"  evaluation_interval: {SCRAPE_INTERVAL_S}s\n"
            "scrape_configs:\n"
            f"  - job_name: {self.job}\n"
            "    static_configs:\n"
            f"      - targets: ['{self.target}']\n"
        )
        self.port = free_tcp_port(self.ip)

    def _command(self) -> list[str]:
        binary = find_binary("prometheus")
        assert binary is not None
        return [
            binary,
            f"--config.file={self.workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address={self.ip}:{self.port}",
        ]

    def _ready(self) -> str | None:
        try:
            status = httpx.get(f"{self.url}/-/ready", timeout=1).status_code
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}"
        return None if status == 200 else f"/-/ready answered {status}"

    @property
    def _where(self) -> str:
        return f"{self.ip}:{self.port}"
