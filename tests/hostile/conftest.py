"""Fixtures for the hostile-peer tests: one :class:`HostileWorld` per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from .peers import HostileWorld, hostile_world


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[HostileWorld]:
    async with hostile_world(tmp_path) as w:
        yield w
