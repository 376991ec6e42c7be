"""Sensitivity and supportive analyses published beside an ICU trial's primary result (docs/analysis.md):
death as the worst outcome (worst rank), the win ratio (death, then mean daily SOFA), the Bayesian
re-analysis with sceptical, neutral and enthusiastic priors, delta-adjusted multiple imputation with its
tipping point, and the multiplicity statement for the secondary outcomes. Settings in the protocol's
``[sensitivity]`` section; each analysis's estimand in ``[estimands]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from shine import protocol as protocol_module
from shine.analysis import methods
from shine.analysis.analyses import Derived, PrimaryResult, _population, derive_all, multiple_imputation_deltas
from shine.analysis.methods import NotEstimable

WORST_RANK_OFFSET = 21.0  # above the highest modified SOFA (20): every death ranks below every survivor


def _known_at_horizon(derived: Derived, population: str) -> pd.DataFrame:
    """The population's participants with a known vital status at the horizon (died by it, or followed to
    it)."""
    f = _population(derived, population)
    return f[f["died"] | f["followup_complete"]]


def worst_rank_scores(frame: pd.DataFrame, horizon: int) -> pd.Series:
    """Higher is worse: a death by the horizon scores WORST_RANK_OFFSET + (horizon − time of death), so an
    earlier death is worse and every death is worse than any survivor; a survivor scores their mean daily
    modified SOFA (NaN when missing)."""
    died = frame["died"].astype(bool).to_numpy()
    return pd.Series(np.where(died, WORST_RANK_OFFSET + (horizon - frame["time_days"].to_numpy(dtype=float)),
                              frame["mean_sofa"].to_numpy(dtype=float)), index=frame.index)


@dataclass(frozen=True)
class DeathAsWorst:
    """Worst-rank composite: participants analysed, deaths per group, the probability that a first-group
    participant does better (ties half) and the van Elteren test stratified by site."""

    n: dict
    deaths: dict
    probability_better: float
    z: float
    p_value: float
    method: str
    left_out: int


def death_as_worst(data, population: str = "per_protocol") -> DeathAsWorst:
    derived = derive_all(data)
    horizon = int(protocol_module.load().outcomes.primary_horizon_days)
    f = _known_at_horizon(derived, population)
    score = worst_rank_scores(f, horizon)
    keep = score.notna().to_numpy()
    left_out = int(len(_population(derived, population)) - keep.sum())
    f, score = f[keep], score[keep]
    g1, g0 = derived.groups
    treat = (f["treat"] == 1).to_numpy()
    if treat.sum() < 2 or (~treat).sum() < 2:
        raise NotEstimable("the worst-rank analysis needs at least 2 participants with a known day-90 status in "
                           "each group")
    s1, s0 = score.to_numpy()[treat], score.to_numpy()[~treat]
    better = (s1[:, None] < s0[None, :]).mean() + 0.5 * (s1[:, None] == s0[None, :]).mean()
    test = methods.van_elteren(score, treat, f["site"])
    return DeathAsWorst(n={g1: int(treat.sum()), g0: int((~treat).sum())},
                        deaths={g1: int(f.loc[treat, "died"].sum()), g0: int(f.loc[~treat, "died"].sum())},
                        probability_better=float(better), z=test.z, p_value=test.p_value,
                        method="worst-rank composite (death worst, earlier worse; survivors by mean daily "
                               f"modified SOFA); P: {test.method}", left_out=left_out)


def win_ratio(data, population: str = "per_protocol") -> tuple[methods.WinRatio, dict]:
    """The win ratio of the first group over the second (death to the horizon, then mean daily modified
    SOFA) and the participants per group it compares."""
    derived = derive_all(data)
    f = _known_at_horizon(derived, population)
    g1, g0 = derived.groups
    a, b = f[f["treat"] == 1], f[f["treat"] == 0]
    wr = methods.win_ratio(a["died"], a["time_days"], a["mean_sofa"], b["died"], b["time_days"], b["mean_sofa"])
    return wr, {g1: len(a), g0: len(b)}


def bayesian(primary: PrimaryResult) -> dict[str, methods.NormalPosterior]:
    """The primary estimate (normal likelihood: estimate and SE of the primary method) under each prior of
    the protocol."""
    sens = protocol_module.load().sensitivity
    est = primary.estimate
    if est is None:
        raise NotEstimable("the primary estimate is not available")
    return {name: methods.normal_posterior(est.estimate, est.se, mean, sd,
                                           clinically_important_difference=sens.clinically_important_difference)
            for name, (mean, sd) in sens.priors.items()}


@dataclass(frozen=True)
class TippingPoint:
    """Delta-adjusted multiple imputation: one pooled estimate per delta (``rows``: delta, estimate, CI, P)
    and ``tipping_delta``, the smallest delta whose P is at or above alpha when delta 0 is below it, or
    whose P is below alpha when delta 0 is not (None when no listed delta changes the conclusion)."""

    rows: list
    tipping_delta: float | None
    alpha: float
    missing: dict


def tipping_point(data, population: str = "per_protocol", *, seed: int, imputations: int = 20) -> TippingPoint:
    derived = derive_all(data)
    proto = protocol_module.load()
    f = _population(derived, population)
    missing = f["mean_sofa"].isna()
    if not missing.any():
        raise NotEstimable("no primary outcome is missing: nothing to impute")
    alpha = proto.statistics.alpha_two_sided
    deltas = proto.sensitivity.tipping_point_deltas
    pooled = multiple_imputation_deltas(f, seed=seed, imputations=imputations, deltas=deltas)
    rows = [{"delta": delta, "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high, "p_value": e.p_value}
            for delta, e in zip(deltas, pooled)]
    significant = [r["p_value"] < alpha for r in rows]
    base = significant[0] if rows and rows[0]["delta"] == 0 else None
    tipping = next((r["delta"] for r, s in zip(rows, significant) if base is not None and s != base), None)
    g1, g0 = derived.groups
    return TippingPoint(rows, tipping, alpha, {g1: int((missing & (f["treat"] == 1)).sum()),
                                               g0: int((missing & (f["treat"] == 0)).sum())})


def holm(p_values: dict[str, float]) -> dict[str, float]:
    """Holm step-down adjusted P-values (NaN P-values are left out and stay NaN)."""
    items = sorted(((p, k) for k, p in p_values.items() if p is not None and not math.isnan(p)))
    m = len(items)
    out, running = {k: math.nan for k in p_values}, 0.0
    for i, (p, k) in enumerate(items):
        running = max(running, min(1.0, (m - i) * p))
        out[k] = running
    return out


def multiplicity_statement(rule: str) -> str:
    if rule == "exploratory":
        return ("Secondary outcomes are exploratory: their P-values are not adjusted for multiplicity and do not "
                "support claims on their own.")
    return "Secondary outcomes: Holm-adjusted P-values (step-down, familywise error at alpha) are given beside each."
