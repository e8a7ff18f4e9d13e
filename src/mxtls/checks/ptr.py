"""Reverse DNS checks: PTR present, forward-confirmed, and the names a server gives (``ptr.*``).

RFC 1912 §2.1: "every Internet-reachable host should have a name" and "make
sure your PTR and A records match"; large receivers refuse or downgrade mail
from addresses without forward-confirmed reverse DNS.  For an MX host that
is about the mail it *sends* (many MX hosts also relay outbound mail), and
web checkers show it beside the SMTP test.  A reverse lookup that failed
(SERVFAIL, REFUSED, timeout) says nothing and is never judged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mxtls.checks._common import join_names, quote
from mxtls.checks.codes import make_finding
from mxtls.models.findings import Finding, endpoint_target
from mxtls.models.observations import EndpointObservation
from mxtls.models.ptr import ReverseDns

RELAY_PORT = 25


def given_names(obs: EndpointObservation) -> list[str]:
    """The names the server gave itself: first word of its banner and of its EHLO answer."""
    hello = obs.ehlo or obs.ehlo_tls
    replies = [(obs.banner, 220), (hello.reply if hello is not None else None, 250)]
    names: list[str] = []
    for reply, success in replies:
        # RFC 5321 §4.2: "220 <domain>", "250 <domain>": only a greeting names the host.
        if reply is None or reply.code != success or not reply.lines or not reply.lines[0].split():
            continue
        word = reply.lines[0].split()[0].rstrip(".").lower()
        looks_like_name = "." in word and any(c.isalpha() for c in word)
        if looks_like_name and not word.startswith("[") and word not in names:
            names.append(word)
    return names


def check_ptr(
    host: str, reverse: Mapping[str, ReverseDns], endpoints: Sequence[EndpointObservation]
) -> list[Finding]:
    """Judge the reverse DNS of each address of ``host``.

    Emits:
        ``ptr.missing`` — the address has no PTR record (NXDOMAIN or no data).
        ``ptr.mismatch`` — PTR names exist but none resolves back to the
        address: no forward-confirmed reverse DNS (RFC 1912 §2.1).
        ``ptr.name_differs`` — the name in the banner or EHLO answer is
        neither a PTR name of the address nor the MX host name (RFC 5321
        §4.1.3 asks the greeting to name the host; receivers compare them).
    """
    mx = host.rstrip(".").lower()
    findings: list[Finding] = []
    for address, rev in reverse.items():
        here = [ep for ep in endpoints if ep.ip == address]
        ports = {ep.port for ep in here}
        # The relay port when it was probed (MX hosts), else the first port named.
        port = RELAY_PORT if RELAY_PORT in ports or not ports else min(ports)
        target = endpoint_target(host, address, port)
        if rev.status == "failed":
            continue
        if rev.status == "missing":
            findings.append(
                make_finding(
                    "ptr.missing",
                    target,
                    f"{target}: {address} has no PTR record ({rev.ptr.status} for "
                    f"{rev.ptr.qname}); receivers distrust mail from unnamed addresses",
                )
            )
        elif rev.status == "unconfirmed":
            findings.append(
                make_finding(
                    "ptr.mismatch",
                    target,
                    f"{target}: PTR {join_names(rev.names)} does not resolve back to {address} "
                    "(no forward-confirmed reverse DNS)",
                )
            )
        known = {mx, *rev.names}
        strangers = [n for ep in here for n in given_names(ep) if n not in known]
        if strangers:
            ptr = join_names(rev.names) if rev.names else "absent"
            findings.append(
                make_finding(
                    "ptr.name_differs",
                    target,
                    f"{target}: the server calls itself {quote(strangers[0])} in its banner or "
                    f"EHLO answer; its PTR is {ptr} and the MX host name is {mx}",
                )
            )
    return findings
