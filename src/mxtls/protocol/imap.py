"""Sans-I/O IMAP client codec, as far as a TLS checker speaks IMAP: bytes in, events out.

Theory of operation
-------------------
mxtls speaks the part of IMAP4 (RFC 9051, RFC 3501) that leads to TLS and
back out: the greeting, ``CAPABILITY``, ``STARTTLS`` (RFC 2595 §3.1) and
``LOGOUT``.  The dialogue is lock-step like the SMTP codec's: one command,
then its one tagged completion.  An :class:`ImapResponse` is that completion
together with the untagged lines (``* CAPABILITY …``) that came before it;
the greeting is a response without a tag (``* OK``, ``* PREAUTH``, ``* BYE``).

``ImapClient`` has the public ``state`` of the SMTP codec (an
:class:`ImapState`, moved by :data:`TRANSITIONS`) and parses bytes as soon as
``receive_data`` gets them, holding at most ``max_line_bytes`` of an
unfinished line and ``max_response_lines`` untagged lines.  A literal
(``{N}`` at a line's end, RFC 9051 §4.3) is skipped byte by byte, never
stored; one larger than ``max_literal_bytes`` is a protocol error.  After the
tagged ``OK`` to ``STARTTLS``, whatever plaintext follows is kept aside
(bounded) for :meth:`ImapClient.start_tls`, as in the SMTP codec; after the
completion of ``LOGOUT`` the rest is ignored.

Errors found while parsing are raised by ``next_event`` after the responses
completed before them, and the state is then ``ERROR`` for good.  A
continuation request (``+``) is an error: none of these commands asks for one.

Response syntax (RFC 9051 §7, simplified to what these commands meet)::

    greeting = "*" SP ("OK" / "PREAUTH" / "BYE") SP resp-text CRLF
    untagged = "*" SP text CRLF
    tagged   = tag SP ("OK" / "NO" / "BAD") SP resp-text CRLF
    resp-text = ["[" resp-text-code "]" SP] text
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
    "Capability",
    "Command",
    "Event",
    "ImapClient",
    "ImapResponse",
    "ImapState",
    "LocalProtocolError",
    "Logout",
    "Noop",
    "RemoteProtocolError",
    "StartTls",
    "parse_capabilities",
]

DEFAULT_MAX_LINE_BYTES = 8192  # RFC 9051 sets no limit; Dovecot's CAPABILITY line is ~300 bytes
DEFAULT_MAX_RESPONSE_LINES = 100  # untagged lines held for one completion
DEFAULT_MAX_LITERAL_BYTES = 64 * 1024  # skipped, never stored; a greeter has no reason for more
TAG_PREFIX = "m"


class LocalProtocolError(Exception):
    """The caller misused the codec (a bug on our side)."""


class RemoteProtocolError(PeerProtocolError):
    """The peer broke the IMAP protocol (``offending`` holds the bytes at fault)."""


# ------------------------------------------------------------------------ events


@dataclass(frozen=True, slots=True, kw_only=True)
class ImapResponse:
    """A greeting (``tag`` None) or a tagged completion with the untagged lines before it.

    Attributes:
        tag: the command's tag, None for the greeting.
        status: ``OK``, ``NO``, ``BAD`` (tagged) or ``OK``, ``PREAUTH``, ``BYE`` (greeting).
        code: the response code inside ``[...]`` (``CAPABILITY IMAP4rev1 …``), if any.
        text: the human-readable rest.
        untagged: the untagged lines received since the last response, without ``* ``.
    """

    tag: str | None
    status: str
    code: str | None
    text: str
    untagged: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """``OK`` (or ``PREAUTH`` for a greeting)."""
        return self.status in ("OK", "PREAUTH")


Event = ImapResponse | NeedData | ConnectionClosed


# ---------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True, kw_only=True)
class Capability:
    """``CAPABILITY`` (RFC 9051 §6.1.1)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StartTls:
    """``STARTTLS`` (RFC 9051 §6.2.1, RFC 2595 §3.1)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Logout:
    """``LOGOUT`` (RFC 9051 §6.1.3)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Noop:
    """``NOOP`` (RFC 9051 §6.1.2)."""


Command = Capability | StartTls | Logout | Noop

_VERBS: dict[type, str] = {
    Capability: "CAPABILITY",
    StartTls: "STARTTLS",
    Logout: "LOGOUT",
    Noop: "NOOP",
}


