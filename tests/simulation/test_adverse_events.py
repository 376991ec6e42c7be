"""Simulated adverse events: prespecified and disease-related serious events with onset times, seriousness,
causality and expectedness, in the analysis data set's format, and ``shine simulate dataset`` → ``shine
analyse`` giving the safety outcomes that a count straight from the CSV gives."""

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from shine import protocol
from shine.analysis.dataset import load
from shine.simulation import DatasetParameters, generate_dataset

SHINE = Path(sys.executable).with_name("shine")


@pytest.fixture(scope="module")
def trial():
    return generate_dataset(400, 7)


def _days_from_randomisation(tables) -> pd.Series:
    ae = tables["adverse_events"]
    r = ae["participant_id"].map(tables["participants"].set_index("participant_id")["randomised_at"])
    return (ae["onset_at"] - r) / pd.Timedelta(days=1)


def test_events_have_onset_seriousness_causality_and_expectedness(trial):
    proto = protocol.load()
    ae = trial.tables["adverse_events"]
    days = _days_from_randomisation(trial.tables)
    serious = ae["serious"].astype(bool)
    assert (days > 0).all() and (days < 14).all()
    window = proto.schedule.sae_window_days
    # prespecified events are serious and fall in the SAE window; disease-related ones also fall after it
    pre = ae["prespecified"] != ""
    assert set(ae.loc[pre, "prespecified"]) <= set(proto.safety.prespecified_events)
    assert serious[pre].all() and (days[pre] < window).all()
    exempt = ae["term"].isin([t.replace("_", " ") for t in proto.safety.exempt_events])
    assert exempt.sum() > 40 and serious[exempt].all() and (days[exempt] >= window).sum() > 10
    # non-serious events exist too, and both causality answers; SUSARs (related, unexpected) occur
    assert (~serious).sum() > 10
    assert ae["related"].astype(bool).any() and (~ae["related"].astype(bool)).any()
    susar = serious & ae["related"].astype(bool) & (ae["expected"] == False)  # noqa: E712
    assert susar.sum() > 0
    # every event before death and one event id per participant and event
    died = trial.tables["deaths"].set_index("participant_id")["died_at"]
    assert not (ae["onset_at"] > ae["participant_id"].map(died)).fillna(False).any()
    assert not ae.duplicated(["participant_id", "event_id"]).any()


def test_disease_related_events_leave_every_other_table_unchanged(trial):
    without = generate_dataset(400, 7, parameters=replace(DatasetParameters(), disease_sae_risk=0.0))
    for name, frame in trial.tables.items():
        if name != "adverse_events":
            pd.testing.assert_frame_equal(frame, without.tables[name])
    ae, base = trial.tables["adverse_events"], without.tables["adverse_events"]
    assert len(ae) > len(base)
    pd.testing.assert_frame_equal(ae[ae["term"].isin(base["term"].unique()) & (ae["prespecified"] != "")]
                                  .reset_index(drop=True),
                                  base[base["prespecified"] != ""].reset_index(drop=True), check_dtype=False)


def test_recent_sars_have_no_expectedness_yet_at_an_early_cut_off():
    early = generate_dataset(400, 7, data_cutoff="2020-09-01T00:00:00Z")
    ae = early.tables["adverse_events"]
    cutoff = pd.Timestamp(early.data_cutoff)
    sar = ae["serious"].astype(bool) & ae["related"].astype(bool)
    recent = sar & (cutoff - ae["onset_at"] < pd.Timedelta(days=DatasetParameters().expectedness_lag_days))
    assert ae.loc[recent, "expected"].isna().all()
    assert ae.loc[~recent, "expected"].notna().all()
    with pytest.raises(ValueError, match="disease_sae_risk"):
        generate_dataset(10, 1, parameters=replace(DatasetParameters(), disease_sae_risk=1.5))


def test_simulate_then_analyse_gives_the_safety_outcomes_counted_from_the_csv(tmp_path):
    data_dir, out = tmp_path / "data", tmp_path / "report"
    subprocess.run([str(SHINE), "simulate", "dataset", "--patients", "300", "--seed", "11", "--out", str(data_dir)],
                   check=True, capture_output=True, text=True, timeout=300)
    run = subprocess.run([str(SHINE), "analyse", str(data_dir), "--out", str(out)], check=True,
                         capture_output=True, text=True, timeout=300)
    assert "safety outcomes not reported" not in run.stdout
    results = json.loads((out / "results.json").read_text())
    # an independent count from the files: safety population = participants with an infusion segment
    # that started (as treated), events with onset within the window after randomisation
    window = protocol.load().schedule.sae_window_days
    participants = pd.read_csv(data_dir / "participants.csv")
    treated = set(pd.read_csv(data_dir / "infusion.csv").dropna(subset=["started_at"])["participant_id"])
    consent = participants[participants["data_use_consent"].astype(str).str.lower() == "true"]
    safety = consent[consent["participant_id"].isin(treated)]
    arm = safety.set_index("participant_id")["arm"]
    ae = pd.read_csv(data_dir / "adverse_events.csv", parse_dates=["onset_at"])
    r = pd.to_datetime(ae["participant_id"].map(participants.set_index("participant_id")["randomised_at"]))
    ae = ae[(ae["onset_at"] - r < pd.Timedelta(days=window)) & ae["participant_id"].isin(arm.index)]
    serious = ae[ae["serious"]]
    kinds = {"sae": serious, "sar": serious[serious["related"]],
             "susar": serious[serious["related"] & (serious["expected"] == False)],  # noqa: E712
             "prespecified_sae": serious[serious["prespecified"].notna()]}
    for kind, rows in kinds.items():
        got = results["safety"][kind]
        events = rows.groupby(rows["participant_id"].map(arm)).size()
        people = rows.groupby(rows["participant_id"].map(arm))["participant_id"].nunique()
        assert got["n"] == arm.value_counts().to_dict()
        for group in ("iloprost", "placebo"):
            assert got["events"][group] == int(events.get(group, 0)), kind
            assert got["participants_with_event"][group] == int(people.get(group, 0)), kind
        assert got["rate_ratio"]["estimate"] > 0 and got["estimand"]["population"] == "safety"
    assert results["safety"]["sae"]["events"] != results["safety"]["prespecified_sae"]["events"]
    assert load(data_dir).has("adverse_events")
