"""A simulated participant's whole course entered through the API → exported → loaded by shine.analysis →
its mean daily modified SOFA equals the value computed here by hand (sofa() per day, the ICU days from the
stays, at most two days carried forward)."""

import datetime as dt
import math

import pandas as pd
import pytest

from shine.analysis import derive
from shine.analysis.dataset import load
from shine.clinical.sofa import sofa
from shine.demo.trial import baseline_values, daily_values, infusion_events
from shine.simulation import generate_dataset
from shine.trial.reports.exports import export_dataset

from .factories import randomised_ago

DAY = dt.timedelta(days=1)


def _pick(sim):
    """A participant discharged alive after at least 5 ICU days, with an interrupted infusion if any."""
    t = sim.tables
    stays = t["icu_stays"]
    ok = stays[(stays["stay"] == 1) & (stays["discharge"] == "discharged")]["participant_id"]
    counts = t["daily"].groupby("participant_id").size()
    single = stays.groupby("participant_id").size() == 1
    dead = set(t["deaths"]["participant_id"])
    for pid in ok:
        if counts.get(pid, 0) >= 5 and single[pid] and pid not in dead:
            return pid
    raise AssertionError("no suitable simulated participant")


def _iso(t):
    return t.isoformat()


def hand_mean(R, admitted, discharged, scores: dict[int, int]) -> float:
    """The primary outcome by hand: ICU days = study days overlapping [admitted, discharged); a missing
    day takes the previous day's score, at most 2 in a row."""
    days = [d for d in range(1, 91) if admitted < R + d * DAY and discharged > R + (d - 1) * DAY]
    values, last, run = [], None, 0
    for d in days:
        if d in scores:
            last, run = scores[d], 0
            values.append(last)
        elif last is not None and run < 2:
            run += 1
            values.append(last)
    return sum(values) / len(values)


def test_simulated_course_through_api_export_and_analysis(trial, api_for, tmp_path):
    sim = generate_dataset(30, seed=11)
    pid = _pick(sim)
    t = {name: frame[frame["participant_id"] == pid] for name, frame in sim.tables.items() if name != "screening"}
    row = t["participants"].iloc[0]
    nurse = trial["nurse_hgh"]
    p = randomised_ago(nurse, days=120, weight=float(row["weight_kg"]))
    R = p.randomised_at
    shift = R - pd.Timestamp(row["randomised_at"]).to_pydatetime()
    now = R + dt.timedelta(days=120)
    c = api_for("nurse_hgh")
    url = f"/api/v1/participants/{p.number}/"

    def post(path, body):
        r = c.post(url + path, body, content_type="application/json")
        assert r.status_code in (200, 201), (path, r.content)
        return r.json()

    stay = t["icu_stays"].iloc[0]
    admitted = min(pd.Timestamp(stay["admitted_at"]).to_pydatetime() + shift, R)
    discharged = pd.Timestamp(stay["discharged_at"]).to_pydatetime() + shift
    base = baseline_values(row, admitted)
    post("baseline", {**base, "icu_admitted_at": _iso(admitted)})
    for e in infusion_events(t["infusion"], shift, now):
        post("infusion-events", {**e, "at": _iso(e["at"])})
    daily = t["daily"].sort_values("study_day").to_dict("records")
    skipped = daily[2]["study_day"]  # one day left out: carried forward by the analysis
    scores = {}
    for k, d in enumerate(daily):
        if d["study_day"] == skipped:
            continue
        body = {**daily_values(d, k), "study_day": int(d["study_day"])}
        if k % 2:  # the other units of the form, converted back by the platform
            body.update(pao2=body["pao2"] / 7.50062 if body["pao2"] is not None else None, pao2_unit="kPa")
        saved = post("daily-records", body)
        raw = {n: (None if (isinstance(d[n], float) and math.isnan(d[n])) else d[n]) for n in (
            "pao2_fio2", "platelets", "bilirubin", "map_mmhg", "dopamine", "dobutamine", "epinephrine",
            "norepinephrine", "gcs", "creatinine", "urine_output")}
        expected = sofa(respiratory_support=bool(d["respiratory_support"]), **raw).modified
        assert saved["sofa_modified"] == expected, (d["study_day"], saved, raw)
        scores[int(d["study_day"])] = expected
    post("icu-discharge", {"discharged_at": _iso(discharged)})
    for v in t["followup"].to_dict("records"):
        body = {k: (None if pd.isna(x) else int(x)) for k, x in v.items() if k.startswith("eq5d_")}
        at = pd.Timestamp(v["assessed_at"]).to_pydatetime() + shift
        post("follow-ups", {**body, "visit_day": int(v["visit_day"]), "assessed_at": _iso(at),
                            "vital_status": v["vital_status"]})

    export_dataset(tmp_path / "data", user=trial["statistician"], blinded=True)
    data = load(tmp_path / "data")
    per = derive.mean_daily_sofa(data).per_participant.set_index("participant_id")
    expected = hand_mean(R, admitted, discharged, scores)
    assert per.loc[p.number, "mean_sofa"] == pytest.approx(expected, abs=1e-12)
    assert per.loc[p.number, "carried_days"] >= 1
