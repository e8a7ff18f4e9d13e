"""One deep-scan probe: a crafted ClientHello on a fresh channel, and the answer.

Every question the deep scan asks ("would you pick one of these suites with
this version?") costs exactly one connection: open a channel (SMTP up to the
``220`` to STARTTLS, or nothing on 465), send one hello, read the server's first
flight until ServerHelloDone (TLS <= 1.2), the ServerHello (TLS 1.3, whose rest
is encrypted), a HelloRetryRequest, an alert or the close, then hang up.  The
read is bounded by the handshake timeout and by the codec's size limits; the
answer is a frozen :class:`HelloResult`, never an exception.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from mxtls.config import CheckConfig
from mxtls.net.deep.channel import Channel, ChannelFailure, open_channel
from mxtls.protocol.tls_wire import (
    Alert,
    Certificate,
    ChangeCipherSpec,
    Closed,
    HandshakeMessage,
    NeedData,
    OpaqueRecord,
    RecordReader,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
    SSLv2Error,
    SSLv2ServerHello,
    TlsWireError,
)

RECV_BYTES = 16 * 1024
MAX_READS = 4096  # loop bound; the handshake deadline or the codec's limits end it first
HS_CERTIFICATE_STATUS = 22  # RFC 6066 §8
HS_CERTIFICATE_REQUEST = 13  # RFC 5246 §7.4.4

Outcome = Literal[
    "hello",  # a ServerHello (possibly with the rest of the flight)
    "hrr",  # a TLS 1.3 HelloRetryRequest
    "alert",  # an alert before any ServerHello
    "closed",  # the server hung up without a word
    "sslv2",  # an SSLv2 SERVER-HELLO
    "sslv2_error",  # an SSLv2 ERROR message
    "malformed",  # bytes that are not TLS
    "timeout",  # no answer within the handshake timeout
    "no_channel",  # the SMTP part failed (see ``failure``)
    "skipped",  # not sent: the scan had already stopped
]


@dataclass(frozen=True, slots=True, kw_only=True)
class HelloResult:
    """The server's answer to one ClientHello.

    ``certificate_status`` is the body of a CertificateStatus message (OCSP
    stapling), ``failure`` the channel failure for ``no_channel``.
    """

    outcome: Outcome
    server_hello: ServerHello | None = None
    certificates: tuple[bytes, ...] = ()
    server_key_exchange: ServerKeyExchange | None = None
    certificate_status: bytes | None = None
    alert: Alert | None = None
    sslv2: SSLv2ServerHello | None = None
    failure: ChannelFailure | None = None
    detail: str = ""
    complete: bool = False  # the flight ended with ServerHelloDone
    certificate_request: bool = False  # the server asked for a client certificate
    closed: bool = False  # the peer hung up before the flight was complete

    @property
    def answered(self) -> bool:
        """True when the server gave a TLS-level answer (acceptance or refusal).

        False means the question is still open (timeout, no channel, skipped):
        a scan must not read it as "not supported".
        """
        return self.outcome not in ("timeout", "no_channel", "skipped")

    @property
    def refusal(self) -> str:
        """How a refusal looked, for observation details (``alert protocol_version``)."""
        if self.alert is not None:
            return f"alert {self.alert.name}"
        return self.detail or self.outcome


SKIPPED = HelloResult(outcome="skipped", detail="scan stopped before this probe")


async def send_hello(
    ip: str,
    port: int,
    config: CheckConfig,
    payload: bytes,
    *,
    flight: bool = True,
) -> HelloResult:
    """Open a channel to ``ip``:``port``, send ``payload`` (a hello) and read the answer.

    Args:
        payload: the ClientHello records (or an SSLv2 CLIENT-HELLO).
        flight: for TLS <= 1.2, keep reading after the ServerHello up to
            ServerHelloDone (certificates, ServerKeyExchange, CertificateStatus);
            False stops at the ServerHello.

    Returns:
        The answer; failures are data (``no_channel``, ``timeout``...).
    """
    channel = await open_channel(ip, port, config)
    if isinstance(channel, ChannelFailure):
        return HelloResult(outcome="no_channel", failure=channel, detail=channel.detail)
    try:
        async with asyncio.timeout(config.timeouts.handshake):
            await channel.stream.send(payload)
            return await read_answer(channel, RecordReader(), flight=flight)
    except TimeoutError:
        return HelloResult(
            outcome="timeout", detail=f"no TLS answer within {config.timeouts.handshake:g}s"
        )
    except OSError as exc:
        return HelloResult(outcome="closed", detail=f"connection failed: {type(exc).__name__}")
    finally:
        await channel.aclose()


class _Answer:
    """What has arrived so far (mutable while reading, frozen into a HelloResult)."""

    def __init__(self) -> None:
        self.hello: ServerHello | None = None
        self.certificates: tuple[bytes, ...] = ()
        self.ske: ServerKeyExchange | None = None
        self.status: bytes | None = None
        self.certificate_request = False

    def result(
        self,
        *,
        alert: Alert | None = None,
        detail: str = "",
        complete: bool = False,
        closed: bool = False,
    ) -> HelloResult:
        hrr = self.hello is not None and self.hello.is_hello_retry_request
        return HelloResult(
            outcome="hrr" if hrr else "hello",
            server_hello=self.hello,
            certificates=self.certificates,
            server_key_exchange=self.ske,
            certificate_status=self.status,
            alert=alert,
            detail=detail,
            complete=complete,
            certificate_request=self.certificate_request,
            closed=closed,
        )


async def read_answer(channel: Channel, reader: RecordReader, *, flight: bool) -> HelloResult:
    """Read the server's answer to a hello already sent on ``channel``.

    The caller bounds the time.  ``reader`` is the caller's, so a probe that
    goes on speaking TLS after the flight (the vulnerability probes) keeps its
    state.  Stops at a TLS 1.3 ServerHello or HelloRetryRequest, at the
    ServerHello when ``flight`` is False, else at ServerHelloDone.

    Raises:
        OSError: the connection failed while reading.
    """
    got = _Answer()
    for _ in range(MAX_READS):
        try:
            event = reader.next_event()
        except TlsWireError as exc:
            if got.hello is not None:
                return got.result(detail=f"flight cut short: {exc}")
            return HelloResult(outcome="malformed", detail=str(exc))
        match event:
            case NeedData():
                reader.receive_data(await channel.stream.recv(RECV_BYTES))
            case ServerHello():
                got.hello = event
                if event.is_hello_retry_request or event.negotiated_version == 0x0304:
                    return got.result()
                if not flight:
                    return got.result()
            case Certificate():
                got.certificates = event.certificates
            case ServerKeyExchange():
                got.ske = event
            case HandshakeMessage():
                if event.msg_type == HS_CERTIFICATE_STATUS:
                    got.status = event.body
                elif event.msg_type == HS_CERTIFICATE_REQUEST:
                    got.certificate_request = True
            case ServerHelloDone():
                return got.result(complete=True)
            case Alert():
                if got.hello is not None:
                    return got.result(alert=event)
                return HelloResult(outcome="alert", alert=event)
            case SSLv2ServerHello():
                return HelloResult(outcome="sslv2", sslv2=event)
            case SSLv2Error():
                return HelloResult(outcome="sslv2_error", detail=f"SSLv2 error {event.code}")
            case ChangeCipherSpec() | OpaqueRecord():
                if got.hello is not None:
                    return got.result()
            case Closed():
                if got.hello is not None:
                    return got.result(closed=True)
                return HelloResult(outcome="closed", detail="closed without an answer", closed=True)
    return got.result() if got.hello is not None else HelloResult(outcome="malformed")
