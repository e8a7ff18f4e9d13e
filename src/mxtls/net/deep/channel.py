"""Open a byte channel at the point where TLS would start.

Deep-scan probes speak TLS themselves (crafted ClientHellos, record-level
vulnerability tests), so they need the raw TCP stream positioned right
where the ClientHello goes: after ``220`` to STARTTLS on 25/587, or at once
on 465.  Each probe is one connection; this module does the SMTP part with
the sans-I/O codec and reports failures (refusals, throttling, timeouts) as
data, so a probe can stop and report ``smtp.rate_limited`` instead of
hammering a server that pushes back.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from mxtls.config import CheckConfig
from mxtls.models.observations import ConnectFailure
from mxtls.net.smtp_session import looks_throttled
from mxtls.net.stream import RawStream, classify_error, connect
from mxtls.protocol.smtp import (
    ConnectionClosed,
    Ehlo,
    NeedData,
    RemoteProtocolError,
    Reply,
    SmtpClient,
    StartTls,
)

RECV_BYTES = 4096
MAX_READS = 10_000  # loop bound; the deadline ends it first

ChannelFailureKind = Literal[
    "connect",
    "banner",
    "ehlo",
    "starttls_absent",
    "starttls_refused",
    "throttled",
    "closed",
    "timeout",
    "protocol",
]


@dataclass(frozen=True, slots=True)
class ChannelFailure:
    """Why no TLS channel could be opened (data, not an exception)."""

    kind: ChannelFailureKind
    detail: str
    connect_failure: ConnectFailure | None = None

    @property
    def throttled(self) -> bool:
        """True when the server pushed back (421, 'too many connections', early close)."""
        return self.kind == "throttled"


@dataclass(slots=True)
class Channel:
    """A TCP stream positioned where the ClientHello goes; close it with :meth:`aclose`."""

    stream: RawStream
    leftover: bytes  # plaintext the server sent after its 220 to STARTTLS (should be empty)

    async def aclose(self) -> None:
        """Close the connection (bounded)."""
        await self.stream.aclose()


async def open_channel(
    ip: str, port: int, config: CheckConfig, *, ehlo_name: str | None = None
) -> Channel | ChannelFailure:
    """Connect to ``ip``:``port`` (via ``--port-map``) and get to the TLS start.

    Port 465 (implicit TLS) returns right after the TCP connect; other ports
    read the banner, send EHLO and STARTTLS and return after the ``220``.
    Every step is bounded by the config's timeouts.
    """
    stream = await connect(ip, config.connect_port(port), config.timeouts.connect)
    if isinstance(stream, ConnectFailure):
        return ChannelFailure("connect", f"{stream.kind}: {stream.detail}", stream)
    if config.tls_mode(port) == "implicit":
        return Channel(stream, b"")
    client = SmtpClient(max_line_bytes=config.limits.max_line_bytes)
    try:
        banner = await _reply(stream, client, config.timeouts.banner)
        if banner.code != 220:
            kind: ChannelFailureKind = "throttled" if looks_throttled(banner) else "banner"
            return await _fail(stream, kind, f"banner {banner.code} {banner.text}")
        await stream.send(client.send(Ehlo(name=ehlo_name or config.ehlo_name)))
        ehlo = await _reply(stream, client, config.timeouts.command)
        if ehlo.code != 250:
            kind = "throttled" if looks_throttled(ehlo) else "ehlo"
            return await _fail(stream, kind, f"EHLO answered {ehlo.code} {ehlo.text}")
        if not any(line.upper().split(" ")[0] == "STARTTLS" for line in ehlo.lines[1:]):
            return await _fail(stream, "starttls_absent", "STARTTLS not offered")
        await stream.send(client.send(StartTls()))
        reply = await _reply(stream, client, config.timeouts.command)
        if reply.code != 220:
            kind = "throttled" if looks_throttled(reply) else "starttls_refused"
            return await _fail(stream, kind, f"STARTTLS answered {reply.code} {reply.text}")
        return Channel(stream, client.start_tls())
    except TimeoutError:
        return await _fail(stream, "timeout", "no reply within the step timeout")
    except _Closed as exc:
        return await _fail(stream, "throttled", f"server closed the connection {exc}")
    except RemoteProtocolError as exc:
        return await _fail(stream, "protocol", str(exc))
    except OSError as exc:
        failure = classify_error(exc)
        return await _fail(stream, "closed", f"{failure.kind}: {failure.detail}")


class _Closed(Exception):
    pass


async def _reply(stream: RawStream, client: SmtpClient, timeout: float) -> Reply:
    async with asyncio.timeout(timeout):
        for _ in range(MAX_READS):
            event = client.next_event()
            if isinstance(event, Reply):
                return event
            if isinstance(event, ConnectionClosed):
                raise _Closed("before replying")
            assert isinstance(event, NeedData)
            client.receive_data(await stream.recv(RECV_BYTES))
    raise TimeoutError


async def _fail(stream: RawStream, kind: ChannelFailureKind, detail: str) -> ChannelFailure:
    stream.abort()
    return ChannelFailure(kind, detail)
