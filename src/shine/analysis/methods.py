"""Statistical methods of the analysis plan, on plain arrays (docs/analysis.md gives formulas and sources).

Each returns a frozen :class:`Estimate` (or a small result of its own) naming the method used.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from shine.i18n import _, decimal

Z975 = stats.norm.ppf(0.975)


class NotEstimable(ValueError):
    """The data cannot give this estimate (too few participants, an empty group, a singular model); the
    message is the reason in words. The report marks the analysis "not estimable: reason" and goes on."""


@dataclass(frozen=True)
class Estimate:
    """One effect estimate: ``estimate`` on its natural scale (a difference, or a ratio), its two-sided
    ``level`` confidence interval, ``p_value`` (NaN when the method gives none) and ``method``."""

    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    method: str
    scale: str = "difference"  # "difference" (null 0) or "ratio" (null 1)
    se: float = math.nan  # on the estimation scale (log scale for ratios)
    level: float = 0.95
    details: dict = field(default_factory=dict, compare=False)

    def summary(self) -> str:
        p = "" if math.isnan(self.p_value) else f", P = {self.p_value:.3g}"
        return (f"{self.estimate:.3f} ({self.level:.0%} CI {self.ci_low:.3f} to {self.ci_high:.3f}{p}); "
                f"{self.method}")


def _check_level(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(_("level must lie in (0, 1), got %(level)s") % {"level": decimal(level, "")})
    return stats.norm.ppf(0.5 + level / 2)


def design_matrix(treat, site=None, covariates: dict | None = None) -> tuple[np.ndarray, list[str]]:
    """Intercept, the treatment indicator, site dummies (first site in sorted order as reference) and
    numeric covariates, as a float matrix with column names."""
    treat = np.asarray(treat, dtype=float)
    cols, names = [np.ones_like(treat), treat], ["const", "treatment"]
    if site is not None:
        site = np.asarray(site, dtype=object)
        for level in sorted(set(site))[1:]:
            cols.append((site == level).astype(float))
            names.append(f"site[{level}]")
    for name, values in (covariates or {}).items():
        cols.append(np.asarray(values, dtype=float))
        names.append(name)
    return np.column_stack(cols), names


def linear_regression(y, treat, site=None, covariates=None, *, level: float = 0.95) -> Estimate:
    """OLS coefficient of the treatment indicator adjusted for site and covariates, t-based CI and P."""
    import statsmodels.api as sm

    X, names = design_matrix(treat, site, covariates)
    y = np.asarray(y, dtype=float)
    if np.isnan(y).any() or np.isnan(X).any():
        raise ValueError(_("linear_regression: outcome and covariates must not contain missing values"))
    n, k = X.shape
    if n <= k:
        raise NotEstimable(f"too few participants ({n}) for the linear model's {k} terms ({', '.join(names)})")
    if np.linalg.matrix_rank(X) < k:
        raise NotEstimable("the linear model's terms are collinear (" + ", ".join(names) + "), e.g. a site whose "
                           "participants are all in one group together with too few others")
    fit = sm.OLS(y, X).fit()
    lo, hi = fit.conf_int(alpha=1 - level)[1]
    adjusted = (["site"] if site is not None else []) + list(covariates or {})
    return Estimate(float(fit.params[1]), float(lo), float(hi), float(fit.pvalues[1]),
                    "linear regression (OLS)" + (" adjusted for " + ", ".join(adjusted) if adjusted else ""),
                    se=float(fit.bse[1]), level=level, details={"df_resid": float(fit.df_resid)})


def treatment_coefficients(Y, X) -> tuple[np.ndarray, np.ndarray, float]:
    """OLS of each column of ``Y`` (n × M) on the full-rank design ``X`` (column 1 the treatment): the
    treatment coefficients, their SEs and the residual df, by one Cholesky factorisation of XᵀX (the
    same fit as :func:`linear_regression` for M outcomes at the cost of one)."""
    from scipy.linalg import cho_factor, cho_solve

    Y = np.asarray(Y, dtype=float).reshape(len(X), -1)
    n, k = X.shape
    if n <= k or np.linalg.matrix_rank(X) < k:
        raise NotEstimable(f"too few participants ({n}) or collinear terms for the linear model's {k} terms")
    factor = cho_factor(X.T @ X)
    beta = cho_solve(factor, X.T @ Y)
    resid = Y - X @ beta
    df = n - k
    unit = np.zeros(k)
    unit[1] = 1.0
    var_treat = cho_solve(factor, unit)[1]
    return beta[1], np.sqrt((resid * resid).sum(axis=0) / df * var_treat), float(df)


def mean_difference_from_summary(mean_1: float, sd_1: float, n_1: int, mean_0: float, sd_0: float, n_0: int, *,
                                 level: float = 0.95) -> Estimate:
    """Difference in means from published summaries, normal CI with SE = √(s₁²/n₁ + s₀²/n₀) (to re-analyse
    a report such as LeoPARDS)."""
    for name, v in (("sd_1", sd_1), ("sd_0", sd_0)):
        if not v > 0:
            raise ValueError(_("%(name)s must be > 0, got %(v)s") % {"name": name, "v": decimal(v, "")})
    for name, v in (("n_1", n_1), ("n_0", n_0)):
        if v < 2:
            raise ValueError(_("%(name)s must be ≥ 2, got %(v)s") % {"name": name, "v": decimal(v, "")})
    z = _check_level(level)
    d = mean_1 - mean_0
    se = math.sqrt(sd_1 ** 2 / n_1 + sd_0 ** 2 / n_0)
    return Estimate(d, d - z * se, d + z * se, 2 * stats.norm.sf(abs(d) / se),
                    "difference in means from summaries, normal CI (unpooled SE)", se=se, level=level)


def crude_risk_ratio(events_1: int, n_1: int, events_0: int, n_0: int, *, level: float = 0.95) -> Estimate:
    """Risk ratio (group 1 / group 0) with the Katz log CI, SE = √(1/a − 1/n₁ + 1/b − 1/n₀).

    With a zero cell, 0.5 is added to each cell (Haldane–Anscombe) and the method says so.
    """
    for name, v in (("events_1", events_1), ("n_1", n_1), ("events_0", events_0), ("n_0", n_0)):
        if v < 0:
            raise ValueError(_("%(name)s must be ≥ 0, got %(v)s") % {"name": name, "v": decimal(v, "")})
    if events_1 > n_1 or events_0 > n_0 or n_1 == 0 or n_0 == 0:
        raise ValueError(_("events must not exceed group sizes and each group needs ≥ 1 participant"))
    z = _check_level(level)
    a, n1, b, n0 = float(events_1), float(n_1), float(events_0), float(n_0)
    method = "crude risk ratio, Katz log CI"
    if a == 0 or b == 0 or a == n1 or b == n0:
        a, b, n1, n0 = a + 0.5, b + 0.5, n1 + 1.0, n0 + 1.0
        method += " (0.5 added to each cell: zero cell)"
    rr = (a / n1) / (b / n0)
    se = math.sqrt(1 / a - 1 / n1 + 1 / b - 1 / n0)
    p = 2 * stats.norm.sf(abs(math.log(rr)) / se)
    return Estimate(rr, rr * math.exp(-z * se), rr * math.exp(z * se), p, method, "ratio", se, level)


def rate_ratio(events_1: int, n_1: int, events_0: int, n_0: int, *, level: float = 0.95) -> Estimate:
    """Ratio of event rates per participant (group 1 / group 0) over a window of the same length for
    everyone: the Poisson MLE (e₁/n₁)/(e₀/n₀) with the Wald log CI, SE = √(1/e₁ + 1/e₀), which is what a
    Poisson GLM of the counts on the group gives. With no event in a group, 0.5 is added to each count
    and the method says so."""
    for name, v in (("events_1", events_1), ("n_1", n_1), ("events_0", events_0), ("n_0", n_0)):
        if v < 0:
            raise ValueError(_("%(name)s must be ≥ 0, got %(v)s") % {"name": name, "v": decimal(v, "")})
    if n_1 == 0 or n_0 == 0:
        raise ValueError(_("each group needs ≥ 1 participant"))
    z = _check_level(level)
    a, b = float(events_1), float(events_0)
    method = "rate ratio of event counts (Poisson), Wald log CI"
    if a == 0 or b == 0:
        a, b = a + 0.5, b + 0.5
        method += " (0.5 added to each count: no event in a group)"
    rr = (a / n_1) / (b / n_0)
    se = math.sqrt(1 / a + 1 / b)
    p = 2 * stats.norm.sf(abs(math.log(rr)) / se)
    return Estimate(rr, rr * math.exp(-z * se), rr * math.exp(z * se), p, method, "ratio", se, level)


def risk_difference(events_1: int, n_1: int, events_0: int, n_0: int, *, level: float = 0.95) -> Estimate:
    """Risk difference with the Wald CI (in proportions)."""
    z = _check_level(level)
    p1, p0 = events_1 / n_1, events_0 / n_0
    se = math.sqrt(p1 * (1 - p1) / n_1 + p0 * (1 - p0) / n_0)
    d = p1 - p0
    p = 2 * stats.norm.sf(abs(d) / se) if se > 0 else math.nan
    return Estimate(d, d - z * se, d + z * se, p, "risk difference, Wald CI", se=se, level=level)


def adjusted_risk_ratio(y, treat, site=None, *, level: float = 0.95) -> Estimate:
    """Risk ratio of the treatment adjusted for site: log-binomial GLM; when it fails (no convergence,
    fitted risks reaching 1, non-finite SE), modified Poisson regression with the robust (HC0 sandwich)
    SE (Zou 2004). ``method`` says which was used."""
    import statsmodels.api as sm
    from statsmodels.genmod import families
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        DomainWarning,
        PerfectSeparationWarning,
        SingularMatrixWarning,
    )

    z = _check_level(level)
    y = np.asarray(y, dtype=float)
    X, _names = design_matrix(treat, site)
    adjusted = " adjusted for site" if site is not None else ""
    if len(y) <= X.shape[1] or np.linalg.matrix_rank(X) < X.shape[1]:
        return ratio_estimate(math.nan, math.nan, z=z, level=level,
                              method=f"risk ratio{adjusted}: too few participants per site for the model")
    start = np.zeros(X.shape[1])
    start[0] = math.log(max(y.mean(), 1e-3))
    fit, method = None, ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DomainWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("error", SingularMatrixWarning)
        try:
            # IRLS stops on the change in the coefficients (not the deviance, which flattens first), then
            # Newton steps on the exact Hessian polish the estimate to the MLE
            model = sm.GLM(y, X, family=families.Binomial(link=families.links.Log()))
            candidate = model.fit(start_params=start, maxiter=500, tol=1e-12, tol_criterion="params")
            candidate = _newton_polish(model, candidate)
            ok = (candidate.converged and np.all(np.isfinite(candidate.params)) and
                  np.all(np.isfinite(candidate.bse)) and candidate.fittedvalues.max() < 1 - 1e-6
                  and candidate.bse[1] < 10)
            if ok:
                fit, method = candidate, "log-binomial GLM"
        except Exception:  # any numerical failure sends us to the documented fallback
            fit = None
    if fit is None:
        return modified_poisson(y, treat, site, level=level,
                                why=" (log-binomial GLM did not converge)")
    return ratio_estimate(float(fit.params[1]), float(fit.bse[1]), z=z, method=method + adjusted, level=level)


def modified_poisson(y, treat, site=None, *, level: float = 0.95, why: str = "") -> Estimate:
    """Risk ratio of the treatment from a Poisson GLM (log link) with the HC0 sandwich SE (Zou 2004)."""
    import statsmodels.api as sm
    from statsmodels.genmod import families

    z = _check_level(level)
    y = np.asarray(y, dtype=float)
    X, _names = design_matrix(treat, site)
    method = "modified Poisson regression, robust (HC0) SE" + why + (" adjusted for site" if site is not None else "")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = sm.GLM(y, X, family=families.Poisson()).fit(cov_type="HC0")
            b, se = float(fit.params[1]), float(fit.bse[1])
        except (ValueError, np.linalg.LinAlgError):
            b, se = math.nan, math.nan
    return ratio_estimate(b, se, z=z, method=method, level=level)


def _newton_polish(model, fit, *, steps: int = 20, tol: float = 1e-13):
    """Newton–Raphson from an IRLS fit on the exact (observed) Hessian of the log-likelihood until the
    relative step is below ``tol``; the fit refitted at that point (one IRLS pass, so its SE is the usual
    expected-information SE). Raises ValueError when Newton does not settle."""
    params = np.asarray(fit.params, dtype=float)
    for _step in range(steps):
        step = np.linalg.solve(model.hessian(params), model.score(params))
        params = params - step
        if np.max(np.abs(step) / np.maximum(np.abs(params), 1.0)) < tol:
            break
    else:
        raise ValueError(_("log-binomial Newton steps did not settle"))
    return model.fit(start_params=params, maxiter=1, tol=1e-12, tol_criterion="params")


def ratio_estimate(b: float, se: float, *, z: float, method: str, level: float) -> Estimate:
    """A ratio from a log-scale coefficient and its SE; "not estimable" (NaN) for a degenerate fit, e.g. no
    events (or only events) in an arm, rather than an infinite or overflowing ratio."""
    if not (math.isfinite(b) and math.isfinite(se) and se > 0 and abs(b) + z * se < 700):
        return Estimate(math.nan, math.nan, math.nan, math.nan, f"not estimable ({method}: degenerate fit)",
                        "ratio", math.nan, level)
    return Estimate(math.exp(b), math.exp(b - z * se), math.exp(b + z * se), 2 * stats.norm.sf(abs(b) / se),
                    method, "ratio", se, level)


def two_by_two_test(events_1: int, n_1: int, events_0: int, n_0: int) -> tuple[float, str]:
    """P-value of group × event: Fisher's exact test when any expected count is below 5, else Pearson's
    χ² without continuity correction."""
    table = np.array([[events_1, n_1 - events_1], [events_0, n_0 - events_0]])
    if table.sum(axis=0).min() == 0:
        return 1.0, "no test (no events or no non-events)"
    expected = stats.contingency.expected_freq(table)
    if expected.min() < 5:
        return float(stats.fisher_exact(table)[1]), "Fisher's exact test"
    return float(stats.chi2_contingency(table, correction=False)[1]), "Pearson χ² test"


@dataclass(frozen=True)
class KaplanMeier:
    """Kaplan–Meier estimate: at each distinct event time, the number at risk, events, survival, its
    Greenwood SE and a pointwise CI with the **log** transform (R ``survfit`` default:
    S·exp(±z·SE/S))."""

    table: pd.DataFrame  # time, n_risk, n_events, survival, se, ci_low, ci_high

    def at(self, t: float) -> float:
        """Survival at time ``t`` (right-continuous step function)."""
        before = self.table[self.table["time"] <= t]
        return 1.0 if before.empty else float(before["survival"].iloc[-1])


def kaplan_meier(time, event, *, level: float = 0.95) -> KaplanMeier:
    from statsmodels.duration.survfunc import SurvfuncRight

    z = _check_level(level)
    sf = SurvfuncRight(np.asarray(time, dtype=float), np.asarray(event, dtype=float))
    s, se = np.asarray(sf.surv_prob), np.asarray(sf.surv_prob_se)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = np.where(s > 0, z * se / s, np.nan)
    table = pd.DataFrame({"time": sf.surv_times, "n_risk": sf.n_risk, "n_events": sf.n_events, "survival": s,
                          "se": se, "ci_low": s * np.exp(-half), "ci_high": np.minimum(1.0, s * np.exp(half))})
    return KaplanMeier(table)


def logrank(time, event, group, strata=None) -> tuple[float, float]:
    """Log-rank χ² (1 df) and P for two groups (stratified when ``strata`` is given)."""
    from statsmodels.duration.survfunc import survdiff

    chi2, p = survdiff(np.asarray(time, dtype=float), np.asarray(event, dtype=float), np.asarray(group),
                       strata=None if strata is None else np.asarray(strata))
    return float(chi2), float(p)


def cox_hazard_ratio(time, event, treat, strata=None, *, level: float = 0.95) -> Estimate:
    """Cox proportional hazards ratio of the treatment, stratified by ``strata`` (site), Efron ties."""
    from statsmodels.duration.hazard_regression import PHReg
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    z = _check_level(level)
    method = "Cox proportional hazards, Efron ties" + (", stratified by site" if strata is not None else "")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", RuntimeWarning)
        try:
            fit = PHReg(np.asarray(time, dtype=float), np.asarray(treat, dtype=float)[:, None],
                        status=np.asarray(event, dtype=float), strata=None if strata is None else np.asarray(strata),
                        ties="efron").fit()
            b, se = float(fit.params[0]), float(fit.bse[0])
        except (ConvergenceWarning, RuntimeWarning, np.linalg.LinAlgError, ValueError):
            # no deaths, or deaths in one group only, within the informative strata: the partial likelihood
            # has no finite maximum
            return ratio_estimate(math.nan, math.nan, z=z, level=level,
                                  method=method + ": no finite maximum (too few deaths in a group within sites)")
    return ratio_estimate(b, se, z=z, method=method, level=level)


@dataclass(frozen=True)
class StratifiedRankTest:
    """Stratified two-sample rank test: ``statistic`` (Σ scores of group 1), its permutation
    ``expected`` value and ``variance`` (conditional on ties, within strata), ``z`` and two-sided ``p_value``."""

    statistic: float
    expected: float
    variance: float
    z: float
    p_value: float
    method: str


RANK_SCORES = ("van_elteren", "stratum_ranks", "overall_ranks")


def van_elteren(y, group1, strata, *, scores: str = "van_elteren") -> StratifiedRankTest:
    """Van Elteren test (stratified Wilcoxon) of ``y`` between ``group1`` and the rest, within ``strata``.

    ``scores``: ``"van_elteren"`` ranks within each stratum (mid-ranks for ties) divided by nₛ + 1, so
    that each stratum weighs by its size (van Elteren 1960); ``"stratum_ranks"`` the same ranks unscaled;
    ``"overall_ranks"`` ranks over all strata together (R ``coin::wilcox_test(y ~ g | s)``). The
    statistic is the sum of group 1's scores, referred to its exact permutation mean and variance within
    strata (conditional on ties) with a normal approximation.
    """
    if scores not in RANK_SCORES:
        raise ValueError(_("scores must be one of %(items)s, got %(scores)s") % {
            "items": ', '.join(RANK_SCORES), "scores": decimal(scores, "r")})
    y = np.asarray(y, dtype=float)
    g = np.asarray(group1, dtype=bool)
    s = np.asarray(strata)
    if not (len(y) == len(g) == len(s)):
        raise ValueError(_("y, group1 and strata must have the same length"))
    if np.isnan(y).any():
        raise ValueError(_("y must not contain missing values"))
    overall = stats.rankdata(y)
    t = e = v = 0.0
    for level in pd.unique(s):
        m = s == level
        n = int(m.sum())
        n1 = int(g[m].sum())
        if n < 2 or n1 in (0, n):
            continue
        if scores == "overall_ranks":
            a = overall[m]
        else:
            a = stats.rankdata(y[m])
            if scores == "van_elteren":
                a = a / (n + 1)
        t += a[g[m]].sum()
        e += n1 * a.mean()
        v += n1 * (n - n1) / (n * (n - 1)) * ((a - a.mean()) ** 2).sum()
    if v <= 0:
        return StratifiedRankTest(t, e, v, math.nan, math.nan, "no informative stratum")
    z = (t - e) / math.sqrt(v)
    name = {"van_elteren": "van Elteren test stratified by site", "stratum_ranks": "stratified Wilcoxon test "
            "(ranks within strata)", "overall_ranks": "stratified Wilcoxon test (overall ranks)"}[scores]
    return StratifiedRankTest(t, e, v, z, 2 * stats.norm.sf(abs(z)), name + ", normal approximation")


def bootstrap_mean_difference(y1, y0, *, seed: int, resamples: int = 2000, level: float = 0.95) -> Estimate:
    """Difference in means (group 1 − group 0) with a percentile bootstrap CI, resampling within groups."""
    _check_level(level)
    if resamples < 100:
        raise ValueError(_("resamples must be ≥ 100, got %(resamples)s") % {"resamples": decimal(resamples, "")})
    y1, y0 = np.asarray(y1, dtype=float), np.asarray(y0, dtype=float)
    if len(y1) == 0 or len(y0) == 0:
        raise ValueError(_("each group needs at least one value"))
    rng = np.random.default_rng(seed)
    m1 = y1[rng.integers(0, len(y1), size=(resamples, len(y1)))].mean(axis=1)
    m0 = y0[rng.integers(0, len(y0), size=(resamples, len(y0)))].mean(axis=1)
    diff = m1 - m0
    lo, hi = np.quantile(diff, [(1 - level) / 2, (1 + level) / 2])
    return Estimate(float(y1.mean() - y0.mean()), float(lo), float(hi), math.nan,
                    f"difference in means, percentile bootstrap CI ({resamples} resamples within arms, seed {seed})",
                    se=float(diff.std(ddof=1)), level=level)


def rubin(estimates, variances, df_complete: float, *, level: float = 0.95) -> Estimate:
    """Pool M completed-data estimates with Rubin's rules; degrees of freedom of Barnard & Rubin (1999)."""
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    m = len(q)
    if m < 2 or len(u) != m:
        raise ValueError(_("rubin needs at least 2 estimates and one variance per estimate"))
    qbar, ubar, b = q.mean(), u.mean(), q.var(ddof=1)
    total = ubar + (1 + 1 / m) * b
    lam = (1 + 1 / m) * b / total
    df_old = math.inf if b == 0 else (m - 1) / lam ** 2
    df_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)
    df = 1 / (1 / df_old + 1 / df_obs)
    se = math.sqrt(total)
    tq = stats.t.ppf(0.5 + level / 2, df)
    p = 2 * stats.t.sf(abs(qbar) / se, df)
    riv = (1 + 1 / m) * b / ubar if ubar > 0 else math.inf
    fmi = (riv + 2 / (df + 3)) / (riv + 1)  # Rubin (1987) with the Barnard–Rubin df, as R mice's pool()
    return Estimate(float(qbar), float(qbar - tq * se), float(qbar + tq * se), float(p),
                    f"multiple imputation, {m} imputations, Rubin's rules (Barnard–Rubin df)", se=se, level=level,
                    details={"df": float(df), "between_variance": float(b), "within_variance": float(ubar),
                             "total_variance": float(total), "imputations": m,
                             "relative_increase_in_variance": float(riv), "lambda": float(lam),
                             "fraction_missing_information": float(fmi)})


