"""Probe one mail endpoint (SMTP, or IMAP/POP3): drive the opener, record what happened.

``probe_endpoint`` is the boundary where peer behaviour becomes data: it
connects, reads the banner, says EHLO, upgrades with STARTTLS (or starts
with TLS on an implicit-TLS port), says EHLO again inside TLS and QUITs,
filling an :class:`EndpointObservation` as it goes.  The dialogue stops at
the first step that fails; ``stopped_at`` names the step (``connect``,
``banner``, ``ehlo``, ``starttls``, ``handshake``, ``ehlo_tls``) and
``stop_reason`` says why:

=========  ==============================================================
timeout    the step's deadline (or the endpoint's total) passed
closed     the connection ended or failed (refused, reset, EOF)
protocol   the server broke SMTP (``RemoteProtocolError``)
rejected   the server answered with a code that ends the dialogue
tls        the TLS handshake failed (``handshake_error`` has the reason)
internal   a bug in mxtls (``internal_error`` has the traceback)
=========  ==============================================================

A dialogue that ran to its end (including "STARTTLS not offered", which is
a fact for ``checks/`` to judge) has ``stopped_at`` None.

On an implicit-TLS port (465) every SMTP exchange happens inside TLS, so the
EHLO answer is recorded in ``ehlo_tls`` and ``ehlo`` stays None.

The dialogue itself (the read loop, the walk to STARTTLS, the courtesy
QUIT) is the one STARTTLS opener of :mod:`mxtls.net.starttls`; this module
runs it with SMTP's dialect, adds the TLS handshake and the EHLO inside TLS,
and turns what the opener saw into the observation.

The certificate without SNI (``cert.sni_differs``) comes from a second,
shorter connection: ``probe_endpoint(..., sni=False, handshake_only=True)``;
the engine stores its ``handshake`` as the main observation's
``handshake_nosni``.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from typing import Any, Literal, Protocol

from mxtls.config import CheckConfig
from mxtls.models.auth import AuthAttempt
from mxtls.models.observations import (
    ConnectFailure,
    EhloInfo,
    EndpointObservation,
    MailboxReply,
    SmtpReply,
    TranscriptLine,
)
from mxtls.net.auth import AuthStopped, authenticate
from mxtls.net.starttls import Dialogue, StepClock, Stopped
from mxtls.net.stream import RawStream, connect
from mxtls.net.tls import sni_for, tls_handshake
from mxtls.protocol.imap import ImapResponse
from mxtls.protocol.peer_text import clip
from mxtls.protocol.pop3 import Pop3Response
from mxtls.protocol.sasl import random_credentials
from mxtls.protocol.smtp import Reply
from mxtls.protocol.starttls import DIALECTS, MailProtocol

__all__ = ["TRANSCRIPT_LINE_CHARS", "probe_endpoint"]

# A transcript line is for a reader; the whole reply is kept in its own field.
# A hostile 4 KB line is cut here, so 400 lines cost at most ~400 KB of report.
TRANSCRIPT_LINE_CHARS = 1024

StopReason = Literal["timeout", "closed", "protocol", "rejected", "tls", "internal"]


class _Closable(Protocol):
    async def aclose(self) -> None: ...


class _Stop(Exception):
    """Ends the dialogue at the current step (internal to this module)."""

    def __init__(self, reason: StopReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _smtp_reply(reply: Reply) -> SmtpReply:
    return SmtpReply(code=reply.code, lines=list(reply.lines))


def mailbox_reply(response: ImapResponse | Pop3Response) -> MailboxReply:
    """An IMAP or POP3 response as the observation keeps it."""
    if isinstance(response, ImapResponse):
        return MailboxReply(
            status=response.status,
            text=response.text,
            code=response.code,
            lines=list(response.untagged),
        )
    return MailboxReply(
        status="+OK" if response.ok else "-ERR", text=response.text, lines=list(response.lines)
    )


class _Session:
    def __init__(
        self,
        host: str,
        ip: str,
        port: int,
        config: CheckConfig,
        *,
        sni: bool,
        handshake_only: bool,
        protocol: MailProtocol,
    ) -> None:
        self.host, self.ip, self.port, self.config = host, ip, port, config
        self.protocol: MailProtocol = protocol
        self.sni = sni_for(host) if sni else None
        self.handshake_only = handshake_only
        self.connect_port = config.connect_port(port)
        self.mode: Literal["starttls", "implicit"] = (
            "implicit" if config.tls_mode(port) == "implicit" else "starttls"
        )
        self.target = f"{host}[{ip}]:{port}"
        self.obs: dict[str, Any] = {}
        self.clock = StepClock()
        self.transcript: list[TranscriptLine] = []
        self.truncated = False
        self.dialogue: Dialogue[Any, Any] | None = None
        self.raw: RawStream | None = None
        self.closer: _Closable | None = None  # what close() closes: the raw or the TLS stream
        self.start = time.monotonic()

    @property
    def step(self) -> str:
        return self.clock.step

    # ------------------------------------------------------------ recording

    def note(self, direction: Literal["C", "S", "T"], text: str) -> None:
        limit = self.config.limits.max_transcript_lines
        if len(self.transcript) >= limit - 1:
            if not self.truncated and limit > 0:
                self.truncated = True
                self.transcript.append(self._line("T", f"transcript truncated at {limit} lines"))
            return
        self.transcript.append(self._line(direction, clip(text, TRANSCRIPT_LINE_CHARS)))

    def _line(self, direction: Literal["C", "S", "T"], text: str) -> TranscriptLine:
        t_ms = round((time.monotonic() - self.start) * 1000, 3)
        return TranscriptLine(dir=direction, text=text, t_ms=t_ms)

    # ---------------------------------------------------------------- steps

    async def run(self) -> None:
        with self.clock.timed("connect"):
            result = await connect(
                self.ip,
                self.connect_port,
                self.config.timeouts.connect,
                self.config.address_policy,
            )
        if isinstance(result, ConnectFailure):
            self.obs["connect_failure"] = result
            self.note("T", f"connect failed: {result.kind}: {result.detail}")
            reason: StopReason = "timeout" if result.kind == "timeout" else "closed"
            raise _Stop(reason, f"{self.target}: connect {result.kind}: {result.detail}")
        self.raw = self.closer = result
        self.note("T", f"connected to {self.ip} port {self.connect_port}")
        dialogue = self.dialogue = Dialogue(
            result,
            DIALECTS[self.protocol],
            self.config,
            target=self.target,
            note=self.note,
            clock=self.clock,
            polite=True,
        )
        try:
            await self.walk(dialogue)
        except Stopped as stop:
            why: StopReason = "rejected" if stop.kind == "not_offered" else stop.kind
            raise _Stop(why, f"{self.target}: {stop.detail}") from None

    async def walk(self, d: Dialogue[Any, Any]) -> None:
        smtp = self.protocol == "smtp"
        hello_tls = f"{d.dialect.hello_step}_tls"
        if self.mode == "implicit":
            await self.handshake()
            if self.handshake_only:
                return
            try:
                await d.greeting()
                await d.hello(hello_tls, fallback=smtp)
            finally:
                self.record(d, tls=True)
        else:
            probe = self.plaintext_auth if smtp and self.config.auth_check_plaintext else None
            try:
                await d.to_tls_start(fallback=smtp, before_upgrade=probe)
            except Stopped as stop:
                if stop.kind == "not_offered":
                    return  # a fact for checks/, not a failure; the goodbye was said
                raise
            finally:
                self.record(d, tls=False)
            await self.handshake()
            if self.handshake_only:
                return
            try:
                await d.hello(hello_tls, fallback=smtp)
            finally:
                self.record(d, tls=True)
        if smtp:
            await self.auth_in_tls(d)
        await d.goodbye()

    async def plaintext_auth(self) -> None:
        """``--auth-check-plaintext``: is AUTH taken before TLS?  Throw-away credentials only."""
        assert self.dialogue is not None
        offered = self.dialogue.seen.capabilities.get("AUTH", [])
        with self.clock.timed("auth_plaintext"):
            try:
                self.obs["auth_plaintext"] = await authenticate(
                    self.dialogue, offered, random_credentials(), in_tls=False, probe=True
                )
            except AuthStopped as exc:
                self.obs["auth_plaintext"] = exc.attempt
                raise exc.stop from None

    async def auth_in_tls(self, d: Dialogue[Any, Any]) -> None:
        """The user's credentials, inside TLS, on a submission port (``--auth-user``)."""
        credentials = self.config.auth
        if credentials is None or not self.config.tries_auth(self.port):
            return
        offered = d.seen.capabilities.get("AUTH", [])
        with self.clock.timed("auth"):
            try:
                self.obs["auth"] = await authenticate(d, offered, credentials, in_tls=True)
            except AuthStopped as exc:
                self.obs["auth"] = exc.attempt
                raise exc.stop from None

    def record(self, d: Dialogue[Any, Any], *, tls: bool) -> None:
        """Copy what the dialogue saw into the observation's fields."""
        if self.protocol == "smtp":
            self.record_smtp(d, "ehlo_tls" if tls else "ehlo")
        else:
            self.record_mailbox(d, tls=tls)

    def record_smtp(self, d: Dialogue[Any, Any], hello_field: Literal["ehlo", "ehlo_tls"]) -> None:
        seen = d.seen
        if seen.greeting is not None:
            self.obs["banner"] = _smtp_reply(seen.greeting)
        if seen.throttled:
            self.obs["throttled"] = True
        if seen.hello_refused is not None:
            self.obs["ehlo_rejected"] = _smtp_reply(seen.hello_refused)
        if seen.hello is not None:
            command: Literal["EHLO", "HELO"] = "HELO" if seen.hello_command == "HELO" else "EHLO"
            self.obs[hello_field] = EhloInfo(
                command=command, reply=_smtp_reply(seen.hello), capabilities=seen.capabilities
            )
        if hello_field == "ehlo" and seen.offered is not None:
            self.obs["starttls_offered"] = seen.offered
        if seen.starttls_reply is not None:
            self.obs["starttls_reply"] = _smtp_reply(seen.starttls_reply)
        if seen.leftover:
            self.obs["starttls_leftover"] = seen.leftover.decode("utf-8", "replace")

    def record_mailbox(self, d: Dialogue[Any, Any], *, tls: bool) -> None:
        seen = d.seen
        if seen.greeting is not None:
            self.obs["greeting"] = mailbox_reply(seen.greeting)
        if seen.throttled:
            self.obs["throttled"] = True
        if seen.hello is not None:
            self.obs["capabilities_tls" if tls else "capabilities"] = seen.capabilities
        if not tls and seen.offered is not None:
            self.obs["starttls_offered"] = seen.offered
        if seen.starttls_reply is not None:
            self.obs["upgrade_reply"] = mailbox_reply(seen.starttls_reply)
        if seen.leftover:
            self.obs["starttls_leftover"] = seen.leftover.decode("utf-8", "replace")

    async def handshake(self) -> None:
        assert self.raw is not None and self.dialogue is not None
        with self.clock.timed("handshake"):
            self.note("T", f"TLS handshake, SNI {self.sni or '(none)'}")
            result = await tls_handshake(
                self.raw, server_name=self.sni, timeout=self.config.timeouts.handshake
            )
        for note in result.notes:
            self.note("T", note)
        if result.handshake is None or result.stream is None:
            error = result.error or "handshake failed"
            self.obs["handshake_error"] = error
            self.note("T", f"TLS failed: {error}")
            raise _Stop("tls", f"{self.target}: TLS handshake: {error}")
        hs = result.handshake
        self.obs["handshake"] = hs
        group = f", {hs.group}" if hs.group else ""
        self.note("T", f"{hs.version} {hs.cipher}{group}; {len(hs.chain)} certificate(s) sent")
        self.dialogue.upgrade(result.stream)
        self.closer = result.stream

    # ---------------------------------------------------------------- build

    def stop(self, reason: StopReason, detail: str) -> None:
        self.obs.update(stopped_at=self.step, stop_reason=reason, stop_detail=detail)

    async def close(self) -> None:
        stream, self.closer = self.closer, None
        if stream is None:
            return
        try:
            await stream.aclose()
        except (OSError, TimeoutError):
            if self.raw is not None:
                self.raw.abort()

    def observation(self) -> EndpointObservation:
        wants_auth = self.protocol == "smtp" and self.config.tries_auth(self.port)
        if wants_auth and not self.handshake_only and "auth" not in self.obs:
            where = (
                f"the dialogue stopped at {self.step}"
                if "stopped_at" in self.obs
                else ("no TLS session")
            )
            self.obs["auth"] = AuthAttempt(
                in_tls=False,
                outcome="not_sent",
                detail=f"credentials not sent: {where}; they are never sent in clear",
            )
        timings = dict(self.clock.timings)
        timings["total"] = round((time.monotonic() - self.start) * 1000, 3)
        return EndpointObservation(
            host=self.host,
            ip=self.ip,
            port=self.port,
            connect_port=self.connect_port,
            tls_mode=self.mode,
            protocol=self.protocol,
            timings_ms=timings,
            transcript=self.transcript,
            **self.obs,
        )


