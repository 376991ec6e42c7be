"""The infusion log's transition table, without the database: each state's allowed events and refusals."""

import datetime as dt

import pytest

from shine.trial.errors import Refused
from shine.trial.records import infusion_log as log
from shine.trial.records.infusion_log import Segment

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
RUNNING = [Segment(T0, None)]
PAUSED = [Segment(T0, T0 + H, "interrupted")]
ENDED = [Segment(T0, T0 + 72 * H, "planned_end")]
STOPPED_EARLY = [Segment(T0, T0 + 5 * H, "adverse_event")]


@pytest.mark.parametrize(("segments", "state"), [([], log.NOT_STARTED), (RUNNING, log.RUNNING), (PAUSED, log.PAUSED),
                                                 (ENDED, log.ENDED), (STOPPED_EARLY, log.ENDED)])
def test_state_is_read_off_the_last_segment(segments, state):
    assert log.state(segments) == state
    assert log.ended(segments) is (state == log.ENDED)
    assert log.ended([(s.stopped_at, s.stop_reason) for s in segments]) is (state == log.ENDED)


@pytest.mark.parametrize(("segments", "kind", "close", "opens"), [
    ([], "start", None, True),
    (RUNNING, "rate_change", "rate_change", True),
    (RUNNING, "end", "planned_end", False),
    (PAUSED, "restart", None, True),
])
def test_allowed_steps(segments, kind, close, opens):
    step = log.step(segments, kind, T0 + 2 * H)
    assert (step.close, step.opens) == (close, opens)


def test_a_stop_closes_with_its_reason_and_other_needs_a_note():
    assert log.step(RUNNING, "stop", T0 + H, stop_reason="death") == log.Step("death", False, "infusion stopped: death")
    with pytest.raises(Refused) as e:
        log.step(RUNNING, "stop", T0 + H, stop_reason="other")
    assert e.value.field == "note"
    assert log.step(RUNNING, "stop", T0 + H, stop_reason="other", note="line blocked").close == "other"
    with pytest.raises(Refused) as e:
        log.step(RUNNING, "stop", T0 + H, stop_reason="planned_end")  # the end is its own event
    assert e.value.field == "stop_reason"


@pytest.mark.parametrize(("segments", "kind", "words"), [
    (RUNNING, "start", "already started"), (PAUSED, "start", "already started"),
    ([], "stop", "not running"), (PAUSED, "rate_change", "not running"), (ENDED, "end", "not running"),
    ([], "restart", "needs an infusion that was stopped"), (RUNNING, "restart", "needs an infusion that was stopped"),
    (ENDED, "restart", "ended (planned end)"), (STOPPED_EARLY, "restart", "ended (adverse event)"),
])
def test_events_the_state_does_not_allow_are_refused_with_409(segments, kind, words):
    with pytest.raises(Refused) as e:
        log.step(segments, kind, T0 + 80 * H, stop_reason="interrupted" if kind == "stop" else "")
    assert words in str(e.value) and e.value.field == "kind" and e.value.status == 409


def test_times_follow_the_segments():
    with pytest.raises(Refused, match="before the stop"):
        log.step(PAUSED, "restart", T0 + 0.5 * H)
    with pytest.raises(Refused, match="after the segment's start"):
        log.step(RUNNING, "end", T0)
    assert log.step(PAUSED, "restart", T0 + H).opens  # at the stop itself is allowed


def test_unknown_event_and_misplaced_stop_reason():
    with pytest.raises(Refused) as e:
        log.step([], "pause", T0)
    assert e.value.field == "kind"
    with pytest.raises(Refused) as e:
        log.check_event("start", "interrupted")
    assert e.value.field == "stop_reason"


def test_every_table_entry_is_reachable_and_no_other_pair_is_allowed():
    states = {log.NOT_STARTED: [], log.RUNNING: RUNNING, log.PAUSED: PAUSED, log.ENDED: ENDED}
    allowed = set()
    for name, segments in states.items():
        for kind in log.KINDS:
            try:
                log.step(segments, kind, T0 + 90 * H, stop_reason="interrupted" if kind == "stop" else "")
            except Refused:
                continue
            allowed.add((name, kind))
    assert allowed == {*log.TABLE, (log.RUNNING, "stop")} == set(log.TABLE)
