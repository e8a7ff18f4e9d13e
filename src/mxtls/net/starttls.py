"""The one STARTTLS opener: walk any mail protocol to the point where TLS starts.

Theory of operation
-------------------
A :class:`Dialogue` is one connection spoken through a protocol's sans-I/O
codec, following that protocol's :class:`~mxtls.protocol.starttls.Dialect`.
It holds the one read loop of every plaintext (and, after the upgrade, TLS)
mail dialogue in mxtls: :meth:`Dialogue.read` feeds the codec at most
:data:`RECV_BYTES` per read until a complete response arrives, under the
step's deadline and a bound on the number of reads; the codec bounds line
length and response size.  The steps of the walk are methods:

===============  ==========================================================
``greeting()``   the server's greeting (``banner`` for SMTP)
``hello()``      the capability question (EHLO, HELO after a 5xx)
``starttls()``   the upgrade command; afterwards the plaintext the server
                 sent past its go-ahead is in ``seen.leftover``
``goodbye()``    a courtesy QUIT/LOGOUT, bounded, whose outcome is ignored
===============  ==========================================================

:meth:`Dialogue.to_tls_start` runs greeting, hello, the offer check and
starttls in order; :func:`open_tls_start` connects first (and returns at
once on an implicit-TLS port).

Peer behaviour is data.  A step that cannot go on raises :class:`Stopped`
(timeout, close, protocol error, refusal, not offered) after recording what
it saw in ``seen``; callers in ``net/`` turn it into their observation, and
:func:`open_tls_start` returns it instead of raising.  ``seen.throttled``
collects the signs of rate limiting (a "slow down" answer, a close before
the server said anything) exactly as the SMTP probe has always reported them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

from mxtls.config import CheckConfig
from mxtls.models.observations import ConnectFailure
from mxtls.net.stream import RawStream, classify_error, connect
from mxtls.protocol.events import ConnectionClosed, NeedData, PeerProtocolError
from mxtls.protocol.peer_text import shown
from mxtls.protocol.starttls import Codec, Dialect

__all__ = [
    "RECV_BYTES",
    "Dialogue",
    "Seen",
    "StepClock",
    "Stopped",
    "open_tls_start",
]

RECV_BYTES = 4096  # THE read size of a mail dialogue; the codec bounds lines, the deadline time
MAX_READS_PER_RESPONSE = 100_000  # loop bound; the step deadline ends a slow peer long before
GOODBYE_WAIT_SECONDS = 2.0  # at most this long for the courtesy QUIT after a refusal

R = TypeVar("R")
C = TypeVar("C")

StopKind = Literal["timeout", "closed", "protocol", "rejected", "not_offered"]
Note = Callable[[Literal["C", "S", "T"], str], None]


class Stopped(Exception):
    """A step of the dialogue cannot go on (peer behaviour, raised only inside ``net/``).

    Attributes:
        step: the step that stopped (``banner``, ``ehlo``, ``starttls`` …).
        kind: ``timeout``, ``closed`` (end of stream or a failed connection:
            ``failure`` then says which), ``protocol``, ``rejected`` (the
            server refused), ``not_offered`` (no upgrade in the capabilities).
        detail: what happened, worded for a report, without the target.
        cause: the bare reason (the protocol error, the failure, the reply).
        failure: the connection failure behind a ``closed`` stop, if any.
        throttled: the refusal that stopped the walk asked the client to slow
            down (421, "too many connections").
    """

    def __init__(
        self,
        step: str,
        kind: StopKind,
        detail: str,
        *,
        cause: str = "",
        failure: ConnectFailure | None = None,
        throttled: bool = False,
    ) -> None:
        super().__init__(detail)
        self.step = step
        self.kind: StopKind = kind
        self.detail = detail
        self.cause = cause or detail
        self.failure = failure
        self.throttled = throttled


@dataclass(slots=True)
class StepClock:
    """The current step's name and how long each step took (ms)."""

    step: str = "connect"
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        """Make ``step`` current and record its duration, even when it fails."""
        self.step = step
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.timings[step] = round((time.monotonic() - t0) * 1000, 3)


