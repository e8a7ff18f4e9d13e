"""Open a byte channel at the point where TLS would start.

Deep-scan probes speak TLS themselves (crafted ClientHellos, record-level
vulnerability tests), so they need the raw TCP stream positioned right
where the ClientHello goes: after ``220`` to STARTTLS on 25/587, or at once
on 465.  Each probe is one connection; the SMTP part is the one STARTTLS
opener's (:mod:`mxtls.net.starttls`), and this module words its failures
(refusals, throttling, timeouts) as data, so a probe can stop and report
``smtp.rate_limited`` instead of hammering a server that pushes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mxtls.config import CheckConfig
from mxtls.models.observations import ConnectFailure
from mxtls.net.starttls import Stopped, open_tls_start
from mxtls.net.stream import RawStream
from mxtls.protocol.starttls import DIALECTS, SMTP

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

# A refusal at each step of the walk, when it did not ask to slow down
# (SMTP's step names; IMAP's and POP3's greeting and capability steps alike).
_REFUSED: dict[str, ChannelFailureKind] = {
    SMTP.greeting_step: "banner",
    "greeting": "banner",
    SMTP.hello_step: "ehlo",
    "capability": "ehlo",
    "capa": "ehlo",
    "starttls": "starttls_refused",
}


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
    read the banner, send EHLO and STARTTLS and return after the ``220``
    (through the one STARTTLS opener, :func:`mxtls.net.starttls.open_tls_start`).
    Every step is bounded by the config's timeouts.
    """
    dialect = DIALECTS[config.protocol(port)]
    opened = await open_tls_start(ip, port, dialect, config, client_name=ehlo_name)
    if isinstance(opened, ConnectFailure):
        return ChannelFailure("connect", f"{opened.kind}: {opened.detail}", opened)
    if isinstance(opened, Stopped):
        return _failure(opened)
    return Channel(opened.raw, opened.seen.leftover)


def _failure(stop: Stopped) -> ChannelFailure:
    match stop.kind:
        case "rejected":
            kind = "throttled" if stop.throttled else _REFUSED.get(stop.step, "protocol")
            return ChannelFailure(kind, stop.detail)
        case "not_offered":
            return ChannelFailure("starttls_absent", stop.detail)
        case "timeout":
            return ChannelFailure("timeout", "no reply within the step timeout")
        case "protocol":
            return ChannelFailure("protocol", stop.cause)
        case "closed" if stop.failure is None:
            return ChannelFailure("throttled", f"server closed the connection {stop.cause}")
        case "closed":
            return ChannelFailure("closed", stop.cause)
    raise AssertionError(stop.kind)  # pragma: no cover
