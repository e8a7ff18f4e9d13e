"""Each SMTP and certificate scenario really behaves as built, seen by plain clients.

Given the running lab, when a blocking socket / ``ssl`` / pyOpenSSL client
talks to a scenario's MX host, then the dialogue and the certificates are
exactly the fault the scenario stands for (and nothing else is broken).
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mxtls.lab.world import Lab
from mxtls.trust.certinfo import dns_names

from .lab_clients import RawSmtp, peer_chain, verifying_context, wait_silence


def ep(world: Lab, host: str, port: int, index: int = 0) -> tuple[str, int]:
    return world.addresses(host)[index], world.port_map[port]


def ehlo(world: Lab, host: str, port: int = 25, index: int = 0) -> tuple[int, list[str]]:
    with RawSmtp(*ep(world, host, port, index)) as smtp:
        assert smtp.read_reply()[0] == 220
        return smtp.cmd("EHLO tester.lab")


def leaf(
    world: Lab, host: str, port: int = 25, *, sni: str | None = "", index: int = 0
) -> x509.Certificate:
    """The leaf on ``host``'s logical ``port``; sni="" means the host name, None no SNI."""
    name = host if sni == "" else sni
    return peer_chain(*ep(world, host, port, index), starttls=port != 465, sni=name)[0]


def verify(world: Lab, host: str, port: int = 25, index: int = 0) -> str:
    """STARTTLS (or implicit TLS) verified against the lab root for ``host``; the TLS version."""
    ctx = verifying_context(world.ca_file)
    smtp = RawSmtp(*ep(world, host, port, index))
    if port == 465:
        tls = ctx.wrap_socket(smtp.sock, server_hostname=host)
        smtp.sock = tls
        assert smtp.read_reply()[0] == 220
    else:
        assert smtp.read_reply()[0] == 220
        smtp.cmd("EHLO tester.lab")
        smtp.starttls(ctx, host)
    code, lines = smtp.cmd("EHLO tester.lab")
    assert code == 250 and "STARTTLS" not in lines
    assert isinstance(smtp.sock, ssl.SSLSocket)
    version = smtp.sock.version()
    assert smtp.cmd("QUIT")[0] == 221
    smtp.close()
    assert version is not None
    return version


# -- healthy hosts -------------------------------------------------------------------


@pytest.mark.parametrize("host", ["mx1.good.lab", "mx2.good.lab", "mx3.three.lab", "mx.nomx.lab"])
def test_good_hosts_verify_on_every_port(world: Lab, host: str) -> None:
    if host == "mx.nomx.lab":
        host = "nomx.lab"  # the implicit MX: the domain's own address
    for port in world.hosts[host].spec.ports:  # mx2.good.lab: 25 only, as providers' MX
        assert verify(world, host, port) in ("TLSv1.2", "TLSv1.3")


def test_good_chain_is_ecdsa_leaf_plus_intermediate_with_or_without_sni(world: Lab) -> None:
    for sni in ("mx1.good.lab", None):
        chain = peer_chain(*ep(world, "mx1.good.lab", 25), starttls=True, sni=sni)
        assert len(chain) == 2
        assert chain[1].subject == world.ca.intermediate.subject
        assert isinstance(chain[0].public_key(), ec.EllipticCurvePublicKey)
        assert chain[0].public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
        assert dns_names(chain[0]) == ["mx1.good.lab"]


def test_good_ehlo_offers_starttls_without_auth(world: Lab) -> None:
    code, lines = ehlo(world, "mx1.good.lab")
    assert code == 250 and "STARTTLS" in lines
    assert not any(line.startswith("AUTH") for line in lines)


def test_good_over_ipv6(world: Lab) -> None:
    if "::1" not in world.addresses("mx1.good.lab"):
        pytest.skip(f"no IPv6 loopback here: {world.notes}")
    verify(world, "mx1.good.lab", 25, index=1)


def test_dribble_splits_multiline_replies_into_tiny_writes(world: Lab) -> None:
    with RawSmtp(*ep(world, "mx.dribble.lab", 25)) as smtp:
        started = time.perf_counter()
        code, banner = smtp.read_reply()
        took = time.perf_counter() - started
        assert code == 220 and len(banner) == 3
        assert len(smtp.recv_sizes) > 1 and max(smtp.recv_sizes) < sum(smtp.recv_sizes)
        assert took >= 0.02  # ~25 writes, 2 ms apart
        code, lines = smtp.cmd("EHLO tester.lab")
        assert code == 250 and "STARTTLS" in lines
    verify(world, "mx.dribble.lab", 25)


