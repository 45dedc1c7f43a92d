"""How Spark hands a table to its tasks: Parquet files read by the tasks, Hive folders read by Spark, DataFrame
partitions and Arrow slices, all giving the same profile."""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.parquet as pq

from profiler.stats import profile_arrow, profile_dataframe, profile_parquet
from tests.support.profiler_tables import rich_table


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
