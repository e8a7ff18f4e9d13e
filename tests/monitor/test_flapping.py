"""The flapping guard (pure): a round of timeouts is held until a second one confirms it."""

from __future__ import annotations

from collections.abc import Sequence

from mxtls.models.findings import Severity
from mxtls.models.policy import PolicyFetchError
from mxtls.monitor.diff import FindingEvent, diff_reports
from mxtls.monitor.flapping import Held, TimeoutScope, guard
from tests.monitor.conftest import LabRounds


def codes(events: Sequence[object]) -> set[tuple[str, str]]:
    return {(e.type, e.code) for e in events if isinstance(e, FindingEvent)}


def test_the_timeout_round_is_real(lab_rounds: LabRounds) -> None:
    scope = TimeoutScope.of(lab_rounds.timeout)
    assert scope.any and scope.hosts == {"mx2.good.lab"}
    assert ("finding.new", "smtp.banner_timeout") in codes(
        diff_reports(lab_rounds.before["good.lab"], lab_rounds.timeout)
    )
    assert not TimeoutScope.of(lab_rounds.before["good.lab"]).any


def test_a_single_timeout_round_is_held_then_dropped(lab_rounds: LabRounds) -> None:
    ok, timeout = lab_rounds.before["good.lab"], lab_rounds.timeout
    # Given a round where mx2 timed out: everything it caused is held, nothing sent
    first = guard(diff_reports(ok, timeout), timeout, [])
    assert first.emit == []
    assert ("finding.new", "smtp.banner_timeout") in codes([h.event for h in first.held])
    # When the next round is healthy again, then nothing is ever sent
    second = guard(diff_reports(timeout, ok), ok, first.held)
    assert second.emit == [] and second.held == []


def test_a_timeout_seen_twice_is_sent_once(lab_rounds: LabRounds) -> None:
    ok, timeout = lab_rounds.before["good.lab"], lab_rounds.timeout
    first = guard(diff_reports(ok, timeout), timeout, [])
    second = guard(diff_reports(timeout, timeout), timeout, first.held)
    assert {e.key for e in second.emit} == {h.event.key for h in first.held}
    assert second.held == []
    third = guard(diff_reports(timeout, timeout), timeout, second.held)
    assert third.emit == [] and third.held == []


def test_confirm_rounds_is_configurable(lab_rounds: LabRounds) -> None:
    ok, timeout = lab_rounds.before["good.lab"], lab_rounds.timeout
    events = diff_reports(ok, timeout)
    assert guard(events, timeout, [], confirm_rounds=1).emit == events
    held = guard(events, timeout, [], confirm_rounds=3).held
    held = guard([], timeout, held, confirm_rounds=3).held
    assert held and all(h.seen == 2 for h in held)
    assert len(guard([], timeout, held, confirm_rounds=3).emit) == len(held)


def test_changes_the_timeouts_cannot_explain_go_out_at_once(lab_rounds: LabRounds) -> None:
    # A renewal that breaks DANE on another domain is not held by good.lab's timeouts...
    old, new = lab_rounds.before["dane-single.lab"], lab_rounds.after["dane-single.lab"]
    assert guard(diff_reports(old, new), new, []).emit == diff_reports(old, new)
    # ... and a held event that the next report no longer shows is dropped.
    held = [
        Held(FindingEvent(type="finding.new", code="x.y", target="a", severity="info", message=""))
    ]
    assert guard([], new, held) == guard([], new, [])


def test_a_policy_fetch_timeout_holds_mta_sts_changes(lab_rounds: LabRounds) -> None:
    ok = lab_rounds.before["secure.lab"]
    assert ok.mta_sts is not None and ok.mta_sts.fetch is not None
    fetch = ok.mta_sts.fetch.model_copy(
        update={"error": PolicyFetchError(kind="timeout", detail="no answer within 1s")}
    )
    timed_out = ok.model_copy(update={"mta_sts": ok.mta_sts.model_copy(update={"fetch": fetch})})
    event = FindingEvent(
        type="finding.new",
        code="mta_sts.policy_fetch_failed",
        target="secure.lab",
        severity=Severity.ERROR,
        message="timeout",
    )
    assert TimeoutScope.of(timed_out).explains(event)
    assert not TimeoutScope.of(ok).explains(event)
