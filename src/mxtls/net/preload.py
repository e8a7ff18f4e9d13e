"""Imports that libraries would otherwise make inside a running event loop.

Several libraries import parts of themselves the first time they are used:
dnspython the module of each record type and its asyncio backend, httpx its
transport (httpcore, h11) and anyio its asyncio backend, cryptography its
OpenSSL backend.  Inside a running event loop such an import stalls every
connection of every check at once, for tens of milliseconds each (an endpoint's
"connect" took 100 ms on loopback that way).  The modules of :mod:`mxtls.net`
call :func:`preload_modules` when they are imported, which is before any
check's loop runs; ``tests/engine/test_no_imports_in_loop.py`` keeps it so.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator


def preload_modules(*names: str) -> None:
    """Import ``names`` now; a name a library no longer has is skipped.

    Some of these modules are a library's private ones: when a release moves
    them, nothing breaks, the import merely happens later again (and the test
    above says so).
    """
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            continue


@contextlib.contextmanager
def skipping(name: str) -> Iterator[None]:
    """Within the block, ``import name`` fails, so a package that imports it
    optionally goes without (httpx imports its own command line, which loads
    click, rich and pygments, only if it can).

    The caller imports again outside the block should the package turn out to
    need the module after all.
    """
    if name in sys.modules:
        yield
        return
    sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        yield
    finally:
        if name in sys.modules and sys.modules[name] is None:
            del sys.modules[name]