async def probe_endpoint(
    host: str,
    ip: str,
    port: int,
    config: CheckConfig,
    *,
    sni: bool = True,
    handshake_only: bool = False,
    protocol: MailProtocol | None = None,
) -> EndpointObservation:
    """Probe ``host`` at ``ip``:``port`` and record everything seen.

    Args:
        host: the MX host name (for SNI and messages).
        ip: the address to connect to (no lookup happens here).
        port: the logical SMTP port (25, 465, 587); ``config.port_map`` may
            redirect the connection, and ``config.tls_mode(port)`` picks
            STARTTLS or implicit TLS.
        config: the run's configuration (EHLO name, timeouts, limits).
        sni: send the host name as SNI (never for an address literal).
        handshake_only: stop right after a successful handshake (used for
            the certificate without SNI).
        protocol: what to speak: ``smtp``, or ``imap``/``pop3`` (mailbox
            access; no HELO fallback, no AUTH attempt); default
            ``config.protocol(port)``.

    Returns:
        The observation; every failure, including a bug in mxtls
        (``internal_error``), is recorded in it.  Never raises except on
        cancellation.
    """
    spoken = protocol or config.protocol(port)
    session = _Session(
        host, ip, port, config, sni=sni, handshake_only=handshake_only, protocol=spoken
    )
    total = config.timeouts.endpoint_total
    limit, what = time.monotonic() + total, f"no result within {total:g}s"
    if config.deadline is not None and config.deadline < limit:
        limit = config.deadline
        what = f"the check's time limit of {config.timeouts.check_total:g}s ran out"
    try:
        async with asyncio.timeout_at(limit):
            await session.run()
    except _Stop as stop:
        session.stop(stop.reason, stop.detail)
    except TimeoutError:
        session.note("T", what)
        session.stop("timeout", f"{session.target}: {session.step}: {what}")
    except Exception:  # the one boundary where a bug becomes data (sslyze's BUG_IN_SSLYZE)
        session.stop("internal", f"{session.target}: internal error during {session.step}")
        session.obs["internal_error"] = traceback.format_exc()
    finally:
        try:
            await session.close()
        except BaseException:
            if session.raw is not None:
                session.raw.abort()
            raise
    try:
        return session.observation()
    except Exception:  # same boundary: a fact that did not fit the model is our bug
        return EndpointObservation(
            host=host,
            ip=ip,
            port=port,
            connect_port=session.connect_port,
            tls_mode=session.mode,
            stopped_at=session.step,
            stop_reason="internal",
            stop_detail=f"{session.target}: internal error while recording the observation",
            internal_error=traceback.format_exc(),
        )
