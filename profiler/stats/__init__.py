"""Column and table statistics: Spark distributes the work, Arrow kernels compute it, in two Spark jobs.

1. **Statistics pass.** Every task turns its share of the rows (a Parquet row group it reads itself, a slice of
   an Arrow table, or a DataFrame partition handed over by `mapInArrow`) into a mergeable
   `profiler.partial.TablePartial`: counts, nulls, min/max, exact sums, standard deviation, zeros/negatives,
   NaN/infinities, string lengths, empty/blank strings, true/false counts, bottom-k distinct sketches, KLL
   quantile sketches, a distinct-row sketch and a uniform sample of `sample_rows` rows. Spark's tree aggregation
   merges the partials.
2. **Values pass.** Exact value counts (top-k, exact distinct, exact quantiles) of every column whose estimated
   distinct count is at most `exact_distinct_threshold`, exact counts of the sample's repeated values for the
   other columns, and equi-width histograms of numeric columns, between the minimum and maximum of the first
   pass. It is skipped when no column has values to count (a table without rows, only booleans...).

Small tables skip Spark altogether: `profile_parquet_in_process` runs the same tasks in this process and merges
their partials in the order Spark does, so both give the same profile.

More columns never mean more Spark jobs; `TableProfile.spark_jobs` reports them from Spark's status tracker. A
third job runs only when Spark itself must read Parquet files (Hive-partitioned folders, files whose schemas pyarrow
cannot unify, duplicate column names, types Spark has no reading for): Spark infers and merges their schemas in a
job of its own before the two passes. Types that only lack a Spark type in Arrow (unsigned integers, string and
binary views, as DataFusion and Polars write them) are read by the tasks as Spark would read them, without it.

The statistics pass also counts duplicate rows (`profiler.partial.duplicates`): exactly for tables of at most
`exact_distinct_threshold` distinct rows or with a column counted unique, else an estimate that is 0 whenever its
sample of distinct rows repeats nothing, with a 95 % interval.

- `run`: the entry points (`profile_parquet`, `profile_arrow`, `profile_dataframe`) and the two passes in
  order, counted as Spark jobs (`jobs`);
- `shares`: how Spark hands the table to its tasks (Parquet row groups, Arrow slices, DataFrame partitions);
- `columns`: from merged partials to a `ColumnProfile`; `values`: the values pass;
- `options`: `ProfileOptions`.

The tasks compute with the Arrow kernels of `profiler.partial`.
"""

from __future__ import annotations

from profiler.stats.options import ProfileOptions
from profiler.stats.run import profile_arrow, profile_dataframe, profile_parquet, profile_parquet_in_process
from profiler.stats.shares import ParquetFiles, parquet_files

__all__ = ["ParquetFiles", "ProfileOptions", "parquet_files", "profile_arrow", "profile_dataframe", "profile_parquet",
           "profile_parquet_in_process"]
