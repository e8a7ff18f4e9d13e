"""Certificate checks (``cert.*`` except ``cert.revoked``).

The chain judged is the one sent in the SNI handshake (``handshake``); the
SNI-less handshake only serves the leaf comparison of ``cert.sni_differs``.
Trust is decided by :mod:`mxtls.checks.chain` (real path validation, with
failures classified); the other codes are facts read off the certificates.
"""

from __future__ import annotations

import ipaddress
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from cryptography import x509

from mxtls.checks._common import aware, join_names, quote, target_of
from mxtls.checks.chain import ChainAnalysis, ChainVerdict, analyze_chain, is_self_signed
from mxtls.checks.codes import make_finding
from mxtls.models.deep import KeyTypeCertificate
from mxtls.models.findings import Finding
from mxtls.models.observations import (
    CertificateInfo,
    Discovery,
    EndpointObservation,
    UnparsableCertificate,
)
from mxtls.trust.certinfo import MAX_CHAIN_JUDGED, UnparsableCertificateError, load_certificate
from mxtls.trust.names import hostname_matches
from mxtls.trust.store import TrustStore

MIN_RSA_DSA_BITS = 2048  # NIST SP 800-131A rev. 2; CA/B Forum BR §6.1.5
MIN_EC_BITS = 256  # CA/B Forum BR §6.1.5: P-256 or larger
# MD2/MD4/MD5 and SHA-1 signatures: collisions are practical (CA/B Forum BR §7.1.3.2).
WEAK_SIGNATURE = re.compile(r"md[245]|sha-?1(?![0-9])", re.IGNORECASE)
FINGERPRINT_CHARS = 16  # hex digits of a fingerprint shown in messages


# ------------------------------------------------------------------ host names


def presented_names(leaf: CertificateInfo) -> list[str]:
    """The identifiers to match: DNS SANs, or the CN only when there is no DNS SAN.

    RFC 6125 §6.4.4: "a client MUST NOT seek a match for a reference
    identifier of CN-ID if the presented identifiers include a DNS-ID".
    """
    if leaf.sans:
        return list(leaf.sans)
    return [leaf.common_name] if leaf.common_name else []


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


# ------------------------------------------------------------ per endpoint


