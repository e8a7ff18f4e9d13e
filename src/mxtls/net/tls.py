"""TLS over an already-connected stream, with pyOpenSSL on memory BIOs.

Why not ``asyncio``'s ``start_tls``: Python 3.11's ``ssl`` module exposes
only the leaf certificate, and mxtls must judge the chain *as the server
sent it* (order, missing or extra intermediates, DANE on any element).
pyOpenSSL's ``get_peer_cert_chain()`` gives that list.  Running OpenSSL on
memory BIOs (``SSL.Connection(ctx, None)``) keeps the socket in asyncio's
hands: OpenSSL only turns bytes into bytes, which is CPU work done inline,
and every network wait is an ``await`` under the caller's deadline.  The same
code then serves STARTTLS (after a plaintext dialogue) and implicit TLS.

The client context is permissive on purpose: a checker must *see* a server
that offers TLS 1.0 or an old cipher or a self-signed certificate and report
it, not fail to connect.  Certificates are judged later in ``checks/``
against the run's trust store; here ``VERIFY_NONE`` applies.

Peer behaviour is data: :func:`tls_handshake` returns a
:class:`HandshakeResult` holding either the negotiated facts or an error
string naming the alert or reason; it raises only on cancellation.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import time
from dataclasses import dataclass, field

from OpenSSL import SSL, crypto

from mxtls.models.observations import CertificateInfo, TlsHandshake, UnparsableCertificate
from mxtls.net.stream import RawStream
from mxtls.trust.certinfo import describe_chain

__all__ = [
    "CIPHER_LIST",
    "HandshakeResult",
    "TlsError",
    "TlsStream",
    "describe_ssl_error",
    "make_client_context",
    "sni_for",
    "tls_handshake",
]

CIPHER_LIST = b"ALL:@SECLEVEL=0"  # every suite OpenSSL has (but eNULL): see what the server picks
TLS_READ_BYTES = 16 * 1024 + 325  # one maximal TLS record (RFC 8446 §5.2: 2^14 + 256 + header)
OUTGOING_CHUNK_BYTES = 64 * 1024
MAX_ROUNDS = 512  # bound on read/handshake iterations; each one awaits network data
FIRST_BYTES_KEPT = 80  # what the server sent first, kept to explain a failed handshake
ALERT_FLUSH_SECONDS = 0.5  # time allowed to deliver our own alert after a failed handshake

_SMTP_REPLY = re.compile(rb"^[1-5][0-9]{2}[ -]")


class TlsError(ConnectionError):
    """The TLS session failed after the handshake (alert, bad record, truncation)."""


def sni_for(host: str) -> str | None:
    """The SNI to send for ``host``: the name itself, None for an address literal (RFC 6066 §3)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.rstrip(".") or None
    return None


def make_client_context() -> SSL.Context:
    """A client context that accepts anything a server may offer (TLS 1.0+, any cipher, no
    certificate verification, legacy renegotiation), so the server is seen and judged."""
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.set_verify(SSL.VERIFY_NONE)
    ctx.set_min_proto_version(SSL.TLS1_VERSION)
    ctx.set_cipher_list(CIPHER_LIST)
    # OP_LEGACY_SERVER_CONNECT: still talk to servers without RFC 5746 (checks report it).
    ctx.set_options(SSL.OP_ALL | SSL.OP_LEGACY_SERVER_CONNECT | SSL.OP_NO_TICKET)
    # Never resume: each handshake must show what a new sender sees.
    ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
    return ctx


@functools.cache
def _shared_client_context() -> SSL.Context:
    """One client context for every handshake of the process.

    Building a context (and parsing its cipher list) costs more CPU than a
    loopback handshake; a context holds settings only, and its session
    cache is off, so every handshake stays a full one.
    """
    return make_client_context()


def describe_ssl_error(exc: SSL.Error) -> str:
    """A one-line reason from a pyOpenSSL error (``tlsv1 alert handshake failure`` …)."""
    if isinstance(exc, SSL.ZeroReturnError):
        return "the server closed the TLS session"
    if isinstance(exc, SSL.SysCallError):
        code, msg = (exc.args + (None, None))[:2]
        if code == -1 or msg == "Unexpected EOF":
            return "connection closed by the server during TLS"
        return f"system error during TLS: {msg or code}"
    reasons: list[str] = []
    if exc.args and isinstance(exc.args[0], list):
        for item in exc.args[0]:
            if isinstance(item, tuple) and item:
                reasons.append(str(item[-1]))
            else:
                reasons.append(str(item))
    return "; ".join(r for r in reasons if r) or (str(exc) or type(exc).__name__)


