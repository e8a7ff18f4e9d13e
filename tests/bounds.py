"""Wall-time bounds of tests that show a peer cannot hold mxtls past its timeouts.

Such a test ("a silent server ends in bounded time") compares the wall time
of the call with the timeouts it configured, plus :data:`SLACK_S`: what a
loaded 2-core machine adds around them (scheduling, handshakes, start-up).
A fixed bound close to the timeout ("< 2.0 s" for a 0.5 s step) fails there
while nothing is wrong.  The peers of these tests hang for far longer than
the bound (30 s and more), so a missing timeout still fails it by a wide
margin.  Where the property is work rather than waiting (a megabyte read
and rejected), the test measures CPU time instead (``time.thread_time``).
"""

from __future__ import annotations

SLACK_S = 3.0


def bound(timeout_s: float, steps: float = 1) -> float:
    """The wall time a call ended by ``steps`` timeouts of ``timeout_s`` may take."""
    return steps * timeout_s + SLACK_S