def impute_normal(y, X, *, rng: np.random.Generator) -> np.ndarray:
    """One proper draw of the missing values of ``y`` from the Bayesian normal linear model on ``X``
    (σ² from its scaled inverse-χ² posterior, β from its normal posterior, then the residual)."""
    y = np.asarray(y, dtype=float)
    miss = np.isnan(y)
    Xo, yo = X[~miss], y[~miss]
    n, k = Xo.shape
    if n <= k:
        raise NotEstimable(f"too few observed outcomes ({n}) for the imputation model with {k} terms")
    xtx_inv = np.linalg.pinv(Xo.T @ Xo)
    beta = xtx_inv @ Xo.T @ yo
    resid = yo - Xo @ beta
    sigma2 = resid @ resid / rng.chisquare(n - k)
    beta_draw = rng.multivariate_normal(beta, sigma2 * xtx_inv, method="svd")
    out = y.copy()
    out[miss] = X[miss] @ beta_draw + rng.normal(0, math.sqrt(sigma2), miss.sum())
    return out


@dataclass(frozen=True)
class NormalPosterior:
    """The conjugate normal posterior of a difference θ (negative = benefit) from a normal prior
    N(``prior_mean``, ``prior_sd``²) and the normal likelihood of an estimate with its SE: ``mean``, ``sd``,
    the central ``level`` credible interval, P(θ < 0) (``p_benefit``), P(θ < −MCID) (``p_important_benefit``)
    and P(θ > 0) (``p_harm``)."""

    prior_mean: float
    prior_sd: float
    mean: float
    sd: float
    cri_low: float
    cri_high: float
    p_benefit: float
    p_important_benefit: float
    p_harm: float
    clinically_important_difference: float
    level: float = 0.95


