"""The address policy: which addresses are not public, and that nothing connects around it."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import pytest

from mxtls.net.guard import (
    ALLOW_ALL,
    PUBLIC_ONLY,
    AddressPolicy,
    Refused,
    non_public_reason,
    public_only,
)
from mxtls.net.stream import connect, open_stream

SRC = Path(__file__).resolve().parents[2] / "src" / "mxtls"
# Modules that may open TCP connections: the guarded gate, the operator's own
# alert channels (webhook URL, SMTP relay from the monitor's config), and the
# lab/test daemons (they listen on loopback).
CONNECTING = {
    "net/stream.py",
    "monitor/alerts.py",
    "monitor/email.py",
    "lab/world.py",
    "lab/listeners.py",  # binds a socket to find a free port, connects nowhere
    "testing/daemon.py",
    "testing/dovecot.py",
    "testing/postfix.py",
}
_CONNECTS = re.compile(
    r"create_connection|open_connection|sock_connect|AsyncClient\(|httpx\.Client\(|"
    r"aiosmtplib|socket\.socket\(|urlopen|http\.client"
)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.9.8.7", "private (RFC 1918)"),
        ("172.31.255.1", "private (RFC 1918)"),
        ("192.168.0.1", "private (RFC 1918)"),
        ("fd12:3456::1", "private (unique local, RFC 4193)"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("100.64.0.1", "shared address space (CGNAT, RFC 6598)"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("192.0.2.10", "documentation"),
        ("198.51.100.1", "documentation"),
        ("203.0.113.9", "documentation"),
        ("2001:db8::25", "documentation"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("198.18.0.1", "benchmarking (RFC 2544)"),
        ("::ffff:10.0.0.1", "private (RFC 1918) (embedded in ::ffff:a00:1)"),
        ("64:ff9b::7f00:1", "loopback (embedded in 64:ff9b::7f00:1)"),
        ("2002:c0a8:1::1", "private (RFC 1918) (embedded in 2002:c0a8:1::1)"),
        ("mx.example.com", "not an address literal"),
        ("8.8.8.8", None),
        ("2a00:1450:4001::1b", None),
    ],
)
def test_non_public_reason(address: str, reason: str | None) -> None:
    assert non_public_reason(address) == reason


def test_policies() -> None:
    assert ALLOW_ALL.refusal("127.0.0.1", 6379) is None
    assert PUBLIC_ONLY.refusal("8.8.8.8", 25) is None
    assert PUBLIC_ONLY.refusal("8.8.8.8", 443) is None
    assert PUBLIC_ONLY.refusal("8.8.8.8", 6379) == "port 6379 is not a mail port"
    assert "loopback" in (PUBLIC_ONLY.refusal("127.0.0.1", 25) or "")
    mapped = public_only(((25, 10025), (22, 2222)))
    assert mapped.refusal("8.8.8.8", 10025) is None and mapped.refusal("8.8.8.8", 2222)
    relay = AddressPolicy(allow_private=False, also_public=("10.1.0.0/16",))
    assert relay.refusal("10.1.2.3", 25) is None and relay.refusal("10.2.0.1", 25)


async def test_connect_refuses_before_any_packet() -> None:
    failure = await connect("127.0.0.1", 25, 1.0, PUBLIC_ONLY)
    assert not hasattr(failure, "recv")
    assert failure.kind == "blocked" and "loopback" in failure.detail


async def test_open_stream_refuses_names_and_private_addresses() -> None:
    # The policy fetch's connections (TLS included) pass the same gate, before any packet.
    for host in ("127.0.0.1", "mta-sts.example.com", "::1"):
        with pytest.raises(Refused):
            await open_stream(host, 443, PUBLIC_ONLY, tls=ssl.create_default_context())


def test_no_module_connects_around_the_gates() -> None:
    found = {
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if _CONNECTS.search(path.read_text(encoding="utf-8"))
    }
    assert found <= CONNECTING, sorted(found - CONNECTING)
    assert "net/stream.py" in found
