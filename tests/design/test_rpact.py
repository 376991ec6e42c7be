"""Cross-checks against live R (rpact 3.3.4 and stats::power.t.test) on grids of designs, to 1e-6.

Each test writes its whole grid into one R script (R starts in about a second; ``Rscript -e`` truncates
long code, so the script is sourced from a file) that prints one line per design,
``id;value,value,...;...``, with 15 significant digits.
"""

import itertools
import math

import pytest

from shine import design
from tests.support import rscript

pytestmark = pytest.mark.rlang
TOL = 1e-6

R_HELPERS = """
suppressPackageStartupMessages(library(rpact))
f <- function(x) paste(sprintf("%.15g", x), collapse = ",")
emit <- function(id, ...) cat(id, ";", paste(sapply(list(...), f), collapse = ";"), "\\n", sep = "")
"""


def r_num(x: float) -> str:
    return repr(float(x))


def r_vec(xs) -> str:
    return "c(" + ", ".join(r_num(x) for x in xs) + ")"


def run_r(lines: list[str], tmp_path) -> dict[str, list[list[float]]]:
    script = tmp_path / "grid.R"
    script.write_text("\n".join([R_HELPERS, *lines]) + "\n")
    out = rscript(f"source({str(script)!r})")
    rows = {}
    for line in out.splitlines():
        if ";" not in line:
            continue
        key, *fields = line.strip().split(";")
        rows[key] = [[float(v) for v in f.split(",")] for f in fields]
    return rows


KINDS = [("OF", None), ("P", None), ("asOF", None), ("asP", None), ("asHSD", -4.0), ("asHSD", -2.0), ("asHSD", 1.0)]
RATES = {
    2: [(0.5, 1.0), (0.3, 1.0)],
    3: [(1 / 3, 2 / 3, 1.0), (0.25, 0.6, 1.0)],
    4: [(0.25, 0.5, 0.75, 1.0), (0.2, 0.45, 0.8, 1.0)],
    5: [(0.2, 0.4, 0.6, 0.8, 1.0), (0.3, 0.45, 0.6, 0.85, 1.0)],
}


def boundary_grid():
    grid = []
    for (kind, gamma), k, (alpha, sided) in itertools.product(KINDS, RATES, ((0.01, 1), (0.025, 1), (0.05, 2))):
        for rates in RATES[k]:
            grid.append((kind, gamma, rates, alpha, sided))
    return grid


def test_boundaries_alpha_spent_power_and_asn(tmp_path):
    grid = boundary_grid()
    lines = []
    for i, (kind, gamma, rates, alpha, sided) in enumerate(grid):
        gamma_arg = f", gammaA = {r_num(gamma)}" if gamma is not None else ""
        theta = design.design_drift(alpha / sided, 0.9)
        lines.append(
            f"d <- getDesignGroupSequential(kMax = {len(rates)}, informationRates = {r_vec(rates)}, "
            f"alpha = {r_num(alpha)}, sided = {sided}, typeOfDesign = '{kind}'{gamma_arg}); "
            f"p <- getPowerAndAverageSampleNumber(d, theta = {r_num(theta)}, nMax = 1); "
            f"emit('{i}', d$criticalValues, d$alphaSpent, p$overallReject, p$averageSampleNumber)"
        )
    r = run_r(lines, tmp_path)
    assert len(r) == len(grid)
    worst = 0.0
    for i, (kind, gamma, rates, alpha, sided) in enumerate(grid):
        crit, spent, reject, asn = r[str(i)]
        d = design.group_sequential_design(rates, alpha=alpha, kind=kind, gamma=gamma, sided=sided)
        ch = d.characteristics(design.design_drift(alpha / sided, 0.9))
        ours_reject = ch.p_upper + (ch.p_lower if sided == 2 else 0.0)
        diffs = [abs(a - b) for a, b in zip(d.critical_values, crit, strict=True)]
        diffs += [abs(a - b) for a, b in zip(d.alpha_spent, spent, strict=True)]
        diffs += [abs(ours_reject - reject[0]), abs(ch.expected_information - asn[0])]
        worst = max(worst, *diffs)
        assert max(diffs) < TOL, (kind, gamma, rates, alpha, sided, d.critical_values, crit)
    print(f"{len(grid)} designs, largest difference from rpact {worst:.2e}")


