"""Sans-I/O SMTP client codec: bytes in, events out; no socket, no asyncio, no clock.

Theory of operation
-------------------
An SMTP client dialogue is strictly lock-step as mxtls speaks it: the server
greets, then the client sends one command and waits for its one reply, and
so on (mxtls never pipelines, RFC 2920 notwithstanding, because a checker
must attribute every reply to the command that caused it).  ``SmtpClient``
holds two pieces of state:

* the *public* ``state`` (an :class:`SmtpState`), which moves when the caller
  calls :meth:`SmtpClient.send` or receives an event from
  :meth:`SmtpClient.next_event`, following the table
  :data:`TRANSITIONS` (h11's ``EVENT_TRIGGERED_TRANSITIONS`` idea);
* the *receive side*, which parses bytes as soon as
  :meth:`SmtpClient.receive_data` gets them, so that the partial-line buffer
  never holds more than ``max_line_bytes`` even when a hostile peer sends a
  megabyte without a line end.  Completed replies wait in a small queue until
  ``next_event`` hands them out.

Two replies change how the receive side treats the bytes that follow:

* a 220 to ``STARTTLS`` (RFC 3207 §4): whatever arrives after it must be the
  TLS handshake, never SMTP.  Plaintext that the server sent after the 220
  is kept aside (bounded) instead of being parsed, and
  :meth:`SmtpClient.start_tls` hands it to the transport, which records it:
  a server that talks past its own 220 is a STARTTLS injection suspect
  (CVE-2011-0411 class).  After ``start_tls`` the codec starts afresh for
  the TLS session; RFC 3207 §4.2 says the client sends EHLO again and no new
  greeting comes.
* the reply to ``QUIT``: the session is over, later bytes are ignored.

A reply that arrives while no command is outstanding is a protocol error
(except the greeting).  Errors found while parsing are raised from
``next_event`` after the replies completed before them were handed out, so a
caller sees everything the peer said correctly up to the fault.  After an
error the state is ``ERROR`` and ``next_event`` keeps raising
:class:`RemoteProtocolError`.  End of data (``receive_data(b"")``) yields
:class:`ConnectionClosed`, carrying any unfinished reply bytes.

Reply syntax (RFC 5321 §4.2)::

    Reply-line = *( Reply-code "-" [ textstring ] CRLF )
                    Reply-code [ SP textstring ] CRLF

Bare LF line ends are accepted (many servers and middleboxes send them).
"""

from __future__ import annotations

import enum
import re
from collections import deque
from dataclasses import dataclass

from mxtls.protocol.events import OFFENDING_MAX_BYTES, ConnectionClosed, NeedData, PeerProtocolError

__all__ = [
    "TRANSITIONS",
    "Command",
    "ConnectionClosed",
    "Ehlo",
    "Event",
    "Helo",
    "LocalProtocolError",
    "NeedData",
    "Noop",
    "Auth",
    "AuthResponse",
    "Quit",
    "RemoteProtocolError",
    "Reply",
    "SmtpClient",
    "SmtpProtocolError",
    "SmtpState",
    "StartTls",
    "parse_ehlo",
]

DEFAULT_MAX_LINE_BYTES = 4096  # RFC 5321 §4.5.3.1.5 allows 512 per reply line; be lenient, bounded
DEFAULT_MAX_REPLY_LINES = 100  # no RFC limit; real EHLO replies have about 10-20 lines


# ------------------------------------------------------------------------ errors


class SmtpProtocolError(Exception):
    """Base class: the SMTP dialogue cannot go on as the codec understands it."""


class LocalProtocolError(SmtpProtocolError):
    """The caller misused the codec (a bug on our side, never the peer's doing)."""


class RemoteProtocolError(PeerProtocolError, SmtpProtocolError):
    """The peer broke the SMTP protocol.

    Attributes:
        offending: the bytes at fault, truncated to 80 bytes.
    """


# ------------------------------------------------------------------------ events


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """A complete SMTP reply: its code and the text of each line (after ``NNN-``/``NNN ``)."""

    code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """All lines joined by spaces."""
        return " ".join(self.lines)


Event = Reply | NeedData | ConnectionClosed


