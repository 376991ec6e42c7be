"""The protocol's rule for a missing SOFA component ([missing_data] in protocol.toml) on hand-computed patients,
and the typed missing-data codes of the data set."""

import pandas as pd
import pytest

from shine.analysis import derive
from shine.analysis.dataset import load
from shine.analysis.schema import TABLES, write_dataset

from .test_derive import NORMAL, infusion, person, visit

R = pd.Timestamp("2021-01-01T00:00:00Z")
D = pd.Timedelta(days=1)
H = pd.Timedelta(hours=1)


def day(pid, d, **over):
    # every component normal (0) unless changed: platelets 80 scores coagulation 2
    return dict(participant_id=pid, study_day=d, **{**NORMAL, "platelets": 200.0, "vasopressor": False, **over})


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    """RH-1, ICU days 1–5 (discharged during day 5):
    day 1: all five observed, coagulation 2 (platelets 80)  -> 2
    day 2: platelets not done                              -> coagulation carried from day 1 (1 day back): 2
    day 3: platelets not done again                        -> last observed is day 1, 2 days back: missing;
                                                              the day rule carries day 2's score: 2
    day 4: liver 1 (bilirubin 25), platelets 200           -> 1
    day 5: no record                                       -> carried: 1
    mean = (2 + 2 + 2 + 1 + 1) / 5 = 1.6.
    Sensitivity (a missing component scores 0): day 2 -> 0, day 3 -> 0: (2 + 0 + 0 + 1 + 1) / 5 = 0.8."""
    daily = [day("RH-1", 1, platelets=80.0), day("RH-1", 2, platelets=None), day("RH-1", 3, platelets=None),
             day("RH-1", 4, bilirubin=25.0)]
    frames = {
        "participants": pd.DataFrame([person("RH-1", R, "iloprost", 1)]),
        "daily": pd.DataFrame(daily),
        "daily_missing": pd.DataFrame([dict(participant_id="RH-1", study_day=2, input="platelets", code="not_done"),
                                       dict(participant_id="RH-1", study_day=3, input="platelets", code="not_done")]),
        "icu_stays": pd.DataFrame([dict(participant_id="RH-1", stay=1, admitted_at=R - H, discharged_at=R + 4.5 * D,
                                        discharge="discharged")]),
        "deaths": pd.DataFrame(columns=TABLES["deaths"].column_names),
        "infusion": pd.DataFrame([infusion("RH-1", R, 72)]),
        "adverse_events": pd.DataFrame(columns=TABLES["adverse_events"].column_names),
        "followup": pd.DataFrame([visit("RH-1", R, 28, "alive"), visit("RH-1", R, 90, "alive")]),
        "deviations": pd.DataFrame(columns=TABLES["deviations"].column_names),
    }
    for name, frame in frames.items():
        frames[name] = frame.reindex(columns=TABLES[name].column_names)
    return load(write_dataset(frames, tmp_path_factory.mktemp("missing"), blinded=False, source="export",
                              data_cutoff="2021-12-31T00:00:00Z"))


def test_a_missing_component_is_never_scored_zero_in_the_daily_scores(hand):
    s = derive.daily_scores(hand).set_index("study_day")
    assert s.loc[1, "modified"] == 2 and pd.isna(s.loc[2, "modified"]) and pd.isna(s.loc[2, "coagulation"])


def test_primary_rule_on_the_hand_computed_patient(hand):
    m = derive.mean_daily_sofa(hand)
    days = m.days.set_index("study_day")
    assert days["score"].tolist() == [2, 2, 2, 1, 1]
    assert days["source"].tolist() == ["observed", "observed", "carried", "observed", "carried"]
    assert days["components_filled"].tolist() == [0, 1, 0, 0, 0]
    per = m.per_participant.iloc[0]
    assert per.mean_sofa == pytest.approx(1.6)
    assert (per.components_filled, per.completed_days, per.carried_days) == (1, 1, 2)
    assert m.component_days == 1  # protocol.toml [missing_data] component_carry_forward_days


def test_sensitivity_rule_scores_the_missing_component_normal(hand):
    m = derive.mean_daily_sofa(hand, component_rule="missing_component_scores_normal")
    assert m.days["score"].tolist() == [2, 0, 0, 1, 1]
    assert m.per_participant.iloc[0].mean_sofa == pytest.approx(0.8)


def test_longer_component_carry_forward_is_a_setting(hand):
    m = derive.mean_daily_sofa(hand, component_days=2)
    assert m.days["source"].tolist() == ["observed"] * 4 + ["carried"]
    assert m.per_participant.iloc[0].components_filled == 2
    with pytest.raises(ValueError, match="component_rule"):
        derive.mean_daily_sofa(hand, component_rule="zero")


def test_the_report_counts_values_codes_and_blanks(hand):
    rep = derive.missing_data_report(hand)
    rows = rep.inputs.set_index("input")
    assert rows.loc["platelets", ["value", "not_done", "unknown", "not_applicable", "not_entered"]].tolist() == [
        2, 2, 0, 0, 0]
    assert rows.loc["pao2_fio2", "value"] == 4
    d = rep.as_dict()
    assert d["primary"]["components_filled"] == 1 and d["sensitivity"]["rule"] == "missing_component_scores_normal"
    assert "2 inputs coded" in rep.summary()


def test_codes_are_typed_in_the_data_set(hand):
    codes = hand["daily_missing"]
    assert codes["code"].map(type).eq(str).all() and set(codes["code"]) == {"not_done"}
    assert TABLES["daily_missing"].column("code").choices == ("not_done", "unknown", "not_applicable")
