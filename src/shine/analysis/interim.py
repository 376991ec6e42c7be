"""The futility interim on trial data: progress and forecast, the interim statistics, and the open and
closed DSMB reports (docs/interim.md). Pure: no Django.

* :func:`forecast_interim` — when the interim's number of day-90 completions will be reached, by simulation
  from each site's observed recruitment rate and the day-90 lag.
* :func:`interim_statistics` — observed z, information fraction, conditional power under the design
  effect and under the trend, predictive probability, the protocol's futility rule and its operating
  characteristics (from :mod:`shine.design`).
* :func:`run` — the primary analysis (ANCOVA, :func:`shine.analysis.analyses.primary_analysis`) on the
  participants with complete day-90 follow-up of an A/B-coded data set, and every table of both reports.
* :func:`write` — ``open/`` (pooled; no arm anywhere) and ``closed/`` (by A/B; the A/B key in its own file),
  each with ``results.json``, ``report.html`` and a ``manifest.json`` of SHA-256 hashes. Same input, same
  bytes.

Direction: the primary outcome is lower-is-better, so z = −(active − control) / SE and z > 0 favours the
experimental arm, the convention of :mod:`shine.design`.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from shine import design
from shine import protocol as protocol_module
from shine.analysis import analyses, derive
from shine.analysis.dataset import BLINDED_ARM_CODES, Dataset
from shine.analysis.report import clean, dumps
from shine.i18n import _, decimal

DAY = pd.Timedelta(days=1)
FORECAST_SIMULATIONS = 4000
FORECAST_SEED = 20240901
DEFAULT_PRIOR_SD = 1.0  # prior SD of the drift, in units of the design drift
POPULATION = "itt"


# ------------------------------------------------------------------------------------------ progress


def day90_complete(data: Dataset) -> pd.Series:
    """Per participant (index ``participant_id``): True when the day-90 outcome is known — a day-90 visit
    with vital status alive or dead, or a death within 90 days of randomisation."""
    horizon = protocol_module.load().outcomes.primary_horizon_days
    p = data["participants"].set_index("participant_id")
    fu = data["followup"]
    visited = set(fu.loc[(fu["visit_day"] == horizon) & fu["vital_status"].isin(["alive", "dead"]),
                         "participant_id"])
    deaths = data["deaths"].set_index("participant_id")["died_at"]
    died = deaths.reindex(p.index)
    early = died.notna() & (died <= p["randomised_at"] + horizon * DAY)
    return pd.Series(p.index.isin(visited) | early.to_numpy(), index=p.index, name="day90_complete")


@dataclass(frozen=True)
class Forecast:
    """When the ``target``-th day-90 completion is expected: ``median``, ``low`` and ``high`` (2.5 % and
    97.5 % of the simulated dates; None when no recruitment has been seen), ``reached`` when it already is.
    ``rates``: site → observed randomisations per day; ``pending``: randomised, day 90 still to come."""

    target: int
    complete: int
    pending: int
    reached: bool
    median: pd.Timestamp | None
    low: pd.Timestamp | None
    high: pd.Timestamp | None
    rates: dict
    simulations: int
    seed: int
    method: str

    def as_dict(self) -> dict:
        t = lambda x: None if x is None else x.strftime("%Y-%m-%d")  # noqa: E731
        return {"target": self.target, "complete": self.complete, "pending": self.pending, "reached": self.reached,
                "median": t(self.median), "low": t(self.low), "high": t(self.high),
                "rates_per_day": {k: round(v, 6) for k, v in self.rates.items()}, "simulations": self.simulations,
                "seed": self.seed, "method": self.method}


def forecast_interim(randomised: pd.DataFrame, *, now: pd.Timestamp, target: int, n_max: int, sites: tuple[str, ...],
                     lag_days: float = 90.0, start: pd.Timestamp | None = None,
                     simulations: int = FORECAST_SIMULATIONS, seed: int = FORECAST_SEED) -> Forecast:
    """Forecast the date of the ``target``-th day-90 completion.

    ``randomised``: one row per randomised participant with ``site``, ``randomised_at`` (UTC) and
    ``complete`` (day-90 outcome known). Each site recruits as a Poisson process; its rate is drawn from
    the Gamma(n_s + ½, T) posterior (Jeffreys prior) of its n_s randomisations over the T days since
    ``start`` (default: the first randomisation), so sites without any yet still contribute uncertainty.
    A participant completes ``lag_days`` after randomisation (pending ones at the latest of that and now);
    recruitment stops at ``n_max``. Deaths before day 90, which complete earlier, are ignored: the
    forecast leans late.
    """
    if target < 1 or n_max < target:
        raise ValueError(_("target must lie between 1 and n_max (%(n_max)s), got %(target)s") % {
            "n_max": decimal(n_max, ""), "target": decimal(target, "")})
    complete = int(randomised["complete"].sum())
    pending_at = randomised.loc[~randomised["complete"].astype(bool), "randomised_at"] + lag_days * DAY
    pending_days = np.sort(np.maximum(((pending_at - now) / DAY).to_numpy(dtype=float), 0.0))
    method = (f"Poisson recruitment per site, rate ~ Gamma(n + 1/2, days) (Jeffreys), {simulations} simulations, "
              f"day-90 lag {lag_days:g} days, seed {seed}")
    base: dict[str, Any] = dict(target=target, complete=complete, pending=len(pending_days), simulations=simulations,
                                seed=seed, method=method)
    if complete >= target:
        return Forecast(reached=True, median=None, low=None, high=None, rates={}, **base)
    first = start if start is not None else (randomised["randomised_at"].min() if len(randomised) else None)
    if first is None or pd.isna(first) or now <= first:
        return Forecast(reached=False, median=None, low=None, high=None, rates={}, **base)
    exposure = (now - first) / DAY
    counts = randomised["site"].value_counts()
    n_site = np.array([int(counts.get(s, 0)) for s in sites], dtype=float)
    rates = {s: float(n / exposure) for s, n in zip(sites, n_site, strict=True)}
    need = target - complete
    can_recruit = max(n_max - len(randomised), 0)
    k_future = min(need, can_recruit)
    rng = np.random.default_rng(seed)
    total_rate = rng.gamma(n_site + 0.5, 1.0 / exposure, size=(simulations, len(sites))).sum(axis=1)
    if k_future > 0:
        gaps = rng.exponential(1.0, size=(simulations, k_future)) / total_rate[:, None]
        future = np.cumsum(gaps, axis=1) + lag_days
    else:
        future = np.empty((simulations, 0))
    every = np.concatenate([np.broadcast_to(pending_days, (simulations, len(pending_days))), future], axis=1)
    if every.shape[1] < need:  # cannot be reached within n_max
        return Forecast(reached=False, median=None, low=None, high=None, rates=rates, **base)
    days = np.partition(every, need - 1, axis=1)[:, need - 1]
    lo, mid, hi = np.quantile(days, [0.025, 0.5, 0.975])
    at = lambda d: (now + pd.Timedelta(days=float(d))).floor("D")  # noqa: E731
    return Forecast(reached=False, median=at(mid), low=at(lo), high=at(hi), rates=rates, **base)


# ------------------------------------------------------------------------------------------ statistics


def predictive_probability(z_interim: float, information_fraction: float, *, alpha: float, prior_mean: float,
                           prior_sd: float) -> float:
    """Predictive probability that the final z exceeds z₁₋α, averaging the conditional power over the
    posterior of the drift θ (expected final z) under a normal prior N(prior_mean, prior_sd²).

    With B_t = Z_t √t ~ N(θ t, t): posterior θ ~ N(m, v), v = 1 / (1/prior_sd² + t), m = v (prior_mean/prior_sd²
    + B_t); B_1 − B_t | θ ~ N(θ (1 − t), 1 − t), so PP = Φ((B_t + m (1 − t) − c) / √((1 − t) + (1 − t)² v)).
    prior_sd → 0 gives the conditional power under prior_mean; prior_sd → ∞ the flat-prior predictive
    power Φ((Z_t − c √t) / √(1 − t)).
    """
    t = float(information_fraction)
    if not 0 < t < 1:
        raise ValueError(_("information_fraction must lie in (0, 1), got %(t)s") % {"t": decimal(t, "")})
    if not prior_sd > 0:
        raise ValueError(_("prior_sd must be positive, got %(prior_sd)s") % {"prior_sd": decimal(prior_sd, "")})
    c = float(ndtri(1 - alpha))
    b = z_interim * math.sqrt(t)
    if math.isinf(prior_sd):
        v, m = 1 / t, b / t
    else:
        v = 1 / (1 / prior_sd ** 2 + t)
        m = v * (prior_mean / prior_sd ** 2 + b)
    return float(ndtr((b + m * (1 - t) - c) / math.sqrt((1 - t) + (1 - t) ** 2 * v)))


def interim_statistics(z: float, n_analysed: int, *, prior_sd: float = DEFAULT_PRIOR_SD) -> dict:
    """Every decision number of the interim from the observed z and the number analysed (protocol settings:
    one-sided α = alpha_two_sided / 2, power, max_sample_size, interim_rule)."""
    proto = protocol_module.load()
    st = proto.statistics
    alpha, power, n_max = st.alpha_two_sided / 2, st.power, proto.max_sample_size
    if not 0 < n_analysed < n_max:
        raise ValueError(_("the number analysed must lie between 1 and %(value)s, got %(n_analysed)s") % {
            "value": decimal(n_max - 1, ""), "n_analysed": decimal(n_analysed, "")})
    t = n_analysed / n_max
    theta = design.design_drift(alpha, power)
    rule = design.parse_futility_rule(st.interim_rule)
    cutoff = rule.z_cutoff(t, alpha=alpha, power=power)
    oc = design.futility_characteristics(cutoff, t, alpha=alpha, power=power, n_max=n_max, n_interim=n_analysed)
    planned_t = st.interim_n / n_max
    planned = design.futility_characteristics(rule.z_cutoff(planned_t, alpha=alpha, power=power), planned_t,
                                              alpha=alpha, power=power, n_max=n_max, n_interim=st.interim_n)
    oc_fields = ("futility_z", "information_fraction", "power", "power_loss", "type1_binding", "type1_nonbinding",
                 "p_stop_h0", "p_stop_h1", "expected_n_h0", "expected_n_h1")
    return {
        "z": z, "n_analysed": n_analysed, "n_max": n_max, "information_fraction": t,
        "alpha_one_sided": alpha, "power": power, "design_drift": theta,
        "conditional_power_design": design.conditional_power(z, t, alpha=alpha, theta=theta),
        "conditional_power_trend": design.conditional_power(z, t, alpha=alpha),
        "predictive_probability": predictive_probability(z, t, alpha=alpha, prior_mean=theta,
                                                         prior_sd=prior_sd * theta),
        "prior": {"distribution": "normal", "on": "drift (expected final z)", "mean": theta,
                  "sd": prior_sd * theta, "sd_in_design_drifts": prior_sd,
                  "description": f"drift ~ N({theta:.4f}, ({prior_sd:g} x {theta:.4f})^2): centred on the design "
                                 "effect"},
        "rule": str(rule), "rule_text": rule.describe(), "binding": st.futility_binding,
        "futility_z": cutoff, "rule_met": bool(z < cutoff),
        "operating_characteristics": {k: getattr(oc, k) for k in oc_fields},
        "planned_operating_characteristics": {k: getattr(planned, k) for k in oc_fields},
    }


# ------------------------------------------------------------------------------------------ tables


class ArmTableRefused(ValueError):
    """An open-report table that is grouped by arm or names an arm."""


def pooled_table(frame: pd.DataFrame, name: str, *, groups: tuple[str, ...]) -> pd.DataFrame:
    """``frame`` as an open-report table, refused when a column, the index or a text cell is an arm or a
    group label (``groups``: the arm names and the A/B codes) or the column is an arm indicator."""
    forbidden = {g.lower() for g in groups} | {"arm", "group", "treat", "treatment", "allocation"}
    labels = [str(c).lower() for c in frame.columns] + [str(i).lower() for i in frame.index.names if i]
    hit = sorted(set(labels) & forbidden)
    if hit:
        raise ArmTableRefused(f"open report table {name!r} is grouped by arm (column {hit[0]!r}); the open "
                              "report holds pooled tables only")
    for col in frame.columns:
        if frame[col].dtype == object:
            cells = {str(v).strip().lower() for v in frame[col].dropna()}
            if cells & forbidden:
                raise ArmTableRefused(f"open report table {name!r} names an arm in column {col!r}")
    return frame.reset_index(drop=True)


def _month_number(month: str) -> int:
    year, m = month.split("-")
    return int(year) * 12 + int(m) - 1


def month_range(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` (``YYYY-MM``), months without anything included."""
    return [f"{k // 12:04d}-{k % 12 + 1:02d}" for k in range(_month_number(first), _month_number(last) + 1)]


