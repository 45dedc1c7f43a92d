"""Duplicate rows from merged partials, against pandas' exact count (`len(df) - len(df.drop_duplicates())`).

No Spark: any path that merges `TablePartial`s (Spark's tree aggregation or one process) gets these figures.
"""

from __future__ import annotations

from functools import reduce

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from profiler.model import DuplicateMethod
from profiler.partial import PartialOptions, bottom_k_size, duplicate_rows, empty_partial, table_partial
from profiler.stats import ProfileOptions
from tests.support.partials import shares, specs_of
from tests.support.profiler_tables import lineitem_table

ROW_SKETCH = ProfileOptions().row_sketch_size
OPTIONS = PartialOptions(bottom_k=bottom_k_size(0.02), row_bottom_k=ROW_SKETCH, kll_k=200, sample_rows=0, seed=1)


def duplicates_of(table: pa.Table, share_rows: int = 100_000):
    specs = specs_of(table)
    cuts = list(range(share_rows, table.num_rows, share_rows))
    parts = [table_partial(part, specs, OPTIONS, i) for i, part in enumerate(shares(table, cuts))]
    total = reduce(lambda a, b: a.merge(b, OPTIONS), parts, empty_partial(len(specs), table.schema))
    return duplicate_rows(total, [], OPTIONS.row_bottom_k)


def pandas_duplicates(table: pa.Table) -> int:
    frame = table.to_pandas()
    return len(frame) - len(frame.drop_duplicates())


@pytest.fixture(scope="module")
def lineitem() -> pa.Table:
    return lineitem_table(250_000)


def test_a_large_table_without_duplicates_is_said_to_have_none(lineitem):
    assert lineitem.num_rows > 9 * ROW_SKETCH  # far beyond what the sketch counts exactly
    found = duplicates_of(lineitem)
    assert found.value == pandas_duplicates(lineitem) == 0
    assert (found.exact, found.method, found.low, found.confidence) == (False, DuplicateMethod.SKETCH, 0, 0.95)
    # The bound allows for duplicates piled on rows the sample missed: under 1 % of the rows.
    assert 0 < found.high < 0.01 * lineitem.num_rows


@pytest.mark.parametrize("repeated", [30_000, 150_000])
def test_a_large_table_with_duplicates_is_estimated_within_its_interval(lineitem, repeated):
    rng = np.random.default_rng(repeated)
    table = pa.concat_tables([lineitem, lineitem.take(rng.integers(0, lineitem.num_rows, repeated))])
    truth = pandas_duplicates(table)
    found = duplicates_of(table)
    assert not found.exact and found.low <= truth <= found.high
    assert abs(found.value - truth) <= 0.05 * truth


def test_a_table_below_the_sketch_size_is_counted_exactly():
    rng = np.random.default_rng(2)
    base = lineitem_table(20_000)
    table = pa.concat_tables([base, base.take(rng.integers(0, base.num_rows, 5_000))])
    found = duplicates_of(table, share_rows=7_000)
    assert found.method is DuplicateMethod.COUNTED and found.exact
    assert found.value == found.low == found.high == pandas_duplicates(table) > 0


def test_floats_compare_as_sql_distinct_compares_them():
    # NaN equals NaN and -0.0 equals 0.0, but NaN, infinities and nulls are all different values (pandas cannot
    # tell a null float from NaN, DuckDB can).
    values = [float("nan"), float("nan"), float("inf"), float("-inf"), None, None, 0.0, -0.0, 1.5]
    table = pa.table({"x": pa.array(values, pa.float64()), "k": pa.array([1] * len(values))})
    con = duckdb.connect()
    con.register("t", table)
    distinct = con.execute("SELECT count(*) FROM (SELECT DISTINCT * FROM t)").fetchone()[0]
    assert duplicates_of(table).value == table.num_rows - distinct == 3


def test_an_empty_table_has_no_duplicates():
    found = duplicates_of(lineitem_table(10).slice(0, 0))
    assert (found.value, found.exact) == (pandas_duplicates(lineitem_table(10).slice(0, 0)), True) == (0, True)


def test_rows_with_values_that_cannot_be_compared_get_no_figure():
    table = pa.table({"k": [1, 1], "tags": pa.array([[1], [2]], pa.list_(pa.int64()))})
    assert duplicates_of(table) is None
    nulls = pa.table({"k": [1, 1, 2], "nothing": pa.nulls(3)})
    assert duplicates_of(nulls).value == pandas_duplicates(nulls) == 1
    # Times and durations have no statistics but compare by value.
    times = pa.table({"k": [1, 1, 1, 1], "at": pa.array([3600, 3600, 7200, None], pa.time64("us")),
                      "took": pa.array([5, 5, 5, 5], pa.duration("us"))})
    assert duplicates_of(times).value == pandas_duplicates(times) == 1
