"""Events and the peer-error base shared by the line-protocol codecs (SMTP, IMAP, POP3).

Every mail protocol mxtls speaks before TLS is a client/server exchange of
text lines, and each has its own sans-I/O codec (``protocol/smtp.py`` …).
They share the shape of h11's ``next_event()``: a complete response, or
:class:`NeedData` (feed more bytes), or :class:`ConnectionClosed`; and a peer
that breaks its protocol raises a subclass of :class:`PeerProtocolError`.
Sharing these lets the one STARTTLS opener in ``net/starttls.py`` drive any
of the codecs with one read loop.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OFFENDING_MAX_BYTES", "ConnectionClosed", "NeedData", "PeerProtocolError"]

OFFENDING_MAX_BYTES = 80  # how much of a bad input an error keeps (for messages and reports)


@dataclass(frozen=True, slots=True, kw_only=True)
class NeedData:
    """No complete event yet: feed more bytes with ``receive_data``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionClosed:
    """The peer closed the connection.

    Attributes:
        incomplete: bytes of a response that was still unfinished at the close
            (truncated to 80 bytes); empty when the close fell between responses.
    """

    incomplete: bytes = b""


class PeerProtocolError(Exception):
    """The peer broke its protocol (base of each codec's ``RemoteProtocolError``).

    Attributes:
        offending: the bytes at fault, truncated to 80 bytes.
    """

    def __init__(self, message: str, offending: bytes = b"") -> None:
        super().__init__(message)
        self.offending = bytes(offending[:OFFENDING_MAX_BYTES])

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base}: {self.offending!r}" if self.offending else base
