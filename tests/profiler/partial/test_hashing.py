"""Value and row hashes: distinct values keep distinct hashes, so the sketches count them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from profiler.partial import distinct_estimate, table_partial, value_hashes
from profiler.partial.hashing import among
from tests.support.partials import OPTIONS, specs_of


def test_string_hashes_keep_near_identical_values_apart():
    # Short strings over two letters, the same bytes split differently ("ab" + "a" vs "a" + "ba"), the empty
    # string and unicode: every one must count, and the sketch is exact below its size.
    rng = np.random.default_rng(3)
    words = sorted({"".join(rng.choice(["a", "b"], int(n))) for n in rng.integers(0, 11, 5000)})
    words += ["é", "e\u0301", "日本", "日本語"]
    table = pa.table({"w": pa.array(words * 3)})
    partial = table_partial(table, specs_of(table), OPTIONS, 0)
    assert len(words) < OPTIONS.bottom_k
    assert distinct_estimate(partial.columns[0].bottom, OPTIONS.bottom_k) == len(set(words))
    # Each row appears three times: the row sketch keeps each distinct row once, counted three times.
    assert len(partial.row_sketch.hashes) == len(set(words))
    assert set(partial.row_sketch.counts) == {3}


def test_a_value_hashes_alike_in_any_batch_so_that_shares_merge():
    # A batch whose values repeat hashes its distinct values once, a long one each value in place, a slice from
    # inside its data buffer: the hash of a value must not depend on any of it.
    rng = np.random.default_rng(5)
    words = [f"category_{i}" for i in range(60)] + ["", "é", "日本語", "x" * 5000]
    repetitive = pa.array(rng.choice(words, 20_000))
    varied = pa.array([f"{w}{i}" for i, w in enumerate(rng.choice(words, 20_000))] + words)
    alone = {w: value_hashes(pa.array([w]))[0] for w in words}
    for batch in (repetitive, repetitive.slice(7_777), varied.slice(19_000), varied.cast(pa.large_string())):
        hashes = value_hashes(batch)
        assert all(hashes[i] == alone[w] for i, w in enumerate(batch.to_pylist()) if w in alone)
    assert len(set(alone.values())) == len(words)


def test_among_finds_exactly_the_chosen_hashes():
    # Chosen sets small and large (the two exact lookups), hashes that share a chosen one's low bits without being
    # it (the bitmap's false alarms), and shares where few or most hashes are chosen; np.isin is the oracle.
    rng = np.random.default_rng(11)
    pool = rng.integers(0, 2**64 - 1, 400_000, dtype=np.uint64)
    for chosen_count, hit_share in ((1, 0.0), (12, 0.001), (1000, 1.0), (12_500, 0.01), (200_000, 0.5)):
        chosen = np.unique(pool[:chosen_count])
        near = chosen[rng.integers(0, len(chosen), 500)] ^ (np.uint64(1) << np.uint64(40))  # same low bits
        hits = chosen[rng.integers(0, len(chosen), int(50_000 * hit_share))]
        hashes = rng.permutation(np.concatenate([pool[chosen_count:chosen_count + 50_000 - len(hits)], hits, near]))
        assert np.array_equal(among(hashes, chosen), np.isin(hashes, chosen))
    assert not among(pool[:10], np.zeros(0, np.uint64)).any()
