"""What to do about each finding: a one-line hint and a full explanation per code.

The catalog is data, shared by every front end: the terminal report shows
:func:`hint` under each warning and error, ``mxtls explain CODE`` prints
:func:`explain`, and the HTML/Markdown/SARIF reports and the web page read
the same entries.  Every code of :data:`mxtls.checks.codes.CODES` has an
entry (a test keeps it so); a few codes of the contract that other parts of
mxtls emit are covered ahead of time.

Each entry says what the finding means, why it matters for mail, how to fix
it on Postfix, Exim, Microsoft Exchange and at a hosted provider, and which
standard says so.  Commands and parameter names are the common ones of
current versions (Postfix 3.x, Exim 4.9x, Exchange Server 2019 and Exchange
Online); the hint is the shortest useful instruction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

PLATFORMS = ("Postfix", "Exim", "Microsoft Exchange", "Hosted provider")


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything mxtls can say about one finding code.

    Attributes:
        code: the finding code.
        hint: one line, imperative: what to do.
        meaning: what the finding says about the server or the domain.
        why: why it matters for the mail (who fails, what leaks).
        fixes: (platform, how) for each of :data:`PLATFORMS`, in that order.
        rfcs: the standards behind the rule (``"RFC 3207 §4"``).
    """

    code: str
    hint: str
    meaning: str
    why: str
    fixes: tuple[tuple[str, str], ...]
    rfcs: tuple[str, ...]


def _e(
    code: str,
    hint: str,
    meaning: str,
    why: str,
    fixes: tuple[str, str, str, str],
    *rfcs: str,
) -> Explanation:
    return Explanation(code, hint, meaning, why, tuple(zip(PLATFORMS, fixes, strict=True)), rfcs)


# Fixes that are the same whatever runs the mail server.
_DNS = "Not an MTA setting: change the record at your DNS host (or in your zone file)."
_HOSTED_DNS = "Change it in your DNS host's panel; providers document the exact records."
_OPENSSL = "Upgrade the TLS library (OpenSSL) and restart the MTA; old builds are the cause."
_PF_CERT = (
    "Point smtpd_tls_chain_files at a file with the key, the leaf and its intermediates "
    "(renewed by your ACME client), then `postfix reload`."
)
_EXIM_CERT = (
    "Set tls_certificate to the leaf followed by its intermediates and tls_privatekey to "
    "the key (renewed by your ACME client); restart Exim."
)
_EX_CERT = (
    "Import the renewed certificate, then `Enable-ExchangeCertificate -Thumbprint <t> "
    "-Services SMTP` and set the receive connector's TlsCertificateName."
)
_HOSTED_CERT = (
    "The provider manages the MX certificate: check that your MX records use the "
    "provider's names, then open a ticket."
)
_STS_FIX = (
    "Not an MTA setting: publish `_mta-sts` TXT and serve the policy at "
    "https://mta-sts.DOMAIN/.well-known/mta-sts.txt (`mxtls generate mta-sts DOMAIN`)."
)
_HOSTED_STS = (
    "Host the policy file on any HTTPS host for mta-sts.DOMAIN with a valid certificate; "
    "many providers document MTA-STS for their MX names."
)
_TLSA_FIX = (
    "Publish `_25._tcp.MXHOST` TLSA records for the live certificate in the signed zone "
    "(`mxtls generate tlsa MXHOST`)."
)

