"""Loopback servers for the policy tests: an HTTPS policy host and an authoritative DNS.

The HTTPS side is deliberately scripted (a fixed byte response per server,
optionally late), in the style of urllib3's ``socket_handler``: the hostile
cases (a 1 MB body, a stalled server, a non-HTTP reply) are exactly what a
real web server will not produce on demand.  The client under test is httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field
from pathlib import Path

import dns.name
import dns.zone

from mxtls.config import CheckConfig, Timeouts
from mxtls.lab.ca import Issued
from mxtls.lab.dns_server import DnsFault, DnsServer
from mxtls.net.dns import RunResolver

DOMAIN = "example.lab"
POLICY_HOST = f"mta-sts.{DOMAIN}"
MX1 = "mx1.example.lab"
MX2 = "mx2.example.lab"
HANDLER_READ_TIMEOUT_S = 5.0


def policy(
    mode: str = "enforce", mx: tuple[str, ...] = ("*.example.lab",), max_age: int = 604800
) -> bytes:
    """A policy file body."""
    lines = ["version: STSv1", f"mode: {mode}", *(f"mx: {p}" for p in mx), f"max_age: {max_age}"]
    return "".join(line + "\r\n" for line in lines).encode()


def http_response(
    body: bytes = b"",
    *,
    status: str = "200 OK",
    content_type: str | None = "text/plain",
    headers: tuple[tuple[str, str], ...] = (),
    content_length: bool = True,
) -> bytes:
    """Raw HTTP/1.1 response bytes; without a length the body ends at connection close."""
    lines = [f"HTTP/1.1 {status}"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    if content_length:
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{k}: {v}" for k, v in headers]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class PolicyServer:
    """A TLS server on loopback that answers every request with ``response``."""

    issued: Issued
    cert_dir: Path
    response: bytes
    delay_s: float = 0.0
    host: str = "127.0.0.1"
    sni: list[str | None] = field(default_factory=list)
    requests: list[bytes] = field(default_factory=list)
    port: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def _context(self) -> ssl.SSLContext:
        crt, key = self.issued.write(self.cert_dir, f"leaf-{id(self)}")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        seen = self.sni

        def on_sni(_obj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
            seen.append(name)

        ctx.sni_callback = on_sni
        return ctx

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, self.host, 0, ssl=self._context())
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            async with asyncio.timeout(HANDLER_READ_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head)
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            writer.write(self.response)
            await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client may hang up at any point (e.g. after rejecting the certificate)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            if not task.done():
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1)

    def request_header(self, name: str) -> str | None:
        """A header of the first request (case-insensitive name)."""
        if not self.requests:
            return None
        for line in self.requests[0].decode("latin-1").split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None


def zone(records: str, origin: str = DOMAIN) -> dns.zone.Zone:
    """A lab zone: SOA and NS, then ``records`` (zone-file lines relative to ``origin``)."""
    text = (
        f"@ 300 IN SOA ns.{origin}. hostmaster.{origin}. 1 300 60 600 60\n"
        f"@ 300 IN NS ns.{origin}.\n"
        f"ns 300 IN A 127.0.0.1\n" + records
    )
    return dns.zone.from_text(text, origin + ".", relativize=False)


@dataclass
class PolicyWorld:
    """One test's DNS server and policy hosts; :meth:`aclose` stops them all."""

    cert_dir: Path
    dns_server: DnsServer | None = None
    servers: list[PolicyServer] = field(default_factory=list)

    async def dns(self, records: str, *, faults: dict[str, DnsFault] | None = None) -> None:
        fault_map = {dns.name.from_text(n): f for n, f in (faults or {}).items()}
        self.dns_server = DnsServer([zone(records)], faults=fault_map)
        await self.dns_server.start()

    async def https(
        self, issued: Issued, response: bytes, *, delay_s: float = 0.0, host: str = "127.0.0.1"
    ) -> PolicyServer:
        server = PolicyServer(
            issued=issued, cert_dir=self.cert_dir, response=response, delay_s=delay_s, host=host
        )
        await server.start()
        self.servers.append(server)
        return server

    def config(self, https_port: int, timeout: float = 1.0) -> CheckConfig:
        assert self.dns_server is not None
        return CheckConfig(
            nameservers=(self.dns_server.address,),
            port_map=((443, https_port),),
            timeouts=Timeouts.uniform(timeout),
        )

    def resolver(self, timeout: float = 1.0) -> RunResolver:
        assert self.dns_server is not None
        return RunResolver((self.dns_server.address,), timeout=timeout)

    async def aclose(self) -> None:
        for server in self.servers:
            await server.stop()
        if self.dns_server is not None:
            await self.dns_server.stop()
