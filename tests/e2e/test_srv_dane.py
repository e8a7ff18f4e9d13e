"""DANE for hosts named by RFC 6186 SRV records: RFC 7673 §3 lookups, RFC 6698 usage rules.

Given a private lab with two domains that name each other's IMAP hosts:

* ``srv-signed.lab`` (signed) names its own ``mail.srv-signed.lab``, whose
  certificate comes from a CA no trust store knows, with a PKIX-EE record
  on 993 and a DANE-EE record on 995, and ``mail.srv-unsigned.lab``, whose
  TLSA record sits in an unsigned zone;
* ``srv-unsigned.lab`` (unsigned) names ``mail.srv-signed.lab`` too,

when each domain is checked, then TLSA records are looked up only for hosts
named by secure SRV answers, PKIX-EE fails where PKIX validation fails while
DANE-EE authenticates the same certificate, and TLSA records of a host
whose address is not secure are reported as ignored.
"""

from __future__ import annotations

from types import MappingProxyType

from mxtls.cli.demo import lab_config
from mxtls.engine.run import check_domain
from mxtls.lab.dnssec import DnssecMode
from mxtls.lab.mailbox_server import MailboxMode
from mxtls.lab.scenarios import RELAY_ONLY, ROLLOVER, CertSpec, HostSpec, Scenario, TlsaSpec
from mxtls.lab.world import Lab
from mxtls.models.report import Report

SIGNED_HOST = "mail.srv-signed.lab"
UNSIGNED_HOST = "mail.srv-unsigned.lab"
IMAPS_POP3S = MappingProxyType({993: MailboxMode.GOOD, 995: MailboxMode.GOOD})

ROWS = (
    Scenario(
        domain="srv-signed.lab",
        description="signed; SRV names a rogue-CA IMAP host and a host in an unsigned zone",
        expected=frozenset(),
        hosts=(
            HostSpec(name="mx.srv-signed.lab", ports=RELAY_ONLY, tlsa=ROLLOVER),
            HostSpec(
                name=SIGNED_HOST,
                ports=IMAPS_POP3S,
                cert=CertSpec(issuer="rogue"),
                tlsa=(TlsaSpec(usage=1, port=993), TlsaSpec(usage=3, port=995)),
            ),
        ),
        records=(
            f"_imaps._tcp.srv-signed.lab. SRV 0 1 993 {SIGNED_HOST}.",
            f"_pop3s._tcp.srv-signed.lab. SRV 0 1 995 {SIGNED_HOST}.",
            f"_imap._tcp.srv-signed.lab. SRV 0 1 143 {UNSIGNED_HOST}.",
        ),
        dnssec=DnssecMode.SIGNED,
    ),
    Scenario(
        domain="srv-unsigned.lab",
        description="unsigned; SRV names the signed domain's IMAP host",
        expected=frozenset(),
        hosts=(
            HostSpec(name="mx.srv-unsigned.lab", ports=RELAY_ONLY),
            HostSpec(
                name=UNSIGNED_HOST,
                ports=MappingProxyType({143: MailboxMode.GOOD}),
                tlsa=(TlsaSpec(port=143),),
            ),
        ),
        records=(f"_imaps._tcp.srv-unsigned.lab. SRV 0 1 993 {SIGNED_HOST}.",),
    ),
)


def _at(report: Report, code: str) -> set[str]:
    return {f.target for f in report.findings if f.code == code}


async def test_tlsa_of_srv_targets_follows_the_srv_answer_s_security() -> None:
    async with Lab(ROWS) as lab:
        config = lab_config(lab, timeout=4.0)
        signed = await check_domain("srv-signed.lab", config)
        unsigned = await check_domain("srv-unsigned.lab", config)
        ip = lab.address(SIGNED_HOST)

    # A secure SRV answer: the targets' TLSA records are looked up on the ports named
    assert signed.dane is not None
    looked_up = {(lk.host, lk.port) for lk in signed.dane.lookups}
    assert {(SIGNED_HOST, 993), (SIGNED_HOST, 995), (UNSIGNED_HOST, 143)} <= looked_up
    # PKIX-EE(1) is usable for IMAP, but the chain fails PKIX validation (a rogue CA)
    assert _at(signed, "dane.mismatch") == {f"{SIGNED_HOST}[{ip}]:993"}
    [mismatch] = [f for f in signed.findings if f.code == "dane.mismatch"]
    assert "PKIX validation" in mismatch.message
    # ... while DANE-EE(3) authenticates the same certificate on 995 (no PKIX involved)
    [pop3s] = [r for r in signed.dane.endpoints if (r.host, r.port) == (SIGNED_HOST, 995)]
    assert pop3s.authenticated
    assert _at(signed, "cert.untrusted") == {f"{SIGNED_HOST}[{ip}]:993", f"{SIGNED_HOST}[{ip}]:995"}
    # The host in the unsigned zone: its TLSA records are ignored, and said so
    assert _at(signed, "dane.insecure_tlsa") == {UNSIGNED_HOST}
    assert signed.mailbox is not None
    statuses = {(r.qname, r.rdtype): r.status for r in signed.mailbox.dnssec}
    assert statuses[("_imaps._tcp.srv-signed.lab", "SRV")] == "secure"
    assert statuses[(UNSIGNED_HOST, "A")] == "insecure"
    assert not _at(signed, "dnssec.unsigned") & {UNSIGNED_HOST}  # not an MX host's fault

    # An insecure SRV answer (RFC 7673 §3): no TLSA lookup for what it names,
    # so the failing PKIX-EE record of the very same host is not judged
    lookups = unsigned.dane.lookups if unsigned.dane is not None else []
    assert not [lk for lk in lookups if lk.host == SIGNED_HOST]
    assert not {f.code for f in unsigned.findings if f.target.startswith(SIGNED_HOST)} & {
        "dane.mismatch",
        "dane.insecure_tlsa",
    }
    assert unsigned.mailbox is not None
    assert [r.status for r in unsigned.mailbox.dnssec] == ["insecure"]
