"""Synthetic data sets: the data-set contract, determinism, and calibration to the published trial."""

import hashlib
import math

import numpy as np
import pandas as pd
import pytest

from shine import protocol
from shine.analysis.dataset import load
from shine.analysis.schema import SOFA_INPUTS, TABLES
from shine.clinical.eligibility import CRITERIA
from shine.clinical.sofa import sofa_arrays
from shine.simulation import DatasetParameters, generate_dataset


@pytest.fixture(scope="module")
def small():
    return generate_dataset(279, 1)


def _digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_gives_identical_files(tmp_path, small):
    a = small.write(tmp_path / "a")
    b = generate_dataset(279, 1).write(tmp_path / "b")
    assert _digests(a) == _digests(b)
    c = generate_dataset(279, 2).write(tmp_path / "c", parquet=False)
    assert _digests(a)["participants.csv"] != _digests(c)["participants.csv"]


def test_written_data_set_passes_every_rule_of_the_analysis_loader(tmp_path, small):
    data = load(small.write(tmp_path / "d"))
    assert data.manifest["source"] == "simulation"
    assert data.manifest["simulation"]["seed"] == 1
    assert len(data["participants"]) == 279


def test_tables_have_exactly_the_schema_columns(small):
    for name, frame in small.tables.items():
        assert tuple(frame.columns) == TABLES[name].column_names, name
    # every table but daily_missing (optional: the simulator records no missing-data codes)
    assert set(small.tables) == set(TABLES) - {"daily_missing"}


