"""Operating characteristics of the design by simulating whole trials, batched across trials.

Every simulated trial (``model="ancova"``, the default) recruits ``n_max`` patients at ``sites`` sites
(recruitment weights), allocated 1:1 by stratified permuted blocks (the protocol's block sizes), with a
random site effect, a standard-normal baseline covariate and an outcome with residual SD ``sd``; the
outcome is ``effect`` points lower with iloprost. At ``n_interim`` patients the futility look, at
``n_max`` the final analysis, both the primary analysis: ANCOVA on arm + site + baseline, computed for a
whole chunk of trials from per-site sufficient statistics (within-site centring, Frisch–Waugh–Lovell),
never a Python loop per trial. ``model="means"`` is the stage-wise normal model of rpact's
``getSimulationMeans`` (known SD, normal approximation).

Each trial is analysed twice from the same patients: as simulated, and with the treatment effect removed
(the ANCOVA estimate is linear in the outcome, so the null estimate is the estimate plus ``effect`` with the
same standard error). So every run also gives the type I error of the same design.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from scipy import special

from shine import protocol as _protocol
from shine.i18n import _, decimal
from shine.simulation.allocation import active_counts
from shine.simulation.ancova import ancova_from_sums

BACKENDS = ("numpy", "torch", "triton", "auto")
MODELS = ("ancova", "means")
# patients generated at once (numpy): bounds the memory of one chunk to a few hundred MB
PATIENTS_PER_CHUNK = 2_000_000


@dataclass(frozen=True)
class MonteCarloErrors:
    """Monte Carlo standard errors of the estimates of :class:`OperatingCharacteristics`.

    Rates: √(p(1−p)/B) for B trials; expected sample size: (n_max − n_interim)·√(p(1−p)/B) with p the
    probability of stopping.
    """

    power: float
    type1: float
    type1_nonbinding: float
    p_stop_futility: float
    p_stop_futility_h0: float
    expected_n: float


@dataclass(frozen=True)
class OperatingCharacteristics:
    """The result of :func:`simulate_trials`.

    ``power``: share of trials that pass the interim look and reject at the final analysis in favour of
    iloprost (two-sided test at ``alpha``); with ``effect=0`` this is the type I error.
    ``type1``: the same share with the treatment effect removed from the same simulated patients (futility
    stop honoured, i.e. binding); ``type1_nonbinding``: share rejecting at the final analysis whatever the
    interim said. ``p_stop_futility`` / ``p_stop_futility_h0``: share stopped at the interim, at ``effect``
    and at no effect. ``expected_n``: n_interim·P(stop) + n_max·(1 − P(stop)) at ``effect``.
    ``mcse``: their Monte Carlo standard errors. The remaining fields echo the settings.
    """

    power: float
    type1: float
    type1_nonbinding: float
    p_stop_futility: float
    p_stop_futility_h0: float
    expected_n: float
    mcse: MonteCarloErrors
    n_trials: int
    effect: float
    sd: float
    n_max: int
    n_interim: int | None
    futility_z: float | None
    alpha: float
    model: str
    backend: str
    dtype: str
    seed: int | None
    site_weights: tuple[float, ...] = field(default=())

    def summary(self) -> str:
        rule = "none" if self.futility_z is None else f"stop if interim z < {self.futility_z:.4f}"
        rows = [
            ("power (reject for iloprost)", self.power, self.mcse.power),
            ("type I error (binding)", self.type1, self.mcse.type1),
            ("type I error (non-binding)", self.type1_nonbinding, self.mcse.type1_nonbinding),
            ("P(stop for futility)", self.p_stop_futility, self.mcse.p_stop_futility),
            ("P(stop for futility | no effect)", self.p_stop_futility_h0, self.mcse.p_stop_futility_h0),
            ("expected sample size", self.expected_n, self.mcse.expected_n),
        ]
        head = (f"{self.n_trials:,} simulated trials ({self.model}, {self.backend}, {self.dtype}); effect "
                f"{self.effect:g}, SD {self.sd:g}, n {self.n_interim}/{self.n_max}; futility: {rule}; "
                f"final test two-sided alpha {self.alpha:g}")
        lines = [head] + [f"  {name:<34}{value:>10.4f}  (MCSE {err:.4f})" for name, value, err in rows]
        return "\n".join(lines)


def _check(name: str, value, ok: bool, limit: str):
    if not ok:
        raise ValueError(_("%(name)s must be %(limit)s; got %(value)s") % {
            "name": name, "limit": limit, "value": decimal(value, "r")})
    return value


def _site_weights(sites) -> np.ndarray:
    if isinstance(sites, (int, np.integer)) and not isinstance(sites, bool):
        _check("sites", sites, bool(1 <= sites <= 100), _("an integer between 1 and 100 or a list of weights"))
        return np.full(int(sites), 1.0 / int(sites))
    try:
        w = np.asarray(sites, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(_("sites must be an integer or a list of recruitment weights; got %(sites)s") % {
            "sites": decimal(sites, "r")}) from None
    _check("sites", sites, 1 <= w.size <= 100 and bool(np.all(np.isfinite(w) & (w >= 0))) and w.sum() > 0,
           _("1 to 100 non-negative recruitment weights with a positive sum"))
    return w / w.sum()


# ---------------------------------------------------------------------------------------------------------
# Patient-level trials (numpy)

def simulate_patients(rng: np.random.Generator, n_trials: int, n_max: int, n_interim: int, *, effect: float,
                      sd: float, site_weights: np.ndarray, site_sd: float, baseline_slope: float,
                      block_sizes: tuple[int, ...]) -> dict[str, np.ndarray]:
    """The patients of ``n_trials`` trials, as arrays of shape (n_trials, n_max).

    Arrivals are independent draws of the site, so the site counts of the first ``n_interim`` patients and
    of the rest are multinomial; each site's permuted-block list gives how many of its interim and of its
    later patients get iloprost. Patients of one site and stage are exchangeable (their baseline and
    outcome are independent draws), so each row lists them in cells — stage, then site, then iloprost
    before placebo — which makes every cell a contiguous run. Keys: ``site``, ``arm`` (1 = iloprost),
    baseline ``x``, outcome ``y`` and ``cells`` (trials × stage × site × (iloprost, placebo) patient counts;
    :func:`patient_labels` gives each patient's site and arm).
    """
    n_sites = len(site_weights)
    early = rng.multinomial(n_interim, site_weights, size=n_trials)
    per_site = early + rng.multinomial(n_max - n_interim, site_weights, size=n_trials)
    active = active_counts(rng, np.stack([early, per_site], axis=-1).reshape(-1, 2), block_sizes)
    active = active.reshape(n_trials, n_sites, 2)
    active[..., 1] -= active[..., 0]
    in_stage = np.stack([early, per_site - early], axis=1)  # trials × stage × site
    active = active.transpose(0, 2, 1)
    cells = np.stack([active, in_stage - active], axis=-1)  # trials × stage × site × (iloprost, placebo)
    counts = cells.reshape(-1)
    site_effect = site_sd * rng.standard_normal((n_trials, 1, n_sites, 1))
    shift = (site_effect - effect * np.array([1.0, 0.0])).repeat(2, axis=1).reshape(-1)
    x = rng.standard_normal(n_trials * n_max)
    y = rng.standard_normal(n_trials * n_max)
    y *= sd
    y += np.repeat(shift, counts)
    y += baseline_slope * x
    shape = (n_trials, n_max)
    return {"x": x.reshape(shape), "y": y.reshape(shape), "cells": cells}


def patient_labels(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``site`` and ``arm`` (1 = iloprost) of every patient of :func:`simulate_patients` (trials × n_max)."""
    n_trials, _days, n_sites, _arms = cells.shape
    counts = cells.reshape(-1)
    site = np.repeat(np.tile(np.repeat(np.arange(n_sites), 2), 2 * n_trials), counts)
    arm = np.repeat(np.tile(np.array([1, 0], dtype=np.int8), 2 * n_sites * n_trials), counts)
    return site.reshape(n_trials, -1), arm.reshape(n_trials, -1)


def _ancova_chunk_numpy(rng, n_trials, n_max, n_interim, *, effect, sd, site_weights, site_sd, baseline_slope,
                        block_sizes):
    """(t-statistic for benefit, its shift due to the effect, df) at the interim look and at the final
    analysis for one chunk of trials."""
    p = simulate_patients(rng, n_trials, n_max, n_interim, effect=effect, sd=sd, site_weights=site_weights,
                          site_sd=site_sd, baseline_slope=baseline_slope, block_sizes=block_sizes)
    x, y, cells = p["x"], p["y"], p["cells"]
    # cells are contiguous runs of each row: their sums are differences of running sums
    ends = np.cumsum(cells.reshape(n_trials, -1), axis=1)
    starts = ends - cells.reshape(n_trials, -1)
    sums = []
    run = np.zeros((n_trials, n_max + 1))
    for v in (x, y):
        np.cumsum(v, axis=1, out=run[:, 1:])
        sums.append((np.take_along_axis(run, ends, 1) - np.take_along_axis(run, starts, 1)).reshape(cells.shape))
    count = cells.astype(float)[..., ::-1]  # (placebo, iloprost): arm index 1 = iloprost
    sx, sy = sums[0][..., ::-1], sums[1][..., ::-1]
    stage = [slice(0, n_interim), slice(n_interim, n_max)]
    squares = [[np.einsum("ij,ij->i", a[:, c], b[:, c]) for c in stage] for a, b in ((x, x), (x, y), (y, y))]
    out = []
    for last in (1, 2):
        b, se, df = ancova_from_sums(count[:, :last].sum(1), sx[:, :last].sum(1), sy[:, :last].sum(1),
                                     *(sum(q[:last]) for q in squares))
        out.append((-b / se, effect / se, df))  # benefit: iloprost lowers the score
    return out


# ---------------------------------------------------------------------------------------------------------
# Decisions and counts, shared by every backend

def _t_cutoff(df, z: float):
    """The t-statistic with df degrees of freedom whose one-sided p-value equals that of z (inf df: z).
    ``df`` is a numpy array or a torch tensor (the fused backend decides on the device); the few distinct
    df values are looked up once."""
    torch_df = not isinstance(df, np.ndarray)
    values, index = (df.unique(return_inverse=True) if torch_df else np.unique(df, return_inverse=True))
    v = cast(Any, values).double().cpu().numpy() if torch_df else values
    if math.isfinite(z):
        cut = np.where(np.isinf(v), z, special.stdtrit(np.where(np.isinf(v), 1, v), special.ndtr(z)))
    else:
        cut = np.full(v.shape, z)
    if torch_df:
        import torch

        return torch.as_tensor(cut, device=df.device)[index].reshape(df.shape)
    return cut[index].reshape(df.shape)


def _count(interim, final, futility_z, z_final):
    """Counts of the decisions of one chunk, as simulated and with the effect removed (numpy arrays, or
    torch tensors on their device)."""
    (t1, shift1, df1), (t2, shift2, df2) = interim, final
    crit = _t_cutoff(df2, z_final)
    fut = _t_cutoff(df1, futility_z) if futility_z is not None else None
    counts = {}
    for label, null in (("", False), ("_h0", True)):
        s1, s2 = (t1 - shift1, t2 - shift2) if null else (t1, t2)
        stop = s1 < fut if fut is not None else s1 < -math.inf  # without a look: never
        reject = s2 > crit
        counts["stop" + label] = int(stop.sum())
        counts["reject" + label] = int((reject & ~stop).sum())
        counts["reject_nonbinding" + label] = int(reject.sum())
    return counts


def _means_chunk(rng, n_trials, n_max, n_interim, *, effect, sd):
    """Stage-wise normal model: stage z-statistics with drift effect/sd·√(n_k/4), cumulated with weights
    √n_k (rpact getSimulationMeans with normalApproximation = TRUE, 1:1 allocation)."""
    n2 = n_max - n_interim
    drift1, drift2 = effect / sd * math.sqrt(n_interim / 4), effect / sd * math.sqrt(n2 / 4)
    z1 = rng.standard_normal(n_trials) + drift1
    z2 = rng.standard_normal(n_trials) + drift2
    zf = (math.sqrt(n_interim) * z1 + math.sqrt(n2) * z2) / math.sqrt(n_max)
    inf = np.full(n_trials, np.inf)
    shift_f = (math.sqrt(n_interim) * drift1 + math.sqrt(n2) * drift2) / math.sqrt(n_max)
    return [(z1, np.full(n_trials, drift1), inf), (zf, np.full(n_trials, shift_f), inf)]


# ---------------------------------------------------------------------------------------------------------

def _resolve_backend(backend: str) -> str:
    if backend == "auto":
        from shine.simulation import torch_backend

        return "torch" if torch_backend.torch_cuda_available() else "numpy"
    return backend


def futility_z_for(rule: str, n_interim: int, n_max: int) -> float:
    """The z cut-off of a futility rule at the interim information fraction n_interim / n_max, with the
    protocol's one-sided alpha and power (via :func:`shine.design.futility_z_for_rule`)."""
    from shine.design import futility_z_for_rule

    stats = _protocol.load().statistics
    return float(futility_z_for_rule(rule, n_interim / n_max, alpha=stats.alpha_two_sided / 2, power=stats.power))


def simulate_trials(n_trials: int = 100_000, effect: float = 0.0, sd: float | None = None, n_max: int | None = None,
                    n_interim: int | None = -1, futility_z: float | str | None = "protocol", sites=6,
                    seed: int | None = None,
                    backend: str = "numpy", *, model: str = "ancova", alpha: float | None = None,
                    site_sd: float = 1.0, baseline_slope: float = 1.0, block_sizes: tuple[int, ...] | None = None,
                    dtype: str = "float64", chunk_trials: int | None = None, device: str | None = None,
                    ) -> OperatingCharacteristics:
    """Simulate ``n_trials`` trials and return their operating characteristics.

    ``effect``: true reduction of the outcome with iloprost (> 0 = benefit). ``sd``: residual SD of the
    outcome (default: the protocol's planning SD). ``n_max`` / ``n_interim``: total patients and patients
    at the futility look (defaults from the protocol; ``None`` = no interim look). ``futility_z``: stop when
    the interim z for benefit is below it (``None`` = never stop); the default ``"protocol"`` is the cut-off
    of the protocol's ``statistics.interim_rule`` at the interim information fraction
    (:func:`futility_z_for`), the rule ``shine simulate oc`` uses too. ``sites``: number of equally recruiting
    sites or a list of recruitment weights. ``alpha``: two-sided level of the final test (default from the
    protocol). ``model``: ``"ancova"`` (patients, the primary analysis) or ``"means"`` (stage-wise normal
    model as rpact ``getSimulationMeans``). ``backend``: ``"numpy"``, ``"torch"`` (CUDA when present,
    else CPU), ``"triton"`` (the patient-level model in one fused GPU kernel, :mod:`shine.simulation.fused`;
    the means model through torch) or ``"auto"``; ``dtype`` applies to torch and triton. ``chunk_trials``:
    trials per chunk (bounds the memory). The same ``seed``, backend, dtype and chunk size give the same
    result (with triton, whatever the chunk size).
    """
    proto = _protocol.load()
    stats = proto.statistics
    sd = stats.planning_sd if sd is None else sd
    n_max = proto.max_sample_size if n_max is None else n_max
    n_interim = stats.interim_n if n_interim == -1 else n_interim
    alpha = stats.alpha_two_sided if alpha is None else alpha
    block_sizes = tuple(proto.randomisation.block_sizes if block_sizes is None else block_sizes)
    weights = _site_weights(sites)

    _check("n_trials", n_trials, isinstance(n_trials, (int, np.integer)) and n_trials >= 1, _("an integer ≥ 1"))
    _check("effect", effect, math.isfinite(effect), _("a finite number"))
    _check("sd", sd, math.isfinite(sd) and sd > 0, _("a positive number"))
    _check("alpha", alpha, 0 < alpha < 1, _("between 0 and 1 (two-sided level)"))
    _check("model", model, model in MODELS, _("one of %(items)s") % {"items": ", ".join(MODELS)})
    _check("backend", backend, backend in BACKENDS, _("one of %(items)s") % {"items": ", ".join(BACKENDS)})
    _check("dtype", dtype, dtype in ("float64", "float32"), _("'float64' or 'float32'"))
    _check("site_sd", site_sd, math.isfinite(site_sd) and site_sd >= 0, _("a number ≥ 0"))
    _check("baseline_slope", baseline_slope, math.isfinite(baseline_slope), _("a finite number"))
    min_n = 2 * len(weights) + 4
    _check("n_max", n_max, isinstance(n_max, (int, np.integer)) and n_max >= min_n,
           _("an integer ≥ %(minimum)s (2 per site + 4) for %(sites)s sites") % {"minimum": min_n,
                                                                                 "sites": len(weights)})
    if n_interim is not None:
        _check("n_interim", n_interim, isinstance(n_interim, (int, np.integer)) and min_n <= n_interim < n_max,
               _("an integer from %(minimum)s to n_max − 1 = %(maximum)s, or None") % {"minimum": min_n,
                                                                                       "maximum": n_max - 1})
    if isinstance(futility_z, str):
        _check("futility_z", futility_z, futility_z == "protocol", _("a number, None or 'protocol'"))
        futility_z = futility_z_for(stats.interim_rule, n_interim, n_max) if n_interim is not None else None
    if futility_z is not None:
        _check("futility_z", futility_z, not math.isnan(futility_z), _("a number or None"))
        if math.isinf(futility_z) and futility_z < 0:
            futility_z = None
    if n_interim is None:
        futility_z = None
    if chunk_trials is not None:
        _check("chunk_trials", chunk_trials, isinstance(chunk_trials, (int, np.integer)) and chunk_trials >= 1,
               _("an integer ≥ 1"))

    resolved = _resolve_backend(backend)
    look = n_interim if n_interim is not None else n_max // 2  # without a look the interim is never used
    z_final = float(special.ndtri(1 - alpha / 2))
    settings: dict[str, Any] = dict(effect=float(effect), sd=float(sd))
    if model == "ancova":
        settings.update(site_weights=weights, site_sd=float(site_sd), baseline_slope=float(baseline_slope),
                        block_sizes=block_sizes)

    if resolved == "triton" and model == "ancova":
        from shine.simulation import torch_backend

        chunks = torch_backend.fused_module().fused_chunks(n_trials, n_max, look, seed=seed, dtype=dtype, device=device,
                                                 chunk_trials=chunk_trials, **settings)
    elif resolved in ("torch", "triton"):
        from shine.simulation import torch_backend

        chunks = torch_backend.torch_chunks(n_trials, n_max, look, model=model, seed=seed, dtype=dtype, device=device,
                                  chunk_trials=chunk_trials, **settings)
    else:
        dtype = "float64"
        per_chunk = chunk_trials or max(1, PATIENTS_PER_CHUNK // n_max if model == "ancova" else 1_000_000)
        chunks = _numpy_chunks(n_trials, n_max, look, model, seed, per_chunk, settings)

    totals: dict[str, int] = {}
    for interim, final in chunks:
        for k, v in _count(interim, final, futility_z, z_final).items():
            totals[k] = totals.get(k, 0) + v
    return _result(totals, n_trials=n_trials, effect=float(effect), sd=float(sd), n_max=int(n_max),
                   n_interim=None if n_interim is None else int(n_interim), futility_z=futility_z, alpha=alpha,
                   model=model, backend=resolved, dtype=dtype, seed=seed, site_weights=tuple(weights.tolist()))


def _numpy_chunks(n_trials, n_max, look, model, seed, per_chunk, settings):
    sizes = [per_chunk] * (n_trials // per_chunk) + ([n_trials % per_chunk] if n_trials % per_chunk else [])
    streams = np.random.SeedSequence(seed).spawn(len(sizes))
    for size, stream in zip(sizes, streams):
        rng = np.random.default_rng(stream)
        if model == "means":
            yield _means_chunk(rng, size, n_max, look, **settings)
        else:
            yield _ancova_chunk_numpy(rng, size, n_max, look, **settings)


def _result(totals, *, n_trials, n_max, n_interim, **echo) -> OperatingCharacteristics:
    def rate(key):
        return totals[key] / n_trials

    def se(p):
        return math.sqrt(p * (1 - p) / n_trials)

    p_stop = rate("stop")
    extra = 0 if n_interim is None else n_max - n_interim
    values = dict(power=rate("reject"), type1=rate("reject_h0"), type1_nonbinding=rate("reject_nonbinding_h0"),
                  p_stop_futility=p_stop, p_stop_futility_h0=rate("stop_h0"),
                  expected_n=n_max - extra * p_stop)
    errors = MonteCarloErrors(**{k: se(v) for k, v in values.items() if k != "expected_n"},
                              expected_n=extra * se(p_stop))
    return OperatingCharacteristics(**values, mcse=errors, n_trials=n_trials, n_max=n_max, n_interim=n_interim,
                                    **echo)
