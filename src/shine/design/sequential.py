"""Group-sequential boundaries and boundary-crossing probabilities.

The z-statistics Z_1..Z_K at information rates t_1 < … < t_K = 1 are a Brownian motion in disguise:
the score S_k = Z_k √t_k has independent increments S_k − S_{k−1} ~ N(θ Δt_k, Δt_k), θ being the drift
(the expected z at full information). The probability of crossing a boundary at look k without having
stopped before is computed by the recursion of Armitage, McPherson & Rowe (1969), in the form of
Jennison & Turnbull (2000, ch. 19): the sub-density of S_k on the continuation region is carried from
look to look as quadrature nodes and masses. Where Jennison & Turnbull use Simpson's rule, this uses
composite Gauss–Legendre panels no wider than the scale on which the integrand changes; the integrand is
analytic on each continuation interval, so eight nodes per panel reach machine precision (tests check this
against a grid four times finer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.special import log_ndtr, logsumexp, ndtr, ndtri

from shine.i18n import _, decimal

from . import _checks

KINDS = ("OF", "P", "asOF", "asP", "asHSD")
KIND_NAMES = {
    "OF": "O'Brien-Fleming (classical)",
    "P": "Pocock (classical)",
    "asOF": "Lan-DeMets O'Brien-Fleming-type alpha spending",
    "asP": "Lan-DeMets Pocock-type alpha spending",
    "asHSD": "Hwang-Shih-DeCani alpha spending",
}

NODES_PER_PANEL = 8
TAIL_SD = 9.0  # the sub-density of Z_k is below the N(θ√t_k, 1) density; 9 SD leave < 1e-18 outside
_GL_X, _GL_W = np.polynomial.legendre.leggauss(NODES_PER_PANEL)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class _Recursion:
    """Sub-density of the score S_k on the region where the trial has not stopped through look k.

    ``s`` are quadrature nodes and ``g`` their masses, so that sum(g · h(s)) = E[h(S_k); not stopped].
    Before the first look the score is 0 with mass 1.
    """

    def __init__(self, theta: float, *, nodes: int | None = None, width_scale: float = 1.0):
        self.theta = theta
        self.t = 0.0
        self.s = np.zeros(1)
        self.g = np.ones(1)
        # nodes and width_scale exist to check convergence against a finer rule
        self._x, self._w = (_GL_X, _GL_W) if nodes is None else np.polynomial.legendre.leggauss(nodes)
        self.width_scale = width_scale

    def _increment(self, t: float) -> tuple[float, float]:
        dt = t - self.t
        return self.theta * dt, math.sqrt(dt)

    def p_upper(self, t: float, u: float) -> float:
        """P(Z at information t ≥ u, not stopped before)."""
        if u == math.inf:
            return 0.0
        shift, sd = self._increment(t)
        return float(self.g @ ndtr((self.s + shift - u * math.sqrt(t)) / sd))

    def p_lower(self, t: float, lo: float) -> float:
        """P(Z at information t ≤ lo, not stopped before)."""
        if lo == -math.inf:
            return 0.0
        shift, sd = self._increment(t)
        return float(self.g @ ndtr((lo * math.sqrt(t) - self.s - shift) / sd))

    def log_p_outside(self, t: float, u: float, symmetric: bool) -> float:
        """log P(Z ≥ u, or |Z| ≥ u when symmetric, not stopped before): exact in the far tail."""
        shift, sd = self._increment(t)
        with np.errstate(divide="ignore"):
            log_g = np.log(self.g)
        out = logsumexp(log_g + log_ndtr((self.s + shift - u * math.sqrt(t)) / sd))
        if symmetric:
            out = np.logaddexp(out, logsumexp(log_g + log_ndtr((-u * math.sqrt(t) - self.s - shift) / sd)))
        return float(out)

    def solve_upper(self, t: float, target: float, symmetric: bool) -> float:
        """The bound u with P(Z ≥ u, or |Z| ≥ u when symmetric, not stopped before) = target."""
        shift, sd = self._increment(t)
        root_t = math.sqrt(t)
        log_target = math.log(target)
        # Newton on log P(u), from the bound that would hold without earlier looks
        u = float(-ndtri(target / 2 if symmetric else target))
        for _attempt in range(30):
            hi = (self.s + shift - u * root_t) / sd
            p = self.g @ ndtr(hi)
            dp = self.g @ np.exp(-0.5 * hi * hi)
            if symmetric:
                lo = (-u * root_t - self.s - shift) / sd
                p += self.g @ ndtr(lo)
                dp += self.g @ np.exp(-0.5 * lo * lo)
            if not (p > 1e-300 and dp > 0):
                break
            step = (math.log(p) - log_target) / (dp * _INV_SQRT_2PI * root_t / sd / p)
            u += step
            if abs(step) < 1e-12:
                return u
        # far tail or no convergence: bisect on the log scale, which cannot underflow
        return optimize.brentq(
            lambda v: self.log_p_outside(t, v, symmetric) - log_target, -10.0, 40.0, xtol=1e-13, rtol=1e-15
        )

    def advance(self, t: float, lo: float, u: float, t_next: float | None) -> None:
        """Move to the look at information ``t``, keeping only paths with lo < Z < u there."""
        shift, sd = self._increment(t)
        root_t = math.sqrt(t)
        centre = self.theta * root_t
        a, b = max(lo, centre - TAIL_SD), min(u, centre + TAIL_SD)
        if not a < b:
            self.s, self.g, self.t = np.zeros(1), np.zeros(1), t
            return
        # the density varies on the scale of the incoming increment, the next integrand on the
        # scale of the outgoing one (both in z units here)
        scale = min(1.0, sd / root_t)
        if t_next is not None:
            scale = min(scale, math.sqrt(t_next - t) / root_t)
        n_panels = max(1, math.ceil((b - a) / (scale * self.width_scale)))
        edges = np.linspace(a, b, n_panels + 1)
        half = 0.5 * np.diff(edges)
        mid = edges[:-1] + half
        z = (mid[:, None] + half[:, None] * self._x).ravel()
        w = (half[:, None] * self._w).ravel()
        s_new = z * root_t
        kernel = np.exp(-0.5 * np.square((s_new[:, None] - self.s[None, :] - shift) / sd))
        density = (kernel @ self.g) * (_INV_SQRT_2PI * root_t / sd)
        self.s, self.g, self.t = s_new, w * density, t


@dataclass(frozen=True)
class CrossingProbabilities:
    """Boundary-crossing probabilities of a group-sequential design at drift ``theta``.

    ``upper[k]`` / ``lower[k]``: probability of first crossing the upper / lower boundary at look k
    (the trial having stopped at no earlier look). ``theta`` is the expected z at full information.
    """

    information_rates: tuple[float, ...]
    upper_bounds: tuple[float, ...]
    lower_bounds: tuple[float, ...]
    theta: float
    upper: tuple[float, ...]
    lower: tuple[float, ...]

    @property
    def p_upper(self) -> float:
        """Total probability of crossing the upper boundary (power, or type I error at theta 0)."""
        return float(sum(self.upper))

    @property
    def p_lower(self) -> float:
        return float(sum(self.lower))

    @property
    def stop_before_final(self) -> tuple[float, ...]:
        """Probability of stopping at each interim look."""
        return tuple(up + lo for up, lo in zip(self.upper[:-1], self.lower[:-1]))

    @property
    def expected_information(self) -> float:
        """Expected information at stopping, as a fraction of the maximum."""
        stop = self.stop_before_final
        reach_final = 1.0 - sum(stop)
        return float(sum(t * p for t, p in zip(self.information_rates, stop)) + reach_final)

    def summary(self) -> str:
        lines = [f"theta {self.theta:.4f}: P(upper) {self.p_upper:.6f}, P(lower) {self.p_lower:.6f}, "
                 f"expected information {self.expected_information:.4f}",
                 "look  rate    lower     upper     P(cross lower)  P(cross upper)"]
        for k, t in enumerate(self.information_rates):
            lines.append(f"{k + 1:>4}  {t:.4f}  {self.lower_bounds[k]:>8.4f}  {self.upper_bounds[k]:>8.4f}"
                         f"  {self.lower[k]:>14.8f}  {self.upper[k]:>14.8f}")
        return "\n".join(lines)


def _rates(information_rates) -> tuple[float, ...]:
    if isinstance(information_rates, (int, np.integer)) and not isinstance(information_rates, bool):
        k = int(information_rates)
        if not 1 <= k <= 20:
            raise ValueError(_("information_rates as a number of looks must lie in 1..20, got %(k)s") % {"k": k})
        return tuple((i + 1) / k for i in range(k))
    try:
        rates = tuple(float(r) for r in information_rates)
    except (TypeError, ValueError):
        raise ValueError(_("information_rates must be a list of numbers, got %(information_rates)s") % {
            "information_rates": decimal(information_rates, "r")}) from None
    if not 1 <= len(rates) <= 20:
        raise ValueError(_("information_rates must have 1 to 20 looks, got %(count)s") % {
            "count": decimal(len(rates), "")})
    if any(not (0 < r <= 1) for r in rates):
        raise ValueError(_("information_rates must lie in (0, 1], got %(value)s") % {
            "value": decimal(list(rates), "")})
    if any(b <= a for a, b in zip(rates, rates[1:])):
        raise ValueError(_("information_rates must be strictly increasing, got %(value)s") % {
            "value": decimal(list(rates), "")})
    if abs(rates[-1] - 1) > 1e-12:
        raise ValueError(_("information_rates must end at 1 (the final analysis), got %(value)s") % {
            "value": decimal(rates[-1], "r")})
    return rates[:-1] + (1.0,)


def _bounds_tuple(name: str, values, k: int, fill: float) -> tuple[float, ...]:
    if values is None:
        return (fill,) * k
    out = tuple(float(v) for v in values)
    if len(out) != k:
        raise ValueError(_("%(name)s must have one value per look (%(k)s), got %(count)s") % {
            "name": name, "k": k, "count": decimal(len(out), "")})
    if any(math.isnan(v) for v in out):
        raise ValueError(_("%(name)s must not contain NaN") % {"name": name})
    return out


def crossing_probabilities(
    upper_bounds, information_rates, *, theta: float = 0.0, lower_bounds=None
) -> CrossingProbabilities:
    """Probabilities of first crossing each boundary, for z-scale bounds at the given information rates.

    ``upper_bounds`` may hold ``inf`` (no efficacy stop at that look), ``lower_bounds`` (default: none)
    ``-inf``. Where lower ≥ upper at a look every path stops there. ``theta`` is the drift, the expected
    z-statistic at full information (information rate 1).
    """
    t = _rates(information_rates)
    k = len(t)
    up = _bounds_tuple("upper_bounds", upper_bounds, k, math.inf)
    lo = _bounds_tuple("lower_bounds", lower_bounds, k, -math.inf)
    theta = _checks.finite("theta", theta)
    p_up, p_lo = _crossing(t, up, lo, theta)
    return CrossingProbabilities(t, up, lo, theta, tuple(p_up), tuple(p_lo))


def _crossing(t, up, lo, theta, *, nodes=None, width_scale=1.0):
    rec = _Recursion(theta, nodes=nodes, width_scale=width_scale)
    p_up, p_lo = [], []
    for k, tk in enumerate(t):
        pu = rec.p_upper(tk, up[k])
        # a path at or above the upper bound stops there even if it is also below the lower bound
        pl = rec.p_lower(tk, min(lo[k], up[k])) if lo[k] > -math.inf else 0.0
        p_up.append(pu)
        p_lo.append(pl)
        if k + 1 < len(t):
            rec.advance(tk, lo[k], up[k], t[k + 1])
    return p_up, p_lo


def alpha_spending(kind: str, t, alpha: float, gamma: float | None = None):
    """Cumulative one-sided alpha spent by information rate ``t`` (rpact's spending functions)."""
    t = np.asarray(t, dtype=float)
    if kind == "asOF":
        return 2.0 * ndtr(-ndtri(1 - alpha / 2) / np.sqrt(t))
    if kind == "asP":
        return alpha * np.log1p((math.e - 1) * t)
    if kind == "asHSD":
        if gamma is None:
            raise ValueError(_("the asHSD spending function needs gamma"))
        if gamma == 0:
            return alpha * t
        return alpha * (-np.expm1(-gamma * t)) / (-math.expm1(-gamma))
    raise ValueError(_("kind must be a spending function (%(items)s), got %(kind)s") % {
        "items": ', '.join(KINDS[2:]), "kind": decimal(kind, "r")})


@dataclass(frozen=True)
class GroupSequentialDesign:
    """A group-sequential design with efficacy boundaries only (rpact's ``getDesignGroupSequential``).

    ``critical_values`` are upper z boundaries, one per look (two-sided designs reject also below
    −critical value); ``alpha_spent`` is the cumulative type I error at each look under H0 (both sides
    when ``sided`` is 2). ``alpha`` is the total (both sides when ``sided`` is 2), as in rpact.
    """

    kind: str
    alpha: float
    sided: int
    gamma: float | None
    information_rates: tuple[float, ...]
    critical_values: tuple[float, ...]
    alpha_spent: tuple[float, ...]

    @property
    def lower_bounds(self) -> tuple[float, ...]:
        return tuple(-c for c in self.critical_values) if self.sided == 2 else (-math.inf,) * len(self.critical_values)

    def characteristics(self, theta: float) -> CrossingProbabilities:
        """Crossing probabilities at drift ``theta`` (expected z at full information)."""
        return crossing_probabilities(
            self.critical_values, self.information_rates, theta=theta, lower_bounds=self.lower_bounds
        )

    def summary(self) -> str:
        side = "one-sided" if self.sided == 1 else "two-sided"
        name = KIND_NAMES[self.kind] + (f", gamma {self.gamma:g}" if self.kind == "asHSD" else "")
        lines = [f"{name}; {side} alpha {self.alpha:g}; {len(self.information_rates)} looks",
                 "look  information  critical z  nominal p (one-sided)  cumulative alpha spent"]
        for k, (t, c, a) in enumerate(zip(self.information_rates, self.critical_values, self.alpha_spent)):
            lines.append(f"{k + 1:>4}  {t:>11.4f}  {c:>10.6f}  {float(ndtr(-c)):>21.3e}  {a:>22.10f}")
        return "\n".join(lines)


def group_sequential_design(
    information_rates, *, alpha: float = 0.025, kind: str = "OF", gamma: float | None = None, sided: int = 1
) -> GroupSequentialDesign:
    """Efficacy boundaries for the given looks; ``information_rates`` may also be a number of equal looks."""
    t = _rates(information_rates)
    _checks.choice("kind", kind, KINDS)
    if sided not in (1, 2):
        raise ValueError(_("sided must be 1 or 2, got %(sided)s") % {"sided": decimal(sided, "r")})
    alpha = _checks.alpha_level(alpha)
    if kind == "asHSD":
        if gamma is None:
            raise ValueError(_("gamma is required for kind 'asHSD' (rpact's gammaA; e.g. -4 is "
                               "O'Brien-Fleming-like)"))
        gamma = _checks.finite("gamma", gamma)
        if not -10 <= gamma <= 5:
            raise ValueError(_("gamma must lie in [-10, 5] (rpact's range for gammaA), got %(gamma)s") % {
                "gamma": decimal(gamma, "r")})
    elif gamma is not None:
        raise ValueError(_("gamma applies only to kind 'asHSD', not %(kind)s") % {"kind": decimal(kind, "r")})
    symmetric = sided == 2
    if kind in ("OF", "P"):
        crit = _classical(t, alpha, kind, symmetric)
    else:
        crit = _spending(t, alpha, kind, gamma, symmetric)
    lower = tuple(-c for c in crit) if symmetric else None
    probs = crossing_probabilities(crit, t, theta=0.0, lower_bounds=lower)
    spent = np.cumsum(np.add(probs.upper, probs.lower) if symmetric else probs.upper)
    return GroupSequentialDesign(kind, alpha, sided, gamma, t, tuple(crit), tuple(float(a) for a in spent))


def group_sequential_bounds(
    information_rates, *, alpha: float = 0.025, kind: str = "OF", gamma: float | None = None, sided: int = 1
) -> list[float]:
    """One-sided upper critical z-values, one per look (rpact's ``criticalValues``).

    ``kind``: "OF", "P" (classical O'Brien–Fleming / Pocock), "asOF", "asP", "asHSD" (Lan–DeMets alpha
    spending; Hwang–Shih–DeCani needs ``gamma``). ``sided=2`` gives symmetric two-sided boundaries with
    ``alpha`` the two-sided total.
    """
    d = group_sequential_design(information_rates, alpha=alpha, kind=kind, gamma=gamma, sided=sided)
    return list(d.critical_values)


def _classical(t, alpha, kind, symmetric) -> list[float]:
    shape = np.power(t, -0.5) if kind == "OF" else np.ones(len(t))

    def excess(c: float) -> float:
        upper = tuple(c * shape)
        lower = tuple(-c * shape) if symmetric else (-math.inf,) * len(t)
        p_up, p_lo = _crossing(t, upper, lower, 0.0)
        return sum(p_up) + sum(p_lo) - alpha

    lo = float(ndtri(1 - alpha / (2 if symmetric else 1))) - 1e-9
    hi = lo + 2.0
    while excess(hi) > 0:
        hi += 2.0
    c = optimize.brentq(excess, lo, hi, xtol=1e-13, rtol=1e-15)
    return [float(c * s) for s in shape]


def _spending(t, alpha, kind, gamma, symmetric) -> list[float]:
    per_side = alpha / 2 if symmetric else alpha
    cumulative = alpha_spending(kind, t, per_side, gamma)
    increments = np.diff(np.concatenate(([0.0], cumulative))) * (2 if symmetric else 1)
    rec = _Recursion(0.0)
    crit = []
    for k, tk in enumerate(t):
        target = increments[k]
        if target <= 0:
            u = math.inf
        else:
            u = rec.solve_upper(tk, float(target), symmetric)
        crit.append(float(u))
        if k + 1 < len(t):
            rec.advance(tk, -u if symmetric else -math.inf, u, t[k + 1])
    return crit