def planned_recruitment(months: list[str], first_randomised_month: str | None) -> list[float | None]:
    """The protocol's planned cumulative recruitment (``[recruitment]``) at the end of each month; ``None``
    for every month when the protocol states no plan, or when the plan starts at the first randomisation
    and nobody is randomised yet."""
    proto = protocol_module.load()
    plan = proto.recruitment
    if plan is None:
        return [None] * len(months)
    start = (first_randomised_month if plan.first_month == protocol_module.RECRUITMENT_FROM_FIRST_RANDOMISATION
             else plan.first_month)
    if start is None:
        return [None] * len(months)
    return [round(plan.planned_cumulative(_month_number(m) - _month_number(start), proto.max_sample_size), 1)
            for m in months]


def _recruitment(p: pd.DataFrame, sites) -> pd.DataFrame:
    month = p["randomised_at"].dt.strftime("%Y-%m")
    months = month_range(month.min(), month.max()) if len(month) else []
    rows = []
    for m in months:
        row: dict[str, Any] = {"month": m}
        for s in sites:
            row[s] = int(((month == m) & (p["site"] == s)).sum())
        row["all sites"] = int((month == m).sum())
        rows.append(row)
    out = pd.DataFrame(rows, columns=["month", *sites, "all sites"])
    cumulative = out["all sites"].cumsum() if len(out) else out["all sites"]
    return out.assign(cumulative=cumulative,
                      **{"planned cumulative": planned_recruitment(months, months[0] if months else None)})


