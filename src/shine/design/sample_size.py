"""Sample size and power for comparing two means, equal allocation, two-sided test.

Normal (``method="z"``): n per arm = 2 (z₁₋α/₂ + z₁₋β)² σ² / Δ².
Exact (``method="t"``): the two-sample t test with 2n − 2 degrees of freedom; power is the noncentral-t
probability of either rejection region (R's ``power.t.test(strict = TRUE)``), and n is the smallest
per-arm size reaching the target power. ``strict=False`` counts only the rejection region in the
direction of the effect, as R's ``power.t.test`` does by default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import optimize, stats
from scipy.special import ndtr, ndtri

from shine.i18n import _, decimal

from . import _checks

METHODS = ("z", "t")
MIN_PER_ARM = 2.0  # as R's power.t.test: a t test needs at least 2 per group


def _power_z(n: float, effect: float, alpha: float, strict: bool = True) -> float:
    drift = effect * math.sqrt(n / 2)
    crit = ndtri(1 - alpha / 2)
    return float(ndtr(drift - crit) + (ndtr(-drift - crit) if strict else 0.0))


def _power_t(n: float, effect: float, alpha: float, strict: bool = True) -> float:
    df = 2 * n - 2
    ncp = effect * math.sqrt(n / 2)
    crit = stats.t.isf(alpha / 2, df)
    # far region P(T ≤ −crit; ncp) written as P(T ≥ crit; −ncp): scipy's cdf returns NaN there at
    # large ncp, its sf does not
    far = float(stats.nct.sf(crit, df, -ncp)) if strict else 0.0
    return float(stats.nct.sf(crit, df, ncp)) + far


def _n_z(effect: float, alpha: float, power: float) -> float:
    return 2 * (ndtri(1 - alpha / 2) + ndtri(power)) ** 2 / effect**2


def _n_root(power_at, n_guess: float, power: float) -> float:
    """Real n ≥ MIN_PER_ARM with power_at(n) = power, for power increasing in n."""
    lo = max(MIN_PER_ARM, 0.9 * n_guess)
    hi = max(n_guess, MIN_PER_ARM) + 10
    while power_at(hi) < power:
        hi *= 2
    if power_at(lo) >= power:
        lo = MIN_PER_ARM
        if power_at(lo) >= power:
            return lo
    return optimize.brentq(lambda n: power_at(n) - power, lo, hi, xtol=1e-12, rtol=1e-15)


@dataclass(frozen=True)
class SampleSizeMeans:
    """Sample size for a two-arm comparison of means (equal allocation, two-sided test).

    Fields: ``delta`` (absolute difference to detect), ``sd`` (common standard deviation), ``alpha``
    (two-sided), ``power`` (target), ``method`` ("z" or "t"), ``strict`` (power counts both rejection
    regions), ``n_per_arm_exact`` (the real-valued solution: the normal formula, or the root of the
    noncentral-t power, searched from 2 up), ``n_per_arm`` (smallest integer ≥ 2 reaching the target power),
    ``n_total`` (both arms) and ``achieved_power`` (power at ``n_per_arm`` under ``method``).
    """

    delta: float
    sd: float
    alpha: float
    power: float
    method: str
    strict: bool
    n_per_arm_exact: float
    n_per_arm: int
    n_total: int
    achieved_power: float

    def formula(self) -> str:
        """The normal-approximation formula with this design's numbers filled in."""
        za, zb = ndtri(1 - self.alpha / 2), ndtri(self.power)
        n_z = _n_z(self.delta / self.sd, self.alpha, self.power)
        return (
            f"n per arm = 2 (z[1-alpha/2] + z[power])^2 sd^2 / delta^2"
            f" = 2 x ({za:.4f} + {zb:.4f})^2 x {self.sd:g}^2 / {self.delta:g}^2 = {n_z:.2f}"
        )

    def summary(self) -> str:
        lines = [
            f"Two-arm comparison of means, two-sided alpha {self.alpha:g}, power {self.power:g}",
            f"difference {self.delta:g}, SD {self.sd:g} (standardised effect {self.delta / self.sd:.4f})",
            self.formula(),
        ]
        if self.method == "t":
            lines.append(f"exact noncentral t: n per arm = {self.n_per_arm_exact:.4f}")
        lines.append(
            f"method {self.method}: {self.n_per_arm} per arm, {self.n_total} in total "
            f"(power {self.achieved_power:.4f})"
        )
        return "\n".join(lines)


def sample_size_means_detail(
    delta: float, sd: float, *, alpha: float = 0.05, power: float = 0.90, method: str = "z", strict: bool = True
) -> SampleSizeMeans:
    """Per-arm sample size with its working; see :class:`SampleSizeMeans`.

    With ``method="z"`` and ``strict=True`` the integer n is still the smallest with normal power ≥ the
    target (the far rejection region adds at most a few 1e-8 at realistic sizes), and the real-valued n is
    the textbook formula.
    """
    delta = abs(_checks.nonzero("delta", delta))
    sd = _checks.positive("sd", sd)
    alpha = _checks.alpha_level(alpha)
    power = _checks.probability("power", power)
    _checks.choice("method", method, METHODS)
    effect = delta / sd
    power_fn = _power_z if method == "z" else _power_t

    def power_at(n: float) -> float:
        return power_fn(n, effect, alpha, strict)

    n_z = _n_z(effect, alpha, power)
    exact = n_z if method == "z" else _n_root(power_at, n_z, power)
    # guard against 190.0000000001 from rounding in the quantiles
    n = max(int(MIN_PER_ARM), math.ceil(exact * (1 - 1e-12)))
    if method == "t":
        while power_at(n) < power:
            n += 1
        while n > 2 and power_at(n - 1) >= power:
            n -= 1
    return SampleSizeMeans(delta, sd, alpha, power, method, bool(strict), float(exact), n, 2 * n, power_at(n))


def sample_size_means(
    delta: float, sd: float, *, alpha: float = 0.05, power: float = 0.90, method: str = "z", strict: bool = True
) -> int:
    """Per-arm sample size (rounded up) to detect a difference ``delta`` with a two-sided test."""
    return sample_size_means_detail(delta, sd, alpha=alpha, power=power, method=method, strict=strict).n_per_arm


def power_means(
    n_per_arm: float, delta: float, sd: float, *, alpha: float = 0.05, method: str = "t", strict: bool = True
) -> float:
    """Power of the two-sided two-sample test with ``n_per_arm`` patients per arm (non-integer allowed)."""
    n = _checks.finite("n_per_arm", n_per_arm)
    if n < MIN_PER_ARM:
        raise ValueError(_("n_per_arm must be >= %(min_per_arm)s, got %(n_per_arm)s") % {
            "min_per_arm": decimal(MIN_PER_ARM), "n_per_arm": decimal(n_per_arm, "r")})
    delta = _checks.finite("delta", delta)
    sd = _checks.positive("sd", sd)
    alpha = _checks.alpha_level(alpha)
    _checks.choice("method", method, METHODS)
    effect = abs(delta) / sd
    return (_power_z if method == "z" else _power_t)(n, effect, alpha, strict)
