"""Generators round trip: what ``mxtls generate`` prints, once published, passes the checks.

Given a DNSSEC-signed lab domain with a working MX that publishes nothing
(no TLSA, no MTA-STS, no TLS-RPT), when ``mxtls generate tlsa|mta-sts|tls-rpt``
run against it (as a subprocess, aimed at the lab) and a second lab serves
the same domain publishing exactly the generated TLSA lines, TXT records and
policy text, then mxtls finds DANE authenticated on every port-25 endpoint,
every sender kind delivers and no ``dane.*``/``mta_sts.*``/``tls_rpt.*``/
``delivery.*`` finding remains.  The negative: a TLSA line for another key
makes DANE senders refuse (``dane.mismatch``, ``delivery.strict_senders_fail``).

The second lab presents the same keys as the first: :class:`~mxtls.lab.ca.LabCA`
caches its keys per (kind, slot) for the whole process, so the MX's leaf and
the lab intermediate keep their SubjectPublicKeyInfo, which is all a
``3 1 1``/``2 1 1`` record pins (the certificates themselves are re-issued).
A fixture asserts this premise rather than assuming it.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mxtls.config import Timeouts
from mxtls.engine.run import check_domain
from mxtls.lab.ca import LabCA
from mxtls.lab.dnssec import DnssecMode
from mxtls.lab.scenarios import HostSpec, MtaStsSpec, Scenario
from mxtls.lab.world import OTHER_KEY_SLOT, Lab
from mxtls.models.report import Report
from mxtls.protocol.tlsa import generate_tlsa

DOMAIN = "roundtrip.lab"
MX = f"mx.{DOMAIN}"
RUA = f"mailto:tlsrpt@{DOMAIN}"
TIMEOUT_S = 3.0  # every network step of the generators and the checks (loopback only)
SUBPROCESS_TIMEOUT_S = 60.0


def _scenario(records: tuple[str, ...] = (), policy: str | None = None) -> Scenario:
    """The round-trip domain: one good MX in a signed zone, publishing only ``records``.

    ``policy`` (when given) is served verbatim at ``mta-sts.DOMAIN``; the
    ``_mta-sts`` TXT record then comes from ``records`` too (``txt=()``), so
    every published byte is one the generators wrote.
    """
    return Scenario(
        domain=DOMAIN,
        description="signed domain for the generators' round trip",
        expected=frozenset(),
        hosts=(HostSpec(name=MX),),
        records=records,
        tls_rpt=False,
        mta_sts=None if policy is None else MtaStsSpec(txt=(), policy=policy),
        dnssec=DnssecMode.SIGNED,
    )


def _generate(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "mxtls", "generate", *args],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, f"mxtls generate {args[0]}: {proc.stderr}"
    return proc.stdout


def _record_lines(output: str, rdtype: str) -> list[str]:
    """The zone-file lines of ``rdtype`` in a generator's output (comments skipped)."""
    return [ln for ln in output.splitlines() if f" IN {rdtype} " in ln and not ln.startswith(";")]


def _check(lab: Lab) -> Report:
    config = lab.check_config(timeouts=Timeouts.uniform(TIMEOUT_S))
    return asyncio.run(check_domain(DOMAIN, config), debug=True)


def _spki(lab: Lab) -> bytes:
    return (
        lab.hosts[MX]
        .certs[0]
        .cert.public_key()
        .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )


@dataclass(frozen=True)
class Generated:
    """What the generators printed for the bare domain, and what the bare lab looked like."""

    tlsa: list[str]  # "_25._tcp.MX. IN TLSA 3 1 1 ..." lines
    sts_txt: str  # the "_mta-sts.DOMAIN. IN TXT ..." line
    policy: str  # the policy file, byte for byte
    rpt_txt: str  # the "_smtp._tls.DOMAIN. IN TXT ..." line
    leaf_spki: bytes  # the MX's key in the bare lab
    bare_report: Report

    def records(self, tlsa: list[str] | None = None) -> tuple[str, ...]:
        """Zone lines to publish: the generated ones, or other ``tlsa`` lines instead."""
        return (*(self.tlsa if tlsa is None else tlsa), self.sts_txt, self.rpt_txt)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    policy_file: Path = tmp_path_factory.mktemp("roundtrip") / "mta-sts.txt"
    with Lab([_scenario()], ipv6=False) as bare:
        ip, port = bare.nameserver
        dns = [f"--nameserver={ip}:{port}", f"--timeout={TIMEOUT_S}"]
        maps = [f"--port-map={a}:{b}" for a, b in sorted(bare.port_map.items())]
        tlsa_out = _generate("tlsa", MX, *dns, *maps)
        sts_out = _generate(
            "mta-sts", DOMAIN, "--mode", "enforce", "--policy-file", str(policy_file), *dns
        )
        rpt_out = _generate("tls-rpt", DOMAIN, "--rua", RUA)
        bare_report = _check(bare)
        leaf_spki = _spki(bare)
    (sts_txt,) = _record_lines(sts_out, "TXT")
    (rpt_txt,) = _record_lines(rpt_out, "TXT")
    return Generated(
        tlsa=_record_lines(tlsa_out, "TLSA"),
        sts_txt=sts_txt,
        policy=policy_file.read_bytes().decode(),
        rpt_txt=rpt_txt,
        leaf_spki=leaf_spki,
        bare_report=bare_report,
    )


