"""`mxtls server` on IMAP/POP3 ports (by the port rule) and with SMTP AUTH, against real daemons.

Dovecot (Debian) serves IMAP and POP3 and the SASL service that a real
Postfix authenticates through.  The AUTH tests run the CLI with a password
in the environment and grep every output for it (and its base64 forms).
"""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import dns.zone
import pytest
from rich.console import Console

from mxtls.config import CheckConfig, Timeouts
from mxtls.engine.run import check_domain
from mxtls.lab.ca import LabCA
from mxtls.lab.dns_server import DnsServer
from mxtls.render.text import render_text
from mxtls.testing import DovecotInstance
from tests.e2e.cli_run import mxtls, secret_forms
from tests.net.test_smtp_auth import PASSWORD, USER, AuthPeer, _peer
from tests.peers import require_peer

HOST = "mail.dovecot.test"
SRV_HOST = "mail.mbox.test"  # what the RFC 6186 records of mbox.test name
ZONE = """
$TTL 60
@ SOA ns.test. hostmaster.test. 1 60 60 60 60
@ NS ns.test.
@ MX 10 mail.mbox.test.
mail A 127.0.0.2
_imaps._tcp SRV 0 1 993 mail.mbox.test.
_imap._tcp SRV 0 1 143 mail.mbox.test.
_pop3s._tcp SRV 0 1 995 mail.mbox.test.
_pop3._tcp SRV 0 0 0 .
"""


@pytest.fixture(scope="module")
def dovecot() -> Iterator[tuple[DovecotInstance, str]]:
    require_peer("Dovecot", *DovecotInstance.available())
    ca = LabCA(name="mxtls server mailbox root")
    issued = ca.issue([HOST, SRV_HOST])
    with DovecotInstance(HOST, issued.chain_pem(), issued.key_pem(), ip="127.0.0.2") as instance:
        root = instance.workdir / "root.pem"
        root.write_bytes(ca.root_pem())
        yield instance, str(root)


@pytest.fixture(scope="module")
def auth_peer() -> Iterator[AuthPeer]:
    yield from _peer("plain login scram-sha-256")


def _flags(port_map: dict[int, int]) -> list[str]:
    return [
        arg for logical, local in port_map.items() for arg in ("--port-map", f"{logical}:{local}")
    ]


def test_protocol_follows_the_port(dovecot: tuple[DovecotInstance, str]) -> None:
    instance, root = dovecot
    targets = [f"127.0.0.2:{p}" for p in (143, 993, 110, 995)]
    proc = mxtls(
        "server",
        *targets,
        "--json",
        "--ca-file",
        root,
        "--timeout",
        "4",
        *_flags(instance.port_map),
    )
    doc = json.loads(proc.stdout)
    assert doc["kind"] == "servers"
    eps = {ep["port"]: ep for host in doc["hosts"] for ep in host["endpoints"]}
    assert {p: eps[p]["protocol"] for p in eps} == {
        143: "imap",
        993: "imap",
        110: "pop3",
        995: "pop3",
    }
    assert all(eps[p]["handshake"] for p in eps)
    assert eps[143]["tls_mode"] == "starttls" and eps[993]["tls_mode"] == "implicit"
    assert eps[143]["capabilities"]["LOGINDISABLED"] == []
    codes = {f["code"] for f in doc["findings"]}
    assert not codes & {"imap.auth_before_tls", "pop3.auth_before_tls", "imap.unavailable"}
    # a sound Dovecot, its chain trusted through --ca-file: no error at all
    assert [f for f in doc["findings"] if f["severity"] == "error"] == []
    assert proc.returncode == 0
    text = mxtls("server", *targets, "--ca-file", root, "--transcript", *_flags(instance.port_map))
    assert text.returncode == 0 and "Traceback" not in text.stdout + text.stderr
    assert "m2 STARTTLS" in text.stdout and "STLS" in text.stdout


def test_protocol_option_overrides_the_port(dovecot: tuple[DovecotInstance, str]) -> None:
    instance, root = dovecot
    proc = mxtls(
        "server",
        "127.0.0.2:2143",
        "--protocol",
        "imap",
        "--json",
        "--ca-file",
        root,
        "--port-map",
        f"2143:{instance.port_map[143]}",
    )
    doc = json.loads(proc.stdout)
    [ep] = [ep for host in doc["hosts"] for ep in host["endpoints"]]
    assert ep["protocol"] == "imap" and ep["starttls_offered"] is True


