"""Sketches built in bulk from numpy: the bottom-k of many hashes and the KLL sketch of many values answer as the
sketches fed value by value do, checked against numpy on the same values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from datasketches import kll_doubles_sketch

from profiler.partial import kll_quantiles, merge_kll
from profiler.partial.sketches import bottom_k, kll_sketch


@pytest.mark.parametrize("distinct", [10, 3000, 50_000, 2**62])
def test_bottom_k_is_the_k_smallest_distinct_hashes(distinct):
    rng = np.random.default_rng(distinct % 1000)
    hashes = rng.integers(0, distinct, 40_000, dtype=np.uint64)
    expected = np.sort(pd.unique(hashes))[:2502]
    assert np.array_equal(bottom_k(hashes, 2502), expected)


def _rank_error(sketch: bytes, values: np.ndarray) -> float:
    """The largest normalized rank error of the sketch's percentiles against the sorted values."""
    ordered = np.sort(values)
    ranks = np.linspace(0.01, 0.99, 99)
    answers = kll_quantiles(sketch, tuple(ranks))
    return max(abs(np.searchsorted(ordered, q, side="right") / len(values) - r) for q, r in zip(answers, ranks))


@pytest.mark.parametrize("size", [2001, 4097, 100_000, 262_144])
def test_a_kll_sketch_built_in_bulk_counts_every_value_and_stays_within_its_rank_error(size):
    values = np.random.default_rng(size).lognormal(0, 2, size)
    sketch = kll_doubles_sketch.deserialize(kll_sketch(values, 1000))
    assert sketch.n == size
    assert (sketch.get_min_value(), sketch.get_max_value()) == (values.min(), values.max())
    assert sketch.num_retained <= 1000 + 10
    # DataSketches' own bound for k = 1000 (99 % confidence) is 0.28 %; a bulk build is off by under 2 / k.
    assert _rank_error(kll_sketch(values, 1000), values) <= kll_doubles_sketch.get_normalized_rank_error(1000, False)


def test_bulk_and_native_kll_sketches_merge_into_the_sketch_of_all_values():
    rng = np.random.default_rng(11)
    parts = [rng.normal(i, 1, n) for i, n in enumerate([100_000, 500, 60_000, 1_999, 250_000])]
    merged = None
    for part in parts:
        merged = merge_kll(merged, kll_sketch(part, 1000))
    values = np.concatenate(parts)
    sketch = kll_doubles_sketch.deserialize(merged)
    assert sketch.n == len(values)
    assert (sketch.get_min_value(), sketch.get_max_value()) == (values.min(), values.max())
    assert _rank_error(merged, values) <= kll_doubles_sketch.get_normalized_rank_error(1000, False)
