"""Run a snippet in a fresh interpreter and read back what it reports (structural tests).

Start-up and import behaviour can only be observed in a process that has
imported nothing yet: the snippet prints one line ``@@`` + JSON, and
:func:`in_fresh_interpreter` returns that JSON decoded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

MARK = "@@"
FRESH_TIMEOUT_S = 120


def in_fresh_interpreter(script: str, *args: str) -> Any:
    """Run ``python -c script args...``; the JSON of its ``@@`` line."""
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=FRESH_TIMEOUT_S,
        check=False,
    )
    marked = [line for line in proc.stdout.splitlines() if line.startswith(MARK)]
    assert marked, proc.stdout[-2000:] + proc.stderr[-2000:]
    return json.loads(marked[0][len(MARK) :])
