"""CCS injection (CVE-2014-0224): does the server accept ChangeCipherSpec too early?

Method, mirroring testssl.sh's ``run_ccs_injection`` (after Ramon de C Valle's
test) with sslyze's short cut for the sound case: one connection, a TLS <= 1.2
ClientHello, the server's flight up to ServerHelloDone, then a
ChangeCipherSpec *before* any key exchange.

* A patched server rejects it at once: an alert (``unexpected_message``) or a
  close.  Not vulnerable; nothing more is sent.
* A vulnerable one (OpenSSL before 0.9.8za / 1.0.0m / 1.0.1h) accepts it and
  says nothing, switching to keys derived from an empty master secret.  A second
  ChangeCipherSpec then reaches a server that tries to decrypt it, and it
  answers ``decryption_failed`` (21) or ``bad_record_mac`` (20).

testssl's decision on the answer to the second ChangeCipherSpec: nothing or a
close = not vulnerable; alert 21 = vulnerable; alert 20 = likely vulnerable;
alert 10 (unexpected_message) or 40 (handshake_failure) = likely not
vulnerable; any other alert = likely vulnerable.  mxtls applies the same table.
"""

from __future__ import annotations

from mxtls.models.vulns import CcsInjectionObservation
from mxtls.net.deep.vulns._common import (
    NotTested,
    ProbeContext,
    ProbeRun,
    Refused,
    Response,
    change_cipher_spec,
    read_flight,
    read_response,
    send,
)
from mxtls.protocol.tls_registry import TlsVersion, suites_for_version
from mxtls.protocol.tls_wire import RecordReader, build_client_hello

CCS_REPLY_WAIT_S = 2.0  # testssl waits 5s per ChangeCipherSpec; alerts come at once
ALERT_BAD_RECORD_MAC = 20  # RFC 5246 §7.2.2
ALERT_DECRYPTION_FAILED = 21
ALERT_UNEXPECTED_MESSAGE = 10
ALERT_HANDSHAKE_FAILURE = 40
_SOUND_ALERTS = frozenset({ALERT_UNEXPECTED_MESSAGE, ALERT_HANDSHAKE_FAILURE})


async def probe_ccs_injection(ctx: ProbeContext) -> CcsInjectionObservation:
    """Test the endpoint for CCS injection with one connection.

    Returns:
        The observation; ``vulnerable`` is None (with the reason) when no TLS
        channel could be opened or the server's answer was not interpretable.
    """
    return await ctx.run_probe(CcsInjectionObservation, _test)


async def _test(ctx: ProbeContext, run: ProbeRun, facts: dict[str, object]) -> bool:
    hello = build_client_hello(
        TlsVersion.TLS1_2, suites_for_version(TlsVersion.TLS1_2), server_name=ctx.sni
    )
    wait = ctx.wait(CCS_REPLY_WAIT_S)
    async with run.channel() as channel:
        await send(channel, hello.to_bytes())
        reader = RecordReader()
        flight = await read_flight(channel, reader, ctx.config.timeouts.handshake)
        if isinstance(flight, Refused):
            if flight.alert is not None:
                run.note(f"TLS <= 1.2 handshake refused: {flight.detail}")
                return False
            raise NotTested(f"no TLS <= 1.2 handshake: {flight.detail}")
        facts["version"] = flight.version_name
        ccs = change_cipher_spec(flight.version)
        if await send(channel, ccs):
            first = await read_response(channel, reader, wait)
        else:
            first = Response("reset")
        facts["first_reply"] = first.label
        run.note(f"{flight.version_name}: early ChangeCipherSpec answered by: {first.label}")
        if first.kind in ("alert", "closed", "reset"):
            return False
        if first.kind != "silence":
            raise NotTested(f"unexpected answer to an early ChangeCipherSpec: {first.label}")
        if not await send(channel, ccs):
            second = Response("reset")
        else:
            second = await read_response(channel, reader, wait)
        facts["second_reply"] = second.label
        run.note(f"second ChangeCipherSpec answered by: {second.label}")
        return _judge_second(second, run)


def _judge_second(second: Response, run: ProbeRun) -> bool:
    """testssl's table for the answer to the second early ChangeCipherSpec."""
    if second.kind in ("silence", "closed", "reset"):
        return False
    if second.alert is None:
        raise NotTested(f"unexpected answer to a second ChangeCipherSpec: {second.label}")
    description = second.alert.description
    if description == ALERT_DECRYPTION_FAILED:
        run.note("the server tried to decrypt with keys from an empty master secret")
        return True
    if description in _SOUND_ALERTS:
        return False
    run.note(f"suspicious alert {second.alert.name} after the ChangeCipherSpec was accepted")
    return True
