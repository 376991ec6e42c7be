"""Stratified permuted-block allocation lists, many at once (numpy).

Each site has its own concealed list: a stream of blocks whose size is drawn uniformly from the
protocol's block sizes (default 2/4/6), each block a uniformly random arrangement of half iloprost, half
placebo. Patient k at site s receives entry k of list s. The simulators draw the lists of thousands of
trials in one call, without a Python loop per trial or per list.
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import combinations

import numpy as np

from shine.i18n import _, decimal


@lru_cache(maxsize=16)
def block_patterns(block_sizes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every balanced arrangement of every block size, and a table to draw them from.

    Returns ``patterns`` (n_patterns × largest size, 1 = active arm, padded with 0), ``sizes``
    (n_patterns,) and ``table``: pattern indices such that a uniform draw from the table picks each block
    size with probability 1/len(block_sizes) and each arrangement of that size equally often (exactly).
    """
    if not block_sizes or any(int(b) != b or b <= 0 or b % 2 or b > 16 for b in block_sizes):
        raise ValueError(_("block_sizes must be even integers from 2 to 16; got %(block_sizes)s") % {
            "block_sizes": decimal(block_sizes, "r")})
    width = max(block_sizes)
    counts = [math.comb(b, b // 2) for b in block_sizes]
    per_size = math.lcm(*counts)
    rows: list = []
    sizes: list = []
    table: list = []
    for b, count in zip(block_sizes, counts):
        for active in combinations(range(b), b // 2):
            row = np.zeros(width, dtype=np.int8)
            row[list(active)] = 1
            table.extend([len(rows)] * (per_size // count))
            rows.append(row)
            sizes.append(b)
    return np.array(rows), np.array(sizes, dtype=np.int64), np.array(table, dtype=np.int64)


def allocate_lists(rng: np.random.Generator, lengths: np.ndarray,
                   block_sizes: tuple[int, ...] = (2, 4, 6)) -> np.ndarray:
    """Independent permuted-block lists of the given lengths, concatenated (int8, 1 = active arm).

    List ``i`` occupies positions ``[sum(lengths[:i]), sum(lengths[:i+1]))`` of the result.
    """
    patterns, sizes, table = block_patterns(tuple(int(b) for b in block_sizes))
    lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
    blocks = -(-lengths // int(sizes.min()))  # enough blocks even if all are the smallest
    pattern = table[rng.integers(0, len(table), int(blocks.sum()))]
    size = sizes[pattern]
    entries = patterns[pattern][np.arange(patterns.shape[1]) < size[:, None]]  # blocks laid end to end
    # where each list's blocks begin among the entries
    first_block = np.cumsum(blocks) - blocks
    entry_start = np.concatenate([[0], np.cumsum(size)])[first_block]
    within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return entries[np.repeat(entry_start, lengths) + within]


def allocate_by_site(rng: np.random.Generator, site: np.ndarray, n_sites: int,
                     block_sizes: tuple[int, ...] = (2, 4, 6)) -> np.ndarray:
    """Arms (1 = active) of patients at sites ``site`` (0 … n_sites − 1) in arrival order (1-D)."""
    site = np.asarray(site, dtype=np.int64)
    order = np.argsort(site, kind="stable")
    lists = allocate_lists(rng, np.bincount(site, minlength=n_sites), block_sizes)
    arm = np.empty_like(lists)
    arm[order] = lists
    return arm


def active_counts(rng: np.random.Generator, cutoffs: np.ndarray,
                  block_sizes: tuple[int, ...] = (2, 4, 6)) -> np.ndarray:
    """Active-arm entries among the first ``cutoffs[i, j]`` entries of permuted-block list ``i``.

    ``cutoffs`` is (lists × looks), non-decreasing along each row; one independent list per row. Only the
    blocks up to the last cut-off are drawn, and a count needs the block it falls in: the completed
    blocks before it hold exactly half active entries.
    """
    patterns, sizes, table = block_patterns(tuple(int(b) for b in block_sizes))
    prefix = np.concatenate([np.zeros((len(patterns), 1), np.int64), np.cumsum(patterns, axis=1)], axis=1)
    cutoffs = np.asarray(cutoffs, dtype=np.int64)
    n_blocks = max(1, -(-int(cutoffs.max(initial=0)) // int(sizes.min())))
    pattern = table[rng.integers(0, len(table), (cutoffs.shape[0], n_blocks))]
    size = sizes[pattern]
    start = np.cumsum(size, axis=1) - size
    out = np.empty_like(cutoffs)
    for j in range(cutoffs.shape[1]):
        k = cutoffs[:, j:j + 1]
        last = np.maximum((start < k).sum(axis=1, keepdims=True) - 1, 0)  # block holding entry k − 1
        s = np.take_along_axis(start, last, axis=1)
        p = np.take_along_axis(pattern, last, axis=1)
        out[:, j] = np.where(k[:, 0] > 0,
                             s[:, 0] // 2 + prefix[p[:, 0], np.minimum(k - s, prefix.shape[1] - 1)[:, 0]], 0)
    return out


@lru_cache(maxsize=16)
def covering_block_table(block_sizes: tuple[int, ...], n_max: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The law of the block that holds the last of the first ``k`` entries of one list, for k = 0 … n_max.

    Blocks start at renewal points: a block starts at s with probability u(s), u(0) = 1 and
    u(s) = mean over sizes b of u(s − b). The block holding entry k − 1 has size b and holds ``into`` = j of
    the first k entries (so starts at k − j) with probability u(k − j) / len(block_sizes), 1 ≤ j ≤ b, j ≤ k.
    Given that block, the active entries among its first j are hypergeometric (a uniformly random balanced
    arrangement), and the completed blocks before it hold exactly (k − j) / 2. So a list's active count at a
    cut-off, and at a later one (same block, or a fresh list from the first block's end), needs a few draws
    instead of the whole list: the fused GPU simulator samples allocation this way.

    Returns ``cum`` ((n_max + 1) × W cumulative probabilities per k; row 0 unused), ``into`` and ``size``
    (W,): the column's j and b.
    """
    sizes = tuple(int(b) for b in block_sizes)
    block_patterns(sizes)  # validates the sizes
    renewal = np.zeros(n_max + 1)
    renewal[0] = 1.0
    for s in range(1, n_max + 1):
        renewal[s] = sum(renewal[s - b] for b in sizes if s >= b) / len(sizes)
    into = np.array([j for b in sizes for j in range(1, b + 1)], dtype=np.int64)
    size = np.array([b for b in sizes for _ in range(b)], dtype=np.int64)
    k = np.arange(n_max + 1)[:, None]
    prob = np.where(into <= k, renewal[np.maximum(k - into, 0)] / len(sizes), 0.0)
    prob[0] = 0.0
    cum = np.cumsum(prob, axis=1)
    cum[1:] /= cum[1:, -1:]  # rows sum to 1 up to rounding; make the last edge exact
    cum[0] = 1.0
    return cum, into, size