def check_certificate(
    obs: EndpointObservation, *, now: datetime, warn_days: int, trust: TrustStore
) -> list[Finding]:
    """Judge the certificate chain of one endpoint's SNI handshake.

    Emits:
        ``cert.expired`` / ``cert.not_yet_valid`` — RFC 5280 §4.1.2.5: the
        validity period is "the time interval during which the CA warrants that
        it will maintain information about the status of the certificate";
        outside it the certificate is invalid (leaf and intermediates).
        ``cert.expiring_soon`` — notAfter within ``warn_days`` days.
        ``cert.hostname_mismatch`` — RFC 6125 §6.4.1: "matching of the reference
        identifier against the presented identifier is performed by comparing
        the set of domain name labels using a case-insensitive ASCII
        comparison"; the reference identifier is the MX host name, as RFC 8461
        §4.2 (MTA-STS) requires (see :func:`hostname_matches`).
        ``cert.self_signed`` / ``cert.untrusted`` / ``cert.chain_incomplete`` —
        RFC 8461 §4.2: the certificate must chain to a root CA trusted by the
        sending MTA; the failure is classified by
        :func:`mxtls.checks.chain.analyze_chain`.  A chain with an unparsable
        certificate is ``cert.untrusted`` too: strict X.509 parsers (Go's,
        cryptography's) refuse the whole Certificate message, and nothing
        about an unparsable leaf can be validated.
        ``cert.chain_order`` — RFC 8446 §4.4.2: "The sender's certificate MUST
        come in the first CertificateEntry in the list.  Each following
        certificate SHOULD directly certify the one immediately preceding it".
        ``cert.key_weak`` — RSA/DSA keys below 2048 bits, EC below 256 bits.
        ``cert.signature_weak`` — MD5 or SHA-1 signatures on the leaf or an
        intermediate (a root's self-signature is not checked by anyone).
        ``cert.sni_differs`` — the leaf sent without SNI is another certificate
        (senders that send no SNI, Postfix by default among them, get that one).
    """
    handshake = obs.handshake
    if handshake is None:
        return []
    target = target_of(obs)
    findings = _unparsable_findings(target, handshake.unparsable)
    if not handshake.chain:
        return findings
    now = aware(now)
    infos = handshake.chain[:MAX_CHAIN_JUDGED]
    leaf = infos[0]
    if len(handshake.chain) > MAX_CHAIN_JUDGED:
        findings.append(
            make_finding(
                "cert.chain_order",
                target,
                f"{target}: the server sends {len(handshake.chain)} certificates; only the "
                f"first {MAX_CHAIN_JUDGED} are judged (a chain needs two to four)",
            )
        )

    if not _is_ip(obs.host):
        names = presented_names(leaf)
        if not any(hostname_matches(name, obs.host) for name in names):
            shown = join_names(quote(n, 60) for n in names) or "no DNS name at all"
            findings.append(
                make_finding(
                    "cert.hostname_mismatch",
                    target,
                    f"{target}: certificate is not valid for {obs.host} "
                    f"({'SANs' if leaf.sans else 'CN'}: {shown})",
                )
            )

    try:
        certs = [load_certificate(info.der) for info in infos]
    except UnparsableCertificateError as exc:
        # The probe parsed these bytes already; a failure here means the
        # observation was built elsewhere.  Judge what the facts allow.
        findings.append(
            make_finding("cert.untrusted", target, f"{target}: certificate does not parse: {exc}")
        )
        judged = [leaf]
    else:
        analysis = analyze_chain(certs, trust, now)
        findings.extend(_trust_findings(target, analysis, infos, certs, now))
        judged = _judged_infos(analysis, infos, certs)
        order = _order_problem(analysis, certs, trust)
        if order:
            findings.append(make_finding("cert.chain_order", target, f"{target}: {order}"))

    for index, info in enumerate(judged):
        role = "certificate" if index == 0 else f"intermediate {quote(info.subject, 60)}"
        findings.extend(_validity(target, role, info, now, warn_days))
        if _key_weak(info):
            findings.append(
                make_finding(
                    "cert.key_weak",
                    target,
                    f"{target}: {role} has a weak {info.key_type} key of {info.key_bits} bits",
                )
            )
        if WEAK_SIGNATURE.search(info.signature_algorithm):
            findings.append(
                make_finding(
                    "cert.signature_weak",
                    target,
                    f"{target}: {role} is signed with {info.signature_algorithm}",
                )
            )

    nosni = obs.handshake_nosni
    if nosni is not None and nosni.chain:
        other = nosni.chain[0]
        if other.sha256_fingerprint != leaf.sha256_fingerprint:
            findings.append(
                make_finding(
                    "cert.sni_differs",
                    target,
                    f"{target}: without SNI the server sends {quote(other.subject, 60)} "
                    f"({_fp(other)}) instead of {quote(leaf.subject, 60)} ({_fp(leaf)})",
                )
            )
    return findings


def _unparsable_findings(target: str, unparsable: Sequence[UnparsableCertificate]) -> list[Finding]:
    if not unparsable:
        return []
    first = unparsable[0]
    which = "the leaf certificate" if first.index == 0 else f"certificate #{first.index}"
    more = f" (and {len(unparsable) - 1} more)" if len(unparsable) > 1 else ""
    return [
        make_finding(
            "cert.untrusted",
            target,
            f"{target}: {which}{more} of the chain: {quote(first.reason, 160)}; "
            "strict TLS clients refuse such a chain",
        )
    ]


