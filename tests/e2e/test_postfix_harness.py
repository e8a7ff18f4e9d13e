"""The Postfix harness, proved with standard-library clients only (smtplib + ssl).

These tests pin what the e2e suite relies on: the instance that answers is ours,
speaks SMTP with STARTTLS on 25 and 587 and implicit TLS on 465, and presents
exactly the certificate chain it was given; start-up and shutdown are clean.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import pwd
import smtplib
import socket
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mxtls.lab.ca import LabCA
from mxtls.testing import PostfixError, PostfixInstance, PostfixPeer
from mxtls.testing.postfix import POSTFIX_USER
from tests.peers import require_peer

pytestmark = pytest.mark.postfix

IO_TIMEOUT_S = 5.0
SILENCE_TIMEOUT_S = 0.5  # how long a plaintext client waits on 465 to see no banner
X509_V_ERR_CERT_HAS_EXPIRED = 10  # OpenSSL verify codes (x509_vfy.h)
X509_V_ERR_HOSTNAME_MISMATCH = 62


def _fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def _leaf_fingerprint(peer: PostfixPeer) -> str:
    return _fingerprint(peer.issued.cert.public_bytes(serialization.Encoding.DER))


def _verifying_context(ca_file: Path) -> ssl.SSLContext:
    """Trusts only the lab root: succeeds only if the server sends the intermediate."""
    return ssl.create_default_context(cafile=str(ca_file))


def _unverified_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _read_reply(sock: socket.socket | ssl.SSLSocket) -> tuple[int, list[str]]:
    """One (possibly multi-line) SMTP reply, bounded in size."""
    buf = b""
    while True:
        lines = buf.split(b"\r\n")
        done = [ln for ln in lines[:-1] if len(ln) >= 4 and ln[3:4] == b" "]
        if done:
            text = [ln.decode() for ln in lines[:-1]]
            return int(text[-1][:3]), [t[4:] for t in text]
        chunk = sock.recv(4096)
        assert chunk, "server closed the connection mid-reply"
        buf += chunk
        assert len(buf) < 64 * 1024, "reply too long"


def _starttls(peer: PostfixPeer, port: int, ctx: ssl.SSLContext) -> ssl.SSLSocket:
    """Banner, EHLO, STARTTLS, then the handshake with SNI and name check = peer.host.

    smtplib would check the name against the IP it connected to, so the few
    commands are sent by hand.
    """
    raw = socket.create_connection((peer.ip, port), IO_TIMEOUT_S)
    try:
        assert _read_reply(raw)[0] == 220
        raw.sendall(b"EHLO client.test\r\n")
        code, ehlo = _read_reply(raw)
        assert code == 250 and "STARTTLS" in ehlo
        raw.sendall(b"STARTTLS\r\n")
        assert _read_reply(raw)[0] == 220
        return ctx.wrap_socket(raw, server_hostname=peer.host)
    except BaseException:
        raw.close()
        raise


def _group_processes(pgid: int) -> dict[int, tuple[str, int]]:
    """Live processes of a process group: pid -> (command name, euid), from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            # /proc/<pid> of a daemon that dropped privileges is owned by root
            # (not dumpable); "Uid:" in status gives real, effective, saved, fs.
            uid = int(next(ln for ln in status.splitlines() if ln.startswith("Uid:")).split()[2])
            found[int(entry.name)] = (stat[stat.find("(") + 1 : stat.rfind(")")], uid)
    return found


# -- the good instance --------------------------------------------------------------


def test_banner_is_this_instance_with_the_mx_name(postfix_good: PostfixPeer) -> None:
    # Given the good instance, When a client connects on the SMTP port,
    # Then the 220 banner names the MX host and carries this instance's token.
    smtp = smtplib.SMTP(timeout=IO_TIMEOUT_S)
    try:
        code, banner = smtp.connect(postfix_good.ip, postfix_good.port_map[25])
    finally:
        smtp.close()
    assert code == 220
    text = banner.decode()
    assert text.split()[0] == postfix_good.host
    assert postfix_good.instance.banner_token in text


def test_ehlo_advertises_starttls(postfix_good: PostfixPeer) -> None:
    with smtplib.SMTP(postfix_good.ip, postfix_good.port_map[25], timeout=IO_TIMEOUT_S) as smtp:
        code, _ = smtp.ehlo("client.test")
        assert code == 250
        assert smtp.has_extn("starttls")
        assert smtp.ehlo_resp is not None
        assert smtp.ehlo_resp.decode().splitlines()[0] == postfix_good.host


