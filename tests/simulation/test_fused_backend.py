"""The ``"triton"`` backend (shine.simulation.fused): one kernel generates and reduces whole trials.

On a machine without CUDA the kernel runs through Triton's interpreter (``TRITON_INTERPRET=1``, set
before the kernel module is imported): the same kernel code, executed with numpy, slowly. Skipped with a
reason when torch or Triton is not installed (optional extra shine[gpu]).
"""

import json
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch", reason="PyTorch is not installed (optional extra shine[gpu])")
if not torch.cuda.is_available():  # before Triton is imported: its decorators read it
    os.environ["TRITON_INTERPRET"] = "1"
pytest.importorskip("triton", reason="Triton is not installed (comes with CUDA builds of PyTorch)")

from shine.simulation import fused, simulate_trials  # noqa: E402
from shine.simulation.allocation import active_counts  # noqa: E402
from shine.simulation.ancova import ancova_from_sums, cell_sums  # noqa: E402

N_MAX, N_INTERIM, SD, EFFECT, FUTILITY_Z = 380, 200, 3.9, 1.3, -0.6306


@pytest.mark.parametrize("n_interim,n_later,sites", [(10, 10, 1), (9, 12, 1), (7, 5, 3)])
def test_kernel_sites_and_allocation_follow_the_permuted_block_lists(n_interim, n_later, sites):
    # the kernel's (site counts, active counts at both looks) against numpy's block-by-block lists for the
    # same cut-offs (10 reference lists per kernel trial); odd stage lengths use the remainder branches
    n = 20_480
    sums, _ = fused.kernel_sums(5, 0, n, n_interim + n_later, n_interim, np.full(sites, 1 / sites), (2, 4, 6),
                                torch.float64, "cpu")
    counts = sums[:, :, :2].numpy().astype(int)  # trials × stage × (iloprost, placebo) × site
    assert np.all(counts[:, 0].sum(axis=(1, 2)) == n_interim) and np.all(counts[:, 1].sum(axis=(1, 2)) == n_later)
    per_site = counts.sum(axis=2)  # trials × stage × site
    if sites > 1:  # multinomial arrivals: each site's share of the interim patients
        share = per_site[:, 0].mean(axis=0) / n_interim
        assert np.allclose(share, 1 / sites, atol=4 * np.sqrt((1 / sites) * (1 - 1 / sites) / (n * n_interim)))
    e, f = per_site[:, 0, 0], per_site[:, :, 0].sum(axis=1)
    a_e, a_f = counts[:, 0, 0, 0], counts[:, :, 0, 0].sum(axis=1)
    assert np.all(np.abs(2 * a_e - e) <= 3) and np.all(np.abs(2 * a_f - f) <= 3)  # largest block 6
    reference = active_counts(np.random.default_rng(1), np.repeat(np.stack([e, f], 1), 10, axis=0))
    observed = Counter(zip(e, f, a_e, a_f))
    expected = Counter(zip(np.repeat(e, 10), np.repeat(f, 10), reference[:, 0], reference[:, 1]))
    chi2, df = 0.0, 0
    for key in observed.keys() | expected.keys():
        o, x = observed.get(key, 0), expected.get(key, 0) / 10
        if x >= 5:
            chi2, df = chi2 + (o - x) ** 2 / x, df + 1
    assert stats.chi2.sf(chi2, df) > 1e-3, (chi2, df)


