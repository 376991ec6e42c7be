"""Benchmark of the trial simulator (issue 8), all in one process on this machine.

1. Patient-level trials (interim + final ANCOVA on arm + site + baseline): numpy batched
   ``simulate_trials`` against a per-trial loop fitting the same two ANCOVAs with ``statsmodels.OLS`` on
   arrays (patients generated the same way). Goal ≥ 10×.
2. ``model="means"`` against rpact ``getSimulationMeans`` through Rscript, same design and trials. Goal ≥ 10×.
3. The torch backend, if installed (CUDA when present, otherwise CPU: labelled as such).
4. The fused Triton kernel (``backend="triton"``) on a CUDA GPU, against the torch backend on the same GPU,
   float32 and float64; goal ≥ 10⁷ trials/s on an H100. Without CUDA it is skipped (its interpreter is a
   test tool, not a speed).

Run: .venv/bin/python bench/simulate.py
"""

from __future__ import annotations

import shutil
import subprocess
import time

import numpy as np
import statsmodels.api as sm

from shine.simulation import simulate_trials
from shine.simulation.trials import patient_labels, simulate_patients

N_MAX, N_INTERIM, SD, EFFECT, FUTILITY_Z = 380, 200, 3.9, 1.3, -0.6306


def statsmodels_loop(n_trials: int, seed: int) -> float:
    """Trials per second of the per-trial loop (generation + two OLS fits per trial)."""
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    p = simulate_patients(rng, n_trials, N_MAX, N_INTERIM, effect=EFFECT, sd=SD, site_weights=np.full(6, 1 / 6),
                          site_sd=1.0, baseline_slope=1.0, block_sizes=(2, 4, 6))
    p["site"], p["arm"] = patient_labels(p["cells"])
    # interim patients first in each row (columns [0, N_INTERIM)), as simulate_patients documents
    stops = rejects = 0
    for i in range(n_trials):
        z = []
        for n in (N_INTERIM, N_MAX):
            s = p["site"][i, :n]
            X = np.column_stack([np.ones(n), p["arm"][i, :n], *[(s == k).astype(float) for k in range(1, 6)],
                                 p["x"][i, :n]])
            fit = sm.OLS(p["y"][i, :n], X).fit()
            z.append(-fit.tvalues[1])
        stop = z[0] < FUTILITY_Z
        stops += stop
        rejects += (not stop) and z[1] > 1.966
    return n_trials / (time.perf_counter() - start)


def batched(n_trials: int, **kw) -> float:
    start = time.perf_counter()
    simulate_trials(n_trials, EFFECT, SD, N_MAX, N_INTERIM, FUTILITY_Z, seed=1, **kw)
    return n_trials / (time.perf_counter() - start)


RPACT = """
library(rpact)
d <- getDesignGroupSequential(kMax = 2, alpha = 0.025, sided = 1, informationRates = c({t}, 1),
                              typeOfDesign = "noEarlyEfficacy", futilityBounds = {f}, bindingFutility = FALSE)
t0 <- Sys.time()
s <- getSimulationMeans(d, groups = 2, alternative = c(0, {effect}), stDev = {sd},
                        plannedSubjects = c({n1}, {n}), maxNumberOfIterations = {iterations}, seed = 1)
cat(as.numeric(difftime(Sys.time(), t0, units = "secs")), s$overallReject, "\\n")
"""


def main() -> None:
    print("1. patient-level trials with interim and final ANCOVA (380 patients, 6 sites)")
    loop_trials = 1_000
    loop = statsmodels_loop(loop_trials, 2)
    fast = batched(loop_trials)
    print(f"   same {loop_trials:,} trials: statsmodels.OLS loop {loop:,.0f} trials/s, "
          f"numpy batched {fast:,.0f} trials/s, ratio {fast / loop:.1f}x")
    big = batched(200_000)
    print(f"   numpy batched, 200,000 trials: {big:,.0f} trials/s ({big / loop:.1f}x the loop)")

    print("2. stage-wise normal model (model='means') vs rpact getSimulationMeans, effects 0 and 1.3")
    iterations = 100_000
    if shutil.which("Rscript"):
        code = RPACT.format(t=N_INTERIM / N_MAX, f=FUTILITY_Z, effect=EFFECT, sd=SD, n1=N_INTERIM, n=N_MAX,
                            iterations=iterations)
        start = time.perf_counter()
        out = subprocess.run(["Rscript", "--vanilla", "-e", code], capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        seconds, *reject = map(float, out.stdout.split())
        rpact_rate = 2 * iterations / seconds
        start = time.perf_counter()
        ours = [simulate_trials(iterations, e, SD, N_MAX, N_INTERIM, FUTILITY_Z, seed=1, model="means")
                for e in (0.0, EFFECT)]
        ours_rate = 2 * iterations / (time.perf_counter() - start)
        print(f"   rpact {rpact_rate:,.0f} trials/s (inside R; {2 * iterations / wall:,.0f} with R start-up), "
              f"numpy {ours_rate:,.0f} trials/s, ratio {ours_rate / rpact_rate:.0f}x")
        print(f"   rejection rates: rpact {reject[0]:.4f} / {reject[1]:.4f}, "
              f"ours {ours[0].power:.4f} / {ours[1].power:.4f}")
    else:
        print("   Rscript not found: skipped")

    print("3. torch backend")
    try:
        import torch
    except ImportError:
        print("   torch not installed: skipped")
        return
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch_rate = {}
    for dtype in ("float64", "float32"):
        torch_rate[dtype] = batched(50_000 if device == "cpu" else 2_000_000, backend="torch", dtype=dtype)
        print(f"   torch {torch.__version__} on {device}, {dtype}: {torch_rate[dtype]:,.0f} trials/s")

    print("4. fused Triton kernel (backend='triton')")
    if device != "cuda":
        print("   no CUDA GPU: skipped")
        return
    try:
        import triton
    except ImportError:
        print("   Triton not installed: skipped")
        return
    print(f"   {torch.cuda.get_device_name()}, Triton {triton.__version__}")
    batched(100_000, backend="triton", dtype="float32")  # compiles the kernel
    for dtype in ("float32", "float64"):
        rate = batched(20_000_000, backend="triton", dtype=dtype)
        print(f"   {dtype}: {rate:,.0f} trials/s (20,000,000 trials), {rate / torch_rate[dtype]:.1f}x torch, "
              f"{rate / 1e7:.2f} of the 10^7 goal")


if __name__ == "__main__":
    main()
