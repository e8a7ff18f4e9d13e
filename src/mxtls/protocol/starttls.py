"""What each mail protocol says on the way to TLS: the table the STARTTLS opener follows.

Theory of operation
-------------------
Upgrading a mail connection to TLS is the same walk in every protocol that
has a STARTTLS verb (RFC 3207 for SMTP, RFC 2595 for IMAP and POP3): read the
server's greeting, ask for its capabilities, check that the upgrade is
offered, send the upgrade command, and start TLS right after the go-ahead.
The walk and its I/O live once, in :mod:`mxtls.net.starttls`; what differs
between protocols is data and small pure functions, collected here in one
:class:`Dialect` per protocol:

===========  ==========================  ==============  ============
step         SMTP                        IMAP            POP3
===========  ==========================  ==============  ============
greeting     ``220``                     ``* OK``        ``+OK``
hello        ``EHLO name`` (``HELO``)    ``CAPABILITY``  ``CAPA``
offered      ``STARTTLS`` keyword        ``STARTTLS``    ``STLS``
upgrade      ``STARTTLS`` -> ``220``     ``STARTTLS``    ``STLS``
goodbye      ``QUIT``                    ``LOGOUT``      ``QUIT``
===========  ==========================  ==============  ============

A dialect never touches a socket or a clock: it builds commands for its
sans-I/O codec and reads the codec's responses.
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar

from mxtls.config import PORT_PROTOCOLS, MailProtocol, protocol_for_port
from mxtls.protocol import imap, pop3
from mxtls.protocol.events import ConnectionClosed, NeedData
from mxtls.protocol.peer_text import MAX_SHOWN_CHARS, clip
from mxtls.protocol.smtp import (
    Auth,
    AuthResponse,
    Command,
    Ehlo,
    Helo,
    Quit,
    Reply,
    SmtpClient,
    StartTls,
    parse_ehlo,
    says_slow_down,
)

__all__ = [
    "DEFAULT_PORTS",
    "DIALECTS",
    "PORT_PROTOCOLS",
    "IMAP",
    "POP3",
    "SMTP",
    "Codec",
    "Dialect",
    "ImapDialect",
    "MailProtocol",
    "Pop3Dialect",
    "SmtpDialect",
    "looks_throttled",
    "protocol_for_port",
]

DEFAULT_PORTS: dict[MailProtocol, int] = {"smtp": 25, "imap": 143, "pop3": 110}


R = TypeVar("R")  # a complete response of the protocol (SMTP: Reply)
C = TypeVar("C")  # a command of the protocol
R_co = TypeVar("R_co", covariant=True)
C_contra = TypeVar("C_contra", contravariant=True)


class Codec(Protocol[R_co, C_contra]):
    """The sans-I/O client codec shape every line protocol shares (h11's, see ``protocol/smtp``)."""

    def send(self, cmd: C_contra) -> bytes:
        """Encode a command and expect its response."""
        ...

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the peer (``b""``: the peer closed)."""
        ...

    def next_event(self) -> R_co | NeedData | ConnectionClosed:
        """The next complete response, ``NeedData`` or ``ConnectionClosed``."""
        ...

    def start_tls(self) -> bytes:
        """Switch to the TLS session after the go-ahead; returns plaintext sent after it."""
        ...


class _Replied(Protocol):
    @property
    def code(self) -> int: ...

    @property
    def lines(self) -> tuple[str, ...] | list[str]: ...


def looks_throttled(reply: _Replied) -> bool:
    """Should the checker back off? 421 (RFC 5321 §3.8: service closing) or a "slow down" text.

    This is the operational signal (stop, do not retry); whether the finding
    is ``smtp.rate_limited`` is decided in ``checks.smtp``.
    """
    return reply.code == 421 or says_slow_down(" ".join(reply.lines))


class Dialect(Generic[R, C]):
    """One protocol's part of the walk to TLS (subclassed once per protocol).

    Attributes:
        name: the protocol (``smtp``, ``imap``, ``pop3``).
        greeting_name: what the greeting is called in messages (``banner``).
        greeting_step: the step name of the greeting (timings, ``stopped_at``).
        hello_step: the step name of the capability question (``ehlo``); the
            same question inside TLS is ``<hello_step>_tls``.
        starttls_name: the upgrade verb (``STARTTLS``, ``STLS``).
        go_ahead: how the server's go-ahead looks, for messages (``220``).
    """

    name: str
    greeting_name: str
    greeting_step: str
    hello_step: str
    starttls_name: str
    go_ahead: str

    def codec(self, max_line_bytes: int, max_response_lines: int) -> Codec[R, C]:
        """A fresh client codec with the run's bounds."""
        raise NotImplementedError

    def greeting_ok(self, response: R) -> bool:
        """Is this a greeting the client may go on after?"""
        raise NotImplementedError

    def hello(self, client_name: str) -> C:
        """The capability question (SMTP's EHLO carries the client's name)."""
        raise NotImplementedError

    def fallback(self, client_name: str, refusal: R) -> C | None:
        """A second question after ``refusal`` (SMTP: HELO after a 5xx to EHLO), or None."""
        return None

    def hello_ok(self, response: R) -> bool:
        """Did the capability question succeed?"""
        raise NotImplementedError

    def hello_label(self, fallback: bool) -> str:
        """The question's name in messages (``EHLO/HELO`` when a fallback is allowed)."""
        raise NotImplementedError

    def capabilities(self, response: R) -> dict[str, list[str]]:
        """Upper-cased capability keyword -> parameters, from a successful answer."""
        raise NotImplementedError

    def offered(self, capabilities: dict[str, list[str]]) -> bool:
        """Is the upgrade among the capabilities?"""
        return self.starttls_name in capabilities

    def starttls(self) -> C:
        """The upgrade command."""
        raise NotImplementedError

    def starttls_ok(self, response: R) -> bool:
        """Is this the go-ahead after which TLS starts?"""
        raise NotImplementedError

    def goodbye(self) -> C:
        """The command that ends the session politely."""
        raise NotImplementedError

    def throttled(self, response: R) -> bool:
        """Does ``response`` ask the checker to slow down or come back later?"""
        raise NotImplementedError

    def closing(self, response: R) -> bool:
        """Did the server end the session with ``response`` (no goodbye needed)?"""
        raise NotImplementedError

    def command_name(self, cmd: C) -> str:
        """The command's verb, for messages (``EHLO``)."""
        raise NotImplementedError

    def command_text(self, cmd: C, data: bytes) -> str:
        """The command as the transcript shows it (a secret would be redacted here)."""
        return data.decode("ascii", "replace").rstrip("\r\n")

    def transcript(self, response: R) -> list[str]:
        """The response's lines as the transcript shows them."""
        raise NotImplementedError

    def summary(self, response: R) -> str:
        """The response in one line, for messages (``454 4.7.0 not now``), bounded."""
        raise NotImplementedError


class SmtpDialect(Dialect[Reply, Command]):
    """SMTP (RFC 5321) with STARTTLS (RFC 3207)."""

    name = "smtp"
    greeting_name = "banner"
    greeting_step = "banner"
    hello_step = "ehlo"
    starttls_name = "STARTTLS"
    go_ahead = "220"

    def codec(self, max_line_bytes: int, max_response_lines: int) -> SmtpClient:
        return SmtpClient(max_line_bytes, max_response_lines)

    def greeting_ok(self, response: Reply) -> bool:
        return response.code == 220

    def hello(self, client_name: str) -> Command:
        return Ehlo(name=client_name)

    def fallback(self, client_name: str, refusal: Reply) -> Command | None:
        # RFC 5321 §4.1.4: a client "SHOULD" fall back to HELO when EHLO is not recognised.
        return Helo(name=client_name) if 500 <= refusal.code < 600 else None

    def hello_ok(self, response: Reply) -> bool:
        return response.code == 250

    def hello_label(self, fallback: bool) -> str:
        return "EHLO/HELO" if fallback else "EHLO"

    def capabilities(self, response: Reply) -> dict[str, list[str]]:
        return parse_ehlo(response)

    def starttls(self) -> Command:
        return StartTls()

    def starttls_ok(self, response: Reply) -> bool:
        return response.code == 220

    def goodbye(self) -> Command:
        return Quit()

    def throttled(self, response: Reply) -> bool:
        return looks_throttled(response)

    def closing(self, response: Reply) -> bool:
        return response.code == 421  # RFC 5321 §3.8: the server closes the channel

    def command_name(self, cmd: Command) -> str:
        match cmd:
            case Ehlo():
                return "EHLO"
            case Helo():
                return "HELO"
            case StartTls():
                return "STARTTLS"
            case Quit():
                return "QUIT"
            case Auth() | AuthResponse():
                return "AUTH"
        return type(cmd).__name__.upper()

    def command_text(self, cmd: Command, data: bytes) -> str:
        # Every AUTH line may carry a credential (PLAIN's, LOGIN's, SCRAM's proof).
        match cmd:
            case Auth(mechanism=mechanism, initial=initial):
                return f"AUTH {mechanism} <redacted>" if initial else f"AUTH {mechanism}"
            case AuthResponse(data="*"):
                return "*"
            case AuthResponse():
                return "<redacted>"
        return super().command_text(cmd, data)

    def transcript(self, response: Reply) -> list[str]:
        last = len(response.lines) - 1
        return [
            f"{response.code}{' ' if i == last else '-'}{text}"
            for i, text in enumerate(response.lines)
        ]

    def summary(self, response: Reply) -> str:
        return f"{response.code} {clip(response.text, MAX_SHOWN_CHARS)}"


# RFC 2449 §8 response codes that mean "not now" rather than "no".
_POP3_TEMPORARY = ("[SYS/TEMP]", "[LOGIN-DELAY]", "[IN-USE]")


class ImapDialect(Dialect[imap.ImapResponse, imap.Command]):
    """IMAP4 (RFC 9051) with STARTTLS (RFC 2595 §3.1)."""

    name = "imap"
    greeting_name = "greeting"
    greeting_step = "greeting"
    hello_step = "capability"
    starttls_name = "STARTTLS"
    go_ahead = "OK"

    def codec(self, max_line_bytes: int, max_response_lines: int) -> imap.ImapClient:
        return imap.ImapClient(max(max_line_bytes, 16), max_response_lines)

    def greeting_ok(self, response: imap.ImapResponse) -> bool:
        return response.status in ("OK", "PREAUTH")

    def hello(self, client_name: str) -> imap.Command:
        return imap.Capability()

    def hello_ok(self, response: imap.ImapResponse) -> bool:
        return response.status == "OK"

    def hello_label(self, fallback: bool) -> str:
        return "CAPABILITY"

    def capabilities(self, response: imap.ImapResponse) -> dict[str, list[str]]:
        return imap.parse_capabilities(response)

    def starttls(self) -> imap.Command:
        return imap.StartTls()

    def starttls_ok(self, response: imap.ImapResponse) -> bool:
        return response.status == "OK"

    def goodbye(self) -> imap.Command:
        return imap.Logout()

    def throttled(self, response: imap.ImapResponse) -> bool:
        if response.ok:
            return False
        return response.code in ("UNAVAILABLE", "LIMIT") or says_slow_down(
            " ".join((*response.untagged, response.text))
        )

    def closing(self, response: imap.ImapResponse) -> bool:
        # A BYE greeting, or an untagged BYE before the completion (RFC 9051 §7.1.5)
        return response.status == "BYE" or any(
            line[:4].upper() == "BYE " for line in response.untagged
        )

    def command_name(self, cmd: imap.Command) -> str:
        return type(cmd).__name__.upper()

    def transcript(self, response: imap.ImapResponse) -> list[str]:
        return [f"* {line}" for line in response.untagged] + [
            f"{response.tag or '*'} {self.summary(response)}"
        ]

    def summary(self, response: imap.ImapResponse) -> str:
        code = f"[{response.code}] " if response.code is not None else ""
        return f"{response.status} {code}{response.text}".rstrip()


class Pop3Dialect(Dialect[pop3.Pop3Response, pop3.Command]):
    """POP3 (RFC 1939) with CAPA (RFC 2449) and STLS (RFC 2595 §4)."""

    name = "pop3"
    greeting_name = "greeting"
    greeting_step = "greeting"
    hello_step = "capa"
    starttls_name = "STLS"
    go_ahead = "+OK"

    def codec(self, max_line_bytes: int, max_response_lines: int) -> pop3.Pop3Client:
        return pop3.Pop3Client(max_line_bytes, max_response_lines)

    def greeting_ok(self, response: pop3.Pop3Response) -> bool:
        return response.ok

    def hello(self, client_name: str) -> pop3.Command:
        return pop3.Capa()

    def hello_ok(self, response: pop3.Pop3Response) -> bool:
        return response.ok

    def hello_label(self, fallback: bool) -> str:
        return "CAPA"

    def capabilities(self, response: pop3.Pop3Response) -> dict[str, list[str]]:
        return pop3.parse_capa(response)

    def starttls(self) -> pop3.Command:
        return pop3.Stls()

    def starttls_ok(self, response: pop3.Pop3Response) -> bool:
        return response.ok

    def goodbye(self) -> pop3.Command:
        return pop3.Quit()

    def throttled(self, response: pop3.Pop3Response) -> bool:
        if response.ok:
            return False
        return response.text.upper().startswith(_POP3_TEMPORARY) or says_slow_down(response.text)

    def closing(self, response: pop3.Pop3Response) -> bool:
        return False  # POP3 has no goodbye response; QUIT is always allowed

    def command_name(self, cmd: pop3.Command) -> str:
        return {pop3.Capa: "CAPA", pop3.Stls: "STLS", pop3.Quit: "QUIT"}[type(cmd)]

    def transcript(self, response: pop3.Pop3Response) -> list[str]:
        body = [*response.lines, "."] if response.lines else []
        return [self.summary(response), *body]

    def summary(self, response: pop3.Pop3Response) -> str:
        return f"{'+OK' if response.ok else '-ERR'} {response.text}".rstrip()


SMTP = SmtpDialect()
IMAP = ImapDialect()
POP3 = Pop3Dialect()

DIALECTS: dict[MailProtocol, Dialect[Any, Any]] = {"smtp": SMTP, "imap": IMAP, "pop3": POP3}
