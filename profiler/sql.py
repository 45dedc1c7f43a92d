"""A read-only Spark SQL query over Parquet files: how many rows it returns and the first few of them, within a
time limit.

`query_parquet(spark, views, sql, sample=10, timeout_s=60)` registers each entry of `views` (a name and the Parquet
files holding that table) as a temporary view of a new session of `spark` (its own temporary views and SQL settings,
the same SparkContext: two queries at once never see each other's views), runs `sql` there and answers the count of
its rows and up to `sample` of them. The files are read the way the profiler reads them (`mergeSchema`, so runs
written with different column sets read as one table).

The caller checks that `sql` only reads (the catalog parses it with sqlglot first); this module only runs it. Spark
jobs the query starts belong to a job group that a timer cancels after `timeout_s`: the query then fails with
`QueryTimedOut`. Any error Spark raises for the query (a parse or analysis error, a failed task) is a `QueryFailed`
whose message is the first line of Spark's, without the JVM stack trace.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from profiler.errors import InvalidProfileInput, ProfilerError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class QueryFailed(ProfilerError):
    """Spark refused the query or failed running it; `message` is Spark's first line."""

    code = "query_failed"


class QueryTimedOut(QueryFailed):
    """The query ran longer than its time limit and was cancelled."""

    code = "query_timeout"


@dataclass(frozen=True, slots=True)
class QueryRows:
    """What a query returned: `count` rows in all, the names of its columns, and the first `sample` rows."""

    count: int
    columns: list[str]
    rows: list[tuple[Any, ...]]


def query_parquet(spark: SparkSession, views: Mapping[str, Sequence[str]], sql: str, *, sample: int,
                  timeout_s: float) -> QueryRows:
    """Runs `sql` over the Parquet files of `views` (view name → files) in a new session of `spark`."""
    if timeout_s <= 0:
        raise InvalidProfileInput("timeout_s must be more than 0", field="timeout_s")
    if sample < 0:
        raise InvalidProfileInput("sample must be 0 or more", field="sample")
    empty = sorted(name for name, files in views.items() if not files)
    if empty:
        raise InvalidProfileInput(f"view {empty[0]} has no Parquet file", field="views")
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    session = spark.newSession()
    context = spark.sparkContext
    group = f"catalog-sql-{uuid.uuid4().hex}"
    expired, done = threading.Event(), threading.Event()

    def cancel() -> None:
        # Cancelling a group ends the jobs running now; the query may start its next one a moment later (it was
        # still being planned), so the group is cancelled again until the query gives up.
        if not done.wait(timeout_s):
            expired.set()
            while not done.is_set():
                context.cancelJobGroup(group)
                done.wait(_CANCEL_AGAIN_S)

    canceller = threading.Thread(target=cancel, name="spark-sql-timeout", daemon=True)
    context.setJobGroup(group, "quality rule query", interruptOnCancel=True)
    canceller.start()
    try:
        for name, files in views.items():
            _check(expired, timeout_s)
            session.read.option("mergeSchema", "true").parquet(*files).createOrReplaceTempView(name)
        frame = session.sql(sql)
        _check(expired, timeout_s)
        count = frame.count()
        _check(expired, timeout_s)
        rows = [tuple(row) for row in frame.limit(sample).collect()] if sample else []
        _check(expired, timeout_s)  # cancelled between its last job and the canceller's check
        return QueryRows(count=int(count), columns=list(frame.columns), rows=rows)
    except (PySparkException, Py4JError) as error:
        _check(expired, timeout_s)
        raise QueryFailed(_first_line(error)) from None
    finally:
        done.set()
        canceller.join()
        context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
        context.setLocalProperty("spark.job.description", None)  # type: ignore[arg-type]
        context.setLocalProperty("spark.job.interruptOnCancel", None)  # type: ignore[arg-type]


_CANCEL_AGAIN_S = 0.5


def _check(expired: threading.Event, timeout_s: float) -> None:
    if expired.is_set():
        raise QueryTimedOut(f"the query ran longer than {timeout_s:g} s and was cancelled") from None


def _first_line(error: Exception) -> str:
    """Spark's message without the plan and stack trace that follow it (py4j errors: the Java exception's message)."""
    java = getattr(error, "java_exception", None)  # a py4j error: the Java exception's own message
    text = str(java.toString()) if java is not None else str(error)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0][:1000] if lines else type(error).__name__
