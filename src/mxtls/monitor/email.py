"""E-mail alerts through a submission server (aiosmtplib, STARTTLS or implicit TLS).

One message per domain and round, listing the changes in plain text (80
columns) with the JSON payload attached for scripts.  TLS is required: on
``starttls`` the server must offer STARTTLS (aiosmtplib refuses to go on in
clear), on ``implicit`` TLS starts with the first byte (RFC 8314); the
certificate is verified against the system roots or ``ca_file``.
Credentials come from the environment (:class:`~mxtls.monitor.config.Secret`)
and appear in no message or log.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import aiosmtplib
from aiosmtplib.protocol import SMTPProtocol

from mxtls.monitor.config import EmailSpec
from mxtls.monitor.webhook import MAX_ERROR_CHARS, DeliveryResult
from mxtls.net.stream import CLOSE_WAIT_SECONDS

CLOSE_POLL_SECONDS = 0.01  # how often the end of a closed connection is looked for


def compose(spec: EmailSpec, domain: str, payloads: list[dict[str, Any]]) -> EmailMessage:
    """The alert message for ``domain``'s changes of one round."""
    changes = [(p["event"], c) for p in payloads for c in p["changes"]]
    msg = EmailMessage()
    msg["From"] = spec.sender
    msg["To"] = ", ".join(spec.to)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain="mxtls.invalid")
    msg["Subject"] = f"mxtls: {domain}: {len(changes)} change(s)"
    lines = [f"mxtls noticed changes for {domain}", ""]
    for event, change in changes:
        lines.append(f"- {event}: {describe(change)}"[:78])
    if payloads:
        summary = payloads[0].get("report") or {}
        lines += ["", f"checked at {payloads[0].get('checked_at')}"]
        verdict = summary.get("verdict") or {}
        lines += [f"  {sender}: {state}" for sender, state in sorted(verdict.items())]
    msg.set_content("\n".join(lines) + "\n")
    msg.add_attachment(
        json.dumps(payloads, indent=2, sort_keys=True).encode(),
        maintype="application",
        subtype="json",
        filename=f"mxtls-{domain}.json",
    )
    return msg


def describe(change: dict[str, Any]) -> str:
    """One line for a change (an event's JSON form)."""
    match change.get("type"):
        case "finding.new" | "finding.resolved":
            return f"{change['code']} ({change['severity']}) at {change['target']}"
        case "cert.changed":
            tlsa = {None: "no TLSA", True: "TLSA matches", False: "TLSA does NOT match"}
            return f"new certificate at {change['target']}, {tlsa[change.get('tlsa_matches')]}"
        case "verdict.changed":
            return f"{change['sender']} senders: {change['old']} -> {change['new']}"
        case "check.failed":
            return f"check failed: {change['error']}"
        case other:
            return str(other)


async def send(spec: EmailSpec, message: EmailMessage) -> DeliveryResult:
    """Submit ``message``; failures are a result, never an exception.

    The connection has ended when this returns (:func:`_let_go`).
    """
    implicit = spec.tls == "implicit"
    connection: SMTPProtocol | None = None
    try:
        context = ssl.create_default_context(cafile=str(spec.ca_file) if spec.ca_file else None)
        client = aiosmtplib.SMTP(
            hostname=spec.host,
            port=spec.port,
            use_tls=implicit,
            start_tls=not implicit,
            tls_context=context,
            username=spec.username.reveal() if spec.username else None,
            password=spec.password.reveal() if spec.password else None,
            timeout=spec.timeout_s,
        )
        async with client:  # QUIT and close on the way out
            connection = client.protocol
            await client.send_message(message)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:  # ssl.SSLError is an OSError
        error = f"{type(exc).__name__}: {exc}"
        for secret in (spec.username, spec.password):
            if secret is not None and secret.reveal():
                error = error.replace(secret.reveal(), "***")
        return DeliveryResult(str(message["Message-ID"]), 1, False, None, error[:MAX_ERROR_CHARS])
    finally:
        if connection is not None:
            await _let_go(connection)
    return DeliveryResult(str(message["Message-ID"]), 1, True, None, None)


async def _let_go(connection: SMTPProtocol) -> None:
    """Wait for a closed connection to end, at most ``CLOSE_WAIT_SECONDS``; then drop it.

    aiosmtplib closes a TLS connection by sending its close_notify and returns
    at once; the socket stays open until the server's close_notify arrives
    (asyncio waits up to 30 s for it).  A loaded or slow server sends it late,
    after the event loop of a short run (``mxtls monitor --once``) is gone, and
    the socket is then left unclosed.  So: the graceful end if it comes within
    a round trip, else an abort, as :meth:`mxtls.net.stream.RawStream.aclose`
    does.  Either way the message was accepted (or refused) before.
    """
    transport = connection.transport  # None once the connection has ended
    if not isinstance(transport, asyncio.Transport):
        return
    transport.close()  # aiosmtplib did, unless the body was cancelled
    try:
        async with asyncio.timeout(CLOSE_WAIT_SECONDS):
            while connection.transport is not None:
                await asyncio.sleep(CLOSE_POLL_SECONDS)
    except TimeoutError:
        transport.abort()
        await asyncio.sleep(0)  # the loop closes the socket in its next turn