def _screening(data: Dataset) -> tuple[pd.DataFrame, pd.DataFrame]:
    if not data.has("screening"):
        return pd.DataFrame(columns=["outcome", "count"]), pd.DataFrame(columns=["reason", "count"])
    s = data["screening"]
    outcomes = pd.DataFrame([(o.replace("_", " "), int((s["outcome"] == o).sum()))
                             for o in ("not_eligible", "not_assessable", "eligible_not_randomised", "randomised")],
                            columns=["outcome", "count"])
    rows = s.loc[s["outcome"].isin(["not_eligible", "not_assessable", "eligible_not_randomised"]), "reasons"]
    reasons = rows.str.split(";").explode().str.strip()
    counts = reasons[reasons.fillna("") != ""].value_counts()
    table = pd.DataFrame(sorted(((r.replace("_", " "), int(c)) for r, c in counts.items()),
                                key=lambda x: (-x[1], x[0])), columns=["reason", "count"])
    return outcomes, table


def _consort_counts(data: Dataset, frame: pd.DataFrame, complete: pd.Series) -> list[tuple[str, int]]:
    rows = []
    if data.has("screening"):
        s = data["screening"]
        rows += [("assessed for eligibility", len(s)),
                 ("excluded (not eligible, not assessable, or eligible and not randomised)",
                  int((s["outcome"] != "randomised").sum()))]
    rows += [("randomised", len(frame)),
             ("received the intervention (any infusion)", int(frame["participant_id"].isin(
                 data["infusion"]["participant_id"]).sum())),
             ("consent to use data withdrawn after randomisation", int((~frame["data_use_consent"]).sum())),
             ("intention-to-treat (data may be used)", int(frame["itt"].sum())),
             ("day-90 outcome known", int(complete.reindex(frame["participant_id"]).fillna(False).sum())),
             ("lost to follow-up (past day 90, day-90 outcome unknown)", _lost(data, frame, complete)),
             ("analysed (intention-to-treat, day-90 complete, primary outcome available)",
              int((frame["itt"] & frame["mean_sofa"].notna() & frame["day90_complete"]).sum())),
             ("excluded from the interim analysis", int((~(frame["itt"] & frame["mean_sofa"].notna()
                                                          & frame["day90_complete"])).sum()))]
    return rows


