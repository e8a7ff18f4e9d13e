"""IMAP and POP3 endpoint checks: reachable, upgraded, and no password in clear.

The TLS session itself (versions, ciphers, certificates, DANE) is judged by
the same checks as SMTP's; this module judges what is specific to mailbox
access for users (RFC 8314 §3: "clients and servers SHOULD implement both
STARTTLS and implicit TLS"; RFC 2595 §2.1: no plaintext password before TLS):

* ``imap.unavailable`` / ``pop3.unavailable`` — no session at all;
* the upgrade (``starttls.not_offered``, ``starttls.rejected``,
  ``starttls.handshake_failed``, ``starttls.injection``, ``tls.implicit_failed``),
  the same codes as SMTP's, with IMAP/POP3 wording;
* ``imap.auth_before_tls`` / ``pop3.auth_before_tls`` — a login is offered on
  the plaintext session (the counterpart of ``smtp.auth_before_tls``).
"""

from __future__ import annotations

from mxtls.checks._common import quote, stop_detail, target_of
from mxtls.checks.codes import make_finding
from mxtls.models.findings import Finding
from mxtls.models.observations import EndpointObservation, MailboxReply

# RFC 2595 §3.1 / RFC 9051 §6.2.3: LOGIN is refused before TLS when LOGINDISABLED
# is advertised; these SASL mechanisms carry the password itself.
PLAINTEXT_MECHANISMS = frozenset({"PLAIN", "LOGIN"})
READY_STATUS = {"imap": ("OK", "PREAUTH"), "pop3": ("+OK",)}
UPGRADE_VERB = {"imap": "STARTTLS", "pop3": "STLS"}
_NAMES = {"imap": "IMAP", "pop3": "POP3"}


def _summary(reply: MailboxReply) -> str:
    code = f"[{reply.code}] " if reply.code else ""
    return quote(f"{reply.status} {code}{reply.text}".strip())


def check_mailbox(obs: EndpointObservation) -> list[Finding]:
    """Judge one IMAP or POP3 endpoint (nothing for SMTP endpoints).

    Emits:
        ``imap.unavailable``, ``pop3.unavailable`` — the TCP connection failed,
        no greeting came, or the greeting refused the client.
        ``starttls.not_offered``, ``starttls.rejected``, ``starttls.handshake_failed``,
        ``starttls.injection``, ``tls.implicit_failed`` — as for SMTP (RFC 2595 §3.1,
        §4; RFC 8314 §3.3).
        ``imap.auth_before_tls`` — the plaintext CAPABILITY lacks LOGINDISABLED
        or offers AUTH=PLAIN/LOGIN (RFC 9051 §6.2.3, RFC 2595 §3.2).
        ``pop3.auth_before_tls`` — the plaintext CAPA offers USER or SASL
        PLAIN/LOGIN (RFC 2595 §4, RFC 2449 §6.8).
    """
    protocol = obs.protocol
    if protocol == "smtp" or obs.stop_reason == "internal":
        return []
    target = target_of(obs)
    name = _NAMES[protocol]
    unavailable = f"{protocol}.unavailable"
    if obs.connect_failure is not None:
        failure = obs.connect_failure
        if obs.optional:
            return []
        return [
            make_finding(
                unavailable,
                target,
                f"{target}: {name}: TCP connect {failure.kind}: {quote(failure.detail)}",
            )
        ]
    if obs.tls_mode == "implicit" and obs.handshake is None:
        reason = (
            quote(obs.handshake_error, 160) if obs.handshake_error else stop_detail(obs, target)
        )
        return [
            make_finding(
                "tls.implicit_failed",
                target,
                f"{target}: no TLS handshake on {name}'s implicit-TLS port: {reason}",
            )
        ]
    greeting = obs.greeting
    if greeting is None or greeting.status not in READY_STATUS[protocol]:
        why = (
            f"greeting {_summary(greeting)}"
            if greeting is not None
            else f"no greeting ({stop_detail(obs, target)})"
        )
        throttled = " (the server throttled the checker)" if obs.throttled else ""
        return [make_finding(unavailable, target, f"{target}: {name}: {why}{throttled}")]
    if obs.tls_mode == "implicit":
        return []
    return _upgrade(obs, target, protocol) + _login_in_clear(obs, target, protocol)


def _upgrade(obs: EndpointObservation, target: str, protocol: str) -> list[Finding]:
    verb, name = UPGRADE_VERB[protocol], _NAMES[protocol]
    if obs.starttls_offered is False:
        return [
            make_finding(
                "starttls.not_offered",
                target,
                f"{target}: {name} capabilities do not list {verb}: logins and mail go in clear",
            )
        ]
    reply = obs.upgrade_reply
    if obs.starttls_offered is None:
        return []
    if reply is None:
        if obs.stopped_at == "starttls":
            return [
                make_finding(
                    "starttls.rejected",
                    target,
                    f"{target}: no answer to {verb}: {stop_detail(obs, target)}",
                )
            ]
        return []
    if reply.status not in ("OK", "+OK"):
        return [
            make_finding(
                "starttls.rejected", target, f"{target}: {verb} answered {_summary(reply)}"
            )
        ]
    findings: list[Finding] = []
    if obs.handshake is None and (obs.handshake_error or obs.stopped_at == "handshake"):
        reason = quote(obs.handshake_error) if obs.handshake_error else stop_detail(obs, target)
        findings.append(
            make_finding(
                "starttls.handshake_failed",
                target,
                f"{target}: TLS handshake after {verb} failed: {reason}",
            )
        )
    if obs.starttls_leftover:
        findings.append(
            make_finding(
                "starttls.injection",
                target,
                f"{target}: server sent plaintext after its answer to {verb} "
                f"(CVE-2011-0411 class): {quote(obs.starttls_leftover)}",
            )
        )
    return findings


def _login_in_clear(obs: EndpointObservation, target: str, protocol: str) -> list[Finding]:
    caps = obs.capabilities
    if caps is None:
        return []
    mechanisms = sorted(
        PLAINTEXT_MECHANISMS
        & {m.upper() for m in caps.get("AUTH" if protocol == "imap" else "SASL", [])}
    )
    if protocol == "imap":
        offered = [f"AUTH={m}" for m in mechanisms]
        if "LOGINDISABLED" not in caps:
            offered.insert(0, "LOGIN (no LOGINDISABLED)")
    else:
        offered = [f"SASL {m}" for m in mechanisms]
        if "USER" in caps:
            offered.insert(0, "USER/PASS")
    if not offered:
        return []
    return [
        make_finding(
            f"{protocol}.auth_before_tls",
            target,
            f"{target}: the plaintext {_NAMES[protocol]} session offers {', '.join(offered)}: "
            "passwords may cross the network in clear before STARTTLS",
        )
    ]
