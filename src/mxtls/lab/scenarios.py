"""The lab's domains as data: one row per scenario, under the reserved TLD ``.lab``.

A :class:`Scenario` says what the lab serves for a domain (MX hosts, which
SMTP, IMAP or POP3 behaviour listens on which logical port, a mail user's
account for SMTP AUTH, how each certificate is
issued, TLSA records, an MTA-STS policy and how its host answers, whether
the zone is DNSSEC-signed, extra DNS records, DNS faults) and which finding
codes a correct checker reports for it.  :class:`mxtls.lab.world.Lab` turns
the table into zones, certificates and listeners; nothing here does I/O.

Adding a scenario is adding a row to :data:`SCENARIOS`.  Codes are matched
as sets: ``expected`` must all appear, ``tolerated`` may appear (a checker
may legitimately report a second symptom of the same fault), and a row's
:attr:`Scenario.background` codes may appear too: ``mta_sts.missing`` where
the row publishes no MTA-STS record, ``dnssec.unsigned`` where its zone is
not signed and ``submission.not_advertised`` where it publishes no
submission SRV record (all info, true of most rows, and not what the row is
about).
A row whose point is one of them lists it in ``expected``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from mxtls.lab.ca import KeyKind
from mxtls.lab.dns_server import DnsFault
from mxtls.lab.dnssec import DnssecMode
from mxtls.lab.https_server import PolicyServing
from mxtls.lab.mailbox_server import MailboxMode
from mxtls.lab.smtp_server import SmtpMode

# The logical ports of the lab, each served on one local port shared by every
# host: SMTP relay and submission, then IMAP (143/993) and POP3 (110/995).
SMTP_PORTS = (25, 465, 587)
MAILBOX_LOGICAL_PORTS = (143, 993, 110, 995)
LOGICAL_PORTS = (*SMTP_PORTS, *MAILBOX_LOGICAL_PORTS)
HTTPS_PORT = 443  # RFC 8461 §3.3: the MTA-STS policy host; lab policy hosts share one local port
TLSA_PORT = 25  # RFC 7672 §2.2: TLSA records for SMTP relay live at _25._tcp.MXHOST
BACKGROUND_CODES = frozenset({"mta_sts.missing", "dnssec.unsigned", "submission.not_advertised"})
STS_MAX_AGE_S = 604_800  # one week: RFC 8461 §3.2 expects weeks or more
STS_TXT = "v=STSv1; id=20260101T000000;"  # RFC 8461 §3.1

Ports = Mapping[int, SmtpMode | MailboxMode]  # SMTP modes on SMTP ports, mailbox modes on 143 …


def ports(
    mode: SmtpMode = SmtpMode.GOOD, *, submissions: SmtpMode = SmtpMode.IMPLICIT_TLS
) -> Ports:
    """``mode`` on 25 and 587, ``submissions`` on 465 (implicit TLS by default)."""
    return MappingProxyType({25: mode, 465: submissions, 587: mode})


GOOD_PORTS = ports()
RELAY_ONLY: Ports = MappingProxyType({25: SmtpMode.GOOD})  # an MX as providers run them
SUBMISSION_PORTS: Ports = MappingProxyType({465: SmtpMode.SUBMISSIONS, 587: SmtpMode.SUBMISSION})
# IMAP and POP3 as Dovecot serves them: STARTTLS on 143/110, implicit TLS on 993/995.
MAILBOX_PORTS: Ports = MappingProxyType({p: MailboxMode.GOOD for p in MAILBOX_LOGICAL_PORTS})
USER_PORTS: Ports = MappingProxyType({**SUBMISSION_PORTS, **MAILBOX_PORTS})  # a users' host


@dataclass(frozen=True, slots=True, kw_only=True)
class CertSpec:
    """How a host's certificate is issued (see :meth:`mxtls.lab.ca.LabCA.issue`).

    Attributes:
        names: DNS SANs; None means the host's own name.
        issuer: ``lab`` (trusted via ``Lab.ca_file``) or ``rogue`` (a second
            CA whose root is in no trust store).
        unrelated_extra: send leaf, an unrelated certificate, then the
            intermediate (out of order, with a stranger in the chain).
        per_address: each address of the host gets its own key and certificate.
    """

    names: tuple[str, ...] | None = None
    key: KeyKind = "ec256"
    days_valid: tuple[int, int] = (-30, 90)
    hash_alg: Literal["sha256", "sha1"] = "sha256"
    self_signed: bool = False
    send_intermediate: bool = True
    issuer: Literal["lab", "rogue"] = "lab"
    unrelated_extra: bool = False
    per_address: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsaSpec:
    """A TLSA record for a host, computed from a certificate when the lab starts.

    Attributes:
        usage, selector, mtype: the record's parameters (RFC 6698 §2.1).
        port: the service port of its owner name, ``_PORT._tcp.HOST``.
        of: which certificate it pins: ``leaf`` (the host's own, as served on
            its first address),
            ``issuer`` (the lab intermediate that signed it), ``other`` (a
            leaf with a key no lab server uses), ``other_issuer`` (the
            intermediate of a CA the host's certificate does not come from).
    """

    usage: int = 3
    selector: int = 1
    mtype: int = 1
    of: Literal["leaf", "issuer", "other", "other_issuer"] = "leaf"
    port: int = TLSA_PORT


DANE_EE = TlsaSpec()  # 3 1 1 of the live leaf
DANE_TA = TlsaSpec(usage=2, of="issuer")  # 2 1 1 of the lab intermediate
ROLLOVER = (DANE_EE, DANE_TA)  # RFC 7671 §8.1 "current + next": survives a leaf key change
# RFC 6698 §2.1.1 usages for protocols other than SMTP: the chain must also pass
# PKIX validation, and the record pins the leaf (1) or a CA on the path (0).
PKIX_EE_IMAPS = TlsaSpec(usage=1, port=993)
PKIX_TA_IMAPS = TlsaSpec(usage=0, port=993, of="issuer")


@dataclass(frozen=True, slots=True, kw_only=True)
class MtaStsSpec:
    """What a domain publishes for MTA-STS (RFC 8461) and how its policy host answers.

    Attributes:
        txt: the TXT strings at ``_mta-sts.DOMAIN`` (one record each).
        mode, max_age: policy fields.
        mx: the policy's ``mx`` patterns; None means every MX host of the row.
        policy: the whole policy text, replacing the generated one.
        serving: how ``mta-sts.DOMAIN`` answers the GET.
        cert: the policy host's certificate (names None: ``mta-sts.DOMAIN``).
    """

    txt: tuple[str, ...] = (STS_TXT,)
    mode: Literal["enforce", "testing", "none"] = "enforce"
    max_age: int = STS_MAX_AGE_S
    mx: tuple[str, ...] | None = None
    policy: str | None = None
    serving: PolicyServing = PolicyServing.OK
    cert: CertSpec = CertSpec()

    def policy_text(self, mx_hosts: Sequence[str]) -> str:
        """The policy file (RFC 8461 §3.2, CRLF line ends)."""
        if self.policy is not None:
            return self.policy
        patterns = self.mx if self.mx is not None else tuple(mx_hosts)
        lines = ["version: STSv1", f"mode: {self.mode}"]
        lines += [f"mx: {p}" for p in patterns]
        lines.append(f"max_age: {self.max_age}")
        return "\r\n".join(lines) + "\r\n"


@dataclass(frozen=True, slots=True, kw_only=True)
class HostSpec:
    """One MX host.

    Attributes:
        name: the host name (inside the scenario's domain).
        ports: logical port -> behaviour (an SMTP mode on 25/465/587, a
            mailbox mode on 143/993 IMAP and 110/995 POP3); a port left
            out stays closed.
        cert: certificate for every TLS listener of the host.
        nosni_cert: certificate for clients that send no SNI (None: ``cert``).
        addresses: how many IPv4 loopback addresses (``127.77.<n>.<m>``).
        ipv6: also listen on ``::1`` and publish an AAAA (at most one host).
        mapped_v6: more addresses published only as AAAA records, in
            IPv4-mapped form (``::ffff:127.77.<n>.<m>``): reachable over IPv6
            sockets on any machine with loopback, so a host can have several
            IPv6 addresses without configuring any.
        in_dns: publish A/AAAA records for ``name``.
        tlsa: TLSA records at ``_PORT._tcp.<name>`` (``of="leaf"`` is ``cert``).
        second_cert: a certificate of another key type on the same listeners
            (RSA next to ECDSA); a client that offers only its algorithms gets it.
        ptr: the PTR name of each IPv4 address: :data:`PTR_SELF` (the host
            name, forward-confirmed), None (no PTR record), or another name.
        banner_name: the name the server gives in its banner and EHLO answer
            (None: the host name).
    """

    name: str
    ports: Ports = field(default_factory=lambda: GOOD_PORTS)
    cert: CertSpec = CertSpec()
    nosni_cert: CertSpec | None = None
    addresses: int = 1
    ipv6: bool = False
    mapped_v6: int = 0
    in_dns: bool = True
    tlsa: tuple[TlsaSpec, ...] = ()
    second_cert: CertSpec | None = None
    ptr: str | None = "@"
    banner_name: str | None = None


PTR_SELF = "@"  # HostSpec.ptr: the host's own name
_SUBMISSION_SRV = ("_submission._tcp.", "_submissions._tcp.")  # RFC 6186 §3.1, RFC 8314 §5.1


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One lab domain and the findings a correct checker reports for it.

    Attributes:
        domain: the mail domain, ``<name>.lab``.
        description: one line for ``mxtls demo --list``.
        expected: codes that must be reported.
        tolerated: codes that may also be reported.
        hosts: the MX hosts (preference 10, 20, … in this order).
        mx: MX rdata overriding the generated ones (``()``: no MX at all);
            ``{ip:HOST}`` is replaced by the host's first address.
        records: extra zone lines, absolute names (``{ip:HOST}`` works too).
        faults: names that fail instead of answering.
        caa, tls_rpt: publish a CAA record and a valid TLS-RPT record.
        mta_sts: publish an MTA-STS record and serve its policy (None: neither).
        dnssec: sign the zone (and publish its DS in ``lab.``), or not.
        account: the user name of a mail account the row's submission
            listeners authenticate (SMTP AUTH inside TLS; the lab picks the
            password); ``mxtls demo`` logs in with it.
        demo: shown by ``mxtls demo`` without arguments.
        slow: the checker must wait for one of its timeouts (tarpit, silent DNS).
    """

    domain: str
    description: str
    expected: frozenset[str]
    tolerated: frozenset[str] = frozenset()
    hosts: tuple[HostSpec, ...] = ()
    mx: tuple[str, ...] | None = None
    records: tuple[str, ...] = ()
    faults: Mapping[str, DnsFault] = field(default_factory=dict)
    caa: bool = True
    tls_rpt: bool = True
    mta_sts: MtaStsSpec | None = None
    dnssec: DnssecMode = DnssecMode.UNSIGNED
    account: str | None = None
    demo: bool = False
    slow: bool = False

    @property
    def name(self) -> str:
        """The label before ``.lab``: ``good`` for ``good.lab``."""
        return self.domain.removesuffix(".lab")

    @property
    def background(self) -> frozenset[str]:
        """Info codes true of this row that it is not about (see the module docstring)."""
        codes = set()
        sts_txt = f"_mta-sts.{self.domain}."
        if self.mta_sts is None and not any(r.startswith(sts_txt) for r in self.records):
            codes.add("mta_sts.missing")
        if self.dnssec is DnssecMode.UNSIGNED:
            codes.add("dnssec.unsigned")
        if not any(r.startswith(_SUBMISSION_SRV) and " SRV " in r for r in self.records):
            codes.add("submission.not_advertised")
        return frozenset(codes) & BACKGROUND_CODES

    @property
    def allowed(self) -> frozenset[str]:
        """Every code a correct checker may report for this domain."""
        return self.expected | self.tolerated | self.background


def _one(
    domain: str,
    *,
    ports: Ports = GOOD_PORTS,
    cert: CertSpec = CertSpec(),  # noqa: B008 - frozen, shared on purpose
    nosni_cert: CertSpec | None = None,
    addresses: int = 1,
    in_dns: bool = True,
    tlsa: tuple[TlsaSpec, ...] = (),
    second_cert: CertSpec | None = None,
) -> tuple[HostSpec, ...]:
    """A scenario's single MX host, ``mx.<domain>``."""
    host = HostSpec(
        name=f"mx.{domain}",
        ports=ports,
        cert=cert,
        nosni_cert=nosni_cert,
        addresses=addresses,
        in_dns=in_dns,
        tlsa=tlsa,
        second_cert=second_cert,
    )
    return (host,)


def _codes(*codes: str) -> frozenset[str]:
    return frozenset(codes)


_UNENCRYPTED = "delivery.unencrypted_path"
_STRICT_FAIL = "delivery.strict_senders_fail"
_NO_MX = "delivery.no_reachable_mx"
_SIGNED = DnssecMode.SIGNED
# A bogus zone cannot be resolved by a validating sender: a checker may also
# report the failed lookups and that strict senders cannot deliver.
_BOGUS_SYMPTOMS = ("dns.error", _STRICT_FAIL)


def _rpt(domain: str, *texts: str) -> tuple[str, ...]:
    """TXT records at ``_smtp._tls.<domain>`` (for rows that publish their own)."""
    return tuple(f'_smtp._tls.{domain}. TXT "{t}"' for t in texts)


SCENARIOS: tuple[Scenario, ...] = (
    # -- healthy -------------------------------------------------------------
    Scenario(
        domain="good.lab",
        description="two MX hosts with a valid ECDSA chain; only the first also listens on 465/587",
        expected=_codes(),
        hosts=(
            HostSpec(name="mx1.good.lab", ipv6=True),
            HostSpec(name="mx2.good.lab", ports=RELAY_ONLY),
        ),
        demo=True,
    ),
    Scenario(
        domain="secure.lab",
        description="fully protected: signed zone, DANE with rollover, MTA-STS enforce, TLS-RPT, "
        "submission named by SRV",
        expected=_codes(),
        hosts=_one("secure.lab", tlsa=ROLLOVER),
        mta_sts=MtaStsSpec(),
        dnssec=_SIGNED,
        records=(
            "_submissions._tcp.secure.lab. SRV 0 1 465 mx.secure.lab.",
            "_submission._tcp.secure.lab. SRV 0 1 587 mx.secure.lab.",
        ),
        demo=True,
    ),
    Scenario(
        domain="three.lab",
        description="three healthy MX hosts on three ports each (benchmark)",
        expected=_codes(),
        hosts=tuple(HostSpec(name=f"mx{i}.three.lab") for i in (1, 2, 3)),
    ),
    Scenario(
        domain="dribble.lab",
        description="healthy, but banner and EHLO arrive multi-line, a few bytes at a time",
        expected=_codes(),
        hosts=_one("dribble.lab", ports=ports(SmtpMode.MULTILINE_SPLIT)),
    ),
    # -- certificates ----------------------------------------------------------
    Scenario(
        domain="expired.lab",
        description="certificate expired yesterday",
        expected=_codes("cert.expired"),
        hosts=_one("expired.lab", cert=CertSpec(days_valid=(-100, -1))),
        demo=True,
    ),
    Scenario(
        domain="notyet.lab",
        description="certificate not valid for another five days",
        expected=_codes("cert.not_yet_valid"),
        hosts=_one("notyet.lab", cert=CertSpec(days_valid=(5, 90))),
    ),
    Scenario(
        domain="expiring.lab",
        description="certificate expires in ten days",
        expected=_codes("cert.expiring_soon"),
        hosts=_one("expiring.lab", cert=CertSpec(days_valid=(-80, 10))),
    ),
    Scenario(
        domain="wrongname.lab",
        description="certificate names another host",
        expected=_codes("cert.hostname_mismatch"),
        hosts=_one("wrongname.lab", cert=CertSpec(names=("mail.example-hosting.lab",))),
        demo=True,
    ),
    Scenario(
        domain="selfsigned.lab",
        description="self-signed certificate",
        expected=_codes("cert.self_signed"),
        tolerated=_codes("cert.untrusted"),
        hosts=_one("selfsigned.lab", cert=CertSpec(self_signed=True)),
    ),
    Scenario(
        domain="nochain.lab",
        description="intermediate certificate not sent",
        expected=_codes("cert.chain_incomplete"),
        tolerated=_codes("cert.untrusted"),
        hosts=_one("nochain.lab", cert=CertSpec(send_intermediate=False)),
        demo=True,
    ),
    Scenario(
        domain="untrusted.lab",
        description="issued by a CA that no trust store knows",
        expected=_codes("cert.untrusted"),
        hosts=_one("untrusted.lab", cert=CertSpec(issuer="rogue")),
    ),
    Scenario(
        domain="weakkey.lab",
        description="RSA-1024 certificate key",
        expected=_codes("cert.key_weak"),
        hosts=_one("weakkey.lab", cert=CertSpec(key="rsa1024")),
    ),
    Scenario(
        domain="sha1.lab",
        description="certificate signed with SHA-1",
        expected=_codes("cert.signature_weak"),
        tolerated=_codes("cert.untrusted"),
        hosts=_one("sha1.lab", cert=CertSpec(hash_alg="sha1")),
    ),
    Scenario(
        domain="badorder.lab",
        description="chain sent as leaf, an unrelated certificate, then the intermediate",
        expected=_codes("cert.chain_order"),
        hosts=_one("badorder.lab", cert=CertSpec(unrelated_extra=True)),
    ),
    Scenario(
        domain="snidiffers.lab",
        description="clients without SNI get another (valid) certificate",
        expected=_codes("cert.sni_differs"),
        hosts=_one(
            "snidiffers.lab",
            ports=ports(SmtpMode.SNI_CERT),
            nosni_cert=CertSpec(names=("default.snidiffers.lab",)),
        ),
    ),
    Scenario(
        domain="mixedcerts.lab",
        description="two addresses of one MX host present different certificates",
        expected=_codes("cert.mismatch_across_ips"),
        hosts=_one("mixedcerts.lab", addresses=2, cert=CertSpec(per_address=True)),
    ),
    Scenario(
        domain="nocaa.lab",
        description="healthy, but the domain publishes no CAA record",
        expected=_codes("cert.caa_missing"),
        hosts=_one("nocaa.lab"),
        caa=False,
    ),
    # -- SMTP dialogue -------------------------------------------------------
    Scenario(
        domain="nostarttls.lab",
        description="STARTTLS not offered on 25 and 587",
        expected=_codes("starttls.not_offered", _UNENCRYPTED),
        hosts=_one("nostarttls.lab", ports=ports(SmtpMode.NO_STARTTLS)),
        demo=True,
    ),
    Scenario(
        domain="starttls454.lab",
        description="STARTTLS offered but answered 454",
        expected=_codes("starttls.rejected", _UNENCRYPTED),
        hosts=_one("starttls454.lab", ports=ports(SmtpMode.STARTTLS_454)),
    ),
    Scenario(
        domain="handshakefail.lab",
        description="STARTTLS accepted, then the handshake is answered with a fatal alert",
        expected=_codes("starttls.handshake_failed"),
        tolerated=_codes(_UNENCRYPTED),
        hosts=_one("handshakefail.lab", ports=ports(SmtpMode.HANDSHAKE_FAIL)),
    ),
    Scenario(
        domain="plain465.lab",
        description="the submission server its SRV record names speaks plaintext SMTP on 465",
        expected=_codes("tls.implicit_failed"),
        hosts=_one("plain465.lab", ports=ports(submissions=SmtpMode.NO_STARTTLS)),
        records=("_submissions._tcp.plain465.lab. SRV 0 1 465 mx.plain465.lab.",),
    ),
    Scenario(
        domain="tarpit.lab",
        description="accepts connections on 25 and 587 but never sends a banner",
        expected=_codes("smtp.banner_timeout", _NO_MX),
        hosts=_one("tarpit.lab", ports=ports(SmtpMode.TARPIT)),
        slow=True,
    ),
    Scenario(
        domain="banner554.lab",
        description="banner 554: no SMTP service",
        expected=_codes("smtp.banner_rejected", _NO_MX),
        hosts=_one("banner554.lab", ports=ports(SmtpMode.BANNER_554)),
    ),
    Scenario(
        domain="ratelimited.lab",
        description="banner 421: too many connections, so nobody can deliver",
        expected=_codes("smtp.rate_limited", _NO_MX),
        tolerated=_codes("smtp.banner_rejected"),
        hosts=_one("ratelimited.lab", ports=ports(SmtpMode.BANNER_421)),
        demo=True,
    ),
    Scenario(
        domain="closed.lab",
        description="answers EHLO, then closes the connection",
        expected=_codes("smtp.rate_limited"),
        tolerated=_codes("starttls.handshake_failed", "starttls.rejected"),
        hosts=_one("closed.lab", ports=ports(SmtpMode.CLOSE_AFTER_EHLO)),
    ),
    Scenario(
        domain="helo.lab",
        description="EHLO rejected, HELO accepted: no ESMTP, so no STARTTLS",
        expected=_codes("smtp.ehlo_rejected", _UNENCRYPTED),
        tolerated=_codes("starttls.not_offered"),
        hosts=_one("helo.lab", ports=ports(SmtpMode.EHLO_REJECTED)),
    ),
    Scenario(
        domain="authclear.lab",
        description="the submission server its SRV record names advertises AUTH PLAIN LOGIN "
        "on 587 before STARTTLS",
        expected=_codes("smtp.auth_before_tls"),
        records=("_submission._tcp.authclear.lab. SRV 0 1 587 mx.authclear.lab.",),
        hosts=_one(
            "authclear.lab",
            ports=MappingProxyType(
                {25: SmtpMode.GOOD, 465: SmtpMode.IMPLICIT_TLS, 587: SmtpMode.AUTH_BEFORE_TLS}
            ),
        ),
    ),
    Scenario(
        domain="refused.lab",
        description="MX address where nothing listens (connection refused)",
        expected=_codes("smtp.connect_failed", _NO_MX),
        hosts=_one("refused.lab", ports=MappingProxyType({})),
    ),
    Scenario(
        domain="flaky.lab",
        description="STARTTLS advertised on every other connection (two addresses)",
        expected=_codes("starttls.inconsistent"),
        tolerated=_codes("starttls.not_offered", _UNENCRYPTED),
        hosts=_one("flaky.lab", addresses=2, ports=ports(SmtpMode.STARTTLS_FLAKY)),
    ),
    # -- DNS and MX discovery --------------------------------------------------
    Scenario(
        domain="nullmx.lab",
        description="null MX (RFC 7505): the domain accepts no mail",
        expected=_codes("mx.null"),
        mx=("0 .",),
    ),
    Scenario(
        domain="nomx.lab",
        description="no MX record: the domain's own address is the implicit MX",
        expected=_codes("mx.none"),
        hosts=(HostSpec(name="nomx.lab"),),
        mx=(),
    ),
    Scenario(
        domain="cname.lab",
        description="the MX target is a CNAME",
        expected=_codes("mx.cname"),
        hosts=(
            HostSpec(
                name="real.cname.lab", cert=CertSpec(names=("mx.cname.lab", "real.cname.lab"))
            ),
        ),
        mx=("10 mx.cname.lab.",),
        records=("mx.cname.lab. CNAME real.cname.lab.",),
    ),
    Scenario(
        domain="iplit.lab",
        description="the MX target is an IP address written as a name",
        expected=_codes("mx.ip_literal"),
        tolerated=_codes("dns.error", "mx.unresolvable", "cert.hostname_mismatch", _NO_MX),
        hosts=_one("iplit.lab", in_dns=False),
        mx=("10 {ip:mx.iplit.lab}.",),
    ),
    Scenario(
        domain="unresolvable.lab",
        description="MX hosts without addresses (one NXDOMAIN, one without A/AAAA)",
        expected=_codes("mx.unresolvable", _NO_MX),
        mx=("10 gone.unresolvable.lab.", "20 empty.unresolvable.lab."),
        records=('empty.unresolvable.lab. TXT "no address here"',),
    ),
    Scenario(
        domain="servfail.lab",
        description="the MX query answers SERVFAIL",
        expected=_codes("dns.error"),
        hosts=_one("servfail.lab"),
        faults={"servfail.lab": DnsFault.SERVFAIL},
    ),
    Scenario(
        domain="dnsrefused.lab",
        description="the MX query answers REFUSED",
        expected=_codes("dns.error"),
        hosts=_one("dnsrefused.lab"),
        faults={"dnsrefused.lab": DnsFault.REFUSED},
    ),
    Scenario(
        domain="dnstimeout.lab",
        description="the MX query is never answered",
        expected=_codes("dns.error"),
        hosts=_one("dnstimeout.lab"),
        faults={"dnstimeout.lab": DnsFault.TIMEOUT},
        slow=True,
    ),
    # -- MTA-STS (RFC 8461) ---------------------------------------------------------
    Scenario(
        domain="sts-testing.lab",
        description="MTA-STS policy in testing mode",
        expected=_codes("mta_sts.mode_testing"),
        hosts=_one("sts-testing.lab"),
        mta_sts=MtaStsSpec(mode="testing"),
    ),
    Scenario(
        domain="sts-none.lab",
        description="MTA-STS policy in mode none",
        expected=_codes("mta_sts.mode_none"),
        hosts=_one("sts-none.lab"),
        mta_sts=MtaStsSpec(mode="none"),
    ),
    Scenario(
        domain="sts-404.lab",
        description="MTA-STS record, but the policy host answers 404",
        expected=_codes("mta_sts.policy_fetch_failed"),
        hosts=_one("sts-404.lab"),
        mta_sts=MtaStsSpec(serving=PolicyServing.NOT_FOUND),
    ),
    Scenario(
        domain="sts-redirect.lab",
        description="the policy host redirects (301), which senders must not follow",
        expected=_codes("mta_sts.policy_fetch_failed"),
        hosts=_one("sts-redirect.lab"),
        mta_sts=MtaStsSpec(serving=PolicyServing.REDIRECT),
    ),
    Scenario(
        domain="sts-mediatype.lab",
        description="the policy is served as text/html",
        expected=_codes("mta_sts.policy_invalid"),
        hosts=_one("sts-mediatype.lab"),
        mta_sts=MtaStsSpec(serving=PolicyServing.WRONG_MEDIA_TYPE),
    ),
    Scenario(
        domain="sts-badcert.lab",
        description="the policy host's certificate names another host",
        expected=_codes("mta_sts.policy_fetch_failed"),
        hosts=_one("sts-badcert.lab"),
        mta_sts=MtaStsSpec(cert=CertSpec(names=("www.sts-badcert.lab",))),
    ),
    Scenario(
        domain="sts-untrusted.lab",
        description="the policy host's certificate comes from a CA nobody trusts",
        expected=_codes("mta_sts.policy_fetch_failed"),
        hosts=_one("sts-untrusted.lab"),
        mta_sts=MtaStsSpec(cert=CertSpec(issuer="rogue")),
    ),
    Scenario(
        domain="sts-invalid.lab",
        description="the policy does not parse (mode 'enforcing')",
        expected=_codes("mta_sts.policy_invalid"),
        hosts=_one("sts-invalid.lab"),
        mta_sts=MtaStsSpec(
            policy="version: STSv1\r\nmode: enforcing\r\nmx: mx.sts-invalid.lab\r\n"
            "max_age: 604800\r\n"
        ),
    ),
    Scenario(
        domain="sts-badtxt.lab",
        description="the _mta-sts TXT record is invalid (id with a hyphen)",
        expected=_codes("mta_sts.txt_invalid"),
        hosts=_one("sts-badtxt.lab"),
        mta_sts=MtaStsSpec(txt=("v=STSv1; id=2026-01-01;",)),
    ),
    Scenario(
        domain="sts-twotxt.lab",
        description="two v=STSv1 TXT records",
        expected=_codes("mta_sts.txt_invalid"),
        hosts=_one("sts-twotxt.lab"),
        mta_sts=MtaStsSpec(txt=("v=STSv1; id=20260101;", "v=STSv1; id=20260202;")),
    ),
    Scenario(
        domain="sts-mxmissing.lab",
        description="MTA-STS enforce, but the policy omits the second MX host",
        expected=_codes("mta_sts.mx_not_covered"),
        tolerated=_codes(_STRICT_FAIL),  # strict senders skip that MX
        hosts=(HostSpec(name="mx1.sts-mxmissing.lab"), HostSpec(name="mx2.sts-mxmissing.lab")),
        mta_sts=MtaStsSpec(mx=("mx1.sts-mxmissing.lab",)),
    ),
    Scenario(
        domain="sts-shortage.lab",
        description="MTA-STS max_age of one hour",
        expected=_codes("mta_sts.max_age_short"),
        hosts=_one("sts-shortage.lab"),
        mta_sts=MtaStsSpec(max_age=3600),
    ),
    Scenario(
        domain="sts-enforce-broken.lab",
        description="MTA-STS enforce, and the MX certificate has expired",
        expected=_codes("cert.expired", "mta_sts.enforce_tls_failure", _STRICT_FAIL),
        hosts=_one("sts-enforce-broken.lab", cert=CertSpec(days_valid=(-100, -1))),
        mta_sts=MtaStsSpec(),
    ),
    Scenario(
        domain="sts-oversize.lab",
        description="the policy is larger than 64 KiB",
        expected=_codes("mta_sts.policy_fetch_failed"),
        hosts=_one("sts-oversize.lab"),
        mta_sts=MtaStsSpec(serving=PolicyServing.OVERSIZE),
    ),
    Scenario(
        domain="sts-slow.lab",
        description="the policy host sends the policy a byte every half second",
        expected=_codes("mta_sts.policy_fetch_failed"),
        hosts=_one("sts-slow.lab"),
        mta_sts=MtaStsSpec(serving=PolicyServing.SLOW),
        slow=True,
    ),
    # -- TLS-RPT (RFC 8460) -------------------------------------------------------------
    Scenario(
        domain="rpt-missing.lab",
        description="no TLS-RPT record",
        expected=_codes("tls_rpt.missing"),
        hosts=_one("rpt-missing.lab"),
        tls_rpt=False,
    ),
    Scenario(
        domain="rpt-invalid.lab",
        description="TLS-RPT record with an ftp: report URI",
        expected=_codes("tls_rpt.invalid"),
        hosts=_one("rpt-invalid.lab"),
        tls_rpt=False,
        records=_rpt("rpt-invalid.lab", "v=TLSRPTv1; rua=ftp://reports.rpt-invalid.lab/tlsrpt"),
    ),
    Scenario(
        domain="rpt-two.lab",
        description="two TLS-RPT records",
        expected=_codes("tls_rpt.invalid"),
        hosts=_one("rpt-two.lab"),
        tls_rpt=False,
        records=_rpt(
            "rpt-two.lab",
            "v=TLSRPTv1; rua=mailto:tlsrpt@rpt-two.lab",
            "v=TLSRPTv1; rua=https://reports.rpt-two.lab/tlsrpt",
        ),
    ),
    # -- DNSSEC and DANE (RFC 7672, RFC 7671) ---------------------------------------------
    Scenario(
        domain="dane-good.lab",
        description="signed zone, TLSA 3 1 1 for the leaf and 2 1 1 for the intermediate",
        expected=_codes(),
        hosts=_one("dane-good.lab", tlsa=ROLLOVER),
        dnssec=_SIGNED,
    ),
    Scenario(
        domain="dane-dualkey.lab",
        description="ECDSA and RSA certificates; TLSA pins only the ECDSA key (--deep sees it)",
        expected=_codes(),
        hosts=_one(
            "dane-dualkey.lab",
            second_cert=CertSpec(key="rsa2048"),
            tlsa=(TlsaSpec(of="leaf"), TlsaSpec(of="other")),
        ),
        dnssec=_SIGNED,
    ),
    Scenario(
        domain="dane-mismatch.lab",
        description="signed zone, TLSA records for keys the MX does not use",
        expected=_codes("dane.mismatch", _STRICT_FAIL),
        hosts=_one(
            "dane-mismatch.lab",
            tlsa=(TlsaSpec(of="other"), TlsaSpec(usage=2, of="other_issuer")),
        ),
        dnssec=_SIGNED,
    ),
    Scenario(
        domain="dane-pkix.lab",
        description="signed zone, only PKIX-TA/PKIX-EE TLSA records (unusable for SMTP)",
        expected=_codes("dane.unusable_record"),
        hosts=_one("dane-pkix.lab", tlsa=(TlsaSpec(usage=1), TlsaSpec(usage=0, of="issuer"))),
        dnssec=_SIGNED,
    ),
    Scenario(
        domain="dane-insecure.lab",
        description="TLSA records in an unsigned zone",
        expected=_codes("dane.insecure_tlsa"),
        hosts=_one("dane-insecure.lab", tlsa=ROLLOVER),
    ),
    Scenario(
        domain="dane-missing.lab",
        description="signed zone without TLSA records",
        expected=_codes("dane.missing"),
        hosts=_one("dane-missing.lab"),
        dnssec=_SIGNED,
    ),
    Scenario(
        domain="dane-single.lab",
        description="signed zone, a single TLSA record (no rollover scheme)",
        expected=_codes("dane.no_rollover"),
        hosts=_one("dane-single.lab", tlsa=(DANE_EE,)),
        dnssec=_SIGNED,
    ),
    Scenario(
        domain="bogus.lab",
        description="valid DS and DNSKEY, but corrupted signatures on the zone's data",
        expected=_codes("dnssec.bogus"),
        tolerated=_codes(*_BOGUS_SYMPTOMS),
        hosts=_one("bogus.lab", tlsa=ROLLOVER),
        dnssec=DnssecMode.BOGUS,
    ),
    Scenario(
        domain="bogus-expired.lab",
        description="valid DS and DNSKEY, but the data's signatures expired yesterday",
        expected=_codes("dnssec.bogus"),
        tolerated=_codes(*_BOGUS_SYMPTOMS),
        hosts=_one("bogus-expired.lab", tlsa=ROLLOVER),
        dnssec=DnssecMode.EXPIRED,
    ),
    # -- nobody can deliver (appended: earlier rows keep their addresses) ----------------
    Scenario(
        domain="closedbanner.lab",
        description="the only MX sends its 220 banner, then closes before EHLO",
        expected=_codes("smtp.rate_limited", _NO_MX),
        hosts=_one("closedbanner.lab", ports=ports(SmtpMode.CLOSE_AFTER_BANNER)),
    ),
    Scenario(
        domain="ehlobroken.lab",
        description="the only MX answers EHLO with a line that is not an SMTP reply",
        expected=_codes("smtp.ehlo_rejected", _NO_MX),
        hosts=_one("ehlobroken.lab", ports=ports(SmtpMode.EHLO_VIOLATION)),
    ),
    Scenario(
        domain="allbusy.lab",
        description="three MX hosts, every one answers 421 to everyone",
        expected=_codes("smtp.rate_limited", _NO_MX),
        tolerated=_codes("smtp.banner_rejected"),
        hosts=tuple(
            HostSpec(name=f"mx{i}.allbusy.lab", ports=ports(SmtpMode.BANNER_421)) for i in (1, 2, 3)
        ),
    ),
    # -- provider-like shapes of real domains ---------------------------------------------
    Scenario(
        domain="bigmail.lab",
        description="one MX name, three IPv4 and two IPv6 addresses sharing a wildcard "
        "certificate, port 25 only (as large providers run MX hosts)",
        expected=_codes(),
        hosts=(
            HostSpec(
                name="mx.in.bigmail.lab",
                ports=RELAY_ONLY,
                cert=CertSpec(names=("*.in.bigmail.lab",)),
                addresses=3,
                mapped_v6=2,
            ),
        ),
        demo=True,
    ),
    Scenario(
        domain="fivemx.lab",
        description="five MX hosts; only the first listens on 465/587 (try --ports 25,465,587)",
        expected=_codes(),
        demo=True,
        hosts=(
            HostSpec(name="mx1.fivemx.lab"),
            *(HostSpec(name=f"mx{i}.fivemx.lab", ports=RELAY_ONLY) for i in (2, 3, 4, 5)),
        ),
    ),
    Scenario(
        domain="submit.lab",
        description="submission advertised by SRV: smtp.submit.lab on 465 (TLS) and 587 "
        "(STARTTLS, AUTH only after TLS); the MX on 25 only",
        expected=_codes(),
        hosts=(
            HostSpec(name="mx.submit.lab", ports=RELAY_ONLY),
            HostSpec(name="smtp.submit.lab", ports=SUBMISSION_PORTS),
        ),
        mx=("10 mx.submit.lab.",),
        records=(
            "_submissions._tcp.submit.lab. SRV 0 1 465 smtp.submit.lab.",
            "_submission._tcp.submit.lab. SRV 0 1 587 smtp.submit.lab.",
        ),
        demo=True,
    ),
    Scenario(
        domain="nosubmit.lab",
        description="SRV records that say submission is not offered (target '.')",
        expected=_codes("submission.not_advertised"),
        hosts=_one("nosubmit.lab", ports=RELAY_ONLY),
        records=(
            "_submissions._tcp.nosubmit.lab. SRV 0 0 0 .",
            "_submission._tcp.nosubmit.lab. SRV 0 0 0 .",
        ),
    ),
    Scenario(
        domain="lbpool.lab",
        description="one MX address behind a load balancer: STARTTLS missing on every other "
        "connection",
        expected=_codes("starttls.inconsistent"),
        tolerated=_codes("starttls.not_offered", _UNENCRYPTED),
        hosts=_one("lbpool.lab", ports=ports(SmtpMode.STARTTLS_FLAKY)),
    ),
    # -- benchmark (benchmarks/bench.py; appended, so earlier rows keep their addresses) --
    Scenario(
        domain="bench.lab",
        description="two MX hosts on three ports, signed zone, DANE, MTA-STS enforce",
        expected=_codes(),
        hosts=tuple(HostSpec(name=f"mx{i}.bench.lab", tlsa=ROLLOVER) for i in (1, 2)),
        mta_sts=MtaStsSpec(),
        dnssec=_SIGNED,
    ),
    # -- after the benchmark, so every row above keeps its addresses --
    Scenario(
        domain="ptr.lab",
        description="reverse DNS: no PTR, a PTR that does not resolve back, a stray banner name",
        expected=_codes("ptr.missing", "ptr.mismatch", "ptr.name_differs"),
        hosts=(
            HostSpec(name="mx1.ptr.lab", ptr=None, banner_name="localhost.localdomain"),
            HostSpec(name="mx2.ptr.lab", ptr="old-server.ptr.lab"),
        ),
        records=("old-server.ptr.lab. A 127.0.0.9",),
    ),
    # -- what mail users touch (appended: earlier rows keep their addresses) --
    Scenario(
        domain="mailbox.lab",
        description="what mail users touch, named by SRV records: submission with SMTP AUTH "
        "only inside TLS (the demo logs in), IMAP and POP3 with STARTTLS and implicit TLS; "
        "signed zone, TLSA on 25, 465 and 993 (PKIX usages on IMAP: usable there, not on SMTP)",
        expected=_codes(),
        hosts=(
            HostSpec(name="mx.mailbox.lab", ports=RELAY_ONLY, tlsa=ROLLOVER),
            HostSpec(
                name="mail.mailbox.lab",
                ports=USER_PORTS,
                tlsa=(
                    TlsaSpec(port=465),
                    TlsaSpec(usage=2, port=465, of="issuer"),
                    PKIX_EE_IMAPS,
                    PKIX_TA_IMAPS,
                ),
            ),
        ),
        mx=("10 mx.mailbox.lab.",),
        records=(
            "_submissions._tcp.mailbox.lab. SRV 0 1 465 mail.mailbox.lab.",
            "_submission._tcp.mailbox.lab. SRV 0 1 587 mail.mailbox.lab.",
            "_imaps._tcp.mailbox.lab. SRV 0 1 993 mail.mailbox.lab.",
            "_imap._tcp.mailbox.lab. SRV 0 1 143 mail.mailbox.lab.",
            "_pop3s._tcp.mailbox.lab. SRV 0 1 995 mail.mailbox.lab.",
            "_pop3._tcp.mailbox.lab. SRV 0 1 110 mail.mailbox.lab.",
        ),
        dnssec=_SIGNED,
        account="demo@mailbox.lab",
        demo=True,
    ),
    Scenario(
        domain="mailbox-plain.lab",
        description="IMAP offers a login before STARTTLS, POP3 offers no STLS at all, the "
        "POP3S port its SRV record names is closed, and the IMAPS TLSA record pins a key the "
        "server does not use",
        expected=_codes(
            "imap.auth_before_tls",
            "pop3.auth_before_tls",
            "starttls.not_offered",
            "pop3.unavailable",
            "dane.mismatch",
        ),
        hosts=(
            HostSpec(name="mx.mailbox-plain.lab", ports=RELAY_ONLY, tlsa=ROLLOVER),
            HostSpec(
                name="imap.mailbox-plain.lab",
                ports=MappingProxyType({143: MailboxMode.PLAIN_LOGIN, 993: MailboxMode.GOOD}),
                tlsa=(TlsaSpec(port=993, of="other"),),
            ),
            HostSpec(
                name="pop.mailbox-plain.lab",
                ports=MappingProxyType({110: MailboxMode.NO_STARTTLS}),
            ),
        ),
        mx=("10 mx.mailbox-plain.lab.",),
        records=(
            "_imap._tcp.mailbox-plain.lab. SRV 0 1 143 imap.mailbox-plain.lab.",
            "_imaps._tcp.mailbox-plain.lab. SRV 0 1 993 imap.mailbox-plain.lab.",
            "_pop3._tcp.mailbox-plain.lab. SRV 0 1 110 pop.mailbox-plain.lab.",
            "_pop3s._tcp.mailbox-plain.lab. SRV 0 1 995 pop.mailbox-plain.lab.",
        ),
        dnssec=_SIGNED,
    ),
)


SHARED_MX_HOST = "mx.shared.lab"  # the one MX of every tenant of shared_mx_scenarios()


def shared_mx_scenarios(tenants: int) -> tuple[Scenario, ...]:
    """A provider and ``tenants`` domains whose only MX is the provider's one host.

    ``shared.lab`` runs ``mx.shared.lab`` (one address, a signed zone, DANE
    with rollover); ``tenant1.lab`` … publish ``10 mx.shared.lab.`` and no
    host of their own, as domains hosted by one mail provider do.  Tests of
    a shared runtime start ``Lab(shared_mx_scenarios(n))``; the rows are not
    in :data:`SCENARIOS`, so ``mxtls demo`` and the golden snapshot do not
    see them.
    """
    provider = Scenario(
        domain="shared.lab",
        description="a mail provider: one MX host for every tenant domain",
        expected=_codes(),
        hosts=(HostSpec(name=SHARED_MX_HOST, tlsa=ROLLOVER),),
        dnssec=_SIGNED,
    )
    rows = [
        Scenario(
            domain=f"tenant{i}.lab",
            description=f"tenant {i} of shared.lab: its only MX is {SHARED_MX_HOST}",
            expected=_codes(),
            mx=(f"10 {SHARED_MX_HOST}.",),
        )
        for i in range(1, tenants + 1)
    ]
    return (provider, *rows)


def scenario_table() -> dict[str, Scenario]:
    """The scenarios by domain (a fresh dict)."""
    return {sc.domain: sc for sc in SCENARIOS}
