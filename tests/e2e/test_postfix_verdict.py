"""The delivery verdict against real Postfix instances (Debian's), on loopback.

Given private Postfix MX hosts for one domain, published by a small
authoritative DNS server, when mxtls checks the domain, then the verdict is
what a sender would live through: one MX that answers 421 to everyone does
not stop delivery to the other; if every MX does, nobody can deliver
(``delivery.no_reachable_mx``), and the run fails.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import dns.zone
import pytest

from mxtls.config import CheckConfig, Timeouts
from mxtls.engine.run import check_domain
from mxtls.lab.ca import LabCA
from mxtls.lab.dns_server import DnsServer
from mxtls.models.findings import Severity
from mxtls.models.report import Report
from mxtls.testing import PostfixInstance
from tests.peers import require_peer

DOMAIN = "verdict.test"
# Postfix's anvil lets one connection per client in an hour (the harness's
# readiness probe takes it) and greets every later one with "421 4.7.0 ...
# Error: too many connections", loopback clients included.
BUSY = {
    "smtpd_client_connection_rate_limit": "1",
    "anvil_rate_time_unit": "3600s",
    "smtpd_client_event_limit_exceptions": "",
}


@pytest.fixture(scope="module")
def ca() -> LabCA:
    return LabCA(name="mxtls verdict root")


IPS = ("127.0.0.41", "127.0.0.42", "127.0.0.43")


def _common_port() -> int:
    """A port number free on every address (each Postfix listens on its own address)."""
    for _ in range(20):
        with socket.socket() as probe:
            probe.bind((IPS[0], 0))
            port: int = probe.getsockname()[1]
        try:
            for ip in IPS[1:]:
                with socket.socket() as other:
                    other.bind((ip, port))
        except OSError:
            continue
        return port
    raise OSError("no port number is free on every test address")


@pytest.fixture(scope="module")
def postfixes(ca: LabCA) -> Iterator[list[PostfixInstance]]:
    """mx1 healthy; mx2 and mx3 answer 421 to every client; port 25 only."""
    require_peer("Postfix", *PostfixInstance.available())
    port = _common_port()
    with ExitStack() as stack:
        peers = []
        for i, (ip, settings) in enumerate(zip(IPS, ({}, BUSY, BUSY), strict=True)):
            host = f"mx{i + 1}.{DOMAIN}"
            issued = ca.issue([host], key_slot=41 + i)
            peers.append(
                stack.enter_context(
                    PostfixInstance(
                        host,
                        issued.chain_pem(),
                        issued.key_pem(),
                        ip=ip,
                        ports={25: port},
                        settings=settings,
                    )
                )
            )
        yield peers


async def _check(mx: list[PostfixInstance], ca_file: Path) -> Report:
    lines = [
        f"$ORIGIN {DOMAIN}.",
        "$TTL 300",
        f"@ SOA ns.{DOMAIN}. hostmaster.{DOMAIN}. 1 3600 600 86400 300",
        f"@ NS ns.{DOMAIN}.",
        "ns A 127.0.0.1",
    ]
    for i, pf in enumerate(mx, start=1):
        lines += [f"@ MX {10 * i} {pf.hostname}.", f"{pf.hostname}. A {pf.ip}"]
    zone = dns.zone.from_text("\n".join(lines) + "\n", origin=DOMAIN, relativize=False)
    server = DnsServer([zone])
    ns = await server.start("127.0.0.1", 0)
    ports = {pf.port_map[25] for pf in mx}
    assert len(ports) == 1, "every instance listens on the same local port"
    try:
        config = CheckConfig(
            nameservers=(ns,),
            ca_file=ca_file,
            port_map=((25, ports.pop()),),
            timeouts=Timeouts.uniform(5.0),
            ehlo_name="client.mxtls.invalid",
        )
        return await check_domain(DOMAIN, config)
    finally:
        await server.stop()


@pytest.fixture(scope="module")
def ca_file(ca: LabCA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ca.write_root(tmp_path_factory.mktemp("verdict-ca") / "root.pem")


async def test_one_busy_mx_of_two_does_not_stop_delivery(
    postfixes: list[PostfixInstance], ca_file: Path
) -> None:
    # Given mx1 (healthy) and mx2 (421 to every client at connect),
    report = await _check(postfixes[:2], ca_file)
    assert not report.internal_errors
    codes = {f.code for f in report.findings}
    # then mx2's pushback is reported, senders still deliver through mx1.
    assert "smtp.rate_limited" in codes
    assert "delivery.no_reachable_mx" not in codes
    assert not report.fails(Severity.ERROR)
    senders = {s.sender: s for s in report.verdict.senders}
    assert senders["opportunistic"].outcome == "delivers_partly"
    down = [m for m in senders["opportunistic"].mx if not m.delivers]
    assert [m.host for m in down] == [f"mx2.{DOMAIN}"] and "421" in down[0].reason


async def test_every_mx_answering_421_means_nobody_can_deliver(
    postfixes: list[PostfixInstance], ca_file: Path
) -> None:
    # Given only the two busy Postfix instances as MX hosts,
    report = await _check(postfixes[1:], ca_file)
    assert not report.internal_errors
    # then no MX host takes a session: an error, and the verdict says so per host.
    (finding,) = [f for f in report.findings if f.code == "delivery.no_reachable_mx"]
    assert finding.severity is Severity.ERROR and finding.target == DOMAIN
    opportunistic = report.verdict.senders[0]
    assert opportunistic.outcome == "unreachable"
    assert opportunistic.summary.startswith("cannot deliver")
    assert {m.host for m in opportunistic.mx} == {f"mx2.{DOMAIN}", f"mx3.{DOMAIN}"}
    assert report.fails(Severity.ERROR)
