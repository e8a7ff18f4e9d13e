"""The daemon life cycle every harness shares, on a real child process.

The daemon here is Python's own ``http.server`` (always installed): a real
process listening on loopback, started, probed, stopped and cleaned up by
:class:`mxtls.testing.daemon.PrivateDaemon` exactly as Postfix, unbound and
Dovecot are.
"""

from __future__ import annotations

import socket
import sys
import urllib.request

import pytest

from mxtls.testing.daemon import DaemonError, PrivateDaemon, free_tcp_port


class _HttpError(DaemonError):
    pass


class _Http(PrivateDaemon):
    name = "http.server"
    slug = "http"
    error = _HttpError

    def __init__(self, *, argv_extra: tuple[str, ...] = (), start_timeout: float = 5.0) -> None:
        super().__init__(ip="127.0.0.1", workdir=None, start_timeout=start_timeout)
        self.port = 0
        self.argv_extra = argv_extra

    @staticmethod
    def available() -> tuple[bool, str]:
        return True, ""

    def _prepare(self) -> None:
        self.port = free_tcp_port(self.ip)
        (self.workdir / "ready.txt").write_text("this instance\n")

    def _command(self) -> list[str]:
        args = ["--bind", self.ip, "--directory", str(self.workdir), str(self.port)]
        return [sys.executable, "-m", "http.server", *args, *self.argv_extra]

    def _ready(self) -> str | None:
        try:
            url = f"http://{self.ip}:{self.port}/ready.txt"
            with urllib.request.urlopen(url, timeout=0.5) as answer:
                body = answer.read()
        except OSError as exc:
            return str(exc)
        if body != b"this instance\n":
            raise _HttpError(f"{self.port}: not this instance")
        return None


def test_start_ready_stop_and_clean_up() -> None:
    daemon = _Http()
    with daemon:
        # Given a started daemon, it answers as itself from its private directory
        assert daemon.running and daemon.pid is not None
        workdir = daemon.workdir
        assert workdir.name.startswith("mxtls-http-") and (workdir / "ready.txt").exists()
        port = daemon.port
    # Then stop() ended it, freed its port and removed its directory
    assert not daemon.running and not workdir.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), 1).close()
    daemon.stop()  # idempotent
    with pytest.raises(RuntimeError, match="not started"):
        _ = daemon.workdir


def test_a_daemon_that_exits_is_a_clear_error_with_its_log() -> None:
    daemon = _Http(argv_extra=("--no-such-option",))
    with pytest.raises(_HttpError, match="exited with status 2") as info:
        daemon.start()
    assert "--- output.log" in str(info.value) and "no-such-option" in str(info.value)
    assert not daemon.running


def test_not_ready_in_time_is_bounded() -> None:
    class Never(_Http):
        def _ready(self) -> str | None:
            return "still waiting"

    daemon = Never(start_timeout=0.3)
    with pytest.raises(_HttpError, match=r"not ready within 0\.3s \(still waiting\)"):
        daemon.start()
    assert not daemon.running and daemon.pid is None
