"""The reporting clocks at each boundary: on time, one second late, and across the changes of summer time in
Europe/Copenhagen (last Sunday of March 02:00 → 03:00, last Sunday of October 03:00 → 02:00)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from shine import protocol
from shine.trial.safety import clocks as clk

CPH = ZoneInfo("Europe/Copenhagen")
RULES = clk.Rules.of(protocol.load().safety, "Europe/Copenhagen")
SECOND = dt.timedelta(seconds=1)


def local(*a, fold=0):
    return dt.datetime(*a, tzinfo=CPH, fold=fold)


def test_sae_report_24_hours_on_time_and_one_second_late():
    aware = local(2026, 6, 10, 14, 30)
    assert clk.sae_clock(aware, aware + dt.timedelta(hours=24), RULES).state(aware) == "met"
    assert clk.sae_clock(aware, aware + dt.timedelta(hours=24) + SECOND, RULES).state(aware) == "late"
    running = clk.sae_clock(aware, None, RULES)
    assert running.state(aware + dt.timedelta(hours=24)) == "running"
    assert running.state(aware + dt.timedelta(hours=24) + SECOND) == "overdue"


def test_24_hours_across_the_spring_change_are_24_elapsed_hours():
    aware = local(2026, 3, 28, 10, 0)  # CET (+01:00); the clocks go forward the next night
    due = clk.sae_clock(aware, None, RULES).due
    assert due - aware == dt.timedelta(hours=24)  # subtraction across zones is in real time
    assert due.astimezone(CPH).hour == 11  # 11:00 CEST on the wall: one hour later than the start's wall time
    assert clk.sae_clock(aware, due, RULES).state(due) == "met"
    assert clk.sae_clock(aware, due + SECOND, RULES).state(due) == "late"


def test_24_hours_across_the_autumn_change():
    aware = local(2026, 10, 24, 10, 0)  # CEST; clocks go back the next night
    due = clk.sae_clock(aware, None, RULES).due
    assert due.astimezone(CPH).hour == 9 and (due - aware) == dt.timedelta(hours=24)


def test_fatal_susar_7_days_then_follow_up_8_more_days():
    aware = local(2026, 6, 1, 9, 0)
    initial, followup = clk.susar_clocks(aware_from=aware, fatal=True, rules=RULES)
    assert initial.due == local(2026, 6, 8, 9, 0) and followup.due == local(2026, 6, 16, 9, 0)
    on_time = clk.susar_clocks(aware_from=aware, fatal=True, initial_sent_at=initial.due,
                               followup_sent_at=followup.due, rules=RULES)
    assert [c.state(aware) for c in on_time] == ["met", "met"]
    late = clk.susar_clocks(aware_from=aware, fatal=True, initial_sent_at=initial.due + SECOND,
                            followup_sent_at=followup.due + SECOND, rules=RULES)
    assert [c.state(aware) for c in late] == ["late", "late"]


def test_other_susar_15_days():
    aware = local(2026, 6, 1, 9, 0)
    (initial,) = clk.susar_clocks(aware_from=aware, fatal=False, rules=RULES)
    assert initial.due == local(2026, 6, 16, 9, 0)
    assert initial.state(initial.due) == "running" and initial.state(initial.due + SECOND) == "overdue"


def test_days_across_the_spring_change_keep_the_wall_clock_time():
    aware = local(2026, 3, 25, 10, 0)  # CET
    (initial,) = clk.susar_clocks(aware_from=aware, fatal=False, rules=RULES)
    assert initial.due.astimezone(CPH) == local(2026, 4, 9, 10, 0)  # CEST, same 10:00 on the wall
    assert initial.due - aware == dt.timedelta(days=15) - dt.timedelta(hours=1)
    assert clk.susar_clocks(aware_from=aware, fatal=False, initial_sent_at=initial.due, rules=RULES)[0] \
        .state(aware) == "met"
    assert clk.susar_clocks(aware_from=aware, fatal=False, initial_sent_at=initial.due + SECOND, rules=RULES)[0] \
        .state(aware) == "late"


def test_days_across_the_autumn_change_keep_the_wall_clock_time():
    aware = local(2026, 10, 20, 10, 0)
    initial, _ = clk.susar_clocks(aware_from=aware, fatal=True, rules=RULES)
    assert initial.due.astimezone(CPH) == local(2026, 10, 27, 10, 0)
    assert initial.due - aware == dt.timedelta(days=7, hours=1)


def test_a_start_in_the_skipped_hour_and_a_due_time_that_occurs_twice():
    # 02:30 on 29 March 2026 does not exist in Copenhagen; 7 days from 02:30 on 22 March lands there
    start = local(2026, 3, 22, 2, 30)
    due = clk.add_days(start, 7, "Europe/Copenhagen")
    assert due == dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)  # read with the CET offset
    # 02:30 on 25 October 2026 occurs twice: the first (CEST) one is the deadline
    due = clk.add_days(local(2026, 10, 18, 2, 30), 7, "Europe/Copenhagen")
    assert due == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)


def test_becoming_fatal_restarts_a_7_day_clock():
    aware = local(2026, 6, 1, 9, 0)
    became = local(2026, 6, 5, 18, 0)
    initial, restart = clk.susar_clocks(aware_from=aware, fatal=False, restart_from=became, rules=RULES)
    assert initial.due == local(2026, 6, 16, 9, 0)
    assert restart.kind == clk.SUSAR_RESTART and restart.due == local(2026, 6, 12, 18, 0)


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        clk.add_hours(dt.datetime(2026, 1, 1), 24)
    with pytest.raises(ValueError):
        clk.earlier(None, None)