# -- certificates ----------------------------------------------------------------------


def test_expired_notyet_and_expiring(world: Lab) -> None:
    now = dt.datetime.now(dt.UTC)
    assert leaf(world, "mx.expired.lab").not_valid_after_utc < now
    assert leaf(world, "mx.notyet.lab").not_valid_before_utc > now
    # 10 days after the lab's clock (X.509 keeps whole seconds)
    left = leaf(world, "mx.expiring.lab", 465).not_valid_after_utc - world.now
    assert abs(left - dt.timedelta(days=10)) < dt.timedelta(seconds=1)
    with pytest.raises(ssl.SSLCertVerificationError, match="expired"):
        verify(world, "mx.expired.lab")
    with pytest.raises(ssl.SSLCertVerificationError, match="not yet valid"):
        verify(world, "mx.notyet.lab", 465)
    verify(world, "mx.expiring.lab")  # still valid today


def test_wrongname(world: Lab) -> None:
    assert dns_names(leaf(world, "mx.wrongname.lab")) == ["mail.example-hosting.lab"]
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        verify(world, "mx.wrongname.lab")


def test_selfsigned(world: Lab) -> None:
    chain = peer_chain(*ep(world, "mx.selfsigned.lab", 25), starttls=True, sni="mx.selfsigned.lab")
    assert len(chain) == 1 and chain[0].issuer == chain[0].subject
    with pytest.raises(ssl.SSLCertVerificationError, match="self.signed"):
        verify(world, "mx.selfsigned.lab")


def test_nochain_sends_only_the_leaf(world: Lab) -> None:
    chain = peer_chain(*ep(world, "mx.nochain.lab", 587), starttls=True, sni="mx.nochain.lab")
    assert len(chain) == 1 and chain[0].issuer == world.ca.intermediate.subject
    with pytest.raises(ssl.SSLCertVerificationError, match="local issuer"):
        verify(world, "mx.nochain.lab")


def test_untrusted_is_issued_by_the_rogue_ca(world: Lab) -> None:
    chain = peer_chain(*ep(world, "mx.untrusted.lab", 25), starttls=True, sni="mx.untrusted.lab")
    assert [c.issuer for c in chain] == [
        world.rogue_ca.intermediate.subject,
        world.rogue_ca.root.subject,
    ]
    with pytest.raises(ssl.SSLCertVerificationError):
        verify(world, "mx.untrusted.lab")


def test_weakkey_and_sha1(world: Lab) -> None:
    key = leaf(world, "mx.weakkey.lab").public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 1024
    cert = leaf(world, "mx.sha1.lab", 465)
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA1)
    # the SHA-1 signature is a real one, by the lab intermediate
    # (cryptography's verify_directly_issued_by refuses SHA-1, so check by hand)
    issuer_key = world.ca.intermediate.public_key()
    assert isinstance(issuer_key, ec.EllipticCurvePublicKey)
    issuer_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA1()))
    assert cert.issuer == world.ca.intermediate.subject


def test_badorder_sends_a_stranger_before_the_intermediate(world: Lab) -> None:
    chain = peer_chain(*ep(world, "mx.badorder.lab", 25), starttls=True, sni="mx.badorder.lab")
    assert [c.subject for c in chain] == [
        chain[0].subject,
        world.rogue_ca.root.subject,
        world.ca.intermediate.subject,
    ]
    verify(world, "mx.badorder.lab")  # the path itself still validates


def test_snidiffers(world: Lab) -> None:
    for port in (25, 465):
        with_sni = leaf(world, "mx.snidiffers.lab", port)
        without = leaf(world, "mx.snidiffers.lab", port, sni=None)
        assert dns_names(with_sni) == ["mx.snidiffers.lab"]
        assert dns_names(without) == ["default.snidiffers.lab"]
    verify(world, "mx.snidiffers.lab")


def test_mixedcerts_differ_per_address(world: Lab) -> None:
    a, b = (leaf(world, "mx.mixedcerts.lab", 25, index=i) for i in (0, 1))
    assert a.fingerprint(hashes.SHA256()) != b.fingerprint(hashes.SHA256())
    assert a.public_key() != b.public_key()
    for i in (0, 1):
        verify(world, "mx.mixedcerts.lab", 25, index=i)


# -- SMTP dialogue ------------------------------------------------------------------------


