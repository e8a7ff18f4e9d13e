"""What the line-protocol codecs (SMTP, IMAP, POP3) share: events, the peer error, lines.

Every mail protocol mxtls speaks before TLS is a client/server exchange of
text lines, and each has its own sans-I/O codec (``protocol/smtp.py`` …).
They share the shape of h11's ``next_event()``: a complete response, or
:class:`NeedData` (feed more bytes), or :class:`ConnectionClosed`; and a peer
that breaks its protocol raises a subclass of :class:`PeerProtocolError`.
Sharing these lets the one STARTTLS opener in ``net/starttls.py`` drive any
of the codecs with one read loop.  :class:`LineAssembler` cuts the incoming
bytes into lines with a hard bound on the unfinished one, so a peer that
sends a megabyte without a line end costs at most ``max_line_bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "OFFENDING_MAX_BYTES",
    "ConnectionClosed",
    "LineAssembler",
    "LineTooLong",
    "NeedData",
    "PeerProtocolError",
    "decode_text",
    "strip_line_end",
]

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


class LineTooLong(Exception):
    """A line grew past the bound before its end arrived.

    Attributes:
        offending: its first bytes (at most 80).
    """

    def __init__(self, max_line_bytes: int, offending: bytes) -> None:
        super().__init__(f"line longer than {max_line_bytes} bytes")
        self.offending = bytes(offending[:OFFENDING_MAX_BYTES])


class LineAssembler:
    """Cuts a byte stream into LF-terminated lines (CR optional) of bounded length.

    Args:
        max_line_bytes: the longest line accepted, line end included.
    """

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes
        self._partial = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes of the unfinished line held (never more than ``max_line_bytes``)."""
        return len(self._partial)

    def clear(self) -> None:
        """Forget the unfinished line."""
        self._partial.clear()

    def take(self, data: bytes, pos: int) -> tuple[bytes | None, int]:
        """The next complete line from ``data[pos:]`` (after what is buffered).

        Returns:
            ``(line, new_pos)`` with the line end included, or ``(None,
            len(data))`` when the data ran out before a line end (the rest is
            buffered).

        Raises:
            LineTooLong: the line would pass ``max_line_bytes``.
        """
        window = self.max_line_bytes - len(self._partial)  # room left for this line
        end = data.find(b"\n", pos, pos + window)
        if end < 0:
            if len(data) - pos > window:
                raise LineTooLong(
                    self.max_line_bytes,
                    bytes(self._partial) + data[pos : pos + OFFENDING_MAX_BYTES],
                )
            self._partial += data[pos:]
            return None, len(data)
        line = bytes(self._partial) + data[pos : end + 1]
        self._partial.clear()
        return line, end + 1


def decode_text(raw: bytes) -> str:
    """Server text as str: UTF-8 when it is valid, else Latin-1 (never fails)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def strip_line_end(line: bytes) -> bytes:
    """``line`` without its CRLF or LF."""
    return line[:-2] if line.endswith(b"\r\n") else line[:-1] if line.endswith(b"\n") else line
