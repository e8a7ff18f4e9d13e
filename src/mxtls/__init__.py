"""mxtls: is mail to a domain protected in transit, and will strict senders deliver?

Public API::

    report = mxtls.check_domain_sync("example.com")
    report = await mxtls.check_domain("example.com", mxtls.CheckConfig(ports=(25,)))
    for finding in report.findings: ...
"""

from mxtls._version import __version__
from mxtls.config import CheckConfig, Limits, Timeouts
from mxtls.engine.run import check_domain, check_domain_sync
from mxtls.errors import ConfigError, InvalidDomain, MxtlsError
from mxtls.models.findings import Finding, Severity
from mxtls.models.report import Report

__all__ = [
    "CheckConfig",
    "ConfigError",
    "Finding",
    "InvalidDomain",
    "Limits",
    "MxtlsError",
    "Report",
    "Severity",
    "Timeouts",
    "__version__",
    "check_domain",
    "check_domain_sync",
]
