"""The planned recruitment of protocol.toml ([recruitment]): its curve and the load-time checks that name
the setting and its limit."""

import tomllib

import pytest

from shine import protocol


def _with(**recruitment) -> dict:
    data = tomllib.loads(protocol.DEFAULT_FILE.read_text())
    data["recruitment"] = {**data["recruitment"], **recruitment}
    return data


def test_the_plan_ramps_up_then_runs_at_full_pace_and_stops_at_the_maximum():
    plan = protocol.load().recruitment
    assert plan == protocol.Recruitment("first_randomisation", 12.0, 6)
    # month k of the ramp adds 12·(k+1)/6: 2, 4, …, 12; then 12 a month; capped at 380
    assert [plan.planned_cumulative(k, 380) for k in range(8)] == [2, 6, 12, 20, 30, 42, 54, 66]
    assert plan.planned_cumulative(-1, 380) == 0
    assert plan.planned_cumulative(33, 380) == 378 and plan.planned_cumulative(34, 380) == 380
    assert protocol.Recruitment("2020-01", 10.0, 0).planned_cumulative(2, 380) == 30  # no ramp


@pytest.mark.parametrize(("setting", "value", "message"), [
    ("first_month", "2020-13", "recruitment.first_month must be a month as YYYY-MM"),
    ("first_month", "soon", "recruitment.first_month must be a month as YYYY-MM"),
    ("planned_per_month", 0, "recruitment.planned_per_month must be a number of participants a month above 0"),
    ("planned_per_month", "ten", "recruitment.planned_per_month must be a number"),
    ("planned_per_month", float("nan"), "at most 1000"),
    ("ramp_up_months", 2.5, "recruitment.ramp_up_months must be a whole number of months from 0 to 60"),
    ("ramp_up_months", -1, "from 0 to 60"),
    ("ramp_up_months", True, "from 0 to 60"),
])
def test_a_bad_setting_is_refused_at_load_naming_it(setting, value, message):
    with pytest.raises(ValueError, match=message):
        protocol.parse(_with(**{setting: value}))


def test_missing_and_unknown_settings_are_refused_and_the_section_is_optional():
    data = _with()
    del data["recruitment"]["ramp_up_months"]
    with pytest.raises(ValueError, match="recruitment.ramp_up_months is missing"):
        protocol.parse(data)
    with pytest.raises(ValueError, match="unknown setting 'per_site'"):
        protocol.parse(_with(per_site=3))
    data = _with()
    del data["recruitment"]
    assert protocol.parse(data).recruitment is None
    assert protocol.parse(_with(first_month="2020-02")).recruitment.first_month == "2020-02"
