"""The analyses of the plan on generated data sets."""

import math

import numpy as np
import pytest

from shine.analysis import analyses, methods
from shine.analysis.dataset import load
from shine.analysis.schema import write_dataset
from tests.analysis import synthetic


def _write(tmp_path, n, seed, drop_daily_share=0.0, **kwargs):
    frames = synthetic.generate(n, seed, **kwargs)
    cutoff = frames.pop("_cutoff")
    if drop_daily_share:
        ids = frames["participants"]["participant_id"]
        lost = set(ids.sample(frac=drop_daily_share, random_state=seed))
        frames["daily"] = frames["daily"][~frames["daily"]["participant_id"].isin(lost)]
    return load(write_dataset(frames, tmp_path, blinded=kwargs.get("blinded", False), source="simulation",
                              data_cutoff=cutoff, parquet=False))


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    """150 participants; the active arm's daily SOFA inputs shifted 3 points worse."""
    return analyses.derive_all(_write(tmp_path_factory.mktemp("trial"), 150, 21, sofa_shift=3.0))


def test_primary_analysis_detects_the_shift(trial):
    r = analyses.primary_analysis(trial)
    assert r.groups == ("iloprost", "placebo") and r.population == "per_protocol"
    assert r.difference > 0 and r.ci_low > 0 and r.p_value < 0.05
    assert r.method.startswith("complete-case linear regression (OLS) adjusted for site, baseline_sofa_modified")
    f = trial.frame[trial.frame.per_protocol]
    assert 0 < r.missing_fraction <= 0.05
    assert r.n_per_arm == {"iloprost": int((f.group == "iloprost").sum()), "placebo": int((f.group == "placebo").sum())}
    # the same model fitted directly (itself cross-checked against R lm), a missing baseline replaced by the
    # population's mean of the observed baselines (protocol missing_data.baseline_covariate = "mean")
    assert f.baseline_sofa_modified.isna().any()
    f = f.assign(baseline_sofa_modified=f.baseline_sofa_modified.fillna(f.baseline_sofa_modified.mean()))
    f = f[f.mean_sofa.notna()]
    direct = methods.linear_regression(f.mean_sofa, f.treat, f.site,
                                       {"baseline_sofa_modified": f.baseline_sofa_modified})
    assert (r.difference, r.ci_low, r.ci_high) == pytest.approx((direct.estimate, direct.ci_low, direct.ci_high))
    assert "difference iloprost − placebo" in r.summary()


def test_itt_excludes_only_participants_without_data_consent(trial):
    itt = analyses.primary_analysis(trial, "itt")
    f = trial.frame
    assert sum(itt.n_per_arm.values()) == int(f.data_use_consent.sum())
    assert sum(itt.n_per_arm.values()) >= sum(analyses.primary_analysis(trial).n_per_arm.values())


def test_bad_arguments(trial):
    with pytest.raises(ValueError, match="population must be one of"):
        analyses.primary_analysis(trial, "everyone")
    with pytest.raises(ValueError, match="imputations"):
        analyses.primary_analysis(trial, imputations=1)
    with pytest.raises(ValueError, match="mortality days"):
        analyses.mortality_analysis(trial, 60)
    with pytest.raises(ValueError, match="support must be one of"):
        analyses.support_analysis(trial, "ecmo")
    with pytest.raises(ValueError, match="kind must be one of"):
        analyses.safety_analysis(trial, "ae")