# ---------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True, kw_only=True)
class Ehlo:
    """``EHLO name`` (RFC 5321 §4.1.1.1)."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Helo:
    """``HELO name``: the fallback when EHLO is refused."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StartTls:
    """``STARTTLS`` (RFC 3207 §4)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Quit:
    """``QUIT``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Noop:
    """``NOOP``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Auth:
    """``AUTH mechanism [initial-response]`` (RFC 4954 §4); the response is base64 text."""

    mechanism: str
    initial: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthResponse:
    """The client's line after a 334 challenge (RFC 4954 §4): base64, ``=`` or ``*`` (cancel)."""

    data: str


Command = Ehlo | Helo | StartTls | Quit | Noop | Auth | AuthResponse


def _command_line(cmd: Command) -> str:
    match cmd:
        case Ehlo(name=name):
            return f"EHLO {_check_name(name)}"
        case Helo(name=name):
            return f"HELO {_check_name(name)}"
        case StartTls():
            return "STARTTLS"
        case Quit():
            return "QUIT"
        case Noop():
            return "NOOP"
        case Auth(mechanism=mechanism, initial=initial):
            word = _check_word(mechanism, _SASL_NAME)
            return f"AUTH {word} {_check_word(initial, _BASE64)}" if initial else f"AUTH {word}"
        case AuthResponse(data=data):
            return "" if data == "" else _check_word(data, _BASE64 + "*")
    raise LocalProtocolError(f"not an SMTP command: {cmd!r}")  # pragma: no cover


_SASL_NAME = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"  # RFC 4422 §3.1 mechanism names
_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def _check_word(word: str, alphabet: str) -> str:
    if not word or any(c not in alphabet for c in word):
        raise LocalProtocolError("AUTH argument outside its alphabet")  # never echo a secret
    return word


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or ord(c) < 0x21 or ord(c) > 0x7E for c in name):
        raise LocalProtocolError(f"EHLO/HELO name must be printable ASCII without spaces: {name!r}")
    return name


# ------------------------------------------------------------------------- state


class SmtpState(enum.Enum):
    """Where the dialogue stands, from the client's point of view."""

    AWAIT_GREETING = "AWAIT_GREETING"
    IDLE = "IDLE"
    AWAIT_REPLY = "AWAIT_REPLY"
    TLS_PENDING = "TLS_PENDING"
    CLOSED = "CLOSED"
    ERROR = "ERROR"


# (state, trigger) -> next state.  Triggers: "send" (any command but QUIT/STARTTLS
# also go through "send"), "reply", "reply:220-to-STARTTLS", "reply-to-QUIT",
# "start_tls", "eof"; any state goes to ERROR on a remote protocol error.
TRANSITIONS: dict[tuple[SmtpState, str], SmtpState] = {
    (SmtpState.AWAIT_GREETING, "reply"): SmtpState.IDLE,
    (SmtpState.AWAIT_GREETING, "eof"): SmtpState.CLOSED,
    (SmtpState.IDLE, "send"): SmtpState.AWAIT_REPLY,
    (SmtpState.IDLE, "eof"): SmtpState.CLOSED,
    (SmtpState.AWAIT_REPLY, "reply"): SmtpState.IDLE,
    (SmtpState.AWAIT_REPLY, "reply:220-to-STARTTLS"): SmtpState.TLS_PENDING,
    (SmtpState.AWAIT_REPLY, "reply-to-QUIT"): SmtpState.CLOSED,
    (SmtpState.AWAIT_REPLY, "eof"): SmtpState.CLOSED,
    (SmtpState.TLS_PENDING, "start_tls"): SmtpState.IDLE,
    (SmtpState.TLS_PENDING, "eof"): SmtpState.CLOSED,
    (SmtpState.CLOSED, "eof"): SmtpState.CLOSED,
}


class _Rx(enum.Enum):
    """What the receive side expects next."""

    GREETING = "greeting"
    REPLY = "reply"  # a reply to the outstanding command
    NOTHING = "nothing"  # no command outstanding: a reply now is unsolicited
    LEFTOVER = "leftover"  # after a 220 to STARTTLS: bytes are not SMTP
    DONE = "done"  # after the reply to QUIT