def _lost(data: Dataset, frame: pd.DataFrame, complete: pd.Series) -> int:
    if data.data_cutoff is None:
        return 0
    horizon = protocol_module.load().outcomes.primary_horizon_days
    r = frame["participant_id"].map(data["participants"].set_index("participant_id")["randomised_at"])
    known = complete.reindex(frame["participant_id"]).fillna(False).to_numpy(dtype=bool)
    return int(((r + horizon * DAY <= data.data_cutoff).to_numpy(dtype=bool) & ~known).sum())


# CONSORT 2025 flow (item 22a): the boxes after randomisation, drawn once pooled and once per group
FLOW = ("randomised", "received the intervention (any infusion)", "consent to use data withdrawn after randomisation",
        "lost to follow-up (past day 90, day-90 outcome unknown)",
        "analysed (intention-to-treat, day-90 complete, primary outcome available)",
        "excluded from the interim analysis")


def consort_svg(counts: dict[str, dict[str, int]], screening: pd.DataFrame | None = None) -> str:
    """A CONSORT flow diagram as SVG: enrolment boxes (when the screening log is given: assessed, excluded
    by reason), then one column per key of ``counts`` (``{"all": {...}}`` pooled, or one per group) with the
    boxes of FLOW."""
    width, box_h, gap = 640, 46, 14
    columns = list(counts)
    col_w = (width - gap * (len(columns) + 1)) / len(columns)
    parts, y = [], gap

    def box(x, y, w, lines, h=box_h):
        parts.append(f'<rect x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" height="{h:.0f}" fill="#fff" stroke="#333"/>')
        for k, line in enumerate(lines):
            parts.append(f'<text x="{x + 6:.0f}" y="{y + 17 + 15 * k:.0f}" font-size="12">{html.escape(line)}</text>')

    first = counts[columns[0]]
    if screening is not None and "assessed for eligibility" in first:
        box(gap, y, width - 2 * gap, [f"Assessed for eligibility: {first['assessed for eligibility']}"], 28)
        y += 28 + gap
        reasons = [f"{r}: {c}" for r, c in zip(screening["reason"], screening["count"], strict=True)][:8]
        lines = [f"Excluded: {first['excluded (not eligible, not assessable, or eligible and not randomised)']}",
                 *reasons]
        h = 10 + 15 * len(lines)
        box(gap, y, width - 2 * gap, lines, h)
        y += h + gap
    for k, label in enumerate(FLOW):
        for c, name in enumerate(columns):
            x = gap + c * (col_w + gap)
            head = "" if name == "all" else f"{name}: "
            text = label.split(" (")[0]
            box(x, y, col_w, [f"{head}{text[0].upper()}{text[1:]}", f"n = {counts[name].get(label, 0)}"])
        y += box_h + gap
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {y:.0f}" width="100%" role="img" '
            f'aria-label="CONSORT flow diagram">{"".join(parts)}</svg>')


def _completeness(frame: pd.DataFrame) -> pd.DataFrame:
    n = len(frame)
    pct = lambda k: f"{k} ({100 * k / n:.0f} %)" if n else "0"  # noqa: E731
    rows = [("randomised", str(n)),
            ("primary outcome available", pct(int(frame["mean_sofa"].notna().sum()))),
            ("primary outcome provisional (in the ICU at the cut-off)", pct(int(frame["in_icu_at_cutoff"].sum()))),
            ("day-90 outcome known", pct(int(frame["day90_complete"].sum()))),
            ("28-day vital status known", pct(int(frame["mortality_28"].notna().sum()))),
            ("90-day vital status known", pct(int(frame["mortality_90"].notna().sum())))]
    return pd.DataFrame(rows, columns=["item", "value"])


def _adherence(data: Dataset, frame: pd.DataFrame) -> pd.DataFrame:
    from shine.analysis.populations import dose_fractions

    fr = dose_fractions(data).reindex(frame["participant_id"]).fillna(0.0)
    threshold = protocol_module.load().outcomes.per_protocol_min_dose_fraction
    n = len(fr)
    q1, q2, q3 = (np.quantile(fr, [0.25, 0.5, 0.75]) if n else (math.nan,) * 3)
    k = int((fr >= threshold).sum())
    rows = [("randomised", str(n)),
            ("fraction of the planned dose delivered, median (IQR)", f"{q2:.2f} ({q1:.2f}-{q3:.2f})" if n else "-"),
            (f"received at least {threshold:.0%} of the planned dose", f"{k} ({100 * k / n:.0f} %)" if n else "0"),
            ("no infusion recorded", str(int((fr == 0).sum())))]
    return pd.DataFrame(rows, columns=["item", "value"])


