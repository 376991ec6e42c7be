"""A realistic ongoing trial for the demo: synthetic patients from :func:`shine.simulation.generate_dataset`
entered through the same services as real entry (screen → guardian consent → randomise → case report
forms → later consent events), so the audit trail is complete and ``shine audit verify`` passes.

The simulated times are shifted so that the data cut-off is now; each randomisation is given the simulated
randomisation time as its clock (the audit trail still records when each entry was made).
Arms come from the real concealed list, not from the simulation. Simulated sites are mapped onto the sites
that have demo staff. Safe to call again: it loads nothing when participants are already randomised.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter

import pandas as pd
from django.utils import timezone

from shine.simulation import generate_dataset
from shine.simulation.patients import BILIRUBIN_BANDS, CREATININE_BANDS, PF_BANDS, PLATELET_BANDS
from shine.trial.accounts.models import User
from shine.trial.allocation import services as allocation
from shine.trial.enrollment import services as enrolment
from shine.trial.enrollment.models import Participant
from shine.trial.errors import Refused
from shine.trial.monitoring import deviations
from shine.trial.records import infusion_log, services

from .randomisation import setup_randomisation

NO = False
EXCLUSIONS = dict(withdrawal_from_active_therapy=NO, hypersensitivity=NO, life_threatening_bleeding=NO,
                  severe_heart_failure=NO, acute_coronary_syndrome=NO, previously_included=NO,
                  consent_unobtainable=NO, other_prostacyclin_trial=NO, pregnant=NO)
FIO2 = (0.5, 0.25, 1.0)  # exact binary fractions: P/F × FiO2 ÷ FiO2 gives back the simulated P/F exactly


def _t(value, shift: dt.timedelta) -> dt.datetime | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime() + shift


def _num(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) or pd.isna(v) else float(v)


def daily_values(row, k: int = 0) -> dict:
    """A simulated daily row as the daily form's values (PaO2 and FiO2 from the P/F ratio)."""
    fio2 = FIO2[k % len(FIO2)]
    pf = _num(row["pao2_fio2"])
    return {"pao2": None if pf is None else pf * fio2, "pao2_unit": "mmHg",
            "fio2": None if pf is None else fio2, "fio2_unit": "fraction",
            "respiratory_support": bool(row["respiratory_support"]), "platelets": _num(row["platelets"]),
            "bilirubin": _num(row["bilirubin"]), "bilirubin_unit": "umol/L", "map_mmhg": _num(row["map_mmhg"]),
            "dopamine": _num(row["dopamine"]), "dobutamine": _num(row["dobutamine"]),
            "epinephrine": _num(row["epinephrine"]), "norepinephrine": _num(row["norepinephrine"]),
            "gcs": None if pd.isna(row["gcs"]) else int(row["gcs"]), "creatinine": _num(row["creatinine"]),
            "creatinine_unit": "umol/L", "urine_output": _num(row["urine_output"]),
            "vasopressor": bool(row["vasopressor"]) or any((_num(row[d]) or 0) > 0 for d in DOSES),
            "mechanical_ventilation": bool(row["mechanical_ventilation"]), "rrt": bool(row["rrt"]),
            # a value the simulation left out was not measured that day: the nurse says so with a code
            "codes": {name: "not_done" for name, column in CODED.items() if _num(row[column]) is None}}


DOSES = ("dopamine", "dobutamine", "epinephrine", "norepinephrine")
CODED = {"pao2_fio2": "pao2_fio2", "platelets": "platelets", "bilirubin": "bilirubin", "map_mmhg": "map_mmhg",
         "gcs": "gcs", "creatinine": "creatinine", "urine_output": "urine_output"}


