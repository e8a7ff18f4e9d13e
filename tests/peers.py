"""Real peers (Postfix, unbound, Debian's data packages …): skip, or fail under CI.

Every test that needs a real server or a Debian package goes through
:func:`require_peer`.  Locally a missing peer skips the test with its
reason (pytest runs with ``-rs``, so the reason is printed).  With
``MXTLS_REQUIRE_PEERS=1`` in the environment (``.ci/run`` sets it) a
missing peer fails the test instead, so CI can never go green without the
real peers it is meant to test against.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_PEERS_ENV = "MXTLS_REQUIRE_PEERS"


def peers_required() -> bool:
    """True when a missing real peer must fail the run (``MXTLS_REQUIRE_PEERS=1``)."""
    return os.environ.get(REQUIRE_PEERS_ENV, "").strip() not in ("", "0")


def require_peer(what: str, available: bool, reason: str = "") -> None:
    """Skip (or, under ``MXTLS_REQUIRE_PEERS=1``, fail) unless ``what`` is available.

    Args:
        what: the peer, as a reader knows it (``"Postfix"``, ``"unbound"``,
            ``"dns-root-data"``).
        available: whether it can be used here.
        reason: why not (printed with the skip or the failure).
    """
    if available:
        return
    message = f"{what} not available: {reason}" if reason else f"{what} not available"
    if peers_required():
        pytest.fail(f"{message} ({REQUIRE_PEERS_ENV}=1: real peers are required)", pytrace=False)
    pytest.skip(message)
