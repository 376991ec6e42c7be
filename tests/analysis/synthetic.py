"""A small, self-contained generator of valid analysis data sets for the analysis tests and benchmark.

Not the trial simulator (``shine.simulation``): just enough realism (sites, ICU stays with readmissions,
deaths, missing days, infusion interruptions, adverse events, deviations, screening log) to exercise every
derivation and analysis. ``sofa_shift`` moves the active arm's daily SOFA inputs to a worse (positive) or
better (negative) level.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shine import protocol
from shine.analysis.schema import write_dataset

H = pd.Timedelta(hours=1)
DAY = pd.Timedelta(hours=24)
START = pd.Timestamp("2020-01-01T00:00:00Z")


def _round(t: pd.Timestamp) -> pd.Timestamp:
    return t.floor("s")


def generate(n: int = 60, seed: int = 1, *, sofa_shift: float = 0.0, death_risk: float = 0.45,
             missing_day_rate: float = 0.04, blinded: bool = False, screening: bool = True) -> dict:
    """Frames of a valid data set with ``n`` participants (deterministic for a seed)."""
    proto = protocol.load()
    rng = np.random.default_rng(seed)
    active, control = proto.arms
    sites = proto.site_codes
    rows = {k: [] for k in ("participants", "daily", "icu_stays", "deaths", "infusion", "adverse_events",
                            "followup", "deviations", "screening")}
    counters = {s: 0 for s in sites}
    last_time = START
    for i in range(n):
        site = sites[rng.integers(len(sites))]
        counters[site] += 1
        pid = f"{site}-{counters[site]:04d}"
        arm = active if rng.random() < 0.5 else control
        treated = arm == active
        r = _round(START + pd.Timedelta(seconds=int(rng.integers(0, 400 * 86400))))
        weight = float(np.round(rng.uniform(50, 120), 1))
        comps = {c: int(rng.integers(0, 5)) for c in ("respiration", "coagulation", "liver", "cardiovascular",
                                                         "cns", "renal")}
        if rng.random() < 0.05:
            comps["liver"] = None
        severity = (sum(v or 0 for k, v in comps.items() if k != "cns") / 20) + rng.normal(0, 0.15)
        rows["participants"].append(dict(
            participant_id=pid, site=site, arm=("A" if treated else "B") if blinded else arm,
            randomisation_number=i + 1, randomised_at=r, age=int(np.clip(rng.normal(67, 13), 18, 100)),
            sex="F" if rng.random() < 0.38 else "M", weight_kg=weight, weight_estimated=bool(rng.random() < 0.4),
            site_of_infection=rng.choice(["pulmonary", "abdominal", "urinary", "bloodstream", "other"]),
            lactate_mmol_l=float(np.round(rng.uniform(2.1, 12), 1)),
            stm_ng_ml=float(np.round(rng.uniform(10.5, 60), 1)),
            **{f"baseline_sofa_{k}": v for k, v in comps.items()},
            baseline_sofa_modified=None if comps["liver"] is None else  # a missing component is never 0
            sum(v for k, v in comps.items() if k != "cns"),
            data_use_consent=bool(rng.random() > 0.02)))

        # outcome course: time of death (days after randomisation) and ICU stays
        die = rng.random() < death_risk + 0.2 * (severity - 0.5)
        death_day = float(rng.exponential(12)) + 0.2 if die else None
        if death_day is not None and death_day > 200:
            death_day = None
        los = float(rng.exponential(7)) + 0.5
        admitted = r - pd.Timedelta(minutes=int(rng.integers(30, 600)))
        stays = []
        if death_day is not None and death_day <= los:
            stays.append((admitted, None, "died"))
        else:
            end1 = _round(r + pd.Timedelta(seconds=int(los * 86400)))
            stays.append((admitted, end1, "discharged"))
            if rng.random() < 0.12:
                start2 = end1 + pd.Timedelta(seconds=int(rng.uniform(2, 10) * 86400))
                len2 = rng.uniform(1, 6)
                if death_day is not None and r + pd.Timedelta(days=death_day) <= start2 + pd.Timedelta(days=len2):
                    if r + pd.Timedelta(days=death_day) > start2:
                        stays.append((_round(start2), None, "died"))
                else:
                    stays.append((_round(start2), _round(start2 + pd.Timedelta(days=len2)), "discharged"))
        died_at = _round(r + pd.Timedelta(seconds=int(death_day * 86400))) if death_day is not None else None
        for k, (a, d, how) in enumerate(stays, start=1):
            rows["icu_stays"].append(dict(participant_id=pid, stay=k, admitted_at=a, discharged_at=d,
                                          discharge=how))
        if died_at is not None:
            rows["deaths"].append(dict(participant_id=pid, died_at=died_at, cause=""))

        # daily records on every study day overlapping a stay, alive at its start
        level = 8 * severity + (sofa_shift if treated else 0.0)
        for day in range(1, 91):
            ds, de = r + (day - 1) * DAY, r + day * DAY
            if died_at is not None and died_at <= ds:
                break
            in_icu = any(a < de and (d or died_at or pd.Timestamp.max.tz_localize("UTC")) > ds for a, d, _ in stays)
            if not in_icu or rng.random() < missing_day_rate:
                continue
            x = np.clip(level * (0.97 ** day) + rng.normal(0, 1.2), 0, 20) / 20  # 0 (healthy) .. 1 (sick)
            norepi = float(np.round(max(0.0, rng.normal(0.35 * x, 0.05)), 3)) if x > 0.3 else 0.0
            support = bool(x > 0.4 or rng.random() < 0.2)
            creat = float(np.round(60 + 400 * x + rng.normal(0, 30), 0))
            rrt = bool(creat > 330 and rng.random() < 0.6)
            rows["daily"].append(dict(
                participant_id=pid, study_day=day,
                pao2_fio2=float(np.round(np.clip(450 - 380 * x + rng.normal(0, 30), 40, 600), 1)),
                respiratory_support=support,
                platelets=(None if rng.random() < 0.05
                           else float(np.round(max(5, 260 - 240 * x + rng.normal(0, 20)), 0))),
                bilirubin=float(np.round(max(3, 10 + 150 * x ** 2 + rng.normal(0, 5)), 0)),
                map_mmhg=float(np.round(np.clip(80 - 15 * x + rng.normal(0, 5), 40, 120), 0)),
                dopamine=0.0, dobutamine=0.0, epinephrine=0.0, norepinephrine=norepi,
                gcs=int(np.clip(round(15 - 10 * x + rng.normal(0, 1)), 3, 15)),
                creatinine=float(np.clip(creat, 20, 2000)), urine_output=None if rng.random() < 0.3 else
                float(np.round(max(0, 2000 - 1800 * x + rng.normal(0, 200)), 0)),
                vasopressor=norepi > 0, mechanical_ventilation=support and x > 0.45, rrt=rrt))

        # infusion: 72 h, sometimes interrupted, sometimes stopped early; never after death
        rate = float(np.round(weight * 60 / proto.intervention.concentration_ng_per_ml, 2))
        start = r + pd.Timedelta(minutes=int(rng.integers(10, 120)))
        planned_end = start + pd.Timedelta(hours=proto.intervention.duration_hours)
        if rng.random() < 0.08:
            planned_end = start + pd.Timedelta(hours=float(rng.uniform(4, 30)))
        if died_at is not None:
            planned_end = min(planned_end, died_at)
        segments = [(start, planned_end)]
        if rng.random() < 0.15 and planned_end - start > 30 * H:
            cut = start + 20 * H
            segments = [(start, cut), (cut + pd.Timedelta(hours=float(rng.uniform(1, 6))), planned_end)]
        for k, (a, b) in enumerate(segments, start=1):
            if b <= a:
                continue
            rows["infusion"].append(dict(participant_id=pid, segment=k, started_at=_round(a), stopped_at=_round(b),
                                         rate_ml_per_h=rate,
                                         concentration_ng_per_ml=proto.intervention.concentration_ng_per_ml,
                                         stop_reason="interrupted" if k < len(segments) else "planned_end"))

        # adverse events in the first two weeks (some after death are dropped)
        for k in range(rng.poisson(0.35)):
            onset = _round(r + pd.Timedelta(seconds=int(rng.uniform(0, 14) * 86400)))
            if died_at is not None and onset > died_at:
                continue
            pre = rng.random() < 0.5
            rows["adverse_events"].append(dict(
                participant_id=pid, event_id=f"AE{k + 1}", onset_at=onset, term="event",
                prespecified=rng.choice(proto.safety.prespecified_events) if pre else "",
                serious=bool(rng.random() < 0.7), related=bool(rng.random() < 0.25), expected=bool(rng.random() < 0.8)))

        # follow-up visits inside their windows
        for visit in proto.schedule.followup_days:
            at = _round(r + pd.Timedelta(days=visit) + pd.Timedelta(hours=float(rng.uniform(1, 48))))
            status = "dead" if died_at is not None and died_at <= at else "alive"
            q = {} if status == "dead" else {f"eq5d_{d}": int(rng.integers(1, 6)) for d in
                                             ("mobility", "selfcare", "activities", "pain", "anxiety")}
            rows["followup"].append(dict(participant_id=pid, visit_day=visit, assessed_at=at, vital_status=status,
                                         eq5d_vas=None if status == "dead" else int(rng.integers(20, 100)), **q))
            last_time = max(last_time, at)
        if rng.random() < 0.05:
            rows["deviations"].append(dict(participant_id=pid, deviation_id="D1", category="intervention",
                                           major=True, description="wrong infusion rate"))
        if screening:
            rows["screening"].append(dict(screening_id=f"S{len(rows['screening']) + 1:05d}", site=site,
                                          screened_at=r - H, outcome="randomised", reasons="", participant_id=pid))
            for _ in range(rng.poisson(1.5)):
                rows["screening"].append(dict(screening_id=f"S{len(rows['screening']) + 1:05d}", site=site,
                                              screened_at=r - 2 * H, outcome="not_eligible",
                                              reasons="stm_low", participant_id=""))

    from shine.analysis.schema import TABLES

    frames = {}
    for name, table in TABLES.items():
        if name == "screening" and not screening:
            continue
        frames[name] = pd.DataFrame(rows.get(name, []), columns=list(table.column_names))
    frames["_cutoff"] = (last_time + DAY).strftime("%Y-%m-%dT%H:%M:%SZ")
    return frames


def write(out_dir: str | Path, n: int = 60, seed: int = 1, **kwargs) -> Path:
    frames = generate(n, seed, **kwargs)
    cutoff = frames.pop("_cutoff")
    return write_dataset(frames, out_dir, blinded=kwargs.get("blinded", False), source="simulation",
                         data_cutoff=cutoff, parquet=False)
