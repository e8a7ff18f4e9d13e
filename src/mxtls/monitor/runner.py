"""The one place the monitor calls the engine: every domain through one shared runtime.

Front ends stay thin: this module builds the monitor's one
:class:`~mxtls.engine.runtime.Runtime` (resolver and answer cache, trust
store, DNSSEC state, connection slots per address, clock) from the
runtime-wide settings, and checks each domain through it with the domain's
own per-check settings (ports, deep scan, warning threshold).  Domains that
share a provider's MX therefore share its politeness budget.
"""

from __future__ import annotations

from typing import Protocol

from mxtls.config import CheckConfig
from mxtls.engine.run import check_domain
from mxtls.engine.runtime import Runtime
from mxtls.models.report import Report
from mxtls.monitor.config import DomainSpec


class DomainChecker(Protocol):
    """What the monitor needs from a checker (the scheduling tests stand one in)."""

    async def check(self, spec: DomainSpec) -> Report:
        """Check one domain."""
        ...


class Checker:
    """Checks domains through one runtime.

    Raises:
        ConfigError: an unusable runtime setting (CA file, trust anchor, limits).
    """

    def __init__(self, config: CheckConfig) -> None:
        self.config = config
        self.runtime = Runtime(config)

    async def check(self, spec: DomainSpec) -> Report:
        """Check ``spec.name`` with its own ports, deep-scan flag and warning threshold.

        Raises:
            InvalidDomain: the name is not a usable domain.
        """
        return await check_domain(
            spec.name, self.runtime, ports=spec.ports, deep=spec.deep, warn_days=spec.warn_days
        )
