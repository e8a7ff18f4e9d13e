"""mailbox.lab end to end: what mail users touch, through the CLI and the demo.

Given the lab's users' host (submission with SMTP AUTH for a lab account,
IMAP and POP3 with STARTTLS and implicit TLS, all named by RFC 6186 SRV
records in a signed zone with TLSA records), when mxtls checks the domain
with the account's credentials, then it logs in inside TLS, sees AUTH
refused before TLS, judges TLSA on the IMAP port by RFC 6698's rules (PKIX
usages count there) and shows all of it in every format without ever
printing the password.
"""

from __future__ import annotations

import json

from mxtls.config import CheckConfig
from mxtls.engine.run import check_domain
from mxtls.engine.servers import check_servers
from mxtls.lab.world import Lab
from mxtls.models.report import Report
from tests.e2e.cli_run import mxtls, secret_forms

RUN_TIMEOUT_S = 120  # a check with every door of a host, and the demo
USER_HOST = "mail.mailbox.lab"


def test_check_logs_in_and_the_secret_appears_nowhere(lab: Lab, lab_cli_flags: list[str]) -> None:
    account = lab.account("mailbox.lab")
    assert account is not None
    env = {"MXTLS_LAB_PASSWORD": account.secret.reveal()}
    base = [
        "check",
        "mailbox.lab",
        *lab_cli_flags,  # every logical port mapped: 25, 465, 587, 143, 993, 110, 995, 443
        "--auth-user",
        account.user,
        "--auth-password-env",
        "MXTLS_LAB_PASSWORD",
        "--auth-check-plaintext",
    ]
    outputs: list[str] = []
    for fmt in (
        ["--json"],
        ["--transcript", "--verbose"],
        ["--format", "html"],
        ["--format", "markdown"],
        ["--format", "sarif"],
    ):
        proc = mxtls(*base, *fmt, env=env, timeout=RUN_TIMEOUT_S)
        assert proc.returncode == 0, proc.stderr[-2000:]
        outputs += [proc.stdout, proc.stderr]
    doc = json.loads(outputs[0])
    [sub_host] = doc["submission"]["hosts"]
    eps = {ep["port"]: ep for ep in sub_host["endpoints"]}
    for port in (465, 587):
        auth = eps[port]["auth"]
        assert (auth["outcome"], auth["mechanism"], auth["in_tls"]) == (
            "accepted",
            "SCRAM-SHA-256",
            True,
        )
        assert auth["server_verified"] is True
    assert eps[587]["auth_plaintext"]["reply_code"] == 530  # refused before TLS
    assert not [f for f in doc["findings"] if f["code"].startswith("auth.")]
    [box_host] = doc["mailbox"]["hosts"]
    protocols = {(ep["port"], ep["protocol"], ep["tls_mode"]) for ep in box_host["endpoints"]}
    assert protocols == {
        (143, "imap", "starttls"),
        (993, "imap", "implicit"),
        (110, "pop3", "starttls"),
        (995, "pop3", "implicit"),
    }
    assert all(ep["handshake"] for ep in box_host["endpoints"])
    text = " ".join(outputs[2].split())
    assert "AUTH over TLS: SCRAM-SHA-256 accepted, 235" in text
    assert "AUTH SCRAM-SHA-256 <redacted>" in text
    assert "Mailbox access" in text and "_imaps._tcp" in text
    for out in (outputs[4], outputs[6]):  # HTML and Markdown name the SRV hosts and AUTH
        assert USER_HOST in out and "SCRAM-SHA-256 accepted" in out
    for out in outputs:
        for secret in secret_forms(account.user, account.secret.reveal()):
            assert secret not in out


