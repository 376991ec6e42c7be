"""The futility interim: rules, their z cut-offs and the design's operating characteristics.

A rule is written as text, the form the protocol file and the DSMB charter use:

* ``cp_design<0.10`` – stop if conditional power under the design effect is below 10 %;
* ``cp_trend<0.20`` – stop if conditional power under the current trend is below 20 %;
* ``z<0.0`` – stop if the interim z-statistic is below 0;
* ``none`` – no futility stop.

Every rule is equivalent to "stop if the interim z < cut-off" (conditional power increases with z), so
the operating characteristics depend on the rule only through its cut-off. The design has one
futility-only interim at information fraction t and no early efficacy stop; the final test rejects when
Z ≥ z₁₋α. z > 0 favours the experimental arm.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from scipy.special import ndtr, ndtri

from shine.i18n import _, decimal

from . import _checks
from .conditional import design_drift
from .sequential import _crossing

RULE_KINDS = ("cp_design", "cp_trend", "z", "none")
_RULE = re.compile(r"^\s*(cp_design|cp_trend|z)\s*<=?\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True)
class FutilityRule:
    """A parsed futility rule: ``kind`` (one of RULE_KINDS) and its ``threshold``."""

    kind: str
    threshold: float

    def __str__(self) -> str:
        return "none" if self.kind == "none" else f"{self.kind}<{self.threshold:g}"

    def describe(self) -> str:
        if self.kind == "cp_design":
            return f"stop if conditional power under the design effect < {self.threshold:.0%}"
        if self.kind == "cp_trend":
            return f"stop if conditional power under the current trend < {self.threshold:.0%}"
        if self.kind == "z":
            return f"stop if the interim z < {self.threshold:g}"
        return "no futility stop"

    def z_cutoff(self, information_fraction: float, *, alpha: float, power: float) -> float:
        """Interim z below which the rule stops the trial (``alpha`` one-sided; −inf for "none").

        Solves CP(z) = threshold in closed form: with c = z₁₋α and q = z₁₋threshold,
        design effect: z = (c − θ(1 − t) − q √(1 − t)) / √t, θ = z₁₋α + z_power;
        current trend: z = √t (c − q √(1 − t)).
        """
        t = _checks.fraction(information_fraction)
        alpha = _checks.alpha_level(alpha)
        power = _checks.probability("power", power)
        if self.kind == "none":
            return -math.inf
        if self.kind == "z":
            return self.threshold
        c = float(ndtri(1 - alpha))
        q = float(ndtri(1 - self.threshold))
        if self.kind == "cp_design":
            theta = design_drift(alpha, power)
            return (c - theta * (1 - t) - q * math.sqrt(1 - t)) / math.sqrt(t)
        return math.sqrt(t) * (c - q * math.sqrt(1 - t))


def parse_futility_rule(rule: str | FutilityRule) -> FutilityRule:
    """Parse "cp_design<0.10", "cp_trend<0.20", "z<0.0" or "none" (``<=`` is read as ``<``)."""
    if isinstance(rule, FutilityRule):
        return rule
    if not isinstance(rule, str):
        raise ValueError(_("rule must be text such as 'cp_design<0.10', got %(rule)s") % {
            "rule": decimal(rule, "r")})
    if rule.strip().lower() == "none":
        return FutilityRule("none", math.nan)
    m = _RULE.match(rule)
    if not m:
        raise ValueError(
            _("rule %(rule)s not understood; write cp_design<P, cp_trend<P (P in (0, 1)), z<Z or none") % {
                "rule": decimal(rule, "r")}
        )
    kind, value = m.group(1), float(m.group(2))
    if kind != "z" and not 0 < value < 1:
        raise ValueError(_("rule %(rule)s: the conditional-power threshold must lie in (0, 1), got %(value)s") % {
            "rule": decimal(rule, "r"), "value": decimal(value)})
    if not math.isfinite(value):
        raise ValueError(_("rule %(rule)s: the threshold must be finite") % {"rule": decimal(rule, "r")})
    return FutilityRule(kind, value)


def futility_z_for_rule(rule: str | FutilityRule, information_fraction: float, *, alpha: float, power: float) -> float:
    """The interim z cut-off of a futility rule (stop if z < cut-off); ``alpha`` is one-sided."""
    return parse_futility_rule(rule).z_cutoff(information_fraction, alpha=alpha, power=power)


@dataclass(frozen=True)
class FutilityCharacteristics:
    """Operating characteristics of a design with one futility-only interim look.

    Fields: ``futility_z`` (stop if interim z < it), ``information_fraction`` (t of the interim),
    ``alpha`` (one-sided), ``theta`` (drift under H1: expected final z), ``critical_value`` (final test,
    z₁₋α), ``power`` (P(reject) under H1 when the rule is followed), ``type1_binding`` (P(reject) under
    H0 when the rule is always followed), ``type1_nonbinding`` (P(reject) under H0 when the rule may be
    ignored: the worst case, equal to alpha), ``p_stop_h0`` / ``p_stop_h1`` (P(stop at the interim)),
    ``expected_n_h0`` / ``expected_n_h1`` (expected sample size; in units of ``n_max``, which is 1 when not
    given), ``n_max`` and ``n_interim``.
    """

    futility_z: float
    information_fraction: float
    alpha: float
    theta: float
    critical_value: float
    power: float
    type1_binding: float
    type1_nonbinding: float
    p_stop_h0: float
    p_stop_h1: float
    expected_n_h0: float
    expected_n_h1: float
    n_max: float
    n_interim: float

    @property
    def power_loss(self) -> float:
        """Power lost to the futility rule compared with no interim look."""
        return float(ndtr(self.theta - self.critical_value)) - self.power

    def summary(self) -> str:
        return "\n".join([
            f"futility interim at information fraction {self.information_fraction:.4f}: "
            f"stop if z < {self.futility_z:.4f}",
            f"final test: z >= {self.critical_value:.4f} (one-sided alpha {self.alpha:g}); "
            f"H1 drift theta {self.theta:.4f}",
            f"power {self.power:.4f} (loss {self.power_loss:.4f} against no interim)",
            f"type I error: binding {self.type1_binding:.5f}, non-binding {self.type1_nonbinding:.5f}",
            f"P(stop at interim): H0 {self.p_stop_h0:.4f}, H1 {self.p_stop_h1:.4f}",
            f"expected sample size: H0 {self.expected_n_h0:.1f}, H1 {self.expected_n_h1:.1f} (max {self.n_max:g})",
        ])


def futility_characteristics(
    futility_z: float, information_fraction: float, *, alpha: float = 0.025, power: float = 0.90,
    n_max: float | None = None, n_interim: float | None = None, theta: float | None = None,
) -> FutilityCharacteristics:
    """Exact operating characteristics (numerical integration) of the futility-only interim design.

    ``theta`` (drift under H1) defaults to the design drift z₁₋α + z_power. Expected sample sizes count
    n_interim when the trial stops at the interim and n_max otherwise; n_interim defaults to t · n_max.
    """
    t = _checks.fraction(information_fraction)
    if t == 1:
        raise ValueError(_("information_fraction must be < 1 for an interim look, got 1"))
    alpha = _checks.alpha_level(alpha)
    power = _checks.probability("power", power)
    f = float(futility_z)
    if math.isnan(f) or f == math.inf:
        raise ValueError(_("futility_z must be a number or -inf (no futility stop), got %(futility_z)s") % {
            "futility_z": decimal(futility_z, "r")})
    theta = design_drift(alpha, power) if theta is None else _checks.finite("theta", theta)
    n_max = 1.0 if n_max is None else _checks.positive("n_max", n_max)
    if n_interim is None:
        n_interim = t * n_max
    else:
        n_interim = _checks.positive("n_interim", n_interim)
        if n_interim >= n_max and t < 1:
            raise ValueError(_("n_interim must be < n_max (%(n_max)s), got %(n_interim)s") % {
                "n_max": decimal(n_max), "n_interim": decimal(n_interim)})
        if abs(n_interim / n_max - t) > 1e-9:
            raise ValueError(
                _("information_fraction (%(t)s) must equal n_interim / n_max (%(n_interim)s / %(n_max)s)") % {
                    "t": decimal(t), "n_interim": decimal(n_interim), "n_max": decimal(n_max)}
            )
    c = float(ndtri(1 - alpha))

    def run(drift: float) -> tuple[float, float]:
        p_up, p_lo = _crossing((t, 1.0), (math.inf, c), (f, -math.inf), drift)
        return p_up[1], p_lo[0]

    reject_h0, stop_h0 = run(0.0)
    reject_h1, stop_h1 = run(theta)

    def expected_n(p_stop: float) -> float:
        return n_interim * p_stop + n_max * (1 - p_stop)

    return FutilityCharacteristics(
        futility_z=f, information_fraction=t, alpha=alpha, theta=theta, critical_value=c,
        power=reject_h1, type1_binding=reject_h0, type1_nonbinding=float(ndtr(-c)),
        p_stop_h0=stop_h0, p_stop_h1=stop_h1,
        expected_n_h0=expected_n(stop_h0), expected_n_h1=expected_n(stop_h1),
        n_max=n_max, n_interim=n_interim,
    )
