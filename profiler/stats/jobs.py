"""Counting the Spark jobs of a profile run, from Spark's status tracker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from pyspark.sql import SparkSession


class JobCounter:
    """Counts the jobs Spark ran in one job group."""

    def __init__(self, spark: SparkSession, group: str) -> None:
        self._spark = spark
        self._group = group

    def count(self) -> int:
        sc = self._spark.sparkContext
        # The status tracker is fed asynchronously by Spark's listener bus: drain it before reading.
        try:
            sc._jsc.sc().listenerBus().waitUntilEmpty()  # type: ignore[union-attr]
        except Exception:  # not reachable over Spark Connect or in a future release; the count is then a floor
            pass
        return len(sc.statusTracker().getJobIdsForGroup(self._group))


_GROUP_PROPERTIES = ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel")


@contextmanager
def counted_jobs(spark: SparkSession) -> Iterator[JobCounter]:
    """Runs the block in a fresh Spark job group (restoring the caller's afterwards) to count its jobs."""
    sc = spark.sparkContext
    previous = {key: sc.getLocalProperty(key) for key in _GROUP_PROPERTIES}
    group = f"profile-{uuid.uuid4().hex}"
    sc.setJobGroup(group, "catalog profile")
    try:
        yield JobCounter(spark, group)
    finally:
        for key, value in previous.items():
            sc.setLocalProperty(key, value)  # type: ignore[arg-type]  # None removes the property