def _published(generated: Generated, tlsa: list[str] | None = None) -> Report:
    """Start a lab publishing the generated records (or ``tlsa`` instead of the TLSA) and check."""
    scenario = _scenario(generated.records(tlsa), policy=generated.policy)
    with Lab([scenario], ipv6=False) as lab:
        # The premise of the round trip: the MX kept its key (LabCA caches keys per process).
        assert _spki(lab) == generated.leaf_spki, "the MX key changed between the two labs"
        return _check(lab)


@pytest.fixture(scope="module")
def published(generated: Generated) -> Report:
    return _published(generated)


def test_the_bare_domain_publishes_nothing(generated: Generated) -> None:
    # Given the bare domain: signed, a working MX, and no policy of any kind
    report = generated.bare_report
    codes = {f.code for f in report.findings}
    assert {"dane.missing", "mta_sts.missing", "tls_rpt.missing"} <= codes
    senders = {s.sender: s for s in report.verdict.senders}
    assert not senders["dane"].applies and not senders["mta_sts"].applies
    # and the generators produced one record set of each kind for it
    assert [ln.split(" IN TLSA ")[1][:6] for ln in generated.tlsa] == ["3 1 1 ", "2 1 1 "]
    assert all(ln.startswith(f"_25._tcp.{MX}. ") for ln in generated.tlsa)
    assert generated.sts_txt.startswith(f"_mta-sts.{DOMAIN}. IN TXT ")
    assert "mode: enforce" in generated.policy and f"mx: {MX}" in generated.policy
    assert generated.rpt_txt == f'_smtp._tls.{DOMAIN}. IN TXT "v=TLSRPTv1; rua={RUA}"'


def test_published_records_are_what_was_generated(generated: Generated, published: Report) -> None:
    # The lab served exactly the generated text: the checker saw the same id,
    # the same policy body and the same TLSA and TLS-RPT data.
    assert published.mta_sts is not None and published.mta_sts.fetch is not None
    assert published.mta_sts.fetch.text == generated.policy
    assert published.mta_sts.record_id is not None
    assert f"id={published.mta_sts.record_id};" in generated.sts_txt
    assert published.tls_rpt is not None and published.tls_rpt.rua == [RUA]
    assert published.dane is not None
    (lookup,) = [lk for lk in published.dane.lookups if lk.port == 25]
    assert sorted(lookup.records) == sorted(ln.split(" IN TLSA ")[1] for ln in generated.tlsa)


def test_generated_records_make_every_check_pass(published: Report) -> None:
    # Then DANE authenticates every port-25 endpoint that was probed
    assert not published.internal_errors
    assert published.dane is not None
    probed = {
        (ep.ip, ep.port)
        for host in published.hosts
        for ep in host.endpoints
        if ep.port == 25 and ep.handshake is not None
    }
    dane_25 = [ep for ep in published.dane.endpoints if ep.port == 25]
    assert probed and {(ep.ip, ep.port) for ep in dane_25} == probed
    assert all(ep.authenticated for ep in dane_25), [ep.model_dump() for ep in dane_25]
    # and the signed zone's answers validated
    assert published.dnssec and all(r.status == "secure" for r in published.dnssec)
    # and nothing at all is left to report: no dane.*/mta_sts.*/tls_rpt.*/delivery.*
    # finding, not even an info one (3 1 1 + 2 1 1 is a rollover scheme, so no
    # dane.no_rollover; every record exists, so no *.missing; the zone publishes CAA).
    # Only the submission SRV records are not ours to generate: they concern mail
    # clients, not the relay path these records protect.
    assert [f.code for f in published.findings] == ["submission.not_advertised"]
    # and all three sender kinds deliver, the strict ones because the policies apply
    senders = {s.sender: s for s in published.verdict.senders}
    assert {k: s.outcome for k, s in senders.items()} == {
        "opportunistic": "delivers",
        "mta_sts": "delivers",
        "dane": "delivers",
    }
    assert senders["mta_sts"].applies and senders["dane"].applies


def test_tlsa_for_another_key_makes_dane_senders_refuse(generated: Generated) -> None:
    # Given the generated MTA-STS and TLS-RPT records, but a 3 1 1 for a key the MX does not use
    stranger = LabCA().issue([MX], key_slot=OTHER_KEY_SLOT).cert
    data = generate_tlsa(stranger.public_bytes(Encoding.DER), 3, 1, 1)
    assert data not in "\n".join(generated.tlsa)
    report = _published(generated, tlsa=[f"_25._tcp.{MX}. IN TLSA {data}"])
    # Then DANE fails on the MX and strict senders are told so
    codes = {f.code for f in report.findings}
    assert {"dane.mismatch", "delivery.strict_senders_fail"} <= codes
    assert report.dane is not None
    assert [ep.authenticated for ep in report.dane.endpoints if ep.port == 25] == [False]
    senders = {s.sender: s.outcome for s in report.verdict.senders}
    # DANE takes precedence over MTA-STS (RFC 8461 §2), and only DANE senders refuse.
    assert senders == {"opportunistic": "delivers", "mta_sts": "delivers", "dane": "refuses"}
    assert not codes & {"mta_sts.enforce_tls_failure", "tls_rpt.missing", "tls_rpt.invalid"}
