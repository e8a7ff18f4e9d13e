"""The public API is pinned: adding or removing a name is a deliberate change."""

from __future__ import annotations

import inspect

import mxtls

EXPECTED = {
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
}


def test_exported_members() -> None:
    assert set(mxtls.__all__) == EXPECTED
    for name in mxtls.__all__:
        assert hasattr(mxtls, name), name  # lazy names resolve on first use
    # Every public non-module attribute of the package is exported on purpose.
    public = {
        name
        for name, value in vars(mxtls).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public == EXPECTED - {"__version__"}
