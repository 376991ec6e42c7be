"""Sensitivity analyses against closed forms, hand calculations and brute force (docs/analysis.md)."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from shine.analysis import analyses, methods, sensitivity
from shine.analysis.dataset import load
from shine.analysis.schema import write_dataset
from tests.analysis import synthetic


def test_normal_posterior_equals_prior_times_likelihood_on_a_grid():
    # closed form against a numerical posterior: N(θ̂ | θ, s²)·N(θ | μ₀, τ²) normalised on a fine grid;
    # moments and tail probabilities agree to 1e-6
    est, se = 0.2, 0.51
    for mu0, tau in ((0.0, 0.7903), (0.0, 10.0), (-1.3, 0.7903)):
        post = methods.normal_posterior(est, se, mu0, tau, clinically_important_difference=1.3)
        grid = np.linspace(-12, 12, 400_001)
        dens = stats.norm.pdf(est, grid, se) * stats.norm.pdf(grid, mu0, tau)
        dens /= np.trapezoid(dens, grid)
        mean = np.trapezoid(grid * dens, grid)
        sd = math.sqrt(np.trapezoid((grid - mean) ** 2 * dens, grid))
        assert post.mean == pytest.approx(mean, abs=1e-6) and post.sd == pytest.approx(sd, abs=1e-6)
        assert post.p_benefit == pytest.approx(np.trapezoid(dens * (grid < 0), grid), abs=1e-4)
        assert post.p_important_benefit == pytest.approx(np.trapezoid(dens * (grid < -1.3), grid), abs=1e-4)
        assert post.p_benefit + post.p_harm == pytest.approx(1)
    # the sceptical prior: 5 % prior probability of a benefit beyond 1.3 points
    assert stats.norm.cdf(-1.3, 0, 0.7903) == pytest.approx(0.05, abs=1e-4)
    # a flat-for-practical-purposes prior leaves the likelihood: P(benefit) = Φ(−θ̂/s)
    flat = methods.normal_posterior(est, se, 0.0, 1e6, clinically_important_difference=1.3)
    assert flat.p_benefit == pytest.approx(stats.norm.cdf(-est / se), rel=1e-9)


# hand example: group 1 = A (alive, SOFA 2), B (died day 20), C (alive, SOFA 6); group 0 = D (died day 10),
# E (alive, SOFA 4). Pairs: A–D win, A–E win (2 < 4), B–D win (20 > 10), B–E loss, C–D win, C–E loss (6 > 4).
HAND = dict(died1=[False, True, False], time1=[90, 20, 90], score1=[2.0, 8.0, 6.0],
            died0=[True, False], time0=[10, 90], score0=[9.0, 4.0])


def test_win_ratio_hand_example():
    wr = methods.win_ratio(**HAND)
    assert (wr.wins, wr.losses, wr.ties) == (4, 2, 0) and wr.ratio == 2
    assert wr.decided_by == {"death": 4, "mean daily SOFA": 2}
    # U-statistic variance by hand: row means of wins 1, ½, ½; column means 1, ⅓; of losses 0, ½, ½ and 0, ⅔:
    # Var(P_w) = (1/12)/3 + (2/9)/2 = 5/36 = Var(P_l), Cov = −5/36; P_w = ⅔, P_l = ⅓:
    # Var(log WR) = (5/36)/(4/9) + (5/36)/(1/9) + 2·(5/36)/(2/9) = 45/16
    assert wr.se_log == pytest.approx(math.sqrt(45 / 16))
    assert wr.ci_low == pytest.approx(2 * math.exp(-stats.norm.ppf(0.975) * math.sqrt(45 / 16)))
    assert wr.p_value == pytest.approx(2 * stats.norm.sf(math.log(2) / math.sqrt(45 / 16)))
    assert wr.win_probability == pytest.approx(4 / 6)


def test_win_ratio_equals_a_brute_force_pairwise_count():
    rng = np.random.default_rng(7)

    def group(n):
        died = rng.random(n) < 0.45
        time = np.where(died, rng.integers(1, 30, n), 90).astype(float)  # integer days: tied deaths occur
        score = np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 12, n).astype(float))
        return died, time, score

    (d1, t1, s1), (d0, t0, s0) = group(37), group(41)
    wins = losses = 0
    for i in range(37):
        for j in range(41):
            if d1[i] != d0[j]:
                w = d0[j]
            elif d1[i] and t1[i] != t0[j]:
                w = t1[i] > t0[j]
            elif s1[i] < s0[j] or s1[i] > s0[j]:
                w = s1[i] < s0[j]
            else:
                continue  # tie (equal or missing scores)
            wins, losses = wins + w, losses + (not w)
    wr = methods.win_ratio(d1, t1, s1, d0, t0, s0)
    assert (wr.wins, wr.losses, wr.ties) == (wins, losses, 37 * 41 - wins - losses)
    assert wr.ratio == pytest.approx(wins / losses, rel=1e-12)


def test_worst_rank_scores_put_every_death_below_every_survivor():
    f = pd.DataFrame({"died": [False, True, True, False], "time_days": [90.0, 3.5, 40.0, 90.0],
                      "mean_sofa": [19.5, 12.0, np.nan, 2.0]})
    s = sensitivity.worst_rank_scores(f, 90)
    assert s.tolist() == [19.5, 21 + 86.5, 21 + 50, 2.0]
    assert list(s.rank()) == [2.0, 4.0, 3.0, 1.0]  # higher is worse: the earliest death is the worst


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    frames = synthetic.generate(160, 31)
    cutoff = frames.pop("_cutoff")
    ids = frames["participants"]["participant_id"]
    lost = set(ids.sample(frac=0.12, random_state=3))  # 12 % without daily records: the primary is imputed
    frames["daily"] = frames["daily"][~frames["daily"]["participant_id"].isin(lost)]
    return analyses.derive_all(load(write_dataset(frames, tmp_path_factory.mktemp("sens"), blinded=False,
                                                  source="simulation", data_cutoff=cutoff, parquet=False)))


def test_death_as_worst_on_a_trial(trial):
    r = sensitivity.death_as_worst(trial, "itt")
    f = trial.frame[trial.frame.itt & trial.frame.followup_complete]
    score = sensitivity.worst_rank_scores(f, 90)
    f, score = f[score.notna()], score[score.notna()]
    a, b = score[f.treat == 1].to_numpy(), score[f.treat == 0].to_numpy()
    better = sum((x < y) + 0.5 * (x == y) for x in a for y in b) / (len(a) * len(b))  # brute force
    assert r.probability_better == pytest.approx(better, rel=1e-12)
    test = methods.van_elteren(score, f.treat == 1, f.site)
    assert (r.z, r.p_value) == (test.z, test.p_value) and "van Elteren" in r.method


def test_tipping_point_shift_is_exact(trial):
    # the analysis is OLS, linear in y: with the same draws, adding δ to the first group's imputed values moves
    # each estimate, hence the pooled one, by δ·c with c = [(XᵀX)⁻¹Xᵀe]_treatment (e: imputed in group 1)
    f = trial.frame[trial.frame.itt]
    f = f.assign(baseline_sofa_modified=f.baseline_sofa_modified.fillna(f.baseline_sofa_modified.mean()))
    X, _ = methods.design_matrix(f.treat, f.site, {"baseline_sofa_modified": f.baseline_sofa_modified})
    e = (f.mean_sofa.isna() & (f.treat == 1)).to_numpy(dtype=float)
    c = np.linalg.solve(X.T @ X, X.T @ e)[1]
    tp = sensitivity.tipping_point(trial, "itt", seed=5, imputations=5)
    base = tp.rows[0]
    assert base["delta"] == 0
    for row in tp.rows[1:]:
        assert row["estimate"] == pytest.approx(base["estimate"] + row["delta"] * c, abs=1e-10)
    assert tp.missing["iloprost"] + tp.missing["placebo"] == int(f.mean_sofa.isna().sum())
    significant = [r["p_value"] < 0.05 for r in tp.rows]
    if tp.tipping_delta is None:
        assert len(set(significant)) == 1
    else:
        first = next(r for r, s in zip(tp.rows, significant) if s != significant[0])
        assert tp.tipping_delta == first["delta"]


def test_bayesian_uses_the_primary_estimate(trial):
    primary = analyses.primary_analysis(trial, "itt")
    post = sensitivity.bayesian(primary)
    assert set(post) == {"sceptical", "neutral", "enthusiastic"}
    direct = methods.normal_posterior(primary.difference, primary.estimate.se, 0.0, 0.7903,
                                      clinically_important_difference=1.3)
    assert post["sceptical"] == direct
    # the neutral prior barely moves the estimate; the sceptical one shrinks it towards 0
    assert post["neutral"].mean == pytest.approx(primary.difference, abs=0.01)
    assert abs(post["sceptical"].mean) < abs(primary.difference)


def test_holm_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = {"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.20, "e": math.nan}
    ours = sensitivity.holm(p)
    ref = multipletests([0.01, 0.04, 0.03, 0.20], method="holm")[1]
    assert [ours[k] for k in "abcd"] == pytest.approx(list(ref), rel=1e-12)
    assert math.isnan(ours["e"])


def test_holm_rule_of_the_protocol_adjusts_the_secondary_outcomes(trial, tmp_path, monkeypatch):
    from shine import protocol
    from shine.analysis import report

    text = protocol.DEFAULT_FILE.read_text().replace('secondary_multiplicity = "exploratory"',
                                                     'secondary_multiplicity = "holm"')
    (tmp_path / "holm.toml").write_text(text)
    monkeypatch.setenv("SHINE_PROTOCOL_FILE", str(tmp_path / "holm.toml"))
    r = report.run(trial.data, "itt")
    forest = r.tables["outcomes"]
    secondary = forest[(forest.outcome != "mean daily modified SOFA") & (forest.population != "safety")]
    assert secondary["p_holm"].tolist() == pytest.approx(list(sensitivity.holm(dict(zip(secondary.outcome,
                                                                                     secondary.p_value))).values()))
    assert forest.loc[forest.outcome == "mean daily modified SOFA", "p_holm"].isna().all()
    assert r.results["sensitivity_analyses"]["multiplicity"]["rule"] == "holm"
