"""The STARTTLS dialect table: commands byte-exact through the codec, answers classified."""

from __future__ import annotations

from mxtls.protocol.smtp import Reply, SmtpState
from mxtls.protocol.starttls import DIALECTS, SMTP, looks_throttled


def _reply(code: int, *lines: str) -> Reply:
    return Reply(code=code, lines=lines)


def test_smtp_walk_bytes_through_its_codec() -> None:
    codec = SMTP.codec(512, 10)
    codec.receive_data(b"220 mx.example ESMTP\r\n")
    greeting = codec.next_event()
    assert isinstance(greeting, Reply) and SMTP.greeting_ok(greeting)
    assert codec.send(SMTP.hello("client.example")) == b"EHLO client.example\r\n"
    codec.receive_data(b"250-mx.example\r\n250-STARTTLS\r\n250 SIZE 1000\r\n")
    ehlo = codec.next_event()
    assert isinstance(ehlo, Reply) and SMTP.hello_ok(ehlo)
    caps = SMTP.capabilities(ehlo)
    assert caps == {"STARTTLS": [], "SIZE": ["1000"]} and SMTP.offered(caps)
    assert codec.send(SMTP.starttls()) == b"STARTTLS\r\n"
    codec.receive_data(b"220 2.0.0 go ahead\r\n")
    go = codec.next_event()
    assert isinstance(go, Reply) and SMTP.starttls_ok(go)
    assert codec.state is SmtpState.TLS_PENDING and codec.start_tls() == b""
    assert codec.send(SMTP.goodbye()) == b"QUIT\r\n"


def test_smtp_answers_classified() -> None:
    assert not SMTP.greeting_ok(_reply(554, "no"))
    assert not SMTP.offered({"SIZE": ["1"]})
    assert not SMTP.starttls_ok(_reply(454, "4.7.0 not now"))
    assert SMTP.closing(_reply(421, "bye")) and not SMTP.closing(_reply(554, "no"))
    # HELO only after a 5xx to EHLO (RFC 5321 §4.1.4), never after a 4xx
    assert SMTP.fallback("c.example", _reply(502, "no")) is not None
    assert SMTP.fallback("c.example", _reply(451, "later")) is None
    assert SMTP.transcript(_reply(250, "mx", "STARTTLS")) == ["250-mx", "250 STARTTLS"]
    assert SMTP.summary(_reply(454, "4.7.0", "not now")) == "454 4.7.0 not now"
    assert SMTP.hello_label(True) == "EHLO/HELO" and SMTP.hello_label(False) == "EHLO"
    assert DIALECTS["smtp"] is SMTP


def test_looks_throttled() -> None:
    assert looks_throttled(_reply(421, "bye"))
    assert looks_throttled(_reply(450, "4.7.1 Rate limit exceeded"))
    assert looks_throttled(_reply(554, "too many connections from your IP"))
    assert not looks_throttled(_reply(554, "5.7.1 separate accurate text"))
    assert not looks_throttled(_reply(220, "mx.example ESMTP"))
    # A host name is not a word: "mx.ratelimited.example" says nothing about rates.
    assert not looks_throttled(_reply(220, "mx.ratelimited.example ESMTP"))
