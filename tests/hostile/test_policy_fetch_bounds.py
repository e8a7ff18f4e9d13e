"""Regression (issue 8, defect 2): the MTA-STS fetch is bounded in memory and time.

httpx decoded any ``Content-Encoding`` the server chose, whatever
``Accept-Encoding`` said, and a chunk was decompressed whole before the
64 KiB cap saw it: an 822-byte answer (``gzip, gzip`` of 400 MiB of zeros)
drove the process to 880 MiB.  And a body of 200,000 one-byte chunks
overran the time limit (3 s allowed, 6.2 s taken) while holding the event
loop for long stretches.  Both cases run against a real HTTPS policy host on
loopback, through the whole check.
"""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib

import pytest

from mxtls.models.report import Report
from mxtls.net.https import POLICY_MAX_BODY_PIECES

from .peers import HostileWorld, LoopGaps
from .scripts import http_head, one_byte_chunks, plain_smtp, respond

BOMB_MIB = 256  # what the 1 KB answer expands to
MEMORY_BOUND_BYTES = 16 * 1024 * 1024  # the whole check, policy fetch included
FETCH_LIMIT_S = 1.0
TRACED_STEP_S = 4.0
TIME_SLACK_S = 1.0  # scheduling on a loaded machine; the old code overran by seconds
LOOP_GAP_BOUND_S = 0.5
CPU_BOUND_S = 1.0  # the whole check, server included (~0.2 s; 65,536 chunks cost ~0.6 s more)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """``BOMB_MIB`` MiB of zeros, gzipped twice: about a kilobyte (made outside the loop)."""
    inner = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    zeros = bytes(1024 * 1024)
    parts = [inner.compress(zeros) for _ in range(BOMB_MIB)]
    parts.append(inner.flush())
    return gzip.compress(b"".join(parts), 9)


def fetch_error(report: Report) -> tuple[str, str]:
    assert report.mta_sts is not None and report.mta_sts.fetch is not None
    error = report.mta_sts.fetch.error
    assert error is not None
    return error.kind, error.detail


async def test_a_compressed_policy_is_refused_unread(world: HostileWorld, bomb: bytes) -> None:
    # Given a policy host that answers with a gzip bomb, whatever was asked
    body = bomb
    assert len(body) < 2048

    head = http_head(
        "Content-Type: text/plain", "Content-Encoding: gzip, gzip", f"Content-Length: {len(body)}"
    )
    await world.smtp(plain_smtp)
    await world.policy_host(respond(head, body))
    await world.publish(mta_sts=True)

    # When the domain is checked, with Python's allocations traced (which slows
    # everything down: the steps get the lab's 4 s rather than 1 s)
    tracemalloc.start()
    try:
        report = await world.check(world.config(timeout=TRACED_STEP_S))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Then the fetch fails without inflating anything
    assert peak < MEMORY_BOUND_BYTES, f"peak {peak / 2**20:.0f} MiB"
    kind, detail = fetch_error(report)
    assert kind == "encoding", detail
    assert "mta_sts.policy_fetch_failed" in {f.code for f in report.findings}
    assert not report.internal_errors


async def test_a_body_in_one_byte_chunks_is_cut_short(world: HostileWorld) -> None:
    # Given a policy host that sends 200,000 one-byte chunks as fast as it can
    await world.smtp(plain_smtp)
    await world.policy_host(one_byte_chunks)
    await world.publish(mta_sts=True)

    # When the domain is checked with a 1 s fetch limit
    config = world.config(timeout=FETCH_LIMIT_S)
    async with LoopGaps() as gaps:
        started, cpu_started = time.monotonic(), time.thread_time()
        report = await world.check(config)
        elapsed, cpu = time.monotonic() - started, time.thread_time() - cpu_started

    # Then the fetch fails early, in bounded time and CPU, and the loop kept running
    kind, detail = fetch_error(report)
    assert kind == "protocol", detail
    assert "mta_sts.policy_fetch_failed" in {f.code for f in report.findings}
    assert report.mta_sts is not None and report.mta_sts.fetch is not None
    assert report.mta_sts.fetch.body_bytes <= POLICY_MAX_BODY_PIECES  # one byte per piece
    assert report.mta_sts.fetch.elapsed_ms <= (FETCH_LIMIT_S + TIME_SLACK_S) * 1000
    assert elapsed < 2 * FETCH_LIMIT_S + 2 * TIME_SLACK_S
    assert cpu < CPU_BOUND_S, f"the check cost {cpu:.2f}s of CPU"
    assert gaps.longest < LOOP_GAP_BOUND_S, (
        f"one stretch of the event loop cost {gaps.longest:.2f}s of CPU"
    )
