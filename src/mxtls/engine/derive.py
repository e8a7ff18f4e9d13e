"""Derive: facts computed from what was observed, without I/O.

Between observing and judging sit facts no probe saw directly but every
check needs: which TLSA record matched which certificate of each chain as
sent (per key type, when the deep scan fetched more than one), the DNSSEC
status of each MX host's address answer, the discovery record.  They are
computed here, from the observations alone and the check's clock, so the
checks in :mod:`mxtls.checks` only judge, and a report can show the facts a
verdict rests on.

The result is :class:`~mxtls.checks.judge.RunObservations`, the input of
:func:`mxtls.checks.judge.judge`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography.hazmat.primitives.serialization import Encoding

from mxtls.checks.chain import ChainVerdict, analyze_chain
from mxtls.checks.judge import RunObservations
from mxtls.engine.observe import Observed
from mxtls.engine.plan import build_discovery
from mxtls.models.dane import DaneEndpointResult, DaneObservation, DaneRecordOutcome, TlsaLookup
from mxtls.models.deep import DeepScan, key_type_variants
from mxtls.models.observations import EndpointObservation
from mxtls.protocol.tlsa import (
    TlsaMatchingType,
    TlsaRecord,
    TlsaSelector,
    TlsaSyntaxError,
    TlsaUsage,
    association_data,
    pkix_usages_apply,
    usable_record,
)
from mxtls.trust.certinfo import MAX_CHAIN_JUDGED, UnparsableCertificateError, load_certificate
from mxtls.trust.dane import PkixPath, TlsaOutcome, match_chain
from mxtls.trust.store import TrustStore


def derive(observed: Observed, now: datetime, trust: TrustStore | None = None) -> RunObservations:
    """Everything the checks judge, from one check's observations.

    Args:
        observed: what the probes of one check recorded.
        now: the check's clock (DANE-TA matching checks the leaf's dates).
        trust: the run's trust store, for the PKIX usages of TLSA records
            outside SMTP relay (None: those authenticate nothing).
    """
    endpoints = observed.endpoints
    dane = None
    if not observed.null_mx and observed.tlsa:
        dane = derive_dane(observed.tlsa, endpoints, observed.deep, now, trust)
    return RunObservations(
        discovery=build_discovery(
            observed.name, observed.mx, observed.null_mx, [h.host for h in observed.hosts]
        ),
        endpoints=endpoints,
        mta_sts=observed.mta_sts,
        tls_rpt=observed.tls_rpt,
        dnssec=observed.dnssec if observed.kind == "domain" else [],
        host_dnssec={
            r.qname: r.status
            for r in (*observed.dnssec, *observed.srv_dnssec)
            if r.rdtype in ("A", "AAAA")
        },
        srv_dnssec=observed.srv_dnssec,
        dane=dane,
        deep=observed.deep,
        submission_srv=observed.submission_srv,
        submission_targets=observed.submission_targets,
        reverse={
            h.host.name: h.reverse
            for h in (*observed.hosts, *observed.submission, *observed.mailbox)
            if h.reverse
        },
    )


def derive_dane(
    lookups: Sequence[TlsaLookup],
    endpoints: Sequence[EndpointObservation],
    deep: Sequence[DeepScan],
    now: datetime,
    trust: TrustStore | None = None,
) -> DaneObservation:
    """The TLSA lookups and how every chain an endpoint presents fared against them.

    The chain of the main handshake is matched for every endpoint; then the
    chains of other key types the deep scan fetched: a DANE sender offering
    only RSA gets the RSA certificate, and its match matters as much.
    """
    results = match_endpoints(lookups, endpoints, now, trust)
    by_endpoint = {(ep.host, ep.ip, ep.port): ep for ep in endpoints}
    for scan in deep:
        variants = [variant for _cert, variant in key_type_variants(scan, by_endpoint)]
        results.extend(match_endpoints(lookups, variants, now, trust))
    return DaneObservation(lookups=list(lookups), endpoints=results)


def match_endpoints(
    lookups: Sequence[TlsaLookup],
    endpoints: Sequence[EndpointObservation],
    now: datetime,
    trust: TrustStore | None = None,
) -> list[DaneEndpointResult]:
    """Match each endpoint's presented chain against the TLSA RRset of its (host, port).

    Endpoints without a handshake, or whose RRset holds no record usable for
    the service, are left out: DANE has nothing to say about them.  The chain
    is the one sent in the handshake with SNI, as a DANE client sends SNI
    (RFC 7672 §8.1).  For DANE-TA(2) the leaf must name the TLSA base domain
    or, after a CNAME expansion, the MX host name (RFC 7672 §3.2.2).  Outside
    SMTP relay (port 25) the PKIX usages count too (RFC 6698 §2.1.1,
    RFC 7673), on top of PKIX validation against ``trust``.

    Args:
        lookups: the check's TLSA lookups.
        endpoints: the check's endpoint observations.
        now: the check's clock.
        trust: the run's trust store (None: the PKIX usages authenticate nothing).

    Returns:
        One result per matched endpoint, in endpoint order.
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
        allow_pkix = pkix_usages_apply(lookup.port)
        if not any(usable_record(r, pkix=allow_pkix)[0] for r in records):
            continue
        names = [lookup.base_domain]
        if _fold(lookup.host) != _fold(lookup.base_domain):
            names.append(lookup.host)
        chain = ep.handshake.certificates_sent()  # unparsable ones too: DANE-EE needs no parse
        pkix = None
        if allow_pkix and trust is not None and any(_is_pkix(r) for r in records):
            pkix = pkix_path(chain, trust, now)
        per_name = [
            match_chain(
                records, chain, mx_host=n, now=now, allow_pkix=allow_pkix, pkix=pkix
            ).outcomes
            for n in names
        ]
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


