"""Benchmark: sofa_arrays over 1 million patient-days vs a Python loop over sofa(), same process.

Run: .venv/bin/python bench/sofa.py [n_days] [n_loop]. The loop is timed on the first n_loop days (the
rate is per day, so extrapolating it is fair) and its results are checked against the array results.
Goal (issue 3): ratio >= 50.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from shine.clinical.sofa import INPUTS, sofa, sofa_arrays


def patient_days(n: int, seed: int = 20240901) -> dict[str, np.ndarray]:
    """Plausible daily worst values with 10 % of each measurement missing."""
    rng = np.random.default_rng(seed)
    cols = {
        "pao2_fio2": rng.uniform(60, 500, n),
        "respiratory_support": (rng.random(n) < 0.6).astype(float),
        "platelets": rng.lognormal(np.log(150), 0.6, n).clip(0, 2000),
        "bilirubin": rng.lognormal(np.log(20), 0.9, n).clip(0, 1000),
        "map_mmhg": rng.normal(72, 10, n).clip(0, 300),
        "dopamine": np.where(rng.random(n) < 0.05, rng.uniform(0, 20, n), 0.0),
        "dobutamine": np.where(rng.random(n) < 0.1, rng.uniform(0, 10, n), 0.0),
        "epinephrine": np.where(rng.random(n) < 0.05, rng.uniform(0, 0.5, n), 0.0),
        "norepinephrine": np.where(rng.random(n) < 0.6, rng.uniform(0, 0.6, n), 0.0),
        "gcs": rng.integers(3, 16, n).astype(float),
        "creatinine": rng.lognormal(np.log(130), 0.6, n).clip(0, 3000),
        "urine_output": rng.lognormal(np.log(1200), 0.8, n).clip(0, 20000),
    }
    for col in cols.values():
        col[rng.random(n) < 0.10] = np.nan  # missing; for support and drugs NaN means no / not given
    return cols


def main(n: int = 1_000_000, n_loop: int = 50_000) -> None:
    cols = patient_days(n)
    best = math.inf
    for _ in range(3):
        t = time.perf_counter()
        result = sofa_arrays(**cols)
        best = min(best, time.perf_counter() - t)
    array_rate = n / best

    rows = [dict(zip(INPUTS, values)) for values in zip(*(cols[k][:n_loop].tolist() for k in INPUTS))]
    t = time.perf_counter()
    scores = [sofa(**row) for row in rows]
    loop_rate = n_loop / (time.perf_counter() - t)

    mismatches = sum(result.row(i) != s for i, s in enumerate(scores))
    print(f"sofa_arrays: {n:,} patient-days in {best:.3f} s (best of 3) = {array_rate:,.0f} days/s")
    print(f"sofa() loop: {n_loop:,} patient-days = {loop_rate:,.0f} days/s "
          f"(baseline, same process; {n / loop_rate:.1f} s for {n:,})")
    print(f"ratio: {array_rate / loop_rate:.0f}x (goal >= 50x); mismatches on the looped days: {mismatches}")
    print(f"mean modified SOFA of the synthetic days: {result.modified.mean():.2f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