def test_multiple_imputation_when_more_than_five_percent_missing(tmp_path):
    data = analyses.derive_all(_write(tmp_path, 120, 5, drop_daily_share=0.15))
    r = analyses.primary_analysis(data, "itt")
    assert r.missing_fraction > 0.05
    assert r.method.startswith("multiple imputation, 20 imputations, Rubin's rules")
    assert set(r.sensitivity) == {"best-worst", "worst-best", "complete-case"}
    assert r.sensitivity["best-worst"].estimate < r.sensitivity["worst-best"].estimate
    assert r.n_observed_per_arm["iloprost"] < r.n_per_arm["iloprost"]
    pooled = r.estimate.details  # what results.json gives under primary.estimate
    assert r.estimate.se > 0 and pooled["df"] > 0 and pooled["imputations"] == 20
    assert pooled["total_variance"] == pytest.approx(pooled["within_variance"] + 21 / 20 * pooled["between_variance"])
    assert pooled["fraction_missing_information"] > pooled["lambda"]  # FMI adds 2/(ν + 3) to λ's numerator
    again = analyses.primary_analysis(data, "itt")
    other = analyses.primary_analysis(data, "itt", seed=99)
    assert (again.difference, again.ci_low) == (r.difference, r.ci_low)
    assert other.difference != r.difference


def test_complete_case_below_threshold_still_reports_sensitivity(tmp_path):
    data = analyses.derive_all(_write(tmp_path, 120, 6, drop_daily_share=0.02))
    r = analyses.primary_analysis(data, "itt")
    assert 0 < r.missing_fraction <= 0.05
    assert r.method.startswith("complete-case")
    assert set(r.sensitivity) == {"best-worst", "worst-best"}


def test_mortality_survival_support_safety(trial):
    m = analyses.mortality_analysis(trial, 28)
    g1, g0 = m.groups
    assert m.crude_rr.estimate == pytest.approx((m.deaths[g1] / m.n[g1]) / (m.deaths[g0] / m.n[g0]))
    assert m.adjusted_rr.method in ("log-binomial GLM adjusted for site", "modified Poisson regression, robust "
                                    "(HC0) SE (log-binomial GLM did not converge) adjusted for site")
    s = analyses.survival_analysis(trial)
    assert s.hazard_ratio.method == "Cox proportional hazards, Efron ties, stratified by site"
    assert 0 <= s.logrank_p <= 1 and set(s.kaplan_meier) == {g1, g0}
    sup = analyses.support_analysis(trial, "vasopressor")
    assert sup.difference.estimate == pytest.approx(sup.mean[g1] - sup.mean[g0])
    assert "seed" in sup.difference.method and 0 <= sup.van_elteren_p <= 1
    saf = analyses.safety_analysis(trial, "sae")
    assert saf.participants_with_event[g1] <= saf.events[g1]
    assert saf.test in ("Fisher's exact test", "Pearson χ² test")


def test_tables(trial):
    t1 = analyses.table1(trial)
    assert list(t1.columns) == ["characteristic", "iloprost", "placebo", "all"]
    assert not any("p" == c.lower() or "p-value" in c.lower() for c in t1.columns)
    c = analyses.consort(trial).set_index(["stage", "group"])["count"]
    for g in ("iloprost", "placebo"):
        excluded = sum(c[(s, g)] for s in c.index.get_level_values(0).unique()
                       if s.startswith("excluded from per-protocol"))
        assert c[("intention-to-treat", g)] - excluded == c[("per-protocol", g)]
        assert c[("randomised", g)] - c[("no consent to use data", g)] == c[("intention-to-treat", g)]
    assert c[("screened", "all")] == sum(c[(s, "all")] for s in ("not eligible", "not assessable",
                                                                  "eligible not randomised", "randomised"))
    q = analyses.data_quality(trial).set_index("item")["count"]
    assert q["ICU days (randomisation to discharge, death or horizon)"] == (
        q["ICU days with an observed score"] + q["ICU days carried forward (≤ 2 in a row)"]
        + q["ICU days left missing"])
    by_day = analyses.daily_sofa_by_day(trial)
    assert set(by_day.group) == {"iloprost", "placebo"} and by_day["count"].min() >= 1


def test_blinded_dataset_compares_coded_groups(tmp_path):
    data = analyses.derive_all(_write(tmp_path, 80, 8, blinded=True))
    r = analyses.primary_analysis(data)
    assert r.groups == ("A", "B") and set(r.n_per_arm) == {"A", "B"}
    assert not math.isnan(r.difference)
    assert np.isfinite(analyses.mortality_analysis(data, 90).crude_rr.estimate)
