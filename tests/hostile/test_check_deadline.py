"""The whole check is bounded: ``timeouts.check_total`` (issue 8, "total per domain").

Each endpoint probe had its own bound, but nothing bounded their sum: a DNS
zone that names 20 MX hosts, all on one address that accepts and says
nothing, queues 40 probes behind the per-address connection limit, each
waiting out its banner timeout, one after the other.  With the check's
deadline, probes stop at it and those whose turn never came are recorded
as not probed (``smtp.connect_failed``, saying why).
"""

from __future__ import annotations

import time
from dataclasses import replace

from .peers import HostileWorld
from .scripts import tarpit

HOSTS = 20
STEP_S = 1.0
CHECK_TOTAL_S = 3.0
SLACK_S = 3.0  # the MX lookup and judging before and after the probes, on a loaded machine


async def test_a_check_of_many_stalling_hosts_ends_at_its_deadline(world: HostileWorld) -> None:
    # Given 20 MX hosts on one address that accepts connections and never speaks
    await world.smtp(tarpit)
    await world.publish(
        extra="".join(
            f"@ 300 IN MX 10 mx{i}.hostile.test.\nmx{i} 300 IN A 127.0.0.1\n"
            for i in range(HOSTS - 1)
        )
    )
    config = world.config(timeout=STEP_S, endpoint_total=2 * STEP_S, check_total=CHECK_TOTAL_S)
    config = replace(config, limits=replace(config.limits, per_address_connections=1))

    # When the domain is checked (serially, the probes would need 40 s)
    started = time.monotonic()
    report = await world.check(config)
    elapsed = time.monotonic() - started

    # Then it ends at its deadline, and the endpoints not reached say so
    assert elapsed < CHECK_TOTAL_S + SLACK_S, f"the check took {elapsed:.1f}s"
    endpoints = [ep for host in report.hosts for ep in host.endpoints]
    assert len(endpoints) == HOSTS
    not_probed = [ep for ep in endpoints if "not probed" in (ep.stop_detail or "")]
    assert not_probed, [ep.stop_detail for ep in endpoints]
    failed = [f for f in report.findings if f.code == "smtp.connect_failed"]
    assert len(failed) >= len(not_probed)
    assert "time limit" in failed[0].message
    assert not report.internal_errors
