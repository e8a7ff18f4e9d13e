"""Fixtures for the lab tests: one full lab for the session.

The lab runs on its own loop in a background thread (``Lab.start()``), so the
plain blocking clients of ``lab_clients`` can talk to it from any test.  The
fixture is named ``world`` so it does not shadow the suite-wide ``lab``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mxtls.lab.world import Lab


@pytest.fixture(scope="session")
def world() -> Iterator[Lab]:
    lab = Lab().start()
    try:
        if lab.notes:
            print("lab notes:", "; ".join(lab.notes))
        yield lab
    finally:
        lab.stop()
