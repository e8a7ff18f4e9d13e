"""SMTP AUTH over an open dialogue: run one SASL exchange, record it, never leak the secret.

The exchange (RFC 4954 §4) is driven through the one STARTTLS opener's
:class:`~mxtls.net.starttls.Dialogue`, so every line is bounded like the rest
of the dialogue, and the transcript shows ``AUTH PLAIN <redacted>`` (the SMTP
dialect redacts every AUTH line).  The mechanism comes from
:func:`mxtls.protocol.sasl.choose_mechanism`; a mechanism that sends the
password (PLAIN, LOGIN) is used with the user's credentials only inside TLS.
At most :data:`MAX_ROUND_TRIPS` challenges are answered.

Outcomes are data (:class:`~mxtls.models.auth.AuthAttempt`); a failed step
of the dialogue itself propagates as :class:`~mxtls.net.starttls.Stopped`.
"""

from __future__ import annotations

from mxtls.models.auth import AuthAttempt, AuthOutcome
from mxtls.net.starttls import Dialogue, Stopped
from mxtls.protocol.sasl import (
    Credentials,
    SaslClient,
    SaslError,
    choose_mechanism,
    decode_challenge,
    encode_response,
)
from mxtls.protocol.smtp import Auth, AuthResponse, Command, Reply

__all__ = ["MAX_ROUND_TRIPS", "AuthStopped", "authenticate"]

MAX_ROUND_TRIPS = 4  # SCRAM needs 2, LOGIN 2; a server asking for more is stalling
AUTH_OK = 235  # RFC 4954 §6
AUTH_CONTINUE = 334
PROBE_MECHANISM = "PLAIN"  # tried in clear when the server lists nothing


class _Record:
    """The facts of one attempt as they accumulate."""

    def __init__(self, offered: list[str], *, in_tls: bool, probe: bool) -> None:
        self.offered, self.in_tls, self.probe = list(offered), in_tls, probe
        self.mechanism: str | None = None
        self.trips = 0

    def attempt(
        self,
        outcome: AuthOutcome,
        reply: Reply | None = None,
        *,
        detail: str | None = None,
        verified: bool | None = None,
    ) -> AuthAttempt:
        return AuthAttempt(
            in_tls=self.in_tls,
            probe=self.probe,
            offered=self.offered,
            mechanism=self.mechanism,
            outcome=outcome,
            reply_code=None if reply is None else reply.code,
            reply_lines=[] if reply is None else list(reply.lines),
            detail=detail,
            server_verified=verified,
            round_trips=self.trips,
        )


async def authenticate(
    d: Dialogue[Reply, Command],
    offered: list[str],
    credentials: Credentials,
    *,
    in_tls: bool,
    probe: bool = False,
) -> AuthAttempt:
    """Authenticate with the strongest mechanism of ``offered``.

    Args:
        d: the SMTP dialogue, idle after an EHLO.
        offered: the EHLO answer's ``AUTH`` parameters.
        credentials: the user's, or throw-away ones with ``probe``.
        in_tls: the dialogue runs inside TLS.
        probe: test whether AUTH is taken at all (``--auth-check-plaintext``):
            with nothing offered, PLAIN is tried anyway.

    Returns:
        The attempt.

    Raises:
        AuthStopped: the dialogue itself failed (timeout, close, protocol
            error) during the exchange; it carries the attempt so far.
    """
    record = _Record(offered, in_tls=in_tls, probe=probe)
    try:
        return await _exchange(d, record, credentials)
    except Stopped as stop:
        attempt = record.attempt("error", detail=f"{stop.detail} (after sending AUTH)")
        raise AuthStopped(stop, attempt) from None


class AuthStopped(Exception):
    """The dialogue failed during AUTH: ``stop`` says how, ``attempt`` what was done."""

    def __init__(self, stop: Stopped, attempt: AuthAttempt) -> None:
        super().__init__(stop.detail)
        self.stop = stop
        self.attempt = attempt


async def _exchange(
    d: Dialogue[Reply, Command], record: _Record, credentials: Credentials
) -> AuthAttempt:
    in_tls, probe, offered = record.in_tls, record.probe, record.offered
    chosen = choose_mechanism(offered, exposing=probe)
    mechanism = record.mechanism = chosen or (PROBE_MECHANISM if probe else None)
    if mechanism is None:
        return record.attempt("not_offered")
    try:
        client = SaslClient.for_mechanism(mechanism, credentials)
    except SaslError as exc:
        return record.attempt("not_sent", detail=str(exc))
    if client.sends_password and not in_tls and not probe:
        return record.attempt(
            "not_sent", detail="no TLS session: the password is never sent in clear"
        )
    initial = client.initial()
    d.note("T", f"AUTH {mechanism}{' with throw-away credentials' if probe else ''}")
    reply = await d.command(
        Auth(
            mechanism=mechanism,
            initial=None if initial is None else encode_response(initial, initial=True),
        )
    )
    while reply.code == AUTH_CONTINUE:
        if record.trips >= MAX_ROUND_TRIPS:
            reply = await d.command(AuthResponse(data="*"))  # RFC 4954 §4: cancel
            return record.attempt("error", reply, detail=f"more than {MAX_ROUND_TRIPS} challenges")
        record.trips += 1
        try:
            response = client.respond(decode_challenge(reply.text))
        except SaslError as exc:
            reply = await d.command(AuthResponse(data="*"))
            return record.attempt("error", reply, detail=str(exc))
        reply = await d.command(AuthResponse(data=encode_response(response)))
    if reply.code != AUTH_OK:
        return record.attempt("refused", reply)
    # SCRAM: respond() checked the server-final message on the second challenge.
    verified = record.trips >= 2 if mechanism == "SCRAM-SHA-256" else None
    return record.attempt("accepted", reply, verified=verified)
