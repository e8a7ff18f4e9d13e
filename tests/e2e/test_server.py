"""`mxtls server HOST[:PORT]...`: named servers, on the lab and on scripted old peers.

Given lab hosts (real SMTP listeners on loopback) or a record-level double
that speaks only SSLv3, when the real `mxtls` entry point tests them as
named servers, then closed default ports are facts, named ports are
promises, and `--deep` scans even a server the observing handshake could
not talk to.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from mxtls.lab.ca import LabCA
from mxtls.protocol.tls_registry import TlsVersion
from tests.net.deep.doubles import OldServer, ScriptedServer

RUN_TIMEOUT_S = 120
DOUBLE_HOST = "mx.double.test"


def mxtls(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mxtls", *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )


def server_json(*args: str) -> tuple[int, dict[str, Any]]:
    proc = mxtls("server", *args, "--json")
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    doc: dict[str, Any] = json.loads(proc.stdout)
    assert doc["kind"] == "servers"
    return proc.returncode, doc


def _codes(doc: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in doc["findings"]:
        out.setdefault(f["code"], set()).add(f["target"])
    return out


def test_mx_host_without_submission_ports(lab_cli_flags: list[str]) -> None:
    # Given an MX host that listens on 25 only (no submission service there),
    status, doc = server_json("mx2.good.lab", *lab_cli_flags)
    # then 25 works, and the closed default ports 465/587 are noted, not faulted.
    assert status == 0
    (host,) = doc["hosts"]
    ports = {ep["port"]: ep for ep in host["endpoints"]}
    assert set(ports) == {25, 465, 587}
    assert ports[25]["handshake"] is not None and ports[25]["role"] == "server"
    closed = _codes(doc)["smtp.port_closed"]
    assert {t.rsplit(":", 1)[1] for t in closed} == {"465", "587"}
    assert all(f["severity"] == "info" for f in doc["findings"]), doc["findings"]
    assert doc["verdict"]["senders"] == []  # a verdict is about a domain's MX set


def test_a_named_port_must_answer(lab_cli_flags: list[str]) -> None:
    # HOST:PORT is a promise: a closed named port is an error.
    status, doc = server_json("mx2.good.lab:587", *lab_cli_flags)
    assert status == 1
    assert set(_codes(doc)) >= {"smtp.connect_failed"}
    assert [ep["port"] for ep in doc["hosts"][0]["endpoints"]] == [587]


def test_a_server_with_every_port_closed_is_down(lab_cli_flags: list[str]) -> None:
    status, doc = server_json("mx.refused.lab", *lab_cli_flags)
    assert status == 1
    failed = _codes(doc)["smtp.connect_failed"]
    assert {t.rsplit(":", 1)[1] for t in failed} == {"25", "465", "587"}
    assert "smtp.port_closed" not in _codes(doc)


def test_submission_host_and_text_report(lab_cli_flags: list[str]) -> None:
    # A submission server: 465 implicit TLS and 587 STARTTLS answer, 25 is closed.
    proc = mxtls("server", "smtp.submit.lab", *lab_cli_flags)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "server smtp.submit.lab" in proc.stdout
    assert "implicit TLS" in proc.stdout and "STARTTLS" in proc.stdout
    assert "smtp.port_closed" in proc.stdout and "Traceback" not in proc.stderr


def test_deep_scan_skips_what_it_cannot_reach_and_says_why(lab_cli_flags: list[str]) -> None:
    status, doc = server_json("mx2.good.lab", "--deep", *lab_cli_flags)
    (host,) = doc["hosts"]
    assert [d["port"] for d in host["deep"]] == [25]
    skipped = {s["port"]: s["reason"] for s in host["deep_skipped"]}
    assert set(skipped) == {465, 587}
    assert all("no TCP connection" in reason for reason in skipped.values())


@contextmanager
def serving(handler: OldServer) -> Iterator[ScriptedServer]:
    """A scripted peer on its own event loop in a thread, for a CLI in a subprocess."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="scripted-peer", daemon=True)
    thread.start()
    server = ScriptedServer(handler)
    try:
        asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(10)
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="module")
def old_cert() -> bytes:
    issued = LabCA(name="server command doubles").issue([DOUBLE_HOST], key="rsa2048", key_slot=33)
    return issued.cert.public_bytes(serialization.Encoding.DER)


def test_sslv3_only_server_is_deep_scanned_though_the_handshake_fails(old_cert: bytes) -> None:
    # Given a server that speaks only SSLv3 after STARTTLS (no current TLS
    # library can talk to it, so the observing handshake fails),
    sslv3_only = OldServer(versions=(TlsVersion.SSL3,), suites=(0x002F, 0x000A), cert_der=old_cert)
    with serving(sslv3_only) as peer:
        # when it is tested with `server --deep`,
        status, doc = server_json(f"127.0.0.1:{peer.port}", "--deep", "--timeout", "2")
    (host,) = doc["hosts"]
    (ep,) = host["endpoints"]
    assert ep["handshake"] is None and ep["starttls_reply"]["code"] == 220
    # then the deep scan still ran, from its own ClientHello codec,
    (scan,) = host["deep"]
    assert host["deep_skipped"] == []
    versions = {p["version"]: p["support"] for p in scan["tls"]["protocols"]}
    assert versions["SSLv3"] == "accepted" and versions["TLSv1.2"] == "rejected"
    # and what it found is judged: SSLv3 is obsolete (and the run fails).
    assert "tls.protocol_obsolete" in _codes(doc)
    assert status == 1
