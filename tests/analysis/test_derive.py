"""Outcome derivations and populations on a hand-made data set whose answers are worked out below."""

import math

import pandas as pd
import pytest

from shine.analysis import derive, populations
from shine.analysis.dataset import load
from shine.analysis.schema import TABLES, write_dataset

R1, R2, R3 = (pd.Timestamp(t) for t in ("2021-01-01T00:00:00Z", "2021-02-01T00:00:00Z", "2021-03-01T00:00:00Z"))
D = pd.Timedelta(days=1)
H = pd.Timedelta(hours=1)
# platelets giving a coagulation score of 0..4 with every other input normal: modified SOFA = that score
PLATELETS = {0: 200.0, 1: 120.0, 2: 80.0, 3: 40.0, 4: 10.0}
NORMAL = dict(pao2_fio2=450.0, respiratory_support=False, bilirubin=10.0, map_mmhg=80.0, dopamine=0.0,
              dobutamine=0.0, epinephrine=0.0, norepinephrine=0.0, gcs=15, creatinine=80.0, urine_output=2000.0,
              mechanical_ventilation=False, rrt=False)


def person(pid, r, arm, number):
    return dict(participant_id=pid, site="RH", arm=arm, randomisation_number=number, randomised_at=r, age=60,
                sex="F", weight_kg=70.0, weight_estimated=False, site_of_infection="pulmonary", lactate_mmol_l=4.0,
                stm_ng_ml=20.0, baseline_sofa_respiration=2, baseline_sofa_coagulation=2, baseline_sofa_liver=0,
                baseline_sofa_cardiovascular=3, baseline_sofa_cns=1, baseline_sofa_renal=1, baseline_sofa_modified=8,
                data_use_consent=True)


def day(pid, d, score, vasopressor):
    return dict(participant_id=pid, study_day=d, **NORMAL, platelets=PLATELETS[score], vasopressor=vasopressor)


def empty_day(pid, d):
    row = {c: None for c in TABLES["daily"].column_names}
    return {**row, "participant_id": pid, "study_day": d}


def visit(pid, r, visit_day, status):
    return dict(participant_id=pid, visit_day=visit_day, assessed_at=r + visit_day * D + 2 * H, vital_status=status)


def infusion(pid, r, hours, segment=1):
    return dict(participant_id=pid, segment=segment, started_at=r + H, stopped_at=r + H + hours * H, rate_ml_per_h=2.1,
                concentration_ng_per_ml=2000.0, stop_reason="planned_end")


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    """P1: ICU days 1–6 and (readmission) 11–15, gaps of each kind; alive. P2: died in the ICU at 3.5 days.
    P3: lost to follow-up after the day-28 visit; 10 h of infusion and a major deviation."""
    daily = [day("RH-1", 1, 4, True), day("RH-1", 2, 3, True), empty_day("RH-1", 4), day("RH-1", 5, 2, False),
             day("RH-1", 6, 1, False), day("RH-1", 12, 3, False)]
    daily += [day("RH-2", d, 4, d <= 2) for d in (1, 2, 3, 4)]
    daily += [day("RH-3", d, 1, False) for d in (1, 2)]
    frames = {
        "participants": pd.DataFrame([person("RH-1", R1, "iloprost", 1), person("RH-2", R2, "placebo", 2),
                                      person("RH-3", R3, "placebo", 3)]),
        "daily": pd.DataFrame(daily),
        "icu_stays": pd.DataFrame([
            dict(participant_id="RH-1", stay=1, admitted_at=R1 - 2 * H, discharged_at=R1 + 5.5 * D,
                 discharge="discharged"),
            dict(participant_id="RH-1", stay=2, admitted_at=R1 + 10.2 * D, discharged_at=R1 + 14.5 * D,
                 discharge="discharged"),
            dict(participant_id="RH-2", stay=1, admitted_at=R2 - H, discharged_at=None, discharge="died"),
            dict(participant_id="RH-3", stay=1, admitted_at=R3 - H, discharged_at=R3 + 1.5 * D,
                 discharge="discharged")]),
        "deaths": pd.DataFrame([dict(participant_id="RH-2", died_at=R2 + 3.5 * D, cause="")]),
        "infusion": pd.DataFrame([infusion("RH-1", R1, 72), infusion("RH-2", R2, 72), infusion("RH-3", R3, 10)]),
        "adverse_events": pd.DataFrame([
            dict(participant_id="RH-1", event_id="1", onset_at=R1 + 6.9 * D, term="x", prespecified="", serious=True,
                 related=True, expected=False),
            dict(participant_id="RH-1", event_id="2", onset_at=R1 + 7 * D, term="x", prespecified="", serious=True,
                 related=False, expected=True),
            dict(participant_id="RH-2", event_id="1", onset_at=R2 + D, term="x", prespecified="severe_bleeding",
                 serious=True, related=False, expected=True),
            dict(participant_id="RH-3", event_id="1", onset_at=R3 + D, term="x", prespecified="", serious=False,
                 related=False, expected=True)]),
        "followup": pd.DataFrame([visit("RH-1", R1, 28, "alive"), visit("RH-1", R1, 90, "alive"),
                                  visit("RH-2", R2, 28, "dead"), visit("RH-2", R2, 90, "dead"),
                                  visit("RH-3", R3, 28, "alive"), visit("RH-3", R3, 90, "unknown")]),
        "deviations": pd.DataFrame([dict(participant_id="RH-3", deviation_id="1", category="consent", major=True,
                                         description="")]),
    }
    for name, frame in frames.items():
        frames[name] = frame.reindex(columns=TABLES[name].column_names)
    path = write_dataset(frames, tmp_path_factory.mktemp("hand"), blinded=False, source="export",
                         data_cutoff="2021-12-31T00:00:00Z")
    return load(path)


