"""Statistical methods against the published references of ../shared/STATISTICS.md and hand calculations."""

import math
import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from shine.analysis import methods

# 6-MP leukaemia data (Gehan 1965; R MASS::gehan), as in STATISTICS.md
MP6_TIME = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
MP6_EVENT = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
PLACEBO_TIME = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]


def test_leopards_mean_difference_ci():
    # STATISTICS.md: 6.68 ± 3.96 (258) vs 6.06 ± 3.89 (256): difference 0.61, 95 % CI −0.069 to 1.289
    # (the published difference 0.61 comes from unrounded means). Tolerance: half a unit in the last digit.
    est = methods.mean_difference_from_summary(6.06 + 0.61, 3.96, 258, 6.06, 3.89, 256)
    assert est.estimate == pytest.approx(0.61, abs=1e-12)
    assert est.ci_low == pytest.approx(-0.069, abs=5e-4)
    assert est.ci_high == pytest.approx(1.289, abs=5e-4)


def test_leopards_mortality_risk_difference():
    # STATISTICS.md: 89/258 vs 79/256: risk difference 3.64 points, Wald 95 % CI −4.47 to 11.74 (±0.005)
    rd = methods.risk_difference(89, 258, 79, 256)
    assert 100 * rd.estimate == pytest.approx(3.64, abs=5e-3)
    assert 100 * rd.ci_low == pytest.approx(-4.47, abs=5e-3)
    assert 100 * rd.ci_high == pytest.approx(11.74, abs=5e-3)


def test_katz_se_identity_of_log_binomial_glm():
    # STATISTICS.md: with the treatment as only covariate, the log-binomial GLM's RR equals the crude RR and
    # its Wald SE the Katz SE √(1/a − 1/n₁ + 1/b − 1/n₀). Tolerance 1e-6 (IRLS convergence).
    y = np.r_[np.ones(89), np.zeros(258 - 89), np.ones(79), np.zeros(256 - 79)]
    treat = np.r_[np.ones(258), np.zeros(256)]
    glm = methods.adjusted_risk_ratio(y, treat)
    crude = methods.crude_risk_ratio(89, 258, 79, 256)
    assert glm.method == "log-binomial GLM"
    assert glm.estimate == pytest.approx((89 / 258) / (79 / 256), rel=1e-6)
    assert glm.estimate == pytest.approx(crude.estimate, rel=1e-6)
    assert glm.se == pytest.approx(math.sqrt(1 / 89 - 1 / 258 + 1 / 79 - 1 / 256), rel=1e-6)
    assert glm.se == pytest.approx(crude.se, rel=1e-6)
    assert (glm.ci_low, glm.ci_high) == pytest.approx((crude.ci_low, crude.ci_high), rel=1e-6)


def test_log_binomial_falls_back_to_modified_poisson_and_says_so():
    # risks near 1 in one site push the log-binomial MLE to the boundary
    rng = np.random.default_rng(3)
    site = np.repeat(["a", "b"], 60)
    treat = np.tile([0, 1], 60)
    y = np.where(site == "a", 1.0, (rng.random(120) < 0.5).astype(float))
    y[0] = 0.0
    est = methods.adjusted_risk_ratio(y, treat, site)
    assert est.method.startswith("modified Poisson regression, robust (HC0) SE")
    assert est.ci_low < est.estimate < est.ci_high


def test_crude_rr_zero_cell_and_refusals():
    est = methods.crude_risk_ratio(0, 10, 3, 10)
    assert "0.5 added" in est.method
    assert est.estimate == pytest.approx((0.5 / 11) / (3.5 / 11))
    with pytest.raises(ValueError, match="events_1"):
        methods.crude_risk_ratio(-1, 10, 3, 10)
    with pytest.raises(ValueError, match="exceed"):
        methods.crude_risk_ratio(11, 10, 3, 10)


def test_two_by_two_uses_fisher_when_sparse():
    p, test = methods.two_by_two_test(1, 20, 6, 20)
    assert test == "Fisher's exact test"
    assert p == pytest.approx(stats.fisher_exact([[1, 19], [6, 14]])[1])
    p, test = methods.two_by_two_test(30, 100, 45, 100)
    assert test == "Pearson χ² test"
    assert p == pytest.approx(stats.chi2_contingency([[30, 70], [45, 55]], correction=False)[1])


