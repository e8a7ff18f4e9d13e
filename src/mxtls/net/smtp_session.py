"""Probe one SMTP endpoint: drive the sans-I/O codec over a stream, record what happened.

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

The certificate without SNI (``cert.sni_differs``) comes from a second,
shorter connection: ``probe_endpoint(..., sni=False, handshake_only=True)``
or :func:`fetch_certificate_nosni`; the engine stores its ``handshake`` as
the main observation's ``handshake_nosni``.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, Protocol

from mxtls.config import CheckConfig
from mxtls.models.observations import (
    ConnectFailure,
    EhloInfo,
    EndpointObservation,
    SmtpReply,
    TlsHandshake,
    TranscriptLine,
)
from mxtls.net.stream import RawStream, classify_error, connect
from mxtls.net.tls import sni_for, tls_handshake
from mxtls.protocol.smtp import (
    Command,
    ConnectionClosed,
    Ehlo,
    Helo,
    NeedData,
    Quit,
    RemoteProtocolError,
    Reply,
    SmtpClient,
    StartTls,
    parse_ehlo,
    says_slow_down,
)

__all__ = ["fetch_certificate_nosni", "looks_throttled", "probe_endpoint"]

RECV_BYTES = 4096  # one read; the codec bounds lines and replies, the deadline bounds time
QUIT_WAIT_SECONDS = 2.0  # at most this long for the courtesy QUIT after a refusal
MAX_READS_PER_REPLY = 100_000  # loop bound; the step deadline ends it long before

StopReason = Literal["timeout", "closed", "protocol", "rejected", "tls", "internal"]


def looks_throttled(reply: Reply | SmtpReply) -> bool:
    """Should the checker back off? 421 (RFC 5321 §3.8: service closing) or a "slow down" text.

    This is the operational signal (stop, do not retry); whether the finding
    is ``smtp.rate_limited`` is decided in ``checks.smtp``.
    """
    return reply.code == 421 or says_slow_down(" ".join(reply.lines))


class _Stream(Protocol):
    async def send(self, data: bytes) -> None: ...

    async def recv(self, max_bytes: int) -> bytes: ...

    async def aclose(self) -> None: ...


class _Stop(Exception):
    """Ends the dialogue at the current step (internal to this module)."""

    def __init__(self, reason: StopReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _smtp_reply(reply: Reply) -> SmtpReply:
    return SmtpReply(code=reply.code, lines=list(reply.lines))


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
    ) -> None:
        self.host, self.ip, self.port, self.config = host, ip, port, config
        self.sni = sni_for(host) if sni else None
        self.handshake_only = handshake_only
        self.connect_port = config.connect_port(port)
        self.mode: Literal["starttls", "implicit"] = (
            "implicit" if config.tls_mode(port) == "implicit" else "starttls"
        )
        self.target = f"{host}[{ip}]:{port}"
        limits = config.limits
        self.codec = SmtpClient(limits.max_line_bytes, limits.max_reply_lines)
        self.obs: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.transcript: list[TranscriptLine] = []
        self.truncated = False
        self.bytes_received = 0
        self.step = "connect"
        self.stream: _Stream | None = None
        self.raw: RawStream | None = None
        self.start = time.monotonic()

    # ------------------------------------------------------------ recording

    def note(self, direction: Literal["C", "S", "T"], text: str) -> None:
        limit = self.config.limits.max_transcript_lines
        if len(self.transcript) >= limit - 1:
            if not self.truncated and limit > 0:
                self.truncated = True
                self.transcript.append(self._line("T", f"transcript truncated at {limit} lines"))
            return
        self.transcript.append(self._line(direction, text))

    def _line(self, direction: Literal["C", "S", "T"], text: str) -> TranscriptLine:
        t_ms = round((time.monotonic() - self.start) * 1000, 3)
        return TranscriptLine(dir=direction, text=text, t_ms=t_ms)

    def note_reply(self, reply: Reply) -> None:
        last = len(reply.lines) - 1
        for i, text in enumerate(reply.lines):
            self.note("S", f"{reply.code}{' ' if i == last else '-'}{text}")

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        self.step = step
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.timings[step] = round((time.monotonic() - t0) * 1000, 3)

    # -------------------------------------------------------------- talking

    async def read_reply(self, timeout: float, what: str) -> Reply:
        assert self.stream is not None
        try:
            async with asyncio.timeout(timeout):
                for _ in range(MAX_READS_PER_REPLY):
                    event = self.codec.next_event()
                    if isinstance(event, Reply):
                        self.note_reply(event)
                        return event
                    if isinstance(event, ConnectionClosed):
                        detail = f"{self.target}: connection closed while waiting for {what}"
                        if event.incomplete:
                            detail += f" (unfinished reply {event.incomplete!r})"
                        self.note("T", "connection closed by the server")
                        raise _Stop("closed", detail)
                    assert isinstance(event, NeedData)
                    data = await self.stream.recv(RECV_BYTES)
                    self.bytes_received += len(data)
                    self.codec.receive_data(data)
        except TimeoutError:
            self.note("T", f"no {what} within {timeout:g}s")
            raise _Stop("timeout", f"{self.target}: no {what} within {timeout:g}s") from None
        except RemoteProtocolError as exc:
            self.note("T", f"protocol error: {exc}")
            raise _Stop("protocol", f"{self.target}: {what}: {exc}") from None
        except OSError as exc:
            failure = classify_error(exc)
            self.note("T", f"connection failed: {failure.kind}")
            raise _Stop(
                "closed", f"{self.target}: {what}: {failure.kind}: {failure.detail}"
            ) from None
        raise _Stop(
            "protocol", f"{self.target}: {what}: no reply after {MAX_READS_PER_REPLY} reads"
        )

    async def command(self, cmd: Command, what: str) -> Reply:
        assert self.stream is not None
        data = self.codec.send(cmd)
        self.note("C", data.decode("ascii").rstrip("\r\n"))
        timeout = self.config.timeouts.command
        try:
            async with asyncio.timeout(timeout):
                await self.stream.send(data)
        except TimeoutError:
            raise _Stop(
                "timeout", f"{self.target}: could not send {what} in {timeout:g}s"
            ) from None
        except OSError as exc:
            failure = classify_error(exc)
            raise _Stop(
                "closed", f"{self.target}: {what}: {failure.kind}: {failure.detail}"
            ) from None
        return await self.read_reply(timeout, f"reply to {what}")

    async def quit(self) -> None:
        """Courtesy QUIT; its outcome is recorded in the transcript only."""
        if self.stream is None:
            return
        try:
            async with asyncio.timeout(min(self.config.timeouts.command, QUIT_WAIT_SECONDS)):
                await self.command(Quit(), "QUIT")
        except (_Stop, TimeoutError, OSError):
            pass

    # ---------------------------------------------------------------- steps

    async def run(self) -> None:
        with self.timed("connect"):
            result = await connect(self.ip, self.connect_port, self.config.timeouts.connect)
        if isinstance(result, ConnectFailure):
            self.obs["connect_failure"] = result
            self.note("T", f"connect failed: {result.kind}: {result.detail}")
            reason: StopReason = "timeout" if result.kind == "timeout" else "closed"
            raise _Stop(reason, f"{self.target}: connect {result.kind}: {result.detail}")
        self.raw = self.stream = result
        self.note("T", f"connected to {self.ip} port {self.connect_port}")
        if self.mode == "implicit":
            await self.handshake()
            if self.handshake_only:
                return
            await self.banner()
            await self.greet("ehlo_tls")
        else:
            await self.banner()
            offered = await self.greet("ehlo")
            self.obs["starttls_offered"] = offered
            if not offered:
                self.note("T", "STARTTLS not offered")
                await self.quit()
                return
            await self.starttls()
            await self.handshake()
            if self.handshake_only:
                return
            await self.greet("ehlo_tls")
        await self.quit()

    async def banner(self) -> None:
        with self.timed("banner"):
            try:
                reply = await self.read_reply(self.config.timeouts.banner, "banner")
            except _Stop as stop:
                if stop.reason == "closed" and self.bytes_received == 0:
                    self.obs["throttled"] = True  # closed before saying anything
                raise
        self.obs["banner"] = _smtp_reply(reply)
        if looks_throttled(reply):
            self.obs["throttled"] = True
        if reply.code != 220:
            if reply.code != 421:
                await self.quit()
            raise _Stop("rejected", f"{self.target}: banner {reply.code} {reply.text}")

    async def greet(self, field: Literal["ehlo", "ehlo_tls"]) -> bool:
        """EHLO (HELO after a 5xx); returns whether STARTTLS was advertised."""
        name = self.config.ehlo_name
        with self.timed(field):
            reply = await self.command(Ehlo(name=name), "EHLO")
            if reply.code == 250:
                caps = parse_ehlo(reply)
                self.obs[field] = EhloInfo(
                    command="EHLO", reply=_smtp_reply(reply), capabilities=caps
                )
                return "STARTTLS" in caps
            self.obs["ehlo_rejected"] = _smtp_reply(reply)
            if looks_throttled(reply):
                self.obs["throttled"] = True
            if 500 <= reply.code < 600:
                helo = await self.command(Helo(name=name), "HELO")
                if helo.code == 250:
                    self.obs[field] = EhloInfo(command="HELO", reply=_smtp_reply(helo))
                    return False
                reply = helo
        if reply.code != 421:
            await self.quit()
        raise _Stop("rejected", f"{self.target}: EHLO/HELO answered {reply.code} {reply.text}")

    async def starttls(self) -> None:
        assert self.raw is not None
        with self.timed("starttls"):
            reply = await self.command(StartTls(), "STARTTLS")
        self.obs["starttls_reply"] = _smtp_reply(reply)
        if reply.code != 220:
            if looks_throttled(reply):
                self.obs["throttled"] = True
            if reply.code != 421:
                await self.quit()
            raise _Stop("rejected", f"{self.target}: STARTTLS answered {reply.code} {reply.text}")
        leftover = self.codec.start_tls()
        room = self.config.limits.max_line_bytes - len(leftover)
        if room > 0:
            leftover += self.raw.recv_nowait(room)  # already arrived, so not TLS from the server
        if leftover:
            text = leftover.decode("utf-8", "replace")
            self.obs["starttls_leftover"] = text
            self.note("T", f"server sent {len(leftover)} plaintext bytes after 220: {text!r}")

    async def handshake(self) -> None:
        assert self.raw is not None
        with self.timed("handshake"):
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
        self.stream = result.stream

    # ---------------------------------------------------------------- build

    def stop(self, reason: StopReason, detail: str) -> None:
        self.obs.update(stopped_at=self.step, stop_reason=reason, stop_detail=detail)

    async def close(self) -> None:
        stream = self.stream
        self.stream = None
        if stream is None:
            return
        try:
            await stream.aclose()
        except (OSError, TimeoutError):
            if self.raw is not None:
                self.raw.abort()

    def observation(self) -> EndpointObservation:
        self.timings["total"] = round((time.monotonic() - self.start) * 1000, 3)
        return EndpointObservation(
            host=self.host,
            ip=self.ip,
            port=self.port,
            connect_port=self.connect_port,
            tls_mode=self.mode,
            timings_ms=self.timings,
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

    Returns:
        The observation; every failure, including a bug in mxtls
        (``internal_error``), is recorded in it.  Never raises except on
        cancellation.
    """
    session = _Session(host, ip, port, config, sni=sni, handshake_only=handshake_only)
    total = config.timeouts.endpoint_total
    try:
        async with asyncio.timeout(total):
            await session.run()
    except _Stop as stop:
        session.stop(stop.reason, stop.detail)
    except TimeoutError:
        session.note("T", f"endpoint time limit {total:g}s reached")
        session.stop("timeout", f"{session.target}: {session.step}: no result within {total:g}s")
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


async def fetch_certificate_nosni(
    host: str, ip: str, port: int, config: CheckConfig
) -> TlsHandshake | None:
    """The handshake facts without SNI (for ``handshake_nosni``), or None if it failed.

    A second connection that stops right after the handshake; for the error,
    call ``probe_endpoint(host, ip, port, config, sni=False, handshake_only=True)``.
    """
    obs = await probe_endpoint(host, ip, port, config, sni=False, handshake_only=True)
    return obs.handshake
