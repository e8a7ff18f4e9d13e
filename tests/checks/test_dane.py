"""check_dane: one observation in, the exact set of codes out (table-driven).

Chains are real (lab CA), TLSA records are computed from them, and the
endpoint results come from ``match_endpoints`` as in a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from mxtls.checks.dane import check_dane, short_record, tlsa_status
from mxtls.models.dane import DaneObservation, TlsaLookup
from mxtls.models.dnssec import DnssecStatus
from mxtls.models.findings import Severity, endpoint_target
from mxtls.models.observations import EndpointObservation
from tests.dane_builders import (
    EC,
    EC_NEXT,
    FOREIGN,
    HOST,
    IP,
    IP2,
    RSA,
    codes,
    ee,
    endpoint,
    lookup,
    observe,
    pkix_ee,
    spki_hex,
    ta,
)

SECURE: Mapping[str, DnssecStatus] = {HOST: "secure"}


@dataclass
class Case:
    id: str
    lookups: list[TlsaLookup]
    endpoints: list[EndpointObservation] = field(default_factory=lambda: [endpoint(EC)])
    mx_dnssec: Mapping[str, DnssecStatus] = field(default_factory=lambda: SECURE)
    expected: set[str] = field(default_factory=set)


def _cname_lookup() -> TlsaLookup:
    base = lookup(ee(FOREIGN), status=None)
    return base.model_copy(
        update={"answer": base.answer.model_copy(update={"cname_chain": ["tlsa.elsewhere.test"]})}
    )


CASES = [
    # --- healthy schemes: nothing to say
    Case("ee_plus_issuer_ta", [lookup(ee(EC), ta(EC))]),
    Case("ee_plus_next_key", [lookup(ee(EC), ee(EC_NEXT))]),
    Case("two_ta_pins", [lookup(ta(EC), ta(FOREIGN))]),
    Case("secure_via_ad_bit", [lookup(ee(EC), ta(EC), status=None, answer={"ad": True})]),
    # --- rollover rule
    Case("single_ee", [lookup(ee(EC))], expected={"dane.no_rollover"}),
    Case("single_ta", [lookup(ta(EC))], expected={"dane.no_rollover"}),
    Case(
        "same_key_three_ways",
        [lookup(ee(EC), ee(EC, 0, 1), ee(EC, 1, 2))],
        expected={"dane.no_rollover"},
    ),
    Case("duplicate_records", [lookup(ee(EC), ee(EC))], expected={"dane.no_rollover"}),
    Case(
        "ee_and_ta_on_the_same_cert",
        [lookup(ee(EC), "2" + ee(EC)[1:])],
        expected={"dane.no_rollover"},
    ),
    Case(
        "rsa_and_ecdsa_both_seen_one_each",
        [lookup(ee(EC), ee(RSA))],
        endpoints=[endpoint(EC), endpoint(RSA, ip=IP2)],
        expected={"dane.no_rollover"},
    ),
    Case(
        "rsa_and_ecdsa_one_seen_gets_the_benefit_of_the_doubt",
        [lookup(ee(EC), ee(RSA))],
    ),
    Case(
        "rsa_and_ecdsa_both_seen_with_issuer_ta",
        [lookup(ee(EC), ee(RSA), ta(EC))],
        endpoints=[endpoint(EC), endpoint(RSA, ip=IP2)],
    ),
    Case(
        "no_handshake_one_record",
        [lookup(ee(EC))],
        endpoints=[endpoint(None)],
        expected={"dane.no_rollover"},
    ),
    Case("no_handshake_two_records", [lookup(ee(EC), ee(EC_NEXT))], endpoints=[endpoint(None)]),
    # --- mismatch
    Case("mismatch", [lookup(ee(FOREIGN), ta(FOREIGN))], expected={"dane.mismatch"}),
    Case(
        "mismatch_on_one_address_only",
        [lookup(ee(EC), ta(EC))],
        endpoints=[endpoint(EC), endpoint(FOREIGN, ip=IP2)],
        expected={"dane.mismatch"},
    ),
    Case(
        "mismatch_on_465_where_tlsa_exists",
        [lookup(ee(EC), ta(EC)), lookup(ee(FOREIGN), ta(FOREIGN), port=465)],
        endpoints=[endpoint(EC), endpoint(EC, port=465)],
        expected={"dane.mismatch"},
    ),
    # --- unusable records
    Case(
        "pkix_ee_next_to_good_records",
        [lookup("1 1 1 " + spki_hex(EC), ee(EC), ta(EC))],
        expected={"dane.unusable_record"},
    ),
    Case(
        "bad_length_and_unknown_usage",
        [lookup("3 1 1 " + "ab" * 31, "4 1 1 " + "cd" * 32, ee(EC), ta(EC))],
        expected={"dane.unusable_record"},
    ),
    Case(
        "only_unusable_records_no_mismatch",
        [lookup("0 0 1 " + "ab" * 32)],
        expected={"dane.unusable_record"},
    ),
    # Outside SMTP relay the PKIX usages count (RFC 6698 §2.1.1): judged like the others.
    Case(
        "pkix_on_submission_port_matching_nothing",
        [lookup(ee(EC), ta(EC)), lookup("1 1 1 " + "ab" * 32, port=587)],
        endpoints=[endpoint(EC), endpoint(EC, port=587)],
        expected={"dane.mismatch"},
    ),
    Case(
        "pkix_ee_on_imaps_authenticates_a_trusted_chain",
        [lookup(ee(EC), ta(EC)), lookup(pkix_ee(EC), ee(EC_NEXT), port=993)],
        endpoints=[endpoint(EC), endpoint(EC, port=993)],
    ),
    Case(
        "pkix_ee_on_imaps_needs_a_trusted_chain",
        [lookup(ee(EC), ta(EC)), lookup(pkix_ee(FOREIGN), ee(EC_NEXT), port=993)],
        endpoints=[endpoint(EC), endpoint(FOREIGN, port=993)],
        expected={"dane.mismatch"},
    ),
    Case(
        "unknown_params_on_submission_port",
        [lookup(ee(EC), ta(EC)), lookup("3 2 1 " + "ab" * 32, ee(EC), ta(EC), port=587)],
        endpoints=[endpoint(EC), endpoint(EC, port=587)],
        expected={"dane.unusable_record"},
    ),
    # --- missing
    Case("missing", [lookup()], expected={"dane.missing"}),
    Case("missing_nodata", [lookup(dns_status="NODATA")], expected={"dane.missing"}),
    Case("no_tlsa_on_465_is_fine", [lookup(ee(EC), ta(EC)), lookup(port=465)]),
    Case("no_tlsa_insecure_host", [lookup(status="insecure")], mx_dnssec={HOST: "insecure"}),
    Case("no_tlsa_unknown_host", [lookup(status=None)], mx_dnssec={}),
    # --- DNSSEC of the TLSA answer
    Case(
        "insecure_tlsa_is_not_matched",
        [lookup(ee(FOREIGN), status="insecure")],
        expected={"dane.insecure_tlsa"},
    ),
    Case(
        "secure_tlsa_but_insecure_host",
        [lookup(ee(FOREIGN))],
        mx_dnssec={HOST: "insecure"},
        expected={"dane.insecure_tlsa"},
    ),
    Case("bogus_tlsa_reported_by_the_dnssec_check", [lookup(ee(FOREIGN), status="bogus")]),
    Case("bogus_host_reported_elsewhere", [lookup(ee(FOREIGN))], mx_dnssec={HOST: "bogus"}),
    Case(
        "failed_lookup_is_dns_error_elsewhere",
        [lookup(status="indeterminate", dns_status="SERVFAIL")],
    ),
    Case("servfail_bogus_not_missing", [lookup(status="bogus", dns_status="SERVFAIL")]),
    Case("indeterminate_records_not_judged", [lookup(ee(FOREIGN), status="indeterminate")]),
    Case(
        "no_validator_inherits_host_status",
        [lookup(ee(FOREIGN), status=None)],
        expected={"dane.mismatch"},
    ),
    Case(
        "no_validator_unknown_host",
        [lookup(ee(FOREIGN), status=None)],
        mx_dnssec={},
    ),
    Case("no_validator_tlsa_behind_cname", [_cname_lookup()]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_codes(case: Case) -> None:
    findings = check_dane(observe(case.lookups, case.endpoints), mx_dnssec=case.mx_dnssec)
    assert codes(findings) == case.expected


def test_severities_and_targets() -> None:
    obs = observe(
        [lookup(ee(FOREIGN), "1 1 1 " + spki_hex(EC))],
        [endpoint(EC), endpoint(EC, ip=IP2)],
    )
    findings = check_dane(obs, mx_dnssec=SECURE)
    got = sorted((f.code, f.severity, f.target) for f in findings)
    assert got == [
        ("dane.mismatch", Severity.ERROR, endpoint_target(HOST, IP, 25)),
        ("dane.mismatch", Severity.ERROR, endpoint_target(HOST, IP2, 25)),
        ("dane.unusable_record", Severity.WARNING, HOST),
    ]
    for code, severity, lookups in [
        ("dane.missing", Severity.INFO, [lookup()]),
        ("dane.no_rollover", Severity.INFO, [lookup(ee(EC))]),
        ("dane.insecure_tlsa", Severity.WARNING, [lookup(ee(EC), status="insecure")]),
    ]:
        [finding] = check_dane(observe(lookups, [endpoint(EC)]), mx_dnssec=SECURE)
        assert (finding.code, finding.severity, finding.target) == (code, severity, HOST)


def test_one_unusable_finding_per_record() -> None:
    records = ["0 0 1 " + "ab" * 32, "1 1 1 " + "cd" * 32, "3 1 1 " + "ef" * 20, ee(EC), ta(EC)]
    findings = check_dane(observe([lookup(*records)], [endpoint(EC)]), mx_dnssec=SECURE)
    assert [f.code for f in findings] == ["dane.unusable_record"] * 3


def test_mismatch_names_records_and_the_leaf_key() -> None:
    records = [ee(FOREIGN), ta(FOREIGN)]
    [finding] = check_dane(observe([lookup(*records)], [endpoint(EC)]), mx_dnssec=SECURE)
    # The message carries the facts an operator needs, whatever its wording.
    assert spki_hex(EC) in finding.message
    for record in records:
        assert short_record(record) in finding.message


def test_tlsa_status_prefers_the_validator() -> None:
    assert tlsa_status(lookup(ee(EC), status="insecure", answer={"ad": True}), "secure") == (
        "insecure"
    )
    assert tlsa_status(lookup(ee(EC), status=None, answer={"ad": True}), None) == "secure"
    assert tlsa_status(lookup(ee(EC), status=None), "secure") == "secure"
    assert tlsa_status(lookup(ee(EC), status=None), None) == "indeterminate"
    followed = lookup(ee(EC), status=None, followed_cname="real.dane.test")
    assert tlsa_status(followed, "secure") == "indeterminate"


def test_empty_observation() -> None:
    assert check_dane(DaneObservation(), mx_dnssec=SECURE) == []