EFFECTS = [0.2, 0.35, 0.5, 0.8, 1.0, 1.5]
POWER_N = [10, 25, 60, 150, 400]


def test_sample_size_and_power_normal_against_rpact(tmp_path):
    # rpact getSampleSizeMeans / getPowerMeans with normalApproximation = TRUE, two-sided; each call
    # takes the whole vector of effect sizes
    grid = list(itertools.product((0.01, 0.05, 0.1), (0.8, 0.9)))
    pgrid = list(itertools.product(POWER_N, (0.01, 0.05)))
    lines = []
    for i, (alpha, power) in enumerate(grid):
        lines.append(
            f"s <- getSampleSizeMeans(alternative = {r_vec(EFFECTS)}, stDev = 1, sided = 2, alpha = {r_num(alpha)}, "
            f"beta = {r_num(1 - power)}, normalApproximation = TRUE); emit('n{i}', s$nFixed1)"
        )
    for i, (n, alpha) in enumerate(pgrid):
        lines.append(
            f"p <- getPowerMeans(maxNumberOfSubjects = {2 * n}, alternative = {r_vec(EFFECTS)}, stDev = 1, "
            f"sided = 2, alpha = {r_num(alpha)}, normalApproximation = TRUE); emit('p{i}', p$overallReject)"
        )
    r = run_r(lines, tmp_path)
    for i, (alpha, power) in enumerate(grid):
        for effect, theirs in zip(EFFECTS, r[f"n{i}"][0], strict=True):
            ours = design.sample_size_means_detail(effect, 1.0, alpha=alpha, power=power, method="z")
            assert ours.n_per_arm_exact == pytest.approx(theirs, abs=TOL)
            assert ours.n_per_arm == math.ceil(theirs)
    for i, (n, alpha) in enumerate(pgrid):
        for effect, theirs in zip(EFFECTS, r[f"p{i}"][0], strict=True):
            assert design.power_means(n, effect, 1.0, alpha=alpha, method="z") == pytest.approx(theirs, abs=TOL)


def test_sample_size_and_power_t_against_r(tmp_path):
    # exact two-sided noncentral t: stats::power.t.test(strict = TRUE, tol = 1e-12), and R's default
    # (one rejection region) for strict=False. rpact's normalApproximation = FALSE maps the t power of the
    # near region to a normal drift and adds the far region from the normal; it agrees with the exact t
    # wherever the far region is negligible, which the last block checks (power >= 0.5, n >= 20 per arm).
    grid = list(itertools.product(EFFECTS, (0.01, 0.05), (0.8, 0.9)))
    pgrid = list(itertools.product(POWER_N, (0.01, 0.05)))
    lines = []
    for i, (effect, alpha, power) in enumerate(grid):
        args = f"delta = {r_num(effect)}, sig.level = {r_num(alpha)}, power = {r_num(power)}, tol = 1e-12"
        lines.append(f"emit('n{i}', power.t.test({args}, strict = TRUE)$n, power.t.test({args})$n)")
    for i, (n, alpha) in enumerate(pgrid):
        lines.append(
            f"emit('p{i}', power.t.test(n = {n}, delta = {r_vec(EFFECTS)}, sig.level = {r_num(alpha)}, "
            f"strict = TRUE)$power, getPowerMeans(maxNumberOfSubjects = {2 * n}, alternative = {r_vec(EFFECTS)}, "
            f"stDev = 1, sided = 2, alpha = {r_num(alpha)}, normalApproximation = FALSE)$overallReject)"
        )
    r = run_r(lines, tmp_path)
    for i, (effect, alpha, power) in enumerate(grid):
        strict, one_region = r[f"n{i}"]
        ours = design.sample_size_means_detail(effect, 1.0, alpha=alpha, power=power, method="t")
        assert ours.n_per_arm_exact == pytest.approx(strict[0], abs=TOL)
        assert ours.n_per_arm == math.ceil(strict[0])
        loose = design.sample_size_means_detail(effect, 1.0, alpha=alpha, power=power, method="t", strict=False)
        assert loose.n_per_arm_exact == pytest.approx(one_region[0], abs=TOL)
    compared_with_rpact = 0
    for i, (n, alpha) in enumerate(pgrid):
        exact, rpact_power = r[f"p{i}"]
        for effect, theirs_exact, theirs_rpact in zip(EFFECTS, exact, rpact_power, strict=True):
            ours = design.power_means(n, effect, 1.0, alpha=alpha, method="t")
            assert ours == pytest.approx(theirs_exact, abs=TOL)
            if ours >= 0.5 and n >= 20:
                compared_with_rpact += 1
                assert ours == pytest.approx(theirs_rpact, abs=TOL)
    assert compared_with_rpact >= 20