def normal_posterior(estimate: float, se: float, prior_mean: float, prior_sd: float, *,
                     clinically_important_difference: float, level: float = 0.95) -> NormalPosterior:
    """Precision-weighted combination: 1/σ₁² = 1/τ² + 1/s², μ₁ = σ₁²(μ₀/τ² + θ̂/s²)."""
    z = _check_level(level)
    if not (math.isfinite(estimate) and math.isfinite(se) and se > 0):
        raise NotEstimable("the Bayesian re-analysis needs a finite primary estimate and SE")
    if not prior_sd > 0:
        raise ValueError(_("prior_sd must be > 0, got %(prior_sd)s") % {"prior_sd": decimal(prior_sd, "")})
    var = 1 / (1 / prior_sd ** 2 + 1 / se ** 2)
    mean = var * (prior_mean / prior_sd ** 2 + estimate / se ** 2)
    sd = math.sqrt(var)
    return NormalPosterior(prior_mean, prior_sd, mean, sd, mean - z * sd, mean + z * sd,
                           float(stats.norm.cdf(-mean / sd)),
                           float(stats.norm.cdf((-clinically_important_difference - mean) / sd)),
                           float(stats.norm.sf(-mean / sd)), clinically_important_difference, level)


@dataclass(frozen=True)
class WinRatio:
    """Win ratio of group 1 over group 0 from all n₁·n₀ pairs: ``wins``, ``losses``, ``ties``, ``ratio``
    (wins / losses), its CI and P from the U-statistic variance of log(P_win / P_loss), ``se_log``,
    ``win_probability`` (P_win + ½ P_tie) and the pairs decided on each tier (``decided_by``)."""

    wins: int
    losses: int
    ties: int
    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    se_log: float
    win_probability: float
    decided_by: dict
    level: float = 0.95