# ------------------------------------------------------------------------- state


class ImapState(enum.Enum):
    """Where the dialogue stands, from the client's point of view."""

    AWAIT_GREETING = "AWAIT_GREETING"
    IDLE = "IDLE"
    AWAIT_RESPONSE = "AWAIT_RESPONSE"
    TLS_PENDING = "TLS_PENDING"
    CLOSED = "CLOSED"
    ERROR = "ERROR"


TRANSITIONS: dict[tuple[ImapState, str], ImapState] = {
    (ImapState.AWAIT_GREETING, "response"): ImapState.IDLE,
    (ImapState.AWAIT_GREETING, "eof"): ImapState.CLOSED,
    (ImapState.IDLE, "send"): ImapState.AWAIT_RESPONSE,
    (ImapState.IDLE, "eof"): ImapState.CLOSED,
    (ImapState.AWAIT_RESPONSE, "response"): ImapState.IDLE,
    (ImapState.AWAIT_RESPONSE, "response:OK-to-STARTTLS"): ImapState.TLS_PENDING,
    (ImapState.AWAIT_RESPONSE, "response-to-LOGOUT"): ImapState.CLOSED,
    (ImapState.AWAIT_RESPONSE, "eof"): ImapState.CLOSED,
    (ImapState.TLS_PENDING, "start_tls"): ImapState.IDLE,
    (ImapState.TLS_PENDING, "eof"): ImapState.CLOSED,
    (ImapState.CLOSED, "eof"): ImapState.CLOSED,
}


class _Rx(enum.Enum):
    GREETING = "greeting"
    RESPONSE = "response"  # the completion of the outstanding command
    NOTHING = "nothing"  # no command outstanding: a tagged line now is unsolicited
    LEFTOVER = "leftover"  # after OK to STARTTLS: bytes are not IMAP
    DONE = "done"  # after the completion of LOGOUT


# ------------------------------------------------------------------------- codec


