"""Submission discovery checks (``submission.not_advertised``): RFC 6186 SRV records."""

from __future__ import annotations

from collections.abc import Sequence

from mxtls.checks.codes import make_finding
from mxtls.models.findings import Finding
from mxtls.models.observations import DnsAnswer, SrvTarget


def check_submission(
    domain: str, srv: Sequence[DnsAnswer], targets: Sequence[SrvTarget]
) -> list[Finding]:
    """Judge whether the domain tells mail clients where to submit.

    Emits ``submission.not_advertised`` (target DOMAIN, info).  RFC 6186 §3:
    "_submission._tcp" (and RFC 8314 §5.1 "_submissions._tcp") SRV records
    name the Mail Submission Agent a client should use; a target of "."
    means the service "is decidedly not available" (RFC 2782).  A failed
    lookup concludes nothing here (it is ``dns.error``).
    """
    if any(answer.failed for answer in srv):
        return []
    if any(t.target != "." for t in targets):
        return []
    names = " and ".join(f"{a.qname}" for a in srv)
    if targets:
        why = f"the SRV records say submission is not offered (target '.'): {names}"
    else:
        why = f"no SRV record names a submission server ({names or 'not looked up'})"
    return [make_finding("submission.not_advertised", domain, f"{domain}: {why}")]
