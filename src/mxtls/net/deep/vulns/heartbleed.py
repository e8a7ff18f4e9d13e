"""Heartbleed (CVE-2014-0160): does the server echo memory past a heartbeat request?

Method (testssl.sh's ``run_heartbleed``, sslyze's heartbleed plugin): one
connection, a TLS <= 1.2 ClientHello offering the heartbeat extension
(RFC 6520 §2), then the server's flight up to ServerHelloDone.  A server that
does not echo the extension does not speak heartbeat: not vulnerable, nothing
more is sent.  Otherwise one heartbeat request goes out whose payload_length
claims ``CLAIMED_PAYLOAD_BYTES`` while the record carries no payload at all.
RFC 6520 §4 says such a message "MUST be discarded silently"; a vulnerable
OpenSSL (1.0.1 - 1.0.1f) copies that many bytes of its heap into a heartbeat
response instead.  So any heartbeat record (content type 24) that comes back
longer than what was sent is the bug.

Only the 5-byte header of the answer is read, so no leaked memory ever enters
mxtls; the connection is dropped at once.
"""

from __future__ import annotations

import asyncio

from mxtls.models.vulns import HeartbleedObservation
from mxtls.net.deep.vulns._common import (
    Flight,
    NotTested,
    ProbeContext,
    ProbeRun,
    Refused,
    describe_alert,
    read_flight,
    record,
    send,
)
from mxtls.net.stream import RawStream
from mxtls.protocol.tls_registry import ExtensionType, TlsVersion, suites_for_version
from mxtls.protocol.tls_wire import Alert, RecordReader, build_client_hello

CT_ALERT = 21  # RFC 5246 §6.2.1
CT_HEARTBEAT = 24  # RFC 6520 §3
HEARTBEAT_REQUEST = 1  # RFC 6520 §3 HeartbeatMessageType
CLAIMED_PAYLOAD_BYTES = 0x4000  # what the request claims; it carries none
HEARTBEAT_REPLY_WAIT_S = 3.0  # testssl waits 8s; a vulnerable server answers at once
RECORD_HEADER_BYTES = 5


def heartbeat_request(version: int) -> bytes:
    """A heartbeat request record claiming ``CLAIMED_PAYLOAD_BYTES`` and carrying none."""
    message = bytes([HEARTBEAT_REQUEST]) + CLAIMED_PAYLOAD_BYTES.to_bytes(2, "big")
    return record(CT_HEARTBEAT, version, message)


async def probe_heartbleed(ctx: ProbeContext) -> HeartbleedObservation:
    """Test the endpoint for Heartbleed with one connection.

    Returns:
        The observation; ``vulnerable`` is None (with the reason) when no TLS
        channel could be opened or the server's answer was not interpretable.
    """
    return await ctx.run_probe(HeartbleedObservation, _test)


async def _test(ctx: ProbeContext, run: ProbeRun, facts: dict[str, object]) -> bool:
    hello = build_client_hello(
        TlsVersion.TLS1_2,
        suites_for_version(TlsVersion.TLS1_2),
        server_name=ctx.sni,
        heartbeat=True,
    )
    async with run.channel() as channel:
        await send(channel, hello.to_bytes())
        run.note("sent a TLS 1.2 ClientHello offering the heartbeat extension")
        flight = await read_flight(channel, RecordReader(), ctx.config.timeouts.handshake)
        if isinstance(flight, Refused):
            if flight.alert is not None:
                # No TLS <= 1.2 handshake at all: there is no heartbeat to abuse.
                run.note(f"handshake refused: {flight.detail}")
                return False
            raise NotTested(f"no TLS <= 1.2 handshake: {flight.detail}")
        return await _heartbeat(ctx, run, facts, channel.stream, flight)


async def _heartbeat(
    ctx: ProbeContext,
    run: ProbeRun,
    facts: dict[str, object],
    stream: RawStream,
    flight: Flight,
) -> bool:
    facts["version"] = flight.version_name
    echoed = flight.server_hello.extension(ExtensionType.HEARTBEAT) is not None
    facts["heartbeat_extension"] = echoed
    if not echoed:
        run.note(f"{flight.version_name}: the server does not echo the heartbeat extension")
        return False
    request = heartbeat_request(flight.version)
    facts["request_record_bytes"] = len(request) - RECORD_HEADER_BYTES
    facts["claimed_payload_bytes"] = CLAIMED_PAYLOAD_BYTES
    try:
        await stream.send(request)
    except OSError:
        run.note("connection closed before the heartbeat request could be sent")
        return False
    run.note(
        f"{flight.version_name}: sent a {len(request) - RECORD_HEADER_BYTES}-byte heartbeat "
        f"request claiming {CLAIMED_PAYLOAD_BYTES} bytes of payload"
    )
    wait = ctx.wait(HEARTBEAT_REPLY_WAIT_S)
    header = b""
    try:
        async with asyncio.timeout(wait):
            while len(header) < RECORD_HEADER_BYTES:
                chunk = await stream.recv(RECORD_HEADER_BYTES - len(header))
                if not chunk:
                    break
                header += chunk
            if header[:1] == bytes([CT_ALERT]) and len(header) == RECORD_HEADER_BYTES:
                body = await stream.recv(2)
                if len(body) == 2:
                    alert = Alert(level=body[0], description=body[1])
                    run.note(f"answered with alert {describe_alert(alert)}")
                    return False
    except TimeoutError:
        if not header:
            run.note(f"no answer within {wait:g}s (request discarded, as RFC 6520 §4 says)")
            return False
    except OSError:
        run.note("connection reset after the heartbeat request")
        return False
    if len(header) < RECORD_HEADER_BYTES:
        run.note("connection closed after the heartbeat request")
        return False
    length = int.from_bytes(header[3:5], "big")
    if header[0] != CT_HEARTBEAT:
        run.note(f"answered with a record of type {header[0]} ({length} bytes)")
        return False
    facts["response_record_bytes"] = length
    if length > len(request) - RECORD_HEADER_BYTES:
        run.note(
            f"heartbeat response of {length} bytes to a "
            f"{len(request) - RECORD_HEADER_BYTES}-byte request: server memory leaked "
            f"(only the record header was read)"
        )
        return True
    run.note(f"heartbeat response of {length} bytes (no more than was sent)")
    return False
