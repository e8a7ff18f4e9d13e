"""mxtls: is mail to a domain protected in transit, and will strict senders deliver?

Public API::

    report = mxtls.check_domain_sync("example.com")
    report = await mxtls.check_domain("example.com", mxtls.CheckConfig(ports=(25,)))
    for finding in report.findings: ...

Many checks share one runtime (resolver cache, trust store, DNSSEC state,
connection limits per address, clock)::

    runtime = mxtls.Runtime(mxtls.CheckConfig())
    reports = await asyncio.gather(
        *(mxtls.check_domain(d, runtime, ports=(25,)) for d in domains)
    )
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from mxtls._version import __version__
from mxtls.errors import ConfigError, InvalidDomain, MxtlsError

if _TYPE_CHECKING:  # pragma: no cover - for type checkers; at run time see __getattr__
    from mxtls.config import CheckConfig, Limits, Timeouts
    from mxtls.engine.run import check_domain, check_domain_sync
    from mxtls.engine.runtime import Runtime
    from mxtls.models.findings import Finding, Severity
    from mxtls.models.report import Report

# The heavy parts (engine, models, their dependencies) load on first use, so
# `import mxtls` and the command line's start-up stay cheap.
_LAZY = {
    "CheckConfig": "mxtls.config",
    "Limits": "mxtls.config",
    "Timeouts": "mxtls.config",
    "check_domain": "mxtls.engine.run",
    "check_domain_sync": "mxtls.engine.run",
    "Finding": "mxtls.models.findings",
    "Severity": "mxtls.models.findings",
    "Report": "mxtls.models.report",
    "Runtime": "mxtls.engine.runtime",
}


def __getattr__(name: str) -> _Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mxtls' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "CheckConfig",
    "ConfigError",
    "Finding",
    "InvalidDomain",
    "Limits",
    "MxtlsError",
    "Report",
    "Runtime",
    "Severity",
    "Timeouts",
    "__version__",
    "check_domain",
    "check_domain_sync",
]
