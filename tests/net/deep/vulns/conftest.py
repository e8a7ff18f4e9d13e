"""Fixtures: an RSA leaf from the lab CA, its files, and a real Postfix with that leaf."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mxtls.lab.ca import Issued, LabCA
from mxtls.testing import PostfixInstance
from tests.peers import require_peer

from .doubles import MX

POSTFIX_HOST = "mx1.postfix-vulns.test"


@pytest.fixture(scope="session")
def vuln_ca() -> LabCA:
    return LabCA(name="mxtls vulns lab root")


@pytest.fixture(scope="session")
def rsa_leaf(vuln_ca: LabCA) -> Issued:
    """RSA-2048: ROBOT needs an RSA key exchange, the doubles need the private key."""
    return vuln_ca.issue([MX], key="rsa2048", key_slot=31)


@pytest.fixture(scope="session")
def rsa_files(rsa_leaf: Issued, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return rsa_leaf.write(tmp_path_factory.mktemp("vulns"), "leaf")


@pytest.fixture(scope="session")
def postfix_rsa(vuln_ca: LabCA) -> Iterator[PostfixInstance]:
    """A real Postfix (Debian) presenting an RSA leaf, on 25/465/587."""
    require_peer("Postfix", *PostfixInstance.available())
    issued = vuln_ca.issue([POSTFIX_HOST], key="rsa2048", key_slot=32)
    with PostfixInstance(POSTFIX_HOST, issued.chain_pem(), issued.key_pem()) as instance:
        yield instance