def test_kaplan_meier_6mp():
    # STATISTICS.md: 6-MP arm at t = 6, 7, 10, 13, 16, 22, 23; tolerance half a unit of the 4th decimal
    km = methods.kaplan_meier(MP6_TIME, MP6_EVENT)
    expected = {6: 0.8571, 7: 0.8067, 10: 0.7529, 13: 0.6902, 16: 0.6275, 22: 0.5378, 23: 0.4482}
    for t, s in expected.items():
        assert km.at(t) == pytest.approx(s, abs=5e-5)
    # log transform CI at t = 6: S·exp(±1.96·SE/S), SE Greenwood = √(S²·3/(21·18))
    s6 = 18 / 21
    se = s6 * math.sqrt(3 / (21 * 18))
    row = km.table[km.table.time == 6].iloc[0]
    assert row.ci_low == pytest.approx(s6 * math.exp(-stats.norm.ppf(0.975) * se / s6), rel=1e-9)
    assert row.ci_high == pytest.approx(min(1.0, s6 * math.exp(stats.norm.ppf(0.975) * se / s6)), rel=1e-9)


def test_logrank_6mp():
    # STATISTICS.md: log-rank χ² = 16.79 (1 df), p = 4.2e-5 (half a unit in the last digit)
    time = MP6_TIME + PLACEBO_TIME
    event = MP6_EVENT + [1] * 21
    group = [1] * 21 + [0] * 21
    chi2, p = methods.logrank(time, event, group)
    assert chi2 == pytest.approx(16.79, abs=5e-3)
    assert p == pytest.approx(4.2e-5, abs=5e-7)


def test_van_elteren_by_hand():
    # one stratum without ties: the Wilcoxon rank sum; ranks of group 1 are 2, 4, 5 of n = 5
    y = [1.0, 2.0, 3.0, 4.0, 5.0]
    g = [False, True, False, True, True]
    t = methods.van_elteren(y, g, ["s"] * 5, scores="stratum_ranks")
    assert t.statistic == 11 and t.expected == 9
    assert t.variance == pytest.approx(3 * 2 * 6 / 12)  # n1 n0 (n + 1) / 12
    ve = methods.van_elteren(y, g, ["s"] * 5)
    assert ve.z == pytest.approx(t.z)  # one stratum: weighting does not change z
    # two strata of different size: weights 1/(n_s + 1) change the statistic
    y2 = y + [1.0, 2.0, 2.0, 3.0]
    g2 = g + [True, False, True, False]
    s2 = ["s"] * 5 + ["t"] * 4
    ve2 = methods.van_elteren(y2, g2, s2)
    ranks_t = stats.rankdata([1.0, 2.0, 2.0, 3.0])  # 1, 2.5, 2.5, 4
    assert ve2.statistic == pytest.approx(11 / 6 + (ranks_t[0] + ranks_t[2]) / 5)


def test_van_elteren_refusals():
    with pytest.raises(ValueError, match="scores"):
        methods.van_elteren([1, 2], [True, False], ["a", "a"], scores="x")
    with pytest.raises(ValueError, match="missing"):
        methods.van_elteren([1, np.nan], [True, False], ["a", "a"])


def test_bootstrap_is_seeded():
    rng = np.random.default_rng(1)
    a, b = rng.normal(1, 1, 40), rng.normal(0, 1, 50)
    e1 = methods.bootstrap_mean_difference(a, b, seed=7)
    e2 = methods.bootstrap_mean_difference(a, b, seed=7)
    e3 = methods.bootstrap_mean_difference(a, b, seed=8)
    assert e1 == e2 and e1.ci_low != e3.ci_low
    assert e1.ci_low < a.mean() - b.mean() < e1.ci_high
    with pytest.raises(ValueError, match="resamples"):
        methods.bootstrap_mean_difference(a, b, seed=1, resamples=10)


def test_rubin_rules_by_hand():
    # M = 3: Q = 1, 2, 3; U = 1 each. Q̄ = 2, Ū = 1, B = 1, T = 1 + 4/3 = 7/3; λ = 4/7;
    # ν_old = 2 / λ² = 6.125; ν_obs = (ν_c + 1)/(ν_c + 3)·ν_c·(1 − λ) with ν_c = 100.
    est = methods.rubin([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], 100)
    lam = 4 / 7
    df_obs = 101 / 103 * 100 * (1 - lam)
    df = 1 / (1 / 6.125 + 1 / df_obs)
    assert est.estimate == 2
    assert est.se == pytest.approx(math.sqrt(7 / 3))
    assert est.details["df"] == pytest.approx(df)
    assert est.ci_high - 2 == pytest.approx(stats.t.ppf(0.975, df) * math.sqrt(7 / 3))
    # λ = (1 + 1/M)B/T; r = (1 + 1/M)B/Ū = 4/3; FMI = (r + 2/(ν + 3))/(r + 1) (Rubin 1987; mice gives
    # 0.6741313 for ν_c = 100, checked in test_r_crosscheck)
    assert est.details["lambda"] == pytest.approx(lam)
    assert est.details["relative_increase_in_variance"] == pytest.approx(4 / 3)
    assert est.details["fraction_missing_information"] == pytest.approx((4 / 3 + 2 / (df + 3)) / (7 / 3))
    assert est.details["fraction_missing_information"] == pytest.approx(0.6741313, abs=5e-8)
    # no between-imputation variance: the complete-data answer (df → ν_obs = (ν+1)/(ν+3)·ν)
    same = methods.rubin([2.0, 2.0], [0.25, 0.25], 50)
    assert same.se == pytest.approx(0.5)
    assert same.details["df"] == pytest.approx(51 / 53 * 50)


