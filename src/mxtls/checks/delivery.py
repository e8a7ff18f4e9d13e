"""Delivery verdicts that follow from the SMTP observations alone (``delivery.*``).

``delivery.strict_senders_fail`` needs the domain's MTA-STS and DANE
policies and is judged where those are; what an *opportunistic* sender does
is already decided by what port 25 showed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from mxtls.checks._common import join_names
from mxtls.checks.codes import make_finding
from mxtls.checks.starttls import starttls_offered
from mxtls.models.findings import Finding
from mxtls.models.observations import Discovery, EndpointObservation

MX_PORT = 25  # RFC 5321 §4.5.4.1 / RFC 3207: MX-to-MX relay happens on port 25


def plaintext_only_reason(obs: EndpointObservation) -> str | None:
    """Why this port-25 session carried SMTP in clear, or None if TLS worked (or no SMTP).

    An SMTP session exists (EHLO or HELO answered) but no TLS session came of
    it: STARTTLS not offered, refused, or its handshake failed (opportunistic
    senders such as Postfix at ``may`` then retry in clear).
    """
    if obs.port != MX_PORT or obs.tls_mode != "starttls" or obs.ehlo is None:
        return None
    if obs.handshake is not None:
        return None
    offered = starttls_offered(obs)
    if offered is False:
        return "STARTTLS not offered"
    reply = obs.starttls_reply
    if reply is None:
        return None  # the session ended before STARTTLS could be tried: no verdict
    if reply.code != 220:
        return f"STARTTLS answered {reply.code}"
    if obs.handshake_error:
        return "TLS handshake failed"
    return None


def check_delivery(discovery: Discovery, endpoints: Sequence[EndpointObservation]) -> list[Finding]:
    """Report MX hosts that opportunistic senders can only reach in clear.

    Emits ``delivery.unencrypted_path`` (target DOMAIN, one per MX host).
    RFC 3207 §4: "A publicly-referenced SMTP server MUST NOT require use of
    the STARTTLS extension in order to deliver mail locally", so senders
    deliver without TLS wherever TLS is not available; any MX, a fallback one
    included, where that happens exposes the mail (RFC 8461 §1 and RFC 7672
    §1 exist to close exactly this downgrade).
    """
    domain = discovery.domain
    by_host: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for obs in endpoints:
        reason = plaintext_only_reason(obs)
        if reason is not None:
            by_host[obs.host][reason].append(obs.ip)
    findings: list[Finding] = []
    for host in sorted(by_host):
        parts = [f"{reason} on {join_names(ips)}" for reason, ips in sorted(by_host[host].items())]
        findings.append(
            make_finding(
                "delivery.unencrypted_path",
                domain,
                f"{domain}: mail to MX {host} goes without TLS on port {MX_PORT} "
                f"({'; '.join(parts)})",
            )
        )
    return findings
