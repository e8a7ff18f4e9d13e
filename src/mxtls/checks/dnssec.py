"""DNSSEC checks: is the path to the mail hosts authenticated (``dnssec.*``)?"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mxtls.checks.codes import make_finding
from mxtls.models.dnssec import DnssecResult
from mxtls.models.findings import Finding

# A TLSA owner name: "_25._tcp.mx1.example" concerns the MX host "mx1.example" (RFC 6698 §3).
_TLSA_PREFIX = re.compile(r"^_\d{1,5}\._(?:tcp|udp|sctp)\.", re.IGNORECASE)
_SRV_PREFIX = re.compile(r"^_[a-z0-9-]{1,63}\._(?:tcp|udp)\.", re.IGNORECASE)
_HOST_TYPES = frozenset({"A", "AAAA"})


def check_dnssec(
    results: Sequence[DnssecResult],
    *,
    domain: str,
    bogus_only: Sequence[DnssecResult] = (),
) -> list[Finding]:
    """Judge the DNSSEC status of the domain's MX answer and its hosts' answers.

    ``results`` are the statuses of the lookups of one run: the domain's MX
    (or, with no MX, its own A/AAAA), each MX host's A/AAAA, and TLSA.
    ``bogus_only`` are statuses judged for ``dnssec.bogus`` alone: the
    RFC 6186 SRV answers and their hosts' addresses (that they are unsigned
    says nothing about delivery to the domain).

    Emits:
        ``dnssec.bogus`` (target: the domain, or the MX host a name belongs to)
        — RFC 4035 §5.5: a bogus answer "fails validation"; RFC 7672 §2.1.1:
        such a lookup is a failure, so a DANE sender must not deliver on it.
        One finding per target, naming the queries that failed.
        ``dnssec.unsigned`` (target: the domain or the MX host) — RFC 7672
        §2.2: "when the MX RRset is insecure ... DANE does not apply"; RFC 7672
        §2.2.2: TLSA records are looked up only for MX hosts whose address
        records are secure.  One finding for the domain when its MX answer is
        insecure, one per MX host whose A/AAAA answers are insecure.

    ``indeterminate`` results give no finding here: a failed lookup is
    ``dns.error``'s business.
    """
    domain = domain.lower().rstrip(".")
    findings: list[Finding] = []
    bogus: dict[str, list[DnssecResult]] = {}
    for result in (*results, *bogus_only):
        if result.status == "bogus":
            bogus.setdefault(_target(result), []).append(result)
    for target, failed in bogus.items():
        queries = ", ".join(f"{r.qname}/{r.rdtype}" for r in failed)
        reason = next((r.reason for r in failed if r.reason), "validation failed")
        findings.append(
            make_finding("dnssec.bogus", target, f"{target}: DNSSEC bogus for {queries}: {reason}")
        )
    unsigned: dict[str, DnssecResult] = {}
    for result in results:
        if result.status != "insecure" or not _concerns_delivery(result, domain):
            continue
        target = result.qname
        if target not in bogus:
            unsigned.setdefault(target, result)
    for target, result in unsigned.items():
        what = "MX answer" if result.rdtype == "MX" else "address records"
        reason = f": {result.reason}" if result.reason else ""
        message = f"{target}: {what} not DNSSEC-secure, DANE cannot apply{reason}"
        findings.append(make_finding("dnssec.unsigned", target, message))
    return findings


def _concerns_delivery(result: DnssecResult, domain: str) -> bool:
    """The domain's MX answer, or an address lookup of a host (or implicit MX)."""
    if result.rdtype == "MX":
        return result.qname == domain
    return result.rdtype in _HOST_TYPES


def _target(result: DnssecResult) -> str:
    """The finding target a name belongs to: a TLSA owner maps to its host, an SRV
    owner (``_imaps._tcp.example.com``, RFC 2782) to its domain."""
    if result.rdtype == "SRV":
        return _SRV_PREFIX.sub("", result.qname, count=1)
    return _TLSA_PREFIX.sub("", result.qname, count=1)
