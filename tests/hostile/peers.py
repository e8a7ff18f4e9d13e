"""Scripted hostile peers on loopback, and a one-domain world that points mxtls at them.

Real servers refuse to misbehave on demand, so each hostile case is a short
script (urllib3's ``socket_handler`` style): an SMTP listener that answers
with whatever bytes the case needs, a TLS server that sends any certificate
bytes (pyOpenSSL on memory BIOs, so OpenSSL never vets what it sends), and an
HTTPS policy host that streams headers and body exactly as scripted.

:class:`HostileWorld` publishes ``hostile.test`` on the lab's DNS server
(MX ``mx.hostile.test`` and, when asked, an MTA-STS record and policy host,
all at 127.0.0.1) and runs :func:`mxtls.check_domain` against it with
``--port-map``, so a case goes through discovery, the probes and the checks
exactly as a user's run does.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import dns.zone
from OpenSSL import SSL, crypto

from mxtls.config import CheckConfig, Limits, Timeouts
from mxtls.engine.run import check_domain
from mxtls.lab.ca import Issued, LabCA, PrivateKey
from mxtls.lab.dns_server import DnsServer
from mxtls.models.report import Report

from .certs import der

DOMAIN = "hostile.test"
MX_HOST = f"mx.{DOMAIN}"
POLICY_HOST = f"mta-sts.{DOMAIN}"
LOOPBACK = "127.0.0.1"
HANDLER_LIMIT_S = 30.0  # no scripted peer outlives this, whatever the client does
TLS_READ_BYTES = 65536

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def send(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(data)
    await writer.drain()


async def read_command(reader: asyncio.StreamReader) -> bytes:
    """One command line from the client (``b""`` at its end of stream)."""
    return (await reader.readline()).strip().upper()


# ------------------------------------------------------------------ TLS peer


@dataclass(frozen=True)
class Chain:
    """What a TLS peer sends: its key, the leaf and the certificates after it, as DER."""

    key: PrivateKey
    leaf: bytes
    extra: tuple[bytes, ...] = ()

    @classmethod
    def of(cls, issued: Issued) -> Chain:
        return cls(issued.key, der(issued.chain[0]), tuple(der(c) for c in issued.chain[1:]))


class OpenSslServer:
    """The server side of TLS on memory BIOs over an asyncio stream, with any chain.

    The certificates are DER bytes sent exactly as given: pyOpenSSL takes
    them unvetted, which is the point (Python's ``ssl`` refuses to load a
    chain with, say, a duplicate extension, but a hostile server is free to
    send one).
    """

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, chain: Chain
    ) -> None:
        ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
        ctx.set_cipher_list(b"ALL:@SECLEVEL=0")
        ctx.use_privatekey(chain.key)
        with warnings.catch_warnings():
            # X509 objects are deprecated in pyOpenSSL, but only they carry bytes
            # that cryptography cannot load (e.g. X.509 version 12).
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.use_certificate(crypto.load_certificate(crypto.FILETYPE_ASN1, chain.leaf))
            for blob in chain.extra:
                ctx.add_extra_chain_cert(crypto.load_certificate(crypto.FILETYPE_ASN1, blob))
        self.conn = SSL.Connection(ctx, None)
        self.conn.set_accept_state()
        self.reader, self.writer = reader, writer

    async def _flush(self) -> None:
        while True:
            try:
                chunk = self.conn.bio_read(TLS_READ_BYTES)
            except SSL.WantReadError:
                return
            if not chunk:
                return
            await send(self.writer, chunk)

    async def handshake(self) -> bool:
        """Complete the handshake; False when the client gave up or failed it."""
        for _ in range(50):
            try:
                self.conn.do_handshake()
            except SSL.WantReadError:
                await self._flush()
                data = await self.reader.read(TLS_READ_BYTES)
                if not data:
                    return False
                self.conn.bio_write(data)
                continue
            except SSL.Error:
                await self._flush()
                return False
            await self._flush()
            return True
        return False

    async def send(self, data: bytes) -> None:
        self.conn.sendall(data)
        await self._flush()

    async def readline(self) -> bytes:
        """One line of application data (``b""`` when the client is gone)."""
        buf = b""
        while b"\n" not in buf:
            try:
                buf += self.conn.recv(TLS_READ_BYTES)
                continue
            except SSL.WantReadError:
                pass
            except SSL.Error:
                return b""
            data = await self.reader.read(TLS_READ_BYTES)
            if not data:
                return b""
            self.conn.bio_write(data)
        return buf


# ------------------------------------------------------------------- servers


@dataclass
class HostileWorld:
    """One test's DNS zone and scripted peers; :meth:`aclose` stops them all."""

    cert_dir: Path
    ca: LabCA = field(default_factory=LabCA)
    servers: list[asyncio.Server] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    port_map: dict[int, int] = field(default_factory=dict)
    dns_server: DnsServer | None = None
    _issued: dict[str, Issued] = field(default_factory=dict)

    def cert(self, host: str = MX_HOST) -> Issued:
        """A lab certificate for ``host`` (leaf + intermediate), issued once."""
        if host not in self._issued:
            self._issued[host] = self.ca.issue([host])
        return self._issued[host]

    def server_context(self, host: str) -> ssl.SSLContext:
        crt, key = self.cert(host).write(self.cert_dir, host)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        return ctx

    async def listen(
        self, handler: Handler, *, logical: int | None = None, tls: ssl.SSLContext | None = None
    ) -> int:
        """Serve ``handler`` on a fresh loopback port; map ``logical`` (25, 465, 443) to it."""

        async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                self.tasks.add(task)
            try:
                async with asyncio.timeout(HANDLER_LIMIT_S):
                    await handler(reader, writer)
            except (OSError, ssl.SSLError, SSL.Error, TimeoutError, asyncio.IncompleteReadError):
                pass  # the client may hang up at any point: that is what it should do
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(writer.wait_closed(), 1)

        server = await asyncio.start_server(run, LOOPBACK, 0, ssl=tls)
        self.servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        if logical is not None:
            self.port_map[logical] = port
        return port

    async def smtp(self, handler: Handler, *, port: int = 25) -> int:
        return await self.listen(handler, logical=port)

    async def policy_host(self, handler: Handler) -> int:
        """An HTTPS policy host at ``mta-sts.hostile.test`` with a trusted certificate."""
        return await self.listen(handler, logical=443, tls=self.server_context(POLICY_HOST))

    async def publish(self, *, mta_sts: bool = False, extra: str = "") -> None:
        """Start the DNS server with ``hostile.test`` (and its MTA-STS record when asked).

        ``extra`` adds zone-file lines (names relative to ``hostile.test``).
        """
        records = f"@ 300 IN MX 10 {MX_HOST}.\nmx 300 IN A {LOOPBACK}\n" + extra
        if mta_sts:
            records += '_mta-sts 300 IN TXT "v=STSv1; id=1"\n'
            records += f"mta-sts 300 IN A {LOOPBACK}\n"
        text = (
            f"@ 300 IN SOA ns.{DOMAIN}. hostmaster.{DOMAIN}. 1 300 60 600 60\n"
            f"@ 300 IN NS ns.{DOMAIN}.\nns 300 IN A {LOOPBACK}\n" + records
        )
        zone = dns.zone.from_text(text, DOMAIN + ".", relativize=False)
        self.dns_server = DnsServer([zone])
        await self.dns_server.start()

    def config(
        self, *, timeout: float = 4.0, endpoint_total: float = 20.0, check_total: float = 120.0
    ) -> CheckConfig:
        """The lab's bounds (4 s a step: a loaded 2-core machine must not time out a
        working exchange); only the mapped SMTP ports are probed; the lab CA is trusted."""
        assert self.dns_server is not None, "publish() first"
        ca_file = self.ca.write_root(self.cert_dir / "root.pem")
        smtp_ports = tuple(p for p in self.port_map if p != 443) or (25,)
        return CheckConfig(
            nameservers=(self.dns_server.address,),
            ca_file=ca_file,
            ports=smtp_ports,
            port_map=tuple(self.port_map.items()),
            ehlo_name="checker.hostile.test",
            timeouts=Timeouts(
                dns=timeout,
                connect=timeout,
                banner=timeout,
                command=timeout,
                handshake=timeout,
                https=timeout,
                endpoint_total=endpoint_total,
                check_total=check_total,
            ),
            limits=Limits(),
            ipv6=False,
        )

    async def check(self, config: CheckConfig | None = None) -> Report:
        return await check_domain(DOMAIN, config or self.config())

    async def aclose(self) -> None:
        for server in self.servers:
            server.close()
        for task in list(self.tasks):
            if not task.done():
                task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for server in self.servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1)
        if self.dns_server is not None:
            await self.dns_server.stop()


@contextlib.asynccontextmanager
async def hostile_world(cert_dir: Path) -> AsyncIterator[HostileWorld]:
    world = HostileWorld(cert_dir=cert_dir)
    try:
        yield world
    finally:
        await world.aclose()


# ------------------------------------------------------------ measurements


class LoopGaps:
    """The most CPU the event loop's thread spent between two runs of a 10 ms ticker.

    A probe that hogs the CPU inside one callback shows up here however its
    own timeouts are set (no timeout can interrupt CPU work).  CPU time, not
    wall time: on a loaded machine the process may wait for a core for half
    a second, which freezes nothing of its own doing.
    """

    TICK_S = 0.01

    def __init__(self) -> None:
        self.longest = 0.0  # thread CPU seconds between two ticks, at most
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        last = time.thread_time()
        while True:
            await asyncio.sleep(self.TICK_S)
            now = time.thread_time()
            self.longest = max(self.longest, now - last)
            last = now

    async def __aenter__(self) -> LoopGaps:
        self._task = asyncio.get_running_loop().create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
