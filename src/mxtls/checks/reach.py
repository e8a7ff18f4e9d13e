"""Can a sender get as far as MAIL FROM? Reachability of one SMTP endpoint (pure).

The delivery verdict counts an MX host as one that takes mail only when a
session got to the point where a sender issues ``MAIL FROM``: RFC 5321 §3.1
"the server responds with a 220 greeting", then §4.1.1.1 the client sends
EHLO (or HELO) and a 250 opens the mail transaction.  A server that closes
right after its banner, answers EHLO with something that is not SMTP, or
greets with 421 takes no mail, whatever its listening socket suggests.
"""

from __future__ import annotations

from mxtls.checks._common import quote, seconds
from mxtls.checks.smtp import SMTP_READY, STEP_BANNER, STEP_EHLO, looks_throttled
from mxtls.models.observations import EndpointObservation, SmtpReply

MX_PORT = 25  # RFC 5321 §4.5.4.1 / RFC 3207: MX-to-MX relay happens on port 25

_CONNECT = {
    "refused": "connection refused",
    "timeout": "connect timed out",
    "unreachable": "no route from this machine",
    "reset": "connection reset",
    "blocked": "not tested: the address is not public",
    "other": "connect failed",
}


def session_ready(obs: EndpointObservation) -> bool:
    """True when the session reached the point where a sender could say MAIL FROM.

    That is: a 220 banner and an accepted EHLO or HELO, in clear (STARTTLS
    ports) or inside TLS (implicit TLS).
    """
    if obs.connect_failure is not None or obs.banner is None:
        return False
    if obs.banner.code != SMTP_READY:
        return False
    return obs.ehlo is not None or obs.ehlo_tls is not None


def not_tested(obs: EndpointObservation) -> bool:
    """True when reachability is unknown: mxtls failed, or this machine has no route there.

    "Network unreachable" is most often the checker's own network (no IPv6
    route): it says nothing about what senders elsewhere get.  Neither does
    an address the checker's policy would not connect to (``blocked``).
    """
    failure = obs.connect_failure
    return obs.stop_reason == "internal" or (
        failure is not None and failure.kind in ("unreachable", "blocked")
    )


def unreachable_reason(obs: EndpointObservation) -> str:
    """Why a sender gets no SMTP session at this endpoint, in a few words."""
    if obs.connect_failure is not None:
        return _CONNECT.get(obs.connect_failure.kind, "connect failed")
    if not_tested(obs):
        return "not tested (internal error)"
    if obs.tls_mode == "implicit" and obs.handshake is None:
        return "no TLS handshake on the implicit-TLS port"
    banner = obs.banner
    if banner is None:
        if obs.stop_reason == "timeout":
            waited = seconds(obs.timings_ms.get(STEP_BANNER))
            return f"no banner within {waited}" if waited else "no banner"
        if obs.stop_reason == "closed":
            return "closed before the banner"
        return f"no banner ({obs.stop_reason or 'stopped'})"
    if banner.code != SMTP_READY:
        return f"banner {_reply(banner)}"
    if obs.ehlo_rejected is not None:
        tried_helo = 500 <= obs.ehlo_rejected.code < 600
        what = "EHLO and HELO refused" if tried_helo else "EHLO refused"
        return f"{what} ({_reply(obs.ehlo_rejected)})"
    if obs.stopped_at in (STEP_EHLO, "ehlo_tls"):
        match obs.stop_reason:
            case "closed":
                return "closed the connection after its banner"
            case "protocol":
                return "answered EHLO with a reply that breaks SMTP"
            case "timeout":
                return "no reply to EHLO"
    return f"no SMTP session ({obs.stop_reason or 'stopped'} at {obs.stopped_at or '?'})"


def _reply(reply: SmtpReply) -> str:
    text = quote(reply.text, 32)
    slow = " (throttling?)" if looks_throttled(reply) else ""
    return f'{reply.code} "{text}"{slow}' if text else f"{reply.code}{slow}"
