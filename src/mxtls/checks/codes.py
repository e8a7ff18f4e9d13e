"""The finding-code table: code -> severity and summary.

Generated from docs/findings.md and kept equal to it by
``tests/checks/test_codes.py``.  Checks create findings only through
:func:`make_finding`, so an unknown code is a bug caught at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from mxtls.models.findings import Finding, Severity


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """One row of the catalog."""

    code: str
    severity: Severity
    section: str
    summary: str


_S = Severity

CODES: dict[str, CodeInfo] = {
    "dns.error": CodeInfo(
        "dns.error",
        _S.ERROR,
        "DNS and MX discovery",
        "a lookup failed with SERVFAIL/timeout/refused (message names the query)",
    ),
    "mx.none": CodeInfo(
        "mx.none",
        _S.WARNING,
        "DNS and MX discovery",
        "no MX records; the implicit MX (the domain's own A/AAAA) is checked",
    ),
    "mx.null": CodeInfo(
        "mx.null",
        _S.INFO,
        "DNS and MX discovery",
        "null MX (RFC 7505, `0 .`): the domain accepts no mail; nothing else is probed",
    ),
    "mx.cname": CodeInfo(
        "mx.cname",
        _S.WARNING,
        "DNS and MX discovery",
        "an MX target is a CNAME (RFC 5321 violation)",
    ),
    "mx.ip_literal": CodeInfo(
        "mx.ip_literal", _S.ERROR, "DNS and MX discovery", "an MX target is an IP address literal"
    ),
    "mx.unresolvable": CodeInfo(
        "mx.unresolvable", _S.ERROR, "DNS and MX discovery", "an MX host has no A and no AAAA"
    ),
    "ptr.missing": CodeInfo(
        "ptr.missing", _S.WARNING, "DNS and MX discovery", "an MX address has no PTR record"
    ),
    "ptr.mismatch": CodeInfo(
        "ptr.mismatch",
        _S.INFO,
        "DNS and MX discovery",
        "an MX address's PTR name does not resolve back to that address (no FCrDNS)",
    ),
    "ptr.name_differs": CodeInfo(
        "ptr.name_differs",
        _S.INFO,
        "DNS and MX discovery",
        "the name a server gives in its banner or EHLO answer is neither its address's PTR name nor the MX host name",
    ),
    "submission.not_advertised": CodeInfo(
        "submission.not_advertised",
        _S.INFO,
        "DNS and MX discovery",
        "no RFC 6186 SRV record (`_submission._tcp`, `_submissions._tcp`) names the domain's submission servers",
    ),
    "smtp.connect_failed": CodeInfo(
        "smtp.connect_failed",
        _S.ERROR,
        "SMTP dialogue",
        "TCP connect refused, unreachable or timed out (message says which)",
    ),
    "smtp.banner_timeout": CodeInfo(
        "smtp.banner_timeout",
        _S.ERROR,
        "SMTP dialogue",
        "connected but no banner within the timeout",
    ),
    "smtp.banner_rejected": CodeInfo(
        "smtp.banner_rejected", _S.ERROR, "SMTP dialogue", "banner code is not 220 (e.g. 421/554)"
    ),
    "smtp.ehlo_rejected": CodeInfo(
        "smtp.ehlo_rejected",
        _S.WARNING,
        "SMTP dialogue",
        "EHLO refused or not answered; after a 5xx refusal HELO is tried and the message says whether it worked (no ESMTP, so no STARTTLS)",
    ),
    "smtp.rate_limited": CodeInfo(
        "smtp.rate_limited",
        _S.WARNING,
        "SMTP dialogue",
        'the server throttled the checker (421 / "too many connections" / closed early); mxtls backed off and says what it could not test',
    ),
    "smtp.auth_before_tls": CodeInfo(
        "smtp.auth_before_tls",
        _S.WARNING,
        "SMTP dialogue",
        "AUTH is advertised on a plaintext session",
    ),
    "smtp.port_closed": CodeInfo(
        "smtp.port_closed",
        _S.INFO,
        "SMTP dialogue",
        "a port other than an MX host's relay port 25 refuses connections (e.g. no submission service on an MX host)",
    ),
    "auth.failed": CodeInfo(
        "auth.failed",
        _S.ERROR,
        "SMTP dialogue",
        "`--auth` credentials were given and the server refused them over TLS (the message carries the reply, never the secret)",
    ),
    "auth.plaintext_accepted": CodeInfo(
        "auth.plaintext_accepted",
        _S.ERROR,
        "SMTP dialogue",
        "the server accepted AUTH on a session without TLS (only tried when the user asks for it)",
    ),
    "starttls.not_offered": CodeInfo(
        "starttls.not_offered", _S.ERROR, "SMTP dialogue", "port 25/587: STARTTLS absent from EHLO"
    ),
    "starttls.rejected": CodeInfo(
        "starttls.rejected",
        _S.ERROR,
        "SMTP dialogue",
        "STARTTLS command answered with anything but 220",
    ),
    "starttls.handshake_failed": CodeInfo(
        "starttls.handshake_failed",
        _S.ERROR,
        "SMTP dialogue",
        "TLS handshake after STARTTLS (or on 465) failed (message: alert/reason)",
    ),
    "starttls.injection": CodeInfo(
        "starttls.injection",
        _S.ERROR,
        "SMTP dialogue",
        "server processes plaintext commands pipelined after STARTTLS (CVE-2011-0411 class)",
    ),
    "starttls.inconsistent": CodeInfo(
        "starttls.inconsistent",
        _S.WARNING,
        "SMTP dialogue",
        "STARTTLS advertised on some connections or addresses of a host but not on others",
    ),
    "tls.implicit_failed": CodeInfo(
        "tls.implicit_failed",
        _S.ERROR,
        "SMTP dialogue",
        "port 465: no TLS handshake possible (e.g. plaintext SMTP on 465)",
    ),
    "imap.unavailable": CodeInfo(
        "imap.unavailable",
        _S.ERROR,
        "IMAP and POP3 (mailbox access)",
        "an IMAP server named to be checked gives no session: TCP connect failed, no greeting, or a `* BYE` greeting",
    ),
    "imap.auth_before_tls": CodeInfo(
        "imap.auth_before_tls",
        _S.WARNING,
        "IMAP and POP3 (mailbox access)",
        "the plaintext IMAP session offers a login: no LOGINDISABLED, or AUTH=PLAIN/LOGIN before STARTTLS",
    ),
    "pop3.unavailable": CodeInfo(
        "pop3.unavailable",
        _S.ERROR,
        "IMAP and POP3 (mailbox access)",
        "a POP3 server named to be checked gives no session: TCP connect failed, no greeting, or a `-ERR` greeting",
    ),
    "pop3.auth_before_tls": CodeInfo(
        "pop3.auth_before_tls",
        _S.WARNING,
        "IMAP and POP3 (mailbox access)",
        "the plaintext POP3 session offers a login: USER, or SASL PLAIN/LOGIN before STLS",
    ),
    "tls.protocol_obsolete": CodeInfo(
        "tls.protocol_obsolete", _S.ERROR, "TLS protocol and ciphers", "SSLv2 or SSLv3 accepted"
    ),
    "tls.protocol_legacy": CodeInfo(
        "tls.protocol_legacy", _S.WARNING, "TLS protocol and ciphers", "TLS 1.0 or 1.1 accepted"
    ),
    "tls.no_tls13": CodeInfo(
        "tls.no_tls13", _S.INFO, "TLS protocol and ciphers", "TLS 1.3 not supported"
    ),
    "tls.cipher_weak": CodeInfo(
        "tls.cipher_weak",
        _S.ERROR,
        "TLS protocol and ciphers",
        "NULL, anonymous, EXPORT, RC4, DES or 3DES suites accepted",
    ),
    "tls.no_forward_secrecy": CodeInfo(
        "tls.no_forward_secrecy",
        _S.WARNING,
        "TLS protocol and ciphers",
        "a non-(EC)DHE key exchange suite is accepted / negotiated by preference",
    ),
    "tls.dh_weak": CodeInfo(
        "tls.dh_weak",
        _S.WARNING,
        "TLS protocol and ciphers",
        "finite-field DH group smaller than 2048 bits",
    ),
    "tls.compression": CodeInfo(
        "tls.compression", _S.WARNING, "TLS protocol and ciphers", "TLS compression enabled (CRIME)"
    ),
    "tls.insecure_renegotiation": CodeInfo(
        "tls.insecure_renegotiation",
        _S.ERROR,
        "TLS protocol and ciphers",
        "no secure renegotiation (RFC 5746)",
    ),
    "tls.no_ems": CodeInfo(
        "tls.no_ems",
        _S.WARNING,
        "TLS protocol and ciphers",
        "TLS 1.2 offered without the Extended Master Secret extension (RFC 7627)",
    ),
    "vuln.heartbleed": CodeInfo(
        "vuln.heartbleed", _S.ERROR, "TLS protocol and ciphers", "CVE-2014-0160"
    ),
    "vuln.ccs_injection": CodeInfo(
        "vuln.ccs_injection", _S.ERROR, "TLS protocol and ciphers", "CVE-2014-0224"
    ),
    "vuln.robot": CodeInfo(
        "vuln.robot", _S.ERROR, "TLS protocol and ciphers", "ROBOT (Bleichenbacher oracle)"
    ),
    "cert.expired": CodeInfo("cert.expired", _S.ERROR, "Certificate", "notAfter in the past"),
    "cert.not_yet_valid": CodeInfo(
        "cert.not_yet_valid", _S.ERROR, "Certificate", "notBefore in the future"
    ),
    "cert.expiring_soon": CodeInfo(
        "cert.expiring_soon",
        _S.WARNING,
        "Certificate",
        "expires within the threshold (default 30 days; configurable)",
    ),
    "cert.hostname_mismatch": CodeInfo(
        "cert.hostname_mismatch",
        _S.ERROR,
        "Certificate",
        "MX hostname matches neither a SAN nor (absent SANs) the CN, per RFC 6125",
    ),
    "cert.self_signed": CodeInfo(
        "cert.self_signed", _S.ERROR, "Certificate", "leaf is self-signed"
    ),
    "cert.untrusted": CodeInfo(
        "cert.untrusted",
        _S.ERROR,
        "Certificate",
        "chain does not lead to a trusted root (unknown CA)",
    ),
    "cert.chain_incomplete": CodeInfo(
        "cert.chain_incomplete",
        _S.ERROR,
        "Certificate",
        "an intermediate is missing from what the server sends",
    ),
    "cert.chain_order": CodeInfo(
        "cert.chain_order",
        _S.WARNING,
        "Certificate",
        "chain sent out of order or with unrelated extra certs",
    ),
    "cert.key_weak": CodeInfo(
        "cert.key_weak", _S.ERROR, "Certificate", "RSA/DSA < 2048 bits, EC < 256 bits"
    ),
    "cert.signature_weak": CodeInfo(
        "cert.signature_weak",
        _S.ERROR,
        "Certificate",
        "MD5 or SHA-1 signature on the leaf or an intermediate",
    ),
    "cert.revoked": CodeInfo("cert.revoked", _S.ERROR, "Certificate", "OCSP/CRL says revoked"),
    "cert.sni_differs": CodeInfo(
        "cert.sni_differs",
        _S.INFO,
        "Certificate",
        "the certificate sent without SNI differs from the one sent with SNI",
    ),
    "cert.mismatch_across_ips": CodeInfo(
        "cert.mismatch_across_ips",
        _S.INFO,
        "Certificate",
        "IPs of the same MX host present different certificates",
    ),
    "cert.caa_missing": CodeInfo(
        "cert.caa_missing", _S.INFO, "Certificate", "the MX host's domain publishes no CAA record"
    ),
    "mta_sts.missing": CodeInfo(
        "mta_sts.missing", _S.INFO, "MTA-STS (RFC 8461)", "no `_mta-sts` TXT record"
    ),
    "mta_sts.txt_invalid": CodeInfo(
        "mta_sts.txt_invalid",
        _S.ERROR,
        "MTA-STS (RFC 8461)",
        "TXT present but not a valid `v=STSv1; id=...` record, or several STSv1 records",
    ),
    "mta_sts.policy_fetch_failed": CodeInfo(
        "mta_sts.policy_fetch_failed",
        _S.ERROR,
        "MTA-STS (RFC 8461)",
        "policy not fetchable over HTTPS (connect, TLS/cert, status ≠ 200, redirect, size > 64 KiB)",
    ),
    "mta_sts.policy_invalid": CodeInfo(
        "mta_sts.policy_invalid",
        _S.ERROR,
        "MTA-STS (RFC 8461)",
        "policy body does not parse (version, mode, mx, max_age rules; wrong media type)",
    ),
    "mta_sts.mode_testing": CodeInfo(
        "mta_sts.mode_testing", _S.WARNING, "MTA-STS (RFC 8461)", "policy mode is `testing`"
    ),
    "mta_sts.mode_none": CodeInfo(
        "mta_sts.mode_none", _S.WARNING, "MTA-STS (RFC 8461)", "policy mode is `none`"
    ),
    "mta_sts.mx_not_covered": CodeInfo(
        "mta_sts.mx_not_covered",
        _S.ERROR,
        "MTA-STS (RFC 8461)",
        "an MX host matches no `mx:` pattern of the policy",
    ),
    "mta_sts.max_age_short": CodeInfo(
        "mta_sts.max_age_short", _S.WARNING, "MTA-STS (RFC 8461)", "max_age below 1 day (86400)"
    ),
    "mta_sts.enforce_tls_failure": CodeInfo(
        "mta_sts.enforce_tls_failure",
        _S.ERROR,
        "MTA-STS (RFC 8461)",
        "mode `enforce` and an MX fails TLS or certificate validation: strict senders will not deliver",
    ),
    "tls_rpt.missing": CodeInfo(
        "tls_rpt.missing", _S.WARNING, "TLS-RPT (RFC 8460)", "no `_smtp._tls` TXT record"
    ),
    "tls_rpt.invalid": CodeInfo(
        "tls_rpt.invalid",
        _S.ERROR,
        "TLS-RPT (RFC 8460)",
        "record does not parse, several records, or an rua is neither mailto: nor https:",
    ),
    "dnssec.unsigned": CodeInfo(
        "dnssec.unsigned",
        _S.INFO,
        "DNSSEC and DANE (RFC 7672, RFC 7671)",
        "the domain's MX answer (or an MX host's zone) is not DNSSEC-secure: DANE cannot apply",
    ),
    "dnssec.bogus": CodeInfo(
        "dnssec.bogus",
        _S.ERROR,
        "DNSSEC and DANE (RFC 7672, RFC 7671)",
        "DNSSEC validation fails (bogus signatures / broken chain)",
    ),
    "dane.missing": CodeInfo(
        "dane.missing",
        _S.INFO,
        "DNSSEC and DANE (RFC 7672, RFC 7671)",
        "MX host zone is signed but has no TLSA for `_25._tcp.MXHOST`",
    ),
    "dane.mismatch": CodeInfo(
        "dane.mismatch",
        _S.ERROR,
        "DNSSEC and DANE (RFC 7672, RFC 7671)",
        "TLSA records exist and none matches the presented chain",
    ),
    "dane.unusable_record": CodeInfo(
        "dane.unusable_record",
        _S.WARNING,
        "DNSSEC and DANE (RFC 7672, RFC 7671)",
        "a TLSA record is unusable for SMTP (PKIX usages 0/1, unknown params, bad length)",
    ),
    "dane.insecure_tlsa": CodeInfo(
        "dane.insecure_tlsa",
        _S.WARNING,
        "DNSSEC and DANE (RFC 7672, RFC 7671)",
        "TLSA records are present but not DNSSEC-secure",
    ),
    "dane.no_rollover": CodeInfo(
        "dane.no_rollover",
        _S.INFO,
        "DNSSEC and DANE (RFC 7672, RFC 7671)",
        "only one usable TLSA record: no rollover scheme",
    ),
    "delivery.strict_senders_fail": CodeInfo(
        "delivery.strict_senders_fail",
        _S.ERROR,
        "Delivery verdict",
        "a sender that enforces the domain's own published policy (MTA-STS enforce, or DANE where the MX zone is signed) would refuse to deliver to at least one MX: the message says which MX, which policy and why",
    ),
    "delivery.unencrypted_path": CodeInfo(
        "delivery.unencrypted_path",
        _S.WARNING,
        "Delivery verdict",
        "at least one MX (a fallback one counts) can only be reached without TLS",
    ),
    "delivery.no_reachable_mx": CodeInfo(
        "delivery.no_reachable_mx",
        _S.ERROR,
        "Delivery verdict",
        "no MX host completes an SMTP session on port 25 (refused, timed out, rejected banner, closed early): nobody can deliver mail to the domain",
    ),
}


def make_finding(code: str, target: str, message: str) -> Finding:
    """Build a finding with the catalog severity of ``code``.

    Raises:
        KeyError: ``code`` is not in the catalog (a bug in a check).
    """
    info = CODES[code]
    return Finding(code=code, severity=info.severity, target=target, message=message)
