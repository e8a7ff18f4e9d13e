"""The lab's IMAP, POP3 and SMTP AUTH servers behave as built, seen by the standard library.

Given the running lab, when Python's own ``imaplib``, ``poplib`` and
``smtplib`` (clients independent of mxtls) talk to mailbox.lab's user host
and mailbox-plain.lab's broken ones, then the greetings, capabilities,
upgrades and logins are the ones each row stands for, and every session is
bounded.
"""

from __future__ import annotations

import base64
import imaplib
import poplib
import smtplib
import ssl

import pytest

from mxtls.lab.world import Lab

from .lab_clients import CLIENT_TIMEOUT_S, RawSmtp, verifying_context

USER_HOST = "mail.mailbox.lab"
PLAIN_IMAP = "imap.mailbox-plain.lab"
PLAIN_POP = "pop.mailbox-plain.lab"


def where(world: Lab, host: str, port: int) -> tuple[str, int]:
    return world.address(host), world.port_map[port]


def tls(world: Lab) -> ssl.SSLContext:
    """The lab root and nothing else; the name is not checked (the clients dial an address)."""
    context = verifying_context(world.ca_file)
    context.check_hostname = False
    return context


def test_imap_offers_starttls_and_no_login_before_it(world: Lab) -> None:
    ip, port = where(world, USER_HOST, 143)
    with imaplib.IMAP4(ip, port, timeout=CLIENT_TIMEOUT_S) as imap:
        assert imap.welcome.startswith(b"* OK")
        assert {"STARTTLS", "LOGINDISABLED"} <= set(imap.capabilities)
        assert "AUTH=PLAIN" not in imap.capabilities
        typ, data = imap._simple_command("LOGIN", "demo", "nothing")  # refused in clear
        assert typ == "NO" and b"PRIVACYREQUIRED" in data[0]
        imap.starttls(ssl_context=tls(world))  # the lab certificate names the host
        assert "AUTH=PLAIN" in imap.capabilities and "STARTTLS" not in imap.capabilities
        assert "LOGINDISABLED" not in imap.capabilities
        assert imap.logout()[0] == "BYE"


def test_imaps_and_pop3s_are_tls_from_the_first_byte(world: Lab) -> None:
    ip, port = where(world, USER_HOST, 993)
    with imaplib.IMAP4_SSL(ip, port, ssl_context=tls(world), timeout=CLIENT_TIMEOUT_S) as imap:
        assert isinstance(imap.sock, ssl.SSLSocket) and imap.sock.version() is not None
        assert "AUTH=PLAIN" in imap.capabilities
    ip, port = where(world, USER_HOST, 995)
    pop = poplib.POP3_SSL(ip, port, context=tls(world), timeout=CLIENT_TIMEOUT_S)
    try:
        assert pop.getwelcome().startswith(b"+OK")
        assert {"USER", "SASL"} <= set(pop.capa()) and "STLS" not in pop.capa()
    finally:
        pop.quit()


def test_pop3_offers_stls_and_no_login_before_it(world: Lab) -> None:
    ip, port = where(world, USER_HOST, 110)
    pop = poplib.POP3(ip, port, timeout=CLIENT_TIMEOUT_S)
    try:
        caps = pop.capa()
        assert "STLS" in caps and "USER" not in caps and "SASL" not in caps
        with pytest.raises(poplib.error_proto, match="STLS"):
            pop.user("demo")
        pop.stls(context=tls(world))
        caps = pop.capa()
        assert "USER" in caps and caps["SASL"] == ["PLAIN"] and "STLS" not in caps
    finally:
        pop.quit()


def test_plain_rows_offer_logins_in_clear(world: Lab) -> None:
    ip, port = where(world, PLAIN_IMAP, 143)
    with imaplib.IMAP4(ip, port, timeout=CLIENT_TIMEOUT_S) as imap:
        assert "STARTTLS" in imap.capabilities and "AUTH=PLAIN" in imap.capabilities
        assert "LOGINDISABLED" not in imap.capabilities
    ip, port = where(world, PLAIN_POP, 110)
    pop = poplib.POP3(ip, port, timeout=CLIENT_TIMEOUT_S)
    try:
        caps = pop.capa()
        assert "USER" in caps and "STLS" not in caps
        with pytest.raises(poplib.error_proto):
            pop.stls(context=tls(world))
    finally:
        pop.quit()


def test_a_session_is_bounded(world: Lab) -> None:
    # Given a client that never stops sending commands, the IMAP server hangs up
    ip, port = where(world, USER_HOST, 143)
    with RawSmtp(ip, port) as raw:  # line-exact: the lab's replies are read as lines
        assert raw.read_line().startswith(b"* OK")
        for i in range(200):
            try:
                raw.send(f"t{i} NOOP")
                line = raw.read_line()
            except (ConnectionError, OSError):
                break
            if line.startswith(b"* BYE"):
                break
        else:
            pytest.fail("the server answered 200 commands on one connection")
        assert raw.at_eof()
        # and a line longer than the bound closes the connection too
    with RawSmtp(ip, port) as raw:
        raw.read_line()
        raw.send("t1 " + "x" * 5000)
        assert raw.at_eof(2.0)


def test_submission_authenticates_the_lab_account_inside_tls_only(world: Lab) -> None:
    account = world.account("mailbox.lab")
    assert account is not None and account.user == "demo@mailbox.lab"
    password = account.secret.reveal()
    assert world.account("good.lab") is None
    ip, port = where(world, USER_HOST, 587)
    with smtplib.SMTP(ip, port, timeout=CLIENT_TIMEOUT_S) as smtp:
        smtp.ehlo("tester.lab")
        assert not smtp.has_extn("auth")  # RFC 8314 §3.3: no AUTH before TLS
        code, _ = smtp.docmd("AUTH", "PLAIN " + _plain(account.user, password))
        assert code == 530
        smtp.starttls(context=tls(world))
        smtp.ehlo("tester.lab")
        assert smtp.esmtp_features["auth"].split() == ["SCRAM-SHA-256", "PLAIN", "LOGIN"]
        code, _ = smtp.docmd("AUTH", "PLAIN " + _plain(account.user, "wrong"))
        assert code == 535
        smtp.user, smtp.password = account.user, password
        assert smtp.auth("LOGIN", smtp.auth_login)[0] == 235
        assert smtp.docmd("AUTH", "PLAIN " + _plain(account.user, password))[0] == 503
    with smtplib.SMTP_SSL(
        ip, world.port_map[465], context=tls(world), timeout=CLIENT_TIMEOUT_S
    ) as smtps:
        smtps.ehlo("tester.lab")
        assert smtps.docmd("AUTH", "PLAIN " + _plain(account.user, password))[0] == 235


def test_submission_cancels_and_refuses_unknown_mechanisms(world: Lab) -> None:
    ip, port = where(world, USER_HOST, 465)
    with smtplib.SMTP_SSL(ip, port, context=tls(world), timeout=CLIENT_TIMEOUT_S) as smtps:
        smtps.ehlo("tester.lab")
        assert smtps.docmd("AUTH", "CRAM-MD5")[0] == 504
        code, challenge = smtps.docmd("AUTH", "LOGIN")
        assert code == 334 and base64.b64decode(challenge) == b"Username:"
        assert smtps.docmd("*")[0] == 501
        assert smtps.docmd("AUTH", "PLAIN not-base64!")[0] == 501
        assert smtps.noop()[0] == 250  # the session goes on


def _plain(user: str, password: str) -> str:
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()
