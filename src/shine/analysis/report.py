"""Run the whole analysis plan and write the report folder (results.json, CSV tables, PNG figures,
report.html). Re-running on the same data set gives byte-identical files."""

from __future__ import annotations

import base64
import html
import io
import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shine import protocol as protocol_module
from shine.analysis import analyses, derive, estimands, sensitivity
from shine.analysis.dataset import Dataset
from shine.analysis.methods import Estimate, NotEstimable
from shine.i18n import _
from shine.protocol import ESTIMAND_ANALYSES

RESULTS_FORMAT = "shine-analysis-results/1"
SIGNIFICANT_DIGITS = 10  # floats in results.json: enough for any check, fixed so that files compare equal


def _number(x: float):
    if x is None or isinstance(x, float) and not math.isfinite(x):
        return None
    return float(f"{float(x):.{SIGNIFICANT_DIGITS}g}")


def clean(obj):
    """A JSON-ready copy: floats rounded to fixed significant digits, NaN/inf as null, numpy scalars as
    Python numbers, tuples as lists."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _number(float(obj))
    if obj is None or isinstance(obj, str):
        return obj
    if obj is pd.NA:
        return None
    raise TypeError(_("cannot write %(name)s to results.json") % {"name": type(obj).__name__})


def dumps(results: dict) -> str:
    return json.dumps(clean(results), indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def estimate_dict(e: Estimate) -> dict:
    return {"estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high, "p_value": e.p_value,
            "method": e.method, "scale": e.scale, "se": e.se, "level": e.level, **e.details}


@dataclass(frozen=True)
class Report:
    """Everything the report shows: ``results`` (the content of results.json), ``tables`` (name → frame,
    written as CSV), ``derived`` (participant-level outcomes)."""

    results: dict
    tables: dict
    derived: analyses.Derived


@dataclass(frozen=True)
class NotEstimated:
    """An analysis the data could not give (e.g. 90-day mortality at an early cut-off): the report says
    "not estimable: reason" in its place and every other analysis still runs."""

    reason: str


def _attempt(fn):
    """``(result or NotEstimated, warnings)``: numerical warnings of the libraries are recorded with the
    result in results.json rather than printed."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn()
        except NotEstimable as exc:
            result = NotEstimated(str(exc))
        except np.linalg.LinAlgError as exc:
            result = NotEstimated(f"numerical failure ({exc})")
    return result, sorted({f"{w.category.__name__}: {w.message}" for w in caught})


