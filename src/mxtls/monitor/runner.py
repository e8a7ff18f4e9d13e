"""The one place the monitor calls the engine: every domain through one shared runtime.

Front ends stay thin: this module turns a :class:`DomainSpec` into a call of
the engine with the domain's per-check settings (ports, deep scan, warning
threshold) on top of the runtime-wide configuration.
"""

from __future__ import annotations

from dataclasses import replace

from mxtls.config import CheckConfig
from mxtls.engine.run import check_domain
from mxtls.models.report import Report
from mxtls.monitor.config import DomainSpec


class Checker:
    """Checks domains with one runtime configuration (resolver, trust store, limits)."""

    def __init__(self, config: CheckConfig) -> None:
        self.config = config

    async def check(self, spec: DomainSpec) -> Report:
        """Check ``spec.name`` with its own ports, deep-scan flag and warning threshold.

        Raises:
            InvalidDomain: the name is not a usable domain.
            ConfigError: a configuration value is unusable.
        """
        config = replace(self.config, ports=spec.ports, deep=spec.deep, warn_days=spec.warn_days)
        return await check_domain(spec.name, config)