def test_icu_days_cover_stays_and_stop_at_death(hand):
    days = derive.icu_days(hand)
    got = {pid: list(g.study_day) for pid, g in days.groupby("participant_id")}
    assert got["RH-1"] == [1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15]
    assert got["RH-2"] == [1, 2, 3, 4]  # died during day 4
    assert got["RH-3"] == [1, 2]


def test_daily_score_is_missing_when_nothing_scorable(hand):
    scores = derive.daily_scores(hand).set_index(["participant_id", "study_day"])["modified"]
    assert scores[("RH-1", 1)] == 4 and scores[("RH-1", 6)] == 1
    assert math.isnan(scores[("RH-1", 4)])


def test_mean_daily_sofa_with_carry_forward(hand):
    m = derive.mean_daily_sofa(hand)
    per = m.per_participant.set_index("participant_id")
    # RH-1: 4, 3, (3), (3), 2, 1 | day 11 missing at the start of stay 2 | 3, (3), (3), day 15 missing
    assert per.loc["RH-1", "mean_sofa"] == pytest.approx(25 / 9)
    assert per.loc["RH-1", ["icu_days", "observed_days", "carried_days", "missing_days"]].tolist() == [11, 5, 4, 2]
    assert per.loc["RH-2", "mean_sofa"] == 4
    gaps = m.gaps[m.gaps.participant_id == "RH-1"]
    assert gaps[["stay", "first_day", "last_day", "length", "carried", "left_missing"]].values.tolist() == [
        [2, 11, 11, 1, 0, 1], [2, 13, 15, 3, 2, 1]]
    assert "carried forward (≤ 2 in a row)" in m.summary()


def test_carry_forward_limit_is_a_setting(hand):
    none = derive.mean_daily_sofa(hand, max_carried=0).per_participant.set_index("participant_id")
    assert none.loc["RH-1", "mean_sofa"] == pytest.approx((4 + 3 + 2 + 1 + 3) / 5)
    three = derive.mean_daily_sofa(hand, max_carried=3).per_participant.set_index("participant_id")
    assert three.loc["RH-1", "carried_days"] == 5
    with pytest.raises(ValueError, match="max_carried"):
        derive.mean_daily_sofa(hand, max_carried=-1)


def test_vital_status_and_mortality(hand):
    v = derive.vital_status(hand)
    f = v.frame.set_index("participant_id")
    assert f.loc["RH-1", ["time_days", "died", "complete"]].tolist() == [90.0, False, True]
    assert f.loc["RH-2", "time_days"] == pytest.approx(3.5) and f.loc["RH-2", "died"]
    # lost after the day-28 visit (assessed at 28 days + 2 h): censored then
    assert f.loc["RH-3", "time_days"] == pytest.approx(28 + 2 / 24) and not f.loc["RH-3", "complete"]
    assert v.mortality(28).to_dict() == {"RH-1": 0.0, "RH-2": 1.0, "RH-3": 0.0}
    assert math.isnan(v.mortality(90)["RH-3"])


def test_days_alive_without_support(hand):
    s = derive.days_without_support(hand).set_index("participant_id")
    # RH-1: alive 90 days; on vasopressor days 1–2; no flag on days 3, 4, 11, 13, 14, 15 (no credit)
    assert s.loc["RH-1", "days_alive"] == 90
    assert s.loc["RH-1", "vasopressor_free_days"] == 90 - 2 - 6
    assert s.loc["RH-1", "vasopressor_unknown_days"] == 6
    assert s.loc["RH-1", "rrt_free_days"] == 90 - 6
    # RH-2 died at 3.5 days: 3 full days lived, on vasopressor on days 1 and 2
    assert s.loc["RH-2", "days_alive"] == 3 and s.loc["RH-2", "vasopressor_free_days"] == 1
    assert s.loc["RH-2", "rrt_free_days"] == 3
    assert math.isnan(s.loc["RH-3", "vasopressor_free_days"])  # follow-up incomplete


def test_serious_events_within_seven_days(hand):
    ae = derive.adverse_events_in_window(hand).set_index("participant_id")
    assert ae.loc["RH-1", ["sae", "sar", "prespecified_sae"]].tolist() == [1, 1, 0]  # day 7.0 is outside
    assert ae.loc["RH-2", ["sae", "sar", "prespecified_sae"]].tolist() == [1, 0, 1]
    assert ae.loc["RH-3", "sae"] == 0 and not ae.loc["RH-3", "any_sae"]
    assert derive.adverse_events_in_window(hand, days=8).set_index("participant_id").loc["RH-1", "sae"] == 2


def test_populations(hand):
    flags = populations.population_flags(hand).set_index("participant_id")
    assert flags.loc["RH-1", "dose_fraction"] == pytest.approx(1.0)
    assert flags.loc["RH-3", "dose_fraction"] == pytest.approx(10 / 72)
    assert flags["itt"].all()
    assert flags["per_protocol"].tolist() == [True, True, False]
    assert flags.loc["RH-3", "excluded_because"] == "dose below threshold; major deviation"
    assert list(populations.members(hand, "per_protocol")) == ["RH-1", "RH-2"]
    with pytest.raises(ValueError, match="population must be one of itt, per_protocol"):
        populations.members(hand, "everyone")
