"""Analysis populations: the rule lives here and nowhere else (docs/analysis.md, "Estimands").

- intention-to-treat (``itt``): every randomised participant with ``data_use_consent``;
- per-protocol (``per_protocol``): intention-to-treat, no major protocol deviation, and at least
  ``outcomes.per_protocol_min_dose_fraction`` of the dose that could be given over the *dose window*: from
  the infusion's first start (or randomisation + ``estimands.per_protocol_start_hours`` when it never
  started) to the first of the planned end and the events of ``estimands.dose_window_ends_at`` (death, ICU
  discharge, the data cut-off, a stop for an adverse event). Those events are intercurrent events with
  their own strategy: ending the infusion early through them is not non-adherence, so the rule does not
  select survivors. A window of no length (e.g. death before the infusion could start) leaves nothing to
  judge: the participant stays;
- safety (``safety``): intention-to-treat participants who received any infusion, analysed as treated.
  The data set records no crossing over (a wrong pack is a protocol deviation), so as treated is as
  randomised.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from shine import protocol as protocol_module
from shine.analysis.dataset import DAY, Dataset
from shine.clinical.dosing import delivered_dose
from shine.i18n import _, decimal

POPULATIONS = ("itt", "per_protocol")  # efficacy populations, chosen for a run
SAFETY = "safety"
ALL_POPULATIONS = (*POPULATIONS, SAFETY)
HOUR = DAY / 24


def check_population(name: str) -> str:
    if name not in ALL_POPULATIONS:
        raise ValueError(_("population must be one of %(items)s, got %(name)s") % {
            "items": ', '.join(ALL_POPULATIONS), "name": decimal(name, "r")})
    return name


def _segments(data: Dataset) -> dict[str, list[tuple[pd.Timestamp, pd.Timestamp, float, float, str]]]:
    inf = data["infusion"].sort_values(["participant_id", "segment"], kind="mergesort")
    out: dict[str, list] = {}
    for pid, a, b, rate, conc, why in zip(inf["participant_id"], inf["started_at"], inf["stopped_at"],
                                          inf["rate_ml_per_h"], inf["concentration_ng_per_ml"], inf["stop_reason"]):
        out.setdefault(pid, []).append((a, b, float(rate), float(conc), why))
    return out


def dose_fractions(data: Dataset) -> pd.Series:
    """Fraction of the full planned dose delivered, per participant (0 without any infusion segment)."""
    p = data["participants"].set_index("participant_id")
    segments = _segments(data)
    out = {}
    for pid, w in p["weight_kg"].items():
        r = p.at[pid, "randomised_at"]
        spans = [((a - r) / HOUR, (b - r) / HOUR, rate, conc) for a, b, rate, conc, _ in segments.get(pid, [])]
        out[pid] = delivered_dose(spans, float(w)).fraction_of_planned
    return pd.Series(out, name="dose_fraction").rename_axis("participant_id")


def dose_windows(data: Dataset) -> pd.DataFrame:
    """The per-protocol dose judgement per participant: ``dose_window_hours`` (length of the dose window),
    ``dose_window_end`` (what ended it: ``planned_end``, ``death``, ``icu_discharge``, ``data_cutoff``,
    ``infusion_stopped_adverse_event``), ``window_dose_fraction`` (delivered in the window / planned for it;
    NaN when the window has no length) and ``received_infusion`` (any segment at a positive rate)."""
    proto = protocol_module.load()
    est = proto.estimands
    ends_at = set(est.dose_window_ends_at)
    duration = float(proto.intervention.duration_hours)
    p = data["participants"].set_index("participant_id")
    segments = _segments(data)
    died = data["deaths"].set_index("participant_id")["died_at"]
    stays = data["icu_stays"]
    first = stays[(stays["stay"] == 1) & (stays["discharge"] == "discharged")].set_index("participant_id")
    discharged = first["discharged_at"]
    rows = []
    for pid in p.index:
        r = p.at[pid, "randomised_at"]
        segs = segments.get(pid, [])
        start = segs[0][0] if segs else r + est.per_protocol_start_hours * HOUR
        ends = {"planned_end": start + duration * HOUR}
        if "death" in ends_at and pid in died.index:
            ends["death"] = died[pid]
        if "icu_discharge" in ends_at and pid in discharged.index:
            ends["icu_discharge"] = discharged[pid]
        if "data_cutoff" in ends_at and data.data_cutoff is not None:
            ends["data_cutoff"] = data.data_cutoff
        if "infusion_stopped_adverse_event" in ends_at:
            stops = [b for _, b, _, _, why in segs if why == "adverse_event"]
            if stops:
                ends["infusion_stopped_adverse_event"] = min(stops)
        reason = min(ends, key=lambda k: (ends[k], k != "planned_end"))  # a tie with the plan is the plan
        end = ends[reason]
        hours = max(0.0, (end - start) / HOUR)
        inside = [(max(0.0, (a - start) / HOUR), min(hours, (b - start) / HOUR), rate, conc)
                  for a, b, rate, conc, _ in segs]
        inside = [s for s in inside if s[1] > s[0]]
        fraction = (delivered_dose(inside, float(p.at[pid, "weight_kg"]), hours=hours).fraction_of_planned
                    if hours > 0 else math.nan)
        received = any(rate > 0 and b > a for a, b, rate, _, _ in segs)
        rows.append((pid, hours, reason, fraction, received))
    return pd.DataFrame(rows, columns=["participant_id", "dose_window_hours", "dose_window_end",
                                       "window_dose_fraction", "received_infusion"])


def population_flags(data: Dataset) -> pd.DataFrame:
    """Per participant: ``data_use_consent``, ``dose_fraction`` (of the full plan), the dose window of
    :func:`dose_windows`, ``major_deviation``, ``itt``, ``per_protocol``, ``safety`` and
    ``excluded_because`` (why not per-protocol; empty when in it)."""
    proto = protocol_module.load()
    p = data["participants"].set_index("participant_id")
    consent = p["data_use_consent"].astype(bool).to_numpy()
    fraction = dose_fractions(data).reindex(p.index)
    window = dose_windows(data).set_index("participant_id").reindex(p.index)
    dev = data["deviations"]
    major = p.index.isin(dev.loc[dev["major"].astype(bool), "participant_id"])
    judged = window["window_dose_fraction"].to_numpy(dtype=float)
    # a tolerance of 1e-9 so that a dose delivered exactly as planned is not below a threshold of 1
    low_dose = ~np.isnan(judged) & (judged < proto.outcomes.per_protocol_min_dose_fraction - 1e-9)
    reasons = np.where(~consent, "no consent to use data",
                       np.where(low_dose & major, "dose below threshold; major deviation",
                                np.where(low_dose, "dose below threshold", np.where(major, "major deviation", ""))))
    received = window["received_infusion"].to_numpy(dtype=bool)
    return pd.DataFrame({"data_use_consent": consent, "dose_fraction": fraction.to_numpy(),
                         "dose_window_hours": window["dose_window_hours"].to_numpy(dtype=float),
                         "dose_window_end": window["dose_window_end"].to_numpy(),
                         "window_dose_fraction": judged, "received_infusion": received,
                         "major_deviation": major, "itt": consent,
                         "per_protocol": consent & ~low_dose & ~major,
                         "safety": consent & received,
                         "excluded_because": reasons}, index=p.index).reset_index()


def members(data: Dataset, population: str) -> pd.Index:
    """Participant ids of a population."""
    flags = population_flags(data)
    return pd.Index(flags.loc[flags[check_population(population)], "participant_id"])
