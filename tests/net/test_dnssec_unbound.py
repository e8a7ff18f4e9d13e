"""AD mode through a real unbound validating our hierarchy from our trust anchor."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from mxtls.config import CheckConfig, Timeouts
from mxtls.lab.dns_server import DnsServer
from mxtls.net.dnssec import DnssecProbe
from mxtls.testing.unbound import UnboundInstance
from tests.dnssec_hierarchy import BOGUS_ADDRESS, Hierarchy
from tests.peers import require_peer

pytestmark = pytest.mark.unbound

AVAILABLE, WHY_NOT = UnboundInstance.available()


@pytest.fixture(scope="module")
def unbound(
    authority: DnsServer, anchor_file: Path, hierarchy: Hierarchy
) -> Iterator[UnboundInstance]:
    require_peer("unbound", AVAILABLE, WHY_NOT)
    # Every served zone is a stub: the NS names of the children resolve to
    # 127.0.0.1 port 53, where no lab server listens.
    zones = [f"{origin}." for origin in hierarchy.zones]
    with UnboundInstance(authority.address, zones=zones, trust_anchor_file=anchor_file) as instance:
        yield instance


def ask(unbound: UnboundInstance, qname: str, rdtype: str, *, cd: bool) -> dns.message.Message:
    query = dns.message.make_query(qname, rdtype, want_dnssec=True)
    if cd:
        query.flags |= dns.flags.CD
    return dns.query.udp(query, unbound.ip, port=unbound.port, timeout=3.0)


def probe_for(unbound: UnboundInstance, *, validate: bool, anchor: Path | None) -> DnssecProbe:
    config = CheckConfig(
        nameservers=(unbound.address,),
        dnssec_validate=validate,
        trust_anchor=anchor,
        timeouts=Timeouts.uniform(2.0),
    )
    return DnssecProbe(config)


def test_unbound_validates_our_hierarchy(unbound: UnboundInstance) -> None:
    # Secure data comes with AD
    good = ask(unbound, "mx.good.lab", "A", cd=False)
    assert good.rcode() == dns.rcode.NOERROR and good.flags & dns.flags.AD
    # Insecure data without AD
    plain = ask(unbound, "mx.plain.lab", "A", cd=False)
    assert plain.rcode() == dns.rcode.NOERROR and not plain.flags & dns.flags.AD
    # Bogus data is SERVFAIL, but comes back with CD=1
    assert ask(unbound, "mx.bogus.lab", "A", cd=False).rcode() == dns.rcode.SERVFAIL
    unchecked = ask(unbound, "mx.bogus.lab", "A", cd=True)
    assert unchecked.rcode() == dns.rcode.NOERROR
    assert [rd.to_text() for rd in unchecked.answer[0]] == [BOGUS_ADDRESS]
    # and unbound says why in its log (val-log-level: 2)
    assert "validation failure" in unbound.log_path.read_text()


@pytest.mark.parametrize(
    ("qname", "rdtype", "expected"),
    [
        ("good.lab", "MX", "secure"),
        ("_25._tcp.mx.good.lab", "TLSA", "secure"),
        ("nope.good.lab", "A", "secure"),  # a validated NXDOMAIN
        ("plain.lab", "MX", "insecure"),
        ("toplain.good.lab", "A", "insecure"),
        ("mx.bogus.lab", "A", "bogus"),
        ("tobogus.good.lab", "A", "bogus"),
        ("wrongds.lab", "MX", "bogus"),
        ("stripped.lab", "MX", "bogus"),
    ],
)
async def test_ad_mode_classifies(
    unbound: UnboundInstance, qname: str, rdtype: str, expected: str
) -> None:
    result = await probe_for(unbound, validate=False, anchor=None).status(qname, rdtype)
    assert result.mode == "ad"
    assert result.status == expected, result.reason
    if expected == "bogus":
        assert result.reason is not None and "CD=1" in result.reason


@pytest.mark.parametrize(
    ("qname", "rdtype", "expected"),
    [
        ("good.lab", "MX", "secure"),
        ("mx.plain.lab", "A", "insecure"),
        ("mx.bogus.lab", "A", "bogus"),
        ("stripped.lab", "MX", "bogus"),
    ],
)
async def test_validate_mode_over_a_validating_resolver(
    unbound: UnboundInstance, anchor_file: Path, qname: str, rdtype: str, expected: str
) -> None:
    # CD=1 makes unbound hand over what it got; mxtls then judges it itself.
    result = await probe_for(unbound, validate=True, anchor=anchor_file).status(qname, rdtype)
    assert result.mode == "validate"
    assert result.status == expected, result.reason
