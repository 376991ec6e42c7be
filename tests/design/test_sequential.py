"""Group-sequential boundaries: ../shared/STATISTICS.md "Group-sequential boundaries", and properties."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import ndtri

from shine import design
from shine.design.sequential import _crossing


def test_rpact_default_design():
    # rpact getDesignGroupSequential() (3 looks, OF, one-sided 0.025): 3.4710914, 2.4544323, 2.0040356
    # (tol 5e-8, half a unit in the 7th decimal); cumulative alpha 0.00025917372, 0.0071600594 (tol 1e-10)
    d = design.group_sequential_design(3)
    assert d.critical_values == pytest.approx([3.4710914, 2.4544323, 2.0040356], abs=5e-8)
    assert d.alpha_spent[:2] == pytest.approx([0.00025917372, 0.0071600594], abs=1e-10)
    assert d.alpha_spent[2] == pytest.approx(0.025, abs=1e-12)
    assert design.group_sequential_bounds([1 / 3, 2 / 3, 1]) == list(d.critical_values)


# Jennison & Turnbull (2000) tables 2.1 (Pocock C_P) and 2.3 (O'Brien-Fleming C_B), two-sided 0.05,
# equally spaced looks; 5 decimals, tol 5e-6.
JT_TABLE = {2: (2.17827, 1.97743), 3: (2.28948, 2.00404), 4: (2.36130, 2.02430), 5: (2.41318, 2.04007)}


@pytest.mark.parametrize("looks", sorted(JT_TABLE))
def test_jennison_turnbull_constants(looks):
    pocock, obf = JT_TABLE[looks]
    p = design.group_sequential_bounds(looks, kind="P", alpha=0.05, sided=2)
    assert p == pytest.approx([pocock] * looks, abs=5e-6)
    of = design.group_sequential_bounds(looks, kind="OF", alpha=0.05, sided=2)
    assert of[-1] == pytest.approx(obf, abs=5e-6)
    assert of == pytest.approx([of[-1] * math.sqrt(looks / (k + 1)) for k in range(looks)], rel=1e-12)


def test_lan_demets_obrien_fleming_three_looks():
    # STATISTICS.md: looks at 1/3, 2/3, 1 -> 3.7103, 2.5114, 1.9930 (tol 5e-5)
    b = design.group_sequential_bounds([1 / 3, 2 / 3, 1], kind="asOF")
    assert b == pytest.approx([3.7103, 2.5114, 1.9930], abs=5e-5)


def test_lan_demets_obrien_fleming_five_looks():
    # STATISTICS.md: five equally spaced looks -> 4.877, 3.357, 2.680, 2.290, 2.031 (tol 5e-4)
    b = design.group_sequential_bounds(5, kind="asOF")
    assert b == pytest.approx([4.877, 3.357, 2.680, 2.290, 2.031], abs=5e-4)


def test_lan_demets_pocock_two_looks():
    # STATISTICS.md: looks at 1/2, 1 -> 2.1570, 2.2010 (tol 5e-5)
    assert design.group_sequential_bounds([0.5, 1], kind="asP") == pytest.approx([2.1570, 2.2010], abs=5e-5)


def test_rpact_hwang_shih_decani():
    # R: rpact getDesignGroupSequential(kMax = 3, informationRates = c(0.2, 0.5, 1), typeOfDesign =
    # "asHSD", gammaA = -4)$criticalValues = 3.25266848844 2.80173621327 1.98328218609; tol 1e-7
    b = design.group_sequential_bounds([0.2, 0.5, 1], kind="asHSD", gamma=-4)
    assert b == pytest.approx([3.25266848844, 2.80173621327, 1.98328218609], abs=1e-7)


def test_spending_functions():
    t = np.array([0.25, 0.5, 1.0])
    of = design.alpha_spending("asOF", t, 0.025)
    # alpha(t) = 2 - 2 Phi(z(1 - alpha/2) / sqrt(t)), written out with scipy.stats
    assert of[0] == pytest.approx(2 * stats.norm.sf(stats.norm.isf(0.0125) / math.sqrt(0.25)), rel=1e-12)
    assert design.alpha_spending("asP", 1.0, 0.025) == pytest.approx(0.025)
    assert design.alpha_spending("asHSD", t, 0.025, 0) == pytest.approx(0.025 * t)
    assert design.alpha_spending("asHSD", 1.0, 0.025, -4) == pytest.approx(0.025)


def test_alpha_spent_matches_spending_function():
    t = [0.3, 0.55, 0.8, 1.0]
    for kind, gamma in [("asOF", None), ("asP", None), ("asHSD", -4), ("asHSD", 1)]:
        d = design.group_sequential_design(t, kind=kind, gamma=gamma)
        assert d.alpha_spent == pytest.approx(design.alpha_spending(kind, t, 0.025, gamma), abs=1e-12)


def test_quadrature_has_converged():
    # the same probabilities with 16 nodes per panel and panels four times narrower
    t = (0.1, 0.15, 0.5, 0.9, 1.0)
    up = tuple(design.group_sequential_bounds(list(t), kind="asOF"))
    lo = (-1.0, -0.5, 0.0, 0.8, -math.inf)
    for theta in (0.0, 2.5):
        coarse = _crossing(t, up, lo, theta)
        fine = _crossing(t, up, lo, theta, nodes=16, width_scale=0.25)
        assert np.allclose(coarse, fine, atol=1e-12, rtol=0)


def test_crossing_probabilities_two_looks_against_bivariate_normal():
    # P(Z1 < a, Z2 >= c) with corr sqrt(t), by a 1-D integral done independently with scipy.integrate.quad
    from scipy import integrate

    t, a, c, theta = 0.4, 0.3, 1.96, 2.0
    res = design.crossing_probabilities([math.inf, c], [t, 1], theta=theta, lower_bounds=[a, -math.inf])
    mu1 = theta * math.sqrt(t)

    def integrand(z):
        return stats.norm.pdf(z - mu1) * stats.norm.sf((c - z * math.sqrt(t) - theta * (1 - t)) / math.sqrt(1 - t))

    expected, _ = integrate.quad(integrand, a, np.inf, epsabs=1e-14)
    assert res.upper[1] == pytest.approx(expected, abs=1e-12)
    assert res.lower[0] == pytest.approx(stats.norm.cdf(a - mu1), abs=1e-15)
    assert res.expected_information == pytest.approx(t * res.lower[0] + 1 - res.lower[0])


def test_characteristics_power_at_design_drift():
    # a single look at the drift z(1-alpha) + z(power) has exactly that power
    d = design.group_sequential_design(1)
    assert d.characteristics(design.design_drift(0.025, 0.9)).p_upper == pytest.approx(0.9, abs=1e-14)


@pytest.mark.parametrize("kind", ["OF", "P", "asOF", "asP", "asHSD"])
@pytest.mark.parametrize("alpha", [0.001, 0.025, 0.1])
def test_one_look_is_fixed_design(kind, alpha):
    gamma = -2 if kind == "asHSD" else None
    assert design.group_sequential_bounds([1.0], alpha=alpha, kind=kind, gamma=gamma) == pytest.approx(
        [float(ndtri(1 - alpha))], abs=1e-10
    )


rates = st.lists(st.floats(0.05, 0.95), min_size=1, max_size=4, unique=True).map(
    lambda xs: sorted(round(x, 3) for x in xs)
).filter(lambda xs: all(b - a > 0.02 for a, b in zip(xs, xs[1:]))).map(lambda xs: xs + [1.0])
kinds = st.sampled_from([("OF", None), ("P", None), ("asOF", None), ("asP", None), ("asHSD", -4.0), ("asHSD", 2.0)])


@settings(max_examples=40, deadline=None)
@given(t=rates, kind=kinds, alpha=st.floats(0.001, 0.2), sided=st.sampled_from([1, 2]))
def test_alpha_spent_equals_target(t, kind, alpha, sided):
    d = design.group_sequential_design(t, alpha=alpha, kind=kind[0], gamma=kind[1], sided=sided)
    assert d.alpha_spent[-1] == pytest.approx(alpha, abs=1e-10)
    # and independently: the crossing probability of the returned bounds under H0
    assert d.characteristics(0.0).p_upper * sided == pytest.approx(alpha, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(t=rates, kind=kinds, alpha=st.floats(0.001, 0.15))
def test_bounds_decrease_as_alpha_grows(t, kind, alpha):
    low = design.group_sequential_bounds(t, alpha=alpha, kind=kind[0], gamma=kind[1])
    high = design.group_sequential_bounds(t, alpha=alpha * 1.5, kind=kind[0], gamma=kind[1])
    assert all(h < lo for h, lo in zip(high, low))


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"information_rates": [0.5, 0.4, 1]}, "increasing"),
        ({"information_rates": [0.5, 0.9]}, "end at 1"),
        ({"information_rates": [0, 1]}, r"\(0, 1\]"),
        ({"information_rates": [0.5, 1], "alpha": 0.6}, "alpha"),
        ({"information_rates": [0.5, 1], "kind": "WT"}, "kind"),
        ({"information_rates": [0.5, 1], "kind": "asHSD"}, "gamma"),
        ({"information_rates": [0.5, 1], "kind": "OF", "gamma": 1}, "gamma"),
        ({"information_rates": [0.5, 1], "sided": 3}, "sided"),
        ({"information_rates": 0}, "looks"),
    ],
)
def test_bad_input(kwargs, field):
    with pytest.raises(ValueError, match=field):
        design.group_sequential_bounds(**kwargs)


def test_summary_lists_every_look():
    text = design.group_sequential_design(3).summary()
    assert "3.471091" in text and "0.0250000000" in text and text.count("\n") == 4
