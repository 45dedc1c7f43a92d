"""Mergeable partial statistics: any split of the rows, merged in any order, gives the statistics of the whole.

Spark decides how a table is split into tasks and in which order their results meet; these tests split the same
table in several ways, without Spark, and check that nothing a profile reports depends on it.
"""

from __future__ import annotations

import math
from functools import reduce

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql.pandas.types import from_arrow_schema

from profiler.kinds import column_kind
from profiler.model import ColumnKind
from profiler.partial import (
    ColumnSpec,
    PartialOptions,
    ValuesRequest,
    bottom_k_size,
    distinct_estimate,
    empty_partial,
    empty_values,
    merge_values,
    table_partial,
    values_partial,
)
from profiler.stats import profile_arrow, profile_dataframe, profile_parquet
from tests.profiler.conftest import rich_table

OPTIONS = PartialOptions(bottom_k=bottom_k_size(0.02), row_bottom_k=bottom_k_size(0.01), kll_k=200,
                         sample_rows=500, seed=1)


def specs_of(table: pa.Table) -> list[ColumnSpec]:
    kinds = [column_kind(f.dataType) for f in from_arrow_schema(table.schema).fields]
    return [ColumnSpec(kind, hashed=kind is not ColumnKind.OTHER) for kind in kinds]


def shares(table: pa.Table, cuts: list[int]) -> list[pa.Table]:
    edges = [0, *cuts, table.num_rows]
    return [table.slice(a, b - a) for a, b in zip(edges, edges[1:])]


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
        assert np.array_equal(merged.row_bottom, whole.row_bottom)
        # The merged sample: 500 distinct rows of the table.
        ids = merged.sample.rows.column("id").to_pylist()
        assert len(ids) == len(set(ids)) == 500 and set(ids) <= set(table.column("id").to_pylist())


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
    # Each row appears three times: two thirds of the rows are duplicates.
    assert distinct_estimate(partial.row_bottom, OPTIONS.row_bottom_k) == len(set(words))


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


def test_parquet_files_with_different_columns_are_merged_by_name(spark, tmp_path):
    first = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", None]})
    second = pa.table({"id": pa.array([4, 5], pa.int32()), "score": [1.5, 2.5]})
    pq.write_table(first, tmp_path / "first.parquet")
    pq.write_table(second, tmp_path / "second.parquet")
    profile = profile_parquet(spark, [str(tmp_path / "first.parquet"), str(tmp_path / "second.parquet")])
    assert profile.row_count == 5 and [c.name for c in profile.columns] == ["id", "name", "score"]
    assert (profile.column("id").sum, profile.column("id").max) == (15, 5)
    assert (profile.column("name").count, profile.column("name").null_count) == (2, 3)
    assert (profile.column("score").count, profile.column("score").sum) == (2, 4.0)
    assert profile.source is None and profile.size_bytes == sum(p.stat().st_size for p in tmp_path.iterdir())


def test_hive_partitioned_folder_keeps_its_partition_column(spark, tmp_path):
    # pyarrow would not see `region`, which lives in the folder names: Spark reads such a folder itself.
    for region, ids in (("eu", [1, 2]), ("us", [3])):
        (tmp_path / f"region={region}").mkdir()
        pq.write_table(pa.table({"id": ids}), tmp_path / f"region={region}" / "part.parquet")
    profile = profile_parquet(spark, str(tmp_path))
    assert profile.row_count == 3
    assert {t.value: t.count for t in profile.column("region").top_values} == {"eu": 2, "us": 1}


def test_dataframe_partitions_and_arrow_slices_give_the_same_profile(spark):
    table = rich_table(rows=1200)
    by_slices = profile_arrow(spark, table, sample_rows=100)
    frame = spark.createDataFrame(table).repartition(3)
    by_partitions = profile_dataframe(frame, sample_rows=100)
    for a, b in zip(by_slices.columns, by_partitions.columns, strict=True):
        for key in ("count", "null_count", "min", "max", "sum", "distinct_count", "top_values", "min_length",
                    "max_length", "empty_count", "blank_count", "true_count", "histogram"):
            assert getattr(a, key) == getattr(b, key), (a.name, key)
        if a.stddev is not None:
            assert math.isclose(a.stddev, b.stddev, rel_tol=1e-9), a.name
