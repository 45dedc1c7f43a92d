"""The values pass over shares of the rows: exact counts merged by value, histograms summed."""

from __future__ import annotations

from functools import reduce

import numpy as np
import pandas as pd
import pyarrow as pa

from profiler.model import ColumnKind
from profiler.partial import ValuesRequest, empty_values, merge_values, values_partial
from tests.support.partials import shares


def test_values_pass_counts_exactly_and_gives_up_beyond_its_limit():
    rng = np.random.default_rng(8)
    values = rng.integers(0, 50, 10_000)
    table = pa.table({"small": values, "large": np.arange(10_000)})
    requests = [ValuesRequest(0, ColumnKind.INTEGER, limit=60, histogram=(0.0, 49.0, 7)),
                ValuesRequest(1, ColumnKind.INTEGER, limit=60, candidates=None)]
    parts = [values_partial(part, requests) for part in shares(table, [10, 5000, 9000])]
    found = reduce(lambda a, b: merge_values(a, b, requests), parts, empty_values(requests))
    counts = dict(zip(found[0].counts.values.to_pylist(), found[0].counts.counts.tolist(), strict=True))
    assert counts == pd.Series(values).value_counts().to_dict()
    assert found[0].histogram.tolist() == np.bincount(np.clip(np.floor(values / 7.0), 0, 6).astype(int)).tolist()
    assert found[1].counts is None  # 10,000 distinct values, more than the limit of 60
