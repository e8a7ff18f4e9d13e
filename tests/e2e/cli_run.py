"""Run the real ``mxtls`` entry point in a subprocess, as a user's shell would.

Shared by the end-to-end tests that read the CLI's output (plain text at
100 columns, no colour, no terminal on stdin), and by those that grep every
output for a secret in the forms it would leak in.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys

RUN_TIMEOUT_S = 60


def mxtls(
    *args: str, env: dict[str, str] | None = None, timeout: float = RUN_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """``python -m mxtls ARGS`` with ``env`` on top of ours; never raises on the exit status."""
    return subprocess.run(
        [sys.executable, "-m", "mxtls", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "100", **(env or {})},
        stdin=subprocess.DEVNULL,
        check=False,
    )


def secret_forms(user: str, password: str) -> list[str]:
    """The password as it would leak: plain, base64 (AUTH LOGIN), PLAIN's initial response."""
    plain = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    return [password, base64.b64encode(password.encode()).decode(), plain]
