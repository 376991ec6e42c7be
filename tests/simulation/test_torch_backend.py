"""The torch backend (CPU here; CUDA on a GPU machine). Skipped with a reason when torch is absent."""

import numpy as np
import pytest

from shine.simulation import simulate_trials
from shine.simulation.ancova import ancova_from_sums, cell_sums
from shine.simulation.trials import patient_labels, simulate_patients

torch = pytest.importorskip("torch", reason="PyTorch is not installed (optional extra shine[gpu])")


def test_torch_ancova_from_sums_equals_numpy():
    rng = np.random.default_rng(2)
    p = simulate_patients(rng, 20, 380, 200, effect=1.0, sd=3.9, site_weights=np.full(6, 1 / 6), site_sd=1.0,
                          baseline_slope=1.0, block_sizes=(2, 4, 6))
    site, arm = patient_labels(p["cells"])
    sums = cell_sums(site, arm, p["x"], p["y"], 6)
    b, se, df = ancova_from_sums(*sums)
    tb, tse, tdf = ancova_from_sums(*(torch.as_tensor(s) for s in sums), xp=torch)
    assert np.allclose(tb.numpy(), b, atol=1e-12) and np.allclose(tse.numpy(), se, atol=1e-12)
    assert np.array_equal(tdf.numpy(), df)


def test_torch_is_deterministic_per_seed():
    a = simulate_trials(2_000, 1.3, 3.9, seed=3, backend="torch")
    b = simulate_trials(2_000, 1.3, 3.9, seed=3, backend="torch")
    assert a == b and a.backend == "torch"


@pytest.mark.slow
def test_torch_float64_and_float32_agree_with_numpy_within_monte_carlo_error():
    # same design, independent random streams: differences within 3·√2 MCSE
    n = 20_000
    ref = simulate_trials(n, 1.3, 3.9, 380, 200, -0.6306, seed=8)
    for dtype in ("float64", "float32"):
        r = simulate_trials(n, 1.3, 3.9, 380, 200, -0.6306, seed=8, backend="torch", dtype=dtype)
        assert r.dtype == dtype
        for field in ("power", "type1", "p_stop_futility_h0"):
            tol = 3 * np.sqrt(2) * getattr(ref.mcse, field)
            assert abs(getattr(r, field) - getattr(ref, field)) <= tol, (dtype, field)