def win_matrices(died1, time1, score1, died0, time0, score0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pair (i in group 1, j in group 0): ``win``, ``loss`` and ``by_death`` (decided on the first tier).
    Tier 1: a death by the horizon loses to survival; of two deaths the later wins (equal times go on).
    Tier 2: the lower score (mean daily modified SOFA) wins; equal or missing scores tie."""
    d1, d0 = np.asarray(died1, bool)[:, None], np.asarray(died0, bool)[None, :]
    t1, t0 = np.asarray(time1, float)[:, None], np.asarray(time0, float)[None, :]
    s1, s0 = np.asarray(score1, float)[:, None], np.asarray(score0, float)[None, :]
    win1 = (~d1 & d0) | (d1 & d0 & (t1 > t0))
    loss1 = (d1 & ~d0) | (d1 & d0 & (t1 < t0))
    by_death = win1 | loss1
    second = ~by_death  # both alive, or two deaths at the same time
    with np.errstate(invalid="ignore"):
        win2, loss2 = second & (s1 < s0), second & (s1 > s0)
    return win1 | win2, loss1 | loss2, by_death


def win_ratio(died1, time1, score1, died0, time0, score0, *, level: float = 0.95) -> WinRatio:
    """Win ratio with the hierarchy of :func:`win_matrices`. Var(log WR) by the delta method from the
    two-sample U-statistic variances: Var(P_w) ≈ s²(row means)/n₁ + s²(column means)/n₀, likewise P_l and
    their covariance."""
    z = _check_level(level)
    win, loss, by_death = win_matrices(died1, time1, score1, died0, time0, score0)
    n1, n0 = win.shape
    if n1 < 2 or n0 < 2:
        raise NotEstimable(f"the win ratio needs at least 2 participants per group (got {n1} and {n0})")
    w, lo = win.astype(float), loss.astype(float)
    pw, pl = w.mean(), lo.mean()
    wins, losses = int(win.sum()), int(loss.sum())
    ties = n1 * n0 - wins - losses
    decided = {"death": int(by_death.sum()), "mean daily SOFA": int(((win | loss) & ~by_death).sum())}
    if wins == 0 or losses == 0:
        return WinRatio(wins, losses, ties, math.nan, math.nan, math.nan, math.nan, math.nan,
                        pw + 0.5 * (1 - pw - pl), decided, level)

    def cov(a, b):
        return (np.cov(a.mean(axis=1), b.mean(axis=1))[0, 1] / n1 + np.cov(a.mean(axis=0), b.mean(axis=0))[0, 1] / n0)

    var_log = cov(w, w) / pw ** 2 + cov(lo, lo) / pl ** 2 - 2 * cov(w, lo) / (pw * pl)
    ratio = pw / pl
    se = math.sqrt(var_log) if var_log > 0 else math.nan
    if not math.isfinite(se):
        return WinRatio(wins, losses, ties, ratio, math.nan, math.nan, math.nan, se, pw + 0.5 * (1 - pw - pl),
                        decided, level)
    b = math.log(ratio)
    return WinRatio(wins, losses, ties, ratio, math.exp(b - z * se), math.exp(b + z * se),
                    float(2 * stats.norm.sf(abs(b) / se)), se, pw + 0.5 * (1 - pw - pl), decided, level)