def test_auth_over_tls_and_the_secret_appears_nowhere(auth_peer: AuthPeer) -> None:
    env = {"MXTLS_TEST_AUTH_SECRET": PASSWORD}
    base = [
        "server",
        f"{auth_peer.ip}:587",
        f"{auth_peer.ip}:25",
        "--auth-user",
        USER,
        "--auth-password-env",
        "MXTLS_TEST_AUTH_SECRET",
        "--auth-check-plaintext",
        "--timeout",
        "5",
        *_flags(auth_peer.port_map),
    ]
    outputs: list[str] = []
    for fmt in (
        ["--json"],
        ["--transcript", "--verbose"],
        ["--format", "html"],
        ["--format", "sarif"],
        ["--format", "markdown"],
    ):
        proc = mxtls(*base, *fmt, env=env)
        assert proc.returncode in (0, 1), proc.stderr
        outputs += [proc.stdout, proc.stderr]
    doc = json.loads(outputs[0])
    eps = {ep["port"]: ep for host in doc["hosts"] for ep in host["endpoints"]}
    assert eps[587]["auth"]["outcome"] == "accepted" and eps[587]["auth"]["in_tls"]
    assert eps[587]["auth"]["mechanism"] == "SCRAM-SHA-256"
    assert eps[587]["auth_plaintext"]["reply_code"] == 530
    codes = {(f["code"], f["target"].rsplit(":", 1)[1]) for f in doc["findings"]}
    assert ("auth.plaintext_accepted", "25") in codes
    assert not any(code == "auth.failed" for code, _ in codes)
    assert "AUTH SCRAM-SHA-256 <redacted>" in outputs[2]  # the transcript shows the redaction
    # the terminal, HTML and Markdown reports say how AUTH went, on both ports
    accepted = "AUTH over TLS: SCRAM-SHA-256 accepted, 235"
    proved = "the server proved it knows the password"
    for text in (outputs[2], outputs[4], outputs[8]):
        flat = " ".join(text.split())
        assert accepted in flat and proved in flat
        assert "AUTH before TLS (throw-away credentials): PLAIN answered 530" in flat
    for text in outputs:
        for secret in secret_forms(USER, PASSWORD):
            assert secret not in text


def test_wrong_password_is_auth_failed_and_no_secret_is_asked_for_on_the_command_line(
    auth_peer: AuthPeer,
) -> None:
    env = {"MXTLS_TEST_AUTH_SECRET": "not-the-password"}
    args = ["server", f"{auth_peer.ip}:587", "--auth-user", USER, *_flags(auth_peer.port_map)]
    proc = mxtls(*args, "--auth-password-env", "MXTLS_TEST_AUTH_SECRET", "--json", env=env)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert "auth.failed" in {f["code"] for f in doc["findings"]}
    assert "not-the-password" not in proc.stdout + proc.stderr
    # no terminal to prompt on, no variable: a usage error, not a hang
    proc = mxtls(*args)
    assert proc.returncode == 2 and "--auth-password-env" in proc.stderr
    proc = mxtls(*args, "--auth-password-env", "MXTLS_NO_SUCH_VARIABLE")
    assert proc.returncode == 2 and "not set" in proc.stderr


async def test_check_follows_rfc6186_srv_to_imap_and_pop3(
    dovecot: tuple[DovecotInstance, str],
) -> None:
    # Given a domain whose SRV records name its IMAP and POP3 servers (POP3 over
    # STARTTLS explicitly not offered: target ".")
    instance, root = dovecot
    server = DnsServer([dns.zone.from_text(ZONE, "mbox.test.", relativize=False)])
    address = await server.start()
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.2", 0))
            closed = s.getsockname()[1]
        config = CheckConfig(
            nameservers=(address,),
            ca_file=Path(root),
            port_map=((25, closed), *instance.port_map.items()),
            timeouts=Timeouts.uniform(4),
        )
        # When the domain is checked
        report = await check_domain("mbox.test", config)
    finally:
        await server.stop()
    # Then the mailbox section lists the records and probes what they name, in
    # the protocol and TLS mode of each service
    assert report.mailbox is not None
    services = sorted((t.service, t.port, t.target) for t in report.mailbox.targets)
    assert services == [
        ("imap", 143, SRV_HOST),
        ("imaps", 993, SRV_HOST),
        ("pop3", 0, "."),
        ("pop3s", 995, SRV_HOST),
    ]
    [host] = report.mailbox.hosts
    modes = {(ep.port, ep.protocol, ep.tls_mode, ep.role) for ep in host.endpoints}
    assert modes == {
        (993, "imap", "implicit", "mailbox"),
        (143, "imap", "starttls", "mailbox"),
        (995, "pop3", "implicit", "mailbox"),
    }
    assert all(ep.handshake is not None for ep in host.endpoints)
    console = Console(width=80, record=True, file=io.StringIO(), no_color=True)
    render_text(report, console)
    text = console.export_text()
    assert "Mailbox access" in text and "_imaps._tcp" in text and "Traceback" not in text
    codes = {f.code for f in report.findings if f.target.startswith(SRV_HOST + "[")}
    assert not {c for c in codes if c.startswith(("imap.", "pop3.", "starttls.", "cert."))}, codes
