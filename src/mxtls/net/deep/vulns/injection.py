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

from mxtls.models.vulns import StarttlsInjectionObservation
from mxtls.net.deep.vulns._common import NotTested, ProbeContext, ProbeRun
from mxtls.net.starttls import Dialogue, Stopped
from mxtls.net.stream import RawStream, connect
from mxtls.net.tls import TlsError, tls_handshake
from mxtls.protocol.smtp import Command, Reply
from mxtls.protocol.starttls import SMTP, looks_throttled

MAX_QUOTED_CHARS = 80
_UNDECIDED_CODES = frozenset({220, 421})  # a fresh greeting or a shutdown: says nothing


def injected_command(ehlo_name: str) -> str:
    """The command pipelined after STARTTLS (testssl sends an EHLO too)."""
    return f"EHLO {ehlo_name}"


def _quote(reply: Reply) -> str:
    text = f"{reply.code} {reply.lines[0] if reply.lines else ''}".strip()
    flat = "".join(ch if ch.isprintable() else " " for ch in text)
    return flat[:MAX_QUOTED_CHARS]


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
            if ctx.config.protocol(ctx.port) != "smtp":
                raise NotTested("the pipelined-STARTTLS test speaks SMTP only")
            vulnerable = await _test(ctx, run, facts)
    except NotTested as exc:
        return run.result(StarttlsInjectionObservation, None, facts, str(exc))
    return run.result(StarttlsInjectionObservation, vulnerable, facts)


async def _test(ctx: ProbeContext, run: ProbeRun, facts: dict[str, object]) -> bool:
    cfg = ctx.config
    run.connections += 1
    raw = await connect(
        ctx.ip, cfg.connect_port(ctx.port), cfg.timeouts.connect, cfg.address_policy
    )
    if not isinstance(raw, RawStream):
        raise NotTested(f"connect failed: {raw.kind}: {raw.detail}")
    dialogue = Dialogue(raw, SMTP, cfg)
    try:
        return await _dialogue(ctx, run, facts, dialogue)
    except Stopped as stop:
        raise NotTested(_reason(ctx, dialogue, stop)) from None
    except TlsError as exc:
        raise NotTested(f"connection failed: {type(exc).__name__}: {exc}") from None
    finally:
        raw.abort()


async def _dialogue(
    ctx: ProbeContext, run: ProbeRun, facts: dict[str, object], d: Dialogue[Reply, Command]
) -> bool:
    cfg = ctx.config
    banner = await d.greeting()
    _stop_if_throttled(ctx, banner, "banner")
    ehlo = await d.hello(SMTP.hello_step)
    _stop_if_throttled(ctx, ehlo, "EHLO")
    if not d.seen.offered:
        raise NotTested("STARTTLS not offered")
    injected = str(facts["injected"])
    # The point of the test: STARTTLS and the next command in one write.
    run.note(f"sent STARTTLS and {injected!r} in one write")
    try:
        await d.starttls(then=f"{injected}\r\n".encode("ascii"))
    except Stopped as stop:
        reply = d.seen.starttls_reply
        if stop.kind != "rejected" or reply is None:
            raise
        facts["starttls_reply"] = _quote(reply)
        _stop_if_throttled(ctx, reply, "STARTTLS")
        # No TLS session follows, so nothing can be injected into one.
        run.note(f"STARTTLS with a pipelined command answered {_quote(reply)}")
        return False
    assert d.seen.starttls_reply is not None
    facts["starttls_reply"] = _quote(d.seen.starttls_reply)
    leftover = d.seen.leftover
    if leftover:
        text = leftover.decode("latin-1").split("\n", 1)[0].strip()
        facts["plaintext_after_220"] = text[:MAX_QUOTED_CHARS]
        run.note(f"plaintext after the 220: {text[:MAX_QUOTED_CHARS]!r}")
    result = await tls_handshake(d.raw, server_name=ctx.sni, timeout=cfg.timeouts.handshake)
    if result.stream is None:
        raise NotTested(f"TLS handshake failed after the pipelined STARTTLS: {result.error}")
    d.upgrade(result.stream)
    first = await d.command(SMTP.goodbye())
    facts["first_reply_in_tls"] = _quote(first)
    if first.code == 221:
        run.note("inside TLS, QUIT was answered first (221): the pipelined command was dropped")
        return False
    if first.code in _UNDECIDED_CODES:
        raise NotTested(f"inconclusive first reply inside TLS: {_quote(first)}")
    run.note(f"inside TLS, the injected command was answered before QUIT: {_quote(first)}")
    return True


def _reason(ctx: ProbeContext, d: Dialogue[Reply, Command], stop: Stopped) -> str:
    """Why the test could not be done, from the step that stopped it."""
    if stop.kind == "rejected":
        greeting = stop.step == SMTP.greeting_step
        reply = d.seen.greeting if greeting else d.seen.hello_refused
        step = "banner" if greeting else "EHLO"
        if reply is not None:
            _stop_if_throttled(ctx, reply, step)
            return f"{step} answered {_quote(reply)}"
    if stop.kind == "closed" and stop.failure is not None:
        return f"connection failed: {stop.failure.detail}"
    match stop.kind:
        case "timeout":
            return "no reply within the step timeout"
        case "protocol":
            return f"SMTP protocol error: {stop.cause}"
        case "closed":
            return "server closed the connection before replying"
    return stop.detail


def _stop_if_throttled(ctx: ProbeContext, reply: Reply, step: str) -> None:
    if looks_throttled(reply):
        ctx.throttled = f"{step} answered {_quote(reply)}"
        raise NotTested(f"server throttled the checker ({ctx.throttled})")
