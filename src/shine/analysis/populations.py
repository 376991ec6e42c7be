"""Analysis populations: the rule lives here and nowhere else (docs/data-model.md, docs/analysis.md).

- intention-to-treat (``itt``): every randomised participant with ``data_use_consent``;
- per-protocol (``per_protocol``): intention-to-treat, a delivered fraction of the planned dose of at
  least ``outcomes.per_protocol_min_dose_fraction`` (from ``infusion.csv`` via
  :func:`shine.clinical.dosing.delivered_dose`), and no major protocol deviation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shine import protocol as protocol_module
from shine.analysis.dataset import DAY, Dataset
from shine.clinical.dosing import delivered_dose

POPULATIONS = ("itt", "per_protocol")


def check_population(name: str) -> str:
    if name not in POPULATIONS:
        raise ValueError(f"population must be one of {', '.join(POPULATIONS)}, got {name!r}")
    return name


def dose_fractions(data: Dataset) -> pd.Series:
    """Fraction of the planned dose delivered, per participant (0 without any infusion segment)."""
    p = data["participants"].set_index("participant_id")
    inf = data["infusion"]
    hours_start = ((inf["started_at"] - inf["participant_id"].map(p["randomised_at"])) / (DAY / 24)).to_numpy()
    hours_stop = ((inf["stopped_at"] - inf["participant_id"].map(p["randomised_at"])) / (DAY / 24)).to_numpy()
    segments: dict[str, list] = {}
    for pid, a, b, rate, conc in zip(inf["participant_id"], hours_start, hours_stop, inf["rate_ml_per_h"],
                                     inf["concentration_ng_per_ml"]):
        segments.setdefault(pid, []).append((float(a), float(b), float(rate), float(conc)))
    out = {pid: delivered_dose(segments.get(pid, []), float(w)).fraction_of_planned
           for pid, w in p["weight_kg"].items()}
    return pd.Series(out, name="dose_fraction").rename_axis("participant_id")


def population_flags(data: Dataset) -> pd.DataFrame:
    """Per participant: ``data_use_consent``, ``dose_fraction``, ``major_deviation``, ``itt``,
    ``per_protocol`` and ``excluded_because`` (empty when in per-protocol)."""
    proto = protocol_module.load()
    p = data["participants"].set_index("participant_id")
    consent = p["data_use_consent"].astype(bool)
    fraction = dose_fractions(data).reindex(p.index)
    dev = data["deviations"]
    major = p.index.isin(dev.loc[dev["major"].astype(bool), "participant_id"])
    low_dose = (fraction < proto.outcomes.per_protocol_min_dose_fraction).to_numpy()
    reasons = np.where(~consent, "no consent to use data",
                       np.where(low_dose & major, "dose below threshold; major deviation",
                                np.where(low_dose, "dose below threshold", np.where(major, "major deviation", ""))))
    return pd.DataFrame({"data_use_consent": consent.to_numpy(), "dose_fraction": fraction.to_numpy(),
                         "major_deviation": major, "itt": consent.to_numpy(),
                         "per_protocol": consent.to_numpy() & ~low_dose & ~major,
                         "excluded_because": reasons}, index=p.index).reset_index()


def members(data: Dataset, population: str) -> pd.Index:
    """Participant ids of a population."""
    flags = population_flags(data)
    return pd.Index(flags.loc[flags[check_population(population)], "participant_id"])