def _sensitivity(derived, population: str, primary, seed: int, forest: pd.DataFrame) -> dict:
    """The sensitivity and supportive analyses (shine.analysis.sensitivity), each with its estimand; with
    the protocol's Holm rule, the Holm-adjusted P of the secondary outcomes is added to the forest table."""
    proto = protocol_module.load()
    sens = proto.sensitivity
    g1, g0 = derived.groups
    out = {}
    r, notes = _attempt(lambda: sensitivity.death_as_worst(derived, population))
    e = estimands.estimand("death_as_worst", population)
    out["death_as_worst"] = _not_estimable(r, estimand=e, notes=notes) if isinstance(r, NotEstimated) else {
        "n": r.n, "deaths": r.deaths, "probability_better": r.probability_better, "z": r.z, "p_value": r.p_value,
        "method": r.method, "left_out": r.left_out, "estimand": e, **({"warnings": notes} if notes else {})}
    (r, notes) = _attempt(lambda: sensitivity.win_ratio(derived, population))
    e = estimands.estimand("win_ratio", population)
    if isinstance(r, NotEstimated):
        out["win_ratio"] = _not_estimable(r, estimand=e, notes=notes)
    else:
        wr, n = r
        out["win_ratio"] = {"n": n, "wins": wr.wins, "losses": wr.losses, "ties": wr.ties, "win_ratio": wr.ratio,
                            "ci_low": wr.ci_low, "ci_high": wr.ci_high, "p_value": wr.p_value, "se_log": wr.se_log,
                            "win_probability": wr.win_probability, "decided_by": wr.decided_by,
                            "method": "win ratio (death to day 90, then mean daily modified SOFA), U-statistic "
                                      "variance of log(win ratio), normal CI and P",
                            "estimand": e, **({"warnings": notes} if notes else {})}
    e = {**estimands.estimand("primary", population),
         "summary_measure": "posterior distribution of the difference in means (normal likelihood of the primary "
                            "estimate and SE; normal priors of the protocol's [sensitivity] section)"}
    if isinstance(primary, NotEstimated):
        out["bayesian"] = _not_estimable(primary, estimand=e, notes=[])
    else:
        post, notes = _attempt(lambda: sensitivity.bayesian(primary))
        out["bayesian"] = _not_estimable(post, estimand=e, notes=notes) if isinstance(post, NotEstimated) else {
            "clinically_important_difference": sens.clinically_important_difference,
            "priors": {name: {"prior_mean": p.prior_mean, "prior_sd": p.prior_sd, "posterior_mean": p.mean,
                              "posterior_sd": p.sd, "cri_low": p.cri_low, "cri_high": p.cri_high,
                              "p_benefit": p.p_benefit, "p_important_benefit": p.p_important_benefit,
                              "p_harm": p.p_harm} for name, p in post.items()},
            "method": "conjugate normal posterior; benefit = difference < 0, clinically important benefit = "
                      f"difference < −{sens.clinically_important_difference:g}", "estimand": e}
    e = {**estimands.estimand("primary", population),
         "summary_measure": "difference in means adjusted for site and baseline modified SOFA, missing outcomes "
                            "imputed with the first group's imputed values shifted by delta (missing not at "
                            "random)"}
    tp, notes = _attempt(lambda: sensitivity.tipping_point(derived, population, seed=seed,
                                                            imputations=analyses.IMPUTATIONS))
    out["tipping_point"] = _not_estimable(tp, estimand=e, notes=notes) if isinstance(tp, NotEstimated) else {
        "rows": tp.rows, "tipping_delta": tp.tipping_delta, "alpha": tp.alpha, "missing": tp.missing,
        "method": f"delta-adjusted multiple imputation ({analyses.IMPUTATIONS} imputations, seed {seed}): delta "
                  f"added to the imputed mean daily SOFA of {g1}", "estimand": e,
        **({"warnings": notes} if notes else {})}
    rule = sens.secondary_multiplicity
    secondary = ~forest["outcome"].isin(["mean daily modified SOFA"]) & (forest["population"] != "safety")
    out["multiplicity"] = {"rule": rule, "statement": sensitivity.multiplicity_statement(rule)}
    if rule == "holm":
        adjusted = sensitivity.holm({o: p for o, p in zip(forest.loc[secondary, "outcome"],
                                                          forest.loc[secondary, "p_value"])})
        forest["p_holm"] = forest["outcome"].map(adjusted).where(secondary)
        out["multiplicity"]["holm_adjusted"] = adjusted
    return out


def _not_estimable(result, *, estimand: dict, notes: list, **extra) -> dict:
    return {"not_estimable": result.reason, "estimand": estimand, **extra, **({"warnings": notes} if notes else {})}


