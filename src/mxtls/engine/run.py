"""Run one check: plan → observe → derive → judge → report.

Two entry points share the pipeline: :func:`check_domain` (MX discovery,
the domain's policies and its submission servers) and
:func:`mxtls.engine.servers.check_servers` (named servers, ``mxtls server``;
:func:`check_host` is its deep form, as ``mxtls scan-host``).  Both take the
:class:`~mxtls.engine.runtime.Runtime` the check shares with others.  Each
step has its module, chained by :mod:`~mxtls.engine.pipeline`:
:mod:`~mxtls.engine.plan` (what to probe),
:mod:`~mxtls.engine.observe` (all the I/O), :mod:`~mxtls.engine.derive`
(facts computed from observations), :mod:`mxtls.checks.judge` (findings and
the verdict, pure) and :mod:`~mxtls.engine.report` (the document).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from mxtls.config import CheckConfig
from mxtls.engine.pipeline import run_planned
from mxtls.engine.plan import ProbePlan, Target, initial_hosts, normalize_domain
from mxtls.engine.progress import ProgressCallback, ProgressEvent
from mxtls.engine.runtime import Runtime
from mxtls.models.report import Report

__all__ = ["ProgressCallback", "ProgressEvent", "check_domain", "check_domain_sync", "check_host"]


async def check_domain(
    domain: str,
    runtime: Runtime | CheckConfig | None = None,
    *,
    ports: Iterable[int] | None = None,
    deep: bool | None = None,
    warn_days: int | None = None,
    progress: ProgressCallback | None = None,
) -> Report:
    """Check the mail transport security of ``domain``.

    ``runtime`` holds what checks share (resolver and answer cache, trust
    store, DNSSEC validator, connection limits per address, clock): build one
    :class:`~mxtls.engine.runtime.Runtime` and pass it to every call, and
    many calls may run at once on one event loop, sharing its answers and
    its politeness budget.  A :class:`~mxtls.config.CheckConfig` (or
    nothing: the defaults) gets a runtime of its own for this one call.

    The keyword arguments override the runtime's settings for this call only
    (None keeps the runtime's):

    Args:
        domain: the mail domain (an IDN is checked as its A-label).
        runtime: the shared runtime, or a config for a one-off runtime.
        ports: the SMTP ports to probe (465 implicit TLS, others STARTTLS).
        deep: also run the deep TLS scan (protocols, suites, known flaws).
        warn_days: the ``cert.expiring_soon`` threshold in days.
        progress: called with a :class:`ProgressEvent` as hosts are resolved
            and endpoints probed (from the event loop; keep it quick).

    Network trouble of any kind ends up as findings in the report; only
    caller mistakes raise.

    Raises:
        InvalidDomain: ``domain`` is not a usable domain name.
        ConfigError: a configuration value (e.g. the CA file) or an override
            (e.g. a port outside 1..65535) is unusable.
    """
    check = Runtime.coerce(runtime).begin(
        ports=ports, deep=deep, warn_days=warn_days, progress=progress
    )
    ascii_domain = normalize_domain(domain)
    mx = await check.resolver.query(ascii_domain, "MX")
    null_mx, planned = initial_hosts(ascii_domain, mx, check.config)
    plan = ProbePlan.mx(check.config.ports)
    targets = [Target(h, plan, check.config) for h in planned]
    return await run_planned(check, "domain", domain, ascii_domain, mx, null_mx, targets)


async def check_host(
    host: str,
    runtime: Runtime | CheckConfig | None = None,
    *,
    ports: Iterable[int] | None = None,
    warn_days: int | None = None,
    progress: ProgressCallback | None = None,
) -> Report:
    """Deep-scan one mail host (a name or an address): ``check_servers([host], deep=True)``.

    Kept for ``mxtls scan-host`` and older callers; the report's kind is
    ``servers``.

    Raises:
        InvalidDomain: ``host`` is neither a host name nor an IP address.
        ConfigError: a configuration value or an override is unusable.
    """
    from mxtls.engine.servers import check_servers

    return await check_servers(
        [host], runtime, ports=ports, deep=True, warn_days=warn_days, progress=progress
    )


def check_domain_sync(
    domain: str,
    runtime: Runtime | CheckConfig | None = None,
    *,
    ports: Iterable[int] | None = None,
    deep: bool | None = None,
    warn_days: int | None = None,
    progress: ProgressCallback | None = None,
) -> Report:
    """Blocking wrapper: ``asyncio.run(check_domain(...))`` (same arguments).

    Raises:
        InvalidDomain: ``domain`` is not a usable domain name.
        ConfigError: a configuration value or an override is unusable.
    """
    return asyncio.run(
        check_domain(
            domain, runtime, ports=ports, deep=deep, warn_days=warn_days, progress=progress
        )
    )