def test_conditional_power_against_rpact(tmp_path):
    # rpact: inverse-normal design without early efficacy stop at information rates (t, 1); stage-1
    # data with unit SDs and 50 per arm chosen so that the stage-1 z is the given value; getConditionalPower
    # with nPlanned = 100 and thetaH1 such that the drift over the remaining information is theta sqrt(1 - t).
    # (rpact's stage results take ~0.1 s each, so the grid is kept to 18 interim results)
    zs = [-1.5, -0.5, 0.5, 1.5, 2.5, 3.5]
    looks = [(0.25, 0.025), (200 / 380, 0.025), (0.75, 0.05)]
    grid = list(itertools.product(zs, looks))
    lines = []
    for i, (z, (t, alpha)) in enumerate(grid):
        cp = "getConditionalPower(sr, nPlanned = 100, thetaH1 = {}, assumedStDev = 1)$conditionalPower[2]"
        lines.append(
            f"d <- getDesignInverseNormal(kMax = 2, informationRates = c({r_num(t)}, 1), "
            f"typeOfDesign = 'noEarlyEfficacy', alpha = {r_num(alpha)}); "
            f"ds <- getDataset(n1 = 50, n2 = 50, means1 = {r_num(z / 5)}, means2 = 0, stDevs1 = 1, stDevs2 = 1); "
            f"sr <- getStageResults(d, dataInput = ds, normalApproximation = TRUE); "
            f"emit('{i}', {cp.format(r_num(design.design_drift(alpha, 0.9) * math.sqrt(1 - t) / 5))}, "
            f"{cp.format(r_num(z / math.sqrt(t) * math.sqrt(1 - t) / 5))})"
        )
    r = run_r(lines, tmp_path)
    for i, (z, (t, alpha)) in enumerate(grid):
        under_design, under_trend = r[str(i)]
        assert design.conditional_power(z, t, alpha=alpha, theta=design.design_drift(alpha, 0.9)) == pytest.approx(
            under_design[0], abs=TOL
        )
        assert design.conditional_power(z, t, alpha=alpha) == pytest.approx(under_trend[0], abs=TOL)


def test_futility_characteristics_against_rpact(tmp_path):
    # rpact: getDesignGroupSequential(kMax = 2, typeOfDesign = "noEarlyEfficacy", futilityBounds = f,
    # bindingFutility = FALSE), then getPowerAndAverageSampleNumber at theta 0 and the design drift, nMax 1
    grid = list(itertools.product((-1.0, -0.5, 0.0, 0.5, 1.0), (0.3, 200 / 380, 0.7), (0.025, 0.05), (0.8, 0.9)))
    lines = []
    for i, (f, t, alpha, power) in enumerate(grid):
        lines.append(
            f"d <- getDesignGroupSequential(kMax = 2, informationRates = c({r_num(t)}, 1), alpha = {r_num(alpha)}, "
            f"typeOfDesign = 'noEarlyEfficacy', futilityBounds = {r_num(f)}, bindingFutility = FALSE); "
            f"p <- getPowerAndAverageSampleNumber(d, theta = c(0, {r_num(design.design_drift(alpha, power))}), "
            f"nMax = 1); "
            f"emit('{i}', p$overallReject, p$futilityPerStage, p$averageSampleNumber, d$criticalValues[2])"
        )
    r = run_r(lines, tmp_path)
    for i, (f, t, alpha, power) in enumerate(grid):
        reject, futility, asn, crit = r[str(i)]
        fc = design.futility_characteristics(f, t, alpha=alpha, power=power)
        assert fc.critical_value == pytest.approx(crit[0], abs=TOL)
        assert [fc.type1_binding, fc.power] == pytest.approx(reject, abs=TOL)
        assert [fc.p_stop_h0, fc.p_stop_h1] == pytest.approx(futility, abs=TOL)
        assert [fc.expected_n_h0, fc.expected_n_h1] == pytest.approx(asn, abs=TOL)
