"""Conditional power, futility rules and the futility interim's operating characteristics."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats
from scipy.special import ndtri

from shine import design
from shine.protocol import load

T_SHINE = 200 / 380


def test_design_drift():
    # STATISTICS.md: theta = z(1-alpha) + z(1-beta) = 3.2415 for one-sided 0.025 and 90 % power (tol 5e-5)
    assert design.design_drift(0.025, 0.90) == pytest.approx(3.2415, abs=5e-5)


def test_conditional_power_formula():
    # STATISTICS.md: CP = 1 - Phi((z(1-alpha) - Z sqrt(t) - theta (1-t)) / sqrt(1-t)), written out here
    z, t, theta = 0.7, T_SHINE, design.design_drift()
    expected = 1 - stats.norm.cdf((stats.norm.ppf(0.975) - z * math.sqrt(t) - theta * (1 - t)) / math.sqrt(1 - t))
    assert design.conditional_power(z, t, theta=theta) == pytest.approx(expected, abs=1e-15)
    # R: rpact getConditionalPower(stage results z = 0.7, t = 200/380, noEarlyEfficacy design, thetaH1 =
    # design drift) = 0.54818107449091 (tol 1e-12)
    assert design.conditional_power(z, t, theta=theta) == pytest.approx(0.54818107449091, abs=1e-12)


def test_conditional_power_current_trend_and_vectors():
    z = np.array([-1.0, 0.0, 1.5, 3.0])
    cp = design.conditional_power(z, 0.5)
    assert cp.shape == (4,)
    assert cp == pytest.approx([design.conditional_power(v, 0.5, theta=v / math.sqrt(0.5)) for v in z], abs=1e-15)
    assert np.all(np.diff(cp) > 0)
    # at full information conditional power is the final decision itself
    assert design.conditional_power([1.9, 2.0], 1.0).tolist() == [0.0, 1.0]


def gscp_east_check() -> float:
    """gsDesign's check against East 6.5, computed from scratch.

    gsDesign(k = 3, test.type = 2, n.fix = 800): symmetric two-sided, binding, Hwang-Shih-DeCani
    spending (gamma -4) of alpha 0.025 per side, beta 0.1, equally spaced looks, maximum sample size chosen
    so that the upper-crossing probability at delta = (z0.975 + z0.90) / sqrt(800) is 0.90. gsCP(x,
    theta = 0.05733214, i = 1, zi = 0.943317) re-expresses the bounds of looks 2 and 3 on the
    information gathered after look 1 and sums the upper-crossing probabilities.
    """
    gs = design.group_sequential_design(3, alpha=0.05, kind="asHSD", gamma=-4, sided=2)
    t, b = gs.information_rates, gs.critical_values
    delta = (ndtri(0.975) + ndtri(0.90)) / math.sqrt(800)
    n_max = optimize.brentq(lambda n: gs.characteristics(delta * math.sqrt(n)).p_upper - 0.90, 800, 8000, xtol=1e-10)
    zi, theta = 0.943317, 0.05733214
    n_new = [(t[j] - t[0]) * n_max for j in (1, 2)]
    upper = [(b[j] * math.sqrt(t[j]) - zi * math.sqrt(t[0])) / math.sqrt(t[j] - t[0]) for j in (1, 2)]
    lower = [(-b[j] * math.sqrt(t[j]) - zi * math.sqrt(t[0])) / math.sqrt(t[j] - t[0]) for j in (1, 2)]
    cp = design.crossing_probabilities(
        upper, [n_new[0] / n_new[1], 1.0], theta=theta * math.sqrt(n_new[1]), lower_bounds=lower
    )
    return cp.p_upper


def test_gscp_east_check():
    # STATISTICS.md: gsCP(gsDesign(k=3, test.type=2, n.fix=800), theta=0.05733214, i=1, zi=0.943317)
    # total upper-crossing probability 0.3306859 (7 digits, tol 1e-6)
    assert gscp_east_check() == pytest.approx(0.3306859, abs=1e-6)


@pytest.mark.parametrize(
    "text, kind, threshold",
    [
        ("cp_design<0.10", "cp_design", 0.10),
        (" cp_trend < 0.2 ", "cp_trend", 0.2),
        ("z<0.0", "z", 0.0),
        ("z<-0.5", "z", -0.5),
        ("z<=1e-1", "z", 0.1),
        ("cp_design<.05", "cp_design", 0.05),
    ],
)
def test_parse_rules(text, kind, threshold):
    rule = design.parse_futility_rule(text)
    assert (rule.kind, rule.threshold) == (kind, threshold)
    assert design.parse_futility_rule(str(rule)) == rule


def test_parse_none():
    rule = design.parse_futility_rule("none")
    assert rule.kind == "none"
    assert design.futility_z_for_rule("none", 0.5, alpha=0.025, power=0.9) == -math.inf


@pytest.mark.parametrize("text", ["cp_design>0.1", "cp_design<1.2", "cp_trend<0", "foo", "z<", "z<abc", ""])
def test_bad_rules(text):
    with pytest.raises(ValueError, match="rule"):
        design.parse_futility_rule(text)


@pytest.mark.parametrize("rule", ["cp_design<0.10", "cp_design<0.3", "cp_trend<0.20", "cp_trend<0.05"])
@pytest.mark.parametrize("t", [0.2, T_SHINE, 0.8])
def test_cutoff_gives_threshold_conditional_power(rule, t):
    r = design.parse_futility_rule(rule)
    z = design.futility_z_for_rule(rule, t, alpha=0.025, power=0.90)
    theta = design.design_drift(0.025, 0.90) if r.kind == "cp_design" else None
    assert design.conditional_power(z, t, theta=theta) == pytest.approx(r.threshold, abs=1e-13)


def test_z_rule_is_its_own_cutoff():
    assert design.futility_z_for_rule("z<0.25", 0.3, alpha=0.025, power=0.8) == 0.25


def test_shine_default_rule_cutoff():
    s = load().statistics
    z = design.futility_z_for_rule(s.interim_rule, s.interim_n / load().max_sample_size,
                                   alpha=s.alpha_two_sided / 2, power=s.power)
    # closed form: (z0.975 - theta (1 - t) - z0.90 sqrt(1 - t)) / sqrt(t), theta = z0.975 + z0.90
    theta = ndtri(0.975) + ndtri(0.9)
    expected = (ndtri(0.975) - theta * (1 - T_SHINE) - ndtri(0.9) * math.sqrt(1 - T_SHINE)) / math.sqrt(T_SHINE)
    assert z == pytest.approx(expected, abs=1e-14)
    assert z == pytest.approx(-0.6306409, abs=1e-6)


def test_futility_characteristics_against_rpact():
    # R: d <- getDesignGroupSequential(kMax = 2, informationRates = c(200/380, 1), typeOfDesign =
    #   "noEarlyEfficacy", futilityBounds = 0.5, bindingFutility = FALSE, alpha = 0.025)
    # getPowerAndAverageSampleNumber(d, theta = c(0, qnorm(0.975) + qnorm(0.9)), nMax = 1):
    # overallReject 0.02376826 0.88971107, futilityPerStage 0.6914625 0.03203858,
    # averageSampleNumber 0.6724651 0.9848238 (printed to 7 significant digits; tol 5e-8 / 5e-9)
    fc = design.futility_characteristics(0.5, T_SHINE)
    assert fc.type1_binding == pytest.approx(0.02376826, abs=5e-9)
    assert fc.power == pytest.approx(0.88971107, abs=5e-9)
    assert fc.p_stop_h0 == pytest.approx(0.6914625, abs=5e-8)
    assert fc.p_stop_h1 == pytest.approx(0.03203858, abs=5e-9)
    assert fc.expected_n_h0 == pytest.approx(0.6724651, abs=5e-8)
    assert fc.expected_n_h1 == pytest.approx(0.9848238, abs=5e-8)
    assert fc.type1_nonbinding == pytest.approx(0.025, abs=1e-15)


def test_futility_characteristics_in_patients():
    fc = design.futility_characteristics(0.0, T_SHINE, n_max=380, n_interim=200)
    # z < 0 under H0 stops half the trials: E[N] = 0.5 * 200 + 0.5 * 380
    assert fc.p_stop_h0 == pytest.approx(0.5, abs=1e-15)
    assert fc.expected_n_h0 == pytest.approx(290.0, abs=1e-12)
    assert fc.n_interim == 200 and fc.n_max == 380
    assert "power" in fc.summary()


def test_no_futility_stop_is_the_fixed_design():
    fc = design.futility_characteristics(-math.inf, 0.5)
    assert fc.power == pytest.approx(0.90, abs=1e-14)
    assert fc.type1_binding == pytest.approx(0.025, abs=1e-14)
    assert fc.p_stop_h0 == 0 and fc.expected_n_h1 == 1.0


def test_characteristics_by_monte_carlo():
    # independent check: 400,000 simulated (Z_t, Z_1) pairs; tolerance 4 Monte Carlo SE
    rng = np.random.default_rng(20240917)
    t, f, theta = T_SHINE, -0.2, design.design_drift()
    n = 400_000
    s1 = rng.normal(theta * t, math.sqrt(t), n)
    s2 = s1 + rng.normal(theta * (1 - t), math.sqrt(1 - t), n)
    z1 = s1 / math.sqrt(t)
    power_mc = np.mean((z1 >= f) & (s2 >= ndtri(0.975)))
    fc = design.futility_characteristics(f, t)
    assert abs(fc.power - power_mc) < 4 * math.sqrt(power_mc * (1 - power_mc) / n)


@settings(max_examples=60, deadline=None)
@given(f=st.floats(-3, 3), t=st.floats(0.05, 0.95), alpha=st.floats(0.001, 0.2), power=st.floats(0.5, 0.99))
def test_binding_futility_never_raises_type1_error(f, t, alpha, power):
    fc = design.futility_characteristics(f, t, alpha=alpha, power=power)
    assert fc.type1_binding <= fc.type1_nonbinding + 1e-15
    assert fc.type1_nonbinding == pytest.approx(alpha, rel=1e-12)
    assert fc.power <= stats.norm.sf(fc.critical_value - fc.theta) + 1e-12  # no interim: the fixed design
    assert 0 <= fc.p_stop_h1 <= fc.p_stop_h0 <= 1


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"futility_z": 0.0, "information_fraction": 1.0}, "information_fraction"),
        ({"futility_z": 0.0, "information_fraction": 0.0}, "information_fraction"),
        ({"futility_z": 0.0, "information_fraction": 0.5, "alpha": 0.7}, "alpha"),
        ({"futility_z": 0.0, "information_fraction": 0.5, "power": 1.5}, "power"),
        ({"futility_z": float("nan"), "information_fraction": 0.5}, "futility_z"),
        ({"futility_z": 0.0, "information_fraction": 0.5, "n_max": 380, "n_interim": 400}, "n_interim"),
        ({"futility_z": 0.0, "information_fraction": 0.5, "n_max": 380, "n_interim": 200}, "n_interim / n_max"),
        ({"futility_z": 0.0, "information_fraction": 0.5, "n_max": -1}, "n_max"),
    ],
)
def test_bad_input(kwargs, field):
    with pytest.raises(ValueError, match=field):
        design.futility_characteristics(**kwargs)


def test_conditional_power_bad_input():
    with pytest.raises(ValueError, match="information_fraction"):
        design.conditional_power(0.5, 1.2)
    with pytest.raises(ValueError, match="z_interim"):
        design.conditional_power([0.5, np.nan], 0.5)
