"""SMTP dialogue checks: connect, banner, EHLO, throttling, AUTH in clear (``smtp.*``).

The probe stops at the first step that failed: ``stopped_at`` names the step
(:data:`STEP_BANNER` …) and ``stop_reason`` says why (``timeout``, ``closed``,
``protocol``, ``rejected``, ``tls``, ``internal``), so each check looks at the
first missing fact.  When the server throttled the checker, the step it cut
short is reported once as ``smtp.rate_limited`` instead of as that step's own
failure: the server did not refuse mail, it refused *us, now*.
"""

from __future__ import annotations

from collections.abc import Sequence

from mxtls.checks._common import quote, reply_summary, seconds, stop_detail, target_of
from mxtls.checks.codes import make_finding
from mxtls.models.findings import Finding
from mxtls.models.observations import EhloInfo, EndpointObservation, SmtpReply
from mxtls.protocol.smtp import says_slow_down

# Step names of EndpointObservation.stopped_at (see mxtls.net.smtp_session).
STEP_CONNECT = "connect"
STEP_BANNER = "banner"
STEP_EHLO = "ehlo"
STEP_STARTTLS = "starttls"
STEP_HANDSHAKE = "handshake"
STEP_EHLO_TLS = "ehlo_tls"
REASON_INTERNAL = "internal"  # a bug in mxtls, reported by the engine, not judged here

SMTP_READY = 220  # RFC 5321 §4.2: "220 <domain> Service ready"

_CONNECT_PHRASES = {
    "refused": "refused",
    "timeout": "timed out",
    "unreachable": "failed: unreachable",
    "reset": "reset by peer",
    "blocked": "not attempted",
    "other": "failed",
}


def looks_throttled(reply: SmtpReply | None) -> bool:
    """True for a temporary (4xx) reply whose text says "too many", "try later", ….

    A bare 421 is not enough: RFC 5321 §3.8 uses it for any shutdown, and an
    MX that answers every connection with 421 is down, not rate limiting.
    """
    if reply is None or not 400 <= reply.code < 500:
        return False
    return says_slow_down(reply.text)


def throttle_reply(obs: EndpointObservation) -> tuple[str, SmtpReply] | None:
    """``(step, reply)``: the first reply of the dialogue that reads like throttling."""
    replies = (
        ("banner", obs.banner),
        ("EHLO", obs.ehlo_rejected),
        ("STARTTLS", obs.starttls_reply),
    )
    for step, reply in replies:
        if looks_throttled(reply):
            assert reply is not None
            return step, reply
    return None


def closed_without_reply(obs: EndpointObservation) -> bool:
    """True when the server hung up on a command after greeting us (no reply at all).

    That is how many MTAs shed a client they consider too eager (the contract's
    "closed early"); a server that *refuses* a command says so with a reply.
    """
    if obs.stop_reason != "closed" or obs.banner is None or obs.banner.code != SMTP_READY:
        return False
    if obs.stopped_at == STEP_EHLO:
        return obs.ehlo is None and obs.ehlo_rejected is None
    if obs.stopped_at == STEP_STARTTLS:
        return obs.starttls_reply is None
    if obs.stopped_at == STEP_EHLO_TLS:
        return obs.ehlo_tls is None and obs.ehlo_rejected is None
    return False


def is_throttled(obs: EndpointObservation) -> bool:
    """Did the server throttle the checker?

    True when a reply reads like throttling, when the server hung up on a
    command without replying, or when the probe flagged it (``throttled``:
    e.g. the connection closed before any byte), the dialogue was cut short
    and no refusal that does *not* read like throttling explains the stop.
    """
    if throttle_reply(obs) is not None or closed_without_reply(obs):
        return True
    if not obs.throttled or not untested_steps(obs):
        return False  # a dialogue that ran to its end was not cut short
    replies = (obs.banner, obs.ehlo_rejected, obs.starttls_reply)
    return not any(r is not None and r.code >= 400 for r in replies)


def greeting_of(obs: EndpointObservation) -> EhloInfo | None:
    """The session's EHLO/HELO answer: plaintext on STARTTLS ports, inside TLS on 465."""
    return obs.ehlo if obs.tls_mode == "starttls" else obs.ehlo_tls