def _mid(bands, score) -> float:
    lo, hi = bands[int(score)]
    return float((lo + hi) // 2)


def baseline_values(row, admitted_at: dt.datetime) -> dict:
    """Raw baseline values whose SOFA components are the simulated baseline scores."""
    cv = int(row["baseline_sofa_cardiovascular"])
    cns = int(row["baseline_sofa_cns"])
    gcs = {0: 15, 1: 14, 2: 11, 3: 8, 4: 4}[cns]
    resp = int(row["baseline_sofa_respiration"])
    return {"age": int(row["age"]), "sex": row["sex"], "weight_kg": float(row["weight_kg"]),
            "weight_estimated": bool(row["weight_estimated"]), "site_of_infection": row["site_of_infection"],
            "comorbidities": [], "icu_admitted_at": admitted_at,
            "pao2": _mid(PF_BANDS, resp) * 0.5, "pao2_unit": "mmHg", "fio2": 0.5, "fio2_unit": "fraction",
            "respiratory_support": resp >= 3, "platelets": _mid(PLATELET_BANDS, row["baseline_sofa_coagulation"]),
            "bilirubin": _mid(BILIRUBIN_BANDS, row["baseline_sofa_liver"]), "map_mmhg": 62.0 if cv else 75.0,
            "norepinephrine": {3: 0.08, 4: 0.25}.get(cv, 0.0), "gcs": gcs,
            "creatinine": _mid(CREATININE_BANDS, row["baseline_sofa_renal"])}


def infusion_events(rows: pd.DataFrame, shift: dt.timedelta, now: dt.datetime) -> list[dict]:
    """Infusion segments of one participant as the log's events (start, stop/restart, end)."""
    events = []
    rows = rows.sort_values("segment")
    for k, seg in enumerate(rows.itertuples()):
        start = _t(seg.started_at, shift)
        events.append({"kind": "start" if k == 0 else "restart", "at": start, "rate_ml_per_h": seg.rate_ml_per_h})
        stop, why = _t(seg.stopped_at, shift), seg.stop_reason
        if why is None or pd.isna(why) or stop is None or stop >= now:
            break  # still running at the cut-off
        if why == "planned_end":
            events.append({"kind": "end", "at": stop})
        else:
            events.append({"kind": "stop", "at": stop,
                           "stop_reason": why if why in infusion_log.STOP_KINDS else "other",
                           "note": "" if why in infusion_log.STOP_KINDS else str(why)})
    return events


class _Loader:
    def __init__(self, users: dict[str, User], shift: dt.timedelta, now: dt.datetime):
        self.users, self.shift, self.now = users, shift, now
        self.skipped: Counter = Counter()
        self.requests = 0

    def attempt(self, what: str, fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except Refused:
            self.skipped[what] += 1
            return None

    def participant(self, sim, pid: str, site: str) -> Participant:
        t = sim.tables
        nurse = self.users[site]
        row = t["participants"].set_index("participant_id").loc[pid]
        R = _t(row["randomised_at"], self.shift)
        screened = R - dt.timedelta(minutes=50)
        s, _ = enrolment.screen(user=nurse, site_code=site, screened_at=screened, age=int(row["age"]),
                                sex=row["sex"], in_icu=True, infection=True, vasopressor=True,
                                lactate_mmol_l=float(row["lactate_mmol_l"]), stm_ng_ml=float(row["stm_ng_ml"]),
                                shock_diagnosed_at=screened - dt.timedelta(hours=4), **EXCLUSIONS)
        p = enrolment.enrol(s, user=nurse, consenter_name="Dr Demo Guardian", second_consenter_name="Dr Demo Second",
                            occurred_at=screened + dt.timedelta(minutes=20), form_version="1.0")
        self.requests += 1
        allocation.randomise(p, user=nurse, weight_kg=float(row["weight_kg"]),
                             weight_estimated=bool(row["weight_estimated"]), request_id=f"demo-{pid}-{self.requests}",
                             clock=lambda: R)
        p.refresh_from_db()
        self.forms(sim, pid, p, nurse, row)
        return p

    def forms(self, sim, pid: str, p: Participant, nurse: User, row) -> None:
        t, sh, R = sim.tables, self.shift, p.randomised_at
        of = {name: frame[frame["participant_id"] == pid] for name, frame in t.items() if name != "screening"}
        stays = of["icu_stays"].sort_values("stay")
        stay1 = stays.iloc[0]
        self.attempt("baseline", services.save_baseline, user=nurse, participant=p,
                     values=baseline_values(row, min(_t(stay1["admitted_at"], sh), R)))
        for e in infusion_events(of["infusion"], sh, self.now):
            self.attempt("infusion", services.record_infusion_event, user=nurse, participant=p, **e)
        daily = of["daily"].sort_values("study_day").to_dict("records")
        entered: set[int] = set()

        def enter_days(until: dt.datetime | None) -> None:  # the days that start before ``until``
            for k, d in enumerate(daily):
                day = int(d["study_day"])
                if day in entered or (until is not None and R + dt.timedelta(days=day - 1) >= until):
                    continue
                entered.add(day)
                self.attempt("daily", services.create_daily_record, user=nurse, participant=p, study_day=day,
                             values=daily_values(d, k))
        death = _t(of["deaths"]["died_at"].iloc[0], sh) if len(of["deaths"]) else None
        for day in (1, 2, 3):
            drawn = R + dt.timedelta(days=day - 1, hours=6)
            if drawn < self.now and (death is None or drawn < death):
                self.attempt("sample", services.record_blood_sample, user=nurse, participant=p, study_day=day,
                             drawn_at=drawn, frozen_at=drawn + dt.timedelta(minutes=40))
        for k, st in enumerate(stays.itertuples()):
            if k > 0:
                self.attempt("readmission", services.record_icu_readmission, user=nurse, participant=p,
                             admitted_at=_t(st.admitted_at, sh))
            if st.discharge == "discharged":
                enter_days(_t(st.discharged_at, sh))
                self.attempt("discharge", services.record_icu_discharge, user=nurse, participant=p,
                             discharged_at=_t(st.discharged_at, sh))
        enter_days(None)
        if death is not None:
            cause = of["deaths"]["cause"].iloc[0]
            self.attempt("death", services.record_death, user=nurse, participant=p, died_at=death,
                         cause="" if pd.isna(cause) else cause)
        for v in of["followup"].to_dict("records"):
            values = {k: (None if pd.isna(x) else int(x)) for k, x in v.items() if k.startswith("eq5d_")}
            values.update(assessed_at=_t(v["assessed_at"], sh), vital_status=v["vital_status"])
            self.attempt("followup", services.record_follow_up, user=nurse, participant=p,
                         visit_day=int(v["visit_day"]), values=values)
        for d in of["deviations"].to_dict("records"):
            self.attempt("deviation", deviations.record_deviation, user=nurse, participant=p, category=d["category"],
                         major=bool(d["major"]), description=d["description"])
        self.consent(sim, pid, p, nurse)

    def consent(self, sim, pid: str, p: Participant, nurse: User) -> None:
        events = sim.consent[sim.consent["participant_id"] == pid].sort_values("at")
        use_data = bool(sim.tables["participants"].set_index("participant_id").loc[pid, "data_use_consent"])
        for e in events.to_dict("records"):
            at = _t(e["at"], self.shift)
            if e["role"] == "guardian" or at > self.now:
                continue
            kind = {("next_of_kin", "consent"): "next_of_kin_consent",
                    ("next_of_kin", "withdrawal"): "next_of_kin_refusal",
                    ("patient", "consent"): "patient_consent", ("patient", "died_before_capacity"): "died"}.get(
                (e["role"], e["event"]))
            if kind is None:
                continue
            restricting = kind == "next_of_kin_refusal"
            self.attempt("consent", enrolment.record_consent, p, user=nurse, kind=kind, occurred_at=at,
                         consenter_name="" if kind == "died" else "Demo Relative" if "kin" in kind else "Demo Patient",
                         form_version="1.0" if kind.endswith("consent") else "",
                         use_data_collected=use_data if restricting else None,
                         continue_vital_status_follow_up=True if restricting else None)


def load_demo_trial(*, users: dict[str, User], pharmacist: User, n_patients: int = 40, seed: int = 20240901,
                    now: dt.datetime | None = None) -> list[str]:
    """Load ``n_patients`` simulated participants at the sites of ``users`` (site code → site nurse).
    Returns lines for the command's output; does nothing when participants are already randomised."""
    if Participant.objects.filter(randomised_at__isnull=False).exists():
        return ["trial data: participants already randomised; nothing loaded"]
    first = generate_dataset(n_patients, seed)
    last_randomised = first.tables["participants"]["randomised_at"].max()
    sim_cutoff = last_randomised + pd.Timedelta(hours=36)
    sim = generate_dataset(n_patients, seed, data_cutoff=sim_cutoff.strftime("%Y-%m-%dT%H:%M:%SZ"))
    now = (now or timezone.now()).replace(microsecond=0)
    shift = (now - dt.timedelta(minutes=10)) - sim_cutoff.to_pydatetime()
    sites = sorted(users)
    people = sim.tables["participants"].sort_values("randomised_at")
    mapping = {pid: sites[k % len(sites)] for k, pid in enumerate(people["participant_id"])}
    per_site = Counter(mapping.values())
    setup_randomisation(pharmacist=pharmacist, length_per_site=max(60, max(per_site.values()) + 10),
                        packs_per_arm_per_site=max(per_site.values()) + 3)
    loader = _Loader(users, shift, now)
    for pid in people["participant_id"]:
        loader.participant(sim, pid, mapping[pid])
    setup_randomisation(pharmacist=pharmacist, packs_per_arm_per_site=5)
    lines = [f"trial data: {len(people)} simulated participants (seed {seed}) at {', '.join(sites)}, "
             f"randomised over {(people['randomised_at'].max() - people['randomised_at'].min()).days} days up to now"]
    if loader.skipped:
        lines.append("  entries the edit checks refused (left out): "
                     + ", ".join(f"{k} {v}" for k, v in sorted(loader.skipped.items())))
    return lines
