"""TLSA lookups for DANE (RFC 7672 §2.2) and matching them against presented chains.

Theory of operation
-------------------
:func:`lookup_tlsa` asks the run's resolver for ``_PORT._tcp.HOST`` TLSA, in
the order an SMTP client does (RFC 7672 §2.2.2, RFC 7671 §7):

1. If the MX host name is an alias (its address answer went through CNAMEs)
   and that expansion is DNSSEC-secure, the TLSA RRset is first looked up at
   the fully expanded name.  Secure, non-empty records there are used, with
   the expanded name as the TLSA base domain.
2. Otherwise, or when the expanded name has no secure TLSA records, the
   original name is asked.  A failed lookup (SERVFAIL, timeout, bogus) at
   the expanded name is final: a client defers rather than falling back.

The TLSA owner may itself be a CNAME; the resolver follows it and the
answer's ``cname_chain`` keeps the path.  DNSSEC status comes from the
validator when one is given; without it only the answer's AD bit is known.

:func:`match_endpoints` is pure: for each endpoint that completed a handshake
and has usable TLSA records for its (host, port), it runs
:func:`mxtls.protocol.tlsa.match_chain` on the chain as sent and records, per
record, which certificate it matched and why it did or did not authenticate.
:func:`observe_dane` does both for a run: the lookups concurrently, then the
matching.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from mxtls.models.dane import (
    DaneEndpointResult,
    DaneObservation,
    DaneRecordOutcome,
    TlsaLookup,
)
from mxtls.models.dnssec import DnssecMode, DnssecResult
from mxtls.models.observations import DnsAnswer, EndpointObservation
from mxtls.net.dns import RunResolver
from mxtls.protocol.tlsa import (
    TlsaMatchingType,
    TlsaOutcome,
    TlsaRecord,
    TlsaSelector,
    TlsaSyntaxError,
    association_data,
    match_chain,
    usable_for_smtp,
)

DNSSEC_STATUS_TIMEOUT_S = 10.0  # bound on one validation, all its lookups included
SMTP_PORT = 25  # RFC 7672: DANE for MTA-to-MTA SMTP


class DnssecValidator(Protocol):
    """What :func:`lookup_tlsa` needs from a DNSSEC validator (``net.dnssec.DnssecProbe``)."""

    async def status(self, qname: str, rdtype: str) -> DnssecResult:
        """The DNSSEC status of the ``qname``/``rdtype`` answer."""
        ...


def tlsa_qname(host: str, port: int) -> str:
    """``_25._tcp.mx.example`` for ``("mx.example.", 25)`` (RFC 6698 §3)."""
    return f"_{port}._tcp.{_fold(host)}"


def normalize_record(text: str) -> str:
    """One presentation form per record (``"3 1 1 <lower-case hex>"``).

    Records that do not parse are kept as they came, so they can be reported.
    """
    try:
        return TlsaRecord.parse(text).to_text()
    except TlsaSyntaxError:
        return " ".join(text.split())


async def lookup_tlsa(
    host: str,
    port: int,
    resolver: RunResolver,
    dnssec: DnssecValidator | None,
    *,
    dnssec_timeout: float = DNSSEC_STATUS_TIMEOUT_S,
) -> TlsaLookup:
    """Find the TLSA RRset an SMTP client would use for ``host``:``port``.

    Args:
        host: the MX host name.
        port: 25, or 465/587 for submission.
        resolver: the run's resolver (lookups are cached per run).
        dnssec: a validator; None when none is available (status unknown
            except for the AD bit).
        dnssec_timeout: bound on each validation, in seconds.

    Returns:
        The lookup; DNS failures are recorded in ``answer``, never raised.
    """
    host = _fold(host)
    alias, alias_secure = await _host_alias(host, resolver, dnssec, dnssec_timeout)
    attempts: list[tuple[DnsAnswer, DnssecResult | None]] = []
    if alias is not None and alias_secure:
        answer, status = await _tlsa(tlsa_qname(alias, port), resolver, dnssec, dnssec_timeout)
        final = answer.failed or (status is not None and status.status == "bogus")
        if final or (answer.records and _secure(answer, status)):
            return _lookup(host, port, alias, answer, status, alias, [])
        attempts.append((answer, status))
    answer, status = await _tlsa(tlsa_qname(host, port), resolver, dnssec, dnssec_timeout)
    if not answer.records and not answer.failed and attempts and attempts[0][0].records:
        # Only the expanded name has (insecure) records: report those, they
        # are what an operator published and what a client refused to use.
        earlier, earlier_status = attempts[0]
        return _lookup(host, port, alias or host, earlier, earlier_status, alias, [answer])
    return _lookup(host, port, host, answer, status, alias, [a for a, _ in attempts])


def _lookup(
    host: str,
    port: int,
    base: str,
    answer: DnsAnswer,
    status: DnssecResult | None,
    alias: str | None,
    attempts: list[DnsAnswer],
) -> TlsaLookup:
    return TlsaLookup(
        host=host,
        port=port,
        qname=tlsa_qname(base, port),
        base_domain=base,
        answer=answer,
        dnssec=status,
        records=[normalize_record(r) for r in answer.records],
        followed_cname=base if base != host else None,
        host_cname=alias,
        attempts=attempts,
    )


async def _host_alias(
    host: str, resolver: RunResolver, dnssec: DnssecValidator | None, timeout: float
) -> tuple[str | None, bool]:
    """The MX host's CNAME expansion, and whether that expansion is secure."""
    answer = await resolver.query(host, "A")
    if not answer.cname_chain and answer.status != "NOERROR":
        answer = await resolver.query(host, "AAAA")  # an IPv6-only host
    if not answer.cname_chain:
        return None, False
    target = _fold(answer.cname_chain[-1])
    status = await _validate(dnssec, host, answer.rdtype, timeout)
    return target, _secure(answer, status)