def _trust_findings(
    target: str,
    analysis: ChainAnalysis,
    infos: Sequence[CertificateInfo],
    certs: Sequence[x509.Certificate],
    now: datetime,
) -> list[Finding]:
    verdict = analysis.verdict
    if verdict is ChainVerdict.TRUSTED:
        return []
    if verdict is ChainVerdict.SELF_SIGNED:
        return [
            make_finding(
                "cert.self_signed",
                target,
                f"{target}: leaf {quote(infos[0].subject, 60)} is self-signed",
            )
        ]
    if verdict is ChainVerdict.CHAIN_INCOMPLETE:
        return [
            make_finding(
                "cert.chain_incomplete", target, f"{target}: {quote(analysis.reason, 160)}"
            )
        ]
    if verdict is ChainVerdict.UNTRUSTED:
        return [make_finding("cert.untrusted", target, f"{target}: {quote(analysis.reason, 160)}")]
    # REJECTED: a path to a trusted root exists, yet validation refused it.  When
    # facts reported on their own explain it (weak signature, a certificate
    # outside its validity period), say nothing more; otherwise it is untrusted.
    judged = _judged_infos(analysis, infos, certs)
    explained = any(
        WEAK_SIGNATURE.search(info.signature_algorithm)
        or not info.not_before <= now <= info.not_after
        for info in judged
    ) or _windows_disjoint(judged)
    if explained:
        return []
    return [
        make_finding(
            "cert.untrusted",
            target,
            f"{target}: path to a trusted root rejected: {quote(analysis.reason, 160)}",
        )
    ]


def _windows_disjoint(infos: Sequence[CertificateInfo]) -> bool:
    if not infos:
        return False
    return max(i.not_before for i in infos) > min(i.not_after for i in infos)


def _judged_infos(
    analysis: ChainAnalysis,
    infos: Sequence[CertificateInfo],
    certs: Sequence[x509.Certificate],
) -> list[CertificateInfo]:
    """Leaf and intermediates of the path, as sent; trust anchors and roots excluded."""
    path = list(analysis.path)
    if analysis.anchored and len(path) > 1:
        path = path[:-1]
    by_cert = dict(zip(certs, infos, strict=True))
    judged: list[CertificateInfo] = []
    for index, cert in enumerate(path):
        info = by_cert.get(cert)
        if info is None or (index > 0 and is_self_signed(cert)):
            continue
        judged.append(info)
    return judged


def _order_problem(
    analysis: ChainAnalysis, certs: Sequence[x509.Certificate], trust: TrustStore
) -> str | None:
    """Why the sent list is not ``leaf, its issuer, that one's issuer, …``, or None.

    A trusted root sent along is no fault (RFC 8446 §4.4.2: it "MAY be
    omitted"), even when the intermediate before it is missing.
    """
    on_path = set(analysis.path)
    sent = [c for c in certs if c in on_path or not (is_self_signed(c) and trust.contains(c))]
    extras = [c for c in sent[1:] if c not in on_path]
    if extras:
        names = join_names(quote(c.subject.rfc4514_string(), 60) for c in extras)
        return f"chain contains certificates that are not part of its path: {names}"
    sent_set = set(sent)
    expected = [c for c in analysis.path if c in sent_set]
    if sent != expected:
        return f"chain of {len(certs)} certificates is not sent in leaf → issuer order"
    return None


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def _validity(
    target: str, role: str, info: CertificateInfo, now: datetime, warn_days: int
) -> list[Finding]:
    if now > info.not_after:
        days = (now - info.not_after).days
        return [
            make_finding(
                "cert.expired",
                target,
                f"{target}: {role} expired {info.not_after:%Y-%m-%d} ({_days(days)} ago)",
            )
        ]
    if now < info.not_before:
        days = (info.not_before - now).days
        return [
            make_finding(
                "cert.not_yet_valid",
                target,
                f"{target}: {role} is not valid before {info.not_before:%Y-%m-%d} "
                f"(in {_days(days)})",
            )
        ]
    left = info.not_after - now
    if warn_days > 0 and left <= timedelta(days=warn_days):
        return [
            make_finding(
                "cert.expiring_soon",
                target,
                f"{target}: {role} expires {info.not_after:%Y-%m-%d} (in {_days(left.days)}, "
                f"threshold {_days(warn_days)})",
            )
        ]
    return []


