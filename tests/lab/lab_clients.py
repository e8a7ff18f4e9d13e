"""Plain clients for the lab tests: blocking sockets, ssl, pyOpenSSL and dnspython.

They are deliberately independent of mxtls' own probes, so a lab test shows
what the lab serves, not what the checker makes of it.
"""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype
from cryptography import x509
from OpenSSL import SSL

CLIENT_TIMEOUT_S = 3.0


class RawSmtp:
    """A line-exact SMTP client over a blocking socket (STARTTLS via ``ssl``)."""

    def __init__(self, address: str, port: int, *, timeout: float = CLIENT_TIMEOUT_S) -> None:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock: socket.socket = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect((address, port))
        self._buf = b""
        self.recv_sizes: list[int] = []  # size of every recv() that returned data

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawSmtp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if data:
            self.recv_sizes.append(len(data))
        return data

    def read_line(self) -> bytes:
        while b"\n" not in self._buf:
            data = self._recv()
            if not data:
                raise ConnectionError(f"closed after {self._buf!r}")
            self._buf += data
        line, _, self._buf = self._buf.partition(b"\n")
        return line + b"\n"

    def read_reply(self) -> tuple[int, list[str]]:
        """``(code, texts)`` of one (possibly multi-line) reply."""
        texts = []
        while True:
            line = self.read_line().decode().rstrip("\r\n")
            texts.append(line[4:])
            if line[3:4] != "-":
                return int(line[:3]), texts

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode() + b"\r\n")

    def cmd(self, line: str) -> tuple[int, list[str]]:
        self.send(line)
        return self.read_reply()

    def at_eof(self, wait: float = 1.0) -> bool:
        """True when the server closed the connection (nothing more to read)."""
        self.sock.settimeout(wait)
        try:
            return self._buf == b"" and self._recv() == b""
        except ConnectionResetError:
            return True

    def starttls(self, context: ssl.SSLContext, server_hostname: str | None) -> None:
        code, _ = self.cmd("STARTTLS")
        assert code == 220, code
        self.sock = context.wrap_socket(self.sock, server_hostname=server_hostname)


def verifying_context(ca_file: Path) -> ssl.SSLContext:
    """A client context that trusts only the lab root and checks host names."""
    return ssl.create_default_context(cafile=str(ca_file))  # cafile given: no system roots


def peer_chain(
    address: str, port: int, *, starttls: bool, sni: str | None
) -> list[x509.Certificate]:
    """The certificates the server sends, as sent (no verification, any key size)."""
    smtp = RawSmtp(address, port)
    try:
        if starttls:
            smtp.read_reply()
            smtp.cmd("EHLO tester.lab")
            code, _ = smtp.cmd("STARTTLS")
            assert code == 220, code
        ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
        ctx.set_verify(SSL.VERIFY_NONE, lambda *_: True)
        ctx.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
        conn = SSL.Connection(ctx, smtp.sock)
        if sni is not None:
            conn.set_tlsext_host_name(sni.encode())
        conn.set_connect_state()
        smtp.sock.setblocking(True)
        conn.do_handshake()
        chain = conn.get_peer_cert_chain(as_cryptography=True)
        assert chain is not None
        return list(chain)
    finally:
        smtp.close()


def query(
    nameserver: tuple[str, int],
    name: str,
    rdtype: str,
    *,
    tcp: bool = False,
    use_edns: int | bool = 0,
    want_dnssec: bool = False,
    timeout: float = 2.0,
) -> dns.message.Message:
    """One query straight to the lab server, UDP (no automatic TCP retry) or TCP."""
    q = dns.message.make_query(
        name, dns.rdatatype.from_text(rdtype), use_edns=use_edns, want_dnssec=want_dnssec
    )
    ip, port = nameserver
    if tcp:
        return dns.query.tcp(q, ip, port=port, timeout=timeout)
    return dns.query.udp(q, ip, port=port, timeout=timeout, ignore_trailing=False)


def wait_silence(smtp: RawSmtp, seconds: float) -> bytes:
    """Everything the server sends within ``seconds`` (b"" for a tarpit)."""
    deadline = time.monotonic() + seconds
    got = b""
    while (left := deadline - time.monotonic()) > 0:
        smtp.sock.settimeout(left)
        try:
            data = smtp.sock.recv(4096)
        except TimeoutError:
            break
        if not data:
            break
        got += data
    return got