class ImapClient:
    """The client side of one IMAP dialogue (see the module's theory of operation).

    Args:
        max_line_bytes: longest line accepted, line end included (literals apart).
        max_response_lines: most untagged lines held for one response.
        max_literal_bytes: largest literal skipped.
    """

    def __init__(
        self,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        max_response_lines: int = DEFAULT_MAX_RESPONSE_LINES,
        max_literal_bytes: int = DEFAULT_MAX_LITERAL_BYTES,
    ) -> None:
        if max_line_bytes < 16 or max_response_lines < 1 or max_literal_bytes < 0:
            raise LocalProtocolError("max_line_bytes >= 16 and max_response_lines >= 1 needed")
        self.max_line_bytes = max_line_bytes
        self.max_response_lines = max_response_lines
        self.max_literal_bytes = max_literal_bytes
        self._state = ImapState.AWAIT_GREETING
        self._awaiting: Command | None = None
        self._tags = 0
        self._rx = _Rx.GREETING
        self._rx_cmd: Command | None = None
        self._rx_tag: str | None = None
        self._lines = LineAssembler(max_line_bytes)
        self._joined = bytearray()  # a line interrupted by a literal, awaiting its rest
        self._skip = 0  # literal bytes still to skip
        self._untagged: list[str] = []
        self._queue: deque[ImapResponse] = deque()
        self._queued_lines = 0
        self._raw = bytearray()  # start of the current response, for ConnectionClosed
        self._leftover = bytearray()
        self._eof = False
        self._error: RemoteProtocolError | None = None

    # ---------------------------------------------------------------- public

    @property
    def state(self) -> ImapState:
        """The public state (moves on ``send``, ``next_event`` and ``start_tls``)."""
        return self._state

    @property
    def buffered_bytes(self) -> int:
        """Bytes of unfinished lines held (at most ``max_line_bytes``)."""
        return self._lines.buffered + len(self._joined)

    def send(self, cmd: Command) -> bytes:
        """Encode ``cmd`` with the next tag and expect its completion.

        Raises:
            LocalProtocolError: not ``IDLE`` (no pipelining, no command before
                the greeting or after the end).
        """
        if self._state is not ImapState.IDLE:
            raise LocalProtocolError(
                f"cannot send {type(cmd).__name__} in state {self._state.name}"
            )
        verb = _VERBS.get(type(cmd))
        if verb is None:
            raise LocalProtocolError(f"not an IMAP command: {cmd!r}")
        self._tags += 1
        tag = f"{TAG_PREFIX}{self._tags}"
        self._state = TRANSITIONS[(self._state, "send")]
        self._awaiting = cmd
        if self._rx is _Rx.NOTHING:
            self._rx, self._rx_cmd, self._rx_tag = _Rx.RESPONSE, cmd, tag
        return f"{tag} {verb}\r\n".encode("ascii")

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
        """The next :class:`ImapResponse`, :class:`NeedData` or :class:`ConnectionClosed`.

        Raises:
            RemoteProtocolError: the peer broke the protocol; the state is ``ERROR``.
        """
        if self._queue:
            response = self._queue.popleft()
            self._queued_lines -= len(response.untagged)
            self._deliver(response)
            return response
        if self._error is not None:
            self._state = ImapState.ERROR
            raise self._error
        if self._eof:
            self._state = TRANSITIONS.get((self._state, "eof"), ImapState.CLOSED)
            if self._rx in (_Rx.LEFTOVER, _Rx.DONE):
                return ConnectionClosed()
            return ConnectionClosed(incomplete=bytes(self._raw[:OFFENDING_MAX_BYTES]))
        return NeedData()

    def start_tls(self) -> bytes:
        """Switch to the TLS session after ``OK`` to ``STARTTLS``.

        Returns:
            The plaintext the server sent after its ``OK`` (at most
            ``max_line_bytes``), discarded: RFC 2595 §3.1 makes the client
            forget what it learned before TLS.

        Raises:
            LocalProtocolError: the state is not ``TLS_PENDING``.
        """
        if self._state is not ImapState.TLS_PENDING:
            raise LocalProtocolError(f"start_tls() in state {self._state.name}")
        leftover = bytes(self._leftover)
        self._state = TRANSITIONS[(self._state, "start_tls")]
        self._awaiting = None
        self._rx, self._rx_cmd, self._rx_tag = _Rx.NOTHING, None, None
        self._leftover.clear()
        self._lines.clear()
        self._joined.clear()
        self._untagged.clear()
        self._raw.clear()
        self._skip = 0
        self._eof = False
        return leftover

    # --------------------------------------------------------------- private

    def _deliver(self, response: ImapResponse) -> None:
        cmd = self._awaiting
        if self._state is ImapState.AWAIT_GREETING:
            trigger = "response"
        elif isinstance(cmd, StartTls) and response.status == "OK":
            trigger = "response:OK-to-STARTTLS"
        elif isinstance(cmd, Logout):
            trigger = "response-to-LOGOUT"
        else:
            trigger = "response"
        self._state = TRANSITIONS[(self._state, trigger)]
        self._awaiting = None

    def _fail(self, message: str, offending: bytes) -> None:
        self._error = RemoteProtocolError(message, offending)
        self._lines.clear()
        self._joined.clear()
        self._untagged.clear()

    def _consume(self, data: bytes) -> None:
        pos, n = 0, len(data)
        while pos < n and self._error is None:
            if self._rx is _Rx.LEFTOVER:
                room = self.max_line_bytes - len(self._leftover)
                self._leftover += data[pos : pos + max(room, 0)]
                return
            if self._rx is _Rx.DONE:
                return
            if self._skip:
                step = min(self._skip, n - pos)
                self._skip -= step
                pos += step
                continue
            start = pos
            try:
                line, pos = self._lines.take(data, pos)
            except LineTooLong as exc:
                self._fail(str(exc), exc.offending)
                return
            self._note_raw(data[start:pos])
            if line is None:
                return
            self._line(strip_line_end(line))

    def _note_raw(self, chunk: bytes) -> None:
        room = OFFENDING_MAX_BYTES - len(self._raw)
        if room > 0:
            self._raw += chunk[:room]

    def _line(self, body: bytes) -> None:
        if len(self._joined) + len(body) > self.max_line_bytes:
            self._fail(f"line longer than {self.max_line_bytes} bytes", bytes(self._joined))
            return
        literal = _literal_size(body)
        if literal is not None:
            if literal > self.max_literal_bytes:
                self._fail(f"literal of {literal} bytes (limit {self.max_literal_bytes})", body)
                return
            self._joined += body  # the line goes on after the literal's bytes
            self._skip = literal
            return
        whole = bytes(self._joined) + body
        self._joined.clear()
        self._logical_line(whole)

    def _logical_line(self, body: bytes) -> None:
        if body.startswith(b"* "):
            if self._rx is _Rx.GREETING:
                self._greeting(body)
            elif len(self._untagged) + self._queued_lines + 1 > self.max_response_lines:
                self._fail(f"more than {self.max_response_lines} untagged lines", body)
            else:
                self._untagged.append(decode_text(body[2:]))
            return
        if body.startswith(b"+"):
            self._fail("continuation request nobody asked for", body)
            return
        tag, _, rest = body.partition(b" ")
        if self._rx is not _Rx.RESPONSE or self._rx_tag is None:
            self._fail("tagged response while no command was outstanding", body)
            return
        if tag.decode("latin-1") != self._rx_tag:
            self._fail(f"response tagged {tag[:20]!r}, expected {self._rx_tag}", body)
            return
        status, code, text = _resp_text(rest)
        if status not in ("OK", "NO", "BAD"):
            self._fail("malformed tagged response", body)
            return
        cmd = self._rx_cmd
        if isinstance(cmd, StartTls) and status == "OK":
            self._rx = _Rx.LEFTOVER
        elif isinstance(cmd, Logout):
            self._rx = _Rx.DONE
        else:
            self._rx = _Rx.NOTHING
        self._rx_cmd = self._rx_tag = None
        self._complete(ImapResponse(tag=tag.decode("latin-1"), status=status, code=code, text=text))

    def _greeting(self, body: bytes) -> None:
        status, code, text = _resp_text(body[2:])
        if status not in ("OK", "PREAUTH", "BYE"):
            self._fail("malformed greeting", body)
            return
        self._rx = _Rx.NOTHING
        self._complete(ImapResponse(tag=None, status=status, code=code, text=text))

    def _complete(self, response: ImapResponse) -> None:
        untagged = tuple(self._untagged)
        self._untagged.clear()
        self._raw.clear()
        full = ImapResponse(
            tag=response.tag,
            status=response.status,
            code=response.code,
            text=response.text,
            untagged=untagged,
        )
        self._queue.append(full)
        self._queued_lines += len(untagged)


