"""model="means" against rpact's getSimulationMeans (rpact 3.3.4 through Rscript)."""

import json
import math

import pytest

from shine.simulation import simulate_trials
from tests.support import rscript

R_CODE = """
library(rpact)
out <- list()
for (f in c({bounds})) {{
  d <- getDesignGroupSequential(kMax = 2, alpha = 0.025, sided = 1, informationRates = c(200 / 380, 1),
                                typeOfDesign = "noEarlyEfficacy", futilityBounds = f, bindingFutility = FALSE)
  s <- getSimulationMeans(d, groups = 2, alternative = c(0, 1.3), stDev = 3.9, plannedSubjects = c(200, 380),
                          maxNumberOfIterations = {iterations}, seed = 12345)
  out[[length(out) + 1]] <- list(f = f, reject = s$overallReject, stop = s$futilityStop,
                                 n = s$expectedNumberOfSubjects)
}}
cat(jsonlite::toJSON(out, digits = NA, auto_unbox = TRUE))
"""


@pytest.mark.rlang
def test_means_model_agrees_with_rpact_getSimulationMeans():
    # R: getSimulationMeans(getDesignGroupSequential(kMax = 2, informationRates = c(200/380, 1),
    # typeOfDesign = "noEarlyEfficacy", futilityBounds = f, bindingFutility = FALSE), alternative = c(0, 1.3),
    # stDev = 3.9, plannedSubjects = c(200, 380), maxNumberOfIterations = 50000). Both are Monte Carlo
    # estimates: tolerance 3 × √(MCSE_ours² + MCSE_rpact²).
    bounds, iterations = (-0.6306, 0.0, 0.5), 50_000
    code = R_CODE.format(bounds=", ".join(map(str, bounds)), iterations=iterations)
    try:
        results = json.loads(rscript(code))
    except RuntimeError as exc:
        if "jsonlite" in str(exc):
            pytest.skip("R package jsonlite is not installed")
        raise
    for row in results:
        for k, effect in enumerate((0.0, 1.3)):
            r = simulate_trials(200_000, effect, 3.9, 380, 200, row["f"], seed=31, model="means")
            for ours, theirs, p in ((r.power, row["reject"][k], r.power),
                                    (r.p_stop_futility, row["stop"][k], r.p_stop_futility)):
                tol = 3 * math.sqrt(p * (1 - p) * (1 / 200_000 + 1 / iterations))
                assert abs(ours - theirs) <= tol, (row["f"], effect, ours, theirs, tol)
            p = r.p_stop_futility
            tol_n = 3 * 180 * math.sqrt(p * (1 - p) * (1 / 200_000 + 1 / iterations))
            assert abs(r.expected_n - row["n"][k]) <= tol_n
