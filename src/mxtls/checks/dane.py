"""DANE checks (RFC 7672, RFC 7671): are the TLSA records usable, secure and matching?

Pure: :class:`~mxtls.models.dane.DaneObservation` plus the DNSSEC status of
each MX host in, findings out.  Which TLSA answer counts as secure: the
validator's verdict when the lookup has one, else the resolver's AD bit,
else (a TLSA owner in the host's own name, no CNAME involved) the host's
status.  Anything else is ``indeterminate`` and no record is judged: a
verdict on records no sender is known to use would be a guess.

DANE applies on port 25 for every MX host (RFC 7672); on other ports
(submission 465/587, IMAP 143/993, POP3 110/995) only where TLSA records
were published for that port, with the usage rules of RFC 6698 §2.1.1: the
PKIX usages 0 and 1 are usable there (RFC 7672 §3.1.3 rules them out for
SMTP relay only).  Hosts found through RFC 6186 SRV records are looked up
only when the SRV answer is DNSSEC-secure (RFC 7673 §3), with the SRV
target as the TLSA base domain and reference name.

A failed TLSA lookup (SERVFAIL, REFUSED, timeout) is ``dns.error``, judged
by :func:`mxtls.checks.dns.check_lookups` from ``lookup.answer`` and
``lookup.attempts``, not here: it is not "no TLSA".  A bogus TLSA answer is
``dnssec.bogus``, judged by :func:`mxtls.checks.dnssec.check_dnssec` from
``lookup.dnssec``; no record of it is judged here.

Rollover rule (``dane.no_rollover``)
-----------------------------------
A rollover scheme exists when a key change would not break DANE: every key
the servers present is authenticated by at least two *independent pins*.
For a leaf key L seen in a handshake, the pins are:

* L itself, once, if any DANE-EE(3) record authenticates it.  ``3 1 1``,
  ``3 0 1`` and ``3 1 2`` of the same certificate are one pin: all die
  with that key.  Duplicate records count once.
* each CA key that a DANE-TA(2) record authenticates L through.  It
  survives a change of the leaf key (the "3 1 1 + 2 1 1" scheme).  A TA
  record computed from the leaf itself authenticates nothing, so "EE + TA
  on the same certificate" is one pin, not a scheme.
* each usable record that matches no certificate any endpoint presented:
  a pre-published next key or CA (RFC 7671 §8.1, "current + next").  It
  may also be the key of a certificate we did not see (a server holding
  RSA *and* ECDSA certificates shows one per handshake), so it gets the
  benefit of the doubt.

Consequence for RSA+ECDSA servers with one ``3 1 1`` per key: if both keys
were seen (e.g. on different addresses), each key has one pin and
``dane.no_rollover`` is reported ("one per key type"); if only one was seen,
the other record may be a standby and nothing is reported.  An info finding
is never raised on a guess.  Without any handshake, the rule falls back to
counting distinct usable records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mxtls.checks.codes import make_finding
from mxtls.models.dane import DaneEndpointResult, DaneObservation, TlsaLookup
from mxtls.models.dnssec import DnssecStatus
from mxtls.models.findings import Finding, endpoint_target
from mxtls.protocol.tlsa import TlsaRecord, TlsaSyntaxError, usable_for_port

SMTP_PORT = 25  # RFC 7672 covers MTA-to-MTA SMTP on port 25
SHORT_DATA_HEX = 16  # hex digits of association data quoted in messages


def check_dane(obs: DaneObservation, *, mx_dnssec: Mapping[str, DnssecStatus]) -> list[Finding]:
    """Judge the TLSA lookups and matches of a run.

    Args:
        obs: the TLSA lookups and per-endpoint matches.
        mx_dnssec: per MX host name, the DNSSEC status of its address
            answers (RFC 7672 §2.2.2: TLSA records are used only when the
            address records are secure).

    Emits:

    * ``dane.missing`` (MXHOST) — the host's addresses are secure but
      ``_25._tcp.HOST`` has no TLSA (NXDOMAIN/NODATA): senders fall back to
      unauthenticated TLS.
    * ``dane.insecure_tlsa`` (MXHOST) — TLSA records exist but their answer
      is not secure, or the host's addresses are not: senders use TLSA
      records only when both are DNSSEC-validated (RFC 7672 §2.2), so these
      are ignored.
    * ``dane.unusable_record`` (MXHOST, one per record) — RFC 7672 §3.1.3:
      "TLSA records for the port 25 SMTP service used by client MTAs SHOULD
      NOT include TLSA RRs with certificate usage PKIX-TA(0) or PKIX-EE(1)";
      clients treat them, unknown parameters and bad lengths as unusable
      (on other ports only the last two: RFC 7671 §4).
    * ``dane.mismatch`` (endpoint) — usable secure records exist and none
      authenticates the chain the endpoint sent (RFC 7672 §3: the client
      then treats the server as unauthenticated and defers).
    * ``dane.no_rollover`` (MXHOST) — see the module docstring for the rule.
    """
    statuses = {_fold(name): status for name, status in mx_dnssec.items()}
    findings: list[Finding] = []
    for lookup in obs.lookups:
        host = _fold(lookup.host)
        host_status = statuses.get(host)
        results = [r for r in obs.endpoints if _fold(r.host) == host and r.port == lookup.port]
        findings.extend(_check_lookup(lookup, host_status, results))
    return findings


def tlsa_status(lookup: TlsaLookup, host_status: DnssecStatus | None) -> DnssecStatus:
    """The DNSSEC status of a TLSA answer, from the best evidence available."""
    if lookup.dnssec is not None:
        return lookup.dnssec.status
    if lookup.answer.ad:
        return "secure"
    same_zone_path = lookup.followed_cname is None and not lookup.answer.cname_chain
    if host_status is not None and same_zone_path:
        return host_status
    return "indeterminate"


def _check_lookup(
    lookup: TlsaLookup,
    host_status: DnssecStatus | None,
    results: Sequence[DaneEndpointResult],
) -> list[Finding]:
    host, qname, answer = lookup.host, lookup.qname, lookup.answer
    if host_status == "bogus":
        return []  # the DNSSEC check reports the host
    status = tlsa_status(lookup, host_status)
    if status == "bogus":
        return []  # dnssec.bogus, from checks.dnssec given ``lookup.dnssec``
    if answer.failed:
        return []  # dns.error, from checks.dns.check_lookups
    if not lookup.records:
        if lookup.port == SMTP_PORT and host_status == "secure":
            return [
                make_finding(
                    "dane.missing",
                    host,
                    f"{host}: the host's DNS is DNSSEC-signed but {qname} has no TLSA "
                    f"records ({answer.status}); senders cannot authenticate it with DANE",
                )
            ]
        return []
    if status == "insecure" or host_status == "insecure":
        if status == "insecure":
            why = f"the TLSA answer for {qname} is not DNSSEC-secure"
        else:
            why = f"the address records of {host} are not DNSSEC-secure"
        return [
            make_finding(
                "dane.insecure_tlsa",
                host,
                f"{host}: {len(lookup.records)} TLSA record(s) at {qname}, but {why}; "
                "senders ignore them (RFC 7672 §2.2)",
            )
        ]
    if status != "secure":
        return []
    findings = _unusable(lookup)
    findings.extend(_mismatches(lookup, results))
    findings.extend(_rollover(lookup, results))
    return findings


def _unusable(lookup: TlsaLookup) -> list[Finding]:
    findings: list[Finding] = []
    for text in dict.fromkeys(lookup.records):
        try:
            rec = TlsaRecord.parse(text)
        except TlsaSyntaxError as exc:
            why = f"does not parse: {exc.reason}"
        else:
            usable, why = usable_for_port(rec, lookup.port)
            if usable:
                continue
        clients = "SMTP" if lookup.port == SMTP_PORT else f"port {lookup.port}'s clients"
        findings.append(
            make_finding(
                "dane.unusable_record",
                lookup.host,
                f"{lookup.host}: TLSA record '{short_record(text)}' at {lookup.qname} is "
                f"unusable for {clients}: {why}",
            )
        )
    return findings


def _mismatches(lookup: TlsaLookup, results: Sequence[DaneEndpointResult]) -> list[Finding]:
    findings: list[Finding] = []
    for result in results:
        usable = [o for o in result.outcomes if o.usable]
        if result.authenticated or not usable:
            continue
        target = endpoint_target(result.host, result.ip, result.port)
        spki = result.leaf_spki_sha256
        if spki is None:
            leaf = "no leaf certificate"
        else:
            leaf = f"{result.leaf_key_type or 'leaf'} leaf, SPKI SHA-256 {spki}"
        reasons = "; ".join(f"'{short_record(o.record)}': {o.reason}" for o in usable)
        hint = f"; a DANE-EE record for this key is '3 1 1 {spki}'" if spki else ""
        findings.append(
            make_finding(
                "dane.mismatch",
                target,
                f"{target}: none of the {len(usable)} usable TLSA record(s) at "
                f"{lookup.qname} authenticates the chain sent ({leaf}): {reasons}{hint}",
            )
        )
    return findings


def _rollover(lookup: TlsaLookup, results: Sequence[DaneEndpointResult]) -> list[Finding]:
    usable = _usable_records(lookup)
    if not usable:
        return []
    with_chain = [r for r in results if r.leaf_spki_sha256 is not None]
    if not with_chain:
        if len(usable) > 1:
            return []
        return [_no_rollover(lookup, f"only one usable TLSA record ('{short_record(usable[0])}')")]
    matched = {o.record for r in with_chain for o in r.outcomes if o.matched_index is not None}
    standby = {("standby", rec) for rec in usable if rec not in matched}
    pins: dict[str, set[tuple[str, str]]] = {}
    for result in with_chain:
        if not result.authenticated:
            continue  # dane.mismatch says more
        leaf = result.leaf_spki_sha256
        assert leaf is not None
        key_pins = pins.setdefault(leaf, set(standby))
        for o in result.outcomes:
            if o.authenticated and o.matched_spki_sha256 is not None:
                key_pins.add(("key", o.matched_spki_sha256))
    thin = [leaf for leaf, found in pins.items() if len(found) < 2]
    if not thin:
        return []
    types = {r.leaf_spki_sha256: r.leaf_key_type for r in with_chain}
    described = ", ".join(
        f"{types.get(leaf) or 'leaf'} key {leaf[:SHORT_DATA_HEX]}…" for leaf in thin
    )
    return [
        _no_rollover(
            lookup,
            f"{described} {'is' if len(thin) == 1 else 'are each'} authenticated through "
            f"one pinned key only ({len(usable)} usable record(s), none independent of it)",
        )
    ]


def _no_rollover(lookup: TlsaLookup, detail: str) -> Finding:
    return make_finding(
        "dane.no_rollover",
        lookup.host,
        f"{lookup.host}: {lookup.qname}: {detail}; a key or certificate change will break "
        "DANE unless the next key ('3 1 1') or the issuing CA ('2 1 1') is published too "
        "(RFC 7671 §8.1)",
    )


def _usable_records(lookup: TlsaLookup) -> list[str]:
    """Distinct records (presentation form) that the service's clients use."""
    out: list[str] = []
    for text in dict.fromkeys(lookup.records):
        try:
            rec = TlsaRecord.parse(text)
        except TlsaSyntaxError:
            continue
        if usable_for_port(rec, lookup.port)[0]:
            out.append(rec.to_text())
    return list(dict.fromkeys(out))


def short_record(text: str) -> str:
    """``"3 1 1 0123456789abcdef…"``: a record short enough for a message."""
    parts = text.split(maxsplit=3)
    if len(parts) == 4 and len(parts[3]) > SHORT_DATA_HEX:
        return f"{parts[0]} {parts[1]} {parts[2]} {parts[3][:SHORT_DATA_HEX]}…"
    return text


def _fold(name: str) -> str:
    return name.strip().lower().rstrip(".")
