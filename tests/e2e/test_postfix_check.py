"""mxtls against a real Postfix (Debian's) on loopback, good chain and broken chain.

Given a private Postfix instance presenting a lab certificate and a small
authoritative DNS publishing the domain's MX, when mxtls checks the domain,
then the findings are what a strict sender would conclude.
"""

from __future__ import annotations

import dataclasses

import dns.zone

from mxtls.config import CheckConfig, Timeouts
from mxtls.engine.run import check_domain
from mxtls.lab.dns_server import DnsServer
from mxtls.models.findings import Severity
from mxtls.models.observations import EndpointObservation
from mxtls.models.report import Report
from mxtls.testing import PostfixPeer


def _zone(domain: str, mx_host: str, ip: str) -> dns.zone.Zone:
    text = f"""
$ORIGIN {domain}.
$TTL 300
@       SOA ns.{domain}. hostmaster.{domain}. 1 3600 600 86400 300
@       NS  ns.{domain}.
ns      A   127.0.0.1
@       MX  10 {mx_host}.
@       CAA 0 issue "lab.invalid"
_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@{domain}"
_submissions._tcp SRV 0 1 465 {mx_host}.
_submission._tcp SRV 0 1 587 {mx_host}.
{mx_host}. A {ip}
"""
    return dns.zone.from_text(text, origin=domain, relativize=False)


async def _check(peer: PostfixPeer) -> Report:
    domain = peer.host.split(".", 1)[1]
    server = DnsServer([_zone(domain, peer.host, peer.ip)])
    ns = await server.start("127.0.0.1", 0)
    try:
        config = CheckConfig(
            nameservers=(ns,),
            ca_file=peer.ca_file,
            port_map=tuple(sorted(peer.port_map.items())),
            timeouts=Timeouts.uniform(5.0),
            ehlo_name="client.mxtls.invalid",
        )
        return await check_domain(domain, dataclasses.replace(config))
    finally:
        await server.stop()


def _all_endpoints(report: Report) -> list[EndpointObservation]:
    """The MX endpoints (port 25) and the submission ones the SRV records named."""
    assert report.submission is not None
    hosts = [*report.hosts, *report.submission.hosts]
    return [ep for host in hosts for ep in host.endpoints]


async def test_postfix_with_good_chain_is_clean(postfix_good: PostfixPeer) -> None:
    report = await _check(postfix_good)
    assert not report.internal_errors
    assert [f for f in report.findings if f.severity != Severity.INFO] == []
    # The MX is probed on 25, the relay path; 465 and 587 because SRV records name them.
    assert {(ep.port, ep.role) for ep in report.hosts[0].endpoints} == {(25, "mx")}
    assert report.submission is not None
    assert {t.port for t in report.submission.targets} == {465, 587}
    endpoints = _all_endpoints(report)
    assert {(ep.port, ep.role) for ep in endpoints} == {
        (25, "mx"),
        (465, "submission"),
        (587, "submission"),
    }
    assert "submission.not_advertised" not in {f.code for f in report.findings}
    for ep in endpoints:
        # Given Postfix sends leaf + intermediate, the whole chain is observed as sent.
        assert ep.handshake is not None and len(ep.handshake.chain) == 2
        assert ep.handshake.chain[0].sans == [postfix_good.host]
        assert ep.banner is not None and ep.banner.code == 220
        assert ep.ehlo_tls is not None and "PIPELINING" in ep.ehlo_tls.capabilities
        if ep.port != 465:
            assert ep.ehlo is not None and "STARTTLS" in ep.ehlo.capabilities


async def test_postfix_with_broken_chain_is_judged(postfix_broken: PostfixPeer) -> None:
    report = await _check(postfix_broken)
    assert not report.internal_errors
    serious = {
        (f.code, f.target.rsplit(":", 1)[1]) for f in report.findings if f.severity != Severity.INFO
    }
    # The leaf expired yesterday and names another host, on every port probed:
    # 25 (the MX) and 465/587 (named by SRV).
    for port in ("25", "465", "587"):
        assert ("cert.expired", port) in serious
        assert ("cert.hostname_mismatch", port) in serious
    assert {code for code, _ in serious} == {"cert.expired", "cert.hostname_mismatch"}
    assert {ep.port for ep in _all_endpoints(report)} == {25, 465, 587}
