"""A profile run as a whole: what it reports about the table and the run, its options and inputs checked, and a
Spark job count that does not depend on the number of columns.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from profiler.errors import InvalidProfileInput
from profiler.model import DuplicateMethod, DuplicateRows, TableProfile
from profiler.stats import ProfileOptions, profile_arrow, profile_dataframe, profile_parquet
from tests.support.profiler_tables import lineitem_table, mixed_table, rich_table


def test_parquet_profile_reports_file_size_and_source(rich):
    profile = rich["profile"]
    assert profile.size_bytes == Path(rich["path"]).stat().st_size
    assert profile.source == str(rich["path"])
    assert profile.row_count == rich["table"].num_rows
    assert [c.name for c in profile.columns] == rich["table"].column_names
    assert list(rich["sample"].columns) == rich["table"].column_names


def test_profile_round_trips_through_json(rich):
    profile = rich["profile"]
    restored = TableProfile.from_dict(json.loads(json.dumps(profile.to_dict())))
    assert restored == profile


def test_started_and_finished_are_utc(rich):
    profile = rich["profile"]
    assert profile.started_at.tzinfo == timezone.utc
    assert profile.started_at <= profile.finished_at <= datetime.now(timezone.utc)


def pandas_duplicates(table: pa.Table) -> int:
    frame = table.to_pandas()
    return len(frame) - len(frame.drop_duplicates())


def test_duplicate_rows_and_awkward_column_names(spark):
    rng = np.random.default_rng(5)
    base = pa.table({"a.b c": rng.integers(0, 10**9, 2000), "`x`": [f"s{i}" for i in range(2000)]})
    table = pa.concat_tables([base, base.slice(0, 150)])
    profile = profile_arrow(spark, table)
    assert profile.row_count == 2150
    assert profile.duplicate_rows == DuplicateRows.counted(pandas_duplicates(table), DuplicateMethod.COUNTED)
    assert profile.duplicate_rows_estimate == 150
    assert profile.column("a.b c").count == 2150
    assert profile.column("`x`").distinct_count == 2000


def test_a_table_without_duplicate_rows_is_never_said_to_have_some(spark, tmp_path):
    # TPC-H's lineitem was said to hold 77,814 duplicate rows: none of its rows repeats, (l_orderkey,
    # l_linenumber) being unique, but a distinct-row estimate a little under the row count made some up.
    table = lineitem_table(250_000)
    pq.write_table(table, tmp_path / "lineitem.parquet", row_group_size=122_880)
    for profile in (profile_parquet(spark, str(tmp_path / "lineitem.parquet")),
                    profile_dataframe(spark.read.parquet(str(tmp_path / "lineitem.parquet")))):
        assert profile.duplicate_rows_estimate == pandas_duplicates(table) == 0
        found = profile.duplicate_rows
        assert (found.exact, found.low, found.confidence) == (False, 0, 0.95)
        assert found.high < 0.01 * table.num_rows


def test_a_column_counted_unique_proves_there_are_no_duplicates(spark):
    table = pa.table({"id": np.arange(500), "flag": np.arange(500) % 2})
    profile = profile_arrow(spark, table)
    assert profile.duplicate_rows == DuplicateRows.counted(pandas_duplicates(table), DuplicateMethod.UNIQUE_COLUMN)


def test_empty_table(spark):
    table = rich_table(rows=10).slice(0, 0).append_column("void", pa.array([], pa.null()))
    profile = profile_arrow(spark, table)
    assert profile.row_count == 0 and profile.duplicate_rows == DuplicateRows.counted(0, DuplicateMethod.COUNTED)
    for c in profile.columns:
        assert (c.count, c.null_count, c.min, c.max, c.top_values) == (0, 0, None, None, ())
    assert profile.sample.rows == 0


def test_spark_job_count_does_not_grow_with_columns(spark, tmp_path):
    # Two jobs (statistics, then values), whatever the number of columns, whichever way the data reaches Spark,
    # and whether columns are counted exactly (threshold 100,000) or are high-cardinality ones (threshold 100).
    counted = {}
    for columns in (5, 50):
        table = mixed_table(columns)
        pq.write_table(table, tmp_path / f"t{columns}.parquet", row_group_size=200)
        for threshold in (100_000, 100):
            counted[columns, threshold] = [
                profile_arrow(spark, table, exact_distinct_threshold=threshold).spark_jobs,
                profile_parquet(spark, str(tmp_path / f"t{columns}.parquet"), exact_distinct_threshold=threshold
                                ).spark_jobs,
                profile_dataframe(spark.createDataFrame(table), exact_distinct_threshold=threshold).spark_jobs,
            ]
    assert set(map(tuple, counted.values())) == {(2, 2, 2)}
    # A table without rows has no values to count: the statistics pass alone.
    assert profile_arrow(spark, mixed_table(50).slice(0, 0)).spark_jobs == 1


def test_parquet_with_types_spark_lacks_is_profiled_in_two_jobs(spark, tmp_path):
    # DataFusion (tpchgen-cli's TPC-H), Polars and others write string views and unsigned integers, which Spark has
    # no type for: the files were handed to Spark's reader, whose schema-merging read made a third job.
    rng = np.random.default_rng(4)
    table = pa.table({
        "key": pa.array(np.arange(3000, dtype=np.uint32)),
        "big": pa.array(rng.integers(0, 2**63, 3000, dtype=np.uint64) * np.uint64(2)),
        "flag": pa.array(np.array(["A", "N", "R"])[rng.integers(0, 3, 3000)]).cast(pa.string_view()),
    })
    pq.write_table(table, tmp_path / "lineitem.parquet", row_group_size=1000)
    profile = profile_parquet(spark, str(tmp_path / "lineitem.parquet"))
    assert profile.spark_jobs == 2
    assert [c.data_type for c in profile.columns] == ["bigint", "decimal(20,0)", "string"]  # as Spark reads them
    big = table.column("big").to_numpy()
    assert (profile.column("big").min, profile.column("big").max) == (int(big.min()), int(big.max()))
    assert profile.column("flag").distinct_count == 3 and profile.column("key").distinct_count == 3000
    assert profile_dataframe(spark.read.parquet(str(tmp_path / "lineitem.parquet"))).spark_jobs == 2
    # Hive-partitioned folders are read by Spark itself: its schema-merging read is the documented third job.
    pq.write_to_dataset(table.drop_columns(["big"]), tmp_path / "parted", partition_cols=["flag"])
    assert profile_parquet(spark, str(tmp_path / "parted")).spark_jobs == 3


def test_invalid_options_and_paths_name_the_field(spark, tmp_path):
    with pytest.raises(InvalidProfileInput) as error:
        ProfileOptions(distinct_rsd=0)
    assert error.value.field == "distinct_rsd"
    with pytest.raises(InvalidProfileInput) as error:
        profile_arrow(spark, mixed_table(1), top_kk=3)
    assert error.value.field == "top_kk"
    with pytest.raises(InvalidProfileInput) as error:
        profile_parquet(spark, str(tmp_path / "missing.parquet"))
    assert error.value.field == "path"