NO_SAFETY_DATA = "no safety data captured"


def _safety_pooled(frame: pd.DataFrame, data: Dataset) -> pd.DataFrame:
    n = len(frame)
    window = int(protocol_module.load().schedule.sae_window_days)
    captured = data.has("adverse_events")
    rows = [("deaths by day 28", int((frame["mortality_28"] == 1).sum())),
            ("deaths by day 90", int((frame["mortality_90"] == 1).sum())),
            ("deaths recorded (any time)", int(frame["participant_id"].isin(data["deaths"]["participant_id"]).sum())),
            (f"participants with a serious adverse event within {window} days",
             int((frame["sae"] > 0).sum()) if captured else NO_SAFETY_DATA),
            ("adverse event records", len(data["adverse_events"]) if captured else NO_SAFETY_DATA)]
    return pd.DataFrame([(k, v) for k, v in rows], columns=["item", "count"]).assign(participants=n)


def _serious_events_by_group(f: pd.DataFrame, data: Dataset, groups) -> pd.DataFrame:
    """Participants with ≥ 1 and events of each kind within the SAE window, per group; for SUSARs also the
    participants whose SAR still awaits the sponsor's expectedness (not counted as none)."""
    columns = ["event", "group", "participants", "events", "awaiting expectedness", "n"]
    if not data.has("adverse_events"):
        return pd.DataFrame([{"event": NO_SAFETY_DATA, "group": g, "participants": None, "events": None,
                              "awaiting expectedness": None, "n": int((f["group"] == g).sum())} for g in groups],
                            columns=columns)
    rows = []
    for kind in derive.SAFETY_COUNTS:
        for g in groups:
            x = f[f["group"] == g]
            rows.append({"event": kind.replace("_", " "), "group": g,
                         "participants": int(x[f"any_{kind}"].fillna(False).astype(bool).sum()),
                         "events": int(x[kind].sum()),
                         "awaiting expectedness": int(x[f"any_{kind}"].isna().sum()), "n": len(x)})
    return pd.DataFrame(rows, columns=columns)


SERIOUS_LISTING_COLUMNS = ["group", "participant_id", "site", "event_id", "onset study day", "term", "prespecified",
                           "related", "expected", "SUSAR", "in the SAE window"]


