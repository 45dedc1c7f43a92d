"""Spark-backed column profiler (a library: plain inputs, typed outputs, no catalog database access).

- `get_spark(SparkConfig(...))`: the process's one Spark session (`profiler.session`); `spark_session(...)` lends
  it for a block and stops it once idle for `SparkConfig.idle_stop_s`.
- `profile_parquet`, `profile_arrow`, `profile_dataframe`: a `TableProfile` from a statistics pass and a values
  pass, two Spark jobs whatever the column count, three for Parquet files only Spark's reader reads (see
  `profiler.stats`), on the partial statistics of `profiler.partial`; `profile_parquet_in_process`: the same
  profile of a small table without Spark.
- `analyse_values`: shapes, semantic types and PII tags of sampled strings (`profiler.patterns`).
- `candidate_primary_keys`, `candidate_foreign_keys`: keys verified on the data (`profiler.keys`), and their
  in-process twins for small tables (`profiler.keys_in_process`).
- `detect_anomalies`: a pure function from profile history to anomalies (`profiler.anomalies`).
- `render_report`: ydata-profiling HTML from a bounded pandas sample (`profiler.report`).

Importing the package does not import PySpark; the Spark-backed names load on first use.
"""

from __future__ import annotations

import lazy_loader

from profiler.anomalies import AnomalyThresholds, detect_anomalies
from profiler.errors import InvalidProfileInput, ProfilerError, ProfilerUnavailable
from profiler.model import (
    Anomaly,
    AnomalyKind,
    CandidateForeignKey,
    CandidateKey,
    ColumnKind,
    ColumnProfile,
    Histogram,
    PatternCount,
    SampleInfo,
    SemanticType,
    TableProfile,
    TopValue,
)
from profiler.patterns import analyse_values
from profiler.session import (
    SparkConfig,
    cancel_spark_jobs,
    end_spark_driver,
    find_java,
    get_spark,
    spark_running,
    spark_session,
    stop_spark,
)

__getattr__ = lazy_loader.attach(__name__, submod_attrs={
    "stats": ["ProfileOptions", "profile_arrow", "profile_dataframe", "profile_parquet", "profile_parquet_in_process",
              "parquet_files", "ParquetFiles"],
    "keys": ["candidate_foreign_keys", "candidate_primary_keys"],
    "keys_in_process": ["candidate_foreign_keys_in_process", "candidate_primary_keys_in_process"],
    "report": ["render_report"],
})[0]


__all__ = [
    "Anomaly",
    "AnomalyKind",
    "AnomalyThresholds",
    "CandidateForeignKey",
    "CandidateKey",
    "ColumnKind",
    "ColumnProfile",
    "Histogram",
    "InvalidProfileInput",
    "ParquetFiles",
    "PatternCount",
    "ProfileOptions",
    "ProfilerError",
    "ProfilerUnavailable",
    "SampleInfo",
    "SemanticType",
    "SparkConfig",
    "TableProfile",
    "TopValue",
    "analyse_values",
    "cancel_spark_jobs",
    "candidate_foreign_keys",
    "candidate_foreign_keys_in_process",
    "candidate_primary_keys",
    "candidate_primary_keys_in_process",
    "detect_anomalies",
    "end_spark_driver",
    "find_java",
    "get_spark",
    "profile_arrow",
    "profile_dataframe",
    "parquet_files",
    "profile_parquet",
    "profile_parquet_in_process",
    "render_report",
    "spark_running",
    "spark_session",
    "stop_spark",
]