def _key_weak(info: CertificateInfo) -> bool:
    kind = info.key_type.upper()
    if kind in ("RSA", "DSA"):
        return info.key_bits < MIN_RSA_DSA_BITS
    if kind.startswith("EC-") or kind == "EC":
        return info.key_bits < MIN_EC_BITS
    return False


def _fp(info: CertificateInfo) -> str:
    return f"sha256 {info.sha256_fingerprint[:FINGERPRINT_CHARS]}…"


# ------------------------------------------------------------ across endpoints


def check_certificate_consistency(endpoints: Sequence[EndpointObservation]) -> list[Finding]:
    """Compare the leaf certificates the addresses of one host present per port.

    Emits ``cert.mismatch_across_ips`` (target MXHOST, one finding per host).
    Not wrong in itself (a rollout in progress, per-site keys), but a
    DANE/TLSA or pinning record must cover all of them.
    """
    leaves: dict[str, dict[int, dict[str, set[str]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(set))
    )
    for obs in endpoints:
        if obs.handshake is not None and obs.handshake.chain:
            fingerprint = obs.handshake.chain[0].sha256_fingerprint
            leaves[obs.host][obs.port][fingerprint].add(obs.ip)
    findings: list[Finding] = []
    for host in sorted(leaves):
        parts = []
        for port in sorted(leaves[host]):
            seen = leaves[host][port]
            if len(seen) > 1:
                addresses = sum(len(ips) for ips in seen.values())
                parts.append(f"port {port}: {len(seen)} certificates across {addresses} addresses")
        if parts:
            findings.append(
                make_finding(
                    "cert.mismatch_across_ips",
                    host,
                    f"{host}: addresses present different certificates ({'; '.join(parts)})",
                )
            )
    return findings


# ---------------------------------------------------------------------- CAA


def check_caa(discovery: Discovery) -> list[Finding]:
    """Report MX hosts whose name has no CAA RRset up to the zone apex.

    Emits ``cert.caa_missing`` (target MXHOST).  RFC 8659 §3: a CA climbs from
    the name towards the root and, finding no CAA RRset on the way, is not
    restricted: any CA may issue for the MX host.  ``MxHost.caa`` is the
    closest RRset found (or the last empty answer); a *failed* CAA lookup is
    ``dns.error``, not this.  A host with no address serves no certificate,
    so it is not judged (``mx.unresolvable`` says what is wrong with it).
    """
    findings: list[Finding] = []
    for host in discovery.hosts:
        caa = host.caa
        if host.ip_literal or not host.addresses or caa is None or caa.failed or caa.records:
            continue
        where = (host.caa_domain or caa.qname).rstrip(".")
        findings.append(
            make_finding(
                "cert.caa_missing",
                host.name,
                f"{host.name}: no CAA record found climbing from {host.name} "
                f"(last looked up: {where}, {caa.status})",
            )
        )
    return findings


def check_stapled_ocsp(certificates: Sequence[KeyTypeCertificate], target: str) -> list[Finding]:
    """``cert.revoked``: a stapled OCSP response says a certificate is revoked.

    RFC 6066 §8: the server itself staples its CA's answer for the chain it
    sends; the deep scan records the status per key type's certificate.
    """
    return [
        make_finding(
            "cert.revoked",
            target,
            f"{target}: the stapled OCSP response says the {cert.key_type} certificate is revoked",
        )
        for cert in certificates
        if cert.ocsp_status == "revoked"
    ]