def _serious_events_listing(data: Dataset, frame: pd.DataFrame) -> pd.DataFrame:
    """Every serious adverse event up to the cut-off, by group, participant and onset (closed report only)."""
    if not data.has("adverse_events"):
        return pd.DataFrame(columns=SERIOUS_LISTING_COLUMNS)
    window = int(protocol_module.load().schedule.sae_window_days)
    ae = data["adverse_events"]
    ae = ae[ae["serious"].astype(bool)].merge(frame[["participant_id", "group", "site"]], on="participant_id")
    since = ae["onset_at"] - ae["participant_id"].map(data["participants"].set_index("participant_id")["randomised_at"])
    related = ae["related"].astype(bool)
    expected = ae["expected"].astype("boolean")

    def words(v) -> str:
        return "not yet assessed" if pd.isna(v) else ("yes" if v else "no")

    out = pd.DataFrame({
        "group": ae["group"], "participant_id": ae["participant_id"], "site": ae["site"], "event_id": ae["event_id"],
        "onset study day": (since // DAY).astype(int) + 1, "term": ae["term"],
        "prespecified": ae["prespecified"].str.replace("_", " "),
        "related": np.where(related, "yes", "no"),
        "expected": [words(v) for v in expected],
        "SUSAR": [("unknown (expectedness not yet assessed)" if pd.isna(e) else "yes" if not e else "no") if r else "no"
                  for r, e in zip(related, expected, strict=True)],
        "in the SAE window": np.where(since < window * DAY, "yes", "no"),
        "_onset": ae["onset_at"]})
    out = out.sort_values(["group", "participant_id", "_onset", "event_id"], kind="mergesort")
    return out[SERIOUS_LISTING_COLUMNS].reset_index(drop=True)


def _quality(derived: analyses.Derived) -> pd.DataFrame:
    return analyses.data_quality(derived, POPULATION)


def _by_group(frame: pd.DataFrame, groups, fn) -> dict:
    return {g: fn(frame[frame["group"] == g]) for g in groups}


def _deaths_listing(data: Dataset, frame: pd.DataFrame) -> pd.DataFrame:
    d = data["deaths"].merge(frame[["participant_id", "group", "site"]], on="participant_id")
    r = data["participants"].set_index("participant_id")["randomised_at"]
    d = d.assign(study_day=((d["died_at"] - d["participant_id"].map(r)) / DAY).apply(math.ceil).astype(int))
    d = d.sort_values(["group", "participant_id"], kind="mergesort")
    return d[["group", "participant_id", "site", "study_day", "cause"]].rename(columns={"study_day": "day of death"})


def _unblindings(data: Dataset, frame: pd.DataFrame, unblindings: pd.DataFrame | None) -> pd.DataFrame:
    columns = ["group", "participant_id", "site", "study day"]
    if unblindings is None or not len(unblindings):
        return pd.DataFrame(columns=columns)
    u = unblindings.merge(frame[["participant_id", "group", "site"]], on="participant_id")
    r = u["participant_id"].map(data["participants"].set_index("participant_id")["randomised_at"])
    u = u.assign(**{"study day": ((u["at"] - r) / DAY).apply(math.floor).astype(int) + 1})
    return u.sort_values(["group", "participant_id", "at"], kind="mergesort")[columns].reset_index(drop=True)


# ------------------------------------------------------------------------------------------ the run


@dataclass(frozen=True)
class InterimReport:
    """``open``: results a blinded reader may hold (pooled); ``closed``: by A/B with the interim
    statistics; ``key``: A/B → arm (the sealed file); ``tables_open`` / ``tables_closed``: the tables."""

    open: dict
    closed: dict
    key: dict
    tables_open: dict
    tables_closed: dict


def subset(data: Dataset, ids) -> Dataset:
    """The data set restricted to the participants ``ids`` (the screening log is kept whole)."""
    keep = set(ids)
    tables = {name: (frame if name == "screening" else frame[frame["participant_id"].isin(keep)].reset_index(drop=True))
              for name, frame in data.tables.items()}
    return replace(data, tables=MappingProxyType(tables))


def _estimate(e) -> dict:
    return {"estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high, "p_value": e.p_value,
            "method": e.method, "se": e.se}


def run(data: Dataset, key: dict[str, str], *, freeze: dict, prior_sd: float = DEFAULT_PRIOR_SD,
        seed: int = analyses.DEFAULT_SEED, unblindings: pd.DataFrame | None = None) -> InterimReport:
    """The interim on an A/B-coded data set. ``key``: {"A": arm, "B": arm} (arm names of the protocol);
    ``freeze``: id, cut-off and input hashes, printed on every table; ``unblindings``: emergency unblindings
    up to the cut-off (``participant_id``, ``at``), listed by group in the closed report."""
    proto = protocol_module.load()
    if not data.blinded:
        raise ValueError(_("the interim runs on an A/B-coded data set (the freeze); pass the A/B key separately"))
    if sorted(key) != list(BLINDED_ARM_CODES) or sorted(key.values()) != sorted(proto.arms):
        raise ValueError(_("key must map A and B to the arms %(items)s") % {"items": ', '.join(proto.arms)})
    groups = BLINDED_ARM_CODES
    sites = proto.site_codes
    complete = day90_complete(data)
    derived_all = analyses.derive_all(data)
    frame = derived_all.frame.assign(day90_complete=derived_all.frame["participant_id"].map(complete).astype(bool))
    # ------------------------------------------------------------- open: pooled tables only
    p = data["participants"]
    guard = (*groups, *proto.arms)
    screening_outcomes, screening_reasons = _screening(data)
    table1 = analyses.table1(derived_all, POPULATION)[["characteristic", "all"]].rename(
        columns={"all": "intention-to-treat, pooled"})
    tables_open = {
        "recruitment_by_month_and_site": _recruitment(p, sites),
        "screening_outcomes": screening_outcomes,
        "screening_reasons": screening_reasons,
        "consort_pooled": pd.DataFrame(_consort_counts(data, frame, complete), columns=["box", "count"]),
        "baseline_pooled": table1,
        "infusion_adherence": _adherence(data, frame),
        "completeness": _completeness(frame),
        "safety_pooled": _safety_pooled(frame, data),
        "data_quality": _quality(derived_all),
    }
    tables_open = {k: pooled_table(v, k, groups=guard) for k, v in tables_open.items()}
    stat = proto.statistics
    n_randomised = len(p)
    open_results = {
        "freeze": freeze, "trial": proto.name, "registration": proto.registration,
        "synopsis": {"primary_outcome": proto.outcomes.primary, "max_sample_size": proto.max_sample_size,
                     "interim_n": stat.interim_n, "interim_rule": stat.interim_rule,
                     "interim_rule_text": design.parse_futility_rule(stat.interim_rule).describe(),
                     "futility_binding": stat.futility_binding, "alpha_two_sided": stat.alpha_two_sided,
                     "power": stat.power},
        "randomised": n_randomised, "day90_complete": int(frame["day90_complete"].sum()),
        "tables": {k: v.to_dict(orient="records") for k, v in tables_open.items()},
    }
    # ------------------------------------------------------------- closed: by A/B and the decision numbers
    analysed_ids = frame.loc[frame["itt"] & frame["day90_complete"], "participant_id"]
    interim_data = subset(data, analysed_ids)
    derived = analyses.derive_all(interim_data)
    primary = analyses.primary_analysis(derived, POPULATION, seed=seed)
    active = proto.active_arm
    sign = 1.0 if key["A"] == active else -1.0  # A − B to active − control
    # the interim z is the Wald z of the complete-case ANCOVA (the participants analysed are those with the
    # day-90 outcome known, so few outcomes are missing; a multiple-imputation primary is shown beside it)
    cc = primary.complete_case
    se = cc.se
    z = -sign * cc.estimate / se
    n_analysed = int(sum(primary.n_observed_per_arm.values()))
    stats = interim_statistics(z, n_analysed, prior_sd=prior_sd)
    f = derived.frame
    primary_by_arm = pd.DataFrame([{"group": g, "n": primary.n_per_arm[g],
                                    "with outcome": primary.n_observed_per_arm[g], "mean": primary.means[g],
                                    "sd": primary.sds[g]} for g in groups])
    mortality = {}
    mort_rows = []
    for d in proto.outcomes.mortality_days:
        m = analyses.mortality_analysis(derived, d, POPULATION)
        mortality[str(d)] = {"deaths": m.deaths, "n": m.n, "unknown": m.unknown,
                             "risk_difference": _estimate(m.risk_difference), "crude_rr": _estimate(m.crude_rr)}
        for g in groups:
            mort_rows.append({"day": d, "group": g, "deaths": m.deaths[g], "known status": m.n[g],
                              "unknown": m.unknown[g]})
    support_rows = []
    for s in ("vasopressor", "mechanical_ventilation", "rrt"):
        col = f"{s}_free_days"
        if col not in f:
            continue
        for g in groups:
            x = f.loc[(f["group"] == g) & f[col].notna(), col].astype(float)
            support_rows.append({"support": s.replace("_", " "), "group": g, "n": len(x),
                                 "mean": float(x.mean()) if len(x) else math.nan,
                                 "median": float(x.median()) if len(x) else math.nan})
    serious_listing = _serious_events_listing(data, frame)
    baseline_closed = analyses.table1(derived_all, POPULATION)
    consort_closed = pd.DataFrame([{"box": box, **_by_group(frame, groups, lambda x, b=box: dict(
        _consort_counts(data, x, complete)).get(b, 0)), "all": count}
        for box, count in _consort_counts(data, frame, complete) if box not in (
            "assessed for eligibility",
            "excluded (not eligible, not assessable, or eligible and not randomised)")])
    tables_closed = {
        "primary_by_arm": primary_by_arm, "mortality_by_arm": pd.DataFrame(mort_rows),
        "days_alive_without_support_by_arm": pd.DataFrame(support_rows),
        "serious_events_by_arm": _serious_events_by_group(f, data, groups), "baseline_by_arm": baseline_closed,
        "consort_by_arm": consort_closed, "deaths_listing": _deaths_listing(data, frame),
        "serious_adverse_events_listing": serious_listing,
        "susar_listing": serious_listing[serious_listing["SUSAR"] == "yes"].reset_index(drop=True),
        "emergency_unblindings": _unblindings(data, frame, unblindings),
    }
    baseline = primary.baseline
    assert baseline is not None  # primary_analysis always says how the baseline covariate was handled
    closed_results = {
        "freeze": freeze, "groups": list(groups), "population": POPULATION,
        "primary": {"difference_A_minus_B": primary.difference, "ci_low": primary.ci_low, "ci_high": primary.ci_high,
                    "p_value": primary.p_value, "method": primary.method,
                    "complete_case": _estimate(cc),
                    "n_per_group": primary.n_per_arm, "n_observed_per_group": primary.n_observed_per_arm,
                    "means": primary.means, "sds": primary.sds, "missing_fraction": primary.missing_fraction,
                    "sensitivity": {k: _estimate(v) for k, v in primary.sensitivity.items()},
                    "baseline_covariate": {"rule": baseline.rule, "imputed_per_group": baseline.imputed,
                                           "text": baseline.describe()}},
        "interim": stats, "mortality": mortality,
        "recommendation_options": ["continue unchanged", "continue with modification", "stop for futility",
                                   "stop for harm"],
        "tables": {k: v.to_dict(orient="records") for k, v in tables_closed.items()},
    }
    return InterimReport(open=open_results, closed=closed_results, key=dict(sorted(key.items())),
                         tables_open=tables_open, tables_closed=tables_closed)


# ------------------------------------------------------------------------------------------ rendering


CSS = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:auto;padding:1rem;line-height:1.4}"
       "table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #bbb;padding:.2rem .5rem;"
       "text-align:left}.scroll{overflow-x:auto}.stamp{color:#555;font-size:.9rem}")