def run(data: Dataset, population: str = "per_protocol", *, seed: int = analyses.DEFAULT_SEED) -> Report:
    """Every analysis of the plan on one population; an analysis the data cannot give is marked not
    estimable with its reason and the others still run."""
    proto = protocol_module.load()
    derived = analyses.derive_all(data)
    g1, g0 = groups = derived.groups
    safety_population = estimands.population_of("safety", population)
    estimand = {a: estimands.estimand(a, population) for a in ESTIMAND_ANALYSES}
    primary, primary_notes = _attempt(lambda: analyses.primary_analysis(derived, population, seed=seed))
    mortality = {d: _attempt(lambda d=d: analyses.mortality_analysis(derived, d, population))
                 for d in proto.outcomes.mortality_days}
    survival, survival_notes = _attempt(lambda: analyses.survival_analysis(derived, population))
    support = {s: _attempt(lambda s=s: analyses.support_analysis(derived, s, population, seed=seed))
               for s in derive.SUPPORTS}
    safety = {k: _attempt(lambda k=k: analyses.safety_analysis(derived, k, safety_population))
              for k in analyses.SAFETY_KINDS}
    horizon = int(proto.outcomes.primary_horizon_days)
    window = int(proto.schedule.sae_window_days)

    def row(outcome, panel, result, estimate, pop, method=None, p=None):
        if isinstance(result, NotEstimated):
            return dict(outcome=outcome, panel=panel, estimate=math.nan, ci_low=math.nan, ci_high=math.nan,
                        p_value=math.nan, method=f"not estimable: {result.reason}", population=pop)
        e = estimate(result)
        return dict(outcome=outcome, panel=panel, estimate=e.estimate, ci_low=e.ci_low, ci_high=e.ci_high,
                    p_value=e.p_value if p is None else p(result), method=method(result) if method else e.method,
                    population=pop)

    forest = [row("mean daily modified SOFA", "difference, SOFA points", primary, lambda r: r.estimate, population)]
    for d, (m, _rows) in mortality.items():
        forest.append(row(f"{d}-day mortality", "ratio", m, lambda r: r.adjusted_rr, population))
    forest.append(row(f"death to day {horizon} (hazard ratio)", "ratio", survival, lambda r: r.hazard_ratio,
                      population))
    for s, (r, _rows) in support.items():
        forest.append(row(f"days alive without {s.replace('_', ' ')}", "difference, days", r, lambda r: r.difference,
                          population, method=lambda r: f"{r.difference.method}; P: {r.van_elteren_method}",
                          p=lambda r: r.van_elteren_p))
    for k, (r, _rows) in safety.items():
        forest.append(row(f"≥ 1 {k.replace('_', ' ')} within {window} days", "ratio", r, lambda r: r.risk_ratio,
                          safety_population, method=lambda r: f"{r.risk_ratio.method}; P: {r.test}",
                          p=lambda r: r.p_value))
    forest_frame = pd.DataFrame(forest, columns=["outcome", "panel", "estimate", "ci_low", "ci_high", "p_value",
                                                 "method", "population"])

    def with_notes(d: dict, notes: list) -> dict:
        return {**d, "warnings": notes} if notes else d

    if isinstance(primary, NotEstimated):
        primary_out = _not_estimable(primary, estimand=estimand["primary"], notes=primary_notes,
                                     outcome=proto.outcomes.primary)
    else:
        primary_out = with_notes({
            "outcome": proto.outcomes.primary,
            "difference": primary.difference, "ci_low": primary.ci_low, "ci_high": primary.ci_high,
            "p_value": primary.p_value, "method": primary.method, "n_per_arm": primary.n_per_arm,
            "n_observed_per_arm": primary.n_observed_per_arm, "mean": primary.means, "sd": primary.sds,
            "missing_fraction": primary.missing_fraction, "estimate": estimate_dict(primary.estimate),
            "complete_case": estimate_dict(primary.complete_case),
            "sensitivity": {k: estimate_dict(v) for k, v in primary.sensitivity.items()},
            "baseline_covariate": {"rule": primary.baseline.rule, "imputed": primary.baseline.total,
                                   "imputed_per_arm": primary.baseline.imputed,
                                   "observed_mean": primary.baseline.observed_mean,
                                   "text": primary.baseline.describe()},
            "estimand": estimand["primary"]}, primary_notes)

    def mortality_out(m, notes):
        if isinstance(m, NotEstimated):
            return _not_estimable(m, estimand=estimand["mortality"], notes=notes)
        return with_notes({"deaths": m.deaths, "n": m.n, "unknown_status": m.unknown, "not_yet_due": m.not_yet_due,
                           "risk": {g: m.deaths[g] / m.n[g] for g in groups},
                           "adjusted_risk_ratio": estimate_dict(m.adjusted_rr),
                           "crude_risk_ratio": estimate_dict(m.crude_rr),
                           "risk_difference": estimate_dict(m.risk_difference),
                           "estimand": estimand["mortality"]}, notes)

    if isinstance(survival, NotEstimated):
        survival_out = _not_estimable(survival, estimand=estimand["survival"], notes=survival_notes,
                                      horizon_days=horizon)
        km_table = pd.DataFrame(columns=["group", "time", "n_risk", "n_events", "survival", "se", "ci_low", "ci_high"])
    else:
        km_points = {g: {str(d): km.at(d) for d in proto.outcomes.mortality_days}
                     for g, km in survival.kaplan_meier.items()}
        survival_out = with_notes({"horizon_days": survival.horizon, "logrank_chi2": survival.logrank_chi2,
                                   "logrank_p": survival.logrank_p,
                                   "hazard_ratio": estimate_dict(survival.hazard_ratio),
                                   "kaplan_meier_survival": km_points, "estimand": estimand["survival"]},
                                  survival_notes)
        km_table = pd.concat([km.table.assign(group=g) for g, km in survival.kaplan_meier.items()],
                             ignore_index=True)[["group", "time", "n_risk", "n_events", "survival", "se",
                                                 "ci_low", "ci_high"]]

    def support_out(r, notes):
        if isinstance(r, NotEstimated):
            return _not_estimable(r, estimand=estimand["days_without_support"], notes=notes)
        return with_notes({"n": r.n, "mean": r.mean, "sd": r.sd, "median": r.median, "q1": r.q1, "q3": r.q3,
                           "difference_in_means": estimate_dict(r.difference), "van_elteren_p": r.van_elteren_p,
                           "van_elteren_z": r.van_elteren_z, "van_elteren_method": r.van_elteren_method,
                           "excluded_incomplete_followup": r.excluded_incomplete,
                           "estimand": estimand["days_without_support"]}, notes)

    def safety_out(r, notes):
        if isinstance(r, NotEstimated):
            return _not_estimable(r, estimand=estimand["safety"], notes=notes, population=safety_population,
                                  window_days=window)
        return with_notes({"window_days": r.window_days, "events": r.events,
                           "participants_with_event": r.participants_with_event, "n": r.n,
                           "risk_ratio": estimate_dict(r.risk_ratio), "p_value": r.p_value, "test": r.test,
                           "rate_ratio": estimate_dict(r.rate_ratio), "unknown": r.unknown,
                           "population": safety_population, "estimand": estimand["safety"]},
                          notes + ([f"left out: {sum(r.unknown.values())} participants with a serious adverse "
                                    "reaction not yet assessed for expectedness"] if sum(r.unknown.values()) else []))

    results = {
        "format": RESULTS_FORMAT,
        "trial": proto.name,
        "input": {"sha256": data.sha256,
                  "fingerprint": "arm-masked" if data.recoded else "files",
                  "source": data.manifest.get("source"), "data_cutoff": data.manifest.get("data_cutoff"),
                  # every file read with the SHA-256 of its bytes (CSV or Parquet), each checked against the
                  # manifest; none when recoded, since file hashes would let a holder of a blinded export of
                  # the same data test both possible allocations
                  "dataset_json_sha256": None if data.recoded else data.files.get("dataset.json"),
                  "tables": {} if data.recoded else {
                      name.rsplit(".", 1)[0]: {"file": name, "sha256": digest,
                                               "rows": data.manifest["tables"][name.rsplit(".", 1)[0]]["rows"]}
                      for name, digest in sorted(data.files.items()) if name != "dataset.json"}},
        "blinded": data.blinded,
        "population": population,
        "populations": {"efficacy": population, "safety": safety_population},
        "estimands": estimand,
        "groups": list(groups),
        "contrast": f"{g1} vs {g0} ({g1} − {g0} for differences, {g1} / {g0} for ratios)",
        "seed": seed,
        "settings": {
            "per_protocol_min_dose_fraction": proto.outcomes.per_protocol_min_dose_fraction,
            "max_carried_forward_days": proto.outcomes.max_carried_forward_days,
            "complete_case_max_missing_fraction": proto.outcomes.complete_case_max_missing_fraction,
            "baseline_covariate": proto.missing_data.baseline_covariate,
            "horizon_days": proto.outcomes.primary_horizon_days,
            "mortality_days": list(proto.outcomes.mortality_days),
            "sae_window_days": proto.schedule.sae_window_days,
            "prespecified_events": list(proto.safety.prespecified_events),
            "imputations": analyses.IMPUTATIONS, "bootstrap_resamples": analyses.BOOTSTRAP_RESAMPLES,
            "kaplan_meier_ci_transform": "log (R survfit default)",
        },
        "primary": primary_out,
        "mortality": {str(d): mortality_out(m, notes) for d, (m, notes) in mortality.items()},
        "survival": survival_out,
        "days_alive_without_support": {s: support_out(r, notes) for s, (r, notes) in support.items()},
        "safety": {k: safety_out(r, notes) for k, (r, notes) in safety.items()},
    }
    results["sensitivity_analyses"] = _sensitivity(derived, population, primary, seed, forest_frame)
    tables = {
        "outcomes": forest_frame,
        "table1": analyses.table1(derived, population),
        "consort": analyses.consort(derived),
        "data_quality": analyses.data_quality(derived, population),
        "imputation_gaps": derived.sofa.gaps[derived.sofa.gaps["participant_id"].isin(
            derived.frame.loc[derived.frame[population], "participant_id"])].reset_index(drop=True),
        "daily_sofa_by_day": analyses.daily_sofa_by_day(derived, population),
        "kaplan_meier": km_table,
    }
    results["tables"] = {name: frame.to_dict(orient="records") for name, frame in tables.items()
                         if name in ("outcomes", "table1", "consort", "data_quality")}
    return Report(results=results, tables=tables, derived=derived)