_ENTRIES = (
    # -- DNS and MX discovery ------------------------------------------------------
    _e(
        "dns.error",
        "Fix the failing lookup (often broken DNSSEC or a dead name server), then re-check.",
        "A DNS lookup that delivery depends on failed with SERVFAIL, REFUSED or a timeout; "
        "the message names the query.",
        "Senders resolve the same names; a failing lookup makes them defer the mail and, "
        "after some days, bounce it.",
        (
            _DNS + " `dig +dnssec +cd NAME TYPE` tells a DNSSEC failure from a dead server.",
            _DNS + " `dig +dnssec +cd NAME TYPE` tells a DNSSEC failure from a dead server.",
            _DNS + " `Resolve-DnsName NAME -Type TYPE -DnssecOk` shows the failure.",
            "Check the DNS host's status; with DNSSEC, the DS at the registrar must match "
            "the zone's keys.",
        ),
        "RFC 1035",
        "RFC 4035 §5.5",
    ),
    _e(
        "mx.none",
        "Publish MX records for the domain, even when the mail server is the domain itself.",
        "The domain has no MX records; senders fall back to its own A/AAAA (the implicit MX).",
        "The implicit MX works but is fragile: a web host on the same address receives the "
        "mail, and MTA-STS and DANE expect real MX records.",
        (_DNS, _DNS, _DNS, _HOSTED_DNS + " Use the MX names the mail provider gives."),
        "RFC 5321 §5.1",
    ),
    _e(
        "mx.null",
        "Nothing to do if the domain sends and receives no mail; otherwise remove `MX 0 .`.",
        "The domain publishes a null MX (`0 .`): it declares that it accepts no mail.",
        "Senders bounce mail to the domain at once instead of queueing it.",
        (_DNS, _DNS, _DNS, _HOSTED_DNS),
        "RFC 7505 §3",
    ),
    _e(
        "mx.cname",
        "Point the MX record at the host's canonical name (its A/AAAA), not at a CNAME.",
        "An MX target is an alias (CNAME) instead of a host name with addresses.",
        "RFC 5321 forbids it; some senders refuse it, and DANE looks TLSA records up under "
        "the wrong name.",
        (_DNS, _DNS, _DNS, _HOSTED_DNS),
        "RFC 5321 §5.1",
        "RFC 2181 §10.3",
        "RFC 7672 §2.2.2",
    ),
    _e(
        "mx.ip_literal",
        "Replace the address in the MX record by a host name that has A/AAAA records.",
        "An MX target is written as an IP address, which DNS reads as a (non-existent) name.",
        "Senders look the 'name' up, find nothing and cannot deliver to that MX.",
        (_DNS, _DNS, _DNS, _HOSTED_DNS),
        "RFC 5321 §5.1",
        "RFC 1035 §3.3.9",
    ),
    _e(
        "mx.unresolvable",
        "Give the MX host A and/or AAAA records, or remove it from the MX set.",
        "An MX host name has neither an A nor an AAAA record (or does not exist).",
        "Senders skip that MX; if it is the only one, nobody can deliver.",
        (_DNS, _DNS, _DNS, _HOSTED_DNS),
        "RFC 5321 §5.1",
    ),
    _e(
        "ptr.missing",
        "Ask whoever runs the address (hosting or ISP) for a PTR record naming the MX host.",
        "An MX address has no reverse DNS (PTR) record.",
        "The MX also sends mail in many setups; receivers distrust senders without PTR.",
        (
            "Set the PTR at the address owner; make it match myhostname.",
            "Set the PTR at the address owner; make it match primary_hostname.",
            "Set the PTR at the address owner; make it match the send connector's FQDN.",
            "The provider manages PTR for its addresses.",
        ),
        "RFC 1912 §2.1",
    ),
    _e(
        "ptr.mismatch",
        "Make the PTR name resolve back to the same address (forward-confirmed reverse DNS).",
        "An MX address's PTR name does not resolve back to that address.",
        "Receivers that check FCrDNS treat mail from such an address as suspicious.",
        (_DNS, _DNS, _DNS, "The provider manages PTR for its addresses."),
        "RFC 1912 §2.1",
    ),
    _e(
        "ptr.name_differs",
        "Make the banner/EHLO name, the PTR name and the MX name agree (or know why not).",
        "The server names itself in its banner or EHLO answer with a name that is neither the "
        "PTR name of its address nor the MX host name.",
        "Receivers compare the greeting name with reverse DNS when this host sends mail; a "
        "mismatch is a spam signal, and it often shows a forgotten host name setting.",
        (
            "Set myhostname (and smtpd_banner) to the PTR name.",
            "Set primary_hostname (and smtp_banner) to the PTR name.",
            "Set the receive connector's FQDN to the PTR name.",
            "The provider names its servers; nothing to change.",
        ),
        "RFC 5321 §4.1.3",
        "RFC 1912 §2.1",
    ),
    _e(
        "submission.not_advertised",
        "Publish `_submissions._tcp` and `_submission._tcp` SRV records if users submit mail.",
        "No RFC 6186 SRV record names the domain's submission servers (mail clients' "
        "outgoing server).",
        "Mail clients must then be told the server by hand or guess it; nothing breaks for "
        "mail sent to the domain.",
        (
            _DNS + " e.g. `_submissions._tcp.DOMAIN. SRV 0 1 465 smtp.DOMAIN.`",
            _DNS + " e.g. `_submissions._tcp.DOMAIN. SRV 0 1 465 smtp.DOMAIN.`",
            _DNS + " Exchange clients use Autodiscover; SRV helps other clients.",
            _HOSTED_DNS + " Providers publish the submission host to use.",
        ),
        "RFC 6186 §3",
        "RFC 8314 §5.1",
    ),
    # -- SMTP dialogue ---------------------------------------------------------------
    _e(
        "smtp.connect_failed",
        "Open TCP port 25 to the MX (firewall, listener, address) so senders can connect.",
        "The TCP connection was refused, timed out or the network was unreachable.",
        "Nothing reaches a server that cannot be connected to; senders queue and retry, then "
        "bounce.",
        (
            "Check inet_interfaces = all and the `smtp inet` line in master.cf; open port 25.",
            "Check daemon_smtp_ports and local_interfaces; open port 25 in the firewall.",
            "Check the receive connector's bindings (0.0.0.0:25) and the Windows firewall.",
            "Check that the MX records point at the provider's hosts.",
        ),
        "RFC 5321 §4.5.4.1",
    ),
    _e(
        "smtp.banner_timeout",
        "Find out why the server accepts TCP but never greets (overload, tarpit, filter).",
        "The TCP connection opened, but no SMTP greeting came within the time limit.",
        "Senders wait, time out and retry later; mail is delayed and may bounce.",
        (
            "Check postscreen (postscreen_greet_wait, DNSBL delays) and process limits.",
            "Check smtp_accept_max and a slow acl_smtp_connect (DNS lookups).",
            "Check the transport service and anything in front (antispam appliance).",
            "Report it to the provider with the time and the address.",
        ),
        "RFC 5321 §4.5.3.2.1",
    ),
    _e(
        "smtp.banner_rejected",
        "Make the MX greet with 220; a 554 or 421 greeting refuses every sender.",
        "The server greeted with a code other than 220 (e.g. 554 'no service', 421 'closing').",
        "A sender cannot send a single command after a non-220 greeting.",
        (
            "Check smtpd_client_restrictions, postscreen_access_list and master.cf.",
            "Check acl_smtp_connect and smtp_banner.",
            "Check the receive connector's RemoteIPRanges and permission groups.",
            "Report it to the provider.",
        ),
        "RFC 5321 §3.1",
        "RFC 5321 §4.2.3",
    ),
    _e(
        "smtp.ehlo_rejected",
        "Let the MX answer EHLO with 250 and its extensions (needed for STARTTLS).",
        "EHLO was refused or never answered; HELO is tried after a 5xx refusal.",
        "Without EHLO there are no extensions, so no STARTTLS: mail goes in clear, or not at all.",
        (
            "Check smtpd_helo_restrictions and smtpd_discard_ehlo_keywords.",
            "Check acl_smtp_helo and helo_verify_hosts.",
            "Check the receive connector's EHLO settings and any filter in front.",
            "Report it to the provider.",
        ),
        "RFC 5321 §4.1.1.1",
        "RFC 5321 §4.1.4",
    ),
    _e(
        "smtp.rate_limited",
        "Nothing to fix if senders are not throttled; re-check later or with --max-conns 1.",
        "The server throttled the checker (421, 'too many connections', an early close); the "
        "message says what could not be tested.",
        "It protects the server, but too tight a limit also delays real senders.",
        (
            "anvil limits: smtpd_client_connection_count_limit, "
            "smtpd_client_connection_rate_limit.",
            "smtp_accept_max_per_host and ratelimit ACLs.",
            "Set-ReceiveConnector -MaxInboundConnectionPerSource.",
            "The provider sets these limits.",
        ),
        "RFC 5321 §3.8",
        "RFC 5321 §4.5.4.1",
    ),
    _e(
        "smtp.auth_before_tls",
        "Offer AUTH only after STARTTLS, so passwords never cross the network in clear.",
        "The server advertises AUTH on a session that is not encrypted yet.",
        "A client (or an attacker who strips STARTTLS) may send credentials in clear.",
        (
            "smtpd_tls_auth_only = yes (and smtpd_sasl_auth_enable only on submission).",
            "auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}",
            "Client Frontend connector: AuthMechanism Tls, BasicAuth, BasicAuthRequireTLS.",
            "Use the provider's submission host (TLS on 465 or 587).",
        ),
        "RFC 4954 §4",
        "RFC 8314 §3",
    ),
    _e(
        "smtp.port_closed",
        "Nothing to do unless you mean to offer submission on that host and port.",
        "A port other than an MX host's relay port 25 refuses connections (or is filtered).",
        "MX hosts receive mail on port 25 only; submission (465/587) is usually another host.",
        (
            "If wanted: enable `submission`/`submissions` in master.cf.",
            "If wanted: daemon_smtp_ports = 25 : 465 : 587, tls_on_connect_ports = 465.",
            "If wanted: the Client Frontend connector listens on 587.",
            "Use the submission host the provider documents.",
        ),
        "RFC 6409 §3.1",
        "RFC 8314 §3.3",
    ),
    _e(
        "auth.failed",
        "Check the credentials given with --auth and the mechanisms the server offers.",
        "The server refused the credentials given with --auth over TLS.",
        "Users with the same settings cannot send mail.",
        (
            "Check smtpd_sasl_type (dovecot/cyrus) and its logs.",
            "Check the authenticators and their server_condition.",
            "Check the account and the connector's AuthMechanism.",
            "Check the account and app passwords at the provider.",
        ),
        "RFC 4954 §4",
    ),
    _e(
        "auth.plaintext_accepted",
        "Refuse AUTH on sessions without TLS; change every password that crossed in clear.",
        "The server accepted AUTH on a session without TLS.",
        "Passwords travel in clear and can be read by anyone on the path.",
        (
            "smtpd_tls_auth_only = yes.",
            "auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}",
            "AuthMechanism BasicAuthRequireTLS on every client connector.",
            "Use only the provider's TLS submission ports.",
        ),
        "RFC 4954 §4",
        "RFC 8314 §3",
    ),
    _e(
        "imap.unavailable",
        "Check that the IMAP service runs and listens on this address and port.",
        "The IMAP server gave no session: the connection failed, no greeting came, or it "
        "greeted with BYE.",
        "Mail clients cannot read mail there; they may fall back to another port or give up.",
        (
            "Not a Postfix setting: check the IMAP server (e.g. Dovecot's imap-login listeners).",
            "Not an Exim setting: check the IMAP server (e.g. Dovecot's imap-login listeners).",
            "Check the IMAP4 service and its bindings (Set-ImapSettings).",
            "Use the IMAP host and port the provider documents.",
        ),
        "RFC 9051 §7.1",
        "RFC 8314 §3.3",
    ),
    _e(
        "imap.auth_before_tls",
        "Refuse logins before STARTTLS (advertise LOGINDISABLED), or offer only port 993.",
        "The plaintext IMAP session offers LOGIN or AUTH=PLAIN/LOGIN before STARTTLS.",
        "A client that logs in before upgrading sends the password in clear.",
        (
            "Dovecot: disable_plaintext_auth = yes (ssl = required).",
            "Dovecot: disable_plaintext_auth = yes (ssl = required).",
            "Set-ImapSettings -LoginType SecureLogin.",
            "Use the provider's TLS ports only (993).",
        ),
        "RFC 9051 §6.2.3",
        "RFC 2595 §3.2",
        "RFC 8314 §4.1",
    ),
    _e(
        "pop3.unavailable",
        "Check that the POP3 service runs and listens on this address and port.",
        "The POP3 server gave no session: the connection failed, no greeting came, or it "
        "greeted with -ERR.",
        "Mail clients cannot fetch mail there.",
        (
            "Not a Postfix setting: check the POP3 server (e.g. Dovecot's pop3-login listeners).",
            "Not an Exim setting: check the POP3 server (e.g. Dovecot's pop3-login listeners).",
            "Check the POP3 service and its bindings (Set-PopSettings).",
            "Use the POP3 host and port the provider documents.",
        ),
        "RFC 1939 §4",
        "RFC 8314 §3.3",
    ),
    _e(
        "pop3.auth_before_tls",
        "Refuse USER/PASS and plaintext SASL before STLS, or offer only port 995.",
        "The plaintext POP3 session offers USER or SASL PLAIN/LOGIN before STLS.",
        "A client that logs in before upgrading sends the password in clear.",
        (
            "Dovecot: disable_plaintext_auth = yes (ssl = required).",
            "Dovecot: disable_plaintext_auth = yes (ssl = required).",
            "Set-PopSettings -LoginType SecureLogin.",
            "Use the provider's TLS ports only (995).",
        ),
        "RFC 2595 §4",
        "RFC 2449 §6.8",
        "RFC 8314 §4.1",
    ),
    _e(
        "starttls.not_offered",
        "Configure a certificate and enable STARTTLS on the MX.",
        "The EHLO answer does not list STARTTLS: the server cannot encrypt the session.",
        "All mail to this host travels in clear, readable and changeable on the path.",
        (
            "smtpd_tls_security_level = may and smtpd_tls_chain_files = /path/key-and-chain.pem.",
            "tls_certificate, tls_privatekey and tls_advertise_hosts = *.",
            "Enable-ExchangeCertificate -Services SMTP; receive connector AuthMechanism Tls.",
            "Report it to the provider; every major provider offers STARTTLS.",
        ),
        "RFC 3207 §4",
        "RFC 8314 §1",
    ),
    _e(
        "starttls.rejected",
        "Make STARTTLS answer 220: usually an unreadable certificate or key on the server.",
        "STARTTLS is offered, but the command is answered with something else than 220.",
        "Senders fall back to clear text (opportunistic) or do not deliver (strict).",
        (
            "Look for 'cannot load certificate' in the log; check file permissions.",
            "Look for TLS errors in mainlog/paniclog; check tls_certificate permissions.",
            "Check the certificate's private key and its SMTP service binding.",
            "Report it to the provider.",
        ),
        "RFC 3207 §4",
    ),
    _e(
        "starttls.handshake_failed",
        "Fix the TLS setup so a current client completes the handshake (see the alert).",
        "After 220 to STARTTLS, the TLS handshake failed or stalled.",
        "Opportunistic senders retry in clear; strict senders do not deliver.",
        (
            "Check smtpd_tls_protocols/smtpd_tls_ciphers and that key and certificate match.",
            "Check tls_require_ciphers and openssl_options, and the key/certificate pair.",
            "Check the Schannel protocol and cipher settings and the certificate's key.",
            "Report it to the provider.",
        ),
        "RFC 3207 §4",
        "RFC 8446",
    ),
    _e(
        "starttls.injection",
        "Upgrade the MTA: it answers commands injected before the TLS handshake.",
        "The server processed plaintext commands pipelined after STARTTLS inside the TLS "
        "session (CVE-2011-0411 class).",
        "An attacker on the path can inject commands that the server runs as if encrypted.",
        (
            "Upgrade Postfix (fixed since 2.8 / 2.7.3).",
            "Upgrade Exim to a supported release.",
            "Apply current cumulative updates; check appliances in front.",
            "Report it to the provider urgently.",
        ),
        "RFC 3207 §4.2",
        "CVE-2011-0411",
    ),
    _e(
        "starttls.inconsistent",
        "Give every server (and every node behind the load balancer) the same TLS setup.",
        "STARTTLS is offered on some connections or addresses of the host but not on others.",
        "Mail goes in clear at random, and strict senders fail intermittently.",
        (
            "Compare main.cf (smtpd_tls_*) on every node; check smtpd_discard_ehlo_keywords.",
            "Compare the TLS settings on every node.",
            "Compare the receive connectors and certificates on every server.",
            "Report the addresses to the provider.",
        ),
        "RFC 3207 §4",
    ),
    _e(
        "tls.implicit_failed",
        "Speak TLS from the first byte on port 465, or close the port.",
        "No TLS handshake was possible on an implicit-TLS port (often plain SMTP on 465).",
        "Clients of 'submissions' expect TLS at once and cannot use the port.",
        (
            "master.cf `submissions inet ... smtpd -o smtpd_tls_wrappermode=yes`.",
            "tls_on_connect_ports = 465.",
            "Exchange has no implicit TLS: close 465 and offer 587 with STARTTLS.",
            "Use the provider's documented submission port.",
        ),
        "RFC 8314 §3.3",
    ),
    # -- TLS protocol and ciphers -----------------------------------------------------
    _e(
        "tls.protocol_obsolete",
        "Disable SSLv2 and SSLv3.",
        "The server accepts SSLv2 or SSLv3.",
        "Both are broken (DROWN, POODLE); no current client needs them.",
        (
            "smtpd_tls_protocols = >=TLSv1 (or !SSLv2, !SSLv3).",
            "openssl_options = +no_sslv2 +no_sslv3.",
            "Disable SSL 2.0/3.0 in Schannel (registry or IIS Crypto), then restart.",
            "Report it to the provider.",
        ),
        "RFC 6176",
        "RFC 7568",
    ),
    _e(
        "tls.protocol_legacy",
        "Disable TLS 1.0 and 1.1 once no sender you care about needs them.",
        "The server accepts TLS 1.0 or TLS 1.1.",
        "Both are deprecated; they lack modern ciphers and invite downgrade attacks.",
        (
            "smtpd_tls_protocols = >=TLSv1.2.",
            "openssl_options = +no_tlsv1 +no_tlsv1_1.",
            "Disable TLS 1.0/1.1 in Schannel (Exchange 2019 CU docs), then restart.",
            "Report it to the provider.",
        ),
        "RFC 8996",
    ),
    _e(
        "tls.no_tls13",
        "Enable TLS 1.3 (a current OpenSSL and MTA give it by default).",
        "The server does not speak TLS 1.3.",
        "TLS 1.3 is faster and removes weak options; TLS 1.2 alone is still acceptable.",
        (
            "Upgrade to OpenSSL ≥ 1.1.1; do not cap smtpd_tls_protocols.",
            "Build Exim against OpenSSL ≥ 1.1.1 or GnuTLS ≥ 3.6.5.",
            "Windows Server 2022 or later enables TLS 1.3 in Schannel.",
            "Nothing to do; it is the provider's choice.",
        ),
        "RFC 8446",
    ),
    _e(
        "tls.cipher_weak",
        "Remove NULL, anonymous, EXPORT, RC4, DES and 3DES suites.",
        "The server accepts cipher suites that are broken or provide no protection.",
        "A sender that prefers such a suite, or an attacker who forces one, gets no real "
        "encryption.",
        (
            "smtpd_tls_exclude_ciphers = aNULL, eNULL, EXPORT, DES, 3DES, RC4, MD5.",
            "tls_require_ciphers = ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL.",
            "Remove the suites from the Schannel cipher suite order (GPO), then restart.",
            "Report it to the provider.",
        ),
        "RFC 7465",
        "RFC 8996",
    ),
    _e(
        "tls.no_forward_secrecy",
        "Prefer ECDHE (and DHE) key exchange; drop static-RSA suites.",
        "A key exchange without forward secrecy is accepted or preferred.",
        "Whoever gets the server key later can decrypt recorded mail sessions.",
        (
            "tls_preempt_cipherlist = yes and exclude kRSA in smtpd_tls_exclude_ciphers.",
            "tls_require_ciphers without kRSA (e.g. ECDHE+AESGCM:ECDHE+CHACHA20).",
            "Put ECDHE suites first in the Schannel order and remove TLS_RSA_*.",
            "Report it to the provider.",
        ),
        "RFC 7525 §4.2",
    ),
    _e(
        "tls.dh_weak",
        "Use a finite-field DH group of at least 2048 bits (or drop DHE suites).",
        "A DHE suite uses a group smaller than 2048 bits.",
        "Small groups are within reach of well-funded attackers (Logjam).",
        (
            "smtpd_tls_dh1024_param_file = a 2048-bit file (`openssl dhparam 2048`).",
            "tls_dhparam = ffdhe2048 (or a 2048-bit file).",
            "Set the Schannel DH minimum key length to 2048 (ClientMinKeyBitLength).",
            "Report it to the provider.",
        ),
        "RFC 7919",
        "RFC 8270",
    ),
    _e(
        "tls.compression",
        "Disable TLS compression.",
        "The server negotiates TLS-level compression.",
        "Compression leaks secrets across a session (CRIME).",
        (
            "tls_ssl_options = NO_COMPRESSION (current OpenSSL has it off).",
            "openssl_options = +no_compression.",
            _OPENSSL,
            "Report it to the provider.",
        ),
        "RFC 7457 §2.6",
    ),
    _e(
        "tls.insecure_renegotiation",
        "Upgrade the TLS library so it supports secure renegotiation (RFC 5746).",
        "The server does not support secure renegotiation.",
        "An attacker on the path can splice its own data in front of the session.",
        (_OPENSSL, _OPENSSL, "Apply current Windows updates (Schannel).", "Report it."),
        "RFC 5746",
    ),
    _e(
        "tls.no_ems",
        "Upgrade the TLS library so TLS 1.2 uses the Extended Master Secret.",
        "TLS 1.2 is offered without the Extended Master Secret extension.",
        "Without it, TLS 1.2 sessions are open to triple-handshake attacks.",
        (_OPENSSL, _OPENSSL, "Apply current Windows updates (Schannel).", "Report it."),
        "RFC 7627",
    ),
    _e(
        "vuln.heartbleed",
        "Upgrade OpenSSL now, then replace the key and certificate and revoke the old one.",
        "The server leaks memory through the TLS heartbeat extension (CVE-2014-0160).",
        "Private keys, passwords and mail contents can be read remotely.",
        (_OPENSSL, _OPENSSL, "Check appliances in front of Exchange.", "Report it urgently."),
        "CVE-2014-0160",
        "RFC 6520",
    ),
    _e(
        "vuln.ccs_injection",
        "Upgrade OpenSSL now.",
        "The server accepts an early ChangeCipherSpec (CVE-2014-0224).",
        "An attacker on the path can force weak keys and read or change the session.",
        (_OPENSSL, _OPENSSL, "Check appliances in front of Exchange.", "Report it urgently."),
        "CVE-2014-0224",
    ),
    _e(
        "vuln.robot",
        "Disable static-RSA key exchange (TLS_RSA_*) or patch the TLS stack.",
        "The server is a Bleichenbacher padding oracle (ROBOT).",
        "An attacker can decrypt recorded sessions or sign with the server's key.",
        (
            "Exclude kRSA in smtpd_tls_exclude_ciphers; upgrade OpenSSL.",
            "tls_require_ciphers without kRSA; upgrade the TLS library.",
            "Remove TLS_RSA_* suites; patch any load balancer in front.",
            "Report it urgently.",
        ),
        "CVE-2017-13099",
        "RFC 8446 §E.8",
    ),
    # -- Certificate ------------------------------------------------------------------
    _e(
        "cert.expired",
        "Renew the certificate and install it with its intermediates, then reload the MTA.",
        "A certificate the server sends is past its notAfter date.",
        "MTA-STS and DANE-TA senders refuse the MX; others still deliver, unauthenticated.",
        (_PF_CERT, _EXIM_CERT, _EX_CERT, _HOSTED_CERT),
        "RFC 5280 §4.1.2.5",
        "RFC 8461 §4.2",
    ),
    _e(
        "cert.not_yet_valid",
        "Check the server clock and install a certificate that is valid now.",
        "A certificate the server sends is not valid yet (notBefore in the future).",
        "Validating senders refuse it exactly as an expired one.",
        (_PF_CERT, _EXIM_CERT, _EX_CERT, _HOSTED_CERT),
        "RFC 5280 §4.1.2.5",
    ),
    _e(
        "cert.expiring_soon",
        "Renew the certificate before it expires (automate with ACME).",
        "The certificate expires within the warning threshold (--warn-days).",
        "When it expires, MTA-STS and DANE-TA senders stop delivering.",
        (_PF_CERT, _EXIM_CERT, _EX_CERT, _HOSTED_CERT),
        "RFC 5280 §4.1.2.5",
        "RFC 8555",
    ),
    _e(
        "cert.hostname_mismatch",
        "Install a certificate whose SAN names the MX host (or point MX at the certified name).",
        "The certificate names neither the MX host in a SAN nor, without SANs, in its CN.",
        "MTA-STS senders refuse the MX: they check the certificate against the MX name.",
        (_PF_CERT, _EXIM_CERT, _EX_CERT, _HOSTED_CERT),
        "RFC 6125 §6",
        "RFC 8461 §4.2",
    ),
    _e(
        "cert.self_signed",
        "Replace the self-signed certificate by one from a public CA (e.g. via ACME).",
        "The leaf certificate is signed by its own key.",
        "MTA-STS senders refuse the MX; only DANE-EE (3 1 1) can authenticate such a key.",
        (_PF_CERT, _EXIM_CERT, _EX_CERT, _HOSTED_CERT),
        "RFC 5280 §6",
        "RFC 8461 §4.2",
        "RFC 7672 §3.1",
    ),
    _e(
        "cert.untrusted",
        "Use a certificate from a CA in the public trust stores, sent with its intermediates.",
        "The chain does not lead to a root that senders trust.",
        "MTA-STS senders refuse the MX.",
        (_PF_CERT, _EXIM_CERT, _EX_CERT, _HOSTED_CERT),
        "RFC 5280 §6",
        "RFC 8461 §4.2",
    ),
    _e(
        "cert.chain_incomplete",
        "Send the intermediate certificate(s) after the leaf (the 'fullchain' file).",
        "An intermediate certificate between the leaf and a trusted root is not sent.",
        "Mail servers do not fetch missing intermediates: MTA-STS senders refuse the MX.",
        (
            "Use the fullchain file in smtpd_tls_chain_files, not cert.pem alone.",
            "Set tls_certificate to the fullchain file.",
            "Import the intermediate into the local computer's Intermediate store.",
            _HOSTED_CERT,
        ),
        "RFC 8446 §4.4.2",
        "RFC 8461 §4.2",
    ),
    _e(
        "cert.chain_order",
        "Send the chain in order: leaf, then each issuer, and nothing unrelated.",
        "The chain is out of order or contains certificates that do not belong to it.",
        "Strict or older TLS clients fail to build the path.",
        (
            "Rebuild the PEM file: key, leaf, intermediates in order.",
            "Rebuild tls_certificate: leaf first, then intermediates.",
            "Remove stale intermediates from the certificate stores.",
            _HOSTED_CERT,
        ),
        "RFC 8446 §4.4.2",
        "RFC 5246 §7.4.2",
    ),
    _e(
        "cert.key_weak",
        "Use an RSA key of at least 2048 bits or an EC key of at least 256 bits.",
        "The certificate's key is too small (RSA/DSA < 2048 bits, EC < 256 bits).",
        "Such keys can be broken; CAs no longer issue for them and validators refuse them.",
        (_PF_CERT, _EXIM_CERT, _EX_CERT, _HOSTED_CERT),
        "NIST SP 800-131A",
    ),
    _e(
        "cert.signature_weak",
        "Reissue the certificate (and intermediates) with a SHA-256 or better signature.",
        "A certificate of the chain is signed with MD5 or SHA-1.",
        "Collisions make such signatures forgeable; validators refuse them.",
        (_PF_CERT, _EXIM_CERT, _EX_CERT, _HOSTED_CERT),
        "RFC 6151",
        "RFC 9155",
    ),
    _e(
        "cert.revoked",
        "Replace the revoked certificate now and find out why it was revoked.",
        "OCSP or a CRL says the certificate is revoked.",
        "The key may be compromised; validating senders refuse the MX.",
        (_PF_CERT, _EXIM_CERT, _EX_CERT, _HOSTED_CERT),
        "RFC 6960",
        "RFC 5280 §5",
    ),
    _e(
        "cert.sni_differs",
        "Nothing to fix if the SNI-less certificate is intended; many senders send no SNI.",
        "Clients without SNI get another certificate than clients that send the MX name.",
        "Most MTAs send no SNI (Postfix only with DANE): they see the other certificate.",
        (
            "Set the default smtpd_tls_chain_files to the MX certificate; tls_server_sni_maps "
            "for the others.",
            "Make tls_certificate's default branch the MX certificate.",
            "Bind the MX certificate to SMTP as the default (no SNI) certificate.",
            "Nothing to do.",
        ),
        "RFC 6066 §3",
    ),
    _e(
        "cert.mismatch_across_ips",
        "Nothing to fix if intended; otherwise deploy the same certificate on every address.",
        "Different addresses of one MX host present different certificates.",
        "A forgotten node often holds an old or wrong certificate; DANE needs every key pinned.",
        (
            "Deploy the same chain file on every node.",
            "Deploy the same tls_certificate on every node.",
            "Deploy the same certificate on every server of the MX name.",
            "Nothing to do.",
        ),
        "RFC 7671 §8",
    ),
    _e(
        "cert.caa_missing",
        'Publish a CAA record naming the CA you use (e.g. `0 issue "letsencrypt.org"`).',
        "The MX host's domain publishes no CAA record.",
        "CAA limits which CAs may issue certificates for your names.",
        (_DNS, _DNS, _DNS, _HOSTED_DNS),
        "RFC 8659",
    ),
    # -- MTA-STS ---------------------------------------------------------------------
    _e(
        "mta_sts.missing",
        "Publish MTA-STS (start in testing mode) so senders refuse downgraded connections.",
        "The domain publishes no `_mta-sts` TXT record.",
        "Without MTA-STS (or DANE) an attacker can strip STARTTLS and read the mail.",
        (_STS_FIX, _STS_FIX, _STS_FIX, _HOSTED_STS),
        "RFC 8461 §3",
    ),
    _e(
        "mta_sts.txt_invalid",
        "Publish exactly one `v=STSv1; id=...;` TXT record at `_mta-sts.DOMAIN`.",
        "The TXT record is not a valid MTA-STS record, or there are several.",
        "Senders ignore the policy: no protection against downgrades.",
        (_DNS, _DNS, _DNS, _HOSTED_DNS),
        "RFC 8461 §3.1",
    ),
    _e(
        "mta_sts.policy_fetch_failed",
        "Serve the policy over HTTPS with a valid certificate, status 200, no redirect.",
        "The policy could not be fetched (connect, TLS, status, redirect or size).",
        "Senders without a cached policy get none; the protection is off.",
        (_STS_FIX, _STS_FIX, _STS_FIX, _HOSTED_STS),
        "RFC 8461 §3.3",
    ),
    _e(
        "mta_sts.policy_invalid",
        "Fix the policy file: version, mode, mx lines and max_age, served as text/plain.",
        "The policy body does not parse (fields, values or media type).",
        "Senders ignore an invalid policy.",
        (_STS_FIX, _STS_FIX, _STS_FIX, _HOSTED_STS),
        "RFC 8461 §3.2",
    ),
    _e(
        "mta_sts.mode_testing",
        "Switch to `mode: enforce` once TLS-RPT reports show no failures.",
        "The policy is in testing mode: failures are reported, not enforced.",
        "Senders still deliver over downgraded connections.",
        (_STS_FIX, _STS_FIX, _STS_FIX, _HOSTED_STS),
        "RFC 8461 §5",
    ),
    _e(
        "mta_sts.mode_none",
        "Publish `mode: testing` or `enforce`, unless you are withdrawing MTA-STS.",
        "The policy is in mode none: it protects nothing.",
        "Mode none exists to retire a policy; senders behave as if there were none.",
        (_STS_FIX, _STS_FIX, _STS_FIX, _HOSTED_STS),
        "RFC 8461 §5",
    ),
    _e(
        "mta_sts.mx_not_covered",
        "Add every MX host (or a matching `*.domain` pattern) to the policy's mx lines.",
        "An MX host matches no `mx:` pattern of the policy.",
        "Enforcing senders refuse that MX.",
        (_STS_FIX, _STS_FIX, _STS_FIX, _HOSTED_STS),
        "RFC 8461 §4.1",
    ),
    _e(
        "mta_sts.max_age_short",
        "Set max_age to weeks (e.g. 604800 or more) once the policy is stable.",
        "The policy's max_age is below one day.",
        "Senders forget the policy quickly; an attacker who blocks its refresh removes it.",
        (_STS_FIX, _STS_FIX, _STS_FIX, _HOSTED_STS),
        "RFC 8461 §3.2",
    ),
    _e(
        "mta_sts.enforce_tls_failure",
        "Fix TLS or the certificate on that MX now: enforcing senders refuse it.",
        "The policy is enforce and an MX fails TLS or certificate validation.",
        "Mail from MTA-STS senders to that MX is not delivered.",
        (_PF_CERT, _EXIM_CERT, _EX_CERT, _HOSTED_CERT),
        "RFC 8461 §5",
    ),
    # -- TLS-RPT -----------------------------------------------------------------------
    _e(
        "tls_rpt.missing",
        "Publish `_smtp._tls` TXT `v=TLSRPTv1; rua=mailto:...` to get failure reports.",
        "The domain publishes no TLS-RPT record.",
        "Without reports you learn about TLS failures only when mail goes missing.",
        (_DNS, _DNS, _DNS, _HOSTED_DNS + " `mxtls generate tls-rpt` writes the record."),
        "RFC 8460 §3",
    ),
    _e(
        "tls_rpt.invalid",
        "Publish one `v=TLSRPTv1` record whose rua URIs are mailto: or https:.",
        "The TLS-RPT record does not parse, appears several times, or has a bad rua.",
        "Senders send no reports.",
        (_DNS, _DNS, _DNS, _HOSTED_DNS),
        "RFC 8460 §3",
    ),
    # -- DNSSEC and DANE -----------------------------------------------------------
    _e(
        "dnssec.unsigned",
        "Sign the zone with DNSSEC if you want DANE; otherwise nothing to fix.",
        "The MX answer (or an MX host's zone) is not DNSSEC-secure.",
        "DANE cannot apply: only MTA-STS can protect against downgrades.",
        (_DNS, _DNS, _DNS, "Enable DNSSEC at the DNS host and publish the DS at the registrar."),
        "RFC 4033",
        "RFC 7672 §2.2",
    ),
    _e(
        "dnssec.bogus",
        "Fix the DNSSEC chain now (DS at the registrar, signatures not expired).",
        "DNSSEC validation fails: bad or expired signatures, or a DS that matches no key.",
        "Every validating resolver refuses the data: validating senders cannot deliver.",
        (
            _DNS + " Re-sign the zone; check the DS with `dig DS DOMAIN`.",
            _DNS + " Re-sign the zone; check the DS with `dig DS DOMAIN`.",
            _DNS + " Re-sign the zone (Invoke-DnsServerZoneSign) or fix the DS.",
            "Fix the DS at the registrar or ask the DNS host to re-sign.",
        ),
        "RFC 4035 §5.5",
    ),
    _e(
        "dane.missing",
        "Publish TLSA records for the MX (the zone is signed already).",
        "The MX host's zone is signed but has no TLSA record for port 25.",
        "DANE is one step away: it authenticates the MX without any CA.",
        (
            _TLSA_FIX,
            _TLSA_FIX,
            "Exchange Online: Enable-SmtpDaneInbound; on-premises: " + _TLSA_FIX,
            "Ask the provider; some publish TLSA for their MX names.",
        ),
        "RFC 7672 §2",
    ),
    _e(
        "dane.mismatch",
        "Publish TLSA records for the certificate the MX sends now (or restore the old key).",
        "TLSA records exist and none matches the certificate chain the server sends.",
        "DANE senders refuse the MX: nothing is delivered from them.",
        (
            _TLSA_FIX + " Pre-publish the next key before each rollover.",
            _TLSA_FIX + " Pre-publish the next key before each rollover.",
            _TLSA_FIX,
            "Ask the provider which TLSA records to publish, or remove yours.",
        ),
        "RFC 7672 §2.2",
        "RFC 7671 §8",
    ),
    _e(
        "dane.unusable_record",
        "Use DANE-EE (3 1 1) or DANE-TA (2 1 1) records; usages 0 and 1 are unusable on port 25.",
        "A TLSA record is unusable (PKIX usages on port 25, unknown parameters, bad length).",
        "Senders ignore the record; if none is usable, DANE does not apply. On submission, "
        "IMAP and POP3 ports usages 0 and 1 count, but only with WebPKI validation as well.",
        (_TLSA_FIX, _TLSA_FIX, _TLSA_FIX, _HOSTED_DNS),
        "RFC 7672 §3.1",
    ),
    _e(
        "dane.insecure_tlsa",
        "Sign the zone (DNSSEC) or remove the TLSA records; unsigned TLSA does nothing.",
        "TLSA records are present but not DNSSEC-secure.",
        "Senders ignore TLSA records that DNSSEC does not vouch for.",
        (_DNS, _DNS, _DNS, _HOSTED_DNS),
        "RFC 7672 §2.2",
    ),
    _e(
        "dane.no_rollover",
        "Publish a second record (the next key, or a 2 1 1 for the CA) before the next rollover.",
        "Only one usable TLSA record is published.",
        "The next certificate change breaks DANE delivery until the record is updated.",
        (_TLSA_FIX, _TLSA_FIX, _TLSA_FIX, _HOSTED_DNS),
        "RFC 7671 §8.1",
    ),
    # -- Delivery verdict ------------------------------------------------------------
    _e(
        "delivery.strict_senders_fail",
        "Fix what the message names: senders that enforce your own policy refuse that MX.",
        "A sender enforcing the domain's own policy (MTA-STS enforce or DANE) would refuse "
        "at least one MX.",
        "Mail from large providers and DANE senders is delayed and bounces.",
        (_PF_CERT, _EXIM_CERT, _EX_CERT, _HOSTED_CERT),
        "RFC 8461 §5",
        "RFC 7672 §2.2",
    ),
    _e(
        "delivery.unencrypted_path",
        "Offer working STARTTLS on every MX, fallback MX hosts included.",
        "At least one MX can only be reached without TLS.",
        "An attacker steers mail to that MX (or strips STARTTLS) and reads it.",
        (
            "smtpd_tls_security_level = may with a valid certificate on every MX.",
            "tls_certificate and tls_advertise_hosts = * on every MX.",
            "Enable the SMTP certificate on every server's Frontend connector.",
            "Remove MX records that do not point at the provider.",
        ),
        "RFC 3207",
        "RFC 8461 §1",
    ),
    _e(
        "delivery.no_reachable_mx",
        "Make at least one MX accept SMTP sessions on port 25: nobody can deliver now.",
        "No MX host completes an SMTP session on port 25 (refused, timed out, rejected "
        "banner, closed early).",
        "Every sender queues the mail and bounces it after a few days.",
        (
            "Check that Postfix runs (`postfix status`), master.cf and the firewall.",
            "Check that Exim runs, daemon_smtp_ports and the firewall.",
            "Check the transport services and the Frontend receive connector on port 25.",
            "Check that the MX records point at the provider's hosts.",
        ),
        "RFC 5321 §5.1",
    ),
)

EXPLANATIONS: Mapping[str, Explanation] = MappingProxyType({e.code: e for e in _ENTRIES})


def hint(code: str) -> str | None:
    """The one-line "what to do" for ``code``, or None for a code without an entry."""
    entry = EXPLANATIONS.get(code)
    return entry.hint if entry is not None else None


def explain(code: str) -> Explanation:
    """The full explanation of ``code``.

    Raises:
        KeyError: ``code`` has no entry (not a finding code).
    """
    return EXPLANATIONS[code]