def untested_steps(obs: EndpointObservation) -> list[str]:
    """The dialogue steps (in order) that the observation never reached."""
    tls_step = ("TLS handshake and certificate", obs.handshake is not None)
    banner_step = ("banner", obs.banner is not None and obs.banner.code == SMTP_READY)
    ehlo_step = ("EHLO", greeting_of(obs) is not None)
    if obs.tls_mode == "implicit":
        steps = [tls_step, banner_step, ehlo_step]
    else:
        steps = [banner_step, ehlo_step]
        if obs.starttls_offered is not False:
            steps += [("STARTTLS", obs.starttls_reply is not None), tls_step]
    for index, (_, done) in enumerate(steps):
        if not done:
            return [name for name, _ in steps[index:]]
    return []


def check_smtp(obs: EndpointObservation) -> list[Finding]:
    """Judge the SMTP dialogue of one endpoint.

    Emits:
        ``smtp.connect_failed`` — the TCP connection was refused, timed out or
        the network was unreachable; RFC 5321 §4.5.4.1: "mail that cannot be
        transmitted immediately MUST be queued and periodically retried by the
        sender", so nothing is delivered meanwhile.
        ``smtp.banner_timeout`` — RFC 5321 §4.5.3.2.1 "Initial 220 Message: 5
        Minutes"; no greeting arrived within our (shorter) bound.
        ``smtp.banner_rejected`` — RFC 5321 §3.1: "a 554 response MAY be given in
        the initial connection opening message instead of the 220"; any
        non-220 greeting (or a connection ended before one) refuses the session.
        ``smtp.ehlo_rejected`` — RFC 5321 §4.1.4: "A client SHOULD start an SMTP
        session by issuing the EHLO command"; a server that refuses it (or
        never answers it) offers no extensions, hence no STARTTLS.
        ``smtp.rate_limited`` — RFC 5321 §3.8: 421 closes the channel; a
        temporary reply that reads like throttling, a hang-up on a command
        without any reply, or a close before any byte, means the checker was
        throttled: the message says what was not tested.
        ``smtp.auth_before_tls`` — RFC 4954 §4: "Server sites SHOULD NOT use any
        configuration which permits a plaintext password mechanism without such
        a protection mechanism against password snooping"; AUTH offered before
        STARTTLS invites credentials in clear (STARTTLS ports only).
    """
    if obs.protocol != "smtp":
        return []  # IMAP and POP3: checks.mailbox
    target = target_of(obs)
    if obs.connect_failure is not None:
        failure = obs.connect_failure
        phrase = _CONNECT_PHRASES.get(failure.kind, "failed")
        if obs.optional:
            return [_port_closed(obs, target, phrase)]
        return [
            make_finding(
                "smtp.connect_failed",
                target,
                f"{target}: TCP connect {phrase}: {quote(failure.detail)}",
            )
        ]
    if obs.stop_reason == REASON_INTERNAL:
        return []
    throttled = is_throttled(obs)
    findings: list[Finding] = [_rate_limited(obs, target)] if throttled else []
    # On 465 the banner arrives inside TLS; without a handshake there is no
    # SMTP to judge (that is tls.implicit_failed).
    if obs.tls_mode == "implicit" and obs.handshake is None:
        return findings
    if not throttled:
        findings.extend(_check_banner(obs, target))
    if obs.banner is None or obs.banner.code != SMTP_READY:
        return findings
    if not throttled:
        findings.extend(_check_ehlo(obs, target))
    if obs.tls_mode == "starttls" and obs.ehlo is not None and _advertises_auth(obs.ehlo):
        mechanisms = " ".join(_auth_mechanisms(obs.ehlo)) or "(no mechanisms listed)"
        findings.append(
            make_finding(
                "smtp.auth_before_tls",
                target,
                f"{target}: plaintext {obs.ehlo.command} advertises AUTH {quote(mechanisms)} "
                "before STARTTLS",
            )
        )
    return findings


def _port_closed(obs: EndpointObservation, target: str, phrase: str) -> Finding:
    # RFC 5321 §5.1 sends relay mail to port 25 only; RFC 6186 names submission
    # servers: a port nothing points to may be closed without harm.
    why = {
        "mx": "an MX host receives mail on port 25",
        "server": "a default port, not one that was named",
    }.get(obs.role, "no record names it")
    return make_finding(
        "smtp.port_closed",
        target,
        f"{target}: port {obs.port} closed (TCP connect {phrase}); {why}",
    )


