"""The Dovecot harness: a private instance that greets as itself and leaves nothing behind."""

from __future__ import annotations

import imaplib
import poplib
import socket
import ssl

import pytest

from mxtls.lab.ca import LabCA
from mxtls.testing.daemon import group_members
from mxtls.testing.dovecot import DovecotInstance
from tests.peers import require_peer

HOST = "imap.harness.test"
IP = "127.0.0.2"  # not the client's address: Dovecot then applies its pre-TLS policy


def _require_dovecot() -> None:
    require_peer("Dovecot", *DovecotInstance.available())


def test_available_reports_a_reason_or_nothing() -> None:
    ok, reason = DovecotInstance.available()
    assert (reason == "") == ok


def test_serves_imap_pop3_and_sasl_then_leaves_nothing() -> None:
    _require_dovecot()
    ca = LabCA(name="mxtls dovecot harness root")
    issued = ca.issue([HOST])
    instance = DovecotInstance(
        HOST, issued.chain_pem(), issued.key_pem(), ip=IP, users={"alice": "s3cret"}, auth_port=True
    )
    with instance:
        pgid, workdir, ports = instance.pid, instance.workdir, instance.port_map
        assert pgid is not None and sorted(ports) == [110, 143, 993, 995]
        context = ssl.create_default_context(cadata=ca.root_pem().decode())
        context.check_hostname = False  # the harness name is not the address
        # IMAP: LOGINDISABLED in clear, a login works inside TLS
        with imaplib.IMAP4(IP, ports[143], timeout=5) as imap:
            assert instance.greeting_token in imap.welcome.decode()
            assert "LOGINDISABLED" in imap.capabilities
            imap.starttls(context)
            assert imap.login("alice", "s3cret")[0] == "OK"
        # POP3 on implicit TLS
        pop = poplib.POP3_SSL(IP, ports[995], context=context, timeout=5)
        try:
            assert pop.user("alice").startswith(b"+OK")
            assert pop.pass_("s3cret").startswith(b"+OK")
            pop.quit()
        finally:
            pop.close()
        socket.create_connection(instance.auth_address, 2).close()
        assert group_members(pgid)
    assert group_members(pgid) == []
    assert not workdir.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((IP, ports[143]), 2).close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ip": "192.0.2.1"}, "loopback"),
        ({"ports": {25: 0}}, "subset"),
        ({"users": {"bad name": "x"}}, "account"),
        ({"users": {"alice": "a:b"}}, "account"),
        ({"settings": {"ssl": "yes\nlisten = *"}}, "setting"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DovecotInstance(HOST, b"", b"", **kwargs)  # type: ignore[arg-type]
