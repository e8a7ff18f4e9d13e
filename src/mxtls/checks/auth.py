"""SMTP AUTH checks: the user's credentials over TLS, and AUTH taken in clear (``auth.*``).

Both are judged only when the user asked (``--auth-user``,
``--auth-check-plaintext``); the observation never holds the secret, so the
messages cannot leak it.
"""

from __future__ import annotations

from mxtls.checks._common import quote, target_of
from mxtls.checks.codes import make_finding
from mxtls.models.auth import AuthAttempt
from mxtls.models.findings import Finding
from mxtls.models.observations import EndpointObservation

# RFC 4954 §6: replies that show the server ran the exchange (it took the
# mechanism and judged what was sent), as opposed to refusing AUTH itself.
AUTH_SUCCEEDED = 235
AUTH_CONTINUE = 334
AUTH_CREDENTIALS_INVALID = 535
AUTH_TEMPORARY_FAILURE = 454
_EXCHANGE_RAN = frozenset(
    {AUTH_SUCCEEDED, AUTH_CONTINUE, AUTH_CREDENTIALS_INVALID, AUTH_TEMPORARY_FAILURE}
)


def plaintext_taken(attempt: AuthAttempt) -> bool:
    """Did the server run an AUTH exchange on a session without TLS?

    A 530 ("Must issue a STARTTLS command first"), 538 ("Encryption required"),
    503 or 504 refuses AUTH itself; a challenge, a 535 for the throw-away
    credentials or a success means a real password would have crossed in clear.
    """
    if attempt.in_tls or attempt.outcome in ("not_offered", "not_sent"):
        return False
    return attempt.round_trips > 0 or attempt.reply_code in _EXCHANGE_RAN


def _reply(attempt: AuthAttempt) -> str:
    if attempt.reply_code is None:
        return "no final reply"
    text = quote(" ".join(attempt.reply_lines))
    return f'{attempt.reply_code} "{text}"' if text else str(attempt.reply_code)


def check_auth(obs: EndpointObservation) -> list[Finding]:
    """Judge the AUTH attempts of one endpoint.

    Emits:
        ``auth.failed`` — RFC 4954 §4: "235 Authentication Succeeded" is the only
        success; the server refused the credentials inside TLS (or offered no
        mechanism mxtls speaks there, or broke the exchange, e.g. a SCRAM
        server signature that does not verify, RFC 5802 §3).
        ``auth.plaintext_accepted`` — RFC 4954 §4: "a server implementation
        MUST implement a configuration in which it does NOT permit any
        plaintext password mechanisms, unless either the STARTTLS command has
        been negotiated or some other mechanism that protects the session
        from password snooping has been provided"; tried only with throw-away
        credentials.
    """
    target = target_of(obs)
    findings: list[Finding] = []
    attempt = obs.auth
    if attempt is not None and attempt.in_tls and attempt.outcome != "accepted":
        how = {
            "refused": f"{attempt.mechanism} refused: {_reply(attempt)}",
            "not_offered": "no AUTH mechanism mxtls speaks (SCRAM-SHA-256, PLAIN, LOGIN) "
            f"is offered inside TLS (offered: {quote(' '.join(attempt.offered)) or 'none'})",
            "error": f"{attempt.mechanism} exchange failed: {quote(attempt.detail or '', 160)}",
        }.get(attempt.outcome)
        if how is not None:
            findings.append(make_finding("auth.failed", target, f"{target}: AUTH {how}"))
    probe = obs.auth_plaintext
    if probe is not None and plaintext_taken(probe):
        findings.append(
            make_finding(
                "auth.plaintext_accepted",
                target,
                f"{target}: AUTH {probe.mechanism} was taken before STARTTLS "
                f"(throw-away credentials answered {_reply(probe)}): a real password "
                "would cross the network in clear",
            )
        )
    return findings
