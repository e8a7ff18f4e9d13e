"""Sans-I/O POP3 client codec, as far as a TLS checker speaks POP3: bytes in, events out.

Theory of operation
-------------------
mxtls speaks the part of POP3 (RFC 1939) that leads to TLS and back out: the
greeting, ``CAPA`` (RFC 2449), ``STLS`` (RFC 2595 §4) and ``QUIT``.  Every
response starts with a status line, ``+OK`` or ``-ERR``; a ``+OK`` to
``CAPA`` is followed by a multi-line body that ends with a line holding a
single dot, with dot-stuffing undone (RFC 1939 §3).  The dialogue is
lock-step: one command, its one :class:`Pop3Response`.

``Pop3Client`` has the shape of the SMTP and IMAP codecs: a public ``state``
moved by :data:`TRANSITIONS`, parsing as soon as bytes arrive with at most
``max_line_bytes`` of an unfinished line (RFC 2449 §4 allows 512 octets per
response line; we are lenient but bounded) and ``max_response_lines`` body
lines, plaintext after ``+OK`` to ``STLS`` kept aside for
:meth:`Pop3Client.start_tls`, and everything after the answer to ``QUIT``
ignored.  A response nobody asked for, or a status other than ``+OK`` or
``-ERR``, is a :class:`RemoteProtocolError`; the state is ``ERROR`` for good.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

from mxtls.protocol.events import (
    OFFENDING_MAX_BYTES,
    ConnectionClosed,
    LineAssembler,
    LineTooLong,
    NeedData,
    PeerProtocolError,
    decode_text,
    strip_line_end,
)

__all__ = [
    "TRANSITIONS",
    "Capa",
    "Command",
    "Event",
    "LocalProtocolError",
    "Pop3Client",
    "Pop3Response",
    "Pop3State",
    "Quit",
    "RemoteProtocolError",
    "Stls",
    "parse_capa",
]

DEFAULT_MAX_LINE_BYTES = 4096  # RFC 2449 §4: 512 octets per response line; be lenient, bounded
DEFAULT_MAX_RESPONSE_LINES = 100  # real CAPA bodies have about 10 lines


class LocalProtocolError(Exception):
    """The caller misused the codec (a bug on our side)."""


class RemoteProtocolError(PeerProtocolError):
    """The peer broke the POP3 protocol (``offending`` holds the bytes at fault)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Pop3Response:
    """A status line (``+OK``/``-ERR`` and its text) and, for ``CAPA``, the body lines."""

    ok: bool
    text: str
    lines: tuple[str, ...] = ()


Event = Pop3Response | NeedData | ConnectionClosed


@dataclass(frozen=True, slots=True, kw_only=True)
class Capa:
    """``CAPA`` (RFC 2449 §5): multi-line on ``+OK``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Stls:
    """``STLS`` (RFC 2595 §4)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Quit:
    """``QUIT`` (RFC 1939 §5)."""


Command = Capa | Stls | Quit

_VERBS: dict[type, str] = {Capa: "CAPA", Stls: "STLS", Quit: "QUIT"}


class Pop3State(enum.Enum):
    """Where the dialogue stands, from the client's point of view."""

    AWAIT_GREETING = "AWAIT_GREETING"
    IDLE = "IDLE"
    AWAIT_RESPONSE = "AWAIT_RESPONSE"
    TLS_PENDING = "TLS_PENDING"
    CLOSED = "CLOSED"
    ERROR = "ERROR"


TRANSITIONS: dict[tuple[Pop3State, str], Pop3State] = {
    (Pop3State.AWAIT_GREETING, "response"): Pop3State.IDLE,
    (Pop3State.AWAIT_GREETING, "eof"): Pop3State.CLOSED,
    (Pop3State.IDLE, "send"): Pop3State.AWAIT_RESPONSE,
    (Pop3State.IDLE, "eof"): Pop3State.CLOSED,
    (Pop3State.AWAIT_RESPONSE, "response"): Pop3State.IDLE,
    (Pop3State.AWAIT_RESPONSE, "response:OK-to-STLS"): Pop3State.TLS_PENDING,
    (Pop3State.AWAIT_RESPONSE, "response-to-QUIT"): Pop3State.CLOSED,
    (Pop3State.AWAIT_RESPONSE, "eof"): Pop3State.CLOSED,
    (Pop3State.TLS_PENDING, "start_tls"): Pop3State.IDLE,
    (Pop3State.TLS_PENDING, "eof"): Pop3State.CLOSED,
    (Pop3State.CLOSED, "eof"): Pop3State.CLOSED,
}


