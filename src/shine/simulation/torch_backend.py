"""The torch backend of :func:`shine.simulation.simulate_trials` (CUDA when present, else CPU).

The same model and the same analysis as the numpy backend, written with torch operations so a chunk of
trials is generated and analysed on the device; only three numbers per trial and look come back to the
host. torch is optional: it is imported only when this backend is used.
"""

from __future__ import annotations

import math

import numpy as np

from shine.i18n import _
from shine.simulation.allocation import block_patterns

# patients generated at once on the device; a chunk of 380-patient trials is then ~50,000 trials
DEVICE_PATIENTS_PER_CHUNK = 20_000_000
CPU_PATIENTS_PER_CHUNK = 2_000_000


def _torch():
    try:
        import torch
    except ImportError:
        raise ValueError(_("backend 'torch' needs PyTorch, which is not installed (pip install 'shine[gpu]')")) \
            from None
    return torch


def fused_module():
    """:mod:`shine.simulation.fused`, or a clear error when torch or Triton is missing."""
    _torch()
    try:
        import triton  # noqa: F401
    except ImportError:
        raise ValueError(_("backend 'triton' needs Triton, which is not installed (it comes with CUDA builds of "
                           "PyTorch; pip install triton)")) from None
    from shine.simulation import fused

    return fused


def torch_cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _allocate_lists(torch, g, lengths, block_sizes, device):
    """Torch twin of :func:`shine.simulation.allocation.allocate_lists`."""
    patterns, sizes, table = (torch.as_tensor(a, device=device) for a in block_patterns(tuple(block_sizes)))
    blocks = torch.div(lengths + int(sizes.min()) - 1, int(sizes.min()), rounding_mode="floor")
    draw = torch.randint(0, len(table), (int(blocks.sum()),), generator=g, device=device)
    pattern = table[draw]
    size = sizes[pattern]
    entries = patterns[pattern][torch.arange(patterns.shape[1], device=device) < size[:, None]]
    first_block = torch.cumsum(blocks, 0) - blocks
    entry_start = torch.cat([torch.zeros(1, dtype=size.dtype, device=device), torch.cumsum(size, 0)])[first_block]
    within = torch.arange(int(lengths.sum()), device=device) - torch.repeat_interleave(
        torch.cumsum(lengths, 0) - lengths, lengths)
    return entries[torch.repeat_interleave(entry_start, lengths) + within]


def _counts(torch, g, n_trials, n, weights, device):
    """Site counts of n arrivals per trial (multinomial), via categorical draws."""
    n_sites = weights.numel()
    if n == 0:
        return torch.zeros((n_trials, n_sites), dtype=torch.int64, device=device)
    site = torch.multinomial(weights.expand(n_trials, n_sites), n, replacement=True, generator=g)
    counts = torch.zeros((n_trials, n_sites), dtype=torch.int64, device=device)
    return counts.scatter_add_(1, site, torch.ones_like(site))


