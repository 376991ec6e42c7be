"""Outcome derivation: from the validated data set to one value per participant (docs/analysis.md).

Every window counts from ``randomised_at``; study day *d* is ``[R + (d−1)·24 h, R + d·24 h)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shine import protocol as protocol_module
from shine.analysis.dataset import DAY, Dataset
from shine.analysis.schema import CODED_INPUTS, MISSING_CODES, SOFA_COMPONENTS
from shine.clinical.sofa import sofa_arrays
from shine.i18n import _, decimal

NON_CNS = tuple(c for c in SOFA_COMPONENTS if c != "cns")
SUPPORTS = ("vasopressor", "mechanical_ventilation", "rrt")


def _horizon(proto) -> int:
    return int(proto.outcomes.primary_horizon_days)


def daily_scores(data: Dataset) -> pd.DataFrame:
    """Daily modified SOFA per daily record: ``participant_id``, ``study_day``, the five non-CNS components
    (NaN where the record does not determine one) and ``modified`` (NaN unless all five are scored: a
    missing component is never counted 0; :func:`mean_daily_sofa` applies the protocol's rule to it)."""
    daily = data["daily"]
    scores = sofa_arrays(**{name: daily[name] for name in
                            ("pao2_fio2", "respiratory_support", "platelets", "bilirubin", "map_mmhg", "dopamine",
                             "dobutamine", "epinephrine", "norepinephrine", "gcs", "creatinine", "urine_output")})
    out = pd.DataFrame({"participant_id": daily["participant_id"].to_numpy(),
                        "study_day": daily["study_day"].to_numpy(dtype=np.int64)})
    for c in NON_CNS:
        out[c] = getattr(scores, c)
    out["modified"] = scores.modified
    return out


def icu_days(data: Dataset, *, horizon: int | None = None) -> pd.DataFrame:
    """Every study day 1..horizon that a participant spent, at least partly, in the ICU and alive at its
    start: ``participant_id``, ``study_day``, ``stay`` (the first stay covering the day).

    A stay ends at ``discharged_at``, at death when it ended in death, and at the data cut-off (or the
    horizon when the manifest gives none) while ``in_icu``.
    """
    horizon = horizon or _horizon(protocol_module.load())
    p = data["participants"].set_index("participant_id")
    stays = data["icu_stays"]
    deaths = data["deaths"].set_index("participant_id")["died_at"]
    r = stays["participant_id"].map(p["randomised_at"])
    died = stays["participant_id"].map(deaths)
    end = stays["discharged_at"].copy()
    end = end.where(stays["discharge"] != "died", died)
    open_end = data.data_cutoff if data.data_cutoff is not None else pd.NaT
    end = end.where(stays["discharge"] != "in_icu", open_end)
    end = end.fillna(r + horizon * DAY)
    first = np.floor((stays["admitted_at"] - r) / DAY).astype(int) + 1
    last = np.ceil((end - r) / DAY).astype(int)
    alive_last = np.ceil((died - r) / DAY).fillna(horizon).astype(int)
    first = np.maximum(first.to_numpy(), 1)
    last = np.minimum(np.minimum(last.to_numpy(), alive_last.to_numpy()), horizon)
    count = np.maximum(last - first + 1, 0)
    idx = np.repeat(np.arange(len(stays)), count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    days = pd.DataFrame({"participant_id": stays["participant_id"].to_numpy()[idx],
                         "study_day": first[idx] + offset,
                         "stay": stays["stay"].to_numpy(dtype=np.int64)[idx]})
    days = days.sort_values(["participant_id", "study_day", "stay"], kind="mergesort")
    return days.drop_duplicates(["participant_id", "study_day"]).reset_index(drop=True)


PRIMARY_RULE = "carry_component_forward"
COMPONENT_RULES = (PRIMARY_RULE, *protocol_module.MISSING_DATA_SENSITIVITY_RULES)


@dataclass(frozen=True)
class MeanDailySofa:
    """The primary outcome and its data-quality record.

    ``per_participant``: ``participant_id``, ``mean_sofa`` (NaN when no ICU day has a score), ``icu_days``,
    ``observed_days``, ``carried_days``, ``missing_days``, ``components_filled`` (missing components of
    recorded days filled by the component rule) and ``completed_days`` (observed days that needed it).
    ``days``: every ICU day with ``score``, ``source`` (``observed``: from the day's own record, its missing
    components filled by the component rule; ``carried``: the whole day carried forward; ``missing``) and
    ``components_filled``.
    ``gaps``: each run of missing ICU days not fully filled (too long, or at the start of a stay).
    ``max_carried``: the day carry-forward limit applied; ``component_rule`` and ``component_days``: the rule
    for a missing component (protocol ``[missing_data]``) and its carry-forward limit in study days.
    """

    per_participant: pd.DataFrame
    days: pd.DataFrame
    gaps: pd.DataFrame
    max_carried: int
    component_rule: str = PRIMARY_RULE
    component_days: int = 0

    def summary(self) -> str:
        t = self.per_participant[["icu_days", "observed_days", "carried_days", "missing_days",
                                  "components_filled", "completed_days"]].sum()
        how = (f"carried forward ≤ {self.component_days} day(s)" if self.component_rule == PRIMARY_RULE
               else "scored normal (0)")
        return (f"{len(self.per_participant)} participants, {int(t.icu_days)} ICU days: {int(t.observed_days)} "
                f"observed ({int(t.completed_days)} of them with {int(t.components_filled)} missing components "
                f"{how}), {int(t.carried_days)} carried forward (≤ {self.max_carried} in a row), "
                f"{int(t.missing_days)} missing in {len(self.gaps)} gaps; outcome missing for "
                f"{int(self.per_participant.mean_sofa.isna().sum())}")


def _fill_components(days: pd.DataFrame, rule: str, limit: int) -> tuple[pd.Series, pd.Series]:
    """The modified SOFA of each ICU day from its own record after the missing-component rule, and how many
    components the rule filled. ``days``: ICU days in (participant, stay, day) order with the five
    components (NaN where missing). A day without any observed component is left missing (the day rule
    handles it); so is a day whose component cannot be filled."""
    comps = days[list(NON_CNS)]
    recorded = comps.notna().any(axis=1)
    if rule == PRIMARY_RULE:
        # ICU days of a stay are consecutive rows, so a row limit is a limit in study days
        filled = comps.groupby([days["participant_id"], days["stay"]]).ffill(limit=limit) if limit else comps
    else:
        filled = comps.fillna(0.0)
    filled = filled.where(recorded, np.nan)
    n_filled = (filled.notna() & comps.isna()).sum(axis=1)
    score = filled.sum(axis=1, min_count=len(NON_CNS)).where(filled.notna().all(axis=1))
    return score, n_filled.where(score.notna(), 0).astype(int)


def mean_daily_sofa(data: Dataset, *, max_carried: int | None = None, component_rule: str | None = None,
                    component_days: int | None = None) -> MeanDailySofa:
    """Mean daily modified SOFA over the ICU days from randomisation until ICU discharge, death or the
    horizon (readmissions included).

    A recorded ICU day with a missing component (no value, or a missing-data code) first gets the component
    rule of the protocol's ``[missing_data]``: by default (``carry_component_forward``) the component's last
    observed score of the same stay from at most ``component_days`` study days before; with
    ``missing_component_scores_normal`` (the sensitivity analysis) it scores 0. A day still without all five
    components is missing. A missing ICU day (no record, or a component left missing) takes the previous
    day's score of the same stay, at most ``max_carried`` days in a row (protocol
    ``outcomes.max_carried_forward_days``); further days of a longer gap, and missing days at the start of a
    stay, stay missing and are listed in ``gaps``. The mean runs over the days with a score.
    """
    proto = protocol_module.load()
    limit = int(proto.outcomes.max_carried_forward_days if max_carried is None else max_carried)
    if limit < 0:
        raise ValueError(_("max_carried must be ≥ 0, got %(limit)s") % {"limit": decimal(limit, "")})
    rule = PRIMARY_RULE if component_rule is None else component_rule
    if rule not in COMPONENT_RULES:
        raise ValueError(_("component_rule must be one of %(items)s, got %(rule)s") % {
            "items": ', '.join(COMPONENT_RULES), "rule": decimal(rule, "r")})
    c_days = int(proto.missing_data.component_carry_forward_days if component_days is None else component_days)
    if c_days < 0:
        raise ValueError(_("component_days must be ≥ 0, got %(c_days)s") % {"c_days": decimal(c_days, "")})
    days = icu_days(data)
    scores = daily_scores(data)[["participant_id", "study_day", *NON_CNS]]
    days = days.merge(scores, on=["participant_id", "study_day"], how="left")
    days["modified"], days["components_filled"] = _fill_components(days, rule, c_days)
    days = days.drop(columns=list(NON_CNS))
    observed = days["modified"].notna()
    if limit:
        filled = days.groupby(["participant_id", "stay"])["modified"].ffill(limit=limit)
    else:
        filled = days["modified"]
    days["score"] = filled
    days["source"] = np.where(observed, "observed", np.where(filled.notna(), "carried", "missing"))
    days = days.drop(columns="modified")

    # runs of consecutive missing days within a stay
    miss = ~observed
    run_id = (miss != miss.groupby([days["participant_id"], days["stay"]]).shift(fill_value=False)).cumsum()
    runs = days[miss].assign(run=run_id[miss]).groupby("run").agg(
        participant_id=("participant_id", "first"), stay=("stay", "first"), first_day=("study_day", "min"),
        last_day=("study_day", "max"), length=("study_day", "size"),
        carried=("source", lambda s: int((s == "carried").sum())))
    gaps = runs[runs["length"] > runs["carried"]].reset_index(drop=True)
    gaps["left_missing"] = gaps["length"] - gaps["carried"]

    ids = data["participants"]["participant_id"]
    g = days.groupby("participant_id")
    per = pd.DataFrame({
        "mean_sofa": g["score"].mean(),
        "icu_days": g.size(),
        "observed_days": g["source"].agg(lambda s: int((s == "observed").sum())),
        "carried_days": g["source"].agg(lambda s: int((s == "carried").sum())),
        "missing_days": g["source"].agg(lambda s: int((s == "missing").sum())),
        "components_filled": g["components_filled"].sum(),
        "completed_days": g["components_filled"].agg(lambda s: int((s > 0).sum())),
    }).reindex(ids)
    counts = ["icu_days", "observed_days", "carried_days", "missing_days", "components_filled", "completed_days"]
    per[counts] = per[counts].astype(float).fillna(0).astype(int)
    per = per.rename_axis("participant_id").reset_index()
    return MeanDailySofa(per_participant=per, days=days.reset_index(drop=True), gaps=gaps, max_carried=limit,
                         component_rule=rule, component_days=c_days)


@dataclass(frozen=True)
class MissingDataReport:
    """How the primary outcome's inputs were captured and how the missing ones were handled.

    ``inputs``: one row per captured input (:data:`~shine.analysis.schema.CODED_INPUTS`) over the daily
    records of ICU days: ``value``, one count per missing-data code, and ``not_entered`` (neither).
    ``primary`` and ``sensitivity``: :class:`MeanDailySofa` under the protocol's component rule and under its
    sensitivity rule.
    """

    inputs: pd.DataFrame
    primary: MeanDailySofa
    sensitivity: MeanDailySofa

    def as_dict(self) -> dict:
        def totals(m: MeanDailySofa) -> dict:
            t = m.per_participant
            return {"rule": m.component_rule, "component_carry_forward_days": m.component_days,
                    "day_carry_forward_days": m.max_carried,
                    **{c: int(t[c].sum()) for c in ("icu_days", "observed_days", "completed_days",
                                                    "components_filled", "carried_days", "missing_days")},
                    "outcome_missing": int(t["mean_sofa"].isna().sum()),
                    "mean_of_means": None if t["mean_sofa"].isna().all() else float(t["mean_sofa"].mean())}
        return {"inputs": self.inputs.to_dict(orient="records"), "primary": totals(self.primary),
                "sensitivity": totals(self.sensitivity)}

    def summary(self) -> str:
        coded = int(self.inputs[list(MISSING_CODES)].to_numpy().sum())
        blank = int(self.inputs["not_entered"].sum())
        return (f"missing data: {coded} inputs coded, {blank} not entered; primary rule: {self.primary.summary()}; "
                f"sensitivity ({self.sensitivity.component_rule}): {self.sensitivity.summary()}")


def missing_data_report(data: Dataset) -> MissingDataReport:
    """Counts of values, codes and blanks per captured input, and the outcome under both component rules."""
    daily = data["daily"]
    codes = data["daily_missing"] if data.has("daily_missing") else pd.DataFrame(
        columns=["participant_id", "study_day", "input", "code"])
    rows = []
    for name in CODED_INPUTS:
        if name == "vasopressor_doses":
            present = daily[["dopamine", "dobutamine", "epinephrine", "norepinephrine"]].notna().any(axis=1)
        else:
            present = daily[name].notna()
        mine = codes[codes["input"] == name]
        keyed = pd.MultiIndex.from_frame(mine[["participant_id", "study_day"]].astype({"study_day": "int64"}))
        key = pd.MultiIndex.from_arrays([daily["participant_id"], daily["study_day"].astype("int64")])
        coded = key.isin(keyed) & ~present.to_numpy()
        row = {"input": name, "value": int(present.sum())}
        for code in MISSING_CODES:
            row[code] = int((mine["code"] == code).sum())
        row["not_entered"] = int((~present.to_numpy() & ~coded).sum())
        rows.append(row)
    return MissingDataReport(inputs=pd.DataFrame(rows), primary=mean_daily_sofa(data),
                             sensitivity=mean_daily_sofa(data, component_rule=COMPONENT_RULES[1]))


@dataclass(frozen=True)
class VitalStatus:
    """Survival to the horizon per participant: ``time_days`` (death or censoring, at most the horizon),
    ``died`` (death within the horizon), ``complete`` (followed to the horizon or died)."""

    frame: pd.DataFrame
    horizon: int

    def mortality(self, day: int) -> pd.Series:
        """1.0 dead by ``day``, 0.0 known alive at ``day``, NaN unknown (censored earlier)."""
        f = self.frame
        dead = f["died"] & (f["time_days"] <= day)
        alive = ~dead & (f["time_days"] >= day)
        return pd.Series(np.where(dead, 1.0, np.where(alive, 0.0, np.nan)), index=f["participant_id"])


def vital_status(data: Dataset, *, horizon: int | None = None) -> VitalStatus:
    """Death or censoring time per participant, counted from randomisation and capped at ``horizon``.

    Vital status is taken as known up to the data cut-off (or the horizon when the manifest has none),
    unless a follow-up visit records ``unknown``: then the participant is censored at the last time known
    alive (an ``alive`` visit, an ICU discharge or the start of the last daily record).
    """
    horizon = horizon or _horizon(protocol_module.load())
    p = data["participants"][["participant_id", "randomised_at"]].set_index("participant_id")
    r = p["randomised_at"]
    died_at = data["deaths"].set_index("participant_id")["died_at"].reindex(p.index)
    death_days = (died_at - r) / DAY
    if data.data_cutoff is not None:
        follow = (data.data_cutoff - r) / DAY
    else:
        follow = pd.Series(float(horizon), index=p.index)
    fu = data["followup"]
    lost = fu.loc[fu["vital_status"] == "unknown", "participant_id"].unique()
    if len(lost):
        alive_times = [fu.loc[fu["vital_status"] == "alive", ["participant_id", "assessed_at"]]
                       .rename(columns={"assessed_at": "t"}),
                       data["icu_stays"][["participant_id", "discharged_at"]].rename(columns={"discharged_at": "t"})]
        d = data["daily"][["participant_id", "study_day"]]
        alive_times.append(pd.DataFrame({"participant_id": d["participant_id"],
                                         "t": d["participant_id"].map(r) + (d["study_day"].astype(float) - 1) * DAY}))
        known = pd.concat(alive_times).dropna().groupby("participant_id")["t"].max()
        last_known = ((known.reindex(p.index) - r) / DAY).fillna(0.0)
        follow = follow.where(~p.index.isin(lost), np.minimum(follow, last_known))
    died = death_days.notna() & (death_days <= horizon)
    time = np.where(died, death_days, np.minimum(follow, horizon))
    frame = pd.DataFrame({"participant_id": p.index, "time_days": time.astype(float), "died": died.to_numpy(),
                          "complete": (died | (follow >= horizon)).to_numpy()})
    return VitalStatus(frame=frame.reset_index(drop=True), horizon=horizon)


def days_without_support(data: Dataset, *, horizon: int | None = None) -> pd.DataFrame:
    """Days alive and free of each support within the horizon, per participant.

    A study day counts when the participant is alive at its end and not on the support that day. Days
    out of the ICU count as free; an ICU day without a record of the flag counts as not free (no credit
    without data) and is counted in ``<support>_unknown_days``. A participant who dies gets only the full
    days lived. Participants followed for less than the horizon (alive, censored) get NaN.
    Columns: ``participant_id``, ``days_alive``, then ``<support>_free_days`` and
    ``<support>_unknown_days`` for vasopressor, mechanical_ventilation and rrt.
    """
    horizon = horizon or _horizon(protocol_module.load())
    status = vital_status(data, horizon=horizon).frame.set_index("participant_id")
    days_alive = np.where(status["died"], np.floor(status["time_days"]), horizon).astype(float)
    out = pd.DataFrame({"days_alive": days_alive}, index=status.index)
    icu = icu_days(data, horizon=horizon)
    r = data["participants"].set_index("participant_id")["randomised_at"]
    died_at = data["deaths"].set_index("participant_id")["died_at"]
    day_end = icu["participant_id"].map(r) + icu["study_day"] * DAY
    icu = icu[~(icu["participant_id"].map(died_at) < day_end).fillna(False).to_numpy(dtype=bool)]
    flags = data["daily"][["participant_id", "study_day", *SUPPORTS]]
    icu = icu.merge(flags, on=["participant_id", "study_day"], how="left")
    for s in SUPPORTS:
        on = icu[s].astype("boolean")
        not_free = icu.assign(x=on.fillna(True).astype(bool)).groupby("participant_id")["x"].sum()
        unknown = icu.assign(x=on.isna()).groupby("participant_id")["x"].sum()
        out[f"{s}_free_days"] = out["days_alive"] - not_free.reindex(out.index).fillna(0)
        out[f"{s}_unknown_days"] = unknown.reindex(out.index).fillna(0).astype(int)
    incomplete = ~status["complete"]
    out.loc[incomplete, ["days_alive", *(f"{s}_free_days" for s in SUPPORTS)]] = np.nan
    return out.rename_axis("participant_id").reset_index()


SAFETY_COUNTS = ("sae", "sar", "susar", "prespecified_sae")


def adverse_events_in_window(data: Dataset, *, days: int | None = None) -> pd.DataFrame:
    """Serious events with onset within ``days`` (protocol ``schedule.sae_window_days``) of randomisation,
    per participant: ``sae`` (count), ``sar`` (serious and related), ``susar`` (a SAR the sponsor judged
    unexpected), ``prespecified_sae`` (serious and one of the protocol's prespecified events), ``any_…``
    indicators of each, and ``sar_expectedness_unknown`` (SARs not yet assessed for expectedness).

    A data set without the ``adverse_events`` table captured no safety data: every count is then missing
    (NaN, ``any_…`` ``<NA>``), never zero. A participant with a SAR of unknown expectedness and no known
    SUSAR has ``any_susar`` ``<NA>``: whether they had a SUSAR is not known yet."""
    ids = data["participants"]["participant_id"]
    if not data.has("adverse_events"):
        out = pd.DataFrame({"participant_id": ids.to_numpy()})
        for c in (*SAFETY_COUNTS, "sar_expectedness_unknown"):
            out[c] = np.nan
        for c in SAFETY_COUNTS:
            out[f"any_{c}"] = pd.array([pd.NA] * len(out), dtype="boolean")
        return out
    proto = protocol_module.load()
    days = int(proto.schedule.sae_window_days if days is None else days)
    ae = data["adverse_events"]
    r = ae["participant_id"].map(data["participants"].set_index("participant_id")["randomised_at"])
    inside = ((ae["onset_at"] - r) < days * DAY).to_numpy(dtype=bool)
    e = ae[inside]
    serious = e["serious"].astype(bool)
    sar = serious & e["related"].astype(bool)
    expected = e["expected"].astype("boolean")
    by = e["participant_id"]
    counts = pd.DataFrame({
        "sae": serious.groupby(by).sum(),
        "sar": sar.groupby(by).sum(),
        "susar": (sar & (expected == False).fillna(False).astype(bool)).groupby(by).sum(),  # noqa: E712
        "prespecified_sae": (serious & (e["prespecified"] != "")).groupby(by).sum(),
        "sar_expectedness_unknown": (sar & expected.isna().to_numpy()).groupby(by).sum(),
    })
    counts = counts.reindex(ids).fillna(0).astype(int)
    for c in SAFETY_COUNTS:
        counts[f"any_{c}"] = (counts[c] > 0).astype("boolean")
    unknown = (counts["susar"] == 0) & (counts["sar_expectedness_unknown"] > 0)
    counts.loc[unknown, "any_susar"] = pd.NA
    return counts.rename_axis("participant_id").reset_index()