def test_starttls_presents_the_configured_chain(postfix_good: PostfixPeer) -> None:
    # Given a client that trusts only the lab root and checks the MX name,
    # When it upgrades port 25 with STARTTLS,
    # Then the handshake verifies (so the intermediate was sent) and the leaf is ours.
    with _starttls(
        postfix_good, postfix_good.port_map[25], _verifying_context(postfix_good.ca_file)
    ) as tls:
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        assert _fingerprint(der) == _leaf_fingerprint(postfix_good)
        tls.sendall(b"EHLO client.test\r\n")
        code, ehlo = _read_reply(tls)
        assert code == 250 and "STARTTLS" not in ehlo  # RFC 3207 §4.2: not offered again
        tls.sendall(b"QUIT\r\n")
        assert _read_reply(tls)[0] == 221


def test_465_is_implicit_tls(postfix_good: PostfixPeer) -> None:
    port = postfix_good.port_map[465]
    # A plaintext client gets no banner: the server waits for a ClientHello.
    with socket.create_connection((postfix_good.ip, port), IO_TIMEOUT_S) as raw:
        raw.settimeout(SILENCE_TIMEOUT_S)
        with pytest.raises(TimeoutError):
            raw.recv(1)
    # A TLS client gets the banner inside TLS, and the configured leaf.
    with socket.create_connection((postfix_good.ip, port), IO_TIMEOUT_S) as raw:
        ctx = _verifying_context(postfix_good.ca_file)
        with ctx.wrap_socket(raw, server_hostname=postfix_good.host) as tls:
            code, banner = _read_reply(tls)
            assert code == 220
            assert banner[0].split()[0] == postfix_good.host
            der = tls.getpeercert(binary_form=True)
            assert der is not None and _fingerprint(der) == _leaf_fingerprint(postfix_good)


def test_587_requires_starttls_before_mail(postfix_good: PostfixPeer) -> None:
    with smtplib.SMTP(postfix_good.ip, postfix_good.port_map[587], timeout=IO_TIMEOUT_S) as smtp:
        smtp.ehlo("client.test")
        assert smtp.has_extn("starttls")
        code, _ = smtp.mail("a@client.test")
        assert code == 530  # RFC 3207 §4: "Must issue a STARTTLS command first"
    with _starttls(
        postfix_good, postfix_good.port_map[587], _verifying_context(postfix_good.ca_file)
    ) as tls:
        der = tls.getpeercert(binary_form=True)
        assert der is not None and _fingerprint(der) == _leaf_fingerprint(postfix_good)


def test_accepts_mail_for_its_own_name_only(postfix_good: PostfixPeer) -> None:
    # The instance behaves as an Internet MX: a message to its own name is accepted
    # (and discarded), relaying elsewhere is refused even from loopback.
    with smtplib.SMTP(postfix_good.ip, postfix_good.port_map[25], timeout=IO_TIMEOUT_S) as smtp:
        smtp.starttls(context=_unverified_context())
        refused = smtp.sendmail(
            "a@client.test",
            [f"postmaster@{postfix_good.host}", "someone@elsewhere.test"],
            b"Subject: lab\r\n\r\nhello\r\n",
        )
    assert list(refused) == ["someone@elsewhere.test"]
    # smtpd_relay_restrictions default: defer_unauth_destination, "Relay access denied"
    assert refused["someone@elsewhere.test"][0] == 454


# -- the broken instance ------------------------------------------------------------


def test_broken_presents_the_broken_certificate(postfix_broken: PostfixPeer) -> None:
    # Given the broken instance, When a non-verifying client upgrades with STARTTLS,
    # Then it sees the configured leaf: expired, and not for the MX name.
    with _starttls(postfix_broken, postfix_broken.port_map[25], _unverified_context()) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    assert _fingerprint(der) == _leaf_fingerprint(postfix_broken)
    cert = x509.load_der_x509_certificate(der)
    assert cert.not_valid_after_utc < dt.datetime.now(dt.UTC)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert postfix_broken.host not in names.get_values_for_type(x509.DNSName)


def test_broken_fails_verification_on_name_and_on_date(postfix_broken: PostfixPeer) -> None:
    # OpenSSL reports the name mismatch first; without the name check, the expiry.
    ctx = _verifying_context(postfix_broken.ca_file)
    with pytest.raises(ssl.SSLCertVerificationError) as caught:
        _starttls(postfix_broken, postfix_broken.port_map[25], ctx).close()
    assert caught.value.verify_code == X509_V_ERR_HOSTNAME_MISMATCH
    ctx.check_hostname = False
    with pytest.raises(ssl.SSLCertVerificationError) as caught:
        _starttls(postfix_broken, postfix_broken.port_map[25], ctx).close()
    assert caught.value.verify_code == X509_V_ERR_CERT_HAS_EXPIRED


def test_broken_and_good_are_different_servers(
    postfix_good: PostfixPeer, postfix_broken: PostfixPeer
) -> None:
    assert set(postfix_good.port_map.values()).isdisjoint(postfix_broken.port_map.values())
    assert postfix_good.instance.banner_token != postfix_broken.instance.banner_token


# -- the harness itself -------------------------------------------------------------


