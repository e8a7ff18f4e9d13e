"""SASL client mechanisms, byte-exact (RFC 4616, the LOGIN draft, RFC 7677's test vector)."""

from __future__ import annotations

import base64

import pytest

from mxtls.protocol.sasl import (
    Credentials,
    LoginClient,
    PlainClient,
    SaslClient,
    SaslError,
    ScramSha256Client,
    Secret,
    choose_mechanism,
    decode_challenge,
    encode_response,
    random_credentials,
)
from mxtls.protocol.smtp import Auth, AuthResponse, LocalProtocolError, SmtpClient
from mxtls.protocol.starttls import SMTP

PENCIL = Credentials("user", Secret("pencil"))


def test_plain_initial_response_is_exact() -> None:
    client = PlainClient(Credentials("tim", Secret("tanstaaftanstaaf")))
    assert client.initial() == b"\0tim\0tanstaaftanstaaf"  # RFC 4616 §4 example
    assert encode_response(client.initial(), initial=True) == "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"
    with pytest.raises(SaslError):
        client.respond(b"anything")


def test_login_answers_user_then_password_then_stops() -> None:
    client: SaslClient = LoginClient(PENCIL)
    assert client.initial() is None
    assert client.respond(decode_challenge("VXNlcm5hbWU6")) == b"user"
    assert client.respond(decode_challenge("UGFzc3dvcmQ6")) == b"pencil"
    with pytest.raises(SaslError, match="more than two"):
        client.respond(b"Again:")


def test_scram_sha256_matches_rfc7677_vector() -> None:
    client = ScramSha256Client(PENCIL, nonce="rOprNGfwEbeRWgbNEkqO")
    assert client.initial() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    server_first = (
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    )
    assert client.respond(server_first) == (
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    # The server proves it knows the password; a forged signature is caught
    assert client.respond(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=") == b""


def test_scram_refuses_a_forged_server_signature_and_a_huge_iteration_count() -> None:
    client = ScramSha256Client(PENCIL, nonce="rOprNGfwEbeRWgbNEkqO")
    client.initial()
    client.respond(b"r=rOprNGfwEbeRWgbNEkqOxyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
    with pytest.raises(SaslError, match="signature"):
        client.verify(b"v=" + base64.b64encode(b"\0" * 32))
    greedy = ScramSha256Client(PENCIL, nonce="abc")
    greedy.initial()
    with pytest.raises(SaslError, match="iteration count"):
        greedy.respond(b"r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2147483647")


@pytest.mark.parametrize(
    ("offered", "strongest", "exposing"),
    [
        (["PLAIN", "LOGIN", "SCRAM-SHA-256"], "SCRAM-SHA-256", "PLAIN"),
        (["login", "plain"], "PLAIN", "PLAIN"),
        (["LOGIN", "CRAM-MD5"], "LOGIN", "LOGIN"),
        (["CRAM-MD5", "XOAUTH2"], None, None),
    ],
)
def test_mechanism_choice(offered: list[str], strongest: str | None, exposing: str | None) -> None:
    assert choose_mechanism(offered) == strongest
    assert choose_mechanism(offered, exposing=True) == exposing
    if strongest is not None:
        assert SaslClient.for_mechanism(strongest, PENCIL).mechanism == strongest


def test_challenges_are_bounded_and_checked() -> None:
    with pytest.raises(SaslError, match="not base64"):
        decode_challenge("not base64!")
    with pytest.raises(SaslError, match="longer than"):
        decode_challenge("A" * 5000)
    assert encode_response(b"") == "" and encode_response(b"", initial=True) == "="


def test_secrets_never_show() -> None:
    secret = Secret("hunter2-very-secret")
    creds = Credentials("alice", secret)
    for text in (repr(secret), str(secret), f"{secret}", repr(creds), str(creds)):
        assert "hunter2" not in text
    assert secret == Secret("hunter2-very-secret") and secret != Secret("other")
    probe = random_credentials()
    assert probe.user.startswith("mxtls-probe-") and len(probe.secret.reveal()) >= 20


def test_auth_lines_are_exact_on_the_wire_and_redacted_in_the_transcript() -> None:
    codec = SmtpClient()
    codec.receive_data(b"220 hi\r\n")
    codec.next_event()
    cmd = Auth(mechanism="PLAIN", initial="AHRpbQB0YW5zdGFhZnRhbnN0YWFm")
    wire = codec.send(cmd)
    assert wire == b"AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"
    assert SMTP.command_text(cmd, wire) == "AUTH PLAIN <redacted>"
    codec.receive_data(b"334 \r\n")
    codec.next_event()
    answer = AuthResponse(data="dGFuc3RhYWY=")
    assert codec.send(answer) == b"dGFuc3RhYWY=\r\n"
    assert SMTP.command_text(answer, b"dGFuc3RhYWY=\r\n") == "<redacted>"
    assert SMTP.command_name(answer) == "AUTH"
    codec.receive_data(b"535 no\r\n")
    codec.next_event()
    # A line outside base64 is refused before it reaches the wire, without echoing it
    with pytest.raises(LocalProtocolError) as info:
        codec.send(AuthResponse(data="secret with spaces"))
    assert "secret" not in str(info.value)