async def _tlsa(
    qname: str, resolver: RunResolver, dnssec: DnssecValidator | None, timeout: float
) -> tuple[DnsAnswer, DnssecResult | None]:
    answer = await resolver.query(qname, "TLSA")
    return answer, await _validate(dnssec, qname, "TLSA", timeout)


async def _validate(
    dnssec: DnssecValidator | None, qname: str, rdtype: str, timeout: float
) -> DnssecResult | None:
    if dnssec is None:
        return None
    try:
        async with asyncio.timeout(timeout):
            return await dnssec.status(qname, rdtype)
    except TimeoutError:
        mode: DnssecMode = "ad" if getattr(dnssec, "mode", None) == "ad" else "validate"
        return DnssecResult(
            qname=qname,
            rdtype=rdtype,
            status="indeterminate",
            mode=mode,
            reason=f"DNSSEC validation of {qname}/{rdtype} took longer than {timeout:g}s",
        )


def _secure(answer: DnsAnswer, status: DnssecResult | None) -> bool:
    """Secure per the validator, or per the resolver's AD bit when there is none."""
    return status.status == "secure" if status is not None else answer.ad


def _fold(name: str) -> str:
    return name.strip().lower().rstrip(".")


async def observe_dane(
    hosts: Iterable[str],
    endpoints: Sequence[EndpointObservation],
    resolver: RunResolver,
    dnssec: DnssecValidator | None,
    *,
    now: datetime,
    dnssec_timeout: float = DNSSEC_STATUS_TIMEOUT_S,
) -> DaneObservation:
    """Look up TLSA for every MX host and probed port, then match the chains.

    Port 25 is looked up for every host in ``hosts``; 465 and 587 only for
    the (host, port) pairs that were probed, since DANE applies there only
    where records are published.  Lookups run concurrently; each is bounded
    by the resolver's timeout and ``dnssec_timeout``.

    Returns:
        The lookups (one per distinct (host, port)) and the endpoint results.
    """
    pairs = dict.fromkeys(
        [(_fold(h), SMTP_PORT) for h in hosts] + [(_fold(ep.host), ep.port) for ep in endpoints]
    )
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(
                lookup_tlsa(host, port, resolver, dnssec, dnssec_timeout=dnssec_timeout)
            )
            for host, port in pairs
        ]
    lookups = [task.result() for task in tasks]
    return DaneObservation(lookups=lookups, endpoints=match_endpoints(lookups, endpoints, now))


