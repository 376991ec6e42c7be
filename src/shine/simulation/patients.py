"""Realistic synthetic SHINE data sets: participants, daily raw SOFA inputs, stays, deaths, infusion logs,
adverse events, follow-up, deviations, screening log and consent events.

The model (docs/simulation.md) is calibrated so that, with no treatment effect, it reproduces the
published trial within sampling error: mean daily modified SOFA ≈ 10.5, 28-day mortality ≈ 44 %, 90-day
mortality ≈ 51 %, median age ≈ 69, ≈ 38 % women. Daily values are raw inputs (P/F ratio, platelets, …)
that :func:`shine.clinical.sofa.sofa_arrays` scores; each organ follows a latent severity with
day-to-day autocorrelation, improving in survivors and worsening in the days before death.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from shine import protocol as _protocol
from shine.analysis.schema import TABLES, write_dataset
from shine.clinical.dosing import infusion_rate_ml_per_h
from shine.clinical.eligibility import assess
from shine.clinical.sofa import COMPONENTS
from shine.i18n import _, decimal
from shine.simulation.allocation import allocate_by_site

DAY = 86_400  # seconds
ORGANS = tuple(c for c in COMPONENTS if c != "cns")
INFECTION_SITES = {"pulmonary": 0.40, "abdominal": 0.30, "urinary": 0.10, "skin_soft_tissue": 0.06,
                   "bloodstream": 0.05, "cns": 0.01, "other": 0.05, "unknown": 0.03}
# integer value bands (inclusive) of each raw input that give SOFA 0..4 (PROTOCOL.md SOFA table)
PF_BANDS = ((400, 550), (300, 399), (200, 299), (100, 199), (50, 99))
PLATELET_BANDS = ((150, 400), (100, 149), (50, 99), (20, 49), (5, 19))
BILIRUBIN_BANDS = ((5, 19), (20, 32), (33, 101), (102, 204), (205, 450))
CREATININE_BANDS = ((45, 109), (110, 170), (171, 299), (300, 440), (441, 800))


@dataclass(frozen=True)
class DatasetParameters:
    """Settings of the synthetic-patient model; every default is marked as calibrated or assumed.

    Treatment effects: ``effect`` lowers every organ's latent severity of iloprost patients so that the
    daily modified SOFA drops by about ``effect`` points (> 0 = benefit); ``mortality_rr`` multiplies
    their probability of death by day 90; ``sae_rr`` their probability of a prespecified serious event.
    """

    effect: float = 0.0
    mortality_rr: float = 1.0
    sae_rr: float = 1.0
    # recruitment (assumed): site weights in protocol site order, patients per day over all sites
    site_weights: tuple[float, ...] = (0.27, 0.13, 0.22, 0.10, 0.17, 0.11)
    patients_per_day: float = 0.3
    start: str = "2020-02-01T08:00:00Z"
    screened_per_randomised: float = 1.6
    # demography (calibrated: median age 69, 38 % women)
    age_mean: float = 69.0
    age_sd: float = 12.0
    female: float = 0.38
    # organ severity (calibrated: mean daily modified SOFA 10.5 with placebo)
    severity: float = 1.01
    organ_means: tuple[float, ...] = (2.2, 1.2, 0.7, 3.6, 1.7)  # ORGANS order, before `severity`
    organ_frailty: tuple[float, ...] = (0.35, 0.35, 0.3, 0.25, 0.4)
    recovery_per_day: tuple[float, ...] = (0.10, 0.12, 0.06, 0.40, 0.12)
    # latent shift per point of `effect` (calibrated: bounded 0–4 components absorb part of a plain shift)
    effect_scale: float = 1.15
    terminal_worsening: float = 0.45  # per organ and day over the last 3 days before a death in the ICU
    day_to_day_sd: float = 0.45
    day_to_day_correlation: float = 0.7
    # mortality (calibrated: 51 % by day 90; 86 % of deaths by day 28)
    mortality_logit: float = 0.05
    death_rate_per_day: float = 0.0705
    icu_death_share: float = 0.85
    readmission: float = 0.06
    survivor_icu_days_median: float = 6.0
    # data quality (assumed)
    missing_bilirubin: float = 0.05
    missing_day: float = 0.01
    infusion_interruption: float = 0.3
    major_deviation: float = 0.03
    minor_deviation: float = 0.06
    next_of_kin_refusal: float = 0.03
    sae_risk: float = 0.15
    # disease-related serious events of septic shock (assumed): exempt from expedited reporting, any time to
    # day 14 (so some fall outside the SAE window), rarely judged related
    disease_sae_risk: float = 0.2
    disease_sae_related: float = 0.05
    # the sponsor judges expectedness within this many days of a SAR's onset (assumed): SARs more recent
    # than this at the cut-off have no expectedness yet
    expectedness_lag_days: float = 3.0

    def check(self) -> None:
        if not math.isfinite(self.effect) or abs(self.effect) > 10:
            raise ValueError(_("effect must lie between -10 and 10 SOFA points; got %(effect)s") % {
                "effect": decimal(self.effect, "r")})
        for name in ("disease_sae_risk", "disease_sae_related"):
            v = getattr(self, name)
            if not (math.isfinite(v) and 0 <= v <= 1):
                raise ValueError(_("%(name)s must be a probability between 0 and 1; got %(v)s") % {
                    "name": name, "v": decimal(v, "r")})
        if not (math.isfinite(self.expectedness_lag_days) and 0 <= self.expectedness_lag_days <= 90):
            raise ValueError(_("expectedness_lag_days must lie between 0 and 90; got %(expectedness_lag_days)s") % {
                "expectedness_lag_days": decimal(self.expectedness_lag_days, "r")})
        for name in ("mortality_rr", "sae_rr"):
            v = getattr(self, name)
            if not (math.isfinite(v) and 0 < v <= 5):
                raise ValueError(_("%(name)s must lie in (0, 5]; got %(v)s") % {
                    "name": name, "v": decimal(v, "r")})
        if self.patients_per_day <= 0:
            raise ValueError(_("patients_per_day must be positive; got %(patients_per_day)s") % {
                "patients_per_day": decimal(self.patients_per_day, "r")})


@dataclass(frozen=True)
class SyntheticDataset:
    """A generated data set. ``tables``: the analysis data set's tables (docs/data-model.md), screening
    included; ``consent``: consent events (``participant_id``, ``role``, ``event``, ``at``,
    ``form_version``, ``entered_by``), not part of the analysis data set; ``data_cutoff``: ISO time."""

    tables: MappingProxyType
    consent: pd.DataFrame
    seed: int
    n_patients: int
    parameters: DatasetParameters
    data_cutoff: str
    blinded: bool = False

    def write(self, out_dir: str | Path, *, parquet: bool = True) -> Path:
        """Write the tables with :func:`shine.analysis.schema.write_dataset` (same seed → same bytes)."""
        extra = {"simulation": {"seed": self.seed, "n_patients": self.n_patients,
                                "parameters": _jsonable(asdict(self.parameters))}}
        return write_dataset(dict(self.tables), out_dir, blinded=self.blinded, source="simulation",
                             data_cutoff=self.data_cutoff, extra=extra, parquet=parquet)

    def summary(self) -> str:
        p = self.tables["participants"]
        return (f"{len(p)} participants at {p['site'].nunique()} sites, {len(self.tables['daily'])} ICU days, "
                f"{len(self.tables['deaths'])} deaths, {len(self.tables.get('screening', []))} screened; "
                f"seed {self.seed}, effect {self.parameters.effect:g}, cut-off {self.data_cutoff}")


def _jsonable(d: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def _iso(seconds, base: pd.Timestamp) -> pd.Series:
    return base + pd.to_timedelta(np.asarray(seconds, dtype=np.int64), unit="s")


def _band(rng, bands, score):
    """A random integer raw value inside the band of each score."""
    lo = np.array([b[0] for b in bands])[score]
    hi = np.array([b[1] for b in bands])[score]
    return rng.integers(lo, hi + 1).astype(float)


def generate_dataset(n_patients: int = 279, seed: int = 1, *, effect: float | None = None,
                     mortality_rr: float | None = None, parameters: DatasetParameters | None = None,
                     data_cutoff: str | None = None, blinded: bool = False) -> SyntheticDataset:
    """Generate a synthetic SHINE data set of ``n_patients`` randomised participants.

    ``effect`` / ``mortality_rr`` override those of ``parameters``. ``data_cutoff`` (ISO time) truncates the
    data as an export taken then would (participants still in the ICU get ``in_icu``; later rows are
    absent); the default is after the last participant's day-90 visit window. ``blinded`` writes arms as
    A/B. The same arguments give the same tables.
    """
    if not isinstance(n_patients, (int, np.integer)) or not 1 <= n_patients <= 1_000_000:
        raise ValueError(_("n_patients must be an integer from 1 to 1,000,000; got %(n_patients)s") % {
            "n_patients": decimal(n_patients, "r")})
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(_("seed must be a non-negative integer; got %(seed)s") % {"seed": decimal(seed, "r")})
    par = parameters or DatasetParameters()
    overrides = {k: v for k, v in (("effect", effect), ("mortality_rr", mortality_rr)) if v is not None}
    if overrides:
        par = DatasetParameters(**{**asdict(par), **overrides})
    par.check()
    proto = _protocol.load()
    if len(par.site_weights) != len(proto.sites):
        raise ValueError(_("site_weights must have one weight per protocol site (%(count)s); got %(count2)s") % {
            "count": decimal(len(proto.sites), ""), "count2": decimal(len(par.site_weights), "")})
    if n_patients / par.patients_per_day > 100 * 365:
        raise ValueError(_("recruitment would last %(value)s years: raise patients_per_day (now "
                           "%(patients_per_day)s) for %(n_patients)s patients") % {
            "value": decimal(n_patients / par.patients_per_day / 365, ".0f"),
            "patients_per_day": decimal(par.patients_per_day), "n_patients": decimal(n_patients, "")})
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    base = pd.Timestamp(par.start)
    n = int(n_patients)

    # recruitment: a Poisson process; each site recruits at its own rate
    weights = np.asarray(par.site_weights, float) / sum(par.site_weights)
    randomised_s = np.cumsum(np.rint(rng.exponential(DAY / par.patients_per_day, n))).astype(np.int64)
    site = rng.choice(len(weights), n, p=weights)
    arm = allocate_by_site(rng, site, len(weights), proto.randomisation.block_sizes).astype(bool)
    codes = np.array(proto.site_codes)
    per_site = np.zeros(len(weights), int)
    numbers = []
    for s in site:
        per_site[s] += 1
        numbers.append(f"{codes[s]}-{per_site[s]:04d}")
    pid = np.array(numbers)

    # demography
    female = rng.random(n) < par.female
    age = np.clip(np.rint(rng.normal(par.age_mean, par.age_sd, n)), 18, 100).astype(int)
    weight = np.clip(np.round(np.exp(rng.normal(np.where(female, np.log(70), np.log(83)), 0.2)), 1), 35, 200)
    weight_estimated = rng.random(n) < 0.6
    infection = rng.choice(list(INFECTION_SITES), n, p=list(INFECTION_SITES.values()))
    elig = proto.eligibility
    lactate = np.round(elig.lactate_threshold_mmol_l + 0.1 + rng.gamma(1.6, 1.8, n), 1).clip(max=30)
    stm = np.round(elig.stm_threshold_ng_ml + 0.1 + rng.gamma(2.0, 4.0, n), 1).clip(max=200)

    # frailty drives organ severity, death and length of stay
    frailty = rng.standard_normal(n)
    p_death = 1 / (1 + np.exp(-(par.mortality_logit + 0.9 * frailty + 0.3 * (age - 69) / 10)))
    p_death = np.minimum(p_death * np.where(arm, par.mortality_rr, 1.0), 0.98)
    dies = rng.random(n) < p_death
    horizon = int(proto.outcomes.primary_horizon_days)
    tail = 1 - math.exp(-par.death_rate_per_day * horizon)
    death_day = -np.log1p(-rng.random(n) * tail) / par.death_rate_per_day  # truncated exponential on (0, 90]
    death_day = np.where(dies, np.maximum(death_day, 60 / DAY), np.inf)

    # ICU stays, in days from randomisation
    admitted = -rng.uniform(2, 12, n) / 24
    icu_death = dies & ((rng.random(n) < par.icu_death_share) | (death_day < 2))
    survivor_los = np.exp(rng.normal(math.log(par.survivor_icu_days_median) + 0.3 * frailty, 0.6)).clip(1.0, 89.0)
    discharged = np.where(icu_death, np.nan,
                          np.where(dies, death_day * rng.uniform(0.3, 0.85, n), np.minimum(survivor_los, death_day)))
    readmit = ~dies & (rng.random(n) < par.readmission) & (discharged < 75)
    re_admitted = discharged + rng.uniform(1, 10, n)
    re_discharged = re_admitted + rng.uniform(1, 6, n)

    stay_rows: list = []
    day_rows: list = []
    for i in range(n):
        first_end = death_day[i] if icu_death[i] else discharged[i]
        spans = [(1, admitted[i], first_end, "died" if icu_death[i] else "discharged")]
        if readmit[i]:
            spans.append((2, re_admitted[i], re_discharged[i], "discharged"))
        for stay, a, e, how in spans:
            stay_rows.append((i, stay, a, None if how == "died" else e, how))
            last = min(math.ceil(min(e, death_day[i], horizon)), horizon)
            day_rows.extend((i, d) for d in range(max(1, math.floor(a) + 1), last + 1))
    stays = pd.DataFrame(stay_rows, columns=["i", "stay", "admitted", "discharged", "discharge"])
    days = np.array(sorted(set(day_rows)), dtype=np.int64).reshape(-1, 2)
    di, dd = days[:, 0], days[:, 1]

    # latent organ severities: patient level + recovery or terminal worsening + AR(1) day-to-day noise
    means = np.asarray(par.organ_means) + par.severity
    level0 = means + np.outer(frailty, par.organ_frailty) + rng.normal(0, 0.6, (n, len(ORGANS)))
    # the drug acts after randomisation: the baseline is drawn from the untreated level
    treated = level0 - np.where(arm, par.effect * par.effect_scale / len(ORGANS), 0.0)[:, None]
    noise = np.empty((n, horizon + 1, len(ORGANS)))
    rho, sd = par.day_to_day_correlation, par.day_to_day_sd
    noise[:, 0] = rng.normal(0, sd, (n, len(ORGANS)))
    for d in range(1, horizon + 1):
        noise[:, d] = rho * noise[:, d - 1] + math.sqrt(1 - rho * rho) * rng.normal(0, sd, (n, len(ORGANS)))
    t = dd - 0.5
    recovering = np.where(icu_death[di], 0.3, 1.0)
    latent = (treated[di] - np.outer(recovering * np.minimum(t, 10), par.recovery_per_day)
              + (par.terminal_worsening * np.clip(3 - (death_day[di] - t), 0, 3) * icu_death[di])[:, None]
              + noise[di, dd])
    score = np.clip(np.floor(latent), 0, 4).astype(int)
    baseline_latent = level0 + noise[:, 0]
    baseline = np.clip(np.floor(baseline_latent), 0, 4).astype(int)

    daily = _raw_daily(rng, score, par)
    daily.insert(0, "study_day", dd)
    daily.insert(0, "participant_id", pid[di])
    keep = rng.random(len(daily)) >= par.missing_day
    keep |= dd == 1  # the randomisation day is always recorded
    daily = daily[keep].reset_index(drop=True)

    baseline_gcs = rng.integers(3, 16, n)
    cns = np.select([baseline_gcs >= 15, baseline_gcs >= 13, baseline_gcs >= 10, baseline_gcs >= 6], [0, 1, 2, 3], 4)
    participants = pd.DataFrame({
        "participant_id": pid, "site": codes[site],
        "arm": np.where(arm, proto.active_arm, proto.control_arm),
        "randomisation_number": np.arange(1, n + 1),
        "randomised_at": _iso(randomised_s, base),
        "age": age, "sex": np.where(female, "F", "M"), "weight_kg": weight, "weight_estimated": weight_estimated,
        "site_of_infection": infection, "lactate_mmol_l": lactate, "stm_ng_ml": stm,
        **{f"baseline_sofa_{o}": baseline[:, k] for k, o in enumerate(ORGANS[:3])},
        "baseline_sofa_cardiovascular": np.maximum(baseline[:, 3], 3),  # in shock: on a vasopressor
        "baseline_sofa_cns": cns, "baseline_sofa_renal": baseline[:, 4],
    })
    participants["baseline_sofa_modified"] = participants[[f"baseline_sofa_{o}" for o in ORGANS]].sum(axis=1)

    events = _events(rng, par, proto, n, pid, arm, weight, randomised_s, death_day, discharged, icu_death,
                     readmit, re_discharged, frailty, codes[site])
    participants["data_use_consent"] = events.pop("data_use_consent")
    withdrawn_day = events.pop("withdrawn_day")
    events["adverse_events"] = _disease_related_saes(events["adverse_events"], seed, par, proto, pid, randomised_s,
                                                     death_day, withdrawn_day)
    # no new data after a withdrawal of consent
    cut = pd.Series(withdrawn_day, index=pid)
    daily = daily[~(daily["study_day"] > daily["participant_id"].map(cut))].reset_index(drop=True)

    r_of = randomised_s
    stays_out = pd.DataFrame({
        "participant_id": pid[stays["i"]], "stay": stays["stay"].to_numpy(),
        "admitted_at": _iso(r_of[stays["i"]] + np.rint(stays["admitted"].to_numpy() * DAY), base),
        "discharged_at": _iso(r_of[stays["i"]] + np.rint(stays["discharged"].fillna(0).to_numpy() * DAY), base)
        .where(stays["discharge"].to_numpy() != "died"),
        "discharge": stays["discharge"].to_numpy()})
    deaths = pd.DataFrame({"participant_id": pid[dies],
                           "died_at": _iso(r_of[dies] + np.rint(death_day[dies] * DAY), base),
                           "cause": np.where(icu_death[dies], "septic shock with multiple organ failure", "")})

    tables = {"participants": participants, "daily": daily, "icu_stays": stays_out, "deaths": deaths,
              **{k: v for k, v in events.items() if k != "consent"}}
    for name in ("infusion", "adverse_events", "followup", "deviations"):
        tables[name] = _times(tables[name], base)
    consent = _times(events["consent"], base)
    tables["screening"] = _screening(rng, par, proto, randomised_s, site, pid, base)

    cutoff = (pd.Timestamp(data_cutoff) if data_cutoff is not None
              else base + pd.Timedelta(seconds=int(randomised_s.max()) + 105 * DAY))
    if cutoff.tzinfo is None:
        cutoff = cutoff.tz_localize("UTC")
    tables, consent = _truncate(tables, consent, cutoff, par)
    if blinded:
        codes_ab = dict(zip(proto.arms, rng.permutation(["A", "B"])))
        tables["participants"] = tables["participants"].assign(arm=tables["participants"]["arm"].map(codes_ab))
    for name, frame in tables.items():
        tables[name] = frame[list(TABLES[name].column_names)].reset_index(drop=True)
    return SyntheticDataset(tables=MappingProxyType(tables), consent=consent.reset_index(drop=True), seed=int(seed),
                            n_patients=n, parameters=par, data_cutoff=cutoff.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            blinded=blinded)


def _raw_daily(rng, score, par) -> pd.DataFrame:
    """Raw SOFA inputs whose scores are ``score`` (rows × ORGANS)."""
    rows = len(score)
    resp, coag, liver, cv, renal = score.T
    support = (resp >= 3) | (rng.random(rows) < 0.55)
    ventilated = support & ((resp >= 3) | (rng.random(rows) < 0.7)) & (rng.random(rows) < 0.9)
    bilirubin = _band(rng, BILIRUBIN_BANDS, liver)
    bilirubin[rng.random(rows) < par.missing_bilirubin] = np.nan
    norepi = np.where(cv == 4, np.round(rng.uniform(0.11, 0.8, rows), 2),
                      np.where(cv == 3, np.round(rng.uniform(0.02, 0.10, rows), 2), 0.0))
    dobutamine = np.where(cv == 2, np.round(rng.uniform(2, 10, rows), 1), 0.0)
    map_mmhg = np.where(cv == 0, rng.integers(70, 96, rows), np.where(cv == 1, rng.integers(60, 70, rows),
                                                                      rng.integers(58, 82, rows))).astype(float)
    # renal: creatinine gives the score; with score 3 sometimes the urine output does instead
    by_urine = (renal == 3) & (rng.random(rows) < 0.3)
    creatinine = _band(rng, CREATININE_BANDS, np.where(by_urine, rng.integers(0, 3, rows), renal))
    rrt = (renal == 4) & (rng.random(rows) < 0.6)
    urine = np.where(rrt, rng.integers(0, 200, rows), np.where(by_urine, rng.integers(200, 500, rows),
                                                                rng.integers(500, 3500, rows))).astype(float)
    return pd.DataFrame({
        "pao2_fio2": _band(rng, PF_BANDS, resp), "respiratory_support": support,
        "platelets": _band(rng, PLATELET_BANDS, coag), "bilirubin": bilirubin, "map_mmhg": map_mmhg,
        "dopamine": 0.0, "dobutamine": dobutamine, "epinephrine": 0.0, "norepinephrine": norepi,
        "gcs": rng.integers(3, 16, rows), "creatinine": creatinine, "urine_output": urine,
        "vasopressor": cv >= 2, "mechanical_ventilation": ventilated, "rrt": rrt,
    })


def _events(rng, par, proto, n, pid, arm, weight, randomised_s, death_day, discharged, icu_death, readmit,
            re_discharged, frailty, site_codes) -> dict:
    """Per-participant event tables (times in seconds from the start; converted by the caller)."""
    infusion: list = []
    aes: list = []
    followup: list = []
    deviations: list = []
    consent: list = []
    data_use = np.ones(n, bool)
    withdrawn_day = np.full(n, np.inf)
    conc = proto.intervention.concentration_ng_per_ml
    hours = proto.intervention.duration_hours
    windows = proto.schedule.followup_window_days
    events = list(proto.safety.prespecified_events)
    event_p = np.array([0.4, 0.4, 0.15, 0.05][:len(events)] + [0.05] * max(0, len(events) - 4))
    expected_events = {"severe_bleeding", "severe_hypotension"}  # listed in the iloprost SmPC
    for i in range(n):
        r = int(randomised_s[i])
        death = death_day[i] * DAY
        rate = infusion_rate_ml_per_h(float(weight[i]), protocol=proto)
        start = r + int(rng.uniform(0.2, 2.0) * 3600)
        end, reason = start + int(hours * 3600), "planned_end"
        leave_icu = (death if icu_death[i] else discharged[i] * DAY)
        if r + leave_icu < end:
            end, reason = r + int(leave_icu), "death" if icu_death[i] else "discharge"
        # prespecified serious events in the SAE window
        sae_at = None
        if rng.random() < min(par.sae_risk * (par.sae_rr if arm[i] else 1.0), 1.0):
            onset = r + int(rng.uniform(0.1, proto.schedule.sae_window_days) * DAY)
            if onset < r + death:
                term = str(rng.choice(events, p=event_p / event_p.sum()))
                aes.append((pid[i], "AE-1", onset, term.replace("_", " "), term, True, bool(rng.random() < 0.3),
                            term in expected_events))
                sae_at = onset
        if rng.random() < 0.1:
            onset = r + int(rng.uniform(0.1, 5) * DAY)
            if onset < r + death:
                aes.append((pid[i], f"AE-{1 + (sae_at is not None)}", onset,
                            str(rng.choice(["headache", "flushing", "nausea", "rash"])), "", False,
                            bool(rng.random() < 0.5), True))
        segments = []
        t0 = start
        if sae_at is not None and start < sae_at < end and rng.random() < 0.3:
            end, reason = sae_at, "adverse_event"
        if rng.random() < par.infusion_interruption and end - t0 > 4 * 3600:
            pause = t0 + int(rng.uniform(0.1, 0.8) * (end - t0))
            segments.append((t0, pause, rate, "interrupted"))
            t0 = pause + int(rng.uniform(0.25, 3.0) * 3600)
        if t0 < end:
            segments.append((t0, end, rate, reason))
        elif segments:
            segments[-1] = (*segments[-1][:3], reason)
        for k, (a, b, rt, why) in enumerate(segments, 1):
            infusion.append((pid[i], k, a, b, rt, conc, why))

        # consent: guardian before randomisation, next of kin in 1–3 days, the patient on regaining capacity
        nurse = f"nurse-{site_codes[i].lower()}"
        consent.append((pid[i], "guardian", "consent", r - int(rng.uniform(300, 3600)), "1.0", nurse))
        kin_at = r + int(rng.uniform(1, 3) * DAY)
        if kin_at < r + death:
            if rng.random() < par.next_of_kin_refusal:
                consent.append((pid[i], "next_of_kin", "withdrawal", kin_at, "1.0", nurse))
                withdrawn_day[i] = math.ceil((kin_at - r) / DAY)
                data_use[i] = rng.random() < 0.5
            else:
                consent.append((pid[i], "next_of_kin", "consent", kin_at, "1.0", nurse))
        if not np.isfinite(death_day[i]) and withdrawn_day[i] == np.inf:
            at = r + int((re_discharged[i] if readmit[i] else discharged[i]) * DAY) + int(rng.uniform(0, 3) * DAY)
            consent.append((pid[i], "patient", "consent", at, "1.0", nurse))
        elif np.isfinite(death_day[i]):
            consent.append((pid[i], "patient", "died_before_capacity", r + int(death), "1.0", nurse))

        for visit in proto.schedule.followup_days:
            lo, hi = windows[visit]
            at = r + int((lo - 1 + rng.uniform(0.2, hi - lo + 0.8)) * DAY)
            dead = r + death <= at
            if withdrawn_day[i] < visit and not dead:
                followup.append((pid[i], visit, at, "unknown", *([None] * 6)))
                continue
            eq: list[int | None] = [None] * 6
            if not dead and rng.random() < 0.85:
                level = np.clip(np.rint(2.2 + 0.6 * frailty[i] + rng.normal(0, 0.8, 5)), 1, 5).astype(int)
                eq = [*map(int, level), int(np.clip(round(70 - 8 * frailty[i] + rng.normal(0, 12)), 0, 100))]
            followup.append((pid[i], visit, at, "dead" if dead else "alive", *eq))

        found = []
        if rng.random() < par.major_deviation:
            found.append(("intervention", True, "infusion started more than 6 h after randomisation"))
        if rng.random() < par.minor_deviation:
            found.append(("data_collection", False, "daily SOFA values recorded late"))
        deviations.extend((pid[i], f"DEV-{k}", *d) for k, d in enumerate(found, 1))

    eq_cols = ["eq5d_mobility", "eq5d_selfcare", "eq5d_activities", "eq5d_pain", "eq5d_anxiety", "eq5d_vas"]
    return {
        "infusion": pd.DataFrame(infusion, columns=["participant_id", "segment", "started_at", "stopped_at",
                                                    "rate_ml_per_h", "concentration_ng_per_ml", "stop_reason"]),
        "adverse_events": pd.DataFrame(aes, columns=["participant_id", "event_id", "onset_at", "term", "prespecified",
                                                     "serious", "related", "expected"]),
        "followup": pd.DataFrame(followup, columns=["participant_id", "visit_day", "assessed_at", "vital_status",
                                                    *eq_cols]).astype({c: "Int64" for c in eq_cols}),
        "deviations": pd.DataFrame(deviations, columns=["participant_id", "deviation_id", "category", "major",
                                                        "description"]),
        "consent": pd.DataFrame(consent, columns=["participant_id", "role", "event", "at", "form_version",
                                                  "entered_by"]),
        "data_use_consent": data_use, "withdrawn_day": withdrawn_day,
    }


TIME_COLUMNS = ("started_at", "stopped_at", "onset_at", "assessed_at", "at", "screened_at")


def _disease_related_saes(aes: pd.DataFrame, seed, par, proto, pid, randomised_s, death_day,
                          withdrawn_day) -> pd.DataFrame:
    """Add the protocol's exempt (disease-related) serious events: onset up to day 14, before death and
    before a withdrawal of consent. Drawn from a stream of their own so that adding them leaves every
    other simulated value unchanged for the same seed."""
    terms = list(proto.safety.exempt_events)
    if not terms or par.disease_sae_risk == 0:
        return aes
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 17]))
    n = len(pid)
    has = rng.random(n) < par.disease_sae_risk
    onset_day = rng.uniform(0.1, 14.0, n)
    related = rng.random(n) < par.disease_sae_related
    which = rng.integers(0, len(terms), n)
    keep = has & (onset_day < death_day) & (onset_day < withdrawn_day)
    taken = aes.groupby("participant_id").size()
    rows = [(pid[i], f"AE-{int(taken.get(pid[i], 0)) + 1}", int(randomised_s[i] + int(onset_day[i] * DAY)),
             terms[which[i]].replace("_", " "), "", True, bool(related[i]), True) for i in np.flatnonzero(keep)]
    extra = pd.DataFrame(rows, columns=aes.columns)
    return pd.concat([aes, extra], ignore_index=True) if len(aes) else extra


def _times(frame: pd.DataFrame, base: pd.Timestamp) -> pd.DataFrame:
    out = frame.copy()
    for c in TIME_COLUMNS:
        if c in out:
            out[c] = _iso(out[c].to_numpy(dtype=np.int64), base)
    return out


def _screening(rng, par, proto, randomised_s, site, pid, base) -> pd.DataFrame:
    """The screening log: every randomised participant, and screened patients who were not randomised,
    whose outcome and reasons come from :func:`shine.clinical.eligibility.assess`."""
    codes = proto.site_codes
    rows = [(randomised_s[i] - int(rng.uniform(0.5, 3) * 3600), codes[site[i]], "randomised", "", pid[i])
            for i in range(len(pid))]
    n_other = rng.poisson(par.screened_per_randomised * len(pid))
    when = rng.uniform(0, randomised_s.max() + 1, n_other).astype(np.int64)
    where = rng.choice(len(codes), n_other, p=np.asarray(par.site_weights) / sum(par.site_weights))
    for k in range(n_other):
        facts: dict[str, Any] = dict(
            age=int(np.clip(rng.normal(68, 14), 15, 100)), in_icu=True, infection=bool(rng.random() < 0.97),
            vasopressor=bool(rng.random() < 0.95),
            lactate_mmol_l=round(float(rng.gamma(2.2, 1.5)), 1),
            stm_ng_ml=round(float(rng.gamma(3.0, 3.5)), 1),
            hours_since_shock=round(float(rng.gamma(2.0, 3.5)), 1), sex=str(rng.choice(["F", "M"])),
            pregnant=False,
            withdrawal_from_active_therapy=bool(rng.random() < 0.05), hypersensitivity=bool(rng.random() < 0.005),
            life_threatening_bleeding=bool(rng.random() < 0.03), severe_heart_failure=bool(rng.random() < 0.03),
            acute_coronary_syndrome=bool(rng.random() < 0.03), previously_included=bool(rng.random() < 0.01),
            consent_unobtainable=bool(rng.random() < 0.05), other_prostacyclin_trial=False)
        if rng.random() < 0.04:
            facts["stm_ng_ml"] = None  # sample not yet analysed
        result = assess(**facts, protocol=proto)
        if result.eligible is None:
            outcome, reasons = "not_assessable", result.reasons
        elif result.eligible:
            outcome, reasons = "eligible_not_randomised", "randomisation_not_done"
        else:
            outcome, reasons = "not_eligible", result.reasons
        rows.append((int(when[k]), codes[where[k]], outcome, reasons, ""))
    frame = pd.DataFrame(rows, columns=["screened_at", "site", "outcome", "reasons", "participant_id"])
    frame = frame.sort_values(["screened_at", "site"], kind="mergesort").reset_index(drop=True)
    frame["screening_id"] = [f"S-{k:05d}" for k in range(1, len(frame) + 1)]
    frame["screened_at"] = _iso(frame["screened_at"].to_numpy(dtype=np.int64), base)
    return frame


def _truncate(tables: dict, consent: pd.DataFrame, cutoff: pd.Timestamp, par) -> tuple[dict, pd.DataFrame]:
    """The tables as an export taken at ``cutoff`` would hold them."""
    out = dict(tables)
    p = tables["participants"]
    p = p[p["randomised_at"] <= cutoff]
    ids = set(p["participant_id"])
    out["participants"] = p
    r = p.set_index("participant_id")["randomised_at"]
    for name in ("daily", "icu_stays", "deaths", "infusion", "adverse_events", "followup", "deviations"):
        out[name] = tables[name][tables[name]["participant_id"].isin(ids)]
    d = out["daily"]
    day_start = d["participant_id"].map(r) + pd.to_timedelta(d["study_day"] - 1, unit="D")
    keep = day_start < cutoff
    later = tables["icu_stays"]
    later = later[(later["stay"] > 1) & (later["admitted_at"] > cutoff)].set_index("participant_id")["admitted_at"]
    keep &= ~(day_start + pd.Timedelta(days=1) > d["participant_id"].map(later)).fillna(False)
    out["daily"] = d[keep]
    out["deaths"] = out["deaths"][out["deaths"]["died_at"] <= cutoff]
    s = out["icu_stays"]
    s = s[s["admitted_at"] <= cutoff].copy()
    dead = set(out["deaths"]["participant_id"])
    open_ = ((s["discharged_at"] > cutoff) | ((s["discharge"] == "died") & ~s["participant_id"].isin(dead)))
    s.loc[open_, "discharged_at"] = pd.NaT
    s.loc[open_, "discharge"] = "in_icu"
    out["icu_stays"] = s
    f = out["infusion"]
    f = f[f["started_at"] < cutoff].copy()
    running = f["stopped_at"] > cutoff
    f.loc[running, "stopped_at"] = cutoff
    f.loc[running, "stop_reason"] = None
    out["infusion"] = f
    ae = out["adverse_events"][out["adverse_events"]["onset_at"] <= cutoff].copy()
    ae["expected"] = ae["expected"].astype("boolean")
    pending = (ae["serious"].astype(bool) & ae["related"].astype(bool)
               & (cutoff - ae["onset_at"] < pd.Timedelta(days=par.expectedness_lag_days)))
    ae.loc[pending, "expected"] = pd.NA  # the sponsor has not judged expectedness yet
    out["adverse_events"] = ae
    out["followup"] = out["followup"][out["followup"]["assessed_at"] <= cutoff]
    sc = tables["screening"]
    sc = sc[sc["screened_at"] <= cutoff]
    out["screening"] = sc[(sc["participant_id"] == "") | sc["participant_id"].isin(ids)]
    consent = consent[(consent["at"] <= cutoff) & consent["participant_id"].isin(ids)]
    return out, consent
