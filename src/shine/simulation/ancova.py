"""The ANCOVA of a simulated trial from sufficient statistics, shared by every backend of
:func:`shine.simulation.simulate_trials` (numpy, torch, the fused Triton kernel): the backends produce the
per-(site, arm) sums, this module turns them into the estimate, its standard error and the residual df.
It depends on nothing else in the package, so the backends depend on it and not on ``trials``.
"""

from __future__ import annotations

import numpy as np


def cell_sums(site, arm, x, y, n_sites):
    """Per trial: per-(site, arm) counts and sums of x and y, and the sums of x², xy, y²."""
    n_trials = site.shape[0]
    cell = ((np.arange(n_trials)[:, None] * n_sites + site) * 2 + arm).reshape(-1)
    size = n_trials * n_sites * 2
    shape = (n_trials, n_sites, 2)
    count = np.bincount(cell, minlength=size).reshape(shape).astype(float)
    sx = np.bincount(cell, weights=x.reshape(-1), minlength=size).reshape(shape)
    sy = np.bincount(cell, weights=y.reshape(-1), minlength=size).reshape(shape)
    return count, sx, sy, np.einsum("ij,ij->i", x, x), np.einsum("ij,ij->i", x, y), np.einsum("ij,ij->i", y, y)


def ancova_from_sums(count, sx, sy, qxx, qxy, qyy, xp=np):
    """Treatment estimate (active − control), its standard error and residual df of the ANCOVA
    y ~ arm + site + x for each trial, from per-(site, arm) sums (trials × sites × 2) and per-trial
    sums of squares and products. Sites without patients drop out of the model."""
    n_s = count.sum(-1)
    inv = xp.where(n_s > 0, 1.0 / xp.where(n_s > 0, n_s, 1.0), 0.0)
    sx_s, sy_s, n1 = sx.sum(-1), sy.sum(-1), count[..., 1]
    s_tt = (n1 * count[..., 0] * inv).sum(-1)
    s_tx = (sx[..., 1] - n1 * sx_s * inv).sum(-1)
    s_ty = (sy[..., 1] - n1 * sy_s * inv).sum(-1)
    s_xx = qxx - (sx_s * sx_s * inv).sum(-1)
    s_xy = qxy - (sx_s * sy_s * inv).sum(-1)
    s_yy = qyy - (sy_s * sy_s * inv).sum(-1)
    det = s_tt * s_xx - s_tx * s_tx
    b_t = (s_xx * s_ty - s_tx * s_xy) / det
    b_x = (s_tt * s_xy - s_tx * s_ty) / det
    rss = s_yy - b_t * s_ty - b_x * s_xy
    df = n_s.sum(-1) - (n_s > 0).sum(-1) - 2
    se = xp.sqrt(rss / df * s_xx / det)
    return b_t, se, df
