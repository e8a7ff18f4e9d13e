"""probe_endpoint against real loopback servers, well-behaved and hostile.

Each test scripts a server, runs one probe and checks the recorded facts.
Timeouts are short (about 1 s), so the hostile cases end quickly.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable

from cryptography.hazmat.primitives.serialization import Encoding

from mxtls.net.smtp_session import probe_endpoint
from tests.bounds import bound

from .servers import EHLO_PLAIN, MX_NAME, Lab, config, smtp_loop, tls_until_failure, write

Serve = Callable[..., Awaitable[int]]
IP = "127.0.0.1"
BANNER = b"220 mx.test.example ESMTP lab\r\n"


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as s:
        s.bind((IP, 0))
        port: int = s.getsockname()[1]
    return port


# ---------------------------------------------------------------- good paths


async def test_good_starttls_server_full_dialogue(serve: Serve, peer: Lab) -> None:
    # Given a well-behaved STARTTLS server with a leaf + intermediate chain
    seen: list[bytes] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        await smtp_loop(r, w, lab=peer, seen=seen)

    port = await serve(handler)
    # When the endpoint is probed
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port))
    # Then every step is recorded and the dialogue ran to its end
    assert obs.internal_error is None, obs.internal_error
    assert (obs.stopped_at, obs.stop_reason, obs.connect_failure) == (None, None, None)
    assert (obs.port, obs.connect_port, obs.tls_mode) == (25, port, "starttls")
    assert obs.banner is not None and obs.banner.code == 220
    assert obs.ehlo is not None and obs.ehlo.command == "EHLO"
    assert obs.ehlo.capabilities == {
        "SIZE": ["10240000"],
        "STARTTLS": [],
        "8BITMIME": [],
    }
    assert obs.starttls_offered is True
    assert obs.starttls_reply is not None and obs.starttls_reply.code == 220
    assert obs.starttls_leftover is None
    assert obs.handshake_error is None
    hs = obs.handshake
    assert hs is not None
    assert hs.sni == MX_NAME and peer.sni_seen == [MX_NAME]
    assert hs.version == "TLSv1.3" and hs.cipher.startswith("TLS_") and hs.cipher_bits
    # And the chain is the one sent, in order: leaf, then intermediate
    sent = [c.public_bytes(Encoding.DER) for c in peer.issued.chain]
    assert [c.der for c in hs.chain] == sent and len(sent) == 2
    assert hs.chain[0].sans == [MX_NAME] and hs.chain[1].is_ca
    assert obs.ehlo_tls is not None and "AUTH" in obs.ehlo_tls.capabilities
    assert "STARTTLS" not in obs.ehlo_tls.capabilities
    assert not obs.throttled
    assert set(obs.timings_ms) == {
        "connect",
        "banner",
        "ehlo",
        "starttls",
        "handshake",
        "ehlo_tls",
        "total",
    }
    # The server saw EHLO, STARTTLS, EHLO again (inside TLS) and QUIT
    assert [line.split()[0] for line in seen] == [b"EHLO", b"STARTTLS", b"EHLO", b"QUIT"]
    assert seen[0] == b"EHLO checker.test.example\r\n"
    texts = [(t.dir, t.text) for t in obs.transcript]
    assert ("C", "EHLO checker.test.example") in texts
    assert ("S", "250-STARTTLS") in texts and ("S", "221 2.0.0 Bye") in texts
    assert any(d == "T" and "TLSv1.3" in t for d, t in texts)


async def test_implicit_tls_on_465_via_port_map(serve: Serve, peer: Lab) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        await smtp_loop(r, w, lab=peer, tls=True)

    port = await serve(handler, peer.server_context())
    obs = await probe_endpoint(MX_NAME, IP, 465, config(port, logical=465))
    assert obs.internal_error is None, obs.internal_error
    assert obs.tls_mode == "implicit" and obs.connect_port == port and obs.port == 465
    assert obs.stopped_at is None
    assert obs.handshake is not None and len(obs.handshake.chain) == 2
    assert obs.banner is not None and obs.banner.code == 220
    # Inside TLS from the first byte: the EHLO answer is ehlo_tls; no plaintext EHLO.
    assert obs.ehlo is None and obs.starttls_offered is None
    assert obs.ehlo_tls is not None and "AUTH" in obs.ehlo_tls.capabilities
    assert list(obs.timings_ms) == ["connect", "handshake", "banner", "ehlo_tls", "total"]


async def test_multiline_ehlo_split_across_many_segments(serve: Serve) -> None:
    # sslyze 5.2's recv(2048) + b"250 " check breaks on this; the codec must not.
    ehlo = (
        b"250-mx.test.example greets you\r\n"
        + b"".join(b"250-X-EXTENSION-%02d with some parameters\r\n" % i for i in range(60))
        + b"250-STARTTLS\r\n250 SMTPUTF8\r\n"
    )

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        await r.readline()
        for i in range(0, len(ehlo), 7):  # 7-byte segments (TCP_NODELAY is asyncio's default)
            await write(w, ehlo[i : i + 7])
            if i % 70 == 0:
                await asyncio.sleep(0.001)
        await r.readline()  # STARTTLS: answer it with a refusal to end quickly
        await write(w, b"454 4.7.0 not now\r\n")
        await smtp_loop(r, w, lab=None)

    port = await serve(handler)
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port))
    assert obs.ehlo is not None
    caps = obs.ehlo.capabilities
    assert len(caps) == 62 and "STARTTLS" in caps and "SMTPUTF8" in caps
    assert caps["X-EXTENSION-59"] == ["with", "some", "parameters"]
    assert obs.starttls_offered is True


async def test_ehlo_502_falls_back_to_helo(serve: Serve) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        await smtp_loop(r, w, lab=None, ehlo=b"502 5.5.1 EHLO not implemented\r\n")

    port = await serve(handler)
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port))
    assert obs.ehlo_rejected is not None and obs.ehlo_rejected.code == 502
    assert obs.ehlo is not None and obs.ehlo.command == "HELO" and obs.ehlo.capabilities == {}
    assert obs.starttls_offered is False
    assert obs.stopped_at is None and obs.handshake is None


async def test_starttls_not_offered_is_a_fact_not_a_stop(serve: Serve) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        await smtp_loop(r, w, lab=None, ehlo=b"250-mx.test.example\r\n250 AUTH PLAIN\r\n")

    port = await serve(handler)
    obs = await probe_endpoint(MX_NAME, IP, 587, config(port, logical=587))
    assert obs.starttls_offered is False and obs.stopped_at is None
    assert obs.ehlo is not None and obs.ehlo.capabilities == {"AUTH": ["PLAIN"]}
    assert obs.transcript[-1].text == "221 2.0.0 Bye"


# -------------------------------------------------------------- refusals


async def test_421_banner_is_throttled(serve: Serve) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, b"421 4.7.0 mx.test.example Too many concurrent SMTP connections\r\n")

    port = await serve(handler)
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port))
    assert obs.banner is not None and obs.banner.code == 421
    assert obs.throttled is True
    assert (obs.stopped_at, obs.stop_reason) == ("banner", "rejected")
    assert obs.ehlo is None


async def test_554_banner_is_rejected_politely(serve: Serve) -> None:
    seen: list[bytes] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, b"554 5.7.1 No SMTP service here\r\n")
        await smtp_loop(r, w, lab=None, seen=seen)

    port = await serve(handler)
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port))
    assert obs.banner is not None and obs.banner.code == 554
    assert obs.throttled is False
    assert (obs.stopped_at, obs.stop_reason) == ("banner", "rejected")
    assert seen == [b"QUIT\r\n"]  # RFC 5321 §3.1: a 554 greeting still expects QUIT


async def test_starttls_answered_454(serve: Serve) -> None:
    seen: list[bytes] = []

    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        await smtp_loop(
            r, w, lab=None, seen=seen, starttls_reply=b"454 4.7.0 TLS not available\r\n"
        )

    port = await serve(handler)
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port))
    assert obs.starttls_offered is True
    assert obs.starttls_reply is not None and obs.starttls_reply.code == 454
    assert (obs.stopped_at, obs.stop_reason) == ("starttls", "rejected")
    assert obs.handshake is None and obs.handshake_error is None
    assert seen[-1] == b"QUIT\r\n"


async def test_refused_connection(serve: Serve) -> None:
    port = closed_port()
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port))
    assert obs.connect_failure is not None and obs.connect_failure.kind == "refused"
    assert (obs.stopped_at, obs.stop_reason) == ("connect", "closed")
    assert obs.banner is None


async def test_close_right_after_connect_is_throttled(serve: Serve) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        return  # close without a word

    port = await serve(handler)
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port))
    assert (obs.stopped_at, obs.stop_reason) == ("banner", "closed")
    assert obs.throttled is True


# ------------------------------------------------------------ hostile peers


async def test_silent_server_banner_timeout_is_bounded(serve: Serve) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    port = await serve(handler)
    t0 = time.monotonic()
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port, banner=0.5))
    elapsed = time.monotonic() - t0
    assert (obs.stopped_at, obs.stop_reason) == ("banner", "timeout")
    assert obs.stop_detail is not None and "no banner within 0.5s" in obs.stop_detail
    assert 0.45 <= elapsed < bound(0.5)  # the step's timeout, not the peer's 30 s
    assert obs.throttled is False


async def test_slow_drip_banner_hits_the_step_deadline(serve: Serve) -> None:
    # One byte every 50 ms: each read succeeds, only a step deadline can end this.
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        for b in b"220 " + b"x" * 1000:
            await write(w, bytes([b]))
            await asyncio.sleep(0.05)

    port = await serve(handler)
    t0 = time.monotonic()
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port, banner=0.5))
    assert (obs.stopped_at, obs.stop_reason) == ("banner", "timeout")
    assert time.monotonic() - t0 < bound(0.5)  # the drip would last 50 s


async def test_endpoint_total_bounds_the_whole_probe(serve: Serve) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    port = await serve(handler)
    t0 = time.monotonic()
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port, banner=10, endpoint_total=0.4))
    assert (obs.stopped_at, obs.stop_reason) == ("banner", "timeout")
    assert obs.stop_detail is not None and "no result within 0.4s" in obs.stop_detail
    assert time.monotonic() - t0 < bound(0.4)  # not the 10 s banner step


async def test_megabyte_banner_without_line_end(serve: Serve) -> None:
    # Memory is bounded by the codec (tests/protocol) and RawStream's capped buffer;
    # here: the probe stops on the bound, fast, instead of reading the whole megabyte.
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        chunk = b"A" * 65536
        await write(w, b"220 ")
        for _ in range(16):
            await write(w, chunk)
        await asyncio.sleep(5)

    port = await serve(handler)
    cpu = time.thread_time()
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port))
    cpu = time.thread_time() - cpu  # the probe's and the server's work: one thread, one loop
    # Stopped by the size bound (a "protocol" stop), before the banner step's timeout,
    assert (obs.stopped_at, obs.stop_reason) == ("banner", "protocol")
    assert obs.stop_detail is not None and "longer than 4096 bytes" in obs.stop_detail
    assert obs.banner is None
    # and without work on the whole megabyte (CPU time: on a loaded machine wall time lies).
    assert cpu < 0.5, f"{cpu:.2f}s of CPU"


async def test_garbage_instead_of_smtp(serve: Serve) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, b"\x00\xffHTTP/1.1 400 Bad Request\r\n\r\n")
        await asyncio.sleep(5)

    port = await serve(handler)
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port))
    assert (obs.stopped_at, obs.stop_reason) == ("banner", "protocol")
    assert obs.stop_detail is not None and "malformed reply line" in obs.stop_detail


async def test_server_closes_mid_reply(serve: Serve) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        await r.readline()
        await write(w, b"250-mx.test.example\r\n250-SIZ")

    port = await serve(handler)
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port))
    assert (obs.stopped_at, obs.stop_reason) == ("ehlo", "closed")
    assert obs.stop_detail is not None and "250-SIZ" in obs.stop_detail
    assert obs.banner is not None and obs.ehlo is None
    assert obs.throttled is False


async def test_tls_alert_during_handshake(serve: Serve, peer: Lab) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        for _ in range(2):
            line = await r.readline()
            if line.startswith(b"EHLO"):
                await write(w, EHLO_PLAIN)
            else:
                await write(w, b"220 go ahead\r\n")
                await tls_until_failure(r, w, peer.server_context(alert_on_sni=True))

    port = await serve(handler)
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port))
    assert (obs.stopped_at, obs.stop_reason) == ("handshake", "tls")
    assert obs.handshake is None
    assert obs.handshake_error is not None and "alert handshake failure" in obs.handshake_error


async def test_garbage_during_handshake(serve: Serve) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        await r.readline()
        await write(w, EHLO_PLAIN)
        await r.readline()
        await write(w, b"220 go ahead\r\n")
        await r.read(100)  # the ClientHello
        await write(w, b"\x15\x03\x03\xff\xffthis is not a TLS record" * 10)
        await asyncio.sleep(5)

    port = await serve(handler)
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port))
    assert (obs.stopped_at, obs.stop_reason) == ("handshake", "tls")
    assert obs.handshake_error
    assert obs.starttls_leftover is None  # it came after our ClientHello: not leftover


async def test_plaintext_smtp_on_implicit_tls_port(serve: Serve) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        await asyncio.sleep(5)

    port = await serve(handler)
    obs = await probe_endpoint(MX_NAME, IP, 465, config(port, logical=465))
    assert obs.tls_mode == "implicit"
    assert (obs.stopped_at, obs.stop_reason) == ("handshake", "tls")
    assert obs.handshake_error is not None
    assert "plaintext SMTP: '220 mx.test.example ESMTP lab'" in obs.handshake_error


async def test_plaintext_pipelined_after_starttls_220_is_recorded(serve: Serve, peer: Lab) -> None:
    # A server that answers STARTTLS and, in the same write, keeps talking in plaintext.
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        await r.readline()
        await write(w, EHLO_PLAIN)
        await r.readline()
        await write(w, b"220 go ahead\r\n250 2.0.0 injected reply\r\n")
        await w.start_tls(peer.server_context())
        await smtp_loop(r, w, lab=peer, tls=True)

    port = await serve(handler)
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port))
    assert obs.starttls_leftover == "250 2.0.0 injected reply\r\n"
    assert any("plaintext bytes after 220" in t.text for t in obs.transcript)


async def test_sni_on_and_off_as_seen_by_the_server(serve: Serve, peer: Lab) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        await smtp_loop(r, w, lab=peer)

    port = await serve(handler)
    cfg = config(port)
    with_sni = await probe_endpoint(MX_NAME, IP, 25, cfg)
    without = await probe_endpoint(MX_NAME, IP, 25, cfg, sni=False, handshake_only=True)
    assert peer.sni_seen == [MX_NAME, None]
    assert with_sni.handshake is not None and with_sni.handshake.sni == MX_NAME
    assert without.handshake is not None and without.handshake.sni is None
    assert without.stopped_at is None and without.ehlo_tls is None  # stopped after handshake
    assert without.handshake.chain[0].der == with_sni.handshake.chain[0].der


async def test_no_sni_for_an_address_literal_host(serve: Serve, peer: Lab) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        await smtp_loop(r, w, lab=peer, tls=True)

    port = await serve(handler, peer.server_context())
    obs = await probe_endpoint(IP, IP, 465, config(port, logical=465))
    assert obs.handshake is not None and obs.handshake.sni is None
    assert peer.sni_seen == [None]


# ------------------------------------------------------------- boundaries


async def test_bug_becomes_internal_error_not_an_exception(serve: Serve) -> None:
    # An unusable EHLO name makes the codec raise LocalProtocolError: our bug, not the
    # peer's.  The probe records it with its traceback and still returns.
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        await smtp_loop(r, w, lab=None)

    port = await serve(handler)
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port, ehlo_name="two words"))
    assert obs.internal_error is not None and "LocalProtocolError" in obs.internal_error
    assert (obs.stopped_at, obs.stop_reason) == ("ehlo", "internal")
    assert obs.banner is not None


async def test_transcript_is_bounded(serve: Serve, peer: Lab) -> None:
    async def handler(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await write(w, BANNER)
        await smtp_loop(r, w, lab=peer)

    port = await serve(handler)
    obs = await probe_endpoint(MX_NAME, IP, 25, config(port, max_transcript_lines=6))
    assert len(obs.transcript) == 6
    assert obs.transcript[-1].text == "transcript truncated at 6 lines"
    assert obs.ehlo_tls is not None  # the dialogue itself was not cut short
