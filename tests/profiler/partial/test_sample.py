"""The uniform sample: drawn share by share, merged without favouring any share."""

from __future__ import annotations

import math
from functools import reduce

import numpy as np
import pandas as pd
import pyarrow as pa

from profiler.partial import table_partial
from tests.support.partials import OPTIONS, shares, specs_of


def test_sample_takes_each_share_in_proportion_to_its_size():
    table = pa.table({"share": np.repeat(np.arange(3), [200, 18_000, 1_800])})
    specs = specs_of(table)
    parts = [table_partial(part, specs, OPTIONS, i) for i, part in enumerate(shares(table, [200, 18_200]))]
    sample = reduce(lambda a, b: a.merge(b, OPTIONS), parts).sample.rows
    drawn = pd.Series(sample.column("share").to_numpy()).value_counts()
    assert sample.num_rows == 500
    for share, size in enumerate([200, 18_000, 1_800]):
        expected = 500 * size / 20_000
        assert abs(drawn.get(share, 0) - expected) <= 4 * math.sqrt(expected) + 1, (share, drawn.to_dict())