@dataclass(slots=True)
class Seen(Generic[R]):
    """What the walk saw so far (each field holds the latest of its kind).

    ``hello_refused`` is the refusal of the first capability question (SMTP:
    EHLO) when it was refused; ``hello_command`` names the question that
    succeeded.  ``capabilities`` stays empty after a fallback (HELO has none).
    """

    greeting: R | None = None
    hello: R | None = None
    hello_command: str | None = None
    hello_refused: R | None = None
    capabilities: dict[str, list[str]] = field(default_factory=dict)
    offered: bool | None = None
    starttls_reply: R | None = None
    leftover: bytes = b""
    throttled: bool = False


class _Stream(Protocol):
    async def send(self, data: bytes) -> None: ...

    async def recv(self, max_bytes: int) -> bytes: ...


class Dialogue(Generic[R, C]):
    """One mail connection spoken through a codec (see the module's theory of operation).

    Args:
        raw: the connected stream.
        dialect: the protocol's table.
        config: the run's timeouts, limits and client name.
        target: ``HOST[IP]:PORT``, for the caller's messages.
        note: transcript recorder (``C``/``S``/``T`` lines), if any.
        clock: step clock shared with the caller (timings, ``stopped_at``).
        polite: say goodbye after a refusal (the SMTP probe); the deep scan's
            short connections just hang up.
        client_name: the name for EHLO (default ``config.ehlo_name``).
    """

    def __init__(
        self,
        raw: RawStream,
        dialect: Dialect[R, C],
        config: CheckConfig,
        *,
        target: str = "",
        note: Note | None = None,
        clock: StepClock | None = None,
        polite: bool = False,
        client_name: str | None = None,
    ) -> None:
        limits = config.limits
        self.raw = raw
        self.stream: _Stream = raw
        self.dialect = dialect
        self.config = config
        self.target = target
        self.codec: Codec[R, C] = dialect.codec(limits.max_line_bytes, limits.max_reply_lines)
        self.clock = clock or StepClock()
        self.seen: Seen[R] = Seen()
        self.bytes_received = 0
        self.polite = polite
        self.client_name = client_name or config.ehlo_name
        self._note = note

    # ------------------------------------------------------------ the loop

    def note(self, direction: Literal["C", "S", "T"], text: str) -> None:
        """Record a transcript line (when the caller keeps a transcript)."""
        if self._note is not None:
            self._note(direction, text)

    def upgrade(self, stream: _Stream) -> None:
        """Go on speaking over ``stream`` (the TLS session over ``raw``).

        What the server said about its capabilities before TLS is forgotten
        (RFC 3207 §4.2, RFC 2595 §3.1): the client asks again inside TLS.
        """
        self.stream = stream
        seen = self.seen
        seen.hello = seen.hello_command = seen.hello_refused = seen.offered = None
        seen.capabilities = {}

    async def read(self, timeout: float, what: str) -> R:
        """The next complete response, within ``timeout`` seconds.

        Raises:
            Stopped: timeout, end of stream, a failed connection or a protocol error.
        """
        step = self.clock.step
        try:
            async with asyncio.timeout(timeout):
                for _ in range(MAX_READS_PER_RESPONSE):
                    event = self.codec.next_event()
                    if isinstance(event, NeedData):
                        data = await self.stream.recv(RECV_BYTES)
                        self.bytes_received += len(data)
                        self.codec.receive_data(data)
                    elif isinstance(event, ConnectionClosed):
                        detail = f"connection closed while waiting for {what}"
                        if event.incomplete:
                            detail += f" (unfinished reply {event.incomplete!r})"
                        self.note("T", "connection closed by the server")
                        raise Stopped(step, "closed", detail, cause="before replying")
                    else:
                        for line in self.dialect.transcript(event):
                            self.note("S", line)
                        return event
        except TimeoutError:
            self.note("T", f"no {what} within {timeout:g}s")
            raise Stopped(step, "timeout", f"no {what} within {timeout:g}s") from None
        except PeerProtocolError as exc:
            self.note("T", f"protocol error: {exc}")
            raise Stopped(step, "protocol", f"{what}: {exc}", cause=str(exc)) from None
        except OSError as exc:
            failure = classify_error(exc)
            self.note("T", f"connection failed: {failure.kind}")
            reason = f"{failure.kind}: {failure.detail}"
            raise Stopped(
                step, "closed", f"{what}: {reason}", cause=reason, failure=failure
            ) from None
        raise Stopped(step, "protocol", f"{what}: no reply after {MAX_READS_PER_RESPONSE} reads")

    async def send(self, data: bytes, what: str) -> None:
        """Write ``data`` within the command timeout.

        Raises:
            Stopped: the write timed out or the connection failed.
        """
        timeout = self.config.timeouts.command
        try:
            async with asyncio.timeout(timeout):
                await self.stream.send(data)
        except TimeoutError:
            raise Stopped(
                self.clock.step, "timeout", f"could not send {what} in {timeout:g}s"
            ) from None
        except OSError as exc:
            failure = classify_error(exc)
            reason = f"{failure.kind}: {failure.detail}"
            raise Stopped(
                self.clock.step, "closed", f"{what}: {reason}", cause=reason, failure=failure
            ) from None

    async def command(self, cmd: C, *, then: bytes = b"") -> R:
        """Send ``cmd`` (and the bytes ``then`` in the same write) and read its response.

        Raises:
            Stopped: as :meth:`send` and :meth:`read`.
        """
        data = self.codec.send(cmd)
        name = self.dialect.command_name(cmd)
        self.note("C", self.dialect.command_text(cmd, data))
        await self.send(data + then, name)
        return await self.read(self.config.timeouts.command, f"reply to {name}")

    # ----------------------------------------------------------- the steps

    async def greeting(self) -> R:
        """Read the server's greeting.

        Raises:
            Stopped: no greeting, or one that refuses the client.
        """
        d = self.dialect
        with self.clock.timed(d.greeting_step):
            try:
                reply = await self.read(self.config.timeouts.banner, d.greeting_name)
            except Stopped as stop:
                if stop.kind == "closed" and self.bytes_received == 0:
                    self.seen.throttled = True  # closed before saying anything
                raise
        self.seen.greeting = reply
        if d.throttled(reply):
            self.seen.throttled = True
        if not d.greeting_ok(reply):
            await self._refused(reply)
            raise self._rejection(d.greeting_step, d.greeting_name, reply)
        return reply

    async def hello(self, step: str, *, fallback: bool = False) -> R:
        """Ask for the capabilities (``seen.capabilities``); with ``fallback``, SMTP's HELO.

        Raises:
            Stopped: the question (and its fallback) was refused.
        """
        d = self.dialect
        with self.clock.timed(step):
            cmd = d.hello(self.client_name)
            reply = await self.command(cmd)
            if d.hello_ok(reply):
                self._answered(reply, d.command_name(cmd), d.capabilities(reply))
                return reply
            self.seen.hello_refused = reply
            if d.throttled(reply):
                self.seen.throttled = True
            second = d.fallback(self.client_name, reply) if fallback else None
            if second is not None:
                retry = await self.command(second)
                if d.hello_ok(retry):
                    self._answered(retry, d.command_name(second), {})
                    return retry
                reply = retry
        first = self.seen.hello_refused
        await self._refused(reply)
        label = f"{d.hello_label(fallback)} answered"
        raise self._rejection(step, label, reply, first is not None and d.throttled(first))

    def _answered(self, reply: R, command: str, capabilities: dict[str, list[str]]) -> None:
        self.seen.hello, self.seen.hello_command = reply, command
        self.seen.capabilities = capabilities
        self.seen.offered = self.dialect.offered(capabilities)

    async def starttls(self, *, then: bytes = b"") -> R:
        """Send the upgrade command (with ``then`` in the same write) and take the go-ahead.

        Afterwards TLS must start on ``raw``; ``seen.leftover`` holds the
        plaintext the server sent after its go-ahead (what the codec kept plus
        what has already arrived, at most one line's worth).

        Raises:
            Stopped: the upgrade was refused.
        """
        d = self.dialect
        with self.clock.timed("starttls"):
            reply = await self.command(d.starttls(), then=then)
        self.seen.starttls_reply = reply
        if not d.starttls_ok(reply):
            if d.throttled(reply):
                self.seen.throttled = True
            await self._refused(reply)
            raise self._rejection("starttls", f"{d.starttls_name} answered", reply)
        leftover = self.codec.start_tls()
        room = self.config.limits.max_line_bytes - len(leftover)
        if room > 0:
            leftover += self.raw.recv_nowait(room)  # already arrived, so not TLS from the server
        self.seen.leftover = leftover
        if leftover:
            text = leftover.decode("utf-8", "replace")
            self.note(
                "T",
                f"server sent {len(leftover)} plaintext bytes after {d.go_ahead}: {shown(text)}",
            )
        return reply

    async def to_tls_start(
        self,
        *,
        fallback: bool = False,
        before_upgrade: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Greeting, capabilities, the offer check and the upgrade: TLS starts next.

        ``before_upgrade`` runs in clear right before the upgrade command (the
        SMTP probe's ``--auth-check-plaintext``).

        Raises:
            Stopped: a step failed; ``not_offered`` when the upgrade is not offered.
        """
        hello_step = self.dialect.hello_step
        await self.greeting()
        await self.hello(hello_step, fallback=fallback)
        if not self.seen.offered:
            name = self.dialect.starttls_name
            self.note("T", f"{name} not offered")
            if self.polite:
                await self.goodbye()
            raise Stopped(hello_step, "not_offered", f"{name} not offered")
        if before_upgrade is not None:
            await before_upgrade()
        await self.starttls()

    async def goodbye(self) -> None:
        """Courtesy QUIT (LOGOUT); its outcome is recorded in the transcript only."""
        try:
            async with asyncio.timeout(min(self.config.timeouts.command, GOODBYE_WAIT_SECONDS)):
                await self.command(self.dialect.goodbye())
        except (Stopped, TimeoutError, OSError):
            pass

    def _rejection(self, step: str, label: str, reply: R, throttled: bool = False) -> Stopped:
        summary = self.dialect.summary(reply)
        return Stopped(
            step,
            "rejected",
            f"{label} {summary}",
            cause=summary,
            throttled=throttled or self.dialect.throttled(reply),
        )

    async def _refused(self, reply: R) -> None:
        if self.polite and not self.dialect.closing(reply):
            await self.goodbye()


async def open_tls_start(
    ip: str,
    port: int,
    dialect: Dialect[R, C],
    config: CheckConfig,
    *,
    client_name: str | None = None,
) -> Dialogue[R, C] | ConnectFailure | Stopped:
    """Connect to ``ip``:``port`` (via ``--port-map``) and walk to where TLS starts.

    On an implicit-TLS port the dialogue returns right after the TCP connect;
    otherwise after the go-ahead to the upgrade.  Every step is bounded by the
    config's timeouts.  The caller closes the returned dialogue's ``raw``.

    Returns:
        The dialogue, positioned where the ClientHello goes; or the failure
        as data (the connection is then already dropped).
    """
    stream = await connect(
        ip, config.connect_port(port), config.timeouts.connect, config.address_policy
    )
    if isinstance(stream, ConnectFailure):
        return stream
    dialogue = Dialogue(stream, dialect, config, client_name=client_name)
    if config.tls_mode(port) == "implicit":
        return dialogue
    try:
        await dialogue.to_tls_start()
    except Stopped as stop:
        stream.abort()
        return stop
    return dialogue
