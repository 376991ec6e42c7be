"""Cross-checks against R on generated data sets (one Rscript call per test).

R calls: stats::lm, stats::glm(binomial(link = "log")), glm(poisson) with sandwich::vcovHC(type = "HC0"),
survival::survfit (conf.type = "log"), mice::pool.scalar, survival::survdiff, survival::coxph (Efron ties,
strata(site)), coin::wilcox_test / independence_test (stratified, asymptotic). Tolerances are given at each assertion.
"""

import numpy as np
import pandas as pd
import pytest

from shine.analysis import methods
from tests.support import rscript

pytestmark = pytest.mark.rlang
SITES = np.array(["RH", "BBH", "HGH", "NOH", "HVH", "SUH"])


def _frame(seed: int, n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    site = SITES[rng.integers(0, len(SITES), n)]
    treat = rng.integers(0, 2, n)
    base = rng.integers(0, 21, n).astype(float)
    y = 4 + 0.3 * base + 0.5 * treat + rng.normal(0, 2.5, n) + (site == "RH") * 1.0
    risk = 0.25 + 0.1 * treat + 0.1 * (site == "HGH")
    dead = (rng.random(n) < risk).astype(int)
    time = np.round(np.minimum(rng.exponential(60, n) / (1 + 0.3 * treat), 90), 1)
    event = (time < 90).astype(int)
    free = np.clip(np.round(rng.normal(60 + 5 * treat, 25, n)), 0, 90)  # many ties
    return pd.DataFrame(dict(site=site, treat=treat, base=base, y=y, dead=dead, time=time, event=event, free=free))


def _write(tmp_path, frame) -> str:
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    return str(path)


def _numbers(out: str) -> list[float]:
    return [float(x) for x in out.split()]


def test_lm_matches_r(tmp_path):
    f = _frame(1)
    path = _write(tmp_path, f)
    out = rscript(f"""d <- read.csv('{path}'); d$site <- factor(d$site, levels = sort(unique(d$site)))
        m <- lm(y ~ treat + site + base, data = d); ci <- confint(m)['treat', ]
        cat(sprintf('%.12g', c(coef(m)['treat'], ci, summary(m)$coefficients['treat', 4])))""")
    est = methods.linear_regression(f.y, f.treat, f.site, {"base": f.base})
    # same least-squares problem: agreement to 1e-8
    assert [est.estimate, est.ci_low, est.ci_high, est.p_value] == pytest.approx(_numbers(out), rel=1e-8)


def test_log_binomial_glm_matches_r(tmp_path):
    f = _frame(2)
    path = _write(tmp_path, f)
    out = rscript(f"""d <- read.csv('{path}'); d$site <- factor(d$site, levels = sort(unique(d$site)))
        m <- glm(dead ~ treat + site, family = binomial(link = 'log'), data = d,
                 start = c(log(mean(d$dead)), rep(0, 6)), control = glm.control(epsilon = 1e-12, maxit = 100))
        s <- summary(m)$coefficients['treat', ]
        cat(sprintf('%.12g', c(exp(s[1]), s[2], s[4])))""")
    est = methods.adjusted_risk_ratio(f.dead, f.treat, f.site)
    assert est.method == "log-binomial GLM adjusted for site"
    rr, se, p = _numbers(out)
    # IRLS to convergence on both sides: 1e-6
    assert est.estimate == pytest.approx(rr, rel=1e-6)
    assert est.se == pytest.approx(se, rel=1e-5)
    assert est.p_value == pytest.approx(p, rel=1e-5)


def test_modified_poisson_robust_se_matches_r_sandwich(tmp_path):
    f = _frame(4)
    path = _write(tmp_path, f)
    out = rscript(f"""suppressMessages(library(sandwich))
        d <- read.csv('{path}'); d$site <- factor(d$site, levels = sort(unique(d$site)))
        m <- glm(dead ~ treat + site, family = poisson(link = 'log'), data = d,
                 control = glm.control(epsilon = 1e-12, maxit = 100))
        se <- sqrt(vcovHC(m, type = 'HC0')['treat', 'treat'])
        cat(sprintf('%.12g', c(exp(coef(m)['treat']), se)))""")
    est = methods.modified_poisson(f.dead, f.treat, f.site)
    rr, se = _numbers(out)
    # sandwich 3.0 vcovHC(type = "HC0") is statsmodels' cov_type "HC0": estimate 1e-8, SE 1e-6
    assert est.estimate == pytest.approx(rr, rel=1e-8)
    assert est.se == pytest.approx(se, rel=1e-6)
    assert est.method == "modified Poisson regression, robust (HC0) SE adjusted for site"


def test_survfit_survdiff_coxph_match_r(tmp_path):
    f = _frame(3)
    path = _write(tmp_path, f)
    out = rscript(f"""suppressMessages(library(survival)); d <- read.csv('{path}')
        s <- survfit(Surv(time, event) ~ 1, data = d[d$treat == 1, ], conf.type = 'log')
        k <- summary(s, times = c(10, 30, 60))
        l <- survdiff(Surv(time, event) ~ treat, data = d)
        cx <- coxph(Surv(time, event) ~ treat + strata(site), data = d, ties = 'efron')
        cat(sprintf('%.12g', c(k$surv, k$lower, k$upper, l$chisq, exp(coef(cx)), sqrt(vcov(cx)[1, 1]))))""")
    r = _numbers(out)
    treated = f[f.treat == 1]
    km = methods.kaplan_meier(treated.time, treated.event)
    tab = km.table
    for i, t in enumerate((10, 30, 60)):
        row = tab[tab.time <= t].iloc[-1]
        # Greenwood SE and log-transform CI as survfit conf.type = "log": 1e-8
        assert row.survival == pytest.approx(r[i], rel=1e-8)
        assert row.ci_low == pytest.approx(r[3 + i], rel=1e-8)
        assert row.ci_high == pytest.approx(r[6 + i], rel=1e-8)
    chi2, _ = methods.logrank(f.time, f.event, f.treat)
    assert chi2 == pytest.approx(r[9], rel=1e-8)
    hr = methods.cox_hazard_ratio(f.time, f.event, f.treat, f.site)
    # Newton–Raphson on the same Efron partial likelihood: 1e-6
    assert hr.estimate == pytest.approx(r[10], rel=1e-6)
    assert hr.se == pytest.approx(r[11], rel=1e-5)


def test_stratified_wilcoxon_and_van_elteren_match_coin(tmp_path):
    f = _frame(4)
    path = _write(tmp_path, f)
    out = rscript(f"""suppressMessages(library(coin)); d <- read.csv('{path}')
        d$g <- factor(d$treat, levels = c(1, 0)); d$site <- factor(d$site)
        w <- wilcox_test(free ~ g | site, data = d, distribution = 'asymptotic')
        test <- function(f) independence_test(free ~ g | site, data = d, distribution = 'asymptotic',
                 ytrafo = function(data) trafo(data, numeric_trafo = f, block = d$site))
        v <- test(function(x) rank(x) / (length(x) + 1))
        r <- test(rank)
        cat(sprintf('%.12g', c(statistic(w), pvalue(w), statistic(v), pvalue(v), statistic(r), pvalue(r))))""")
    r = _numbers(out)
    # coin conditions on the strata exactly as we do (permutation mean and variance): 1e-8
    for i, scores in enumerate(("overall_ranks", "van_elteren", "stratum_ranks")):
        t = methods.van_elteren(f.free, f.treat == 1, f.site, scores=scores)
        assert t.z == pytest.approx(r[2 * i], rel=1e-8)
        assert t.p_value == pytest.approx(r[2 * i + 1], rel=1e-8)


@pytest.mark.parametrize("seed,m,df_complete", [(1, 5, 232.0), (2, 20, 40.0), (3, 2, 10.0)])
def test_rubin_rules_equal_mice_pool_scalar(seed, m, df_complete):
    # mice 3.15 pool.scalar(Q, U, n, k): Rubin's rules with the Barnard–Rubin df for dfcom = n − k
    rng = np.random.default_rng(seed)
    q, u = rng.normal(0.5, 0.3, m), rng.uniform(0.05, 0.2, m)
    ours = methods.rubin(q, u, df_complete)
    out = rscript(f"""suppressMessages(library(mice))
r <- pool.scalar(c({','.join(map(repr, q.tolist()))}), c({','.join(map(repr, u.tolist()))}),
                 n = {df_complete + 1}, k = 1)
cat(sprintf('%.15g', c(r$qbar, r$t, r$b, r$ubar, r$df, r$r, r$fmi)))""")
    qbar, total, between, within, df, riv, fmi = map(float, out.split())
    assert ours.estimate == pytest.approx(qbar, rel=1e-12)
    assert ours.se ** 2 == pytest.approx(total, rel=1e-12)
    assert ours.details["between_variance"] == pytest.approx(between, rel=1e-12)
    assert ours.details["within_variance"] == pytest.approx(within, rel=1e-12)
    assert ours.details["df"] == pytest.approx(df, rel=1e-10)
    # the fraction of missing information is mice's fmi, not Rubin's λ = (1 + 1/m)B/T: 1e-10
    assert ours.details["relative_increase_in_variance"] == pytest.approx(riv, rel=1e-12)
    assert ours.details["fraction_missing_information"] == pytest.approx(fmi, rel=1e-10)
    assert ours.details["lambda"] == pytest.approx((1 + 1 / m) * between / total, rel=1e-12)
