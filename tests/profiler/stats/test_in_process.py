"""Small tables profiled in this process, without Spark, give the very profile Spark gives.

The oracle is the Spark path itself on the same Parquet files: every field of the `TableProfile` must be equal,
exactly, save the run's own facts (start and end times, the freshness measured from the start, the Spark job
count). Sketches included: both paths build them from the same shares and merge them in the same order, so the
distinct-count sketches, the samples and the KLL quantile sketches are the same. A KLL sketch stays deterministic
while it holds every value it was given (under `quantile_sketch_k` values per column); past that DataSketches
compacts it with random bits of its own, and two runs of the same path differ too, which is why the table of
`test_sketched_statistics_are_the_same_both_ways` stays under that size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from profiler import TableProfile
from profiler.stats import profile_parquet, profile_parquet_in_process
from tests.support.profiler_tables import UNICODE_WORDS, mixed_table, rich_table


def _run_facts_cleared(profile: TableProfile) -> TableProfile:
    """The profile without what differs from one run to the next whatever the data: its clock and job count."""
    moment = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    return replace(profile, started_at=moment, finished_at=moment, spark_jobs=0,
                   columns=tuple(replace(c, freshness_seconds=None) for c in profile.columns))


def _both_ways(spark, paths: list[str], **options) -> tuple[TableProfile, TableProfile]:
    on_spark, spark_sample = profile_parquet(spark, paths, with_sample=True, **options)
    in_process, local_sample = profile_parquet_in_process(paths, with_sample=True, **options)
    assert on_spark.spark_jobs >= 1 and in_process.spark_jobs == 0
    pd.testing.assert_frame_equal(spark_sample, local_sample)
    return _run_facts_cleared(on_spark), _run_facts_cleared(in_process)


def _tables() -> dict[str, pa.Table]:
    rows = 1500
    dates = [dt.date(2020, 1, 1) + dt.timedelta(days=i % 700) if i % 13 else None for i in range(rows)]
    return {
        # numbers with NaN and infinities, decimal(38,18), unicode and blank strings, zoned timestamps, dates,
        # booleans and a column of nulls only
        "rich": rich_table(rows=2500),
        "numeric": pa.table({
            "small": pa.array([i % 7 - 3 for i in range(rows)], pa.int8()),
            "wide": pa.array([(i * 7919) % 100_003 - 50_000 for i in range(rows)], pa.int64()),
            "ratio": pa.array([i / 7 if i % 11 else None for i in range(rows)], pa.float32()),
            "money": pa.array([Decimal(i * 37 % 1000) / 100 for i in range(rows)], pa.decimal128(9, 2)),
        }),
        "strings": pa.table({
            "word": pa.array([UNICODE_WORDS[i % len(UNICODE_WORDS)] if i % 5 else None for i in range(rows)]),
            "code": pa.array([f"C-{i:05d}" for i in range(rows)], pa.large_string()),
            "blank": pa.array(["", " ", "\t", "x"] * (rows // 4), pa.string()),
        }),
        "dates": pa.table({
            "day": pa.array(dates, pa.date32()),
            "at": pa.array([dt.datetime(2024, 5, 1) + dt.timedelta(seconds=97 * i) for i in range(rows)],
                           pa.timestamp("ms")),
            "zoned": pa.array([dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc) + dt.timedelta(hours=i)
                               for i in range(rows)], pa.timestamp("us", tz="UTC")),
        }),
        "all_null": pa.table({"id": pa.array(range(rows), pa.int64()), "nothing": pa.nulls(rows, pa.string()),
                              "none": pa.nulls(rows, pa.float64())}),
        "empty": pa.table({"id": pa.array([], pa.int64()), "name": pa.array([], pa.string()),
                           "day": pa.array([], pa.date32())}),
        "wide": mixed_table(60, rows=800),
    }


@pytest.mark.parametrize("name", list(_tables()))
def test_every_statistic_is_the_same_both_ways(spark, tmp_path, name):
    table = _tables()[name]
    path = tmp_path / f"{name}.parquet"
    # Three row groups: three tasks whose partials merge, where the table has rows.
    pq.write_table(table, path, row_group_size=max(1, -(-table.num_rows // 3)))
    on_spark, in_process = _both_ways(spark, [str(path)], top_k=5, sample_rows=500)
    assert in_process.row_count == table.num_rows
    assert in_process == on_spark


def test_files_with_different_columns_are_merged_the_same_both_ways(spark, tmp_path):
    first = pa.table({"id": pa.array([1, 2, 3], pa.int32()), "name": ["a", "b", None]})
    second = pa.table({"id": pa.array([4, 5, 2**40], pa.int64()), "score": [1.5, float("nan"), 2.5]})
    pq.write_table(first, tmp_path / "first.parquet")
    pq.write_table(second, tmp_path / "second.parquet")
    on_spark, in_process = _both_ways(spark, [str(tmp_path)])
    assert [c.name for c in in_process.columns] == ["id", "name", "score"]
    assert in_process == on_spark


def test_sketched_statistics_are_the_same_both_ways(spark, tmp_path):
    # exact_distinct_threshold=0: no exact counts, so distinct counts come from the bottom-k sketches, quantiles
    # from the KLL sketches and top values from the sample's candidates.
    table = rich_table(rows=900, seed=11)
    path = tmp_path / "sketched.parquet"
    pq.write_table(table, path, row_group_size=300)
    on_spark, in_process = _both_ways(spark, [str(path)], exact_distinct_threshold=0, distinct_rsd=0.1,
                                      sample_rows=200)
    sketched = in_process.column("big")
    assert not sketched.distinct_exact and sketched.quantiles and not sketched.top_values_complete
    assert in_process == on_spark


def test_files_only_spark_reads_are_refused_in_process(tmp_path):
    from profiler import InvalidProfileInput, parquet_files

    (tmp_path / "region=eu").mkdir()
    pq.write_table(pa.table({"id": [1, 2]}), tmp_path / "region=eu" / "part.parquet")
    assert parquet_files([str(tmp_path)]) is None
    with pytest.raises(InvalidProfileInput) as error:
        profile_parquet_in_process(str(tmp_path))
    assert error.value.field == "path"
