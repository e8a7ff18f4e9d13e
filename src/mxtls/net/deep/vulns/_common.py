"""What the vulnerability probes share: connection gate, first flight, reply reading.

Each probe opens its own connections through :meth:`ProbeRun.channel`, which
takes a slot of the endpoint's connection gate, counts the connection and turns
a channel failure into :class:`NotTested` (and marks the endpoint throttled when
the server pushed back, so the other probes stop too).  The record-level work
is done with the sans-I/O :class:`~mxtls.protocol.tls_wire.RecordReader`; every
read here sits under a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from mxtls.config import CheckConfig
from mxtls.models.vulns import VulnProbe
from mxtls.net.deep.channel import Channel, ChannelFailure, open_channel
from mxtls.net.deep.hello import read_answer
from mxtls.net.politeness import Gate
from mxtls.net.tls import sni_for
from mxtls.protocol.tls_registry import TlsVersion, version_label
from mxtls.protocol.tls_wire import (
    Alert,
    Closed,
    NeedData,
    OpaqueRecord,
    RecordReader,
    ServerHello,
    TlsWireError,
)

RECV_BYTES = 16 * 1024 + 5  # one TLS record with its header
MAX_READS = 4096  # loop bound; the deadline ends a slow peer first
CT_CHANGE_CIPHER_SPEC = 20  # RFC 5246 §6.2.1 ContentType
CT_HANDSHAKE = 22
MAX_EVIDENCE_CHARS = 160  # evidence lines stay one short line

P = TypeVar("P", bound=VulnProbe)


class NotTested(Exception):
    """Ends a probe with ``vulnerable=None``; the message is the reason."""


@dataclass(slots=True)
class ProbeContext:
    """The endpoint under test and what its probes share.

    ``gate`` caps this endpoint's concurrent connections; ``throttled`` holds the
    reason once the server pushed back, after which no probe opens another
    connection.
    """

    host: str
    ip: str
    port: int
    config: CheckConfig
    gate: Gate
    throttled: str | None = None

    @property
    def sni(self) -> str | None:
        """The SNI to send (the MX name; none for an address literal)."""
        return sni_for(self.host)

    @property
    def starttls(self) -> bool:
        """True on STARTTLS ports (25/587), False on implicit TLS (465)."""
        return self.config.tls_mode(self.port) == "starttls"

    def wait(self, preferred: float) -> float:
        """A reply wait: ``preferred`` seconds, never above the run's command timeout."""
        return min(preferred, self.config.timeouts.command)

    def run(self) -> ProbeRun:
        """Start one probe's bookkeeping."""
        return ProbeRun(self)

    async def run_probe(
        self,
        model: type[P],
        test: Callable[[ProbeContext, ProbeRun, dict[str, object]], Awaitable[bool]],
    ) -> P:
        """Run ``test`` within the probe's bounds; ``NotTested`` becomes ``vulnerable=None``."""
        run = self.run()
        facts: dict[str, object] = {}
        try:
            async with run.bounded():
                vulnerable = await test(self, run, facts)
        except NotTested as exc:
            return run.result(model, None, facts, str(exc))
        return run.result(model, vulnerable, facts)


@dataclass(slots=True)
class ProbeRun:
    """One probe's connections, evidence and clock."""

    ctx: ProbeContext
    connections: int = 0
    evidence: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def note(self, line: str) -> None:
        """Add one evidence line (bounded, printable)."""
        flat = "".join(ch if ch.isprintable() else " " for ch in line).strip()
        if len(flat) > MAX_EVIDENCE_CHARS:
            flat = flat[: MAX_EVIDENCE_CHARS - 1] + "…"
        self.evidence.append(flat)

    def result(
        self,
        model: type[P],
        vulnerable: bool | None,
        facts: Mapping[str, object],
        reason: str | None = None,
    ) -> P:
        """The probe's observation: its own ``facts`` plus the common fields."""
        return model.model_validate(
            {
                **facts,
                "vulnerable": vulnerable,
                "not_tested_reason": reason,
                "evidence": list(self.evidence),
                "connections": self.connections,
                "elapsed_ms": round((time.monotonic() - self.started) * 1000, 3),
            }
        )

    @asynccontextmanager
    async def bounded(self) -> AsyncIterator[None]:
        """Bound the whole probe by the run's per-endpoint total.

        Raises:
            NotTested: the total ran out.
        """
        total = self.ctx.config.timeouts.endpoint_total
        try:
            async with asyncio.timeout(total):
                yield
        except TimeoutError:
            raise NotTested(f"probe not finished within {total:g}s") from None

    @asynccontextmanager
    async def channel(self) -> AsyncIterator[Channel]:
        """A fresh channel positioned where the ClientHello goes; closed on exit.

        Raises:
            NotTested: the endpoint is throttled, or no channel could be opened.
        """
        ctx = self.ctx
        async with ctx.gate:
            if ctx.throttled is not None:
                raise NotTested(f"server throttled the checker ({ctx.throttled})")
            self.connections += 1
            opened = await open_channel(ctx.ip, ctx.port, ctx.config)
            if isinstance(opened, ChannelFailure):
                if opened.throttled:
                    ctx.throttled = opened.detail
                raise NotTested(f"no TLS channel: {opened.kind}: {opened.detail}")
            try:
                yield opened
            finally:
                # Graceful: the slot is given back once the server let go too.
                await opened.aclose()


