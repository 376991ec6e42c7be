"""Conditional power at an interim look, one remaining (final) analysis.

B-value form (Lan & Wittes 1988; Proschan, Lan & Wittes 2006, ch. 3): with information fraction t,
interim z-statistic Z_t and drift θ (the expected z at full information),

    CP = 1 − Φ( (c − Z_t √t − θ (1 − t)) / √(1 − t) ),

c being the final critical value, z₁₋α by default. θ = z₁₋α + z₁₋β is the design effect; the current
trend is θ = Z_t / √t.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr, ndtri

from shine.i18n import _

from . import _checks


def design_drift(alpha: float = 0.025, power: float = 0.90) -> float:
    """Drift θ = z₁₋α + z_power: the expected final z under the effect the trial was sized for."""
    alpha = _checks.alpha_level(alpha)
    power = _checks.probability("power", power)
    return float(ndtri(1 - alpha) + ndtri(power))


def conditional_power(
    z_interim, information_fraction: float, *, alpha: float = 0.025, theta: float | None = None,
    critical_value: float | None = None,
):
    """Probability that the final z exceeds ``critical_value`` (default z₁₋α, ``alpha`` one-sided).

    ``z_interim`` may be a number or an array (the result has the same shape). ``theta``: drift at full
    information; None uses the current trend Z_t / √t for each z.
    """
    t = _checks.fraction(information_fraction)
    alpha = _checks.alpha_level(alpha)
    c = float(ndtri(1 - alpha)) if critical_value is None else _checks.finite("critical_value", critical_value)
    z = np.asarray(z_interim, dtype=float)
    if not np.all(np.isfinite(z)):
        raise ValueError(_("z_interim must be finite"))
    drift = z / math.sqrt(t) if theta is None else _checks.finite("theta", theta)
    if t == 1:
        cp = (z >= c).astype(float)
    else:
        cp = ndtr((z * math.sqrt(t) + drift * (1 - t) - c) / math.sqrt(1 - t))
    return float(cp) if cp.ndim == 0 else cp