async def test_tlsa_on_the_imap_port_follows_rfc_6698(lab: Lab, lab_cfg: CheckConfig) -> None:
    # Given mailbox.lab: secure SRV records naming mail.mailbox.lab, whose
    # _993._tcp TLSA records are PKIX-EE (1 1 1) and PKIX-TA (0 1 1)
    report = await check_domain("mailbox.lab", lab_cfg)
    # When the TLSA records of the SRV targets are judged
    assert report.dane is not None
    lookups = {(lk.host, lk.port): lk for lk in report.dane.lookups}
    # Then they were looked up for the ports the secure SRV records name,
    # (none for 25 on the users' host: it is no MX), and
    assert {p for h, p in lookups if h == USER_HOST} == {465, 587, 143, 993, 110, 995}
    assert sorted(r.split()[0] for r in lookups[(USER_HOST, 993)].records) == ["0", "1"]
    # the PKIX usages authenticate the IMAPS endpoint: usable there, on top of
    # PKIX validation against the run's trust store, each a pin of its own
    [imaps] = [r for r in report.dane.endpoints if (r.host, r.port) == (USER_HOST, 993)]
    assert imaps.authenticated and all(o.usable and o.authenticated for o in imaps.outcomes)
    [smtps] = [r for r in report.dane.endpoints if (r.host, r.port) == (USER_HOST, 465)]
    assert smtps.authenticated
    codes = {f.code for f in report.findings}
    assert not {c for c in codes if c.startswith(("dane.", "dnssec."))}, codes
    assert report.submission is not None and report.mailbox is not None
    srv = {(r.qname, r.rdtype): r.status for r in report.mailbox.dnssec}
    assert srv[("_imaps._tcp.mailbox.lab", "SRV")] == "secure"
    assert srv[(USER_HOST, "A")] == "secure"


async def test_the_same_pkix_records_are_unusable_for_smtp_relay(
    lab_reports: dict[str, Report],
) -> None:
    # dane-pkix.lab publishes PKIX-EE and PKIX-TA at _25._tcp: RFC 7672 §3.1.3
    report = lab_reports["dane-pkix.lab"]
    unusable = [f for f in report.findings if f.code == "dane.unusable_record"]
    assert len(unusable) == 2 and all("_25._tcp" in f.message for f in unusable)


async def test_a_tlsa_record_for_another_key_on_imaps_is_a_mismatch(
    lab_reports: dict[str, Report],
) -> None:
    report = lab_reports["mailbox-plain.lab"]
    [mismatch] = [f for f in report.findings if f.code == "dane.mismatch"]
    assert mismatch.target.startswith("imap.mailbox-plain.lab[") and mismatch.target.endswith(
        ":993"
    )
    codes = {(f.code, f.target.rsplit(":", 1)[-1]) for f in report.findings}
    assert ("imap.auth_before_tls", "143") in codes
    assert ("pop3.auth_before_tls", "110") in codes and ("starttls.not_offered", "110") in codes
    assert ("pop3.unavailable", "995") in codes


async def test_a_named_imap_server_gets_its_port_s_tlsa_only(
    lab: Lab, lab_cfg: CheckConfig
) -> None:
    # mxtls server mail.mailbox.lab:993 looks up _993._tcp only (no relay
    # lookup for a server that is no MX, so no dane.missing for port 25)
    report = await check_servers([f"{USER_HOST}:993"], lab_cfg)
    assert report.dane is not None
    assert [(lk.host, lk.port) for lk in report.dane.lookups] == [(USER_HOST, 993)]
    [result] = report.dane.endpoints
    assert result.authenticated
    assert not [f for f in report.findings if f.code.startswith("dane.")]


def test_demo_shows_the_users_host_and_logs_in() -> None:
    proc = mxtls("demo", "mailbox.lab", timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = " ".join(proc.stdout.split())
    assert "mailbox.lab — 1 MX host, 1 submission host, 1 mailbox host" in text
    assert "AUTH over TLS: SCRAM-SHA-256 accepted" in text
    assert "AUTH before TLS (throw-away credentials): PLAIN answered 530" in text
    assert "Mailbox access" in text and "Traceback" not in proc.stdout + proc.stderr
    listing = mxtls("demo", "--list")
    assert "logs in: SMTP AUTH as demo@mailbox.lab" in " ".join(listing.stdout.split())
