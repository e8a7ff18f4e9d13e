"""Sans-I/O SASL client mechanisms for SMTP AUTH: SCRAM-SHA-256, PLAIN, LOGIN.

Theory of operation
-------------------
SMTP AUTH (RFC 4954) carries a SASL exchange (RFC 4422): the client names a
mechanism (with an optional initial response), the server answers ``334``
with a base64 challenge or ends with ``235`` (accepted) / ``535`` (refused),
and the client answers each challenge with one base64 line.  A
:class:`SaslClient` turns challenges into responses and nothing else: the
I/O and the bounds on round trips live in ``net/auth.py``.

The mechanism is chosen by strength (:func:`choose_mechanism`): SCRAM-SHA-256
(RFC 7677; the password never crosses the wire and the server proves it
knows it too) before PLAIN (RFC 4616) before LOGIN (the old draft most
servers still offer).  PLAIN and LOGIN send the password itself, so they are
only ever used inside TLS; the caller enforces that.

SCRAM is done by ``scramp`` (the implementation pg8000 uses), behind a bound
on the server's iteration count: PBKDF2 with a hostile count of 2^31 would
stall the checker.

Secrets: a :class:`Secret` holds the password and never shows it (``repr``,
``str``, f-strings all print ``***``); responses that carry it are bytes
that go to the wire only, never into a message or an exception.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # scramp loads when SCRAM is used (see ScramSha256Client)
    from scramp import ScramException

__all__ = [
    "MECHANISMS_BY_EXPOSURE",
    "MECHANISMS_BY_STRENGTH",
    "Credentials",
    "LoginClient",
    "PlainClient",
    "SaslClient",
    "SaslError",
    "ScramSha256Client",
    "Secret",
    "choose_mechanism",
    "decode_challenge",
    "encode_response",
    "random_credentials",
]

MECHANISMS_BY_STRENGTH: Final = ("SCRAM-SHA-256", "PLAIN", "LOGIN")
# The plaintext test asks for what would expose a password first.
MECHANISMS_BY_EXPOSURE: Final = ("PLAIN", "LOGIN", "SCRAM-SHA-256")
MAX_SCRAM_ITERATIONS = 1_000_000  # RFC 7677 asks >= 4096; above this, a server wastes our CPU
MAX_CHALLENGE_BYTES = 4096  # a SASL challenge is a few dozen bytes; bound before decoding


class SaslError(Exception):
    """The server's side of the exchange is unusable (bad base64, bad SCRAM message …).

    The message never contains a secret.
    """


class Secret:
    """A password that never shows itself; :meth:`reveal` is the only way in."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The password (for building the wire message only)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(
            self._value.encode(), other._value.encode()
        )

    def __hash__(self) -> int:
        return hash(Secret)


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user name and its :class:`Secret` (``repr`` shows the user only)."""

    user: str
    secret: Secret = field(repr=False)


def random_credentials() -> Credentials:
    """Throw-away credentials for testing whether a server takes AUTH in clear."""
    return Credentials(f"mxtls-probe-{secrets.token_hex(4)}", Secret(secrets.token_urlsafe(18)))


def choose_mechanism(offered: list[str], *, exposing: bool = False) -> str | None:
    """The strongest mechanism of ``offered`` (EHLO's AUTH parameters) that mxtls speaks.

    With ``exposing``, the one that would expose a password first (the
    plaintext test: is PLAIN taken before TLS?).
    """
    upper = {m.upper() for m in offered}
    for mechanism in MECHANISMS_BY_EXPOSURE if exposing else MECHANISMS_BY_STRENGTH:
        if mechanism in upper:
            return mechanism
    return None


def decode_challenge(text: str) -> bytes:
    """The bytes of a 334 challenge (base64 text, RFC 4954 §4).

    Raises:
        SaslError: too long or not base64.
    """
    if len(text) > MAX_CHALLENGE_BYTES:
        raise SaslError(f"challenge longer than {MAX_CHALLENGE_BYTES} characters")
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SaslError("challenge is not base64") from None


def encode_response(data: bytes, *, initial: bool = False) -> str:
    """A response as base64 text (RFC 4954 §4).

    An empty initial response (sent with ``AUTH``) is ``=``; an empty answer
    to a challenge is an empty line.
    """
    if not data:
        return "=" if initial else ""
    return base64.b64encode(data).decode("ascii")


class SaslClient:
    """One mechanism's client side: an initial response, then one answer per challenge."""

    mechanism: str
    sends_password: bool  # the password itself crosses the wire (TLS only)

    def initial(self) -> bytes | None:
        """The initial response sent with ``AUTH`` (None: wait for a first challenge)."""
        raise NotImplementedError

    def respond(self, challenge: bytes) -> bytes:
        """The answer to a challenge.

        Raises:
            SaslError: the challenge makes no sense for this mechanism.
        """
        raise NotImplementedError

    def verify(self, final: bytes | None) -> None:
        """Check the server's final data (with ``235``), if the mechanism has any.

        Raises:
            SaslError: the server failed to prove itself (SCRAM's signature).
        """

    @staticmethod
    def for_mechanism(mechanism: str, credentials: Credentials) -> SaslClient:
        """The client for ``mechanism`` (one of :data:`MECHANISMS_BY_STRENGTH`)."""
        match mechanism.upper():
            case "SCRAM-SHA-256":
                return ScramSha256Client(credentials)
            case "PLAIN":
                return PlainClient(credentials)
            case "LOGIN":
                return LoginClient(credentials)
        raise ValueError(f"unsupported SASL mechanism {mechanism!r}")


class PlainClient(SaslClient):
    """PLAIN (RFC 4616): ``\\0user\\0password`` in the initial response."""

    mechanism = "PLAIN"
    sends_password = True

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def initial(self) -> bytes:
        c = self._credentials
        return b"\0" + c.user.encode("utf-8") + b"\0" + c.secret.reveal().encode("utf-8")

    def respond(self, challenge: bytes) -> bytes:
        raise SaslError("PLAIN takes no challenge")


class LoginClient(SaslClient):
    """LOGIN (draft-murchison-sasl-login): the user, then the password, one per challenge."""

    mechanism = "LOGIN"
    sends_password = True

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials
        self._answers = 0

    def initial(self) -> None:
        return None

    def respond(self, challenge: bytes) -> bytes:
        # Servers ask "Username:" then "Password:"; the prompts' text is not normative.
        self._answers += 1
        if self._answers == 1:
            return self._credentials.user.encode("utf-8")
        if self._answers == 2:
            return self._credentials.secret.reveal().encode("utf-8")
        raise SaslError("LOGIN asked more than two questions")


class ScramSha256Client(SaslClient):
    """SCRAM-SHA-256 (RFC 7677, RFC 5802) without channel binding, through ``scramp``."""

    mechanism = "SCRAM-SHA-256"
    sends_password = False

    def __init__(self, credentials: Credentials, *, nonce: str | None = None) -> None:
        # Imported here: most runs never authenticate, and scramp costs a plain
        # check's start-up 30 ms.  A runtime whose config carries credentials
        # loads it before any event loop runs (mxtls.engine.runtime).
        from scramp import ScramClient, ScramException

        self._scram_error = ScramException
        try:
            self._scram = ScramClient(
                ["SCRAM-SHA-256"], credentials.user, credentials.secret.reveal(), c_nonce=nonce
            )
        except ScramException as exc:  # SASLprep refused the user name or password
            raise SaslError(f"SCRAM cannot use these credentials: {_scram_reason(exc)}") from None
        self._final_sent = False
        self._verified = False

    def initial(self) -> bytes:
        return str(self._scram.get_client_first()).encode("utf-8")

    def respond(self, challenge: bytes) -> bytes:
        if self._final_sent:
            # Some servers send the server-final message as a 334 challenge and
            # wait for an empty response before 235 (RFC 4954 §4).
            self.verify(challenge)
            return b""
        text = _text(challenge)
        _check_iterations(text)
        try:
            self._scram.set_server_first(text)
            final = str(self._scram.get_client_final())
        except self._scram_error as exc:
            raise SaslError(f"SCRAM server-first message refused: {_scram_reason(exc)}") from None
        self._final_sent = True
        return final.encode("utf-8")

    def verify(self, final: bytes | None) -> None:
        if final is None or self._verified:
            return
        try:
            self._scram.set_server_final(_text(final))
        except self._scram_error as exc:
            raise SaslError(f"SCRAM server signature refused: {_scram_reason(exc)}") from None
        self._verified = True


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SaslError("SCRAM message is not UTF-8") from None


def _check_iterations(server_first: str) -> None:
    for attribute in server_first.split(","):
        if attribute.startswith("i="):
            digits = attribute[2:]
            if not digits.isdigit() or len(digits) > 9 or int(digits) > MAX_SCRAM_ITERATIONS:
                raise SaslError(
                    f"SCRAM iteration count {digits[:12]!r} above {MAX_SCRAM_ITERATIONS}"
                )


def _scram_reason(exc: ScramException) -> str:
    # scramp's messages name the protocol fault; keep them short and printable.
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return "".join(ch if ch.isprintable() else " " for ch in text)[:120]
