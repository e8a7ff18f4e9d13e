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

import json
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import aiosmtplib

from mxtls.monitor.config import EmailSpec
from mxtls.monitor.webhook import MAX_ERROR_CHARS, DeliveryResult


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
    """Submit ``message``; failures are a result, never an exception."""
    implicit = spec.tls == "implicit"
    try:
        context = ssl.create_default_context(cafile=str(spec.ca_file) if spec.ca_file else None)
        await aiosmtplib.send(
            message,
            hostname=spec.host,
            port=spec.port,
            use_tls=implicit,
            start_tls=not implicit,
            tls_context=context,
            username=spec.username.reveal() if spec.username else None,
            password=spec.password.reveal() if spec.password else None,
            timeout=spec.timeout_s,
        )
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:  # ssl.SSLError is an OSError
        error = f"{type(exc).__name__}: {exc}"
        for secret in (spec.username, spec.password):
            if secret is not None and secret.reveal():
                error = error.replace(secret.reveal(), "***")
        return DeliveryResult(str(message["Message-ID"]), 1, False, None, error[:MAX_ERROR_CHARS])
    return DeliveryResult(str(message["Message-ID"]), 1, True, None, None)
