"""Estimands (ICH E9(R1)) and the populations that follow them, on hand-made patients."""

import tomllib

import pandas as pd
import pytest

from shine import protocol
from shine.analysis import analyses, estimands, populations
from shine.analysis.dataset import load
from shine.analysis.schema import TABLES, write_dataset
from tests.analysis.test_derive import D, H, day, person, visit

R = pd.Timestamp("2021-03-01T00:00:00Z")
CUTOFF = pd.Timestamp("2021-12-31T00:00:00Z")
R_CUT = CUTOFF - 21 * H  # randomised 21 h before the data cut-off, infusion still running then


def segment(pid, r, start_h, stop_h, reason, k=1, stopped_at=None):
    return dict(participant_id=pid, segment=k, started_at=r + start_h * H,
                stopped_at=stopped_at if stopped_at is not None else r + stop_h * H, rate_ml_per_h=2.1,
                concentration_ng_per_ml=2000.0, stop_reason=reason)


@pytest.fixture(scope="module")
def patients(tmp_path_factory):
    """One participant per rule; r(k) randomises the k-th on its own day so that the times do not mix.

    DIED: died 10 h after randomisation, during the infusion (stopped by death).
    CUT: randomised 21 h before the data cut-off, in the ICU on the infusion then.
    LOW: alive in the ICU for 10 days, infusion stopped for good after 10 h (not for an adverse event).
    AE: infusion stopped for an adverse event after 8 h. DISCH: discharged from the ICU at 30 h (infusion
    stopped then). NONE: never infused, 5 ICU days. EARLY: never infused, died 3 h after randomisation.
    DEV: full infusion, a major protocol deviation."""
    names = ["DIED", "CUT", "LOW", "AE", "DISCH", "NONE", "EARLY", "DEV"]
    r = {n: (R_CUT if n == "CUT" else R + 7 * k * D) for k, n in enumerate(names)}
    people, daily, stays, deaths, infusion, follow = [], [], [], [], [], []
    for k, n in enumerate(names):
        people.append({**person(n, r[n], "iloprost" if k % 2 == 0 else "placebo", k + 1), "site": "RH"})
    died_at = {"DIED": r["DIED"] + 10 * H, "EARLY": r["EARLY"] + 3 * H}
    icu_end = {"LOW": 10 * D, "AE": 4 * D, "DISCH": 30 * H, "NONE": 5 * D, "DEV": 4 * D}
    for n in names:
        if n in died_at:
            stays.append(dict(participant_id=n, stay=1, admitted_at=r[n] - H, discharged_at=None, discharge="died"))
            deaths.append(dict(participant_id=n, died_at=died_at[n], cause=""))
            daily.append(day(n, 1, 4, True))
            follow += [visit(n, r[n], 28, "dead"), visit(n, r[n], 90, "dead")]
        elif n == "CUT":
            stays.append(dict(participant_id=n, stay=1, admitted_at=r[n] - H, discharged_at=None, discharge="in_icu"))
            daily.append(day(n, 1, 3, True))
        else:
            stays.append(dict(participant_id=n, stay=1, admitted_at=r[n] - H, discharged_at=r[n] + icu_end[n],
                              discharge="discharged"))
            last = int(-(-icu_end[n] // D))
            daily += [day(n, d, 2, d == 1) for d in range(1, last + 1)]
            follow += [visit(n, r[n], 28, "alive"), visit(n, r[n], 90, "alive")]
    infusion = [segment("DIED", r["DIED"], 1, 10, "death"),
                segment("CUT", r["CUT"], 1, None, "", stopped_at=CUTOFF),
                segment("LOW", r["LOW"], 1, 11, "other"),
                segment("AE", r["AE"], 1, 9, "adverse_event"),
                segment("DISCH", r["DISCH"], 1, 30, "discharge"),
                segment("DEV", r["DEV"], 1, 73, "planned_end")]
    frames = {"participants": pd.DataFrame(people), "daily": pd.DataFrame(daily), "icu_stays": pd.DataFrame(stays),
              "deaths": pd.DataFrame(deaths), "infusion": pd.DataFrame(infusion),
              "adverse_events": pd.DataFrame([dict(participant_id="AE", event_id="1", onset_at=r["AE"] + 9 * H,
                                                   term="x", prespecified="severe_hypotension", serious=True,
                                                   related=True, expected=True)]),
              "followup": pd.DataFrame(follow),
              "deviations": pd.DataFrame([dict(participant_id="DEV", deviation_id="1", category="intervention",
                                               major=True, description="")])}
    for name, frame in frames.items():
        frames[name] = frame.reindex(columns=TABLES[name].column_names)
    path = write_dataset(frames, tmp_path_factory.mktemp("estimands"), blinded=False, source="export",
                         data_cutoff=CUTOFF.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return load(path)


def test_death_during_the_infusion_is_not_non_adherence(patients):
    f = populations.population_flags(patients).set_index("participant_id")
    assert f.loc["DIED", "dose_fraction"] == pytest.approx(9 / 72)  # 9 h of the full 72-h plan
    assert f.loc["DIED", "dose_window_end"] == "death"
    assert f.loc["DIED", "dose_window_hours"] == pytest.approx(9)
    assert f.loc["DIED", "window_dose_fraction"] == pytest.approx(1.0)
    assert f.loc["DIED", "per_protocol"] and f.loc["DIED", "excluded_because"] == ""


def test_a_running_infusion_at_the_cut_off_is_not_under_dosed(patients):
    f = populations.population_flags(patients).set_index("participant_id")
    assert f.loc["CUT", "dose_fraction"] == pytest.approx(20 / 72)
    assert f.loc["CUT", "dose_window_end"] == "data_cutoff"
    assert f.loc["CUT", "window_dose_fraction"] == pytest.approx(1.0)
    assert f.loc["CUT", "per_protocol"]


def test_a_stopped_infusion_is_non_adherence_unless_an_intercurrent_event_stopped_it(patients):
    f = populations.population_flags(patients).set_index("participant_id")
    assert f.loc["LOW", "window_dose_fraction"] == pytest.approx(10 / 72)
    assert not f.loc["LOW", "per_protocol"] and f.loc["LOW", "excluded_because"] == "dose below threshold"
    assert f.loc["AE", "dose_window_end"] == "infusion_stopped_adverse_event" and f.loc["AE", "per_protocol"]
    assert f.loc["DISCH", "dose_window_end"] == "icu_discharge" and f.loc["DISCH", "per_protocol"]
    assert f.loc["DEV", "window_dose_fraction"] == pytest.approx(1.0)
    assert f.loc["DEV", "excluded_because"] == "major deviation"


def test_never_infused(patients):
    f = populations.population_flags(patients).set_index("participant_id")
    # alive past the start allowance (6 h) without an infusion: nothing of the dose given
    assert f.loc["NONE", "window_dose_fraction"] == 0 and not f.loc["NONE", "per_protocol"]
    # died before the infusion could have started: nothing to judge, stays per-protocol
    assert pd.isna(f.loc["EARLY", "window_dose_fraction"]) and f.loc["EARLY", "per_protocol"]
    assert not f.loc["NONE", "safety"] and not f.loc["EARLY", "safety"]
    assert f["safety"].sum() == 6 and f["itt"].all()


def test_which_events_end_the_dose_window_is_the_protocols(patients, tmp_path, monkeypatch):
    text = protocol.DEFAULT_FILE.read_text().replace(
        'dose_window_ends_at = ["death", "icu_discharge", "data_cutoff", "infusion_stopped_adverse_event"]',
        'dose_window_ends_at = ["data_cutoff"]')
    amended = tmp_path / "amended.toml"
    amended.write_text(text)
    monkeypatch.setenv("SHINE_PROTOCOL_FILE", str(amended))
    f = populations.population_flags(patients).set_index("participant_id")
    # the old rule: death, discharge and a stop for an adverse event count as under-dosing
    assert not f.loc["DIED", "per_protocol"] and not f.loc["AE", "per_protocol"] and not f.loc["DISCH", "per_protocol"]
    assert f.loc["CUT", "per_protocol"]


def test_safety_analyses_run_in_the_safety_population(patients):
    derived = analyses.derive_all(patients)
    saf = analyses.safety_analysis(derived, "sae")
    f = derived.frame
    assert saf.n == {g: int((f.safety & (f.group == g)).sum()) for g in derived.groups}
    assert sum(saf.n.values()) == 6
    assert sum(analyses.safety_analysis(derived, "sae", "itt").n.values()) == 8


def test_every_analysis_has_an_estimand_with_a_strategy_for_each_intercurrent_event():
    proto = protocol.load()
    events = set(proto.estimands.intercurrent_events)
    assert events == {"death", "icu_discharge", "infusion_stopped_adverse_event", "consent_withdrawn"}
    for name in protocol.ESTIMAND_ANALYSES:
        e = estimands.estimand(name, "per_protocol")
        assert {i["event"] for i in e["intercurrent_events"]} == events
        assert all(i["strategy"] in protocol.STRATEGIES and i["handling"] for i in e["intercurrent_events"])
    assert estimands.estimand("primary", "itt")["population"] == "itt"
    assert estimands.estimand("safety", "itt")["population"] == "safety"
    assert "minimum fraction 0.5" in estimands.estimand("primary", "per_protocol")["population_definition"]
    primary = {i["event"]: i["strategy"] for i in estimands.estimand("primary", "itt")["intercurrent_events"]}
    assert primary == {"death": "while_alive", "icu_discharge": "while_in_icu",
                       "infusion_stopped_adverse_event": "treatment_policy", "consent_withdrawn": "hypothetical"}


def test_the_protocol_refuses_an_estimand_without_a_strategy():
    with open(protocol.DEFAULT_FILE, "rb") as fh:
        data = tomllib.load(fh)
    del data["estimands"]["primary"]["death"]
    data["estimands"]["mortality"]["icu_discharge"] = ["ignore", "x"]
    data["estimands"]["dose_window_ends_at"] = ["death", "sunset"]
    with pytest.raises(ValueError) as err:
        protocol.parse(data)
    msg = str(err.value)
    assert "estimands.primary.death" in msg and "estimands.mortality.icu_discharge" in msg and "'sunset'" in msg


def test_per_protocol_keeps_mortality_within_sampling_error_of_itt_under_no_effect(tmp_path):
    # 3,000 simulated patients, no treatment effect (the 16,000-patient run is in docs/analysis.md). PP is
    # nested in ITT: SE of the difference in 90-day mortality = √(p(1 − p)(1/n_pp − 1/n_itt)); within 3 SE.
    import math

    from shine.simulation import generate_dataset
    from shine.simulation.patients import DatasetParameters

    data = load(generate_dataset(3000, seed=16, parameters=DatasetParameters(patients_per_day=5.0))
                .write(tmp_path / "sim", parquet=False))
    f = analyses.derive_all(data).frame
    f = f[f["itt"] & f["mortality_90"].notna()]
    pp = f[f["per_protocol"]]
    p = f["mortality_90"].mean()

    def z(kept):
        return (kept["mortality_90"].mean() - p) / math.sqrt(p * (1 - p) * (1 / len(kept) - 1 / len(f)))

    assert len(pp) / len(f) > 0.95
    assert abs(z(pp)) < 3
    # the full 72-h plan as the yardstick (death during the infusion = under-dosed) selects survivors
    old = f[(f["dose_fraction"] >= 0.5) & ~f["major_deviation"]]
    assert z(old) < -5
