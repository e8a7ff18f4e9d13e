"""Stand-ins for the Internet a public-mode server must not reach, all on loopback.

:class:`StubDns` answers from a table (or a function, for answers that change
between lookups) with TTL 0; :class:`Listeners` accepts TCP connections on
refused addresses and counts them (a connection that arrives is a failure);
:func:`connect_audit` sees every ``socket.connect`` of the process (Python's
audit hooks) and blocks any that would leave loopback, so a regression of
the address policy is caught without a packet leaving the machine.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import dns.message
import dns.rcode
import dns.rrset

Answer = Callable[[str, str], list[str] | None]

_AUDIT: dict[str, Any] = {"on": False, "seen": []}


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event != "socket.connect" or not _AUDIT["on"]:
        return
    address = args[1]
    if isinstance(address, tuple) and len(address) >= 2:
        host = str(address[0])
        _AUDIT["seen"].append((host, int(address[1])))
        if not (host.startswith("127.") or host == "::1"):
            raise PermissionError(f"test guard: a connection to {host} would leave loopback")


sys.addaudithook(_hook)


@contextlib.contextmanager
def connect_audit() -> Iterator[list[tuple[str, int]]]:
    """Every ``(host, port)`` the process connects to meanwhile; leaving loopback raises."""
    _AUDIT["seen"] = []
    _AUDIT["on"] = True
    try:
        yield _AUDIT["seen"]
    finally:
        _AUDIT["on"] = False


class StubDns:
    """A UDP DNS server on 127.0.0.1 answering from ``answer(qname, rdtype)`` (TTL 0)."""

    def __init__(self, answer: Answer) -> None:
        stub = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                query = dns.message.from_wire(data)
                response = dns.message.make_response(query)
                q = query.question[0]
                qname = q.name.to_text(omit_final_dot=True).lower()
                rdtype = dns.rdatatype.to_text(q.rdtype)
                records = stub.answer(qname, rdtype)
                if records is None:
                    response.set_rcode(dns.rcode.NXDOMAIN)
                elif records:
                    response.answer.append(
                        dns.rrset.from_text_list(q.name, 0, "IN", rdtype, records)
                    )
                sock.sendto(response.to_wire(), self.client_address)

        self.answer = answer
        self.server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address: tuple[str, int] = self.server.server_address[:2]  # type: ignore[assignment]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Listeners:
    """TCP listeners on ``addresses``, all on one port; each says 554 and closes."""

    def __init__(self, addresses: list[str]) -> None:
        self.accepted: list[str] = []
        self._socks: list[socket.socket] = []
        self.port = 0
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, self.port))
            self.port = sock.getsockname()[1]
            sock.listen(16)
            sock.settimeout(0.2)
            self._socks.append(sock)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._serve, args=(s,), daemon=True) for s in self._socks
        ]
        for t in self._threads:
            t.start()

    def _serve(self, sock: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted.append(sock.getsockname()[0])
            with contextlib.suppress(OSError):
                conn.sendall(b"554 go away\r\n")
            conn.close()

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(2)
        for s in self._socks:
            s.close()


def ipv6_loopback() -> bool:
    """True when ``::1`` can be bound here."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True