def ancova_chunk(torch, g, n_trials, n_max, n_interim, *, effect, sd, site_weights, site_sd, baseline_slope,
                 block_sizes, dtype, device):
    """One chunk of patient-level trials on the device: (t for benefit, shift, df) at both looks."""
    from shine.simulation.ancova import ancova_from_sums

    weights = torch.as_tensor(site_weights, dtype=torch.float64, device=device)
    n_sites = weights.numel()
    early = _counts(torch, g, n_trials, n_interim, weights, device)
    late = _counts(torch, g, n_trials, n_max - n_interim, weights, device)
    per_site = (early + late).reshape(-1)
    lists = _allocate_lists(torch, g, per_site, block_sizes, device)
    sizes = torch.stack([early, late], dim=1).reshape(-1)
    group = torch.repeat_interleave(torch.arange(sizes.numel(), device=device), sizes)
    rank = torch.arange(group.numel(), device=device) - (torch.cumsum(sizes, 0) - sizes)[group]
    list_start = (torch.cumsum(per_site, 0) - per_site).reshape(n_trials, n_sites)
    offset = torch.stack([list_start, list_start + early], dim=1).reshape(-1)
    arm = lists[offset[group] + rank].to(dtype)
    site = group % n_sites
    cell_site = group // (2 * n_sites) * n_sites + site  # (trial, site)
    site_effect = site_sd * torch.randn(n_trials * n_sites, generator=g, dtype=dtype, device=device)
    x = torch.randn(n_trials * n_max, generator=g, dtype=dtype, device=device)
    y = sd * torch.randn(n_trials * n_max, generator=g, dtype=dtype, device=device)
    y += site_effect[cell_site] + baseline_slope * x - effect * arm
    cell = (cell_site * 2 + arm.long()).reshape(n_trials, n_max)
    x, y = x.reshape(n_trials, n_max), y.reshape(n_trials, n_max)
    shape = (n_trials, n_sites, 2)
    stages = []
    for cols in (slice(0, n_interim), slice(n_interim, n_max)):
        c, xs, ys = cell[:, cols].reshape(-1), x[:, cols], y[:, cols]
        stages.append((torch.bincount(c, minlength=2 * n_trials * n_sites).reshape(shape).to(dtype),
                       torch.bincount(c, weights=xs.reshape(-1), minlength=2 * n_trials * n_sites).reshape(shape),
                       torch.bincount(c, weights=ys.reshape(-1), minlength=2 * n_trials * n_sites).reshape(shape),
                       (xs * xs).sum(1), (xs * ys).sum(1), (ys * ys).sum(1)))
    out = []
    for sums in (stages[0], tuple(a + b for a, b in zip(*stages))):
        b, se, df = ancova_from_sums(*sums, xp=torch)
        out.append(((-b / se).double().cpu().numpy(), (effect / se).double().cpu().numpy(),
                    df.double().cpu().numpy()))
    return out


def means_chunk(torch, g, n_trials, n_max, n_interim, *, effect, sd, dtype, device):
    """The stage-wise normal model on the device (see ``trials._means_chunk``)."""
    n2 = n_max - n_interim
    drift1, drift2 = effect / sd * math.sqrt(n_interim / 4), effect / sd * math.sqrt(n2 / 4)
    z = torch.randn((2, n_trials), generator=g, dtype=dtype, device=device)
    z1, z2 = z[0] + drift1, z[1] + drift2
    zf = (math.sqrt(n_interim) * z1 + math.sqrt(n2) * z2) / math.sqrt(n_max)
    shift_f = (math.sqrt(n_interim) * drift1 + math.sqrt(n2) * drift2) / math.sqrt(n_max)
    inf = np.full(n_trials, np.inf)
    return [(z1.double().cpu().numpy(), np.full(n_trials, drift1), inf),
            (zf.double().cpu().numpy(), np.full(n_trials, shift_f), inf)]


def torch_chunks(n_trials, n_max, n_interim, *, model, seed, dtype, device, chunk_trials, **settings):
    """Yield the per-chunk statistics of ``n_trials`` trials computed with torch."""
    torch = _torch()
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    tdtype = {"float64": torch.float64, "float32": torch.float32}[dtype]
    per_chunk = chunk_trials or max(1, (DEVICE_PATIENTS_PER_CHUNK if device != "cpu" else CPU_PATIENTS_PER_CHUNK)
                                    // (n_max if model == "ancova" else 1))
    sizes = [per_chunk] * (n_trials // per_chunk) + ([n_trials % per_chunk] if n_trials % per_chunk else [])
    for size, stream in zip(sizes, np.random.SeedSequence(seed).spawn(len(sizes))):
        g = torch.Generator(device=device)
        g.manual_seed(int(stream.generate_state(1, np.uint64)[0] >> np.uint64(1)))
        if model == "means":
            yield means_chunk(torch, g, size, n_max, n_interim, effect=settings["effect"], sd=settings["sd"],
                              dtype=tdtype, device=device)
        else:
            yield ancova_chunk(torch, g, size, n_max, n_interim, dtype=tdtype, device=device, **settings)
