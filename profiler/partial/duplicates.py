"""Duplicate rows of a table, from its merged `TablePartial` and its column profiles: exact when it can be, else an
estimate that never reports duplicates its sample did not see, with an interval.

- A column counted exactly with as many distinct non-null values as the table has rows: no row repeats another.
- A row sketch holding every distinct row (fewer than k): rows minus distinct rows, exact up to hash collisions.
- Otherwise the sketch's k rows are a uniform sample of the distinct rows, each with its exact count `m`. The
  ratio estimate `rows * (sum(m) - k) / sum(m)` is 0 whenever every sampled row occurs once, whatever the noise of
  a distinct count; its interval is the union of the ratio's normal interval and the one the distinct-row count
  estimate `(k - 1) / U_k` gives (rows minus distinct rows), which covers duplicates piled on a few rows that the
  sample may miss. It never goes below the duplicates seen in the sample, nor above rows minus k.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from profiler.model import ColumnProfile, DuplicateMethod, DuplicateRows
from profiler.partial.sketches import RowSketch
from profiler.partial.table import TablePartial

CONFIDENCE = 0.95
_Z = 1.959964
"""The standard normal quantile of a two-sided 95 % interval."""


def duplicate_rows(total: TablePartial, columns: Sequence[ColumnProfile], k: int) -> DuplicateRows | None:
    """The duplicate rows of the table `total` sums up (`k`: its options' `row_bottom_k`); None when its rows
    cannot be compared."""
    rows = total.rows
    if rows == 0:
        return DuplicateRows.counted(0, DuplicateMethod.COUNTED)
    if any(_all_distinct(c, rows) for c in columns):
        return DuplicateRows.counted(0, DuplicateMethod.UNIQUE_COLUMN)
    sketch = total.row_sketch
    if sketch is None:
        return None
    if len(sketch.hashes) < k:
        return DuplicateRows.counted(rows - len(sketch.hashes), DuplicateMethod.COUNTED)
    return _estimate(sketch, rows, k)


def _all_distinct(column: ColumnProfile, rows: int) -> bool:
    return column.distinct_exact and column.null_count == 0 and column.distinct_count == rows


def _estimate(sketch: RowSketch, rows: int, k: int) -> DuplicateRows:
    counts = sketch.counts[:k].astype(np.float64)
    sampled = float(counts.sum())
    seen = int(sampled) - k  # duplicates among the sampled distinct rows: certain, hash collisions aside
    mean = sampled / k
    value = round(rows * seen / sampled)
    # The ratio estimate's standard error (sampling k of the d distinct rows without replacement).
    distinct = rows / mean
    spread = rows * math.sqrt(max(0.0, 1.0 - k / distinct) / k) * float(counts.std(ddof=1)) / mean**2
    # Rows minus the bottom-k estimate of distinct rows, of relative standard error 1 / sqrt(k - 2).
    kmv = (k - 1) / ((float(sketch.hashes[k - 1]) + 1.0) / 2.0**64)
    rsd = 1.0 / math.sqrt(k - 2)
    low = min(value - _Z * spread, rows - kmv * (1 + _Z * rsd))
    high = max(value + _Z * spread, rows - kmv * (1 - _Z * rsd))
    low_bound = min(value, max(seen, math.floor(low)))
    high_bound = max(value, min(rows - k, math.ceil(high)))
    return DuplicateRows(value, False, low_bound, high_bound, DuplicateMethod.SKETCH, CONFIDENCE)
