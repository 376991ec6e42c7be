"""Sample size and power for two means: the values in ../shared/STATISTICS.md, "Sample size"."""

import pytest

from shine import design
from shine.protocol import load


def test_constant_for_alpha_005_power_090():
    # STATISTICS.md: (z0.975 + z0.90)^2 = 10.50742, n per arm = 21.01485 (sd/delta)^2; 7 digits, tol 5e-6
    res = design.sample_size_means_detail(1.0, 1.0)
    assert res.n_per_arm_exact == pytest.approx(21.01485, abs=5e-6)
    assert res.n_per_arm_exact / 2 == pytest.approx(10.50742, abs=5e-6)


@pytest.mark.parametrize(
    "delta, sd, method, per_arm",
    [
        (1.3, 3.9, "z", 190),      # mean 6.5, SD 3.9, 20 %: 189.13 -> 190 per arm, 380 total
        (1.3, 3.9, "t", 191),      # same, noncentral t
        (1.336, 4.0, "z", 189),    # mean 6.68, SD 4.0
        (1.336, 4.0, "t", 190),
        (1.212, 3.89, "z", 217),   # LeoPARDS placebo arm: 217 per arm (434)
    ],
)
def test_statistics_md_sample_sizes(delta, sd, method, per_arm):
    # exact integers from STATISTICS.md
    assert design.sample_size_means(delta, sd, method=method) == per_arm


def test_protocol_planning_values_give_380():
    s = load().statistics
    res = design.sample_size_means_detail(
        s.planning_control_mean * s.planning_relative_reduction, s.planning_sd,
        alpha=s.alpha_two_sided, power=s.power,
    )
    assert res.n_per_arm_exact == pytest.approx(189.13, abs=0.005)  # STATISTICS.md: 189.13
    assert res.n_total == load().max_sample_size == 380


def test_power_t_test_n20_delta1():
    # R: power.t.test(n = 20, delta = 1) -> 0.8689528 (R's default counts one rejection region); tol 5e-8
    assert design.power_means(20, 1, 1, strict=False) == pytest.approx(0.8689528, abs=5e-8)
    # R: power.t.test(n = 20, delta = 1, strict = TRUE)$power = 0.8689530277 (printed to 10 digits); tol 1e-9
    assert design.power_means(20, 1, 1) == pytest.approx(0.8689530277, abs=1e-9)


def test_power_t_test_power090_delta1():
    # R: power.t.test(power = 0.90, delta = 1) -> n = 22.02110 per arm (5e-6, half a unit in the last digit)
    res = design.sample_size_means_detail(1, 1, method="t", strict=False)
    assert res.n_per_arm_exact == pytest.approx(22.02110, abs=5e-6)
    # R: power.t.test(power = 0.90, delta = 1, strict = TRUE, tol = 1e-12)$n = 22.0210884264; tol 1e-9
    assert design.sample_size_means_detail(1, 1, method="t").n_per_arm_exact == pytest.approx(22.0210884264, abs=1e-9)
    assert res.n_per_arm == 23


def test_integer_n_is_smallest_reaching_power():
    for method in ("z", "t"):
        res = design.sample_size_means_detail(1.3, 3.9, method=method)
        assert res.achieved_power >= 0.90
        assert design.power_means(res.n_per_arm - 1, 1.3, 3.9, method=method) < 0.90


def test_normal_power_at_formula_n_is_target():
    # at the real-valued normal n the power (ignoring the far region) is exactly the target
    res = design.sample_size_means_detail(0.5, 1.0, alpha=0.05, power=0.8)
    assert design.power_means(res.n_per_arm_exact, 0.5, 1.0, method="z", strict=False) == pytest.approx(0.8, abs=1e-12)


@pytest.mark.parametrize("n, effect", [(150, 1.5), (400, 0.8), (60, 1.5), (1e6, 0.01)])
def test_t_power_finite_at_large_noncentrality(n, effect):
    # scipy's noncentral-t cdf gives NaN for these far tails; the exact power is within 1e-7 of the normal
    power = design.power_means(n, effect, 1.0, alpha=0.01)
    assert power == pytest.approx(design.power_means(n, effect, 1.0, alpha=0.01, method="z"), abs=1e-7)


def test_sign_of_delta_does_not_matter():
    assert design.sample_size_means(-1.3, 3.9) == 190
    assert design.power_means(50, -0.5, 1) == design.power_means(50, 0.5, 1)


def test_summary_shows_formula_with_numbers():
    text = design.sample_size_means_detail(1.3, 3.9).summary()
    assert "1.9600" in text and "1.2816" in text and "189.13" in text and "380 in total" in text


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: design.sample_size_means(1.3, -3.9), "sd"),
        (lambda: design.sample_size_means(0, 3.9), "delta"),
        (lambda: design.sample_size_means(1.3, 3.9, alpha=0.5), "alpha"),
        (lambda: design.sample_size_means(1.3, 3.9, alpha=0), "alpha"),
        (lambda: design.sample_size_means(1.3, 3.9, power=1.0), "power"),
        (lambda: design.sample_size_means(1.3, 3.9, method="exact"), "method"),
        (lambda: design.power_means(1, 1.3, 3.9), "n_per_arm"),
        (lambda: design.power_means(20, 1.3, float("nan")), "sd"),
    ],
)
def test_bad_input_names_the_field(call, field):
    with pytest.raises(ValueError, match=field):
        call()