def _literal_size(body: bytes) -> int | None:
    """N when ``body`` ends with a literal announcement ``{N}`` or ``{N+}``."""
    if not body.endswith(b"}"):
        return None
    start = body.rfind(b"{", max(0, len(body) - 24))
    if start < 0:
        return None
    digits = body[start + 1 : -1].rstrip(b"+")
    if not digits.isdigit() or len(digits) > 19:
        return None
    return int(digits)


def _resp_text(rest: bytes) -> tuple[str, str | None, str]:
    """``(STATUS, code, text)`` from ``STATUS SP ["[" code "]" SP] text``."""
    status, _, tail = rest.partition(b" ")
    text = decode_text(tail)
    code: str | None = None
    if text.startswith("["):
        end = text.find("]")
        if end > 0:
            code, text = text[1:end], text[end + 1 :].lstrip(" ")
    return status.decode("latin-1").upper(), code, text


# ------------------------------------------------------------------ capabilities


def parse_capabilities(response: ImapResponse) -> dict[str, list[str]]:
    """Capabilities from ``* CAPABILITY`` lines and a ``[CAPABILITY …]`` code.

    Keywords are upper-cased; ``AUTH=PLAIN`` becomes ``{"AUTH": ["PLAIN"]}``
    (RFC 9051 §7.2.2), the same shape as SMTP's EHLO keywords.

    >>> parse_capabilities(ImapResponse(tag="m1", status="OK", code=None, text="done",
    ...     untagged=("CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN LOGINDISABLED",)))
    {'IMAP4REV1': [], 'STARTTLS': [], 'AUTH': ['PLAIN'], 'LOGINDISABLED': []}
    """
    sources = [line for line in response.untagged if line[:11].upper() == "CAPABILITY "]
    if response.code is not None and response.code[:11].upper() == "CAPABILITY ":
        sources.append(response.code)
    caps: dict[str, list[str]] = {}
    for source in sources:
        for atom in source.split()[1:]:
            keyword, _, value = atom.partition("=")
            known = caps.setdefault(keyword.upper(), [])
            if value and value.upper() not in known:
                known.append(value.upper())
    return caps
