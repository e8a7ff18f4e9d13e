"""STARTTLS command injection (CVE-2011-0411 class): is plaintext run inside TLS?

Method (testssl.sh's ``run_starttls_injection``; Poddebniak et al., "Why TLS is
better without STARTTLS", USENIX Security 2021): on a STARTTLS port, after the
banner and EHLO, ``STARTTLS\\r\\nEHLO name\\r\\n`` goes out in ONE write.  A server
that keeps the pipelined plaintext in its input buffer across the TLS switch
later reads it as if it came over TLS: an attacker on the path can inject
commands into the protected session.

Detection without waiting: once TLS is up the checker sends ``QUIT`` and reads
the first reply.  A sound server answers QUIT with 221.  A vulnerable one first
answers the injected EHLO (250, or 503 like testssl matches), because it reads
it from the stream before the QUIT.  Only STARTTLS ports are tested; one
connection.  The TLS part runs on :func:`mxtls.net.tls.tls_handshake`.
"""

from __future__ import annotations

import asyncio

from mxtls.models.vulns import StarttlsInjectionObservation
from mxtls.net.deep.vulns._common import NotTested, ProbeContext, ProbeRun
from mxtls.net.smtp_session import looks_throttled
from mxtls.net.stream import RawStream, connect
from mxtls.net.tls import TlsError, TlsStream, tls_handshake
from mxtls.protocol.smtp import (
    ConnectionClosed,
    Ehlo,
    Quit,
    RemoteProtocolError,
    Reply,
    SmtpClient,
    StartTls,
    parse_ehlo,
)

RECV_BYTES = 4096
MAX_READS = 1000  # loop bound; the deadline ends a slow peer first
MAX_QUOTED_CHARS = 80
_UNDECIDED_CODES = frozenset({220, 421})  # a fresh greeting or a shutdown: says nothing


def injected_command(ehlo_name: str) -> str:
    """The command pipelined after STARTTLS (testssl sends an EHLO too)."""
    return f"EHLO {ehlo_name}"


def _quote(reply: Reply) -> str:
    text = f"{reply.code} {reply.lines[0] if reply.lines else ''}".strip()
    flat = "".join(ch if ch.isprintable() else " " for ch in text)
    return flat[:MAX_QUOTED_CHARS]


class _Stream:
    """Either side of the STARTTLS switch, read through the SMTP codec."""

    def __init__(self, raw: RawStream, client: SmtpClient) -> None:
        self.raw = raw
        self.tls: TlsStream | None = None
        self.client = client

    async def reply(self, timeout: float) -> Reply:
        async with asyncio.timeout(timeout):
            for _ in range(MAX_READS):
                event = self.client.next_event()
                if isinstance(event, Reply):
                    return event
                if isinstance(event, ConnectionClosed):
                    raise NotTested("server closed the connection before replying")
                if self.tls is not None:
                    data = await self.tls.recv(RECV_BYTES)
                else:
                    data = await self.raw.recv(RECV_BYTES)
                self.client.receive_data(data)
        raise NotTested(f"no reply after {MAX_READS} reads")


async def probe_starttls_injection(ctx: ProbeContext) -> StarttlsInjectionObservation:
    """Test a STARTTLS endpoint for command injection with one connection.

    Returns:
        The observation; ``vulnerable`` is None (with the reason) when the
        dialogue or the TLS handshake failed or the reply was not conclusive.
    """
    run = ctx.run()
    facts: dict[str, object] = {"injected": injected_command(ctx.config.ehlo_name)}
    try:
        async with run.bounded(), ctx.gate:
            if ctx.throttled is not None:
                raise NotTested(f"server throttled the checker ({ctx.throttled})")
            vulnerable = await _test(ctx, run, facts)
    except NotTested as exc:
        return run.result(StarttlsInjectionObservation, None, facts, str(exc))
    return run.result(StarttlsInjectionObservation, vulnerable, facts)


async def _test(ctx: ProbeContext, run: ProbeRun, facts: dict[str, object]) -> bool:
    cfg = ctx.config
    run.connections += 1
    raw = await connect(ctx.ip, cfg.connect_port(ctx.port), cfg.timeouts.connect)
    if not isinstance(raw, RawStream):
        raise NotTested(f"connect failed: {raw.kind}: {raw.detail}")
    stream = _Stream(raw, SmtpClient(max_line_bytes=cfg.limits.max_line_bytes))
    try:
        return await _dialogue(ctx, run, facts, stream)
    except TimeoutError:
        raise NotTested("no reply within the step timeout") from None
    except RemoteProtocolError as exc:
        raise NotTested(f"SMTP protocol error: {exc}") from None
    except (OSError, TlsError) as exc:
        raise NotTested(f"connection failed: {type(exc).__name__}: {exc}") from None
    finally:
        raw.abort()


async def _dialogue(
    ctx: ProbeContext, run: ProbeRun, facts: dict[str, object], stream: _Stream
) -> bool:
    cfg = ctx.config
    client = stream.client
    banner = await stream.reply(cfg.timeouts.banner)
    _stop_if_throttled(ctx, banner, "banner")
    await stream.raw.send(client.send(Ehlo(name=cfg.ehlo_name)))
    ehlo = await stream.reply(cfg.timeouts.command)
    _stop_if_throttled(ctx, ehlo, "EHLO")
    if "STARTTLS" not in parse_ehlo(ehlo):
        raise NotTested("STARTTLS not offered")
    injected = str(facts["injected"])
    # The point of the test: STARTTLS and the next command in one write.
    await stream.raw.send(client.send(StartTls()) + f"{injected}\r\n".encode("ascii"))
    run.note(f"sent STARTTLS and {injected!r} in one write")
    reply = await stream.reply(cfg.timeouts.command)
    facts["starttls_reply"] = _quote(reply)
    if reply.code != 220:
        _stop_if_throttled(ctx, reply, "STARTTLS")
        # No TLS session follows, so nothing can be injected into one.
        run.note(f"STARTTLS with a pipelined command answered {_quote(reply)}")
        return False
    leftover = client.start_tls()
    if leftover:
        text = leftover.decode("latin-1").split("\n", 1)[0].strip()
        facts["plaintext_after_220"] = text[:MAX_QUOTED_CHARS]
        run.note(f"plaintext after the 220: {text[:MAX_QUOTED_CHARS]!r}")
    result = await tls_handshake(stream.raw, server_name=ctx.sni, timeout=cfg.timeouts.handshake)
    if result.stream is None:
        raise NotTested(f"TLS handshake failed after the pipelined STARTTLS: {result.error}")
    stream.tls = result.stream
    await stream.tls.send(client.send(Quit()))
    first = await stream.reply(cfg.timeouts.command)
    facts["first_reply_in_tls"] = _quote(first)
    if first.code == 221:
        run.note("inside TLS, QUIT was answered first (221): the pipelined command was dropped")
        return False
    if first.code in _UNDECIDED_CODES:
        raise NotTested(f"inconclusive first reply inside TLS: {_quote(first)}")
    run.note(f"inside TLS, the injected command was answered before QUIT: {_quote(first)}")
    return True


def _stop_if_throttled(ctx: ProbeContext, reply: Reply, step: str) -> None:
    if looks_throttled(reply):
        ctx.throttled = f"{step} answered {_quote(reply)}"
        raise NotTested(f"server throttled the checker ({ctx.throttled})")
    if step != "STARTTLS" and reply.code != (220 if step == "banner" else 250):
        raise NotTested(f"{step} answered {_quote(reply)}")