def _is_pkix(rec: TlsaRecord) -> bool:
    return rec.usage in (TlsaUsage.PKIX_TA, TlsaUsage.PKIX_EE)


def pkix_path(chain: Sequence[bytes], trust: TrustStore, now: datetime) -> PkixPath:
    """PKIX validation of the chain as sent (dates and names aside: the matcher judges those).

    The same path validation as ``cert.untrusted``'s
    (:func:`mxtls.checks.chain.analyze_chain`), so a PKIX usage and the
    certificate checks never disagree about trust.
    """
    certs = []
    for der in chain[:MAX_CHAIN_JUDGED]:
        try:
            certs.append(load_certificate(der))
        except UnparsableCertificateError:
            if not certs:
                return PkixPath(problem="the leaf certificate does not parse")
    if not certs:
        return PkixPath(problem="the server sent no certificate")
    analysis = analyze_chain(certs, trust, now)
    if analysis.verdict is not ChainVerdict.TRUSTED:
        return PkixPath(problem=analysis.reason or analysis.verdict.value.replace("_", " "))
    return PkixPath(path=tuple(c.public_bytes(Encoding.DER) for c in analysis.path))


def _outcome(outcome: TlsaOutcome, chain: Sequence[bytes]) -> DaneRecordOutcome:
    index = outcome.matched_index
    matched = chain[index] if index is not None else outcome.anchor_der
    return DaneRecordOutcome(
        record=outcome.record.to_text(),
        usable=outcome.usable,
        matched_index=index,
        matched_spki_sha256=_spki_sha256(matched) if matched is not None else None,
        authenticated=outcome.authenticated,
        reason=outcome.reason,
    )


def _spki_sha256(der: bytes) -> str | None:
    """The ``3 1 1`` data of a certificate as sent (None if it does not parse)."""
    try:
        return association_data(der, TlsaSelector.SPKI, TlsaMatchingType.SHA2_256).hex()
    except ValueError:
        return None


def _fold(name: str) -> str:
    return name.strip().lower().rstrip(".")
