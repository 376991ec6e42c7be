"""Unit conversions into the platform's units (PROTOCOL.md): mmHg, µmol/L, 10⁹/L, FiO2 as a fraction.

Every function takes a number or an array-like and returns the same kind (float or numpy array).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shine.clinical.words import FieldError, field
from shine.i18n import _, decimal

KPA_TO_MMHG = 7.50062
BILIRUBIN_MG_DL_TO_UMOL_L = 17.1
CREATININE_MG_DL_TO_UMOL_L = 88.4

# quantity -> {accepted unit spelling: factor to the platform unit}; the first entry is the platform unit
UNITS: dict[str, dict[str, float]] = {
    "pressure": {"mmHg": 1.0, "kPa": KPA_TO_MMHG},
    "bilirubin": {"µmol/L": 1.0, "umol/L": 1.0, "mg/dL": BILIRUBIN_MG_DL_TO_UMOL_L},
    "creatinine": {"µmol/L": 1.0, "umol/L": 1.0, "mg/dL": CREATININE_MG_DL_TO_UMOL_L},
    "platelets": {"10^9/L": 1.0, "10⁹/L": 1.0, "10^3/uL": 1.0, "10³/µL": 1.0},
}
# The one table of per-unit limits of the values typed with a unit: quantity -> unit -> (hard low, hard high,
# soft low, soft high). Outside the hard limits the value is impossible in that unit (refused); outside the soft
# limits it is unusual (accepted with a warning, flagged for review). A value outside its unit's soft limits but
# inside another unit's soft limits was probably typed in that unit: the message asks "did you mean …?".
# PaO2: hard high 800 mmHg (no higher PaO2 without a hyperbaric chamber); soft 40–450 mmHg (5.3–60 kPa).
PLAUSIBLE: dict[str, dict[str, tuple[float, float, float, float]]] = {
    "pressure": {"mmHg": (1.0, 800.0, 40.0, 450.0), "kPa": (0.13, 106.7, 5.3, 60.0)},
    "bilirubin": {"umol/L": (0.0, 1000.0, 3.0, 600.0), "mg/dL": (0.0, 58.5, 0.2, 35.0)},
    "creatinine": {"umol/L": (10.0, 3000.0, 20.0, 1500.0), "mg/dL": (0.1, 34.0, 0.23, 17.0)},
}


def plausibility(quantity: str, value: float, unit: str) -> tuple[str, str | None]:
    """Where ``value`` typed in ``unit`` lies in :data:`PLAUSIBLE`: ("ok" | "soft" | "hard", the other unit in
    whose soft limits it lies, or None)."""
    table = PLAUSIBLE[quantity]
    hard_lo, hard_hi, soft_lo, soft_hi = table[unit]
    if hard_lo <= value <= hard_hi and soft_lo <= value <= soft_hi:
        return "ok", None
    other = next((u for u, (_, _, lo, hi) in table.items() if u != unit and lo <= value <= hi), None)
    return ("soft" if hard_lo <= value <= hard_hi else "hard"), other


# FiO2 at or below this is read as a fraction, at or above FIO2_MIN_PERCENT as a percentage.
FIO2_MAX_FRACTION = 1.0
FIO2_MIN_PERCENT = 21.0


def _out(x: np.ndarray, like: Any):
    return float(x) if np.ndim(like) == 0 else x


def _array(name: str, value: Any) -> np.ndarray:
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise FieldError(_("%(name)s must be a number; got %(value)s") % {
            "name": field(name), "value": decimal(value, "r")}, name) from None


def _finite_non_negative(name: str, x: np.ndarray) -> None:
    if np.any(np.isinf(x)):  # NaN stays: it means missing
        raise FieldError(_("%(name)s must be a finite number; got %(value)s") % {
            "name": field(name), "value": decimal(x[np.isinf(x)].flat[0])}, name)
    if np.any(x < 0):
        raise FieldError(_("%(name)s must be 0 or more; got %(value)s") % {
            "name": field(name), "value": decimal(np.min(x))}, name)


def _scaled(name: str, x: np.ndarray, factor: float, unit: str) -> np.ndarray:
    with np.errstate(over="ignore"):
        y = x * factor
    if np.any(np.isinf(y)):
        raise FieldError(_("%(name)s is too large to convert; got %(value)s %(unit)s") % {
            "name": field(name), "value": decimal(np.max(x)), "unit": unit}, name)
    return y


def to_platform_unit(quantity: str, value: Any, unit: str, *, name: str | None = None):
    """``value`` of ``quantity`` ("pressure", "bilirubin", "creatinine", "platelets") given in ``unit``,
    converted to the platform unit (mmHg, µmol/L, µmol/L, 10⁹/L). ``name`` names the field in errors."""
    name = name or quantity
    if quantity not in UNITS:
        raise ValueError(_("quantity must be one of %(allowed)s; got %(value)r") % {
            "allowed": ", ".join(UNITS), "value": quantity})
    factors = UNITS[quantity]
    if unit not in factors:
        raise FieldError(_("%(name)s unit must be one of %(allowed)s; got %(value)r") % {
            "name": field(name), "allowed": ", ".join(factors), "value": unit}, name)
    x = _array(name, value)
    _finite_non_negative(name, x)
    return _out(_scaled(name, x, factors[unit], unit), value)


def from_platform_unit(quantity: str, value: Any, unit: str):
    """The inverse of :func:`to_platform_unit`."""
    one = to_platform_unit(quantity, 1.0, unit)
    x = _array(quantity, value)
    _finite_non_negative(quantity, x)
    return _out(_scaled(quantity, x, 1.0 / one, unit), value)


def kpa_to_mmhg(kpa):
    return to_platform_unit("pressure", kpa, "kPa")


def mmhg_to_kpa(mmhg):
    return from_platform_unit("pressure", mmhg, "kPa")


def bilirubin_mg_dl_to_umol_l(mg_dl):
    return to_platform_unit("bilirubin", mg_dl, "mg/dL")


def bilirubin_umol_l_to_mg_dl(umol_l):
    return from_platform_unit("bilirubin", umol_l, "mg/dL")


def creatinine_mg_dl_to_umol_l(mg_dl):
    return to_platform_unit("creatinine", mg_dl, "mg/dL")


def creatinine_umol_l_to_mg_dl(umol_l):
    return from_platform_unit("creatinine", umol_l, "mg/dL")


def fio2_fraction(fio2, unit: str | None = None):
    """FiO2 as a fraction (0.21–1.0).

    ``unit``: "fraction", "percent", or None to infer per value: ≤ 1 is a fraction, ≥ 21 a percentage;
    values in between are ambiguous and raise. The result must lie in 0.21–1.0 (room air to pure oxygen).
    """
    x = _array("fio2", fio2)
    if unit == "fraction":
        frac = x
    elif unit == "percent":
        frac = x / 100.0
    elif unit is None:
        ambiguous = (x > FIO2_MAX_FRACTION) & (x < FIO2_MIN_PERCENT)
        if np.any(ambiguous):
            raise ValueError(_("fio2 must be a fraction (%(fraction)s) or a percentage (21–100); got %(value)s")
                             % {"fraction": decimal(0.21) + "–" + decimal(1.0, ".1f"),
                                "value": decimal(x[ambiguous].flat[0])})
        frac = np.where(x >= FIO2_MIN_PERCENT, x / 100.0, x)
    else:
        raise ValueError(_("fio2 unit must be 'fraction', 'percent' or None; got %(value)r") % {"value": unit})
    bad = (frac < 0.21 - 1e-9) | (frac > 1.0 + 1e-9) | np.isinf(frac)
    if np.any(bad):
        raise ValueError(_("fio2 must lie between %(low)s and %(high)s (21–100 %%); got %(value)s") % {
            "low": decimal(0.21), "high": decimal(1.0, ".1f"), "value": decimal(x[bad].flat[0])})
    return _out(frac, fio2)


def pf_ratio(pao2, fio2, *, pao2_unit: str = "mmHg", fio2_unit: str | None = None):
    """PaO2/FiO2 in mmHg, from PaO2 in mmHg or kPa and FiO2 as a fraction or a percentage.

    NaN in either input gives NaN (missing).
    """
    pao2_mmhg = np.asarray(to_platform_unit("pressure", pao2, pao2_unit, name="pao2"))
    ratio = pao2_mmhg / np.asarray(fio2_fraction(fio2, fio2_unit))
    return float(ratio) if ratio.ndim == 0 else ratio
