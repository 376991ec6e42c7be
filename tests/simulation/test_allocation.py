"""Permuted-block allocation lists (PROTOCOL.md: concealed list, permuted blocks 2/4/6, stratified by site)."""

import math
from functools import cache
from itertools import combinations

import numpy as np
import pytest
from scipy import stats

from shine.simulation.allocation import (
    active_counts,
    allocate_by_site,
    allocate_lists,
    block_patterns,
    covering_block_table,
)


def test_block_patterns_are_balanced_and_drawn_with_the_stated_probabilities():
    patterns, sizes, table = block_patterns((2, 4, 6))
    assert len(patterns) == 2 + 6 + 20
    for row, b in zip(patterns, sizes):
        assert row[:b].sum() == b // 2 and row[b:].sum() == 0
    share = np.bincount(table, minlength=len(patterns)) / len(table)
    for b in (2, 4, 6):  # each size 1/3, each arrangement of a size equally likely (exact table)
        assert share[sizes == b].sum() == pytest.approx(1 / 3, abs=1e-12)
        assert np.allclose(share[sizes == b], 1 / (3 * math.comb(b, b // 2)))


def test_lists_have_the_requested_lengths_and_never_drift_more_than_half_a_block():
    rng = np.random.default_rng(7)
    lengths = rng.integers(0, 60, 2_000)
    arms = allocate_lists(rng, lengths, (2, 4, 6))
    assert arms.size == lengths.sum()
    starts = np.cumsum(lengths) - lengths
    for start, n in zip(starts[:200], lengths[:200]):
        imbalance = np.cumsum(2 * arms[start:start + n].astype(int) - 1)
        assert np.all(np.abs(imbalance) <= 3)  # largest block 6: at most 3 ahead
    assert arms.mean() == pytest.approx(0.5, abs=0.01)


def test_block_sizes_in_a_list_are_uniform():
    rng = np.random.default_rng(11)
    arms = allocate_lists(rng, np.array([300_000]), (2,))
    assert np.all(arms[0::2] + arms[1::2] == 1)  # blocks of 2: every pair balanced
    # the first entry of a block of 2 is active half of the time
    assert arms[0::2].mean() == pytest.approx(0.5, abs=4 * 0.5 / math.sqrt(150_000))


def test_allocate_by_site_balances_within_each_site():
    rng = np.random.default_rng(3)
    site = rng.integers(0, 6, 500)
    arm = allocate_by_site(rng, site, 6)
    for s in range(6):
        a = arm[site == s].astype(int)
        assert np.all(np.abs(np.cumsum(2 * a - 1)) <= 3)


def test_bad_block_sizes_are_refused():
    with pytest.raises(ValueError, match="block_sizes"):
        block_patterns((3, 4))


def test_active_counts_have_the_distribution_of_counts_in_full_lists():
    # two independent implementations: counts at cut-offs vs entries of complete lists; each histogram
    # bin within 4 binomial standard errors (of the difference of two estimates)
    rng = np.random.default_rng(0)
    n = 100_000
    cut = np.array([0, 1, 3, 5, 7, 12, 13])
    counts = active_counts(rng, np.tile(cut, (n, 1)))
    lists = allocate_lists(rng, np.full(n, 13)).reshape(n, 13)
    for j, k in enumerate(cut):
        h1 = np.bincount(counts[:, j], minlength=14) / n
        h2 = np.bincount(lists[:, :k].sum(axis=1), minlength=14) / n
        tol = 4 * np.sqrt(2 * np.maximum(h1, 1 / n) * (1 - h1) / n)
        assert np.all(np.abs(h1 - h2) <= tol), k


@pytest.mark.parametrize("block_sizes", [(2, 4, 6), (4, 8), (2,)])
def test_covering_block_table_gives_the_exact_law_of_active_counts(block_sizes):
    # exact law by recursion over every block size and arrangement, against the table (renewal law of
    # the block holding the cut-off, then a hypergeometric count within it)
    @cache
    def law(k):
        out = np.zeros(k + 1)
        if k == 0:
            out[0] = 1.0
            return out
        for b in block_sizes:
            for active in combinations(range(b), b // 2):
                p = 1 / (len(block_sizes) * math.comb(b, b // 2))
                if k <= b:
                    out[sum(i < k for i in active)] += p
                else:
                    out[b // 2:b // 2 + k - b + 1] += p * law(k - b)
        return out

    n_max = 24
    cum, into, size = covering_block_table(block_sizes, n_max)
    for k in range(1, n_max + 1):
        prob = np.diff(cum[k], prepend=0.0)
        from_table = np.zeros(k + 1)
        for p, j, b in zip(prob, into, size):
            if p > 0:
                start = k - j
                from_table[start // 2:start // 2 + j + 1] += p * stats.hypergeom.pmf(np.arange(j + 1), b, b // 2, j)
        assert np.allclose(from_table, law(k), atol=1e-12), k