def _cell(v) -> str:
    if isinstance(v, float):
        return "-" if math.isnan(v) else f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return html.escape(str(v))


def _html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _stamp(freeze: dict) -> str:
    return (f'<p class="stamp">Freeze {html.escape(str(freeze.get("id")))} · data cut-off '
            f'{html.escape(str(freeze.get("data_cutoff")))} · input SHA-256 '
            f'{html.escape(str(freeze.get("sha256")))}</p>')


def _page(title: str, sections: list[tuple[str, str]], freeze: dict) -> str:
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
             f"content='width=device-width, initial-scale=1'><title>{html.escape(title)}</title>"
             f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>{_stamp(freeze)}"]
    for heading, content in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>{_stamp(freeze)}{content}")
    parts.append("</body></html>\n")
    return "".join(parts)


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def open_html(r: InterimReport) -> str:
    s = r.open["synopsis"]
    synopsis = (f"<p>{html.escape(r.open['trial'])} ({html.escape(r.open['registration'])}). Primary outcome: "
                f"{html.escape(s['primary_outcome'])}. Maximum sample size {s['max_sample_size']}; one futility "
                f"interim after {s['interim_n']} participants with day-90 follow-up; rule: "
                f"{html.escape(s['interim_rule_text'])} "
                f"({'binding' if s['futility_binding'] else 'non-binding'}); final test two-sided alpha "
                f"{s['alpha_two_sided']:g}, power {s['power']:.0%}.</p>"
                f"<p>Randomised: {r.open['randomised']}; day-90 outcome known: {r.open['day90_complete']}.</p>"
                "<p>Pooled over both arms: this report holds no result by arm.</p>")
    consort = dict(zip(r.tables_open["consort_pooled"]["box"], r.tables_open["consort_pooled"]["count"], strict=True))
    sections = [("Protocol synopsis and stopping rule", synopsis),
                ("CONSORT flow (pooled)", consort_svg({"all": consort}, r.tables_open["screening_reasons"]))]
    sections += [(_title(k), _html_table(v)) for k, v in r.tables_open.items()]
    return _page("SHINE interim: open report (pooled)", sections, r.open["freeze"])


