"""Clinical precision of derived quantities: the decimals a page or an API response shows (P/F 163, not
163.346836). One table for pages and API alike. Values as entered are data and keep every digit typed; the
database and the analysis data set keep derived values at full precision (a rounded P/F of 399.6 would score
respiration 0 instead of 1 when recomputed)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# derived quantity -> decimals shown
DECIMALS = {
    "pao2_fio2": 0,            # mmHg
    "bilirubin": 0,            # µmol/L, converted from mg/dL
    "creatinine": 0,           # µmol/L, converted from mg/dL
    "fio2": 2,                 # fraction, converted from %
    "mean_daily_sofa": 1,      # points
    "total_ng": 0, "planned_ng": 0,
    "hours_infused": 1, "longest_interruption_hours": 1,
    "fraction_of_planned": 3,  # 0.1 %
    "computed_rate_ml_per_h": 2,  # the pump's setting
}


def shown(quantity: str, value: float | None) -> float | None:
    """``value`` rounded half away from zero to the quantity's clinical precision (None stays None)."""
    if value is None:
        return None
    step = Decimal(1).scaleb(-DECIMALS[quantity])
    return float(Decimal(repr(float(value))).quantize(step, rounding=ROUND_HALF_UP))
