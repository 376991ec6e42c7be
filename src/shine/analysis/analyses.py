"""The analyses of the statistical analysis plan (docs/analysis.md).

Every function takes the validated :class:`~shine.analysis.dataset.Dataset` (or its :class:`Derived`
outcomes, to derive once and analyse many times) and a population, and compares the contrast's first
group with its second: iloprost − placebo (or iloprost / placebo) unblinded, A − B blinded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shine import protocol as protocol_module
from shine.analysis import derive, methods
from shine.analysis.dataset import DAY, Dataset
from shine.analysis.methods import Estimate, NotEstimable
from shine.analysis.populations import SAFETY, check_population, population_flags
from shine.analysis.schema import SOFA_COMPONENTS
from shine.i18n import _, decimal

BASELINE = "baseline_sofa_modified"
BASELINE_MISSING = "baseline_sofa_missing"  # the indicator covariate of the "missing_indicator" rule
DEFAULT_SEED = 20240901  # bootstrap and multiple imputation; fixed so that re-runs agree
IMPUTATIONS = 20
BOOTSTRAP_RESAMPLES = 2000


@dataclass(frozen=True)
class Derived:
    """Every participant-level outcome of a data set, derived once.

    ``frame``: one row per participant: ``participant_id``, ``site``, ``group``, ``treat`` (1 for the
    contrast's first group), baseline covariates, population flags, ``mean_sofa``, ICU day counts,
    ``time_days``/``died`` (survival to the horizon), ``mortality_<d>`` (1/0/NaN), days free of each support,
    SAE counts. ``sofa``: the primary outcome's day-level record. ``groups``: the two group labels.
    """

    data: Dataset
    frame: pd.DataFrame
    sofa: derive.MeanDailySofa
    groups: tuple[str, str]


def derive_all(data: Dataset | Derived) -> Derived:
    if isinstance(data, Derived):
        return data
    proto = protocol_module.load()
    groups = data.groups
    p = data["participants"].copy()
    frame = p[["participant_id", "site", "arm", "age", "sex", "weight_kg", "baseline_sofa_modified",
               "lactate_mmol_l"]].rename(columns={"arm": "group"})
    frame["treat"] = (frame["group"] == groups[0]).astype(int)
    frame["female"] = (frame["sex"] == "F").astype(int)
    frame[BASELINE] = frame[BASELINE].astype(float)  # NaN: no baseline record or a component missing
    frame["baseline_imputed"] = frame[BASELINE].isna()
    frame["age"] = frame["age"].astype(float)
    frame = frame.merge(population_flags(data), on="participant_id")
    sofa = derive.mean_daily_sofa(data)
    frame = frame.merge(sofa.per_participant, on="participant_id")
    status = derive.vital_status(data)
    frame = frame.merge(status.frame.rename(columns={"complete": "followup_complete"}), on="participant_id")
    for d in proto.outcomes.mortality_days:
        frame[f"mortality_{d}"] = frame["participant_id"].map(status.mortality(d))
    frame = frame.merge(derive.days_without_support(data), on="participant_id")
    frame = frame.merge(derive.adverse_events_in_window(data), on="participant_id")
    stays = data["icu_stays"]
    in_icu = stays.loc[stays["discharge"] == "in_icu", "participant_id"]
    frame["in_icu_at_cutoff"] = frame["participant_id"].isin(in_icu)
    return Derived(data=data, frame=frame, sofa=sofa, groups=groups)


def _population(derived: Derived, population: str) -> pd.DataFrame:
    """The population's rows, a missing baseline modified SOFA filled by :func:`fill_baseline`."""
    return fill_baseline(derived.frame[derived.frame[check_population(population)]])


def fill_baseline(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a missing baseline modified SOFA (``baseline_imputed``) replaced by the mean of the
    observed baselines of these participants over both groups (protocol ``missing_data.baseline_covariate``;
    the "missing_indicator" rule adds its indicator in :func:`baseline_covariates`). Left missing when no
    baseline is observed: an adjusted analysis is then not estimable."""
    imputed = frame["baseline_imputed"].to_numpy(dtype=bool)
    if not imputed.any() or imputed.all():
        return frame
    return frame.assign(**{BASELINE: np.where(imputed, frame.loc[~imputed, BASELINE].mean(), frame[BASELINE])})


def baseline_covariates(frame: pd.DataFrame) -> dict:
    """The baseline covariates of every ANCOVA: the (filled) baseline modified SOFA and, under the
    "missing_indicator" rule when one of these participants has it imputed, the missing-baseline indicator."""
    values = frame[BASELINE].to_numpy(dtype=float)
    if np.isnan(values).any():
        raise NotEstimable("no participant of the population has a baseline modified SOFA to adjust for")
    out = {BASELINE: values}
    imputed = frame["baseline_imputed"].to_numpy(dtype=float)
    if protocol_module.load().missing_data.baseline_covariate == "missing_indicator" and imputed.any():
        out[BASELINE_MISSING] = imputed
    return out


@dataclass(frozen=True)
class BaselineImputation:
    """How many participants of an analysed population had the baseline modified SOFA imputed, by which rule
    (``missing_data.baseline_covariate``), and the mean of the observed baselines put in its place."""

    rule: str
    imputed: dict  # per group
    observed_mean: float | None

    @property
    def total(self) -> int:
        return int(sum(self.imputed.values()))

    def describe(self) -> str:
        if not self.total:
            return "baseline modified SOFA observed for every participant"
        how = ("replaced by the mean of the observed baselines over both groups"
               if self.rule == "mean" else
               "replaced by the mean of the observed baselines over both groups, with a missing-baseline indicator "
               "as a further covariate")
        return (f"baseline modified SOFA missing for {self.total} participant{'s' if self.total != 1 else ''}: "
                f"{how} ({self.observed_mean:.2f}; rule {self.rule!r})")


def baseline_imputation(frame: pd.DataFrame, groups) -> BaselineImputation:
    """:class:`BaselineImputation` of a filled population frame (:func:`_population`)."""
    imputed = frame["baseline_imputed"].astype(bool)
    observed = frame.loc[~imputed, BASELINE]
    return BaselineImputation(protocol_module.load().missing_data.baseline_covariate,
                              {g: int((imputed & (frame["group"] == g)).sum()) for g in groups},
                              float(observed.mean()) if len(observed) else None)


def _per_group(frame: pd.DataFrame, groups, fn) -> dict:
    return {g: fn(frame[frame["group"] == g]) for g in groups}


# ---------------------------------------------------------------------------------------------- primary


@dataclass(frozen=True)
class PrimaryResult:
    """Mean daily modified SOFA, first group − second group, adjusted for site and baseline SOFA.

    ``difference``, ``ci_low``, ``ci_high``, ``p_value`` and ``method`` are those of the primary
    estimate: complete-case linear regression when at most ``outcomes.complete_case_max_missing_fraction``
    of outcomes are missing, else multiple imputation. ``n_per_arm``: participants in the population per
    group; ``n_observed_per_arm``: those with the outcome. ``complete_case`` is always given;
    ``sensitivity`` holds the best-worst and worst-best analyses (and, when multiple imputation is primary,
    nothing else is needed to reproduce it than ``seed``).
    """

    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    n_per_arm: dict
    method: str
    population: str
    groups: tuple[str, str]
    means: dict
    sds: dict
    n_observed_per_arm: dict
    missing_fraction: float
    complete_case: Estimate
    sensitivity: dict = field(default_factory=dict)
    seed: int = DEFAULT_SEED
    estimate: Estimate | None = None  # the primary estimate itself (SE, df; pooling details when imputed)
    baseline: BaselineImputation | None = None  # participants whose baseline covariate was imputed

    def summary(self) -> str:
        g1, g0 = self.groups
        lines = [f"Mean daily modified SOFA ({self.population}): {g1} {self.means[g1]:.2f} (n {self.n_per_arm[g1]}), "
                 f"{g0} {self.means[g0]:.2f} (n {self.n_per_arm[g0]})",
                 f"difference {g1} − {g0} {self.difference:.2f} (95 % CI {self.ci_low:.2f} to {self.ci_high:.2f}), "
                 f"P = {self.p_value:.3g}; {self.method}",
                 f"outcome missing for {self.missing_fraction:.1%}"]
        if self.baseline is not None:
            lines.append(self.baseline.describe())
        lines += [f"sensitivity, {name}: {est.summary()}" for name, est in self.sensitivity.items()]
        return "\n".join(lines)


def primary_analysis(data: Dataset | Derived, population: str = "per_protocol", *, seed: int = DEFAULT_SEED,
                     imputations: int = IMPUTATIONS) -> PrimaryResult:
    """Linear regression of mean daily modified SOFA on group, site and baseline modified SOFA."""
    if imputations < 2:
        raise ValueError(_("imputations must be ≥ 2, got %(imputations)s") % {
            "imputations": decimal(imputations, "")})
    proto = protocol_module.load()
    derived = derive_all(data)
    f = _population(derived, population)
    groups = derived.groups
    if f["treat"].nunique() < 2:
        raise NotEstimable(f"the {population} population needs participants in both groups")
    y = f["mean_sofa"].to_numpy(dtype=float)
    missing = np.isnan(y)
    observed = f[~missing]
    covariates = baseline_covariates
    cc = methods.linear_regression(observed["mean_sofa"], observed["treat"], observed["site"], covariates(observed))
    cc = _replace_method(cc, "complete-case " + cc.method)
    fraction = float(missing.mean()) if len(y) else 0.0
    sensitivity = {}
    primary = cc
    if missing.any():
        best, worst = float(np.nanmin(y)), float(np.nanmax(y))  # lower SOFA is better
        treat = f["treat"].to_numpy() == 1
        for name, (v1, v0) in {"best-worst": (best, worst), "worst-best": (worst, best)}.items():
            filled = np.where(missing & treat, v1, np.where(missing & ~treat, v0, y))
            est = methods.linear_regression(filled, f["treat"], f["site"], covariates(f))
            sensitivity[name] = _replace_method(
                est, f"{name} single imputation (missing {groups[0]} = {'best' if v1 == best else 'worst'}, "
                     f"{groups[1]} = {'worst' if v1 == best else 'best'} observed value), " + est.method)
        if fraction > proto.outcomes.complete_case_max_missing_fraction:
            primary = multiple_imputation(f, seed=seed, imputations=imputations)
            sensitivity["complete-case"] = cc
    baseline = baseline_imputation(f, groups)
    if baseline.total:  # every estimate says that its covariate was imputed for some
        note = "; " + baseline.describe()
        cc, primary = _replace_method(cc, cc.method + note), _replace_method(primary, primary.method + note)
        sensitivity = {k: _replace_method(v, v.method + note) for k, v in sensitivity.items()}
    return PrimaryResult(
        difference=primary.estimate, ci_low=primary.ci_low, ci_high=primary.ci_high, p_value=primary.p_value,
        n_per_arm=_per_group(f, groups, len), method=primary.method, population=population, groups=groups,
        means=_per_group(f, groups, lambda g: float(g["mean_sofa"].mean())),
        sds=_per_group(f, groups, lambda g: float(g["mean_sofa"].std(ddof=1))),
        n_observed_per_arm=_per_group(observed, groups, len), missing_fraction=fraction, complete_case=cc,
        sensitivity=sensitivity, seed=seed, estimate=primary, baseline=baseline)


def _replace_method(est: Estimate, method: str) -> Estimate:
    from dataclasses import replace

    return replace(est, method=method)


AUXILIARY = ("age", "female", "icu_days", "died")


def multiple_imputation(frame: pd.DataFrame, *, seed: int, imputations: int = IMPUTATIONS,
                        delta: float = 0.0) -> Estimate:
    """Impute missing ``mean_sofa`` from group, site, baseline SOFA and auxiliary variables (age, sex, ICU
    days, death within the horizon) by proper Bayesian normal-regression draws, fit the primary model to
    each completed data set and pool with Rubin's rules. Seeded: the same data and seed give the same
    result. ``delta`` (missing not at random): added to every imputed value of the first group (worse when
    positive); the draws are those of ``delta = 0``, so only the shift differs."""
    return multiple_imputation_deltas(frame, seed=seed, imputations=imputations, deltas=(delta,))[0]


def multiple_imputation_deltas(frame: pd.DataFrame, *, seed: int, imputations: int = IMPUTATIONS,
                               deltas=(0.0,)) -> list[Estimate]:
    """:func:`multiple_imputation` for several deltas from one set of draws (the tipping-point analysis)."""
    rng = np.random.default_rng(seed)
    baseline = baseline_covariates(frame)
    aux = {**baseline, **{name: frame[name].to_numpy(dtype=float) for name in AUXILIARY}}
    X, _names = methods.design_matrix(frame["treat"], frame["site"], aux)
    y = frame["mean_sofa"].to_numpy(dtype=float)
    completed = np.column_stack([methods.impute_normal(y, X, rng=rng) for _ in range(imputations)])
    analysis, _names = methods.design_matrix(frame["treat"], frame["site"], baseline)
    shift = (np.isnan(y) & (frame["treat"].to_numpy() == 1)).astype(float)[:, None]
    out = []
    for delta in deltas:
        estimates, ses, df_complete = methods.treatment_coefficients(completed + delta * shift, analysis)
        pooled = methods.rubin(estimates, ses ** 2, df_complete)
        shifted = f", first group's imputed values + {delta:g} (delta-adjusted)" if delta else ""
        out.append(_replace_method(pooled, pooled.method + shifted + f", seed {seed}; imputation model: group, "
                                   "site, baseline SOFA, " + ", ".join(AUXILIARY) + "; analysis: linear regression "
                                   "adjusted for site, baseline SOFA"))
    return out


# -------------------------------------------------------------------------------------------- mortality


@dataclass(frozen=True)
class MortalityResult:
    """Mortality at ``day``: deaths and known-status participants per group, adjusted and crude risk
    ratios, the risk difference, and the number left out (``unknown``: status unknown at ``day``, or not yet
    due), of whom ``not_yet_due`` were randomised less than ``day`` days before the data cut-off (left out
    whatever their status, so that an early cut-off does not count its early deaths only)."""

    day: int
    groups: tuple[str, str]
    deaths: dict
    n: dict
    unknown: dict
    adjusted_rr: Estimate
    crude_rr: Estimate
    risk_difference: Estimate
    not_yet_due: dict = field(default_factory=dict)  # randomised less than `day` days before the cut-off

    def summary(self) -> str:
        g1, g0 = self.groups
        return (f"{self.day}-day mortality: {g1} {self.deaths[g1]}/{self.n[g1]}, {g0} {self.deaths[g0]}/{self.n[g0]}; "
                f"RR {self.adjusted_rr.summary()}; crude RR {self.crude_rr.summary()}")


def mortality_analysis(data: Dataset | Derived, day: int, population: str = "per_protocol") -> MortalityResult:
    derived = derive_all(data)
    f = _population(derived, population)
    column = f"mortality_{day}"
    if column not in f:
        raise ValueError(_("day must be one of the protocol's mortality days (%(items)s), got %(day)s") % {
            "items": ', '.join(str(d) for d in protocol_module.load().outcomes.mortality_days),
            "day": decimal(day, "")})
    g1, g0 = groups = derived.groups
    # participants randomised less than `day` days before the data cut-off are not yet due: leaving out only
    # their survivors (status unknown) would keep their early deaths and overstate mortality
    cutoff = derived.data.data_cutoff
    randomised = f["participant_id"].map(derived.data["participants"].set_index("participant_id")["randomised_at"])
    due = (randomised + day * DAY <= cutoff).to_numpy() if cutoff is not None else np.ones(len(f), bool)
    not_due = _per_group(f[~due], groups, len)
    known = f[due & f[column].notna().to_numpy()]
    deaths = _per_group(known, groups, lambda g: int(g[column].sum()))
    n = _per_group(known, groups, len)
    unknown = _per_group(f[~(due & f[column].notna().to_numpy())], groups, len)
    if min(n.values()) == 0:
        raise NotEstimable(f"{day}-day mortality needs participants with known status at day {day} in both groups"
                           f" ({', '.join(f'{g}: {k}' for g, k in n.items())}; randomised less than {day} days "
                           f"before the data cut-off: {sum(not_due.values())})")
    return MortalityResult(
        day=day, groups=groups, deaths=deaths, n=n, unknown=unknown, not_yet_due=not_due,
        adjusted_rr=methods.adjusted_risk_ratio(known[column], known["treat"], known["site"]),
        crude_rr=methods.crude_risk_ratio(deaths[g1], n[g1], deaths[g0], n[g0]),
        risk_difference=methods.risk_difference(deaths[g1], n[g1], deaths[g0], n[g0]))


@dataclass(frozen=True)
class SurvivalResult:
    """Survival to the horizon: Kaplan–Meier per group, log-rank test, Cox hazard ratio stratified by site."""

    groups: tuple[str, str]
    horizon: int
    kaplan_meier: dict
    logrank_chi2: float
    logrank_p: float
    hazard_ratio: Estimate

    def summary(self) -> str:
        return (f"survival to day {self.horizon}: log-rank χ² {self.logrank_chi2:.2f}, P = {self.logrank_p:.3g}; "
                f"HR {self.hazard_ratio.summary()}")


def survival_analysis(data: Dataset | Derived, population: str = "per_protocol") -> SurvivalResult:
    derived = derive_all(data)
    f = _population(derived, population)
    groups = derived.groups
    if any((f["group"] == g).sum() == 0 for g in groups):
        raise NotEstimable(f"the {population} population needs participants in both groups")
    km = {g: methods.kaplan_meier(f.loc[f["group"] == g, "time_days"], f.loc[f["group"] == g, "died"])
          for g in groups}
    chi2, p = methods.logrank(f["time_days"], f["died"], f["treat"])
    hr = methods.cox_hazard_ratio(f["time_days"], f["died"], f["treat"], f["site"])
    return SurvivalResult(groups, derive._horizon(protocol_module.load()), km, chi2, p, hr)


# ------------------------------------------------------------------------------------------ organ support


@dataclass(frozen=True)
class SupportResult:
    """Days alive and free of one support within the horizon: mean, SD, median and quartiles per group,
    difference in means with a seeded bootstrap CI and the van Elteren P stratified by site."""

    support: str
    groups: tuple[str, str]
    n: dict
    mean: dict
    sd: dict
    median: dict
    q1: dict
    q3: dict
    difference: Estimate
    van_elteren_p: float
    van_elteren_z: float
    excluded_incomplete: int
    van_elteren_method: str = "van Elteren test stratified by site, normal approximation"

    def summary(self) -> str:
        g1, g0 = self.groups
        return (f"days alive without {self.support}: {g1} mean {self.mean[g1]:.1f} (median {self.median[g1]:.0f}), "
                f"{g0} mean {self.mean[g0]:.1f} (median {self.median[g0]:.0f}); "
                f"difference {self.difference.summary()}; "
                f"van Elteren P = {self.van_elteren_p:.3g}")


def support_analysis(data: Dataset | Derived, support: str, population: str = "per_protocol", *,
                     seed: int = DEFAULT_SEED, resamples: int = BOOTSTRAP_RESAMPLES) -> SupportResult:
    if support not in derive.SUPPORTS:
        raise ValueError(_("support must be one of %(items)s, got %(support)s") % {
            "items": ', '.join(derive.SUPPORTS), "support": decimal(support, "r")})
    derived = derive_all(data)
    f = _population(derived, population)
    column = f"{support}_free_days"
    known = f[f[column].notna()]
    g1, g0 = groups = derived.groups
    y = {g: known.loc[known["group"] == g, column].to_numpy(dtype=float) for g in groups}
    if min(len(v) for v in y.values()) == 0:
        raise NotEstimable(f"days without {support} need participants with complete follow-up in both groups")
    test = methods.van_elteren(known[column], known["treat"] == 1, known["site"])
    return SupportResult(
        support=support, groups=groups, n={g: len(v) for g, v in y.items()},
        mean={g: float(v.mean()) for g, v in y.items()},
        sd={g: float(v.std(ddof=1)) if len(v) > 1 else math.nan for g, v in y.items()},
        median={g: float(np.median(v)) for g, v in y.items()},
        q1={g: float(np.quantile(v, 0.25)) for g, v in y.items()},
        q3={g: float(np.quantile(v, 0.75)) for g, v in y.items()},
        difference=methods.bootstrap_mean_difference(y[g1], y[g0], seed=seed, resamples=resamples),
        van_elteren_p=test.p_value, van_elteren_z=test.z, excluded_incomplete=int(len(f) - len(known)),
        van_elteren_method=test.method)


# ----------------------------------------------------------------------------------------------- safety


@dataclass(frozen=True)
class SafetyResult:
    """Serious events within the SAE window for one kind (``sae``, ``sar``, ``susar``, ``prespecified_sae``):
    event counts and participants with ≥ 1 per group, the crude risk ratio of having ≥ 1 and its test, and
    the rate ratio of the event counts. ``unknown``: participants left out because whether they had the
    event is not known yet (a SAR awaiting the sponsor's expectedness, for ``susar``)."""

    kind: str
    window_days: int
    groups: tuple[str, str]
    events: dict
    participants_with_event: dict
    n: dict
    risk_ratio: Estimate
    p_value: float
    test: str
    rate_ratio: Estimate
    unknown: dict

    def summary(self) -> str:
        g1, g0 = self.groups
        return (f"{self.kind} within {self.window_days} days: {g1} {self.participants_with_event[g1]}/{self.n[g1]} "
                f"({self.events[g1]} events), {g0} {self.participants_with_event[g0]}/{self.n[g0]} "
                f"({self.events[g0]} events); RR {self.risk_ratio.summary()}; {self.test} P = {self.p_value:.3g}")


SAFETY_KINDS = derive.SAFETY_COUNTS
NO_SAFETY_DATA = ("no safety data were captured: the data set has no adverse_events table, so safety outcomes "
                  "are not reported (they are unknown, not zero)")


def safety_analysis(data: Dataset | Derived, kind: str = "sae", population: str = SAFETY) -> SafetyResult:
    """Safety in the safety population (received any infusion, as treated) unless ``population`` says
    otherwise. Refuses (NotEstimable) a data set that captured no safety data."""
    if kind not in SAFETY_KINDS:
        raise ValueError(_("kind must be one of %(items)s, got %(kind)s") % {
            "items": ', '.join(SAFETY_KINDS), "kind": decimal(kind, "r")})
    derived = derive_all(data)
    if not derived.data.has("adverse_events"):
        raise NotEstimable(NO_SAFETY_DATA)
    everyone = _population(derived, population)
    g1, g0 = groups = derived.groups
    known_mask = everyone[f"any_{kind}"].notna().to_numpy(dtype=bool)
    f = everyone[known_mask]
    unknown = _per_group(everyone[~known_mask], groups, len)
    events = _per_group(f, groups, lambda g: int(g[kind].sum()))
    with_event = _per_group(f, groups, lambda g: int(g[f"any_{kind}"].astype(bool).sum()))
    n = _per_group(f, groups, len)
    if min(n.values()) == 0:
        raise NotEstimable(f"the {population} population needs participants in both groups")
    rr = methods.crude_risk_ratio(with_event[g1], n[g1], with_event[g0], n[g0])
    p, test = methods.two_by_two_test(with_event[g1], n[g1], with_event[g0], n[g0])
    rate = methods.rate_ratio(events[g1], n[g1], events[g0], n[g0])
    return SafetyResult(kind, int(protocol_module.load().schedule.sae_window_days), groups, events, with_event, n,
                        rr, p, test, rate, unknown)


# ------------------------------------------------------------------------------------------------ tables


def _median_iqr(x: pd.Series) -> str:
    x = x.dropna().astype(float)
    if x.empty:
        return "–"
    q1, q2, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    return f"{q2:.1f} ({q1:.1f}–{q3:.1f})"


def _count(mask: pd.Series) -> str:
    n = len(mask)
    k = int(mask.sum())
    return f"{k} ({100 * k / n:.0f} %)" if n else "0"


def table1(data: Dataset | Derived, population: str = "per_protocol") -> pd.DataFrame:
    """Baseline characteristics by group (no P-values): ``characteristic`` and one column per group
    plus ``all``; medians with interquartile ranges, counts with percentages."""
    derived = derive_all(data)
    f = _population(derived, population)
    p = derived.data["participants"].set_index("participant_id").loc[f["participant_id"]]
    p = p.assign(group=f["group"].to_numpy())
    cols = {g: p[p["group"] == g] for g in derived.groups}
    cols["all"] = p
    rows = [("participants", {k: str(len(v)) for k, v in cols.items()})]
    rows.append(("age, years, median (IQR)", {k: _median_iqr(v["age"]) for k, v in cols.items()}))
    rows.append(("female, n (%)", {k: _count(v["sex"] == "F") for k, v in cols.items()}))
    rows.append(("weight, kg, median (IQR)", {k: _median_iqr(v["weight_kg"]) for k, v in cols.items()}))
    rows.append(("weight estimated, n (%)", {k: _count(v["weight_estimated"].astype(bool)) for k, v in cols.items()}))
    rows.append(("lactate, mmol/L, median (IQR)", {k: _median_iqr(v["lactate_mmol_l"]) for k, v in cols.items()}))
    rows.append(("sTM, ng/mL, median (IQR)", {k: _median_iqr(v["stm_ng_ml"]) for k, v in cols.items()}))
    rows.append(("baseline modified SOFA, median (IQR)",
                 {k: _median_iqr(v["baseline_sofa_modified"]) for k, v in cols.items()}))
    rows.append(("baseline modified SOFA missing, n (%)",
                 {k: _count(v["baseline_sofa_modified"].isna()) for k, v in cols.items()}))
    for comp in SOFA_COMPONENTS:
        rows.append((f"baseline SOFA {comp}, median (IQR)",
                     {k: _median_iqr(v[f"baseline_sofa_{comp}"]) for k, v in cols.items()}))
    for source in sorted(p["site_of_infection"].unique()):
        rows.append((f"site of infection: {source}, n (%)",
                     {k: _count(v["site_of_infection"] == source) for k, v in cols.items()}))
    for site in protocol_module.load().site_codes:
        rows.append((f"site {site}, n (%)", {k: _count(v["site"] == site) for k, v in cols.items()}))
    return pd.DataFrame([{"characteristic": name, **values} for name, values in rows])


def consort(data: Dataset | Derived) -> pd.DataFrame:
    """CONSORT-style counts: the screening log (when given), then per group randomised, without consent
    to use data, intention-to-treat, excluded from per-protocol by reason, per-protocol, and with the
    primary outcome. Columns ``stage``, ``group`` (``all`` for screening), ``count``."""
    derived = derive_all(data)
    rows = []
    if derived.data.has("screening"):
        s = derived.data["screening"]
        rows.append(("screened", "all", len(s)))
        for outcome in ("not_eligible", "not_assessable", "eligible_not_randomised", "randomised"):
            rows.append((outcome.replace("_", " "), "all", int((s["outcome"] == outcome).sum())))
        reasons = s.loc[s["outcome"] == "not_eligible", "reasons"].str.split(";").explode().str.strip()
        for reason, count in sorted(reasons[reasons != ""].value_counts().items()):
            rows.append((f"not eligible: {reason}", "all", int(count)))
    f = derived.frame
    for g in derived.groups:
        x = f[f["group"] == g]
        rows += [("randomised", g, len(x)),
                 ("no consent to use data", g, int((~x["data_use_consent"]).sum())),
                 ("intention-to-treat", g, int(x["itt"].sum()))]
        for reason in ("dose below threshold", "major deviation", "dose below threshold; major deviation"):
            rows.append((f"excluded from per-protocol: {reason}", g, int((x["excluded_because"] == reason).sum())))
        rows += [("per-protocol", g, int(x["per_protocol"].sum())),
                 ("safety population (received any infusion)", g, int(x["safety"].sum())),
                 ("primary outcome available (intention-to-treat)", g, int((x["itt"] & x["mean_sofa"].notna()).sum())),
                 ("primary outcome available (per-protocol)", g,
                  int((x["per_protocol"] & x["mean_sofa"].notna()).sum()))]
    return pd.DataFrame(rows, columns=["stage", "group", "count"])


def data_quality(data: Dataset | Derived, population: str = "per_protocol") -> pd.DataFrame:
    """Counts behind the derivations: ICU days observed, carried forward and left missing, gaps longer
    than the carry-forward limit, unknown support flags, incomplete follow-up. Columns ``item``, ``count``."""
    derived = derive_all(data)
    f = _population(derived, population)
    ids = set(f["participant_id"])
    gaps = derived.sofa.gaps[derived.sofa.gaps["participant_id"].isin(ids)]
    rows = [
        ("participants in population", len(f)),
        ("ICU days (randomisation to discharge, death or horizon)", int(f["icu_days"].sum())),
        ("ICU days with an observed score", int(f["observed_days"].sum())),
        (f"ICU days carried forward (≤ {derived.sofa.max_carried} in a row)", int(f["carried_days"].sum())),
        ("ICU days left missing", int(f["missing_days"].sum())),
        ("gaps left (partly) missing", len(gaps)),
        (f"gaps longer than {derived.sofa.max_carried} days", int((gaps["length"] > derived.sofa.max_carried).sum())),
        ("gaps at the start of a stay", int((gaps["carried"] == 0).sum()) if len(gaps) else 0),
        ("participants without the primary outcome", int(f["mean_sofa"].isna().sum())),
        (f"participants without a baseline modified SOFA (covariate imputed, rule "
         f"'{protocol_module.load().missing_data.baseline_covariate}')", int(f["baseline_imputed"].sum())),
        ("participants still in the ICU at the data cut-off (primary outcome provisional)",
         int(f["in_icu_at_cutoff"].sum())),
        ("participants with follow-up shorter than the horizon (alive)", int((~f["followup_complete"]).sum())),
    ]
    for s in derive.SUPPORTS:
        rows.append((f"ICU days without a {s} flag (counted as on support)", int(f[f"{s}_unknown_days"].sum())))
    return pd.DataFrame(rows, columns=["item", "count"])


def daily_sofa_by_day(data: Dataset | Derived, population: str = "per_protocol") -> pd.DataFrame:
    """Mean, SD and count of the daily modified SOFA (observed or carried) by group and study day."""
    derived = derive_all(data)
    f = _population(derived, population)
    days = derived.sofa.days.merge(f[["participant_id", "group"]], on="participant_id")
    days = days[days["score"].notna()]
    out = days.groupby(["group", "study_day"])["score"].agg(["mean", "std", "count"]).reset_index()
    return out.sort_values(["group", "study_day"], kind="mergesort").reset_index(drop=True)
