"""Downgrade-protection data of the lab: MTA-STS, TLS-RPT and TLSA records, as published.

The table tests keep the rows consistent with what they publish; the DNS
tests ask the lab server with plain dnspython; the TLSA tests compare the
published records with the chain the SMTP listener really sends.
"""

from __future__ import annotations

import dns.rcode
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from mxtls.checks.codes import CODES
from mxtls.lab.dnssec import DnssecMode
from mxtls.lab.scenarios import BACKGROUND_CODES, SCENARIOS, scenario_table
from mxtls.lab.world import Lab
from mxtls.protocol.mta_sts import MtaStsPolicy, MtaStsRecord, mx_matches_pattern
from mxtls.protocol.tlsa import generate_tlsa

from .lab_clients import peer_chain, query

SECTIONS = ("MTA-STS (RFC 8461)", "TLS-RPT (RFC 8460)", "DNSSEC and DANE (RFC 7672, RFC 7671)")


def txt_strings(world: Lab, name: str) -> list[str]:
    r = query(world.nameserver, name, "TXT", tcp=True)
    assert r.rcode() == dns.rcode.NOERROR, name
    return [b"".join(rd.strings).decode() for rrset in r.answer for rd in rrset]


def tlsa_texts(world: Lab, host: str) -> set[str]:
    r = query(world.nameserver, f"_25._tcp.{host}", "TLSA", tcp=True)
    return {rd.to_text() for rrset in r.answer for rd in rrset}


# -- the table ---------------------------------------------------------------------------


def test_every_downgrade_code_has_a_scenario() -> None:
    wanted = {c.code for c in CODES.values() if c.section in SECTIONS}
    assert len(wanted) >= 18  # the section names above are the catalog's
    covered = set().union(*(sc.expected | sc.background for sc in SCENARIOS))
    assert wanted - covered == set()


def test_background_codes_follow_what_a_row_publishes() -> None:
    table = scenario_table()
    # The fully protected domain may report nothing at all.
    assert table["secure.lab"].allowed == frozenset() and table["secure.lab"].demo
    for sc in SCENARIOS:
        assert sc.background <= BACKGROUND_CODES
        assert ("mta_sts.missing" in sc.background) == (sc.mta_sts is None), sc.domain
        unsigned = sc.dnssec is DnssecMode.UNSIGNED
        assert ("dnssec.unsigned" in sc.background) == unsigned, sc.domain
        srv = any(" SRV " in r and r.startswith("_submission") for r in sc.records)
        assert ("submission.not_advertised" in sc.background) == (not srv), sc.domain
        # A row without the stock TLS-RPT record publishes its own or expects it missing.
        own_rpt = any(r.startswith(f"_smtp._tls.{sc.domain}.") for r in sc.records)
        if not sc.tls_rpt and sc.hosts:
            assert own_rpt or "tls_rpt.missing" in sc.expected, sc.domain
        if sc.tls_rpt or own_rpt:
            assert "tls_rpt.missing" not in sc.allowed, sc.domain
        if any(c.startswith("dane.") for c in sc.expected) and "dane.insecure_tlsa" not in (
            sc.expected
        ):
            assert sc.dnssec is DnssecMode.SIGNED, sc.domain


# -- what DNS says -------------------------------------------------------------------------


def test_secure_lab_publishes_every_protection(world: Lab) -> None:
    # MTA-STS TXT with an id, a policy host with an address
    (record,) = txt_strings(world, "_mta-sts.secure.lab")
    assert MtaStsRecord.parse(record).id
    r = query(world.nameserver, "mta-sts.secure.lab", "A")
    assert [rd.address for rd in r.answer[0]] == [world.address("mta-sts.secure.lab")]
    # TLS-RPT and CAA
    assert txt_strings(world, "_smtp._tls.secure.lab") == [
        "v=TLSRPTv1; rua=mailto:tlsrpt@secure.lab"
    ]
    assert query(world.nameserver, "secure.lab", "CAA").answer
    # a policy that enforces, covers the MX and lasts a week
    policy = MtaStsPolicy.parse(world.policy_hosts["mta-sts.secure.lab"].policy)
    assert policy.mode.value == "enforce" and policy.max_age == 604800
    assert all(
        any(mx_matches_pattern(h, p) for p in policy.mx)
        for h in world.hosts
        if h.endswith(".secure.lab")
    )


@pytest.mark.parametrize(
    ("domain", "count"), [("sts-badtxt.lab", 1), ("sts-twotxt.lab", 2), ("good.lab", 0)]
)
def test_mta_sts_txt_records(world: Lab, domain: str, count: int) -> None:
    r = query(world.nameserver, f"_mta-sts.{domain}", "TXT", tcp=True)
    if not count:
        assert r.rcode() == dns.rcode.NXDOMAIN
        return
    strings = txt_strings(world, f"_mta-sts.{domain}")
    assert len(strings) == count and all(s.startswith("v=STSv1;") for s in strings)


def test_tls_rpt_variants(world: Lab) -> None:
    r = query(world.nameserver, "_smtp._tls.rpt-missing.lab", "TXT")
    assert r.rcode() == dns.rcode.NXDOMAIN
    (bad,) = txt_strings(world, "_smtp._tls.rpt-invalid.lab")
    assert "rua=ftp:" in bad
    assert len(txt_strings(world, "_smtp._tls.rpt-two.lab")) == 2


def test_policy_of_sts_mxmissing_leaves_out_mx2(world: Lab) -> None:
    policy = MtaStsPolicy.parse(world.policy_hosts["mta-sts.sts-mxmissing.lab"].policy)
    assert policy.allows_mx("mx1.sts-mxmissing.lab")
    assert not policy.allows_mx("mx2.sts-mxmissing.lab")


# -- TLSA against the live chain ------------------------------------------------------------


def live_chain_der(world: Lab, host: str) -> list[bytes]:
    chain = peer_chain(world.address(host), world.port_map[25], starttls=True, sni=host)
    return [c.public_bytes(Encoding.DER) for c in chain]


@pytest.mark.parametrize("domain", ["secure.lab", "dane-good.lab", "dane-insecure.lab"])
def test_tlsa_records_match_the_chain_the_mx_sends(world: Lab, domain: str) -> None:
    # Given the chain the SMTP listener really sends after STARTTLS
    host = f"mx.{domain}"
    leaf, intermediate = live_chain_der(world, host)
    # Then the published records are DANE-EE for that leaf and DANE-TA for that intermediate
    assert tlsa_texts(world, host) == {
        generate_tlsa(leaf, 3, 1, 1),
        generate_tlsa(intermediate, 2, 1, 1),
    }


def test_mismatch_pkix_and_single_records(world: Lab) -> None:
    leaf, intermediate = live_chain_der(world, "mx.dane-mismatch.lab")
    mismatch = tlsa_texts(world, "mx.dane-mismatch.lab")
    assert len(mismatch) == 2 and {t.split()[0] for t in mismatch} == {"2", "3"}
    for cert in (leaf, intermediate):
        for usage in (2, 3):
            assert generate_tlsa(cert, usage, 1, 1) not in mismatch
    leaf, intermediate = live_chain_der(world, "mx.dane-pkix.lab")
    assert tlsa_texts(world, "mx.dane-pkix.lab") == {
        generate_tlsa(leaf, 1, 1, 1),
        generate_tlsa(intermediate, 0, 1, 1),
    }
    leaf, _ = live_chain_der(world, "mx.dane-single.lab")
    assert tlsa_texts(world, "mx.dane-single.lab") == {generate_tlsa(leaf, 3, 1, 1)}
    assert tlsa_texts(world, "mx.dane-missing.lab") == set()
