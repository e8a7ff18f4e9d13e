"""STARTTLS and implicit TLS checks (``starttls.*``, ``tls.implicit_failed``).

Whether the session could be *upgraded* is judged here; what the upgraded
session negotiated is judged in :mod:`mxtls.checks.tls` and
:mod:`mxtls.checks.cert`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from mxtls.checks._common import join_names, quote, reply_summary, stop_detail, target_of
from mxtls.checks.codes import make_finding
from mxtls.checks.smtp import (
    REASON_INTERNAL,
    SMTP_READY,
    STEP_HANDSHAKE,
    STEP_STARTTLS,
    is_throttled,
)
from mxtls.models.deep import DeepScan
from mxtls.models.findings import Finding
from mxtls.models.observations import EndpointObservation

STARTTLS_KEYWORD = "STARTTLS"  # RFC 3207 §4: the EHLO keyword value


def starttls_offered(obs: EndpointObservation) -> bool | None:
    """Whether the plaintext EHLO offered STARTTLS; None when no session completed.

    A HELO session (EHLO refused) has no extensions, so it never offers it.
    """
    if obs.tls_mode != "starttls" or obs.ehlo is None:
        return None
    if obs.starttls_offered is not None:
        return obs.starttls_offered
    return STARTTLS_KEYWORD in obs.ehlo.capabilities


def check_starttls(obs: EndpointObservation) -> list[Finding]:
    """Judge the TLS upgrade of one endpoint.

    Emits:
        ``starttls.not_offered`` — RFC 3207 §4: "The STARTTLS keyword is used to
        tell the SMTP client that the SMTP server is currently able to negotiate
        the use of TLS"; without it (or without ESMTP at all) mail goes in clear.
        ``starttls.rejected`` — RFC 3207 §4: "220 Ready to start TLS" is the only
        success reply; anything else (or no reply) means no TLS.
        ``starttls.handshake_failed`` — RFC 3207 §4: "If, after having issued the
        STARTTLS command, the client finds out that some failure prevents it
        from actually starting a TLS handshake, then it SHOULD abort the
        connection"; the server said 220 but no TLS session came of it.
        ``starttls.injection`` — RFC 3207 §4.2 (CVE-2011-0411 class): "The
        server MUST discard any knowledge obtained from the client ... which was
        not obtained from the TLS negotiation itself"; plaintext pipelined
        after STARTTLS must not be answered inside TLS.
        ``tls.implicit_failed`` — RFC 8314 §3.3: "When a TCP connection is
        established for the "submissions" service (default port 465), a TLS
        handshake begins immediately"; no handshake, no service.
    """
    if obs.protocol != "smtp":
        return []  # IMAP and POP3: checks.mailbox
    if obs.connect_failure is not None or obs.stop_reason == REASON_INTERNAL:
        return []
    if is_throttled(obs):
        return []
    target = target_of(obs)
    if obs.tls_mode == "implicit":
        return _check_implicit(obs, target)
    findings: list[Finding] = []
    offered = starttls_offered(obs)
    if offered is False:
        assert obs.ehlo is not None
        how = (
            "EHLO was refused and the HELO session has no extensions"
            if obs.ehlo.command == "HELO"
            else "EHLO reply does not list STARTTLS"
        )
        findings.append(make_finding("starttls.not_offered", target, f"{target}: {how}"))
        return findings
    if offered is None:
        return findings
    reply = obs.starttls_reply
    if reply is None:
        if obs.stopped_at == STEP_STARTTLS:
            findings.append(
                make_finding(
                    "starttls.rejected",
                    target,
                    f"{target}: no reply to STARTTLS ({obs.stop_reason}): "
                    f"{stop_detail(obs, target)}",
                )
            )
        return findings
    if reply.code != SMTP_READY:
        findings.append(
            make_finding(
                "starttls.rejected",
                target,
                f"{target}: STARTTLS answered {reply_summary(reply)}, not 220",
            )
        )
        return findings
    if obs.handshake is None and (obs.handshake_error or obs.stopped_at == STEP_HANDSHAKE):
        reason = quote(obs.handshake_error) if obs.handshake_error else stop_detail(obs, target)
        findings.append(
            make_finding(
                "starttls.handshake_failed",
                target,
                f"{target}: TLS handshake after STARTTLS failed: {reason}",
            )
        )
    leftover = obs.starttls_leftover
    if leftover:
        findings.append(
            make_finding(
                "starttls.injection",
                target,
                f"{target}: server processed plaintext pipelined after STARTTLS "
                f"(CVE-2011-0411 class): {quote(leftover)}",
            )
        )
    return findings


def _check_implicit(obs: EndpointObservation, target: str) -> list[Finding]:
    if obs.handshake is not None:
        return []
    if obs.banner is not None:
        reason = f"plaintext SMTP instead of TLS (banner {reply_summary(obs.banner)})"
    elif obs.handshake_error:
        reason = quote(obs.handshake_error, 160)
    else:
        reason = stop_detail(obs, target)
    return [
        make_finding(
            "tls.implicit_failed",
            target,
            f"{target}: no TLS handshake on implicit-TLS port: {reason}",
        )
    ]


def check_starttls_consistency(
    endpoints: Sequence[EndpointObservation], deep: Sequence[DeepScan] = ()
) -> list[Finding]:
    """Compare what EHLO advertised on every connection to one host and port.

    Every connection counts: each address's main session, the second
    session without SNI, and the deep scan's many connections.  A pool
    behind a load balancer with one misconfigured member shows STARTTLS on
    some and not on others, even on a single address.

    Emits ``starttls.inconsistent`` (target MXHOST), naming the connections.
    RFC 3207 §4: STARTTLS tells the client the server "is currently able to
    negotiate the use of TLS"; a host that disagrees with itself downgrades
    mail at random, and senders that cache "TLS works here" see intermittent
    failures.  Different ports are different services (25 and 587 often run
    different configurations), so each port is compared on its own.
    """
    seen: dict[tuple[str, int], dict[bool, list[str]]] = defaultdict(lambda: {True: [], False: []})
    for obs in endpoints:
        where = _address(obs.ip, obs.port)
        offered = starttls_offered(obs)
        if offered is not None:
            seen[(obs.host, obs.port)][offered].append(where)
        if obs.tls_mode == "starttls" and obs.nosni_starttls_offered is not None:
            seen[(obs.host, obs.port)][obs.nosni_starttls_offered].append(f"{where} (no SNI)")
    for scan in deep:
        where = f"{_address(scan.ip, scan.port)} (deep scan"
        tally = seen[(scan.host, scan.port)]
        if scan.tls.starttls_offered:
            tally[True].append(f"{where}, {_times(scan.tls.starttls_offered)})")
        if scan.tls.starttls_absent:
            tally[False].append(f"{where}, {_times(scan.tls.starttls_absent)})")
    findings: list[Finding] = []
    for (host, port), tally in sorted(seen.items()):
        with_tls, without = tally[True], tally[False]
        if with_tls and without:
            findings.append(
                make_finding(
                    "starttls.inconsistent",
                    host,
                    f"{host}: port {port}: STARTTLS offered on {join_names(with_tls)} "
                    f"but not on {join_names(without)}",
                )
            )
    return findings


def _address(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _times(count: int) -> str:
    return f"{count} connection{'s' * (count != 1)}"