# ------------------------------------------------------------------------- codec


class SmtpClient:
    """The client side of one SMTP dialogue (see the module's theory of operation).

    Args:
        max_line_bytes: longest reply line accepted, line end included.
        max_reply_lines: most lines held at once (one reply, or replies not yet
            handed out by ``next_event``).
    """

    def __init__(
        self,
        max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
        max_reply_lines: int = DEFAULT_MAX_REPLY_LINES,
    ) -> None:
        if max_line_bytes < 8 or max_reply_lines < 1:
            raise LocalProtocolError("max_line_bytes must be >= 8 and max_reply_lines >= 1")
        self.max_line_bytes = max_line_bytes
        self.max_reply_lines = max_reply_lines
        self._state = SmtpState.AWAIT_GREETING
        self._awaiting: Command | None = None  # public side: command whose reply is due
        self._rx = _Rx.GREETING
        self._rx_cmd: Command | None = None  # receive side: command the next reply answers
        self._partial = bytearray()  # unfinished line, never longer than max_line_bytes
        self._lines: list[tuple[int, str]] = []  # lines of the reply being assembled
        self._reply_raw = bytearray()  # start of that reply, for ConnectionClosed.incomplete
        self._queue: deque[Reply] = deque()
        self._queued_lines = 0
        self._leftover = bytearray()
        self._leftover_total = 0
        self._eof = False
        self._error: RemoteProtocolError | None = None

    # ---------------------------------------------------------------- public

    @property
    def state(self) -> SmtpState:
        """The public state (moves on ``send``, ``next_event`` and ``start_tls``)."""
        return self._state

    @property
    def buffered_bytes(self) -> int:
        """Bytes held in the partial-line buffer (at most ``max_line_bytes``)."""
        return len(self._partial)

    @property
    def leftover_total(self) -> int:
        """All plaintext bytes seen after a 220 to STARTTLS (``start_tls`` keeps only a prefix)."""
        return self._leftover_total

    def send(self, cmd: Command) -> bytes:
        """Encode ``cmd`` and expect its reply.

        Returns:
            The command line, CRLF-terminated, to write to the peer.

        Raises:
            LocalProtocolError: a reply is still awaited (no pipelining), the
                greeting has not arrived, the session is closed or in error,
                or the EHLO/HELO name is unusable.
        """
        if self._state is not SmtpState.IDLE:
            raise LocalProtocolError(
                f"cannot send {type(cmd).__name__} in state {self._state.name}"
            )
        data = (_command_line(cmd) + "\r\n").encode("ascii")
        self._state = TRANSITIONS[(self._state, "send")]
        self._awaiting = cmd
        if self._rx is _Rx.NOTHING:
            self._rx = _Rx.REPLY
            self._rx_cmd = cmd
        return data

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the peer; ``b""`` means the peer closed the connection.

        Parsing happens here, so memory stays bounded however much arrives;
        any error is raised later by ``next_event``.

        Raises:
            LocalProtocolError: data after end of data was already signalled.
        """
        if self._eof:
            if data:
                raise LocalProtocolError("receive_data() after end of data")
            return
        if not data:
            self._eof = True
            return
        if self._error is not None:
            return  # the peer is already at fault; ignore the rest
        self._consume(bytes(data))

    def next_event(self) -> Event:
        """The next event: a :class:`Reply`, :class:`NeedData` or :class:`ConnectionClosed`.

        ``NeedData`` is also what comes back in ``TLS_PENDING`` until the
        caller calls :meth:`start_tls`.  ``ConnectionClosed`` repeats once the
        peer has closed.

        Raises:
            RemoteProtocolError: the peer broke the protocol (over-long line,
                too many lines, malformed or mixed reply codes, a reply nobody
                asked for); the state becomes ``ERROR`` and stays there.
        """
        if self._queue:
            reply = self._queue.popleft()
            self._queued_lines -= len(reply.lines)
            self._deliver(reply)
            return reply
        if self._error is not None:
            self._state = SmtpState.ERROR
            raise self._error
        if self._eof:
            self._state = TRANSITIONS.get((self._state, "eof"), SmtpState.CLOSED)
            if self._rx is _Rx.LEFTOVER or self._rx is _Rx.DONE:
                return ConnectionClosed()
            return ConnectionClosed(incomplete=bytes(self._reply_raw[:OFFENDING_MAX_BYTES]))
        return NeedData()

    def start_tls(self) -> bytes:
        """Switch to the TLS session after a 220 to STARTTLS.

        Returns:
            The plaintext the server sent after its 220 (at most
            ``max_line_bytes``; :attr:`leftover_total` has the full count).
            It is discarded, never parsed: RFC 3207 §4.2 requires the client
            to forget everything learned before TLS.

        Raises:
            LocalProtocolError: the state is not ``TLS_PENDING``.
        """
        if self._state is not SmtpState.TLS_PENDING:
            raise LocalProtocolError(f"start_tls() in state {self._state.name}")
        leftover = bytes(self._leftover)
        self._state = TRANSITIONS[(self._state, "start_tls")]
        self._awaiting = None
        self._rx = _Rx.NOTHING
        self._rx_cmd = None
        self._leftover.clear()
        self._partial.clear()
        self._reply_raw.clear()
        self._lines.clear()
        self._eof = False
        return leftover

    # --------------------------------------------------------------- private

    def _deliver(self, reply: Reply) -> None:
        cmd = self._awaiting
        if self._state is SmtpState.AWAIT_GREETING:
            trigger = "reply"
        elif isinstance(cmd, StartTls) and reply.code == 220:
            trigger = "reply:220-to-STARTTLS"
        elif isinstance(cmd, Quit):
            trigger = "reply-to-QUIT"
        else:
            trigger = "reply"
        self._state = TRANSITIONS[(self._state, trigger)]
        self._awaiting = None

    def _fail(self, message: str, offending: bytes) -> None:
        self._error = RemoteProtocolError(message, bytes(offending[:OFFENDING_MAX_BYTES]))
        self._partial.clear()
        self._lines.clear()
        self._reply_raw.clear()

    def _consume(self, data: bytes) -> None:
        pos, n = 0, len(data)
        while pos < n and self._error is None:
            if self._rx is _Rx.LEFTOVER:
                self._keep_leftover(data[pos:])
                return
            if self._rx is _Rx.DONE:
                return  # after QUIT's reply nothing more matters
            window = self.max_line_bytes - len(self._partial)  # room left for this line
            end = data.find(b"\n", pos, pos + window)
            if end < 0:
                if n - pos > window:
                    self._fail(
                        f"reply line longer than {self.max_line_bytes} bytes",
                        bytes(self._partial) + data[pos : pos + OFFENDING_MAX_BYTES],
                    )
                    return
                self._partial += data[pos:]
                self._note_raw(data[pos:])
                return
            self._note_raw(data[pos : end + 1])
            line = bytes(self._partial) + data[pos : end + 1]
            self._partial.clear()
            pos = end + 1
            self._line(line)

    def _note_raw(self, chunk: bytes) -> None:
        room = OFFENDING_MAX_BYTES - len(self._reply_raw)
        if room > 0:
            self._reply_raw += chunk[:room]

    def _keep_leftover(self, chunk: bytes) -> None:
        self._leftover_total += len(chunk)
        room = self.max_line_bytes - len(self._leftover)
        if room > 0:
            self._leftover += chunk[:room]

    def _line(self, line: bytes) -> None:
        body = line[:-2] if line.endswith(b"\r\n") else line[:-1]
        if len(body) < 3 or not _is_code(body[:3]) or (len(body) > 3 and body[3:4] not in b" -"):
            self._fail("malformed reply line", line)
            return
        code = int(body[:3])
        final = len(body) == 3 or body[3:4] == b" "
        if self._lines and self._lines[0][0] != code:
            self._fail(f"reply code {code} inside a multi-line {self._lines[0][0]} reply", line)
            return
        if self._queued_lines + len(self._lines) + 1 > self.max_reply_lines:
            self._fail(f"more than {self.max_reply_lines} reply lines", line)
            return
        self._lines.append((code, _decode(body[4:])))
        if final:
            self._complete()

    def _complete(self) -> None:
        code = self._lines[0][0]
        reply = Reply(code=code, lines=tuple(text for _, text in self._lines))
        self._lines.clear()
        self._reply_raw.clear()
        match self._rx:
            case _Rx.GREETING:
                self._rx = _Rx.NOTHING
            case _Rx.REPLY:
                if isinstance(self._rx_cmd, StartTls) and code == 220:
                    self._rx = _Rx.LEFTOVER
                elif isinstance(self._rx_cmd, Quit):
                    self._rx = _Rx.DONE
                else:
                    self._rx = _Rx.NOTHING
                self._rx_cmd = None
            case _:
                self._fail("reply received while no command was outstanding", _render(reply))
                return
        self._queue.append(reply)
        self._queued_lines += len(reply.lines)


def _is_code(b: bytes) -> bool:
    # First digit 1-5 (RFC 5321 §4.2.1 uses 2-5; 1yz is defined but unused), then two digits.
    return len(b) == 3 and 0x31 <= b[0] <= 0x35 and b[1:3].isdigit()


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")  # RFC 6531 servers may send UTF-8
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # never fails: one character per byte


def _render(reply: Reply) -> bytes:
    return f"{reply.code} {reply.text}".encode("utf-8", "replace")


# -------------------------------------------------------------------- EHLO parse


def parse_ehlo(reply: Reply) -> dict[str, list[str]]:
    """Capabilities from an EHLO reply: upper-cased keyword -> parameters.

    Line 1 is the server's greeting and is skipped (RFC 5321 §4.1.1.1).  The
    pre-RFC 2554 form ``AUTH=LOGIN PLAIN`` is folded into ``AUTH`` (servers
    still send it for old Outlook clients); parameters of a keyword that
    appears twice are merged without duplicates.

    >>> parse_ehlo(Reply(code=250, lines=("mx1.example", "SIZE 1000", "AUTH=LOGIN", "STARTTLS")))
    {'SIZE': ['1000'], 'AUTH': ['LOGIN'], 'STARTTLS': []}
    """
    caps: dict[str, list[str]] = {}
    for line in reply.lines[1:]:
        words = line.split()
        if not words:
            continue
        keyword, params = words[0], words[1:]
        if "=" in keyword:
            keyword, _, first = keyword.partition("=")
            params = ([first] if first else []) + params
        keyword = keyword.upper()
        if not keyword:
            continue
        known = caps.setdefault(keyword, [])
        known.extend(p for p in params if p not in known)
    return caps


# Text that marks a reply as "slow down" rather than an outage; taken from
# Postfix (anvil/postscreen), Exim (smtp_accept_max_per_host, ratelimit),
# Microsoft 365 and Gmail ("421-4.7.0 Try again later").
THROTTLE_TEXT = re.compile(
    r"too many|rate[ -]?limit|\brate\b|\blimit(ed|ing)?\b|throttl|try (again )?later|"
    r"\bbusy\b|slow down|too fast|concurrent|temporarily deferred",
    re.IGNORECASE,
)
# A dotted token (host name, enhanced status code).  Linear time on any input: the
# look-behind lets a match start only where a run of word characters starts, and
# the possessive quantifiers never give characters back.  The plain form
# ``[\w-]+(?:\.[\w-]+)+`` rescans a long undotted run from each of its
# characters: quadratic, and a 100-line banner of 4 KB lines stalled the event
# loop for 39 s (issue 8).
_DOTTED = re.compile(r"(?<![\w-])[\w-]++(?:\.[\w-]++)+")
# Where a server says why it turns the client away: real throttling replies say
# it in their first line, within a few hundred characters.  Only this much of a
# reply is read, so a 400 KB banner costs what a 4 KB one does.
THROTTLE_SCAN_CHARS = 4096


def says_slow_down(text: str) -> bool:
    """True when reply ``text`` asks the client to slow down or come back later.

    Host names and enhanced status codes carry no words: ``mx.ratelimited.example``
    and ``4.7.0`` are blanked before matching.  Only the first
    :data:`THROTTLE_SCAN_CHARS` characters are read, in linear time (this sees
    every banner, whatever its size within the codec's bounds).
    """
    head = text[:THROTTLE_SCAN_CHARS]
    return bool(THROTTLE_TEXT.search(_DOTTED.sub(" ", head)))