def closed_html(r: InterimReport) -> str:
    c, st = r.closed, r.closed["interim"]
    pr = c["primary"]
    oc, planned = st["operating_characteristics"], st["planned_operating_characteristics"]
    where = ("below the futility boundary: the rule is met" if st["rule_met"]
             else "above the futility boundary: the rule is not met")
    decision = (
        f"<p>Primary analysis ({c['population']}, participants with day-90 outcome known): mean daily modified SOFA, "
        f"A − B {pr['difference_A_minus_B']:.3f} (95 % CI {pr['ci_low']:.3f} to {pr['ci_high']:.3f}), P = "
        f"{pr['p_value']:.3g}; {html.escape(pr['method'])}.</p>"
        f"<p>Observed z {st['z']:.4f} (z &gt; 0 favours the experimental arm); information fraction "
        f"{st['information_fraction']:.4f} ({st['n_analysed']} of {st['n_max']}).</p>"
        f"<p>Conditional power under the design effect (drift {st['design_drift']:.4f}): "
        f"{st['conditional_power_design']:.4f}; under the current trend: {st['conditional_power_trend']:.4f}; "
        f"predictive probability of success: {st['predictive_probability']:.4f} (prior: "
        f"{html.escape(st['prior']['description'])}).</p>"
        f"<p>Futility rule ({'binding' if st['binding'] else 'non-binding'}): {html.escape(st['rule_text'])}, i.e. "
        f"stop if z &lt; {st['futility_z']:.4f} at this information fraction. The estimate falls "
        f"<strong>{where}</strong>.</p>"
        f"<p>Operating characteristics of the rule at this look: power {oc['power']:.4f} "
        f"(loss {oc['power_loss']:.4f}); "
        f"P(stop) under H0 {oc['p_stop_h0']:.4f}, under H1 {oc['p_stop_h1']:.4f}; type I error binding "
        f"{oc['type1_binding']:.5f}, non-binding {oc['type1_nonbinding']:.5f}; expected N under H0 "
        f"{oc['expected_n_h0']:.1f}, under H1 {oc['expected_n_h1']:.1f}. At the planned look "
        f"(t = {planned['information_fraction']:.4f}): power {planned['power']:.4f}, P(stop | H0) "
        f"{planned['p_stop_h0']:.4f}.</p>"
        "<p>Recommendation options: " + ", ".join(html.escape(o) for o in c["recommendation_options"]) + ".</p>"
        "<p>The A/B key is the separate sealed file key.json.</p>")
    by_arm = r.tables_closed["consort_by_arm"]
    flow = {g: dict(zip(by_arm["box"], by_arm[g], strict=True)) for g in BLINDED_ARM_CODES}
    sections = [("Interim decision", decision), ("CONSORT flow by group", consort_svg(flow))]
    sections += [(_title(k), _html_table(v)) for k, v in r.tables_closed.items()]
    return _page("SHINE interim: closed report (DSMB only, by group A/B)", sections, c["freeze"])


def _manifest(folder: Path, names: list[str], freeze: dict) -> str:
    files = {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in names}
    return json.dumps({"freeze": freeze, "files": files}, indent=2, sort_keys=True) + "\n"


def write(r: InterimReport, out_dir: str | Path) -> dict[str, Path]:
    """Write ``open/`` and ``closed/`` under ``out_dir``; returns the paths of every file written."""
    out = Path(out_dir)
    paths = {}
    for side, results, page, extra in (("open", r.open, open_html(r), {}),
                                       ("closed", r.closed, closed_html(r),
                                        {"key.json": json.dumps(r.key, indent=2, sort_keys=True) + "\n"})):
        folder = out / side
        folder.mkdir(parents=True, exist_ok=True)
        files = {"results.json": dumps(clean(results)), "report.html": page, **extra}
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
            paths[f"{side}/{name}"] = folder / name
        (folder / "manifest.json").write_text(_manifest(folder, sorted(files), results["freeze"]), encoding="utf-8")
        paths[f"{side}/manifest.json"] = folder / "manifest.json"
    return paths


__all__ = ["ArmTableRefused", "Forecast", "InterimReport", "day90_complete", "forecast_interim", "interim_statistics",
           "month_range", "planned_recruitment",
           "pooled_table", "predictive_probability", "run", "subset", "write"]
