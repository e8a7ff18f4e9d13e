"""End-to-end fixtures: real Postfix peers from Debian on loopback.

Each fixture starts a private Postfix instance (``mxtls.testing.PostfixInstance``)
with certificates from the lab CA and yields a ``mxtls.testing.PostfixPeer``.  They skip, with the
reason printed, only when Postfix is not installed here (``scripts/install-system``
installs it on Debian as root).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from mxtls.config import CheckConfig
from mxtls.engine.run import check_domain
from mxtls.lab.ca import Issued, LabCA
from mxtls.lab.world import Lab
from mxtls.models.report import Report
from mxtls.testing import PostfixInstance, PostfixPeer
from tests.peers import require_peer

POSTFIX_GOOD_HOST = "mx1.postfix-good.test"
POSTFIX_BROKEN_HOST = "mx1.postfix-broken.test"
POSTFIX_BROKEN_CERT_NAME = "mail.elsewhere.test"  # the name the broken leaf is for
POSTFIX_BROKEN_DAYS = (-100, -1)  # notBefore/notAfter offsets: expired yesterday
LAB_REPORTS_AT_ONCE = 8


@pytest.fixture(scope="session")
def lab_reports(lab: Lab, lab_cfg: CheckConfig) -> dict[str, Report]:
    """One report per lab domain, checked once for the whole session."""
    # A few domains at a time: all 60+ at once on two cores would measure the
    # machine's load, not the lab's behaviour.
    gate = asyncio.Semaphore(LAB_REPORTS_AT_ONCE)

    async def one(domain: str) -> Report:
        async with gate:
            return await check_domain(domain, lab_cfg)

    async def run_all() -> list[Report]:
        return await asyncio.gather(*(one(d) for d in lab.domains))

    return dict(zip(lab.domains, asyncio.run(run_all(), debug=True), strict=True))


def _require_postfix() -> None:
    require_peer("Postfix", *PostfixInstance.available())


@pytest.fixture(scope="session")
def postfix_lab_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[LabCA, Path]:
    """One lab CA for the Postfix peers, and its root written as a PEM file."""
    ca = LabCA(name="mxtls postfix lab root")
    return ca, ca.write_root(tmp_path_factory.mktemp("postfix-ca") / "root.pem")


def _peer(host: str, issued: Issued, ca: LabCA, ca_file: Path) -> Iterator[PostfixPeer]:
    _require_postfix()
    with PostfixInstance(host, issued.chain_pem(), issued.key_pem()) as instance:
        yield PostfixPeer(
            host=host,
            ip=instance.ip,
            port_map=instance.port_map,
            ca_file=ca_file,
            ca=ca,
            issued=issued,
            instance=instance,
        )


@pytest.fixture(scope="session")
def postfix_good(postfix_lab_ca: tuple[LabCA, Path]) -> Iterator[PostfixPeer]:
    """Postfix presenting a valid leaf for its MX name plus the intermediate."""
    ca, ca_file = postfix_lab_ca
    issued = ca.issue([POSTFIX_GOOD_HOST], key_slot=11)
    yield from _peer(POSTFIX_GOOD_HOST, issued, ca, ca_file)


@pytest.fixture(scope="session")
def postfix_broken(postfix_lab_ca: tuple[LabCA, Path]) -> Iterator[PostfixPeer]:
    """Postfix presenting an expired leaf for another name (intermediate sent)."""
    ca, ca_file = postfix_lab_ca
    issued = ca.issue([POSTFIX_BROKEN_CERT_NAME], key_slot=12, days_valid=POSTFIX_BROKEN_DAYS)
    yield from _peer(POSTFIX_BROKEN_HOST, issued, ca, ca_file)