@pytest.fixture
def one_leaf() -> tuple[bytes, bytes]:
    issued = LabCA(name="mxtls harness root").issue(["mx.harness.test"], key_slot=13)
    return issued.chain_pem(), issued.key_pem()


def _require_postfix() -> None:
    require_peer("Postfix", *PostfixInstance.available())


def test_available_reports_a_reason_or_nothing() -> None:
    ok, reason = PostfixInstance.available()
    assert isinstance(ok, bool)
    assert (reason == "") == ok


def test_stop_leaves_no_process_port_or_directory(one_leaf: tuple[bytes, bytes]) -> None:
    _require_postfix()
    chain, key = one_leaf
    instance = PostfixInstance("mx.harness.test", chain, key, ports={25: 0})
    instance.start()
    try:
        pgid = instance.master_pid
        assert pgid is not None
        port, workdir = instance.port_map[25], instance.workdir
        # Given a served connection, the master's group holds the master (root)
        # and an smtpd that runs as the postfix user.
        with smtplib.SMTP(instance.ip, port, timeout=IO_TIMEOUT_S) as smtp:
            assert smtp.noop()[0] == 250
            procs = _group_processes(pgid)
        assert procs[pgid] == ("master", 0)
        postfix_uid = pwd.getpwnam(POSTFIX_USER).pw_uid
        assert ("smtpd", postfix_uid) in procs.values()
    finally:
        instance.stop()
    # Then nothing of it is left.
    assert _group_processes(pgid) == {}
    assert not workdir.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((instance.ip, port), IO_TIMEOUT_S).close()
    instance.stop()  # idempotent


def test_taken_port_is_a_clear_error(one_leaf: tuple[bytes, bytes]) -> None:
    _require_postfix()
    chain, key = one_leaf
    with socket.create_server(("127.0.0.1", 0)) as squatter:
        port = squatter.getsockname()[1]
        instance = PostfixInstance("mx.harness.test", chain, key, ports={25: port})
        with pytest.raises(PostfixError, match=str(port)):
            instance.start()
    assert not instance.running


def test_settings_pass_through_to_main_cf(one_leaf: tuple[bytes, bytes]) -> None:
    # Given smtpd_tls_protocols that allows TLS 1.3 only,
    # When a client limited to TLS 1.2 upgrades, Then the handshake fails,
    # and a TLS 1.3 client succeeds.
    _require_postfix()
    chain, key = one_leaf
    settings = {"smtpd_tls_protocols": ">=TLSv1.3"}
    with PostfixInstance("mx.harness.test", chain, key, ports={25: 0}, settings=settings) as pf:
        assert "smtpd_tls_protocols = >=TLSv1.3" in (pf.config_dir / "main.cf").read_text()
        old = _unverified_context()
        old.maximum_version = ssl.TLSVersion.TLSv1_2
        with smtplib.SMTP(pf.ip, pf.port_map[25], timeout=IO_TIMEOUT_S) as smtp:
            with pytest.raises(ssl.SSLError):
                smtp.starttls(context=old)
        with smtplib.SMTP(pf.ip, pf.port_map[25], timeout=IO_TIMEOUT_S) as smtp:
            smtp.starttls(context=_unverified_context())
            assert isinstance(smtp.sock, ssl.SSLSocket)
            assert smtp.sock.version() == "TLSv1.3"


@pytest.mark.parametrize("ip", ["127.0.0.2", "::1"])
def test_other_loopback_addresses(one_leaf: tuple[bytes, bytes], ip: str) -> None:
    # 127.0.0.2 is not assigned to lo (only routed), ::1 needs IPv6: both must work.
    _require_postfix()
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        socket.create_server((ip, 0), family=family).close()
    except OSError as exc:
        pytest.skip(f"cannot listen on {ip} here: {exc}")
    chain, key = one_leaf
    with PostfixInstance("mx.harness.test", chain, key, ip=ip, ports={25: 0, 465: 0}) as pf:
        with smtplib.SMTP(ip, pf.port_map[25], timeout=IO_TIMEOUT_S) as smtp:
            assert smtp.ehlo()[0] == 250 and smtp.has_extn("starttls")
        with socket.create_connection((ip, pf.port_map[465]), IO_TIMEOUT_S) as raw:
            with _unverified_context().wrap_socket(raw) as tls:
                assert _read_reply(tls)[0] == 220


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ip": "192.0.2.1"}, "loopback"),
        ({"ports": {2525: 0}}, "subset"),
        ({"ports": {25: 0}, "service_settings": {465: {}}}, "not served"),
        ({"settings": {"bad name": "x"}}, "parameter name"),
        ({"settings": {"myhostname": "x\nmynetworks = 0.0.0.0/0"}}, "one line"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PostfixInstance("mx.harness.test", b"", b"", **kwargs)  # type: ignore[arg-type]
