"""A profile run: the entry points, and the two passes in order, counted as Spark jobs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, overload

import pyarrow as pa
from opentelemetry import trace
from pyspark.sql import DataFrame, SparkSession

from profiler.checks import TableChecks
from profiler.errors import InvalidProfileInput
from profiler.kinds import column_kind
from profiler.model import ColumnKind, SampleInfo, TableProfile
from profiler.partial import (
    ColumnSpec,
    PartialOptions,
    TablePartial,
    bottom_k_size,
    duplicate_rows,
    empty_partial,
    table_partial,
)
from profiler.stats.checks import ProfileChecks, Work
from profiler.stats.columns import Col, column_profile, column_stats
from profiler.stats.jobs import JobCounter, counted_jobs
from profiler.stats.options import ProfileOptions
from profiler.stats.shares import (
    FrameShares,
    InProcessShares,
    ParquetFiles,
    Shares,
    arrow_shares,
    files_size,
    parquet_files,
    parquet_shares,
)
from profiler.stats.values import values_pass

if TYPE_CHECKING:
    import pandas as pd

_tracer = trace.get_tracer(__name__)
"""Each pass is a span (a no-op unless the application installed a tracer provider), on Spark or in-process."""


# -- entry points -------------------------------------------------------------------------------------------------

@overload
def profile_dataframe(df: DataFrame, *, options: ProfileOptions | None = ..., size_bytes: int | None = ...,
                      source: str | None = ..., with_sample: Literal[False] = ...,
                      checks: TableChecks | None = ...) -> TableProfile: ...


@overload
def profile_dataframe(df: DataFrame, *, options: ProfileOptions | None = ..., size_bytes: int | None = ...,
                      source: str | None = ..., with_sample: Literal[True],
                      checks: TableChecks | None = ...) -> tuple[TableProfile, pd.DataFrame]: ...


def profile_dataframe(df: DataFrame, *, options: ProfileOptions | None = None, size_bytes: int | None = None,
                      source: str | None = None, with_sample: bool = False, checks: TableChecks | None = None,
                      **overrides: Any) -> TableProfile | tuple[TableProfile, pd.DataFrame]:
    """Profiles any Spark DataFrame, its partitions handed to the statistics as Arrow batches. `overrides` set
    single options (`top_k=5`) on top of `options`. For Parquet files, `profile_parquet` reads several times
    faster.

    With `with_sample=True` it also returns the bounded sample as pandas, ready for `render_report`. Every entry
    point takes `checks`, evaluated in the same passes (`profiler.checks`); their results are `TableProfile.checks`.
    """
    opts = _options(options, overrides)
    spark = df.sparkSession
    with counted_jobs(spark) as jobs:
        profile, sample = profile_shares(FrameShares(spark, df), opts, checks)
    return _result(profile, sample, jobs, with_sample, size_bytes=size_bytes, source=source)


def profile_parquet(spark: SparkSession, path: str | Sequence[str], *, options: ProfileOptions | None = None,
                    source: str | None = None, size_bytes: int | None = None, with_sample: bool = False,
                    checks: TableChecks | None = None, **overrides: Any,
                    ) -> TableProfile | tuple[TableProfile, pd.DataFrame]:
    """Profiles Parquet files: a file, a folder or a list of them, on any filesystem fsspec reaches, with their
    schemas merged by column name. `size_bytes` defaults to the files' total size, `source` to a single path."""
    opts = _options(options, overrides)
    paths = [path] if isinstance(path, str) else list(path)
    if not paths or not all(isinstance(p, str) and p for p in paths):
        raise InvalidProfileInput("path must name a Parquet file or folder", field="path")
    with counted_jobs(spark) as jobs:
        shares = parquet_shares(spark, paths)
        profile, sample = profile_shares(shares, opts, checks)
    if size_bytes is None:
        size_bytes = files_size(shares.files())
    if source is None and isinstance(path, str):
        source = path
    return _result(profile, sample, jobs, with_sample, size_bytes=size_bytes, source=source)


def profile_arrow(spark: SparkSession, table: pa.Table, *, options: ProfileOptions | None = None,
                  source: str | None = None, with_sample: bool = False, checks: TableChecks | None = None,
                  **overrides: Any) -> TableProfile | tuple[TableProfile, pd.DataFrame]:
    """Profiles a small in-memory Arrow table (its slices are shipped to the tasks). `size_bytes` is its Arrow
    size."""
    opts = _options(options, overrides)
    with counted_jobs(spark) as jobs:
        profile, sample = profile_shares(arrow_shares(spark, table), opts, checks)
    return _result(profile, sample, jobs, with_sample, size_bytes=int(table.nbytes), source=source)