# ---------------------------------------------------------------------------------------------- figures


def _figure_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def figures(report: Report) -> dict[str, bytes]:
    """PNG bytes of the forest plot, the Kaplan–Meier curves and the daily SOFA by day."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "svg.hashsalt": "shine"})
    groups = report.results["groups"]
    colours = dict(zip(groups, ("#c0392b", "#2c3e80")))
    out = {}

    forest = report.tables["outcomes"]
    panels = list(dict.fromkeys(forest["panel"]))
    counts = [int((forest["panel"] == panel).sum()) for panel in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 0.42 * len(forest) + 0.9 * len(panels) + 0.6),
                             gridspec_kw={"height_ratios": counts}, squeeze=False)
    for ax, panel in zip(axes[:, 0], panels):
        rows = forest[forest["panel"] == panel].iloc[::-1]
        ypos = np.arange(len(rows))
        est = rows["estimate"].to_numpy(dtype=float)
        lo, hi = rows["ci_low"].to_numpy(dtype=float), rows["ci_high"].to_numpy(dtype=float)
        ax.errorbar(est, ypos, xerr=[est - lo, hi - est], fmt="s", color="black", capsize=3)
        ax.axvline(1.0 if panel == "ratio" else 0.0, color="grey", lw=0.8, ls="--")
        if panel == "ratio":
            ax.set_xscale("log")
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.set_yticks(ypos, rows["outcome"])
        ax.set_title(f"{panel}: {groups[0]} vs {groups[1]} (95 % CI)", fontsize=9, loc="left")
    fig.tight_layout()
    out["forest"] = _figure_bytes(fig)

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    horizon = report.results["survival"]["horizon_days"]
    km = report.tables["kaplan_meier"]
    for g in groups:
        t = km[km["group"] == g]
        x = np.concatenate([[0.0], t["time"].to_numpy(float), [horizon]])
        y = np.concatenate([[1.0], t["survival"].to_numpy(float), [t["survival"].iloc[-1] if len(t) else 1.0]])
        lo = np.concatenate([[1.0], t["ci_low"].to_numpy(float), [t["ci_low"].iloc[-1] if len(t) else 1.0]])
        hi = np.concatenate([[1.0], t["ci_high"].to_numpy(float), [t["ci_high"].iloc[-1] if len(t) else 1.0]])
        ax.step(x, y, where="post", color=colours[g], label=g)
        ax.fill_between(x, np.nan_to_num(lo), np.nan_to_num(hi, nan=1.0), step="post", color=colours[g], alpha=0.15)
    s = report.results["survival"]
    ax.set(xlim=(0, horizon), ylim=(0, 1.02), xlabel="days since randomisation", ylabel="survival",
           title="Kaplan–Meier (95 % CI, log transform); " + (
               f"log-rank P = {s['logrank_p']:.3g}" if "logrank_p" in s else f"not estimable: {s['not_estimable']}"))
    ax.legend()
    fig.tight_layout()
    out["kaplan_meier"] = _figure_bytes(fig)

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    daily = report.tables["daily_sofa_by_day"]
    for g in groups:
        d = daily[(daily["group"] == g) & (daily["count"] >= 5)]
        half = 1.96 * d["std"].fillna(0) / np.sqrt(d["count"])
        ax.plot(d["study_day"], d["mean"], color=colours[g], label=g, marker=".")
        ax.fill_between(d["study_day"], d["mean"] - half, d["mean"] + half, color=colours[g], alpha=0.15)
    ax.set(xlabel="study day", ylabel="modified SOFA, mean (95 % CI)",
           title="Daily modified SOFA in the ICU (days with ≥ 5 participants)")
    ax.legend()
    fig.tight_layout()
    out["daily_sofa"] = _figure_bytes(fig)
    return out


# ------------------------------------------------------------------------------------------------- HTML


def _fmt(x, digits: int = 2) -> str:
    if x is None or isinstance(x, float) and math.isnan(x):
        return "–"
    return f"{x:.{digits}f}"


def _p(x) -> str:
    if x is None or isinstance(x, float) and math.isnan(x):
        return "–"
    return "< 0.001" if x < 0.001 else f"{x:.3f}"


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, escape=True, border=0, na_rep="–", float_format=lambda v: f"{v:.3f}")


def html_report(report: Report, pngs: dict[str, bytes]) -> str:
    r = report.results
    g1, g0 = r["groups"]
    e = html.escape
    title = ("SHINE — report by coded group (blinded)" if r["blinded"] else "SHINE — statistical report")
    pr = r["primary"]
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>",
             "<style>body{font-family:sans-serif;max-width:70rem;margin:2rem auto;color:#222}"
             "table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
             "td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;"
             "text-align:left}img{max-width:100%}code{font-size:.85em}</style></head><body>",
             f"<h1>{e(title)}</h1>",
             "<p>Population: <b>{}</b>. Groups compared: <b>{}</b> vs <b>{}</b>.{}</p>".format(
                 e(r["population"]), e(g1), e(g0),
                 " Arms are shown as coded groups; the key is not part of this report." if r["blinded"] else ""),
             f"<p>Input data set SHA-256 ({e(r['input']['fingerprint'])}): <code>{e(r['input']['sha256'])}</code>; "
             f"source {e(str(r['input']['source']))}; data cut-off {e(str(r['input']['data_cutoff']))}. "
             f"Seed {r['seed']}.</p>",
             "<h2>Primary outcome: mean daily modified SOFA in the ICU up to day 90</h2>"]
    if "not_estimable" in pr:
        parts += [f"<p><b>Not estimable</b>: {e(pr['not_estimable'])}.</p>", _estimand_html(pr["estimand"])]
    else:
        parts += [
            f"<p>{e(g1)}: mean {_fmt(pr['mean'][g1])} (SD {_fmt(pr['sd'][g1])}, n {pr['n_per_arm'][g1]}); "
            f"{e(g0)}: mean {_fmt(pr['mean'][g0])} (SD {_fmt(pr['sd'][g0])}, n {pr['n_per_arm'][g0]}).<br>"
            f"Adjusted difference {e(g1)} − {e(g0)}: <b>{_fmt(pr['difference'])}</b> "
            f"(95 % CI {_fmt(pr['ci_low'])} to {_fmt(pr['ci_high'])}), P = {_p(pr['p_value'])}. "
            f"Method: {e(pr['method'])}. Outcome missing for {pr['missing_fraction'] * 100:.1f} %. "
            f"Baseline covariate: {e(pr['baseline_covariate']['text'])}.</p>",
            _estimand_html(pr["estimand"])]
    if pr.get("sensitivity"):
        rows = pd.DataFrame([{"analysis": k, "difference": v["estimate"], "95 % CI": f"{_fmt(v['ci_low'])} to "
                              f"{_fmt(v['ci_high'])}", "P": _p(v["p_value"]), "method": v["method"]}
                             for k, v in pr["sensitivity"].items()])
        parts += ["<h3>Sensitivity analyses</h3>", _table(rows)]
    parts += _sensitivity_html(r)
    parts += ["<h2>All outcomes</h2>", f"<p>{e(r['sensitivity_analyses']['multiplicity']['statement'])}</p>",
              _table(_outcome_table(report)),
              f"<img alt='forest plot' src='data:image/png;base64,{base64.b64encode(pngs['forest']).decode()}'>"]
    mort = pd.DataFrame([{"day": d, "not estimable": m["not_estimable"]} if "not_estimable" in m else
                         {"day": d, f"{g1} deaths/n": f"{m['deaths'][g1]}/{m['n'][g1]}",
                          f"{g0} deaths/n": f"{m['deaths'][g0]}/{m['n'][g0]}",
                          "adjusted RR (95 % CI)": f"{_fmt(m['adjusted_risk_ratio']['estimate'])} "
                          f"({_fmt(m['adjusted_risk_ratio']['ci_low'])} to "
                          f"{_fmt(m['adjusted_risk_ratio']['ci_high'])})",
                          "method": m["adjusted_risk_ratio"]["method"],
                          "crude RR (95 % CI)": f"{_fmt(m['crude_risk_ratio']['estimate'])} "
                          f"({_fmt(m['crude_risk_ratio']['ci_low'])} to {_fmt(m['crude_risk_ratio']['ci_high'])})",
                          "unknown status": m["unknown_status"][g1] + m["unknown_status"][g0]}
                         for d, m in r["mortality"].items()])
    s = r["survival"]
    parts += ["<h2>Mortality</h2>", _estimand_html(r["mortality"][next(iter(r["mortality"]))]["estimand"]),
              _table(mort), _estimand_html(s["estimand"], "Estimand of the survival analysis"),
              f"<p>Survival: <b>not estimable</b>: {e(s['not_estimable'])}.</p>" if "not_estimable" in s else
              f"<p>Log-rank χ² {_fmt(s['logrank_chi2'])}, P = {_p(s['logrank_p'])}. Hazard ratio "
              f"{_fmt(s['hazard_ratio']['estimate'])} (95 % CI {_fmt(s['hazard_ratio']['ci_low'])} to "
              f"{_fmt(s['hazard_ratio']['ci_high'])}); {e(s['hazard_ratio']['method'])}.</p>",
              f"<img alt='Kaplan–Meier curves' src='data:image/png;base64,"
              f"{base64.b64encode(pngs['kaplan_meier']).decode()}'>"]
    sup = pd.DataFrame([{"support": k, "not estimable": v["not_estimable"]} if "not_estimable" in v else
                        {"support": k, f"{g1} mean (SD)": f"{_fmt(v['mean'][g1], 1)} ({_fmt(v['sd'][g1], 1)})",
                         f"{g1} median (IQR)": f"{_fmt(v['median'][g1], 0)} "
                         f"({_fmt(v['q1'][g1], 0)}–{_fmt(v['q3'][g1], 0)})",
                         f"{g0} mean (SD)": f"{_fmt(v['mean'][g0], 1)} ({_fmt(v['sd'][g0], 1)})",
                         f"{g0} median (IQR)": f"{_fmt(v['median'][g0], 0)} "
                         f"({_fmt(v['q1'][g0], 0)}–{_fmt(v['q3'][g0], 0)})",
                         "difference in means (95 % bootstrap CI)": f"{_fmt(v['difference_in_means']['estimate'], 1)} "
                         f"({_fmt(v['difference_in_means']['ci_low'], 1)} to "
                         f"{_fmt(v['difference_in_means']['ci_high'], 1)})",
                         "P (van Elteren)": _p(v["van_elteren_p"])}
                        for k, v in r["days_alive_without_support"].items()])
    saf = pd.DataFrame([{"events": k, "not estimable": v["not_estimable"]} if "not_estimable" in v else
                        {"events": k, f"{g1} participants (events)": f"{v['participants_with_event'][g1]}/{v['n'][g1]} "
                         f"({v['events'][g1]})", f"{g0} participants (events)":
                         f"{v['participants_with_event'][g0]}/{v['n'][g0]} ({v['events'][g0]})",
                         "RR (95 % CI)": f"{_fmt(v['risk_ratio']['estimate'])} ({_fmt(v['risk_ratio']['ci_low'])} to "
                         f"{_fmt(v['risk_ratio']['ci_high'])})", "P": _p(v["p_value"]), "test": v["test"]}
                        for k, v in r["safety"].items()])
    parts += ["<h2>Days alive without organ support within 90 days</h2>",
              _estimand_html(next(iter(r["days_alive_without_support"].values()))["estimand"]), _table(sup),
              f"<h2>Serious adverse events within {r['settings']['sae_window_days']} days (safety population)</h2>",
              _estimand_html(next(iter(r["safety"].values()))["estimand"]), _table(saf),
              "<h2>Daily modified SOFA over time</h2>",
              f"<img alt='daily SOFA by group' src='data:image/png;base64,"
              f"{base64.b64encode(pngs['daily_sofa']).decode()}'>",
              "<h2>Participant flow (CONSORT)</h2>", _table(report.tables["consort"]),
              "<h2>Baseline characteristics (Table 1)</h2>", _table(report.tables["table1"]),
              "<h2>Data quality</h2>", _table(report.tables["data_quality"]),
              "<p>Missing ICU days take the previous day's score within the same stay, at most "
              f"{r['settings']['max_carried_forward_days']} days in a row; longer gaps are listed in "
              "imputation_gaps.csv and left missing.</p>",
              "</body></html>\n"]
    return "\n".join(parts)


def _outcome_table(report: Report) -> pd.DataFrame:
    f = report.tables["outcomes"]
    return pd.DataFrame({"outcome": f["outcome"], "estimate": f["estimate"].map(_fmt),
                         "95 % CI": [f"{_fmt(a)} to {_fmt(b)}" for a, b in zip(f["ci_low"], f["ci_high"])],
                         "P": f["p_value"].map(_p), "scale": f["panel"], "method": f["method"],
                         "population": f["population"],
                         **({"P (Holm)": f["p_holm"].map(_p)} if "p_holm" in f else {})})


def _sensitivity_html(r: dict) -> list[str]:
    """Death as worst, win ratio, Bayesian re-analysis and tipping point, each with its estimand."""
    e = html.escape
    g1, g0 = r["groups"]
    sa = r["sensitivity_analyses"]
    parts = ["<h2>Sensitivity and supportive analyses of the primary outcome</h2>"]

    def reason(x):
        return f"<p><b>Not estimable</b>: {e(x['not_estimable'])}.</p>"

    d = sa["death_as_worst"]
    parts += ["<h3>Death as the worst outcome (worst rank)</h3>", _estimand_html(d["estimand"])]
    parts.append(reason(d) if "not_estimable" in d else
                 f"<p>{e(g1)} n {d['n'][g1]} ({d['deaths'][g1]} deaths), {e(g0)} n {d['n'][g0]} ({d['deaths'][g0]} "
                 f"deaths); probability that a {e(g1)} participant does better: <b>{_fmt(d['probability_better'], 3)}"
                 f"</b>, P = {_p(d['p_value'])}. Method: {e(d['method'])}.</p>")
    w = sa["win_ratio"]
    parts += ["<h3>Win ratio (death, then mean daily modified SOFA)</h3>", _estimand_html(w["estimand"])]
    parts.append(reason(w) if "not_estimable" in w else
                 f"<p>{w['wins']} wins, {w['losses']} losses, {w['ties']} ties for {e(g1)}: win ratio "
                 f"<b>{_fmt(w['win_ratio'])}</b> (95 % CI {_fmt(w['ci_low'])} to {_fmt(w['ci_high'])}), "
                 f"P = {_p(w['p_value'])}. Method: {e(w['method'])}.</p>")
    b = sa["bayesian"]
    parts += ["<h3>Bayesian re-analysis</h3>", _estimand_html(b["estimand"])]
    if "not_estimable" in b:
        parts.append(reason(b))
    else:
        mcid = b["clinically_important_difference"]
        parts.append(_table(pd.DataFrame([{
            "prior": k, "prior mean (SD)": f"{_fmt(v['prior_mean'])} ({_fmt(v['prior_sd'])})",
            "posterior mean (95 % CrI)": f"{_fmt(v['posterior_mean'])} ({_fmt(v['cri_low'])} to {_fmt(v['cri_high'])})",
            "P(any benefit)": _fmt(v["p_benefit"], 3),
            f"P(benefit > {mcid:g} points)": _fmt(v["p_important_benefit"], 3),
            "P(harm)": _fmt(v["p_harm"], 3)} for k, v in b["priors"].items()])))
    t = sa["tipping_point"]
    parts += ["<h3>Missing not at random: delta-adjusted imputation and tipping point</h3>",
              _estimand_html(t["estimand"])]
    if "not_estimable" in t:
        parts.append(reason(t))
    else:
        tip = ("no listed delta changes the conclusion" if t["tipping_delta"] is None else
               f"tipping point: delta = {t['tipping_delta']:g} SOFA points")
        parts += [f"<p>{e(t['method'])}; {tip}.</p>", _table(pd.DataFrame([{
            "delta": x["delta"], "difference": _fmt(x["estimate"]),
            "95 % CI": f"{_fmt(x['ci_low'])} to {_fmt(x['ci_high'])}", "P": _p(x["p_value"])} for x in t["rows"]]))]
    return parts


def _estimand_html(est: dict, title: str = "Estimand") -> str:
    """The estimand beside its result: population, variable, summary measure, each intercurrent event."""
    e = html.escape
    rows = "".join(f"<tr><td>{e(i['description'])}</td><td>{e(i['strategy'].replace('_', ' '))}</td>"
                   f"<td>{e(i['handling'])}</td></tr>" for i in est["intercurrent_events"])
    return (f"<div class='estimand'><p><b>{e(title)}.</b> Population: <b>{e(est['population'].replace('_', '-'))}</b> "
            f"({e(est['population_definition'])}). Variable: {e(est['variable'])}. Summary measure: "
            f"{e(est['summary_measure'])}.</p><table><tr><th>intercurrent event</th><th>strategy</th>"
            f"<th>how it is handled</th></tr>{rows}</table></div>")


def write(report: Report, out_dir: str | Path) -> Path:
    """Write results.json, one CSV per table, the PNG figures and report.html into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(dumps(report.results), encoding="utf-8")
    for name, frame in report.tables.items():
        (out / f"{name}.csv").write_bytes(frame.to_csv(index=False, lineterminator="\n", float_format="%.10g")
                                          .encode("utf-8"))
    pngs = figures(report)
    for name, data in pngs.items():
        (out / f"{name}.png").write_bytes(data)
    (out / "report.html").write_text(html_report(report, pngs), encoding="utf-8")
    return out
