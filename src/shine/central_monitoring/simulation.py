"""Acceptance of central statistical monitoring on simulated trials (docs/monitoring.md).

A pool of participants comes from the trial simulator (:func:`shine.simulation.patients.generate_dataset`);
each run draws a trial of ``n`` of them and, when asked, fabricates one site's values the way invented data
look: each participant's daily values replaced by that participant's mean plus a little noise (low variance),
rounded (MAP to 5 mmHg, platelets and creatinine to 10, bilirubin to 5, weight to whole kg, lactate to 0.5).
The rates are the share of runs in which the fabricated site, and each clean site, is flagged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .checks import FDR, flagged_sites, site_signals

DAILY = ("map_mmhg", "platelets", "creatinine", "bilirubin")
ROUND_TO = {"map_mmhg": 5.0, "platelets": 10.0, "creatinine": 10.0, "bilirubin": 5.0}
SAE_DAYS = 7


@dataclass(frozen=True)
class Rates:
    runs: int
    fabricated_flagged: float          # share of runs flagging the fabricated site (nan without one)
    clean_flagged: float               # share of (run, clean site) pairs flagged
    any_clean_flagged: float           # share of runs flagging at least one clean site
    raw_p_below_05: float              # share of clean sites' p-values below 0.05 (about 0.05 when valid)


def pool(n_patients: int = 1500, seed: int = 11) -> Mapping[str, pd.DataFrame]:
    from shine.simulation.patients import generate_dataset

    return generate_dataset(n_patients, seed=seed).tables


def inputs(participants: pd.DataFrame, daily: pd.DataFrame, adverse: pd.DataFrame) -> dict:
    """The arguments of :func:`site_signals` from simulator-shaped tables (site on ``participants``)."""
    site_of = dict(zip(participants.participant_id, participants.site))
    d = daily.assign(site=daily.participant_id.map(site_of))
    values = {"map_mmhg": list(zip(d.site, d.participant_id, d.map_mmhg)),
              "norepinephrine": [r for r in zip(d.site, d.participant_id, d.norepinephrine) if r[2] > 0],
              "weight_kg": list(zip(participants.site, participants.participant_id, participants.weight_kg)),
              "lactate_mmol_l": list(zip(participants.site, participants.participant_id,
                                         participants.lactate_mmol_l))}
    per_day = {v: list(zip(d.site, d.participant_id, d[v])) for v in DAILY}
    missing = {}
    for site, g in d.groupby("site"):
        block = g[list(DAILY)]
        missing[site] = (int(block.isna().to_numpy().sum()), int(block.size))
    serious = adverse[adverse.serious].participant_id.map(site_of).value_counts().to_dict()
    days = participants.groupby("site").size() * SAE_DAYS
    sae = {site: (int(serious.get(site, 0)), float(t)) for site, t in days.items()}
    return {"values": values, "daily": per_day, "missing": {"daily record": missing}, "sae": sae}


def fabricate(participants: pd.DataFrame, daily: pd.DataFrame, site: str, rng: np.random.Generator):
    """The site's values invented: smooth (participant mean + 10 % of its SD) and rounded; the values missing
    stay missing."""
    ids = set(participants.participant_id[participants.site == site])
    daily = daily.copy()
    mask = daily.participant_id.isin(ids)
    for v in DAILY:
        g = daily.loc[mask].groupby("participant_id")[v]
        mean, sd = g.transform("mean"), g.transform("std").fillna(0)
        fake = mean + rng.normal(0, 1, mask.sum()) * 0.1 * sd
        fake[daily.loc[mask, v].isna()] = np.nan  # values missing stay missing
        daily.loc[mask, v] = (fake / ROUND_TO[v]).round() * ROUND_TO[v]
    participants = participants.copy()
    pm = participants.site == site
    participants.loc[pm, "weight_kg"] = participants.loc[pm, "weight_kg"].round()
    participants.loc[pm, "lactate_mmol_l"] = (participants.loc[pm, "lactate_mmol_l"] * 2).round() / 2
    return participants, daily


def rates(tables: dict[str, pd.DataFrame], *, runs: int = 200, n: int = 279, fabricated: bool, seed: int = 1,
          fdr: float = FDR, site: str | None = None) -> Rates:
    """Flag rates over ``runs`` trials of ``n`` participants drawn from the pool; with ``fabricated``, one site
    (``site``, or the largest-but-one of each trial) has invented values."""
    rng = np.random.default_rng(seed)
    people, daily, adverse = tables["participants"], tables["daily"], tables["adverse_events"]
    fab_hits = clean_hits = clean_total = any_clean = raw_low = raw_total = 0
    for _ in range(runs):
        chosen = people.iloc[rng.choice(len(people), size=n, replace=False)]
        ids = set(chosen.participant_id)
        d = daily[daily.participant_id.isin(ids)]
        a = adverse[adverse.participant_id.isin(ids)]
        target = None
        if fabricated:
            target = site or chosen.site.value_counts().index[1]
            chosen, d = fabricate(chosen, d, target, rng)
        signals = site_signals(**inputs(chosen, d, a), fdr=fdr)
        flagged = flagged_sites(signals)
        sites = set(chosen.site)
        clean = sites - {target}
        fab_hits += target in flagged
        clean_hits += len(flagged & clean)
        clean_total += len(clean)
        any_clean += bool(flagged & clean)
        ps = [s.p for s in signals if s.site in clean and s.p is not None]
        raw_low += sum(p < 0.05 for p in ps)
        raw_total += len(ps)
    return Rates(runs, fab_hits / runs if fabricated else float("nan"), clean_hits / clean_total,
                 any_clean / runs, raw_low / raw_total)
