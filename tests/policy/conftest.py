"""Fixtures for the policy tests: a lab CA, leaf certificates, and a per-test world."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mxtls.lab.ca import Issued, LabCA
from mxtls.trust.store import TrustStore

from .servers import POLICY_HOST, PolicyWorld


@pytest.fixture(scope="session")
def ca() -> LabCA:
    return LabCA()


@pytest.fixture(scope="session")
def trust(ca: LabCA) -> TrustStore:
    return TrustStore.from_pem(ca.root_pem(), "lab root")


@pytest.fixture(scope="session")
def good_cert(ca: LabCA) -> Issued:
    return ca.issue([POLICY_HOST])


@pytest.fixture(scope="session")
def wrong_name_cert(ca: LabCA) -> Issued:
    return ca.issue(["www.example.lab"])


@pytest.fixture(scope="session")
def untrusted_cert() -> Issued:
    return LabCA(name="mxtls untrusted root", slot=1).issue([POLICY_HOST])


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[PolicyWorld]:
    w = PolicyWorld(cert_dir=tmp_path)
    try:
        yield w
    finally:
        await w.aclose()
