"""TLS-RPT checks (RFC 8460): can senders report TLS failures to the domain?

Pure functions from :class:`~mxtls.models.policy.TlsRptObservation` to
findings.  A failed TXT lookup (SERVFAIL, REFUSED, timeout) is ``dns.error``,
judged by the DNS check from ``obs.txt``, not ``tls_rpt.missing``.
"""

from __future__ import annotations

from mxtls.checks._common import quote
from mxtls.checks.codes import make_finding
from mxtls.models.findings import Finding
from mxtls.models.policy import TlsRptObservation

MAX_REASONS = 3  # parser reasons quoted in one message
_REASON_CHARS = 120


def check_tls_rpt(obs: TlsRptObservation) -> list[Finding]:
    """Judge the ``_smtp._tls`` TXT record (target DOMAIN).

    Emits:

    * ``tls_rpt.missing`` — no TXT at ``_smtp._tls.DOMAIN``: without it,
      senders that hit TLS or MTA-STS/DANE failures have nowhere to report
      them (RFC 8460 §3), so a broken policy goes unnoticed.
    * ``tls_rpt.invalid`` — RFC 8460 §3: "If multiple TXT records for
      '_smtp._tls' are returned by the resolver, records that do not begin
      with 'v=TLSRPTv1;' are discarded.  If the number of resulting records
      is not one, senders MUST assume the recipient domain does not
      implement TLSRPT."  The record must carry ``rua=`` with URIs that are
      ``mailto:`` or ``https:``.  The ``_smtp._tls`` name exists only for
      this record, so TXT data there without a ``v=TLSRPTv1`` string is a
      broken record too.
    """
    domain = obs.domain
    txt = obs.txt
    if txt.failed:
        return []
    name = f"_smtp._tls.{domain}"
    if txt.status != "NOERROR" or not obs.txt_strings:
        return [
            make_finding(
                "tls_rpt.missing",
                domain,
                f"{domain}: no TLS-RPT record at {name} ({txt.status}); "
                "senders cannot report TLS delivery failures",
            )
        ]
    if not obs.rpt_records:
        return [
            make_finding(
                "tls_rpt.invalid",
                domain,
                f"{domain}: TXT at {name} does not start with 'v=TLSRPTv1' (case-sensitive): "
                f'"{quote(obs.txt_strings[0])}"',
            )
        ]
    if len(obs.rpt_records) > 1:
        return [
            make_finding(
                "tls_rpt.invalid",
                domain,
                f"{domain}: {len(obs.rpt_records)} v=TLSRPTv1 records at {name}; senders "
                "need exactly one and send no reports otherwise",
            )
        ]
    if obs.errors or not obs.rua:
        reasons = [quote(r, _REASON_CHARS) for r in obs.errors] or ["no usable rua"]
        more = len(reasons) - MAX_REASONS
        text = "; ".join(reasons[:MAX_REASONS]) + (f" (+{more} more)" if more > 0 else "")
        return [
            make_finding("tls_rpt.invalid", domain, f"{domain}: invalid TLS-RPT record: {text}")
        ]
    return []
