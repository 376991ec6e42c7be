"""The ``"triton"`` backend: patient-level trials generated and reduced in one GPU kernel.

The torch backend writes every patient's numbers to device memory and reads them back several times; here
each trial lives in registers. One kernel instance takes a block of trials and, per trial:

1. draws each patient's site (categorical, the recruitment weights) and counts the patients of each site
   before and after the interim look;
2. draws each site's allocation at both looks from the law of the permuted-block list
   (:func:`shine.simulation.allocation.covering_block_table`): the block holding the cut-off, then the
   hypergeometric count of active entries before it in a random balanced arrangement;
3. draws each patient's baseline ``x`` and residual ``e`` (standard normal), patients laid out per stage in
   cells (iloprost at site 0 … S−1, then placebo), and keeps running sums of x and e at the cells' ends and
   the stage's sums of x², xe and e²;
4. draws the site effects.

Only 90 numbers per 6-site trial leave the kernel (per stage: 7 per site and 3 sums of squares). The
outcome y = site effect − effect·arm + slope·x + sd·e is linear in x and e, so :func:`assemble` builds the
ANCOVA's sums of y exactly from them in torch, and ``ancova.ancova_from_sums`` gives the two analyses.
Every random number is Philox at (seed, trial index · stride + position): a trial's patients do not depend
on the chunk or block it was computed in.

Needs torch and Triton; runs on a CUDA GPU, or on the CPU through Triton's interpreter
(``TRITON_INTERPRET=1`` set before this module is imported), which the tests use.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile

import numpy as np
import torch
import triton
import triton.language as tl

from shine.i18n import _
from shine.simulation.allocation import covering_block_table

ROWS = 7  # per stage: iloprost n, placebo n, x sum ends (iloprost, placebo), e sum ends (…), site effect
# 64 trials per instance over 8 warps: each thread holds 2 (trial, site) elements of a tile; compiled for the
# H100 (sm_90) that is 80 registers in float32, 107 in float64, and no spills (test_fused_backend checks it)
BLOCK_TRIALS_GPU, NUM_WARPS_GPU = 64, 8
BLOCK_TRIALS_INTERPRETED = 8192  # the interpreter runs each kernel instance as numpy operations on whole tiles


def interpreted() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


@triton.jit
def _uniform_below(u, cum_ptr, k, W: tl.constexpr):
    """Column of the table row k in which the uniform u falls (inverse of the cumulative row)."""
    idx = tl.zeros(u.shape, tl.int32)
    for i in tl.static_range(W):
        idx += (u >= tl.load(cum_ptr + k * W + i)).to(tl.int32)
    return tl.minimum(idx, W - 1)


@triton.jit
def _balanced_prefix(seed, off, size, first, second, MAXB: tl.constexpr):
    """Active entries among the first ``first`` and the first ``second`` entries of a uniformly random
    balanced arrangement of ``size`` entries (sequential draws without replacement)."""
    ones_left = size // 2
    h_first = tl.zeros(size.shape, tl.int32)
    h_second = tl.zeros(size.shape, tl.int32)
    for i in tl.static_range(MAXB):
        u = tl.rand(seed, off + i)
        left = tl.maximum(size - i, 1)
        one = ((u * left.to(tl.float32) < ones_left.to(tl.float32)) & (i < size)).to(tl.int32)
        ones_left -= one
        h_first += one * (i < first).to(tl.int32)
        h_second += one * (i < second).to(tl.int32)
    return h_first, h_second


@triton.jit
def _add_patient(x, e, end, act_end, plc_end, rx, re, qxx, qxe, qee, ax_act, ax_plc, ae_act, ae_plc):
    """One more patient of the stage: running sums, squares, and the sums at the cell that ends here."""
    rx += x
    re += e
    qxx += x * x
    qxe += x * e
    qee += e * e
    at_act = act_end == end
    at_plc = plc_end == end
    ax_act = tl.where(at_act, rx[:, None], ax_act)
    ae_act = tl.where(at_act, re[:, None], ae_act)
    ax_plc = tl.where(at_plc, rx[:, None], ax_plc)
    ae_plc = tl.where(at_plc, re[:, None], ae_plc)
    return rx, re, qxx, qxe, qee, ax_act, ax_plc, ae_act, ae_plc


@triton.jit
def _stage_sums(seed, off, n: tl.constexpr, act, plc, ACC: tl.constexpr):
    """Running sums of x and e at the ends of the cells of one stage (n patients; cells: iloprost at each
    site, then placebo at each site), and the stage's Σx², Σxe, Σe²."""
    act_end = tl.cumsum(act, axis=1)
    plc_end = tl.sum(act, axis=1)[:, None] + tl.cumsum(plc, axis=1)
    ax_act = tl.zeros(act.shape, ACC)
    ax_plc, ae_act, ae_plc = ax_act, ax_act, ax_act
    rx = tl.zeros([act.shape[0]], ACC)
    re, qxx, qxe, qee = rx, rx, rx, rx
    for q in range(0, n // 2):
        z1, z2, z3, z4 = tl.randn4x(seed, off + q)
        rx, re, qxx, qxe, qee, ax_act, ax_plc, ae_act, ae_plc = _add_patient(
            z1.to(ACC), z2.to(ACC), 2 * q + 1, act_end, plc_end, rx, re, qxx, qxe, qee, ax_act, ax_plc, ae_act, ae_plc)
        rx, re, qxx, qxe, qee, ax_act, ax_plc, ae_act, ae_plc = _add_patient(
            z3.to(ACC), z4.to(ACC), 2 * q + 2, act_end, plc_end, rx, re, qxx, qxe, qee, ax_act, ax_plc, ae_act, ae_plc)
    if n % 2 == 1:  # an odd stage uses half of its last call
        z1, z2, z3, z4 = tl.randn4x(seed, off + n // 2)
        rx, re, qxx, qxe, qee, ax_act, ax_plc, ae_act, ae_plc = _add_patient(
            z1.to(ACC), z2.to(ACC), n, act_end, plc_end, rx, re, qxx, qxe, qee, ax_act, ax_plc, ae_act, ae_plc)
    return ax_act, ax_plc, ae_act, ae_plc, qxx, qxe, qee


@triton.jit
def _one_site(u, cum_w, sites):
    """One-hot site of a patient whose uniform is u (categorical by the cumulative weights)."""
    site = tl.sum((u[:, None] >= cum_w[None, :]).to(tl.int32), axis=1)
    return (site[:, None] == sites[None, :]).to(tl.int32)


@triton.jit
def _site_counts(seed, off, n: tl.constexpr, cum_w, sites, BLOCK: tl.constexpr, SP: tl.constexpr):
    """Patients of each site among n arrivals (4 uniforms per Philox call)."""
    c = tl.zeros([BLOCK, SP], tl.int32)
    for q in range(0, n // 4):
        u1, u2, u3, u4 = tl.rand4x(seed, off + q)
        c += _one_site(u1, cum_w, sites) + _one_site(u2, cum_w, sites) + _one_site(u3, cum_w, sites) \
            + _one_site(u4, cum_w, sites)
    if n % 4 > 0:  # the last call's first n % 4 numbers
        u1, u2, u3, u4 = tl.rand4x(seed, off + n // 4)
        c += _one_site(u1, cum_w, sites)
        if n % 4 > 1:
            c += _one_site(u2, cum_w, sites)
        if n % 4 > 2:
            c += _one_site(u3, cum_w, sites)
    return c


@triton.jit
def _store_stage(out_ptr, quad_ptr, local, valid, store, sites, stage: tl.constexpr, act, plc, ax_act, ax_plc,
                 ae_act, ae_plc, qxx, qxe, qee, site_effect, ACC: tl.constexpr, ROWS: tl.constexpr, SP: tl.constexpr):
    row = out_ptr + local[:, None] * (2 * ROWS * SP) + stage * ROWS * SP + sites[None, :]
    tl.store(row, act.to(ACC), mask=store)
    tl.store(row + SP, plc.to(ACC), mask=store)
    tl.store(row + 2 * SP, ax_act, mask=store)
    tl.store(row + 3 * SP, ax_plc, mask=store)
    tl.store(row + 4 * SP, ae_act, mask=store)
    tl.store(row + 5 * SP, ae_plc, mask=store)
    tl.store(row + 6 * SP, site_effect, mask=store)
    quad = quad_ptr + local * 6 + stage * 3
    tl.store(quad, qxx, mask=valid)
    tl.store(quad + 1, qxe, mask=valid)
    tl.store(quad + 2, qee, mask=valid)


@triton.jit
def trials_kernel(out_ptr, quad_ptr, site_cum_ptr, table_cum_ptr, table_into_ptr, table_size_ptr,
                  seed, first_trial, n_trials, stride, off_sites2, off_alloc, off_site_effect,
                  off_normal1, off_normal2, N1: tl.constexpr, N2: tl.constexpr, S: tl.constexpr,
                  SP: tl.constexpr, W: tl.constexpr, MAXB: tl.constexpr, ROWS: tl.constexpr, ACC: tl.constexpr,
                  BLOCK: tl.constexpr):
    local = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    valid = local < n_trials
    base = (first_trial + local).to(tl.int64) * stride
    sites = tl.arange(0, SP)
    store = valid[:, None] & (sites < S)[None, :]
    cum_w = tl.load(site_cum_ptr + sites, mask=sites < S - 1, other=2.0)

    # 1. sites of the patients before and after the interim look
    e = _site_counts(seed, base, N1, cum_w, sites, BLOCK, SP)
    f = e + _site_counts(seed, base + off_sites2, N2, cum_w, sites, BLOCK, SP)

    # 2. active entries of each site's list among its first e and first f entries
    off = base[:, None] + off_alloc + sites[None, :] * (2 * MAXB + 2)
    col = _uniform_below(tl.rand(seed, off), table_cum_ptr, e, W)
    into1 = tl.where(e > 0, tl.load(table_into_ptr + col), 0)
    size1 = tl.where(e > 0, tl.load(table_size_ptr + col), 0)
    start1 = e - into1
    h_e, h_f_same = _balanced_prefix(seed, off + 1, size1, into1, f - start1, MAXB)
    fresh_at = start1 + size1  # first list position after the block holding the interim cut-off
    k2 = tl.maximum(f - fresh_at, 0)
    col2 = _uniform_below(tl.rand(seed, off + 1 + MAXB), table_cum_ptr, k2, W)
    into2 = tl.where(k2 > 0, tl.load(table_into_ptr + col2), 0)
    size2 = tl.where(k2 > 0, tl.load(table_size_ptr + col2), 0)
    h_k2, h_unused = _balanced_prefix(seed, off + 2 + MAXB, size2, into2, into2, MAXB)
    active_e = start1 // 2 + h_e
    active_f = tl.where(f <= fresh_at, start1 // 2 + h_f_same, (fresh_at + k2 - into2) // 2 + h_k2)
    active_f = tl.where(f > 0, active_f, 0)

    # 3. site effects; 4. patients' baseline and residual, stage by stage
    site_effect = tl.randn(seed, base[:, None] + off_site_effect + sites[None, :]).to(ACC)
    act1, plc1 = active_e, e - active_e
    act2, plc2 = active_f - active_e, f - e - (active_f - active_e)
    ax_act, ax_plc, ae_act, ae_plc, qxx, qxe, qee = _stage_sums(seed, base + off_normal1, N1, act1, plc1, ACC)
    _store_stage(out_ptr, quad_ptr, local, valid, store, sites, 0, act1, plc1, ax_act, ax_plc, ae_act, ae_plc,
                 qxx, qxe, qee, site_effect, ACC, ROWS, SP)
    ax_act, ax_plc, ae_act, ae_plc, qxx, qxe, qee = _stage_sums(seed, base + off_normal2, N2, act2, plc2, ACC)
    _store_stage(out_ptr, quad_ptr, local, valid, store, sites, 1, act2, plc2, ax_act, ax_plc, ae_act, ae_plc,
                 qxx, qxe, qee, site_effect, ACC, ROWS, SP)


def _layout(n1: int, n2: int, sp: int, maxb: int) -> dict[str, int]:
    """Where each kind of random number of a trial lies in its Philox counter range."""
    off_sites2 = triton.cdiv(n1, 4)
    off_alloc = off_sites2 + triton.cdiv(n2, 4)
    off_site_effect = off_alloc + sp * (2 * maxb + 2)
    off_normal1 = off_site_effect + sp
    off_normal2 = off_normal1 + triton.cdiv(n1, 2)
    return dict(stride=off_normal2 + triton.cdiv(n2, 2), off_sites2=off_sites2, off_alloc=off_alloc,
                off_site_effect=off_site_effect, off_normal1=off_normal1, off_normal2=off_normal2)


def _constants(n_max: int, n_interim: int, sites: int, block_sizes, dtype: torch.dtype, block: int) -> dict:
    """The kernel's compile-time parameters."""
    return dict(N1=int(n_interim), N2=int(n_max - n_interim), S=sites, SP=triton.next_power_of_2(max(sites, 2)),
                W=sum(int(b) for b in block_sizes), MAXB=int(max(block_sizes)), ROWS=ROWS,
                ACC=tl.float64 if dtype == torch.float64 else tl.float32, BLOCK=block)


def kernel_sums(seed: int, first_trial: int, n_trials: int, n_max: int, n_interim: int, site_weights, block_sizes,
                dtype: torch.dtype, device: str):
    """Run the kernel for trials first_trial … first_trial + n_trials − 1.

    Returns ``sums`` (trials × stage × 7 × sites: iloprost n, placebo n, running sums of x at the cells'
    ends (iloprost, placebo), the same for e, site effect) and ``quad`` (trials × stage × (Σx², Σxe, Σe²)).
    """
    sites = len(site_weights)
    block = BLOCK_TRIALS_INTERPRETED if interpreted() else BLOCK_TRIALS_GPU
    const = _constants(n_max, n_interim, sites, block_sizes, dtype, block)
    cum, into, size = covering_block_table(tuple(block_sizes), int(n_max))
    site_cum = torch.as_tensor(np.cumsum(site_weights)[:-1] if sites > 1 else np.ones(1), dtype=torch.float32,
                               device=device)
    table = [torch.as_tensor(a, device=device) for a in (cum.astype(np.float32), into.astype(np.int32),
                                                          size.astype(np.int32))]
    out = torch.zeros((n_trials, 2, ROWS, const["SP"]), dtype=dtype, device=device)
    quad = torch.zeros((n_trials, 2, 3), dtype=dtype, device=device)
    trials_kernel[(triton.cdiv(n_trials, block),)](
        out, quad, site_cum, *table, seed, first_trial, n_trials,
        **_layout(const["N1"], const["N2"], const["SP"], const["MAXB"]), **const, num_warps=NUM_WARPS_GPU)
    return out[..., :sites], quad


def compiled_resources(n_max: int = 380, n_interim: int = 200, sites: int = 6, block_sizes=(2, 4, 6),
                       dtype: torch.dtype = torch.float32, capability: int = 90) -> dict[str, int]:
    """Registers per thread and spilled bytes of the kernel compiled for a CUDA GPU of this compute
    capability (90: H100) by Triton and its bundled ptxas; needs no GPU (and not the interpreter)."""
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    pointer = "*fp64" if dtype == torch.float64 else "*fp32"
    signature = {"out_ptr": pointer, "quad_ptr": pointer, "site_cum_ptr": "*fp32", "table_cum_ptr": "*fp32",
                 "table_into_ptr": "*i32", "table_size_ptr": "*i32", "seed": "i64"}
    signature.update({name: "i32" for name in ("first_trial", "n_trials", *_layout(1, 1, 2, 2))})
    const = _constants(n_max, n_interim, sites, block_sizes, dtype, BLOCK_TRIALS_GPU)
    signature.update({name: "constexpr" for name in const})
    names = list(signature)
    source = ASTSource(fn=trials_kernel, signature=signature,
                       constexprs={(names.index(k),): v for k, v in const.items()})
    kernel = triton.compile(source, target=GPUTarget("cuda", capability, 32), options={"num_warps": NUM_WARPS_GPU})
    ptxas = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "ptxas")
    with tempfile.TemporaryDirectory() as tmp:
        ptx = os.path.join(tmp, "kernel.ptx")
        with open(ptx, "w") as f:
            f.write(kernel.asm["ptx"])
        report = subprocess.run([ptxas, "-v", f"--gpu-name=sm_{capability}a" if capability >= 90 else
                                 f"--gpu-name=sm_{capability}", ptx, "-o", os.path.join(tmp, "kernel.cubin")],
                                capture_output=True, text=True, check=True).stderr
    def number(pattern: str) -> int:
        found = re.search(pattern, report)
        if found is None:
            raise RuntimeError(f"ptxas printed no {pattern!r}:\n{report}")
        return int(found.group(1))

    return {"registers": number(r"Used (\d+) registers"), "spill_bytes": number(r"(\d+) bytes spill stores")}


def assemble(sums, quad, *, effect: float, sd: float, site_sd: float, baseline_slope: float):
    """The ANCOVA's per-(site, arm) counts and sums and per-trial sums of squares, per stage, from the
    kernel's sums of x and e: y = site_sd·site effect − effect·arm + slope·x + sd·e for every patient.
    Arm index 1 = iloprost, as ``ancova.ancova_from_sums`` expects."""
    stages = []
    for stage in (0, 1):
        n_act, n_plc, x_act, x_plc, e_act, e_plc, z_site = sums[:, stage].unbind(1)
        ends_x = torch.cat([x_act, x_plc], dim=1)  # running sums at the cells' ends, in cell order
        ends_e = torch.cat([e_act, e_plc], dim=1)
        sx = torch.diff(ends_x, dim=1, prepend=torch.zeros_like(ends_x[:, :1]))
        se = torch.diff(ends_e, dim=1, prepend=torch.zeros_like(ends_e[:, :1]))
        n = torch.cat([n_act, n_plc], dim=1)
        shift = torch.cat([site_sd * z_site - effect, site_sd * z_site], dim=1)
        sy = n * shift + baseline_slope * sx + sd * se
        qxx, qxe, qee = quad[:, stage].unbind(1)
        qxy = (shift * sx).sum(1) + baseline_slope * qxx + sd * qxe
        qyy = ((shift * (n * shift + 2 * baseline_slope * sx + 2 * sd * se)).sum(1) + baseline_slope ** 2 * qxx
               + 2 * baseline_slope * sd * qxe + sd ** 2 * qee)
        sites = n_act.shape[1]

        def by_arm(t):  # cell order (iloprost sites, placebo sites) → trials × sites × (placebo, iloprost)
            return torch.stack([t[:, sites:], t[:, :sites]], dim=-1)

        stages.append((by_arm(n), by_arm(sx), by_arm(sy), qxx, qxy, qyy))
    return stages


def fused_chunks(n_trials, n_max, n_interim, *, seed, dtype, device, chunk_trials, effect, sd, site_weights,
                 site_sd, baseline_slope, block_sizes):
    """Yield the per-chunk statistics of ``n_trials`` trials as ``trials._count`` takes them, left on the
    device: the decisions are counted there too, so only counts come back to the host."""
    from shine.simulation.ancova import ancova_from_sums

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu" and not interpreted():
        raise ValueError(_("backend 'triton' needs a CUDA GPU (TRITON_INTERPRET=1 runs its kernel on the CPU, "
                           "slowly, for testing)"))
    tdtype = {"float64": torch.float64, "float32": torch.float32}[dtype]
    # one seed for the whole run: a trial's numbers depend on its index only, not on the chunking
    philox_seed = int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0] >> np.uint64(1))
    per_chunk = chunk_trials or (1_000_000 if device != "cpu" else 20_000)
    for first in range(0, n_trials, per_chunk):
        size = min(per_chunk, n_trials - first)
        sums, quad = kernel_sums(philox_seed, first, size, n_max, n_interim, site_weights, block_sizes, tdtype,
                                 device)
        stage1, stage2 = assemble(sums, quad, effect=effect, sd=sd, site_sd=site_sd,
                                  baseline_slope=baseline_slope)
        out = []
        for stats in (stage1, tuple(a + b for a, b in zip(stage1, stage2))):
            b, se, df = ancova_from_sums(*stats, xp=torch)
            out.append((-b / se, effect / se, df))
        yield out
