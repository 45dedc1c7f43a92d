"""Mergeable partial statistics: any split of the rows, merged in any order, gives the statistics of the whole.

Spark decides how a table is split into tasks and in which order their results meet; these tests split the same
table in several ways, without Spark, and check that nothing a profile reports depends on it.
"""

from __future__ import annotations

import math
from functools import reduce

import numpy as np
import pytest

from profiler.partial import empty_partial, table_partial
from tests.support.partials import OPTIONS, shares, specs_of
from tests.support.profiler_tables import rich_table

EXACT = ("count", "finite", "nan", "pos_inf", "neg_inf", "min", "max", "sum", "zeros", "negatives", "min_length",
         "max_length", "sum_length", "empty", "blank", "true")


@pytest.mark.parametrize("cuts", [[1, 700, 2000], [1500], [10 * k for k in range(1, 300)]])
def test_any_split_merged_in_any_order_gives_the_statistics_of_the_whole(cuts):
    table = rich_table()
    specs = specs_of(table)
    whole = table_partial(table, specs, OPTIONS, 0)
    parts = [table_partial(part, specs, OPTIONS, i) for i, part in enumerate(shares(table, cuts))]
    zero = empty_partial(len(specs), table.schema)
    left = reduce(lambda a, b: a.merge(b, OPTIONS), parts, zero)
    right = reduce(lambda a, b: b.merge(a, OPTIONS), reversed(parts), zero)
    for merged in (left, right):
        assert merged.rows == whole.rows == 3000
        for name, a, b in zip(table.column_names, merged.columns, whole.columns, strict=True):
            for key in EXACT:
                mine, theirs = getattr(a, key), getattr(b, key)
                if isinstance(mine, float) and key == "sum":  # float addition depends on its order, barely
                    assert math.isclose(mine, theirs, rel_tol=1e-12), (name, key)
                else:
                    assert mine == theirs, (name, key)
            assert a.moments.n == b.moments.n, name
            assert math.isclose(a.moments.mean, b.moments.mean, rel_tol=1e-12, abs_tol=1e-300), name
            assert math.isclose(a.moments.m2, b.moments.m2, rel_tol=1e-9, abs_tol=1e-300), name
            # The bottom-k of a union is the bottom-k of the parts' bottom-ks: exactly the same hashes.
            assert (a.bottom is None) == (b.bottom is None), name
            if a.bottom is not None:
                assert np.array_equal(a.bottom, b.bottom), name
        # The row sketch likewise, with every kept hash's count summed over the shares.
        assert np.array_equal(merged.row_sketch.hashes, whole.row_sketch.hashes)
        assert np.array_equal(merged.row_sketch.counts, whole.row_sketch.counts)
        # The merged sample: 500 distinct rows of the table.
        ids = merged.sample.rows.column("id").to_pylist()
        assert len(ids) == len(set(ids)) == 500 and set(ids) <= set(table.column("id").to_pylist())
