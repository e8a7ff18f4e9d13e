"""The public API is pinned: adding or removing a name is a deliberate change."""

from __future__ import annotations

import mxtls


def test_exported_members() -> None:
    exported = {name for name in dir(mxtls) if not name.startswith("_")} - {
        "cli",
        "checks",
        "config",
        "engine",
        "errors",
        "lab",
        "models",
        "net",
        "protocol",
        "render",
        "trust",
        "certinfo",
        "testing",
    }
    assert set(mxtls.__all__) - {"__version__"} == exported
    assert set(mxtls.__all__) == {
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
    }
