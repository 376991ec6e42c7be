"""Infusion dosing: rate = dose (ng/kg/min) x weight x 60 / concentration (PROTOCOL.md, Intervention)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shine import protocol
from shine.clinical.dosing import (
    Segment,
    check_rate,
    delivered_dose,
    infusion_rate_ml_per_h,
    planned_dose_ng,
    planned_volume_ml,
)

T0 = datetime(2021, 3, 4, 8, 0, tzinfo=UTC)


def h(x):
    return T0 + timedelta(hours=x)


def test_protocol_example_70_kg():
    assert infusion_rate_ml_per_h(70) == pytest.approx(2.1)
    assert planned_volume_ml(70) == pytest.approx(2.1 * 72)
    assert planned_dose_ng(70) == pytest.approx(1.0 * 70 * 60 * 72)


def test_explicit_dose_and_concentration():
    assert infusion_rate_ml_per_h(80, dose_ng_per_kg_min=2.0, concentration_ng_per_ml=1000) == pytest.approx(9.6)
    assert planned_volume_ml(80, hours=24, concentration_ng_per_ml=1000) == pytest.approx(4.8 * 24)


def test_defaults_follow_the_protocol():
    p = protocol.load()
    amended = replace(p, intervention=replace(p.intervention, concentration_ng_per_ml=1000.0, duration_hours=48,
                                              max_weight_kg=400.0))
    assert infusion_rate_ml_per_h(70, protocol=amended) == pytest.approx(4.2)
    assert planned_volume_ml(70, protocol=amended) == pytest.approx(4.2 * 48)
    assert infusion_rate_ml_per_h(350, protocol=amended) == pytest.approx(21.0)


def test_amended_protocol_file(tmp_path, monkeypatch):
    text = protocol.DEFAULT_FILE.read_text().replace("concentration_ng_per_ml = 2000.0",
                                                     "concentration_ng_per_ml = 4000.0")
    f = tmp_path / "amended.toml"
    f.write_text(text)
    monkeypatch.setenv("SHINE_PROTOCOL_FILE", str(f))
    assert infusion_rate_ml_per_h(70) == pytest.approx(1.05)


@pytest.mark.parametrize("weight", [30, 300])
def test_weight_limits_inclusive(weight):
    assert infusion_rate_ml_per_h(weight) == pytest.approx(weight * 60 / 2000)


@pytest.mark.parametrize("kwargs,match", [
    (dict(weight_kg=29.9), "weight_kg must lie between 30 and 300 kg"),
    (dict(weight_kg=300.1), "weight_kg must lie between 30 and 300 kg"),
    (dict(weight_kg=float("nan")), "weight_kg must lie between"),
    (dict(weight_kg="heavy"), "weight_kg must lie between"),
    (dict(weight_kg=70, dose_ng_per_kg_min=0), "dose_ng_per_kg_min must be a number above 0"),
    (dict(weight_kg=70, dose_ng_per_kg_min=-1), "dose_ng_per_kg_min must be a number above 0"),
    (dict(weight_kg=70, concentration_ng_per_ml=0), "concentration_ng_per_ml must be a number above 0"),
    (dict(weight_kg=70, concentration_ng_per_ml=float("inf")), "concentration_ng_per_ml must be"),
])
def test_rate_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        infusion_rate_ml_per_h(**kwargs)


def test_planned_volume_rejects_non_positive_hours():
    with pytest.raises(ValueError, match="hours must be a number above 0"):
        planned_volume_ml(70, hours=0)


def test_check_rate_uses_protocol_tolerance():
    assert not check_rate(2.1, 70).warn
    assert not check_rate(2.3, 70).warn  # +9.5 %
    c = check_rate(2.4, 70)  # +14 %
    assert c.warn and c.relative_difference == pytest.approx(0.3 / 2.1) and c.tolerance == 0.10
    assert "CHECK" in c.summary()
    with pytest.raises(ValueError, match="recorded_ml_per_h must be a number of 0 or more"):
        check_rate(-1, 70)


# ---- delivered dose -----------------------------------------------------------------------------------

def test_full_72_hours_is_the_planned_dose():
    d = delivered_dose([(h(0), h(72), 2.1, 2000)], 70)
    assert d.total_ng == pytest.approx(302_400)
    assert d.fraction_of_planned == pytest.approx(1.0)
    assert (d.hours_infused, d.longest_interruption_hours, d.segments) == (72, 0, 1)


def test_interruptions_rate_changes_and_zero_rate_segments():
    log = [
        {"start": h(30), "stop": h(36), "rate_ml_per_h": 0.0, "concentration_ng_per_ml": 2000},  # paused
        Segment(h(0), h(10), 2.1, 2000),
        (h(12), h(30), 4.2, 2000),  # gap 10-12 h, then double rate
        {"started_at": h(37), "stopped_at": h(72), "rate_ml_per_h": 2.1, "concentration_ng_per_ml": 2000},
    ]
    d = delivered_dose(log, 70)
    expected = (10 * 2.1 + 18 * 4.2 + 35 * 2.1) * 2000
    assert d.total_ng == pytest.approx(expected)
    assert d.hours_infused == pytest.approx(63)
    assert d.longest_interruption_hours == pytest.approx(7)  # 30 h to 37 h: rate 0, then a gap
    assert d.fraction_of_planned == pytest.approx(expected / 302_400)
    assert d.segments == 4
    assert "µg delivered" in d.summary()


def test_numbers_of_hours_work_like_datetimes():
    a = delivered_dose([(0, 24, 2.1, 2000), (30, 48, 2.1, 2000)], 70)
    b = delivered_dose([(h(0), h(24), 2.1, 2000), (h(30), h(48), 2.1, 2000)], 70)
    assert a == b and a.longest_interruption_hours == 6 and a.fraction_of_planned == pytest.approx(42 / 72)


def test_trailing_zero_rate_counts_as_interruption():
    d = delivered_dose([(0, 10, 2.1, 2000), (10, 15, 0, 2000)], 70)
    assert d.longest_interruption_hours == 5 and d.hours_infused == 10


def test_no_segments():
    d = delivered_dose([], 70)
    assert (d.total_ng, d.fraction_of_planned, d.hours_infused, d.segments) == (0, 0, 0, 0)


def test_touching_segments_are_not_overlapping():
    assert delivered_dose([(0, 10, 2.1, 2000), (10, 72, 2.1, 2000)], 70).longest_interruption_hours == 0


@pytest.mark.parametrize("log,match", [
    ([(h(5), h(5), 2.1, 2000)], "segment 1: stop must be after start"),
    ([(h(0), h(10), 2.1, 2000), (h(20), h(15), 2.1, 2000)], "segment 2: stop must be after start"),
    ([(h(0), h(10), 2.1, 2000), (h(9), h(15), 2.1, 2000)], "segments 1 and 2 overlap"),
    ([(h(9), h(15), 2.1, 2000), (h(0), h(10), 2.1, 2000)], "segments 2 and 1 overlap"),
    ([(h(0), h(10), -1, 2000)], "segment 1: rate_ml_per_h must be 0 or more"),
    ([(h(0), h(10), 2.1, 0)], "segment 1: concentration_ng_per_ml must be a number above 0"),
    ([(h(0), 10, 2.1, 2000)], "all be datetimes or all be numbers"),
    ([(h(0), datetime(2021, 3, 5), 2.1, 2000)], "timezone-aware and naive"),
    ([(h(0), h(1), 2.1)], r"segment 1 must be \(start, stop"),
    ([{"start": h(0)}], "segment 1 must have keys"),
    ([("a", "b", 2.1, 2000)], "segment 1: start and stop must be datetimes or numbers"),
    ([(float("nan"), 3, 2.1, 2000)], "segment 1: start and stop must be given"),
])
def test_bad_logs_raise(log, match):
    with pytest.raises(ValueError, match=match):
        delivered_dose(log, 70)


@settings(deadline=None)
@given(st.lists(st.tuples(st.floats(0.1, 20), st.floats(0, 10), st.floats(0, 5)), min_size=1, max_size=8))
def test_delivered_dose_properties(pieces):
    """Back-to-back or separated segments: the total is the sum of rate x time x concentration."""
    log, t = [], 0.0
    for gap, length, rate in pieces:
        t += gap
        log.append((t, t + length + 0.01, rate, 2000.0))
        t += length + 0.01
    d = delivered_dose(reversed(log), 70)
    assert d.total_ng == pytest.approx(sum((b - a) * r * c for a, b, r, c in log))
    assert 0 <= d.hours_infused <= t
    gaps = [g for g, _, _ in pieces[1:]] + [length + 0.01 for _, length, rate in pieces if rate == 0]
    assert d.longest_interruption_hours >= max(gaps, default=0) - 1e-9
