"""MTA-STS checks (RFC 8461): what a strict sender makes of the domain's policy.

Pure functions from :class:`~mxtls.models.policy.MtaStsObservation` to
findings.  A TXT lookup that failed (SERVFAIL, REFUSED, timeout) is not an
answer: nothing is concluded from it here, it is ``dns.error`` (the DNS
check judges ``obs.txt``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mxtls.checks._common import join_names, quote
from mxtls.checks.codes import make_finding
from mxtls.models.findings import Finding
from mxtls.models.policy import MtaStsObservation
from mxtls.protocol.mta_sts import mx_matches_pattern

MAX_AGE_SHORT_SECONDS = 86_400  # one day (findings.md); RFC 8461 §3.2 expects weeks or more
MAX_REASONS = 3  # parser reasons quoted in one message
_REASON_CHARS = 120


def _reasons(reasons: Iterable[str]) -> str:
    items = [quote(r, _REASON_CHARS) for r in reasons]
    head = "; ".join(items[:MAX_REASONS])
    more = len(items) - MAX_REASONS
    return head + (f" (+{more} more)" if more > 0 else "")


def _host(name: str) -> str:
    return name.rstrip(".").lower()


def check_mta_sts(obs: MtaStsObservation, mx_hosts: list[str]) -> list[Finding]:
    """Judge the MTA-STS record and policy against the domain's MX hosts.

    Emits (target DOMAIN unless noted):

    * ``mta_sts.missing`` — no TXT at ``_mta-sts.DOMAIN`` (NXDOMAIN/NODATA).
    * ``mta_sts.txt_invalid`` — RFC 8461 §3.1: "records that do not begin with
      'v=STSv1;' are discarded.  If the number of resulting records is not
      one, or if the resulting record is syntactically invalid, senders MUST
      assume the recipient domain does not have an available MTA-STS
      Policy."  The ``_mta-sts`` name exists only for this record, so TXT
      data there without a ``v=STSv1`` string is a broken record too.
    * ``mta_sts.policy_fetch_failed`` — RFC 8461 §3.3: the Policy Host
      "MUST present an X.509 certificate that is valid for the 'mta-sts'
      DNS-ID [...], chain to a root CA that is trusted by the Sending MTA,
      and be non-expired"; "Policies fetched via HTTPS are only valid if the
      HTTP response code is 200 (OK).  HTTP 3xx redirects MUST NOT be
      followed"; "a suggested maximum policy size is 64 kilobytes".  The
      policy host must also resolve and answer in time.
    * ``mta_sts.policy_invalid`` — the body breaks RFC 8461 §3.2 (version,
      mode, mx, max_age), or its media type is not ``text/plain`` (§3.2:
      "senders SHOULD validate that the media type is 'text/plain'").
    * ``mta_sts.mode_testing`` / ``mta_sts.mode_none`` — RFC 8461 §5: in
      ``testing`` "messages may be delivered as though there were no MTA-STS
      validation failure"; in ``none`` senders "should treat the Policy
      Domain as though it does not have any active policy".  Either way the
      policy stops no downgrade.
    * ``mta_sts.mx_not_covered`` (target MXHOST) — §4.1: "A receiving
      candidate MX host is valid according to an applied MTA-STS Policy if
      the MX record name matches one or more of the 'mx' fields in the
      applied policy."  An MX matching no pattern receives no mail from
      strict senders once the policy is enforced.  Not judged in mode
      ``none``, which applies no MX rule.
    * ``mta_sts.max_age_short`` — §3.2: "To mitigate the risks of attacks at
      policy refresh time, it is expected that this value typically be in
      the range of weeks or greater."  Below one day, an attacker need only
      wait for expiry.  Judged for ``enforce`` and ``testing`` only.

    Args:
        obs: the observation from :func:`mxtls.net.https.observe_mta_sts`.
        mx_hosts: the domain's MX host names (A-labels; a trailing dot is ignored).
    """
    domain = obs.domain
    txt = obs.txt
    if txt.failed:
        return []
    if txt.status != "NOERROR" or not obs.txt_strings:
        return [
            make_finding(
                "mta_sts.missing",
                domain,
                f"{domain}: no MTA-STS record at _mta-sts.{domain} ({txt.status})",
            )
        ]
    if not obs.sts_records:
        shown = quote(obs.txt_strings[0])
        return [
            make_finding(
                "mta_sts.txt_invalid",
                domain,
                f"{domain}: TXT at _mta-sts.{domain} does not start with 'v=STSv1' "
                f'(case-sensitive): "{shown}"',
            )
        ]
    if len(obs.sts_records) > 1:
        return [
            make_finding(
                "mta_sts.txt_invalid",
                domain,
                f"{domain}: {len(obs.sts_records)} v=STSv1 records at _mta-sts.{domain}; "
                "senders need exactly one and ignore MTA-STS otherwise",
            )
        ]
    if obs.record_id is None:
        return [
            make_finding(
                "mta_sts.txt_invalid",
                domain,
                f"{domain}: invalid MTA-STS record: {_reasons(obs.record_errors) or 'unparsable'}",
            )
        ]
    fetch = obs.fetch
    if fetch is None:  # pragma: no cover - a valid record is always followed by a fetch
        return []
    if fetch.error is not None and fetch.error.kind != "media_type":
        return [
            make_finding(
                "mta_sts.policy_fetch_failed",
                domain,
                f"{domain}: cannot fetch {fetch.url}: {fetch.error.kind}: "
                f"{quote(fetch.error.detail, 200)}",
            )
        ]
    problems = list(obs.policy_errors)
    if fetch.error is not None:  # media type
        problems.insert(0, fetch.error.detail)
    if problems:
        return [
            make_finding(
                "mta_sts.policy_invalid",
                domain,
                f"{domain}: policy at {fetch.url} is invalid: {_reasons(problems)}",
            )
        ]
    return _judge_policy(obs, mx_hosts)


def _judge_policy(obs: MtaStsObservation, mx_hosts: list[str]) -> list[Finding]:
    """Findings about a policy that senders accept."""
    domain = obs.domain
    findings: list[Finding] = []
    if obs.mode == "testing":
        findings.append(
            make_finding(
                "mta_sts.mode_testing",
                domain,
                f"{domain}: MTA-STS policy is in testing mode: senders report but still "
                "deliver over unauthenticated or plaintext connections",
            )
        )
    elif obs.mode == "none":
        findings.append(
            make_finding(
                "mta_sts.mode_none",
                domain,
                f"{domain}: MTA-STS policy mode is none: no MTA-STS protection is in force",
            )
        )
    if obs.mode in ("enforce", "testing"):
        seen: set[str] = set()
        for raw in mx_hosts:
            host = _host(raw)
            if not host or host in seen:
                continue
            seen.add(host)
            if not any(mx_matches_pattern(host, p) for p in obs.mx_patterns):
                patterns = join_names(obs.mx_patterns) or "none"
                findings.append(
                    make_finding(
                        "mta_sts.mx_not_covered",
                        host,
                        f"{host}: matches no mx pattern of {domain}'s MTA-STS policy "
                        f"({patterns}); strict senders will not deliver to it"
                        + (" once the policy is enforced" if obs.mode == "testing" else ""),
                    )
                )
        if obs.max_age is not None and obs.max_age < MAX_AGE_SHORT_SECONDS:
            findings.append(
                make_finding(
                    "mta_sts.max_age_short",
                    domain,
                    f"{domain}: MTA-STS max_age is {obs.max_age}s, below one day "
                    f"({MAX_AGE_SHORT_SECONDS}s); weeks are recommended",
                )
            )
    return findings


def enforce_failures(
    policy_mode: str | None, mx_hosts: list[str], tls_failures: Mapping[str, str]
) -> list[Finding]:
    """``mta_sts.enforce_tls_failure`` for each MX a strict sender could not use.

    RFC 8461 §5: in ``enforce`` mode "Sending MTAs MUST NOT deliver the
    message to hosts that fail MX matching or certificate validation or that
    do not support STARTTLS."  Only judged when the policy is valid and in
    ``enforce`` mode (pass ``obs.mode`` of a policy that produced no
    ``policy_*``/``txt_invalid`` finding, else None).

    Args:
        policy_mode: the policy's mode, or None when there is no usable policy.
        mx_hosts: the domain's MX host names, in preference order.
        tls_failures: MX host name -> why TLS or certificate validation failed
            on it (hosts that passed are absent).
    """
    if policy_mode != "enforce":
        return []
    failures = {_host(h): reason for h, reason in tls_failures.items()}
    findings: list[Finding] = []
    seen: set[str] = set()
    for raw in mx_hosts:
        host = _host(raw)
        if host in seen or host not in failures:
            continue
        seen.add(host)
        findings.append(
            make_finding(
                "mta_sts.enforce_tls_failure",
                host,
                f"{host}: MTA-STS mode is enforce but {quote(failures[host], 160)}; "
                "strict senders will not deliver to it",
            )
        )
    return findings