class _Rx(enum.Enum):
    GREETING = "greeting"
    STATUS = "status"  # the status line of the outstanding command's response
    BODY = "body"  # the lines of a multi-line response, up to "."
    NOTHING = "nothing"
    LEFTOVER = "leftover"
    DONE = "done"


class Pop3Client:
    """The client side of one POP3 dialogue (see the module's theory of operation).

    Args:
        max_line_bytes: longest line accepted, line end included.
        max_response_lines: most body lines held (one response and those not yet handed out).
    """

    def __init__(
        self,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        max_response_lines: int = DEFAULT_MAX_RESPONSE_LINES,
    ) -> None:
        if max_line_bytes < 8 or max_response_lines < 1:
            raise LocalProtocolError("max_line_bytes >= 8 and max_response_lines >= 1 needed")
        self.max_line_bytes = max_line_bytes
        self.max_response_lines = max_response_lines
        self._state = Pop3State.AWAIT_GREETING
        self._awaiting: Command | None = None
        self._rx = _Rx.GREETING
        self._rx_cmd: Command | None = None
        self._lines = LineAssembler(max_line_bytes)
        self._status: tuple[bool, str] | None = None  # the status line of a multi-line response
        self._body: list[str] = []
        self._queue: deque[Pop3Response] = deque()
        self._queued_lines = 0
        self._raw = bytearray()
        self._leftover = bytearray()
        self._eof = False
        self._error: RemoteProtocolError | None = None

    @property
    def state(self) -> Pop3State:
        """The public state (moves on ``send``, ``next_event`` and ``start_tls``)."""
        return self._state

    @property
    def buffered_bytes(self) -> int:
        """Bytes of the unfinished line held (at most ``max_line_bytes``)."""
        return self._lines.buffered

    def send(self, cmd: Command) -> bytes:
        """Encode ``cmd`` and expect its response.

        Raises:
            LocalProtocolError: not ``IDLE`` (no pipelining, no command before
                the greeting or after the end).
        """
        if self._state is not Pop3State.IDLE:
            raise LocalProtocolError(
                f"cannot send {type(cmd).__name__} in state {self._state.name}"
            )
        verb = _VERBS.get(type(cmd))
        if verb is None:
            raise LocalProtocolError(f"not a POP3 command: {cmd!r}")
        self._state = TRANSITIONS[(self._state, "send")]
        self._awaiting = cmd
        if self._rx is _Rx.NOTHING:
            self._rx, self._rx_cmd = _Rx.STATUS, cmd
        return f"{verb}\r\n".encode("ascii")

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the peer; ``b""`` means the peer closed the connection.

        Raises:
            LocalProtocolError: data after end of data.
        """
        if self._eof:
            if data:
                raise LocalProtocolError("receive_data() after end of data")
            return
        if not data:
            self._eof = True
            return
        if self._error is None:
            self._consume(bytes(data))

    def next_event(self) -> Event:
        """The next :class:`Pop3Response`, :class:`NeedData` or :class:`ConnectionClosed`.

        Raises:
            RemoteProtocolError: the peer broke the protocol; the state is ``ERROR``.
        """
        if self._queue:
            response = self._queue.popleft()
            self._queued_lines -= len(response.lines)
            self._deliver(response)
            return response
        if self._error is not None:
            self._state = Pop3State.ERROR
            raise self._error
        if self._eof:
            self._state = TRANSITIONS.get((self._state, "eof"), Pop3State.CLOSED)
            if self._rx in (_Rx.LEFTOVER, _Rx.DONE):
                return ConnectionClosed()
            return ConnectionClosed(incomplete=bytes(self._raw[:OFFENDING_MAX_BYTES]))
        return NeedData()

    def start_tls(self) -> bytes:
        """Switch to the TLS session after ``+OK`` to ``STLS``.

        Returns:
            The plaintext the server sent after its ``+OK`` (at most
            ``max_line_bytes``), discarded (RFC 2595 §4: the client forgets
            what it learned before TLS).

        Raises:
            LocalProtocolError: the state is not ``TLS_PENDING``.
        """
        if self._state is not Pop3State.TLS_PENDING:
            raise LocalProtocolError(f"start_tls() in state {self._state.name}")
        leftover = bytes(self._leftover)
        self._state = TRANSITIONS[(self._state, "start_tls")]
        self._awaiting = None
        self._rx, self._rx_cmd = _Rx.NOTHING, None
        self._leftover.clear()
        self._lines.clear()
        self._raw.clear()
        self._eof = False
        return leftover

    # --------------------------------------------------------------- private

    def _deliver(self, response: Pop3Response) -> None:
        cmd = self._awaiting
        if self._state is Pop3State.AWAIT_GREETING:
            trigger = "response"
        elif isinstance(cmd, Stls) and response.ok:
            trigger = "response:OK-to-STLS"
        elif isinstance(cmd, Quit):
            trigger = "response-to-QUIT"
        else:
            trigger = "response"
        self._state = TRANSITIONS[(self._state, trigger)]
        self._awaiting = None

    def _fail(self, message: str, offending: bytes) -> None:
        self._error = RemoteProtocolError(message, offending)
        self._lines.clear()
        self._body.clear()

    def _consume(self, data: bytes) -> None:
        pos, n = 0, len(data)
        while pos < n and self._error is None:
            if self._rx is _Rx.LEFTOVER:
                room = self.max_line_bytes - len(self._leftover)
                self._leftover += data[pos : pos + max(room, 0)]
                return
            if self._rx is _Rx.DONE:
                return
            start = pos
            try:
                line, pos = self._lines.take(data, pos)
            except LineTooLong as exc:
                self._fail(str(exc), exc.offending)
                return
            room = OFFENDING_MAX_BYTES - len(self._raw)
            if room > 0:
                self._raw += data[start:pos][:room]
            if line is None:
                return
            self._line(strip_line_end(line))

    def _line(self, body: bytes) -> None:
        if self._rx is _Rx.BODY:
            self._body_line(body)
            return
        if self._rx is _Rx.NOTHING:
            self._fail("response received while no command was outstanding", body)
            return
        if body == b"+OK" or body.startswith(b"+OK "):
            ok, text = True, decode_text(body[4:])
        elif body == b"-ERR" or body.startswith(b"-ERR "):
            ok, text = False, decode_text(body[5:])
        else:
            self._fail("malformed status line", body)
            return
        if self._rx is _Rx.GREETING:
            self._rx = _Rx.NOTHING
            self._complete(Pop3Response(ok=ok, text=text))
            return
        cmd = self._rx_cmd
        if isinstance(cmd, Capa) and ok:
            self._rx, self._status = _Rx.BODY, (ok, text)
            return
        if isinstance(cmd, Stls) and ok:
            self._rx = _Rx.LEFTOVER
        elif isinstance(cmd, Quit):
            self._rx = _Rx.DONE
        else:
            self._rx = _Rx.NOTHING
        self._rx_cmd = None
        self._complete(Pop3Response(ok=ok, text=text))

    def _body_line(self, body: bytes) -> None:
        if body == b".":
            assert self._status is not None
            ok, text = self._status
            lines, self._body, self._status = tuple(self._body), [], None
            self._rx, self._rx_cmd = _Rx.NOTHING, None
            self._complete(Pop3Response(ok=ok, text=text, lines=lines))
            return
        if self._queued_lines + len(self._body) + 1 > self.max_response_lines:
            self._fail(f"more than {self.max_response_lines} response lines", body)
            return
        self._body.append(decode_text(body[1:] if body.startswith(b"..") else body))

    def _complete(self, response: Pop3Response) -> None:
        self._raw.clear()
        self._queue.append(response)
        self._queued_lines += len(response.lines)


def parse_capa(response: Pop3Response) -> dict[str, list[str]]:
    """Capabilities from a ``CAPA`` body: upper-cased keyword -> parameters (RFC 2449 §6).

    >>> parse_capa(Pop3Response(ok=True, text="", lines=("USER", "SASL PLAIN LOGIN", "STLS")))
    {'USER': [], 'SASL': ['PLAIN', 'LOGIN'], 'STLS': []}
    """
    caps: dict[str, list[str]] = {}
    for line in response.lines:
        words = line.split()
        if not words:
            continue
        known = caps.setdefault(words[0].upper(), [])
        known.extend(w for w in words[1:] if w not in known)
    return caps