def check_dead_servers(
    findings: Sequence[Finding], endpoints: Sequence[EndpointObservation]
) -> list[Finding]:
    """``smtp.port_closed`` becomes ``smtp.connect_failed`` for a named server with no open port.

    A default port of a server named by the user may be closed (a submission
    host without port 25); a server where every port is closed is down.
    """
    dead = {
        host
        for host in {ep.host for ep in endpoints if ep.role == "server"}
        if all(ep.connect_failure is not None for ep in endpoints if ep.host == host)
    }
    if not dead:
        return list(findings)
    out: list[Finding] = []
    for f in findings:
        host = f.target.partition("[")[0]
        if f.code == "smtp.port_closed" and host in dead:
            message = f.message.split("; ", 1)[0] + "; no port of this server is open"
            f = make_finding("smtp.connect_failed", f.target, message)
        out.append(f)
    return out


def _check_banner(obs: EndpointObservation, target: str) -> list[Finding]:
    banner = obs.banner
    if banner is not None:
        if banner.code == SMTP_READY:
            return []
        return [
            make_finding(
                "smtp.banner_rejected",
                target,
                f"{target}: banner is {reply_summary(banner)}, not 220",
            )
        ]
    if obs.stopped_at != STEP_BANNER:
        return []
    if obs.stop_reason == "timeout":
        waited = seconds(obs.timings_ms.get(STEP_BANNER))
        bound = f"within {waited}" if waited else "before the banner timeout"
        return [make_finding("smtp.banner_timeout", target, f"{target}: no banner {bound}")]
    return [
        make_finding(
            "smtp.banner_rejected",
            target,
            f"{target}: no SMTP banner ({obs.stop_reason}): {stop_detail(obs, target)}",
        )
    ]


def _check_ehlo(obs: EndpointObservation, target: str) -> list[Finding]:
    greeting = greeting_of(obs)
    where = "" if obs.tls_mode == "starttls" else " inside TLS"
    if obs.ehlo_rejected is not None:
        fallback = "HELO fallback used" if greeting is not None else "HELO fallback failed too"
        return [
            make_finding(
                "smtp.ehlo_rejected",
                target,
                f"{target}: EHLO{where} answered {reply_summary(obs.ehlo_rejected)}; "
                f"{fallback}, so no ESMTP extensions",
            )
        ]
    step = STEP_EHLO if obs.tls_mode == "starttls" else STEP_EHLO_TLS
    if greeting is None and obs.stopped_at == step:
        return [
            make_finding(
                "smtp.ehlo_rejected",
                target,
                f"{target}: no reply to EHLO{where} ({obs.stop_reason}): "
                f"{stop_detail(obs, target)}",
            )
        ]
    if obs.tls_mode == "starttls" and obs.ehlo_tls is None and obs.stopped_at == STEP_EHLO_TLS:
        return [
            make_finding(
                "smtp.ehlo_rejected",
                target,
                f"{target}: no reply to EHLO inside TLS after STARTTLS ({obs.stop_reason}): "
                f"{stop_detail(obs, target)}",
            )
        ]
    return []


def _rate_limited(obs: EndpointObservation, target: str) -> Finding:
    throttling = throttle_reply(obs)
    if throttling is not None:
        step, reply = throttling
        evidence = f"{step} answered {reply_summary(reply)}"
    elif closed_without_reply(obs):
        evidence = f"connection closed without a reply at {obs.stopped_at}"
    elif obs.stopped_at:
        evidence = f"{obs.stop_reason or 'stopped'} at {obs.stopped_at}"
    else:
        evidence = "throttling observed"
    missing = untested_steps(obs)
    untested = f"not tested: {', '.join(missing)}" if missing else "all steps completed"
    return make_finding(
        "smtp.rate_limited",
        target,
        f"{target}: server throttled the checker ({evidence}); {untested}",
    )


def _advertises_auth(ehlo: EhloInfo) -> bool:
    return any(key == "AUTH" or key.startswith("AUTH=") for key in ehlo.capabilities)


def _auth_mechanisms(ehlo: EhloInfo) -> list[str]:
    mechanisms: list[str] = []
    for key, params in ehlo.capabilities.items():
        if key == "AUTH":
            mechanisms.extend(params)
        elif key.startswith("AUTH="):  # pre-RFC 4954 form "AUTH=LOGIN PLAIN"
            mechanisms.extend([key.removeprefix("AUTH="), *params])
    return list(dict.fromkeys(m.upper() for m in mechanisms))
