"""A small SMTP server for the lab: only what a checker talks to.

Theory of operation: each listener serves one behaviour: an
:class:`SmtpBehaviour`, or another protocol's (the IMAP and POP3 dialogues
of :mod:`mxtls.lab.mailbox_server` share these listeners and connections,
see :class:`Behaviour`).  A
connection is an :class:`asyncio.Protocol` with its own line buffer (so
STARTTLS can discard plaintext a client pipelined after the command, the
safe answer to CVE-2011-0411) and one task running the dialogue under a
total lifetime bound.  The dialogue knows banner, EHLO/HELO, STARTTLS,
NOOP, RSET and QUIT, and answers 502 to everything else; the behaviour's
mode decides where it deviates from a healthy MTA (no STARTTLS, 454, a
broken handshake, a tarpit, 421/554 banners, …).  A submission listener
with a lab account runs SMTP AUTH inside TLS (:mod:`mxtls.lab.sasl_server`)
and refuses it before TLS with ``530``.  TLS is Python's ``ssl``
with the behaviour's certificate chain, upgraded with ``loop.start_tls``.

Closing the server aborts every connection and cancels every task, so a
test run never waits for a client that went away.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa

from mxtls.lab.ca import Issued
from mxtls.lab.sasl_server import MECHANISMS, LabAccount, serve_auth

log = logging.getLogger(__name__)

CONNECTION_LIFETIME_S = 30.0  # any lab connection, tarpits included, is closed after this
HANDSHAKE_TIMEOUT_S = 10.0  # server side of the TLS handshake
MAX_COMMAND_LINE_BYTES = 2048  # RFC 5321 §4.5.3.1.4 says 512; lenient, still bounded
MAX_COMMANDS = 100  # commands on one connection before the lab hangs up
DRIBBLE_CHUNK_BYTES = 3  # multiline_split: bytes per write
DRIBBLE_DELAY_S = 0.002  # multiline_split: pause between writes, so each is its own segment
TLS_ALERT_HANDSHAKE_FAILURE = bytes.fromhex("15030300020228")  # fatal alert 40, RFC 8446 §6
# The stdlib's server ciphers with the security level lowered, so a lab server can
# load an RSA-1024 key or a SHA-1 signed chain (which a checker must then flag).
_LEGACY_CIPHERS = "@SECLEVEL=0:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:!aNULL:!eNULL:!aDSS:!AESCCM"


class SmtpMode(StrEnum):
    """How a listener deviates from a healthy MTA."""

    GOOD = "good"  # STARTTLS offered and working
    IMPLICIT_TLS = "implicit_tls"  # TLS from the first byte (465, RFC 8314)
    NO_STARTTLS = "no_starttls"  # STARTTLS not advertised (plain SMTP on 465 too)
    STARTTLS_454 = "starttls_454"  # advertised, answered 454
    HANDSHAKE_FAIL = "handshake_fail"  # advertised, 220, then a TLS alert and close
    TARPIT = "tarpit"  # accepts TCP, never sends a banner
    BANNER_554 = "banner_554"  # 554 banner, then 503 to everything but QUIT
    BANNER_421 = "banner_421"  # 421 banner and close (throttling)
    EHLO_REJECTED = "ehlo_rejected"  # 502 to EHLO; HELO works (no ESMTP)
    AUTH_BEFORE_TLS = "auth_before_tls"  # AUTH PLAIN LOGIN advertised in clear
    CLOSE_AFTER_EHLO = "close_after_ehlo"  # answers EHLO, then hangs up
    MULTILINE_SPLIT = "multiline_split"  # multi-line banner and EHLO dribbled in tiny writes
    SNI_CERT = "sni_cert"  # another certificate when the client sends no SNI
    STARTTLS_FLAKY = "starttls_flaky"  # STARTTLS advertised on every other connection
    CLOSE_AFTER_BANNER = "close_after_banner"  # 220 banner, then hangs up before EHLO
    EHLO_VIOLATION = "ehlo_violation"  # answers EHLO with a line that is not an SMTP reply
    SUBMISSION = "submission"  # 587: STARTTLS, AUTH only once TLS is on (RFC 8314 §3.3)
    SUBMISSIONS = "submissions"  # 465: implicit TLS, AUTH inside TLS
    BUSY_FIRST = "busy_first"  # 421 to the first connection of its group, then healthy


_TLS_MODES = frozenset(
    {
        SmtpMode.GOOD,
        SmtpMode.IMPLICIT_TLS,
        SmtpMode.AUTH_BEFORE_TLS,
        SmtpMode.CLOSE_AFTER_EHLO,
        SmtpMode.MULTILINE_SPLIT,
        SmtpMode.SNI_CERT,
        SmtpMode.STARTTLS_FLAKY,
        SmtpMode.SUBMISSION,
        SmtpMode.SUBMISSIONS,
        SmtpMode.BUSY_FIRST,
    }
)


class Behaviour(Protocol):
    """What a listener serves: its certificates, and the dialogue it plays on a connection."""

    @property
    def hostname(self) -> str:
        """The name the server gives itself (banner, greeting)."""
        ...

    @property
    def cert(self) -> Issued | None:
        """The chain and key for TLS (None: no TLS at all)."""
        ...

    @property
    def nosni_cert(self) -> Issued | None:
        """Served instead of ``cert`` to a client that sends no SNI."""
        ...

    @property
    def second_cert(self) -> Issued | None:
        """Another key type's chain, loaded next to ``cert``."""
        ...

    @property
    def implicit_tls(self) -> bool:
        """True when TLS starts with the first byte."""
        ...

    def play(self, conn: Connection) -> Awaitable[None]:
        """The dialogue of one connection, from the first byte to the close."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpBehaviour:
    """What one listener does.

    Attributes:
        mode: the dialogue's deviation from a healthy MTA.
        hostname: the name in the banner and the EHLO reply.
        cert: chain (leaf first, sent as is) and key for STARTTLS / implicit TLS.
        nosni_cert: served instead of ``cert`` to a client that sends no SNI
            (required for ``sni_cert``; honoured by every TLS mode).
        second_cert: another key type's chain loaded next to ``cert``
            (OpenSSL picks by the client's signature algorithms).
        account: the mail user a submission listener authenticates (SMTP
            AUTH inside TLS); None: every AUTH is refused (535).
    """

    mode: SmtpMode = SmtpMode.GOOD
    hostname: str = "mx.default.lab"
    cert: Issued | None = None
    nosni_cert: Issued | None = None
    second_cert: Issued | None = None
    account: LabAccount | None = None

    def __post_init__(self) -> None:
        if self.mode in _TLS_MODES and self.cert is None:
            raise ValueError(f"SMTP mode {self.mode} needs a certificate")
        if self.mode is SmtpMode.SNI_CERT and self.nosni_cert is None:
            raise ValueError("SMTP mode sni_cert needs nosni_cert")

    @property
    def implicit_tls(self) -> bool:
        """True when TLS starts with the first byte."""
        return self.mode in (SmtpMode.IMPLICIT_TLS, SmtpMode.SUBMISSIONS)

    def play(self, conn: Connection) -> Awaitable[None]:
        """The SMTP dialogue of one connection."""
        return _Dialogue(conn, self).run()


@dataclass(eq=False)
class Listener:
    """One listening socket and what it serves."""

    host: str
    port: int
    behaviour: Behaviour
    server: asyncio.Server
    group: str
    connections: int = 0  # accepted so far
    context: ssl.SSLContext | None = None  # what new connections upgrade with


def reply(code: int, lines: list[str] | str) -> bytes:
    """Render an SMTP reply: ``250-a\\r\\n250 b\\r\\n`` (RFC 5321 §4.2.1)."""
    items = [lines] if isinstance(lines, str) else lines
    out = [f"{code}-{text}\r\n" for text in items[:-1]]
    out.append(f"{code} {items[-1]}\r\n")
    return "".join(out).encode("ascii")


def _needs_legacy_crypto(issued: Issued) -> bool:
    """True when OpenSSL's default security level would refuse to load the chain."""
    for cert in issued.chain:
        key = cert.public_key()
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
            return True
        if isinstance(cert.signature_hash_algorithm, hashes.SHA1 | hashes.MD5):
            return True
    return False


class SmtpServer:
    """Listeners sharing one certificate directory and one set of counters.

    Args:
        workdir: where certificate chains and keys are written for ``ssl``.
        lifetime: total bound on any connection, seconds.
        latency: simulated network round trip, seconds: the server waits this
            long before its banner and before acting on each command, so that
            benchmarks on loopback see the round trips a real MX costs.
    """

    def __init__(
        self, workdir: Path, *, lifetime: float = CONNECTION_LIFETIME_S, latency: float = 0.0
    ) -> None:
        self.workdir = workdir
        self.lifetime = lifetime
        self.latency = latency
        self.listeners: list[Listener] = []
        self._contexts: dict[tuple[int, int, int], tuple[ssl.SSLContext, Behaviour]] = {}
        self._files = itertools.count()
        self._group_counts: dict[str, int] = {}
        self._connections: set[Connection] = set()
        self.open_by_address: dict[str, int] = {}  # connections open now, per listening address
        self.peak_by_address: dict[str, int] = {}  # the most ever open at once, per address

    def _opened(self, address: str) -> None:
        now_open = self.open_by_address.get(address, 0) + 1
        self.open_by_address[address] = now_open
        self.peak_by_address[address] = max(self.peak_by_address.get(address, 0), now_open)

    def _closed(self, address: str) -> None:
        self.open_by_address[address] -= 1

    async def listen(
        self, host: str, port: int, behaviour: Behaviour, *, group: str | None = None
    ) -> Listener:
        """Start a listener on ``host:port`` (0: any port).

        Args:
            group: listeners in one group share a connection counter; for
                ``starttls_flaky`` it alternates across all of them (so two
                addresses of one host disagree on the first visit).

        Raises:
            OSError: the address or port cannot be bound.
        """
        context = self._context(behaviour) if behaviour.cert is not None else None
        loop = asyncio.get_running_loop()
        key = group if group is not None else f"{host}:{port}:{len(self.listeners)}"
        holder: list[Listener] = []
        server = await loop.create_server(
            lambda: Connection(self, holder[0], holder[0].context),
            host,
            port,
            reuse_address=True,
            start_serving=False,
        )
        actual = server.sockets[0].getsockname()[1]
        listener = Listener(
            host=host, port=actual, behaviour=behaviour, server=server, group=key, context=context
        )
        holder.append(listener)
        self.listeners.append(listener)
        await server.start_serving()
        return listener

    def change_behaviour(self, listener: Listener, behaviour: Behaviour) -> None:
        """Serve ``behaviour`` on ``listener`` from the next connection on.

        Connections already open keep what they had, as a real MTA reloading
        its configuration does (the monitor's tests change the lab this way
        between two rounds: a renewed certificate, STARTTLS switched off).
        """
        listener.context = self._context(behaviour) if behaviour.cert is not None else None
        listener.behaviour = behaviour

    def _next_in_group(self, group: str) -> int:
        n = self._group_counts.get(group, 0)
        self._group_counts[group] = n + 1
        return n

    def _context(self, behaviour: Behaviour) -> ssl.SSLContext:
        assert behaviour.cert is not None
        nosni = behaviour.nosni_cert
        cache_key = (id(behaviour.cert), id(nosni), id(behaviour.second_cert))
        cached = self._contexts.get(cache_key)
        if cached is not None:
            return cached[0]
        context = self._plain_context(behaviour.cert)
        if behaviour.second_cert is not None:
            crt, key = behaviour.second_cert.write(self.workdir, f"smtp-{next(self._files)}")
            context.load_cert_chain(crt, key)
        if nosni is not None:
            other = self._plain_context(nosni)

            def pick(sslobj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
                if name is None:
                    sslobj.context = other

            context.sni_callback = pick
        # Keep ``behaviour`` referenced so the ids in the key stay unique.
        self._contexts[cache_key] = (context, behaviour)
        return context

    def _plain_context(self, issued: Issued) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if _needs_legacy_crypto(issued):
            context.set_ciphers(_LEGACY_CIPHERS)
        crt, key = issued.write(self.workdir, f"smtp-{next(self._files)}")
        context.load_cert_chain(crt, key)
        return context

    async def close(self) -> None:
        """Stop listening, abort every connection, cancel every dialogue."""
        for listener in self.listeners:
            listener.server.close()
        self.listeners.clear()
        tasks = []
        for conn in list(self._connections):
            conn.abort()
            if conn.task is not None:
                conn.task.cancel()
                tasks.append(conn.task)
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)


class Closed(Exception):
    """The peer went away (or the line was too long): end the dialogue."""


class Connection(asyncio.Protocol):
    """Bytes in, lines out; the listener's behaviour plays its dialogue in :attr:`task`."""

    def __init__(
        self, server: SmtpServer, listener: Listener, context: ssl.SSLContext | None
    ) -> None:
        self.server, self.listener, self.context = server, listener, context
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task[None] | None = None
        self.buffer = bytearray()
        self.data = asyncio.Event()
        self.closed = False
        self.tls = False
        self.counted = False  # in the server's open/peak counters

    # protocol callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.listener.connections += 1
        self.server._connections.add(self)
        self.server._opened(self.listener.host)
        self.counted = True
        self.task = asyncio.get_running_loop().create_task(self._run())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > 4 * MAX_COMMAND_LINE_BYTES and self.transport is not None:
            self.transport.pause_reading()  # resumed by the next read
        self.data.set()

    def eof_received(self) -> bool:
        self.closed = True
        self.data.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.data.set()
        self.server._connections.discard(self)
        if self.counted:
            self.counted = False
            self.server._closed(self.listener.host)

    # I/O helpers for the dialogue
    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    async def dribble(self, data: bytes) -> None:
        for i in range(0, len(data), DRIBBLE_CHUNK_BYTES):
            self.write(data[i : i + DRIBBLE_CHUNK_BYTES])
            await asyncio.sleep(DRIBBLE_DELAY_S)

    async def read_some(self) -> bytes:
        while not self.buffer:
            await self._wait_data()
        out = bytes(self.buffer)
        self.buffer.clear()
        return out

    async def readline(self) -> bytes:
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                line = bytes(self.buffer[: end + 1])
                del self.buffer[: end + 1]
                if len(line) > MAX_COMMAND_LINE_BYTES:
                    raise Closed("line too long")
                if self.server.latency:
                    await asyncio.sleep(self.server.latency)
                return line
            if len(self.buffer) > MAX_COMMAND_LINE_BYTES:
                self.write(reply(500, "5.5.0 Line too long"))
                raise Closed("line too long")
            await self._wait_data()

    async def _wait_data(self) -> None:
        if self.closed:
            raise Closed("peer closed")
        self.data.clear()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()
        await self.data.wait()

    async def start_tls(self) -> None:
        """Upgrade to TLS; plaintext the client pipelined before it is dropped."""
        assert self.transport is not None and self.context is not None
        self.buffer.clear()
        loop = asyncio.get_running_loop()
        new = await loop.start_tls(
            self.transport,
            self,
            self.context,
            server_side=True,
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT_S,
        )
        if new is None:
            raise Closed("no transport after TLS")
        self.transport = new
        self.tls = True

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # the dialogue
    async def _run(self) -> None:
        try:
            async with asyncio.timeout(self.server.lifetime):
                await self.listener.behaviour.play(self)
        except (Closed, TimeoutError, OSError, ssl.SSLError, ConnectionError):
            pass
        except asyncio.CancelledError:
            self.abort()
            raise
        except Exception:  # a lab bug must not take the other listeners down
            log.exception("lab %s:%s: dialogue failed", self.listener.host, self.listener.port)
        finally:
            self.close()


class _Dialogue:
    """One SMTP session as the listener's behaviour plays it."""

    def __init__(self, conn: Connection, behaviour: SmtpBehaviour) -> None:
        self.conn = conn
        self.mode = behaviour.mode
        self.host = behaviour.hostname
        self.account = behaviour.account
        self.authenticated = False
        self.commands = 0
        n = conn.server._next_in_group(conn.listener.group)
        self.busy = self.mode is SmtpMode.BUSY_FIRST and n == 0
        self.starttls_offered = self.mode not in (
            SmtpMode.NO_STARTTLS,
            SmtpMode.EHLO_REJECTED,
            SmtpMode.IMPLICIT_TLS,
            SmtpMode.SUBMISSIONS,
        ) and not (self.mode is SmtpMode.STARTTLS_FLAKY and n % 2 == 1)

    async def send(self, data: bytes) -> None:
        if self.mode is SmtpMode.MULTILINE_SPLIT:
            await self.conn.dribble(data)
        else:
            self.conn.write(data)

    async def run(self) -> None:
        conn, mode = self.conn, self.mode
        if mode is SmtpMode.TARPIT:
            while True:  # swallow input until the client or the lifetime gives up
                await conn.read_some()
        if conn.listener.behaviour.implicit_tls:
            await conn.start_tls()
        if conn.server.latency:
            await asyncio.sleep(conn.server.latency)
        if mode is SmtpMode.BANNER_421 or self.busy:
            conn.write(reply(421, f"4.7.0 {self.host} Too many connections, try again later"))
            return
        if mode is SmtpMode.BANNER_554:
            conn.write(reply(554, f"5.7.1 {self.host} No SMTP service here"))
        elif mode is SmtpMode.MULTILINE_SPLIT:
            await self.send(
                reply(220, [f"{self.host} ESMTP mxtls lab", "this banner is split", "over lines"])
            )
        else:
            conn.write(reply(220, f"{self.host} ESMTP mxtls lab"))
        if mode is SmtpMode.CLOSE_AFTER_BANNER:
            return  # the connection closes before any command is read
        while self.commands < MAX_COMMANDS:
            line = await conn.readline()
            self.commands += 1
            if not await self.command(line.rstrip(b"\r\n").decode("ascii", "replace")):
                return
        conn.write(reply(421, "4.7.0 Too many commands, closing"))

    async def command(self, line: str) -> bool:
        """Answer one command line; False ends the session."""
        verb, _, arg = line.partition(" ")
        verb = verb.upper()
        if verb == "QUIT":
            self.conn.write(reply(221, "2.0.0 Bye"))
            return False
        if self.mode is SmtpMode.BANNER_554:
            self.conn.write(reply(503, "5.5.1 No SMTP service here, only QUIT"))
            return True
        if verb == "EHLO":
            if self.mode is SmtpMode.EHLO_REJECTED:
                self.conn.write(reply(502, "5.5.2 EHLO not supported, try HELO"))
                return True
            if self.mode is SmtpMode.EHLO_VIOLATION:
                self.conn.write(f"{self.host} says hello\r\n".encode("ascii"))
                return True
            await self.send(reply(250, self.ehlo_lines(arg.strip() or "unknown")))
            return self.mode is not SmtpMode.CLOSE_AFTER_EHLO
        if verb == "HELO":
            self.conn.write(reply(250, self.host))
            return True
        if verb in ("NOOP", "RSET"):
            self.conn.write(reply(250, "2.0.0 OK"))
            return True
        if verb == "STARTTLS":
            return await self.starttls()
        if verb == "AUTH" and self.mode is SmtpMode.AUTH_BEFORE_TLS:
            self.conn.write(reply(535, "5.7.8 Authentication credentials invalid"))
            return True
        if verb == "AUTH" and self.mode in (SmtpMode.SUBMISSION, SmtpMode.SUBMISSIONS):
            await self.auth(arg)
            return True
        self.conn.write(reply(502, "5.5.2 Command not implemented"))
        return True

    def ehlo_lines(self, client: str) -> list[str]:
        lines = [f"{self.host} Hello {client[:64]}", "PIPELINING", "SIZE 10240000"]
        lines += ["ENHANCEDSTATUSCODES", "8BITMIME"]
        if self.starttls_offered and not self.conn.tls:
            lines.append("STARTTLS")
        if self.mode is SmtpMode.AUTH_BEFORE_TLS:
            lines.append("AUTH PLAIN LOGIN")
        if self.mode in (SmtpMode.SUBMISSION, SmtpMode.SUBMISSIONS) and self.conn.tls:
            lines.append("AUTH " + " ".join(MECHANISMS if self.account else ("PLAIN", "LOGIN")))
        return lines

    async def auth(self, argument: str) -> None:
        """SMTP AUTH on a submission listener: inside TLS only, once (RFC 4954 §4)."""
        conn = self.conn
        if not conn.tls:  # RFC 8314 §3.3 / RFC 3207 §4: no password before TLS
            conn.write(reply(530, "5.7.0 Must issue a STARTTLS command first"))
        elif self.authenticated:
            conn.write(reply(503, "5.5.1 Already authenticated"))
        elif self.account is None:
            conn.write(reply(535, "5.7.8 Authentication credentials invalid"))
        else:
            self.authenticated = await serve_auth(self.account, argument, conn.write, conn.readline)

    async def starttls(self) -> bool:
        conn = self.conn
        if conn.tls:
            conn.write(reply(503, "5.5.1 TLS already active"))
            return True
        if not self.starttls_offered:
            conn.write(reply(502, "5.5.1 STARTTLS not available"))
            return True
        if self.mode is SmtpMode.STARTTLS_454:
            conn.write(reply(454, "4.7.0 TLS not available due to temporary reason"))
            return True
        conn.write(reply(220, "2.0.0 Ready to start TLS"))
        if self.mode is SmtpMode.HANDSHAKE_FAIL:
            conn.buffer.clear()
            async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
                await conn.read_some()  # the ClientHello (or its first bytes)
            conn.write(TLS_ALERT_HANDSHAKE_FAILURE)
            return False
        await conn.start_tls()
        return True  # RFC 3207 §4.2: the client starts over with EHLO