@dataclass(frozen=True, slots=True)
class Flight:
    """The server's plaintext TLS <= 1.2 flight up to ServerHelloDone."""

    server_hello: ServerHello
    certificates: tuple[bytes, ...]
    certificate_request: bool

    @property
    def version(self) -> int:
        """The negotiated protocol version."""
        return self.server_hello.negotiated_version

    @property
    def version_name(self) -> str:
        """``TLSv1.2`` etc."""
        return version_label(self.version)


@dataclass(frozen=True, slots=True)
class Refused:
    """The server did not complete its first flight.

    ``alert`` is set when it said why; ``closed`` when it hung up without a word.
    """

    detail: str
    alert: Alert | None = None
    closed: bool = False


async def read_flight(channel: Channel, reader: RecordReader, timeout: float) -> Flight | Refused:
    """Read the server's flight up to ServerHelloDone within ``timeout`` seconds.

    Built on :func:`mxtls.net.deep.hello.read_answer` (the enumeration's reader);
    the probes then go on with the same ``reader``.

    Returns:
        The flight, or :class:`Refused` for an alert, a close, a reset, a
        timeout, a TLS 1.3 or SSLv2 answer or malformed bytes.
    """
    try:
        async with asyncio.timeout(timeout):
            answer = await read_answer(channel, reader, flight=True)
    except TimeoutError:
        return Refused(f"no ServerHelloDone within {timeout:g}s")
    except OSError as exc:
        return Refused(f"connection failed: {type(exc).__name__}", closed=True)
    hello = answer.server_hello
    if hello is not None and hello.negotiated_version > TlsVersion.TLS1_2:
        return Refused(f"server chose {version_label(hello.version)}")
    if answer.alert is not None:
        return Refused(f"alert {describe_alert(answer.alert)}", answer.alert)
    if answer.closed:
        return Refused("connection closed during the handshake", closed=True)
    if answer.outcome in ("sslv2", "sslv2_error"):
        return Refused("server answered in SSLv2")
    if answer.outcome == "malformed" or (hello is not None and answer.detail):
        return Refused(f"malformed TLS from the server: {answer.detail}")
    if hello is None or not answer.complete:
        return Refused("no ServerHelloDone in the server's flight")
    return Flight(hello, answer.certificates, answer.certificate_request)


def describe_alert(alert: Alert) -> str:
    """``fatal unexpected_message`` (level and description name)."""
    level = {1: "warning", 2: "fatal"}.get(alert.level, f"level{alert.level}")
    return f"{level} {alert.name}"


@dataclass(frozen=True, slots=True)
class Response:
    """The first thing the server did after a probe payload.

    ``kind`` is ``alert``, ``record`` (another record), ``closed``, ``reset``,
    ``silence`` (nothing within the wait) or ``malformed``; :attr:`label` is the
    comparable text (``alert fatal bad_record_mac``).
    """

    kind: str
    alert: Alert | None = None
    detail: str = ""

    @property
    def label(self) -> str:
        """A stable description, equal for equal behaviour."""
        if self.alert is not None:
            return f"alert {describe_alert(self.alert)}"
        return f"{self.kind} {self.detail}".strip()


async def read_response(channel: Channel, reader: RecordReader, wait: float) -> Response:
    """The server's first reaction within ``wait`` seconds (bounded reads, never raises)."""
    try:
        async with asyncio.timeout(wait):
            for _ in range(MAX_READS):
                event = reader.next_event()
                match event:
                    case NeedData():
                        reader.receive_data(await channel.stream.recv(RECV_BYTES))
                    case Alert():
                        return Response("alert", event)
                    case Closed():
                        return Response("closed")
                    case OpaqueRecord(content_type=ct):
                        return Response("record", detail=f"type {ct}")
                    case _:
                        return Response("record", detail=type(event).__name__)
    except TimeoutError:
        return Response("silence")
    except TlsWireError as exc:
        return Response("malformed", detail=str(exc)[:60])
    except OSError:
        return Response("reset")
    return Response("silence")


async def send(channel: Channel, data: bytes) -> bool:
    """Write ``data``; False when the peer has already torn the connection down."""
    try:
        await channel.stream.send(data)
    except OSError:
        return False
    return True


def record(content_type: int, version: int, body: bytes) -> bytes:
    """One plaintext TLS record."""
    return bytes([content_type]) + version.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


def change_cipher_spec(version: int) -> bytes:
    """A ChangeCipherSpec record (RFC 5246 §7.1)."""
    return record(CT_CHANGE_CIPHER_SPEC, version, b"\x01")