def test_impute_normal_fills_only_missing():
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(50), rng.normal(size=50)])
    y = X @ [1.0, 2.0] + rng.normal(0, 0.1, 50)
    y[[3, 7]] = np.nan
    out = methods.impute_normal(y, X, rng=np.random.default_rng(1))
    assert not np.isnan(out).any()
    assert np.array_equal(out[~np.isnan(y)], y[~np.isnan(y)])
    assert out[3] == pytest.approx(X[3] @ [1.0, 2.0], abs=0.5)


def test_adjusted_risk_ratio_is_not_estimable_without_events_rather_than_crashing():
    from shine.analysis.methods import adjusted_risk_ratio

    y = [0, 0, 0, 0, 0, 0, 0, 0]
    est = adjusted_risk_ratio(y, [1, 1, 1, 1, 0, 0, 0, 0], ["RH", "RH", "HGH", "HGH", "RH", "RH", "HGH", "HGH"])
    assert math.isnan(est.estimate) and "not estimable" in est.method


def test_log_binomial_converges_on_the_maximum_likelihood_estimate():
    # 60 patients where IRLS stopped on the deviance was 1.1e-6 (relative) short of the MLE. Reference:
    # Newton–Raphson written out here on the log-binomial score Σ x(y − μ)/(1 − μ) and Hessian
    # Σ x xᵀ μ(y − 1)/(1 − μ)², iterated to a step below 1e-15; the promise is 1e-6, we check 1e-10.
    rng = np.random.default_rng(35)
    sites = np.array(["RH", "BBH", "HGH", "NOH", "HVH", "SUH"])
    site = sites[rng.integers(0, 6, 60)]
    treat = rng.integers(0, 2, 60)
    dead = (rng.random(60) < 0.3 + 0.15 * treat + 0.15 * (site == "HGH")).astype(float)
    X, _ = methods.design_matrix(treat, site)
    start = np.zeros(X.shape[1])
    start[0] = math.log(dead.mean())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the log link's domain warning
        irls = sm.GLM(dead, X, family=sm.families.Binomial(link=sm.families.links.Log())).fit(
            start_params=start, maxiter=200, tol=1e-10)
    b = np.asarray(irls.params, dtype=float)
    for _ in range(200):
        mu = np.exp(X @ b)
        step = np.linalg.solve(X.T @ (X * (mu * (dead - 1) / (1 - mu) ** 2)[:, None]), X.T @ ((dead - mu) / (1 - mu)))
        b = b - step
        if np.abs(step).max() < 1e-15:
            break
    assert np.exp(X @ b).max() < 1
    est = methods.adjusted_risk_ratio(dead, treat, site)
    assert est.method == "log-binomial GLM adjusted for site"
    assert est.estimate == pytest.approx(math.exp(b[1]), rel=1e-10)
    assert abs(math.exp(irls.params[1] - b[1]) - 1) > 1e-6  # where IRLS on the deviance alone stops


def test_treatment_coefficients_equal_linear_regression_column_by_column():
    # the multiple-imputation fast path against linear_regression (itself checked against R lm): 1e-10
    rng = np.random.default_rng(3)
    n = 80
    site = np.array(["RH", "BBH", "HGH"])[rng.integers(0, 3, n)]
    treat = rng.integers(0, 2, n)
    base = rng.integers(0, 20, n).astype(float)
    Y = 3 + 0.4 * base[:, None] + 0.5 * treat[:, None] + rng.normal(0, 2, (n, 4))
    X, _ = methods.design_matrix(treat, site, {"base": base})
    est, se, df = methods.treatment_coefficients(Y, X)
    for m in range(4):
        ref = methods.linear_regression(Y[:, m], treat, site, {"base": base})
        assert est[m] == pytest.approx(ref.estimate, rel=1e-10)
        assert se[m] == pytest.approx(ref.se, rel=1e-10)
        assert df == ref.details["df_resid"]
    with pytest.raises(methods.NotEstimable, match="too few participants"):
        methods.treatment_coefficients(Y[:4], X[:4])
