"""Regression (issue 8, defect 4): reasons quote a hostile field, never all of it.

A 64 KB ``_mta-sts`` TXT record whose ``id`` is 63 KB of letters produced a
63 KB reason, copied into the report (and into every stored report of a
monitor).  Quoted values are now cut to a few dozen characters and whole
reasons to a few hundred.
"""

from __future__ import annotations

from mxtls.protocol.peer_text import MAX_REASON_CHARS, MAX_REASONS
from mxtls.protocol.tls_rpt import TlsRptRecord, TlsRptSyntaxError

from .peers import HostileWorld
from .scripts import plain_smtp

TXT_BYTES = 64_000
CHUNK = 255  # one DNS character-string


def txt_rdata(text: str) -> str:
    """Zone-file presentation of one TXT record holding ``text`` (split into strings)."""
    return " ".join(f'"{text[i : i + CHUNK]}"' for i in range(0, len(text), CHUNK))


async def test_a_64kb_txt_record_gives_a_short_reason(world: HostileWorld) -> None:
    # Given an _mta-sts record whose id is 64,000 characters long
    record = "v=STSv1; id=" + "a" * (TXT_BYTES - len("v=STSv1; id="))
    await world.smtp(plain_smtp)
    await world.publish(extra=f"_mta-sts 300 IN TXT {txt_rdata(record)}\n")

    # When the domain is checked
    report = await world.check()

    # Then the record is reported invalid, and no reason echoes the whole field
    assert report.mta_sts is not None
    assert report.mta_sts.txt_strings == [record]  # the fact itself is kept whole
    assert report.mta_sts.record_errors
    assert all(len(r) <= MAX_REASON_CHARS for r in report.mta_sts.record_errors)
    invalid = [f for f in report.findings if f.code == "mta_sts.txt_invalid"]
    assert invalid and all(len(f.message) <= 2 * MAX_REASON_CHARS for f in invalid)


def test_many_problems_are_counted_not_listed() -> None:
    # A TLS-RPT record with 5,000 bad rua URIs has 5,000 problems.
    txt = "v=TLSRPTv1; rua=" + ",".join(f"gopher://{i}.example" for i in range(5000))
    try:
        TlsRptRecord.parse(txt)
    except TlsRptSyntaxError as exc:
        reasons = exc.reasons
    assert len(reasons) == MAX_REASONS + 1
    assert reasons[-1] == f"… and {5000 - MAX_REASONS} more problems"
