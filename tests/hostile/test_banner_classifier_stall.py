"""Regression (issue 8, defect 1): one banner must not stall the event loop.

The "slow down" classifier ran a backtracking regex over every banner and
every 4xx reply: quadratic in the line length.  A 100-line banner of 4 KB
lines, within the SMTP codec's own bounds, cost 17 s of CPU in the probe and
17 s more in the checks, with the event loop frozen all along (no timeout can
interrupt CPU work): in a monitor or a web service, every other check froze
with it.
"""

from __future__ import annotations

import time

from mxtls.config import Limits

from .peers import HostileWorld, LoopGaps
from .scripts import banner_then_quit

LINES = Limits().max_reply_lines  # 100: the codec's bound on reply lines
TEXT_BYTES = Limits().max_line_bytes - len("450-\r\n")  # the longest line the codec accepts
CPU_BOUND_S = 2.0  # the whole check, probe and judgement; the quadratic code needed ~35 s
LOOP_GAP_BOUND_S = 0.5


def huge_banner(code: int = 450) -> bytes:
    line = b"x" * TEXT_BYTES  # one long word, no dots: the worst case of the old regex
    head = b"".join(b"%d-%s\r\n" % (code, line) for _ in range(LINES - 1))
    return head + b"%d %s\r\n" % (code, line)


async def test_a_banner_at_the_codec_bounds_costs_little_cpu(world: HostileWorld) -> None:
    # Given an MX whose banner is 100 lines of 4,090 characters with a 4xx code
    await world.smtp(banner_then_quit(huge_banner()))
    await world.publish()

    # When the domain is checked, with a ticker watching the event loop
    async with LoopGaps() as gaps:
        started = time.thread_time()
        report = await world.check()
        cpu = time.thread_time() - started

    # Then the banner is judged, quickly, and the loop never froze
    assert not report.internal_errors
    assert "smtp.banner_rejected" in {f.code for f in report.findings}
    assert cpu < CPU_BOUND_S, f"checking one banner cost {cpu:.1f}s of CPU"
    assert gaps.longest < LOOP_GAP_BOUND_S, (
        f"one stretch of the event loop cost {gaps.longest:.2f}s of CPU"
    )