def test_blinded_and_cut_off_data_sets_load(tmp_path):
    blinded = generate_dataset(120, 3, blinded=True)
    assert set(blinded.tables["participants"]["arm"]) <= {"A", "B"}
    load(blinded.write(tmp_path / "blind"))
    full = generate_dataset(120, 3)
    cut_at = full.tables["participants"]["randomised_at"].iloc[100]
    cut = generate_dataset(120, 3, data_cutoff=cut_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    data = load(cut.write(tmp_path / "cut"))
    assert len(data["participants"]) == 101
    assert (data["icu_stays"]["discharge"] == "in_icu").any()


def test_allocation_uses_stratified_permuted_blocks(small):
    p = small.tables["participants"].sort_values("randomisation_number")
    largest = max(protocol.load().randomisation.block_sizes)
    for _, site in p.groupby("site"):
        active = (site["arm"] == protocol.load().active_arm).astype(int).to_numpy()
        assert np.all(np.abs(np.cumsum(2 * active - 1)) <= largest // 2)
    assert p["site"].value_counts().nunique() > 1  # sites recruit at different rates


def test_screening_log_uses_the_eligibility_criterion_codes(small):
    s = small.tables["screening"]
    assert (s["outcome"] == "randomised").sum() == 279
    failed = s.loc[s["outcome"] == "not_eligible", "reasons"]
    codes = {c for text in failed for c in text.split(";")}
    assert codes and codes <= set(CRITERIA)
    assert "stm" in codes


def test_infusion_rate_follows_the_protocol_dose(small):
    i = protocol.load().intervention
    merged = small.tables["infusion"].merge(small.tables["participants"], on="participant_id")
    expected = i.dose_ng_per_kg_min * merged["weight_kg"] * 60 / i.concentration_ng_per_ml
    assert np.allclose(merged["rate_ml_per_h"], expected)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="n_patients"):
        generate_dataset(0, 1)
    with pytest.raises(ValueError, match="mortality_rr"):
        generate_dataset(10, 1, mortality_rr=-1)
    with pytest.raises(ValueError, match="site_weights"):
        generate_dataset(10, 1, parameters=DatasetParameters(site_weights=(1.0, 1.0)))


def _outcomes(data):
    t = data.tables
    daily = t["daily"]
    scores = sofa_arrays(**{k: daily[k].to_numpy(dtype=float) for k in SOFA_INPUTS})
    per = pd.Series(scores.modified, index=daily["participant_id"]).groupby(level=0).mean()
    p = t["participants"].set_index("participant_id")
    died = t["deaths"].set_index("participant_id")["died_at"]
    days = ((died - p["randomised_at"].reindex(died.index)).dt.total_seconds() / 86_400).reindex(p.index)
    return p, per.reindex(p.index), days


@pytest.mark.slow
def test_default_calibration_reproduces_the_published_trial():
    # Published (PROTOCOL.md, JAMA Netw Open 2024;7:e2432444), placebo arm: mean daily modified SOFA 10.5,
    # 28-day mortality 44 %, 90-day 51 %; median age 69; 38 % women. 40,000 simulated patients with no
    # effect; tolerance 3 standard errors plus half a unit of the published rounding.
    n = 40_000
    data = generate_dataset(n, 2024, parameters=DatasetParameters(patients_per_day=200))
    p, per, days = _outcomes(data)
    assert abs(per.mean() - 10.5) <= 3 * per.std() / math.sqrt(n) + 0.05
    for day, target in ((28, 0.44), (90, 0.51)):
        rate = (days <= day).mean()
        assert abs(rate - target) <= 3 * math.sqrt(target * (1 - target) / n) + 0.005, (day, rate)
    assert abs(p["age"].median() - 69) <= 0.5
    assert abs((p["sex"] == "F").mean() - 0.38) <= 3 * math.sqrt(0.38 * 0.62 / n) + 0.005


@pytest.mark.slow
def test_treatment_effect_shifts_the_daily_sofa():
    # effect 1.3 points, 20,000 patients: difference in mean daily SOFA within 3 SE of 1.3 plus 0.05
    # (the calibration of effect_scale, DatasetParameters)
    data = generate_dataset(20_000, 7, effect=1.3, parameters=DatasetParameters(patients_per_day=200))
    p, per, _ = _outcomes(data)
    active = p["arm"] == protocol.load().active_arm
    diff = per[~active].mean() - per[active].mean()
    se = math.sqrt(per[~active].var() / (~active).sum() + per[active].var() / active.sum())
    assert abs(diff - 1.3) <= 3 * se + 0.05, diff


@pytest.mark.slow
def test_mortality_risk_ratio():
    # mortality_rr 0.8, 20,000 patients: 90-day risk ratio within 3 SE (delta method, log scale) of 0.8
    data = generate_dataset(20_000, 8, mortality_rr=0.8, parameters=DatasetParameters(patients_per_day=200))
    p, _, days = _outcomes(data)
    active = p["arm"] == protocol.load().active_arm
    r1, r0 = (days[active] <= 90).mean(), (days[~active] <= 90).mean()
    se_log = math.sqrt((1 - r1) / (r1 * active.sum()) + (1 - r0) / (r0 * (~active).sum()))
    assert abs(math.log(r1 / r0) - math.log(0.8)) <= 3 * se_log



def test_the_effect_acts_after_randomisation_not_on_the_baseline():
    """With a large effect the baseline modified SOFA is the same in both arms (within 3 SE), while the mean
    daily modified SOFA is lower on the active arm: the drug cannot act before randomisation."""
    tables = generate_dataset(3000, 5, effect=3.0).tables
    p = tables["participants"]
    active = p["arm"] == protocol.load().active_arm
    base = p["baseline_sofa_modified"]
    se = math.sqrt(base[active].var() / active.sum() + base[~active].var() / (~active).sum())
    assert abs(base[active].mean() - base[~active].mean()) <= 3 * se
    daily = tables["daily"].merge(p[["participant_id", "arm"]], on="participant_id")
    scores = sofa_arrays(**{k: daily[k].to_numpy(dtype=float) for k in SOFA_INPUTS if k in daily})
    daily = daily.assign(modified=np.asarray(scores.modified, dtype=float))
    per_patient = daily.groupby(["participant_id", "arm"])["modified"].mean().reset_index()
    gap = per_patient.groupby("arm")["modified"].mean()
    assert gap[protocol.load().control_arm] - gap[protocol.load().active_arm] > 1.5
