"""The posture diff (pure): real lab reports in, typed events out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from mxtls.models.report import Report
from mxtls.monitor.diff import (
    EVENTS_ADAPTER,
    CertChangedEvent,
    CheckFailedEvent,
    FindingEvent,
    Leaf,
    VerdictChangedEvent,
    diff_reports,
    leaves,
    verdict_state,
)
from tests.monitor.conftest import LabRounds


def kinds(events: Sequence[object]) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for e in events:
        match e:
            case FindingEvent(type=t, code=c, target=target):
                out.add((t, c, target))
            case VerdictChangedEvent(sender=s, old=o, new=n):
                out.add(("verdict.changed", s, o, n))
            case CertChangedEvent(target=target, tlsa_matches=m):
                out.add(("cert.changed", target, str(m)))
            case CheckFailedEvent():
                out.add(("check.failed",))
    return out


def test_first_report_and_no_change_are_silent(lab_rounds: LabRounds) -> None:
    for report in lab_rounds.before.values():
        assert diff_reports(None, report) == []
        assert diff_reports(report, report) == []


def test_renewal_without_tlsa_update_and_its_undoing(lab_rounds: LabRounds) -> None:
    old, new = lab_rounds.before["dane-single.lab"], lab_rounds.after["dane-single.lab"]
    ep = next(e for h in new.hosts for e in h.endpoints)
    target = f"{ep.host}[{ep.ip}]:25"
    assert kinds(diff_reports(old, new)) == {
        ("verdict.changed", "dane", "authenticated", "refuses"),
        ("cert.changed", target, "False"),
        ("finding.new", "dane.mismatch", target),
        ("finding.new", "delivery.strict_senders_fail", "dane-single.lab"),
        ("finding.resolved", "dane.no_rollover", "mx.dane-single.lab"),
    }
    # Going back is the mirror image: the old leaf matches its TLSA record again.
    assert kinds(diff_reports(new, old)) == {
        ("verdict.changed", "dane", "refuses", "authenticated"),
        ("cert.changed", target, "True"),
        ("finding.resolved", "dane.mismatch", target),
        ("finding.resolved", "delivery.strict_senders_fail", "dane-single.lab"),
        ("finding.new", "dane.no_rollover", "mx.dane-single.lab"),
    }


def test_cert_event_carries_both_leaves(lab_rounds: LabRounds) -> None:
    old, new = lab_rounds.before["secure.lab"], lab_rounds.after["secure.lab"]
    (event,) = diff_reports(old, new)
    assert isinstance(event, CertChangedEvent)
    old_leaf = old.hosts[0].endpoints[0].handshake.chain[0]  # type: ignore[union-attr]
    new_leaf = new.hosts[0].endpoints[0].handshake.chain[0]  # type: ignore[union-attr]
    assert (event.old_sha256, event.new_sha256) == (
        old_leaf.sha256_fingerprint,
        new_leaf.sha256_fingerprint,
    )
    assert event.key_changed and event.tlsa_matches is True  # the 2 1 1 record still matches
    assert event.new_not_after == new_leaf.not_after


def test_a_changed_message_alone_is_no_event(lab_rounds: LabRounds) -> None:
    report = lab_rounds.before["good.lab"]
    reworded = report.model_copy(
        update={"findings": [f.model_copy(update={"message": "x"}) for f in report.findings]}
    )
    assert report.findings and diff_reports(report, reworded) == []


def test_check_failed_only_on_the_transition(lab_rounds: LabRounds) -> None:
    ok = lab_rounds.before["good.lab"]
    broken = ok.model_copy(update={"internal_errors": ["Traceback ...\nValueError: boom"]})
    assert kinds(diff_reports(ok, broken)) == {("check.failed",)}
    (event,) = [e for e in diff_reports(ok, broken) if isinstance(e, CheckFailedEvent)]
    assert event.error == "ValueError: boom"
    assert diff_reports(broken, broken) == []
    assert diff_reports(None, broken) == [event]


def test_verdict_states(lab_rounds: LabRounds) -> None:
    def states(report: Report) -> dict[str, str]:
        return {v.sender: verdict_state(v) for v in report.verdict.senders}

    assert states(lab_rounds.before["secure.lab"]) == {
        "opportunistic": "encrypted",  # encrypted but unauthenticated
        "mta_sts": "authenticated",
        "dane": "authenticated",
    }
    assert states(lab_rounds.after["good.lab"])["opportunistic"] == "plaintext"
    assert states(lab_rounds.before["good.lab"])["dane"] == "not_applicable"


def test_events_round_trip_as_json(lab_rounds: LabRounds) -> None:
    events = diff_reports(lab_rounds.before["good.lab"], lab_rounds.after["good.lab"])
    assert events
    assert EVENTS_ADAPTER.validate_json(EVENTS_ADAPTER.dump_json(events)) == events


def test_a_certificate_replaced_during_an_outage(lab_rounds: LabRounds) -> None:
    # Given mx2.good.lab timed out last round, and presents a leaf again now
    outage, now = lab_rounds.timeout, lab_rounds.before["good.lab"]
    mx2 = next(e for h in now.hosts for e in h.endpoints if e.host == "mx2.good.lab")
    key = (mx2.host, mx2.ip, mx2.port)
    assert key in leaves(now) and key not in leaves(outage)
    # ... with no earlier leaf known, nothing can be said
    assert not [e for e in diff_reports(outage, now) if isinstance(e, CertChangedEvent)]
    # ... but against the leaf the history saw before the outage, it changed
    seen = Leaf("00" * 32, "11" * 32, datetime(2030, 1, 1, tzinfo=UTC))
    (event,) = [
        e
        for e in diff_reports(outage, now, earlier_leaves={key: seen})
        if isinstance(e, CertChangedEvent)
    ]
    assert (event.old_sha256, event.new_sha256) == (seen.sha256, leaves(now)[key].sha256)
    # ... and the same leaf as before the outage is no change
    same = {key: leaves(now)[key]}
    assert not [
        e for e in diff_reports(outage, now, earlier_leaves=same) if isinstance(e, CertChangedEvent)
    ]
