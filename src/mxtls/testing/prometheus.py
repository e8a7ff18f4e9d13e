"""A private Prometheus on loopback that scrapes one target: the exporter as a real test peer.

Theory of operation.  The instance writes a one-job configuration (scrape
every :data:`SCRAPE_INTERVAL_S`), runs ``prometheus`` in the foreground as
our child with its TSDB in a temporary directory and its web API on
``127.0.0.1`` at a free port, and waits for ``/-/ready``.  :meth:`query`
runs an instant PromQL query over the HTTP API.  Nothing of the system's
Prometheus (``/etc/prometheus``, ``/var/lib/prometheus``) is used.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
SCRAPE_INTERVAL_S = 1
POLL_INTERVAL_S = 0.2


class PrometheusError(RuntimeError):
    """The private Prometheus could not be started (the message ends with its log)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PrometheusInstance:
    """``with PrometheusInstance("127.0.0.1:9325") as prom: prom.query("up")``."""

    def __init__(self, target: str, *, job: str = "mxtls") -> None:
        self.target = target
        self.job = job
        self.port = 0
        self.workdir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> tuple[bool, str]:
        """Whether ``prometheus`` is installed, and if not, why."""
        if shutil.which("prometheus") is None:
            return False, "prometheus not found (Debian package prometheus)"
        return True, ""

    @property
    def url(self) -> str:
        """Base URL of the web API."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Write the configuration, start, wait until ready.

        Raises:
            PrometheusError: it did not become ready (with its log).
        """
        binary = shutil.which("prometheus")
        if binary is None:
            raise PrometheusError(self.available()[1])
        self.workdir = Path(tempfile.mkdtemp(prefix="mxtls-prom-"))
        config = self.workdir / "prometheus.yml"
        config.write_text(
            "global:\n"
            f"  scrape_interval: {SCRAPE_INTERVAL_S}s\n"
            f"  evaluation_interval: {SCRAPE_INTERVAL_S}s\n"
            "scrape_configs:\n"
            f"  - job_name: {self.job}\n"
            "    static_configs:\n"
            f"      - targets: ['{self.target}']\n"
        )
        self.port = _free_port()
        log = open(self.workdir / "prometheus.log", "wb")  # noqa: SIM115 - the child keeps it
        self._proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise PrometheusError(f"prometheus exited: {self._log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            time.sleep(POLL_INTERVAL_S)
        raise PrometheusError(f"not ready within {START_TIMEOUT_S}s: {self._log_tail()}")

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

    def _log_tail(self) -> str:
        if self.workdir is None:
            return ""
        with contextlib.suppress(OSError):
            return (self.workdir / "prometheus.log").read_text(errors="replace")[-2000:]
        return ""

    def stop(self) -> None:
        """Stop the server and remove its data."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_TIMEOUT_S)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