@pytest.mark.parametrize("port", [25, 587])
def test_nostarttls(world: Lab, port: int) -> None:
    with RawSmtp(*ep(world, "mx.nostarttls.lab", port)) as smtp:
        smtp.read_reply()
        code, lines = smtp.cmd("EHLO tester.lab")
        assert code == 250 and "STARTTLS" not in lines
        assert smtp.cmd("STARTTLS")[0] == 502
        assert smtp.cmd("NOOP")[0] == 250
        assert smtp.cmd("MAIL FROM:<a@b.lab>")[0] == 502
    verify(world, "mx.nostarttls.lab", 465)


def test_starttls454(world: Lab) -> None:
    with RawSmtp(*ep(world, "mx.starttls454.lab", 25)) as smtp:
        smtp.read_reply()
        assert "STARTTLS" in smtp.cmd("EHLO tester.lab")[1]
        assert smtp.cmd("STARTTLS")[0] == 454
        assert smtp.cmd("RSET")[0] == 250


def test_handshakefail_answers_the_clienthello_with_an_alert(world: Lab) -> None:
    with pytest.raises(ssl.SSLError, match="HANDSHAKE_FAILURE|handshake failure"):
        verify(world, "mx.handshakefail.lab")


def test_plain465_speaks_plaintext_smtp(world: Lab) -> None:
    with RawSmtp(*ep(world, "mx.plain465.lab", 465)) as smtp:
        assert smtp.read_reply()[0] == 220
    with pytest.raises((ssl.SSLError, ConnectionError)):
        verify(world, "mx.plain465.lab", 465)


def test_tarpit_sends_nothing(world: Lab) -> None:
    with RawSmtp(*ep(world, "mx.tarpit.lab", 25)) as smtp:
        assert wait_silence(smtp, 0.5) == b""
        smtp.send("EHLO tester.lab")  # still nothing, and still open
        assert wait_silence(smtp, 0.2) == b""


def test_banner554_then_503_until_quit(world: Lab) -> None:
    with RawSmtp(*ep(world, "mx.banner554.lab", 587)) as smtp:
        assert smtp.read_reply()[0] == 554
        assert smtp.cmd("EHLO tester.lab")[0] == 503
        assert smtp.cmd("QUIT")[0] == 221
        assert smtp.at_eof()


def test_ratelimited_says_421_and_hangs_up(world: Lab) -> None:
    with RawSmtp(*ep(world, "mx.ratelimited.lab", 25)) as smtp:
        code, text = smtp.read_reply()
        assert code == 421 and "Too many connections" in text[0]
        assert smtp.at_eof()


def test_closed_after_ehlo(world: Lab) -> None:
    with RawSmtp(*ep(world, "mx.closed.lab", 25)) as smtp:
        smtp.read_reply()
        assert smtp.cmd("EHLO tester.lab")[0] == 250
        assert smtp.at_eof()


def test_helo_only(world: Lab) -> None:
    with RawSmtp(*ep(world, "mx.helo.lab", 25)) as smtp:
        smtp.read_reply()
        assert smtp.cmd("EHLO tester.lab")[0] == 502
        code, lines = smtp.cmd("HELO tester.lab")
        assert code == 250 and lines == ["mx.helo.lab"]
        assert smtp.cmd("STARTTLS")[0] == 502


def test_authclear_on_587_only(world: Lab) -> None:
    code, lines = ehlo(world, "mx.authclear.lab", 587)
    assert "AUTH PLAIN LOGIN" in lines and "STARTTLS" in lines
    code, lines = ehlo(world, "mx.authclear.lab", 25)
    assert not any(line.startswith("AUTH") for line in lines)


def test_refused_host_has_no_listener(world: Lab) -> None:
    for port in (25, 465, 587):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(ep(world, "mx.refused.lab", port), timeout=2).close()


def test_flaky_alternates_starttls(world: Lab) -> None:
    # Two consecutive connections: exactly one sees STARTTLS, whatever came before.
    offered = ["STARTTLS" in ehlo(world, "mx.flaky.lab", 25, index=i)[1] for i in (0, 1)]
    assert sorted(offered) == [False, True]
    # and the alternation goes on per connection
    more = ["STARTTLS" in ehlo(world, "mx.flaky.lab", 25)[1] for _ in range(4)]
    assert more in ([True, False, True, False], [False, True, False, True])


def test_iplit_address_serves_smtp(world: Lab) -> None:
    code, _ = ehlo(world, "mx.iplit.lab")
    assert code == 250
