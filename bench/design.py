"""Benchmark: boundaries and operating characteristics for 1,000 designs, shine.design against rpact.

Part 1: 1,000 group-sequential designs (OF, P, asOF, asP, asHSD; 2-5 looks; several alphas and
information rates): critical values, then power and expected information at the design drift.
rpact: getDesignGroupSequential + getPowerAndAverageSampleNumber.
Part 2: 1,000 futility-interim designs (futility_characteristics) against rpact's noEarlyEfficacy design
with a non-binding futility bound + getPowerAndAverageSampleNumber.

R runs once for both parts (one Rscript process); its loops are timed inside R, and its start-up is
reported separately. Run: .venv/bin/python bench/design.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from shine import design

N_DESIGNS = 1000
KINDS = [("OF", None), ("P", None), ("asOF", None), ("asP", None), ("asHSD", -4.0), ("asHSD", -2.0), ("asHSD", 1.0)]


def group_sequential_designs(rng: np.random.Generator):
    out = []
    for i in range(N_DESIGNS):
        kind, gamma = KINDS[i % len(KINDS)]
        k = 2 + (i // len(KINDS)) % 4
        alpha = (0.01, 0.02, 0.025, 0.05)[(i // 28) % 4]
        if i % 2:
            rates = [(j + 1) / k for j in range(k)]
        else:  # random interim rates at least 0.1 apart, starting at 0.15 or later
            while True:
                interim = np.sort(rng.uniform(0.15, 0.9, k - 1))
                if np.all(np.diff(np.r_[interim, 1.0]) > 0.1):
                    break
            rates = [round(float(x), 4) for x in interim] + [1.0]
        out.append((kind, gamma, alpha, rates))
    return out


def futility_designs(rng: np.random.Generator):
    return [
        (round(float(rng.uniform(-1.5, 1.5)), 4), round(float(rng.uniform(0.2, 0.8)), 4),
         (0.025, 0.05)[i % 2], (0.8, 0.9)[(i // 2) % 2])
        for i in range(N_DESIGNS)
    ]


def run_python(gs, fut):
    t0 = time.perf_counter()
    gs_out = []
    for kind, gamma, alpha, rates in gs:
        d = design.group_sequential_design(rates, alpha=alpha, kind=kind, gamma=gamma)
        ch = d.characteristics(design.design_drift(alpha, 0.9))
        gs_out.append((d.critical_values[-1], ch.p_upper, ch.expected_information))
    t1 = time.perf_counter()
    fut_out = []
    for f, t, alpha, power in fut:
        fc = design.futility_characteristics(f, t, alpha=alpha, power=power)
        fut_out.append((fc.type1_binding, fc.power, fc.expected_n_h1))
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, np.array(gs_out), np.array(fut_out)


R_SCRIPT = r"""
suppressPackageStartupMessages(library(rpact))
gs <- read.csv("{gs_csv}", stringsAsFactors = FALSE)
fut <- read.csv("{fut_csv}", stringsAsFactors = FALSE)
t0 <- proc.time()[["elapsed"]]
gs_out <- matrix(NA_real_, nrow(gs), 3)
for (i in seq_len(nrow(gs))) {{
  rates <- as.numeric(strsplit(gs$rates[i], "|", fixed = TRUE)[[1]])
  args <- list(kMax = length(rates), informationRates = rates, alpha = gs$alpha[i], typeOfDesign = gs$kind[i])
  if (!is.na(gs$gamma[i])) args$gammaA <- gs$gamma[i]
  d <- do.call(getDesignGroupSequential, args)
  p <- getPowerAndAverageSampleNumber(d, theta = qnorm(1 - gs$alpha[i]) + qnorm(0.9), nMax = 1)
  gs_out[i, ] <- c(d$criticalValues[length(rates)], p$overallReject, p$averageSampleNumber)
}}
t1 <- proc.time()[["elapsed"]]
fut_out <- matrix(NA_real_, nrow(fut), 3)
for (i in seq_len(nrow(fut))) {{
  d <- getDesignGroupSequential(kMax = 2, informationRates = c(fut$t[i], 1), alpha = fut$alpha[i],
    typeOfDesign = "noEarlyEfficacy", futilityBounds = fut$f[i], bindingFutility = FALSE)
  theta <- qnorm(1 - fut$alpha[i]) + qnorm(fut$power[i])
  p <- getPowerAndAverageSampleNumber(d, theta = c(0, theta), nMax = 1)
  fut_out[i, ] <- c(p$overallReject, p$averageSampleNumber[2])
}}
t2 <- proc.time()[["elapsed"]]
cat(sprintf("TIMES %.6f %.6f\n", t1 - t0, t2 - t1))
write.table(gs_out, "{gs_out}", sep = ",", row.names = FALSE, col.names = FALSE)
write.table(fut_out, "{fut_out}", sep = ",", row.names = FALSE, col.names = FALSE)
"""


def run_r(gs, fut, workdir: Path):
    exe = shutil.which("Rscript")
    if exe is None:
        return None
    gs_csv, fut_csv = workdir / "gs.csv", workdir / "fut.csv"
    with gs_csv.open("w") as fh:
        fh.write("kind,gamma,alpha,rates\n")
        for kind, gamma, alpha, rates in gs:
            fh.write(f"{kind},{'NA' if gamma is None else gamma},{alpha!r},{'|'.join(repr(r) for r in rates)}\n")
    with fut_csv.open("w") as fh:
        fh.write("f,t,alpha,power\n")
        for f, t, alpha, power in fut:
            fh.write(f"{f!r},{t!r},{alpha!r},{power!r}\n")
    script = workdir / "bench.R"
    script.write_text(R_SCRIPT.format(gs_csv=gs_csv, fut_csv=fut_csv, gs_out=workdir / "gs_out.csv",
                                      fut_out=workdir / "fut_out.csv"))
    t0 = time.perf_counter()
    proc = subprocess.run([exe, "--vanilla", str(script)], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"Rscript failed:\n{proc.stderr}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("TIMES"))
    t_gs, t_fut = (float(v) for v in line.split()[1:])
    return (t_gs, t_fut, wall, np.loadtxt(workdir / "gs_out.csv", delimiter=","),
            np.loadtxt(workdir / "fut_out.csv", delimiter=","))


def main() -> int:
    rng = np.random.default_rng(2024)
    gs, fut = group_sequential_designs(rng), futility_designs(rng)
    py_gs, py_fut, gs_py, fut_py = run_python(gs, fut)
    print(f"{N_DESIGNS} group-sequential designs (bounds + power + expected information)")
    print(f"  shine.design : {py_gs:8.3f} s  ({1e3 * py_gs / N_DESIGNS:.2f} ms per design)")
    print(f"{N_DESIGNS} futility-interim designs (type I error, power, expected n)")
    print(f"  shine.design : {py_fut:8.3f} s  ({1e3 * py_fut / N_DESIGNS:.3f} ms per design)")
    with tempfile.TemporaryDirectory() as tmp:
        r = run_r(gs, fut, Path(tmp))
    if r is None:
        print("Rscript not found: no rpact baseline")
        return 0
    r_gs, r_fut, wall, gs_r, fut_r = r
    print("rpact 3.3.4 (same designs, one Rscript run)")
    print(f"  group-sequential: {r_gs:8.3f} s   ratio rpact / shine = {r_gs / py_gs:6.1f}")
    print(f"  futility interim: {r_fut:8.3f} s   ratio rpact / shine = {r_fut / py_fut:6.1f}")
    print(f"  Rscript wall time including start-up and file input/output: {wall:.3f} s")
    print(f"largest difference from rpact: group-sequential {np.max(np.abs(gs_py - gs_r)):.1e}, "
          f"futility {np.max(np.abs(fut_py - fut_r)):.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