def test_assemble_gives_the_sums_of_the_patients_outcomes():
    # the kernel's layout built from explicit patients in numpy; assemble's sums of y must equal the sums
    # of y = site_sd·z − effect·arm + slope·x + sd·e computed patient by patient
    rng = np.random.default_rng(4)
    trials, sites, site_sd, slope = 5, 4, 0.7, 1.3
    z = rng.standard_normal((trials, sites))
    layout = np.zeros((trials, 2, fused.ROWS, sites))
    quad = np.zeros((trials, 2, 3))
    direct = []
    for stage in range(2):
        cells = rng.integers(0, 9, (trials, 2, sites))  # (iloprost, placebo) × site
        cells[0, 0, 1] = 0  # an empty cell
        per_stage = []
        for t in range(trials):
            n = cells[t].reshape(-1)  # cell order: iloprost sites, then placebo sites
            x, e = rng.standard_normal(n.sum()), rng.standard_normal(n.sum())
            ends = np.cumsum(n)
            run_x, run_e = np.concatenate([[0], np.cumsum(x)]), np.concatenate([[0], np.cumsum(e)])
            layout[t, stage, :2] = cells[t]
            layout[t, stage, 2:4] = run_x[ends].reshape(2, sites)
            layout[t, stage, 4:6] = run_e[ends].reshape(2, sites)
            layout[t, stage, 6] = z[t]
            quad[t, stage] = x @ x, x @ e, e @ e
            site = np.tile(np.arange(sites), 2).repeat(n)
            arm = np.repeat([1, 0], sites).repeat(n)
            y = site_sd * z[t, site] - EFFECT * arm + slope * x + SD * e
            per_stage.append(cell_sums(site[None], arm[None], x[None], y[None], sites))
        direct.append([np.concatenate(parts) for parts in zip(*per_stage)])
    assembled = fused.assemble(torch.as_tensor(layout), torch.as_tensor(quad), effect=EFFECT, sd=SD,
                               site_sd=site_sd, baseline_slope=slope)
    for got, want in zip(assembled, direct):
        for a, b in zip(got, want):
            assert np.allclose(a.numpy(), b, atol=1e-10)
        b_got = ancova_from_sums(*got, xp=torch)[0].numpy()
        assert np.allclose(b_got, ancova_from_sums(*want)[0], atol=1e-10, equal_nan=True)


def test_same_seed_same_trials_whatever_the_chunking():
    a = simulate_trials(3_000, EFFECT, SD, seed=3, backend="triton")
    b = simulate_trials(3_000, EFFECT, SD, seed=3, backend="triton", chunk_trials=1_100)
    assert a == b and a.backend == "triton"
    assert simulate_trials(3_000, EFFECT, SD, seed=4, backend="triton") != a


@pytest.mark.slow
def test_triton_agrees_with_numpy_and_float32_with_float64():
    # independent streams (numpy): within 3·√2 MCSE. Same seed in float32 and float64: the same patients
    # (float32 normals either way), so the type I error may differ only by rounding near the critical value:
    # well within one MCSE (the requirement: float32 keeps the type I error within MC error)
    n = 16_384
    ref = simulate_trials(100_000, EFFECT, SD, N_MAX, N_INTERIM, FUTILITY_Z, seed=8)
    r64 = simulate_trials(n, EFFECT, SD, N_MAX, N_INTERIM, FUTILITY_Z, seed=8, backend="triton")
    r32 = simulate_trials(n, EFFECT, SD, N_MAX, N_INTERIM, FUTILITY_Z, seed=8, backend="triton", dtype="float32")
    assert (r64.dtype, r32.dtype) == ("float64", "float32")
    for field in ("power", "type1", "p_stop_futility_h0"):
        tol = 3 * np.hypot(getattr(ref.mcse, field), getattr(r64.mcse, field))
        assert abs(getattr(r64, field) - getattr(ref, field)) <= tol, field
    for field in ("type1", "type1_nonbinding", "p_stop_futility_h0", "power"):
        assert abs(getattr(r32, field) - getattr(r64, field)) <= getattr(r64.mcse, field), field


def test_without_cuda_or_the_interpreter_the_backend_is_refused_clearly():
    code = ("from shine.simulation import simulate_trials\n"
            "try:\n    simulate_trials(10, backend='triton', device='cpu')\n"
            "except ValueError as e:\n    print(e)\n")
    env = {**os.environ, "TRITON_INTERPRET": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert "backend 'triton' needs a CUDA GPU" in out.stdout, out.stderr


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_kernel_compiles_for_the_h100_without_spilling_registers(dtype):
    # Triton compiles for sm_90 and its bundled ptxas assembles it: no GPU needed. Spilled registers would
    # go through local memory on every patient; ≤ 128 registers keep ≥ 16 warps resident per SM.
    code = ("import torch, json\nfrom shine.simulation import fused\n"
            f"print(json.dumps(fused.compiled_resources(dtype=torch.{dtype})))")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    resources = json.loads(out.stdout.strip().splitlines()[-1])
    assert resources["spill_bytes"] == 0 and resources["registers"] <= 128, resources
