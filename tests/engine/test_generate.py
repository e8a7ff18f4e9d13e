"""Record generation through a runtime, as the web service calls it: live facts in, records out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from cryptography.hazmat.primitives.serialization import Encoding

from mxtls.config import CheckConfig
from mxtls.engine.generate import live_tlsa, mta_sts_for
from mxtls.engine.runtime import Runtime
from mxtls.lab.world import Lab
from mxtls.protocol.mta_sts import MtaStsMode, MtaStsPolicy
from mxtls.protocol.tlsa import TlsaRecord
from mxtls.trust.dane import match_chain

FIXED = datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)


async def test_live_tlsa_matches_what_every_address_sends(lab: Lab, lab_cfg: CheckConfig) -> None:
    runtime = Runtime(lab_cfg)
    live = await live_tlsa("mx1.good.lab", runtime, port=25)
    assert not live.problems
    assert {ip for ip, _ in live.suggestions} == set(lab.addresses("mx1.good.lab"))
    [(_ip, suggestion)] = live.distinct()  # one certificate on every address
    records = [TlsaRecord.parse(line.split(" IN TLSA ", 1)[1]) for line in suggestion.zone_lines()]
    issued = lab.hosts["mx1.good.lab"].certs[0]
    chain = [cert.public_bytes(Encoding.DER) for cert in issued.chain]
    assert match_chain(records, chain, mx_host="mx1.good.lab", now=runtime.now()).authenticated


async def test_live_tlsa_says_why_a_host_gave_nothing(lab: Lab, lab_cfg: CheckConfig) -> None:
    live = await live_tlsa("nothing-here.good.lab", Runtime(lab_cfg))
    assert live.suggestions == [] and live.problems == [
        "nothing-here.good.lab has no A/AAAA record"
    ]


async def test_mta_sts_covers_the_mx_hosts_with_the_runtimes_clock(
    lab: Lab, lab_cfg: CheckConfig
) -> None:
    runtime = Runtime(replace(lab_cfg, now=FIXED))
    records = await mta_sts_for("good.lab", runtime, mode=MtaStsMode.TESTING)
    assert records.mx_hosts == ["mx1.good.lab", "mx2.good.lab"]
    assert "id=20310203040506" in records.txt
    policy = MtaStsPolicy.parse(records.policy)
    assert policy.mode == MtaStsMode.TESTING and set(policy.mx) == set(records.mx_hosts)