class TlsStream:
    """An established TLS session over a :class:`RawStream`, carrying the SMTP dialogue.

    ``send``/``recv`` have the same shape as :class:`RawStream`'s; the caller
    bounds each with its step deadline.
    """

    def __init__(self, raw: RawStream, conn: SSL.Connection) -> None:
        self.raw = raw
        self._conn = conn

    async def _flush(self) -> None:
        for _ in range(MAX_ROUNDS):
            try:
                chunk = self._conn.bio_read(OUTGOING_CHUNK_BYTES)
            except SSL.WantReadError:
                return
            if not chunk:
                return
            await self.raw.send(chunk)

    async def _send_alert(self) -> None:
        """Deliver what OpenSSL queued after a failure (its alert), briefly and best effort."""
        try:
            async with asyncio.timeout(ALERT_FLUSH_SECONDS):
                await self._flush()
        except (OSError, TimeoutError):
            pass

    async def send(self, data: bytes) -> None:
        """Encrypt and send ``data``.

        Raises:
            TlsError: OpenSSL refused (e.g. after a fatal alert).
            OSError: the connection failed.
        """
        try:
            self._conn.sendall(data)
        except SSL.Error as exc:
            raise TlsError(describe_ssl_error(exc)) from exc
        await self._flush()

    async def recv(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` decrypted bytes; ``b""`` when the session or connection ended.

        Raises:
            TlsError: a TLS-level failure (alert, bad record).
            OSError: the connection failed.
        """
        for _ in range(MAX_ROUNDS):
            try:
                return self._conn.recv(max_bytes)
            except SSL.WantReadError:
                pass
            except SSL.ZeroReturnError:
                return b""
            except SSL.SysCallError as exc:
                if exc.args and exc.args[0] == -1:
                    return b""  # the peer closed without close_notify
                raise TlsError(describe_ssl_error(exc)) from exc
            except SSL.Error as exc:
                raise TlsError(describe_ssl_error(exc)) from exc
            await self._flush()
            data = await self.raw.recv(TLS_READ_BYTES)
            if data:
                self._conn.bio_write(data)
            else:
                self._conn.bio_shutdown()
        raise TlsError(f"no application data after {MAX_ROUNDS} TLS records")

    async def aclose(self) -> None:
        """Send close_notify (best effort) and close the connection."""
        try:
            self._conn.shutdown()
            await self._flush()
        except (SSL.Error, OSError):
            pass
        await self.raw.aclose()


@dataclass(frozen=True, slots=True, kw_only=True)
class HandshakeResult:
    """What a handshake attempt produced.

    Exactly one of ``handshake`` (with ``stream`` to go on) and ``error`` is set.
    ``notes`` are facts worth a transcript line (e.g. a certificate that
    could not be parsed and was left out of the chain).
    """

    handshake: TlsHandshake | None = None
    stream: TlsStream | None = None
    error: str | None = None
    first_bytes: bytes = b""
    notes: tuple[str, ...] = field(default_factory=tuple)


def _chain(
    conn: SSL.Connection,
) -> tuple[list[CertificateInfo], list[UnparsableCertificate], list[str]]:
    """The peer's chain as sent, described; unparsable certificates kept as facts.

    The DER comes straight from OpenSSL: asking pyOpenSSL for cryptography
    objects would parse each certificate there, outside the one place that
    knows how to fail (:func:`mxtls.trust.certinfo.describe_chain`).
    """
    ders = [
        crypto.dump_certificate(crypto.FILETYPE_ASN1, cert)
        for cert in conn.get_peer_cert_chain() or []
    ]
    infos, unparsable = describe_chain(ders)
    notes = [f"certificate #{u.index} of the chain: {u.reason}" for u in unparsable]
    dropped = len(ders) - len(infos) - len(unparsable)
    if dropped:
        notes.append(f"the leaf is unparsable: {dropped} other certificate(s) not described")
    return infos, unparsable, notes


def _group(conn: SSL.Connection) -> str | None:
    try:
        return conn.get_group_name()
    except (NotImplementedError, SSL.Error):
        return None


async def tls_handshake(
    raw: RawStream, *, server_name: str | None, timeout: float
) -> HandshakeResult:
    """Run a TLS client handshake over ``raw`` within ``timeout`` seconds.

    Args:
        raw: the connected stream (after the 220 to STARTTLS, or fresh for 465).
        server_name: SNI to send, or None to send none.
        timeout: bound on the whole handshake.

    Returns:
        The facts and a :class:`TlsStream`, or the failure as an error
        string (alert name, reason, timeout, close).  Never raises for peer
        behaviour.
    """
    conn = SSL.Connection(_shared_client_context(), None)
    conn.set_connect_state()
    if server_name:
        conn.set_tlsext_host_name(server_name.encode("idna"))
    tls = TlsStream(raw, conn)
    first = bytearray()
    start = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            for _ in range(MAX_ROUNDS):
                try:
                    conn.do_handshake()
                    break
                except SSL.WantReadError:
                    pass
                await tls._flush()
                data = await raw.recv(TLS_READ_BYTES)
                if len(first) < FIRST_BYTES_KEPT:
                    first += data[: FIRST_BYTES_KEPT - len(first)]
                if data:
                    conn.bio_write(data)
                else:
                    conn.bio_shutdown()
            else:
                return _failed(f"handshake not done after {MAX_ROUNDS} rounds", first)
            await tls._flush()  # our last flight (the TLS 1.3 client Finished) goes out now
    except TimeoutError:
        return _failed(f"no TLS handshake within {timeout:g}s", first)
    except SSL.Error as exc:
        await tls._send_alert()
        return _failed(describe_ssl_error(exc), first)
    except OSError as exc:
        return _failed(f"connection failed during TLS: {type(exc).__name__}: {exc}", first)
    elapsed_ms = (time.monotonic() - start) * 1000
    chain, unparsable, notes = _chain(conn)
    version = conn.get_protocol_version_name()
    handshake = TlsHandshake(
        sni=server_name or None,
        version=version,
        cipher=conn.get_cipher_name() or "",
        cipher_bits=conn.get_cipher_bits(),
        group=_group(conn),
        alpn=None,
        chain=chain,
        unparsable=unparsable,
        elapsed_ms=round(elapsed_ms, 3),
    )
    return HandshakeResult(
        handshake=handshake, stream=tls, first_bytes=bytes(first), notes=tuple(notes)
    )


def _failed(reason: str, first: bytearray) -> HandshakeResult:
    if _SMTP_REPLY.match(first):
        text = bytes(first).split(b"\n", 1)[0].rstrip(b"\r").decode("latin-1")
        reason = f"{reason} (the server spoke plaintext SMTP: {text!r})"
    return HandshakeResult(error=reason, first_bytes=bytes(first))
