"""Small IMAP and POP3 servers for the lab: the doors a mail user's client knocks on.

Theory of operation: an IMAP or POP3 listener is one of the lab's listeners
(:class:`~mxtls.lab.smtp_server.SmtpServer`: same connections, line buffer,
lifetime bound and TLS upgrade); its :class:`MailboxBehaviour` plays the
dialogue a checker or a mail client's first steps meet, and nothing more:

=============  ====================================  ==============================
step           IMAP (RFC 9051, RFC 2595 §3.1)        POP3 (RFC 1939, RFC 2595 §4)
=============  ====================================  ==============================
greeting       ``* OK … ready``                      ``+OK … ready``
capabilities   ``CAPABILITY`` -> ``* CAPABILITY …``  ``CAPA`` -> ``+OK`` list ``.``
upgrade        ``STARTTLS`` -> ``tag OK``, then TLS  ``STLS`` -> ``+OK``, then TLS
goodbye        ``LOGOUT`` -> ``* BYE``, ``tag OK``   ``QUIT`` -> ``+OK``
=============  ====================================  ==============================

Everything else is refused (``BAD``/``NO``, ``-ERR``); no mailbox is ever
opened.  A login is what the modes differ in: a healthy server offers none
before TLS (IMAP ``LOGINDISABLED``, RFC 9051 §6.2.3; POP3 without ``USER``
and SASL ``PLAIN``), as Dovecot does by default.  Implicit TLS (993, 995,
RFC 8314 §3.3) starts before the greeting.  Plaintext a client pipelines
after the upgrade command is dropped, as the SMTP server does.  A session
ends after :data:`~mxtls.lab.smtp_server.MAX_COMMANDS` commands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from mxtls.lab.ca import Issued
from mxtls.lab.smtp_server import MAX_COMMANDS, Connection

MailboxProtocol = Literal["imap", "pop3"]


class MailboxMode(StrEnum):
    """How an IMAP or POP3 listener deviates from a healthy server."""

    GOOD = "good"  # STARTTLS/STLS offered, no login before TLS (implicit TLS on 993/995)
    PLAIN_LOGIN = "plain_login"  # STARTTLS/STLS offered, but a login too, before TLS
    NO_STARTTLS = "no_starttls"  # no STARTTLS/STLS at all: the login goes in clear


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxBehaviour:
    """What one IMAP or POP3 listener does.

    Attributes:
        protocol: ``imap`` or ``pop3``.
        mode: the dialogue's deviation from a healthy server.
        hostname: the name in the greeting.
        cert: chain and key for STARTTLS/STLS or implicit TLS.
        implicit_tls: TLS from the first byte (993, 995).
    """

    protocol: MailboxProtocol
    mode: MailboxMode = MailboxMode.GOOD
    hostname: str = "mail.default.lab"
    cert: Issued | None = None
    implicit_tls: bool = False
    nosni_cert: Issued | None = None
    second_cert: Issued | None = None

    def __post_init__(self) -> None:
        if self.cert is None and (self.implicit_tls or self.mode is not MailboxMode.NO_STARTTLS):
            raise ValueError(f"{self.protocol} mode {self.mode} needs a certificate")

    @property
    def upgrade_offered(self) -> bool:
        """STARTTLS (IMAP) or STLS (POP3) is offered before TLS."""
        return not self.implicit_tls and self.mode is not MailboxMode.NO_STARTTLS

    def login_offered(self, tls: bool) -> bool:
        """A login (IMAP LOGIN/AUTH=PLAIN, POP3 USER/SASL PLAIN) is offered now."""
        return tls or self.mode is not MailboxMode.GOOD

    def play(self, conn: Connection) -> Awaitable[None]:
        """The IMAP or POP3 dialogue of one connection."""
        if self.protocol == "imap":
            return _Imap(conn, self).run()
        return _Pop3(conn, self).run()


class _Session:
    """What both dialogues share: TLS first where implicit, a bounded command loop."""

    def __init__(self, conn: Connection, behaviour: MailboxBehaviour) -> None:
        self.conn, self.behaviour = conn, behaviour

    def send(self, *lines: str) -> None:
        self.conn.write("".join(f"{line}\r\n" for line in lines).encode("ascii"))

    async def run(self) -> None:
        conn = self.conn
        if self.behaviour.implicit_tls:
            await conn.start_tls()
        if conn.server.latency:
            await asyncio.sleep(conn.server.latency)
        self.greet()
        for _ in range(MAX_COMMANDS):
            line = (await conn.readline()).rstrip(b"\r\n").decode("ascii", "replace")
            if not await self.command(line):
                return
        self.too_many()

    def greet(self) -> None:
        raise NotImplementedError

    async def command(self, line: str) -> bool:
        """Answer one command line; False ends the session."""
        raise NotImplementedError

    def too_many(self) -> None:
        raise NotImplementedError


class _Imap(_Session):
    """IMAP4rev1 up to STARTTLS and LOGOUT (RFC 9051, RFC 3501)."""

    def greet(self) -> None:
        self.send(f"* OK {self.behaviour.hostname} mxtls lab IMAP ready")

    def capabilities(self) -> str:
        caps = ["IMAP4rev1"]
        tls = self.conn.tls
        if self.behaviour.upgrade_offered and not tls:
            caps.append("STARTTLS")
        if self.behaviour.login_offered(tls):
            caps.append("AUTH=PLAIN")
        else:
            caps.append("LOGINDISABLED")  # RFC 9051 §6.2.3: LOGIN refused before TLS
        return " ".join(caps)

    async def command(self, line: str) -> bool:
        tag, _, rest = line.partition(" ")
        verb = rest.partition(" ")[0].upper()
        if not tag or not verb:
            self.send("* BAD missing tag or command")
            return True
        match verb:
            case "CAPABILITY":
                self.send(f"* CAPABILITY {self.capabilities()}", f"{tag} OK CAPABILITY completed")
            case "NOOP":
                self.send(f"{tag} OK NOOP completed")
            case "LOGOUT":
                self.send("* BYE mxtls lab logging out", f"{tag} OK LOGOUT completed")
                return False
            case "STARTTLS" if self.behaviour.upgrade_offered and not self.conn.tls:
                self.send(f"{tag} OK Begin TLS negotiation now")
                await self.conn.start_tls()
            case "LOGIN" | "AUTHENTICATE" if not self.behaviour.login_offered(self.conn.tls):
                self.send(f"{tag} NO [PRIVACYREQUIRED] Log in after STARTTLS")
            case "LOGIN" | "AUTHENTICATE":
                self.send(f"{tag} NO [AUTHENTICATIONFAILED] No mailboxes in the mxtls lab")
            case _:
                self.send(f"{tag} BAD Command not supported here")
        return True

    def too_many(self) -> None:
        self.send("* BYE Too many commands")


class _Pop3(_Session):
    """POP3 up to STLS and QUIT (RFC 1939, RFC 2449, RFC 2595 §4)."""

    def greet(self) -> None:
        self.send(f"+OK {self.behaviour.hostname} mxtls lab POP3 ready")

    def capabilities(self) -> list[str]:
        caps = ["TOP", "UIDL", "RESP-CODES", "PIPELINING"]
        tls = self.conn.tls
        if self.behaviour.upgrade_offered and not tls:
            caps.append("STLS")
        if self.behaviour.login_offered(tls):
            caps += ["USER", "SASL PLAIN"]
        return caps

    async def command(self, line: str) -> bool:
        verb = line.partition(" ")[0].upper()
        match verb:
            case "CAPA":
                self.send("+OK Capability list follows", *self.capabilities(), ".")
            case "NOOP":
                self.send("+OK")
            case "QUIT":
                self.send("+OK mxtls lab signing off")
                return False
            case "STLS" if self.behaviour.upgrade_offered and not self.conn.tls:
                self.send("+OK Begin TLS negotiation")
                await self.conn.start_tls()
            case "USER" | "PASS" | "AUTH" if not self.behaviour.login_offered(self.conn.tls):
                self.send("-ERR [AUTH] Log in after STLS")
            case "USER" | "PASS" | "AUTH":
                self.send("-ERR [AUTH] No mailboxes in the mxtls lab")
            case _:
                self.send("-ERR Command not supported here")
        return True

    def too_many(self) -> None:
        self.send("-ERR Too many commands")
