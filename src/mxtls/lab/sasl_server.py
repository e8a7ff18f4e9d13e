"""The server side of SMTP AUTH for the lab: one account, SCRAM-SHA-256, PLAIN and LOGIN.

Theory of operation: a lab submission listener (RFC 8314 §3.3: AUTH only
once TLS is on) that serves a scenario with an account answers ``AUTH`` by
running one SASL exchange (RFC 4954 §4) against a :class:`LabAccount`:

* PLAIN (RFC 4616): ``authzid NUL user NUL password`` in one response;
* LOGIN (the old draft): the user, then the password, one per challenge;
* SCRAM-SHA-256 (RFC 7677) through ``scramp``'s server; the server-final
  message goes out as a last ``334`` challenge, answered by an empty line,
  before ``235`` (RFC 4954 §4 has no room for data in a success reply).

The exchange reads at most :data:`MAX_RESPONSES` lines, each bounded like
every command line of the lab; ``*`` cancels (``501``).  Passwords are
compared in constant time; the account's password is a
:class:`~mxtls.protocol.sasl.Secret` and appears in no log or message.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mxtls.protocol.sasl import Secret

MECHANISMS = ("SCRAM-SHA-256", "PLAIN", "LOGIN")  # as the lab's EHLO lists them
SCRAM_ITERATIONS = 4096  # RFC 7677 §4: at least 4096
MAX_RESPONSES = 3  # client responses one exchange may take (LOGIN and SCRAM need 2, +1 empty)
AUTH_OK = b"235 2.7.0 Authentication successful\r\n"
AUTH_INVALID = b"535 5.7.8 Authentication credentials invalid\r\n"
AUTH_CANCELLED = b"501 5.0.0 Authentication cancelled\r\n"
AUTH_SYNTAX = b"501 5.5.2 Cannot decode the response\r\n"
AUTH_UNKNOWN = b"504 5.5.4 Unrecognized authentication type\r\n"

ScramInfo = tuple[bytes, bytes, bytes, int]  # salt, stored key, server key, iterations


@dataclass(frozen=True, slots=True)
class LabAccount:
    """A mail user the lab's submission servers know: a name and a password.

    Attributes:
        user: the login name (``demo@mailbox.lab``).
        password: the password, hidden from ``repr`` and messages.
        scram: the SCRAM-SHA-256 verifier (RFC 5802 §3), no password in it.
        decoy: a verifier for a password nobody knows, for unknown users.
    """

    user: str
    password: Secret = field(repr=False)
    scram: ScramInfo = field(repr=False)
    decoy: ScramInfo = field(repr=False)

    @classmethod
    def create(cls, user: str, password: str) -> LabAccount:
        """An account with its SCRAM verifier computed (a few milliseconds of PBKDF2)."""
        from scramp import ScramMechanism

        mechanism = ScramMechanism("SCRAM-SHA-256")
        salt, stored, server, count = mechanism.make_auth_info(
            password, iteration_count=SCRAM_ITERATIONS
        )
        decoy = mechanism.make_auth_info(secrets.token_hex(16), iteration_count=SCRAM_ITERATIONS)
        return cls(user, Secret(password), (salt, stored, server, count), decoy)

    def check(self, user: str, password: str) -> bool:
        """Are these the account's user and password (constant-time)?"""
        same_user = secrets.compare_digest(user.encode(), self.user.encode())
        same_password = secrets.compare_digest(password.encode(), self.password.reveal().encode())
        return same_user and same_password


Write = Callable[[bytes], None]
ReadLine = Callable[[], Awaitable[bytes]]


class _Cancelled(Exception):
    """The client sent ``*`` (or nothing decodable): the exchange ends with that reply."""

    def __init__(self, reply: bytes) -> None:
        super().__init__(reply.decode("ascii", "replace").strip())
        self.reply = reply


async def serve_auth(account: LabAccount, argument: str, write: Write, readline: ReadLine) -> bool:
    """Run the exchange of one ``AUTH`` command (``argument``: ``MECH [initial]``).

    Returns:
        True when the client authenticated (``235`` was sent).
    """
    mechanism, _, initial = argument.strip().partition(" ")
    exchange = _Exchange(write, readline, initial.strip() or None)
    try:
        match mechanism.upper():
            case "PLAIN":
                ok = await _plain(account, exchange)
            case "LOGIN":
                ok = await _login(account, exchange)
            case "SCRAM-SHA-256":
                ok = await _scram(account, exchange)
            case _:
                write(AUTH_UNKNOWN)
                return False
    except _Cancelled as stop:
        write(stop.reply)
        return False
    write(AUTH_OK if ok else AUTH_INVALID)
    return ok


class _Exchange:
    """Challenges out, responses in, bounded; the initial response counts as the first."""

    def __init__(self, write: Write, readline: ReadLine, initial: str | None) -> None:
        self.write, self.readline, self.initial = write, readline, initial
        self.responses = 0

    async def response(self, challenge: bytes = b"") -> bytes:
        if self.initial is not None:
            text, self.initial = self.initial, None
            return b"" if text == "=" else _decode(text)
        if self.responses >= MAX_RESPONSES:
            raise _Cancelled(AUTH_CANCELLED)
        self.responses += 1
        self.write(b"334 " + base64.b64encode(challenge) + b"\r\n")
        line = (await self.readline()).strip()
        if line == b"*":
            raise _Cancelled(AUTH_CANCELLED)
        return _decode(line.decode("ascii", "replace"))


def _decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _Cancelled(AUTH_SYNTAX) from None


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Cancelled(AUTH_SYNTAX) from None


async def _plain(account: LabAccount, exchange: _Exchange) -> bool:
    parts = _utf8(await exchange.response()).split("\0")
    return len(parts) == 3 and account.check(parts[1], parts[2])


async def _login(account: LabAccount, exchange: _Exchange) -> bool:
    user = _utf8(await exchange.response(b"Username:"))
    password = _utf8(await exchange.response(b"Password:"))
    return account.check(user, password)


async def _scram(account: LabAccount, exchange: _Exchange) -> bool:
    from scramp import ScramException, ScramMechanism

    def verifier(user: str) -> ScramInfo:
        # An unknown user gets a verifier nobody knows the password of: the
        # exchange runs to its end and fails there, telling no one which
        # user names exist.
        same = secrets.compare_digest(user.encode(), account.user.encode())
        return account.scram if same else account.decoy

    server = ScramMechanism("SCRAM-SHA-256").make_server(verifier)
    try:
        server.set_client_first(_utf8(await exchange.response()))
        client_final = _utf8(await exchange.response(server.get_server_first().encode()))
        server.set_client_final(client_final)
    except ScramException:
        return False
    await exchange.response(server.get_server_final().encode())  # answered by an empty line
    return True
