"""Value and row hashes: distinct values keep distinct hashes, so the sketches count them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from profiler.partial import distinct_estimate, table_partial
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