# ---------------------------------------------------------------------- matching


def match_endpoints(
    lookups: Sequence[TlsaLookup],
    endpoints: Sequence[EndpointObservation],
    now: datetime,
) -> list[DaneEndpointResult]:
    """Judge each endpoint's presented chain against the TLSA RRset of its (host, port).

    Endpoints without a handshake, or whose RRset holds no record usable for
    SMTP, are left out: DANE has nothing to say about them.  The chain is the
    one sent in the handshake with SNI, as a DANE client sends SNI
    (RFC 7672 §8.1).  For DANE-TA(2) the leaf must name the TLSA base domain
    or, after a CNAME expansion, the MX host name (RFC 7672 §3.2.2).

    Args:
        lookups: the run's TLSA lookups.
        endpoints: the run's endpoint observations.
        now: the run's clock.

    Returns:
        One result per judged endpoint, in endpoint order.
    """
    by_key = {(_fold(lookup.host), lookup.port): lookup for lookup in lookups}
    results: list[DaneEndpointResult] = []
    for ep in endpoints:
        lookup = by_key.get((_fold(ep.host), ep.port))
        if lookup is None or ep.handshake is None or not lookup.records:
            continue
        parsed: list[TlsaRecord | str] = []
        for text in lookup.records:
            try:
                parsed.append(TlsaRecord.parse(text))
            except TlsaSyntaxError as exc:
                parsed.append(f"{text}: does not parse: {exc.reason}")
        records = [p for p in parsed if isinstance(p, TlsaRecord)]
        if not any(usable_for_smtp(r)[0] for r in records):
            continue
        names = [lookup.base_domain]
        if _fold(lookup.host) != _fold(lookup.base_domain):
            names.append(lookup.host)
        chain = ep.handshake.certificates_sent()
        per_name = [match_chain(records, chain, mx_host=n, now=now).outcomes for n in names]
        outcomes: list[DaneRecordOutcome] = []
        matched = iter(range(len(records)))
        for item, text in zip(parsed, lookup.records, strict=True):
            if isinstance(item, str):
                outcomes.append(DaneRecordOutcome(record=text, usable=False, reason=item))
                continue
            i = next(matched)
            best = next((o[i] for o in per_name if o[i].authenticated), per_name[0][i])
            outcomes.append(_outcome(best, chain))
        winner = next((o for o in outcomes if o.authenticated), None)
        leaf = ep.handshake.chain[0] if ep.handshake.chain else None
        results.append(
            DaneEndpointResult(
                host=ep.host,
                ip=ep.ip,
                port=ep.port,
                authenticated=winner is not None,
                matched_record=winner.record if winner else None,
                matched_cert_index=winner.matched_index if winner else None,
                outcomes=outcomes,
                reference_names=names,
                leaf_spki_sha256=_spki_sha256(chain[0]) if chain else None,
                leaf_key_type=f"{leaf.key_type} {leaf.key_bits}" if leaf else None,
            )
        )
    return results


def _outcome(outcome: TlsaOutcome, chain: Sequence[bytes]) -> DaneRecordOutcome:
    index = outcome.matched_index
    return DaneRecordOutcome(
        record=outcome.record.to_text(),
        usable=outcome.usable,
        matched_index=index,
        matched_spki_sha256=_spki_sha256(chain[index]) if index is not None else None,
        authenticated=outcome.authenticated,
        reason=outcome.reason,
    )


def _spki_sha256(der: bytes) -> str | None:
    """The ``3 1 1`` data of a certificate as sent (None if it does not parse)."""
    try:
        return association_data(der, TlsaSelector.SPKI, TlsaMatchingType.SHA2_256).hex()
    except ValueError:
        return None