def profile_parquet_in_process(files: ParquetFiles | str | Sequence[str], *, options: ProfileOptions | None = None,
                               source: str | None = None, size_bytes: int | None = None, with_sample: bool = False,
                               checks: TableChecks | None = None, **overrides: Any,
                               ) -> TableProfile | tuple[TableProfile, pd.DataFrame]:
    """Profiles Parquet files in this process, without Spark: the tasks `profile_parquet` hands to Spark, run here
    one after the other and merged as Spark merges them, so the profile is the one Spark gives (see
    `InProcessShares`), with `spark_jobs` 0. Meant for small tables, where starting a JVM and scheduling tasks costs
    far more than the statistics: it uses one core. Files only Spark's reader reads the way Spark does (Hive
    partition folders...) raise `InvalidProfileInput`; `parquet_files` tells them apart beforehand."""
    opts = _options(options, overrides)
    if not isinstance(files, ParquetFiles):
        paths = [files] if isinstance(files, str) else list(files)
        if not paths or not all(isinstance(p, str) and p for p in paths):
            raise InvalidProfileInput("path must name a Parquet file or folder", field="path")
        if source is None and isinstance(files, str):
            source = files
        found = parquet_files(paths)
        if found is None:
            raise InvalidProfileInput(f"only Spark reads the Parquet at {', '.join(paths)!r} the way Spark does: "
                                      "profile it with profile_parquet", field="path")
        files = found
    profile, sample = profile_shares(InProcessShares(files), opts, checks)
    if size_bytes is None:
        size_bytes = files_size(files.files)
    return _result(profile, sample, 0, with_sample, size_bytes=size_bytes, source=source)


def _options(options: ProfileOptions | None, overrides: Mapping[str, Any]) -> ProfileOptions:
    options = options or ProfileOptions()
    unknown = set(overrides) - set(ProfileOptions.__dataclass_fields__)
    if unknown:
        name = sorted(unknown)[0]
        raise InvalidProfileInput(f"unknown profile option {name!r}", field=name)
    return replace(options, **overrides) if overrides else options


def _result(profile: TableProfile, sample: pa.Table, jobs: JobCounter | int, with_sample: bool, *,
            size_bytes: int | None, source: str | None) -> TableProfile | tuple[TableProfile, pd.DataFrame]:
    """What an entry point returns: the profile with its run's facts, and the sample as pandas if asked for."""
    spark_jobs = jobs if isinstance(jobs, int) else jobs.count()
    profile = replace(profile, size_bytes=size_bytes, source=source, spark_jobs=spark_jobs)
    return (profile, sample.to_pandas()) if with_sample else profile


# -- the profile --------------------------------------------------------------------------------------------------

def profile_shares(shares: Shares, opts: ProfileOptions, checks: TableChecks | None = None
                   ) -> tuple[TableProfile, pa.Table]:
    """The profile of a table handed over as `shares`, and its sample: the statistics pass, then the values pass,
    each also computing the `checks` (`profiler.stats.checks`)."""
    started = datetime.now(timezone.utc)
    cols = [Col(i, f.name, f.dataType, column_kind(f.dataType), {}) for i, f in enumerate(shares.schema.fields)]
    run_checks = ProfileChecks(checks, [c.name for c in cols], [c.kind for c in cols], shares.arrow_schema) \
        if checks and checks.checks else None
    kept = run_checks.kept_columns() if run_checks else {}
    specs = [ColumnSpec(c.kind, hashed=c.kind is not ColumnKind.OTHER, keep_hashes=c.index in kept,
                        keep_keys=kept.get(c.index)) for c in cols]
    options = PartialOptions(
        bottom_k=bottom_k_size(opts.distinct_rsd), row_bottom_k=opts.row_sketch_size,
        kll_k=opts.quantile_sketch_k, sample_rows=opts.sample_rows, seed=opts.sample_seed,
    )
    statistics = Work(lambda rows, share, encodings=None: table_partial(rows, specs, options, share, encodings),
                      empty_partial(len(specs), shares.arrow_schema), lambda a, b: a.merge(b, options))
    if run_checks is not None:
        statistics = run_checks.statistics_work(statistics)
    with _tracer.start_as_current_span("statistics pass", attributes={"catalog.profile.columns": len(cols)}) as span:
        total: TablePartial = shares.aggregate(statistics.work, statistics.zero, statistics.merge)
        if run_checks is not None:
            total, checked = total
            run_checks.statistics_done(checked, total.columns)
        span.set_attribute("catalog.profile.rows", total.rows)
    row_count = total.rows
    sample = total.sample.rows
    for c, partial in zip(cols, total.columns, strict=True):
        c.stats = column_stats(c, partial, opts)
    with _tracer.start_as_current_span("values pass"):
        extra = values_pass(shares, cols, sample, opts, run_checks.values_work() if run_checks else None)
        if run_checks is not None:
            run_checks.values_done(extra)

    columns = tuple(column_profile(c, row_count, sample, started, opts) for c in cols)
    profile = TableProfile(
        row_count=row_count,
        columns=columns,
        started_at=started,
        finished_at=datetime.now(timezone.utc),
        duplicate_rows=duplicate_rows(total, columns, options.row_bottom_k),
        sample=SampleInfo(rows=sample.num_rows, fraction=sample.num_rows / row_count if row_count else 0.0,
                          seed=opts.sample_seed),
    )
    if run_checks is not None:
        profile = replace(profile, checks=run_checks.results(profile))
    return profile, sample.rename_columns([c.name for c in cols])
