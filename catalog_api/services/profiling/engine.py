"""Where a table is profiled: in the job's own process when it is small and Spark would run locally anyway, else on
Spark, started on first need. Both give the same profile (`profiler.profile_parquet_in_process`), and the keys
are checked where the table was profiled, so a job over small tables never starts a JVM."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

from catalog_api.errors import CatalogError
from catalog_api.observability.tracing import span
from catalog_api.services.profiling.reading import TableRead
from catalog_api.settings import Settings
from catalog_api.urns import parse_urn
from profiler import InvalidProfileInput, ProfilerError, SparkConfig, TableProfile

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

    from profiler import CandidateForeignKey, CandidateKey, ParquetFiles, ProfileOptions
    from profiler.checks import TableChecks


class ProfileFailed(CatalogError):
    """Profiling could not run or finish: no Java runtime, Spark did not start, or tables could not be profiled."""

    status = 500

    def __init__(self, message: str, *, code: str = "profile_failed", field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code


class SparkDidNotStart(ProfileFailed):
    """Spark was needed and could not start: the whole job fails, not one table."""


def spark_config(settings: Settings) -> SparkConfig:
    try:
        return SparkConfig(master=settings.spark_master, driver_memory=settings.spark_driver_memory,
                           extra_conf=dict(settings.spark_conf), log_path=settings.log_dir / "spark.log",
                           idle_stop_s=settings.spark_idle_stop_s)
    except InvalidProfileInput as error:
        raise SparkDidNotStart(f"invalid Spark settings: {error.message}", code="invalid_settings",
                               field=f"spark_{error.field}" if error.field else None) from None


@dataclass
class ProfileEngine:
    """Profiles the tables of one job, each in-process or on Spark, and looks for foreign keys among them.

    Used as a context manager: the Spark session it starts on first need is held until the block ends, so an idle
    stop (`spark_idle_stop_s`) never stops it under the job."""

    settings: Settings
    options: ProfileOptions
    in_process: dict[str, ParquetFiles] = field(default_factory=dict)
    """The tables profiled in this process, by URN."""
    reads: dict[str, TableRead] = field(default_factory=dict)
    _spark: SparkSession | None = None
    _held: ExitStack = field(default_factory=ExitStack)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._spark = None
        self._held.close()

    def profiles_in_process(self, files: ParquetFiles | None) -> bool:
        """Small tables skip Spark while Spark would run on this machine anyway: a configured cluster gets every
        table, as do files only Spark's reader reads the way Spark does."""
        local = spark_config(self.settings).local_cores is not None
        return local and files is not None and files.cells <= self.settings.profile_in_process_max_cells

    def spark(self) -> SparkSession:
        if self._spark is None:
            from profiler import spark_session

            try:
                self._spark = self._held.enter_context(spark_session(spark_config(self.settings)))
            except ProfilerError as error:
                raise SparkDidNotStart(error.message, code=error.code, field=error.field) from error
        return self._spark

    def frame(self, read: TableRead) -> DataFrame:
        return self.spark().read.option("mergeSchema", "true").parquet(*read.files)

    def profile(self, urn: str, read: TableRead, declared: list[tuple[str, ...]], checks: TableChecks | None = None
                ) -> tuple[TableProfile, pd.DataFrame, list[CandidateKey]]:
        """The table's profile (with the results of `checks`, evaluated in its passes), its sample and its verified
        keys."""
        from profiler import (
            candidate_primary_keys,
            candidate_primary_keys_in_process,
            parquet_files,
            profile_parquet,
            profile_parquet_in_process,
        )

        self.reads[urn] = read
        files = parquet_files(read.files)
        if files is not None and self.profiles_in_process(files):
            profile, sample = profile_parquet_in_process(files, options=self.options, size_bytes=read.size_bytes,
                                                         source=urn, with_sample=True, checks=checks)
            self.in_process[urn] = files
            with span("keys"):
                return profile, sample, candidate_primary_keys_in_process(files, profile, declared=declared)
        spark = self.spark()
        profile, sample = profile_parquet(spark, read.files, options=self.options, size_bytes=read.size_bytes,
                                          source=urn, with_sample=True, checks=checks)
        with span("keys"):
            return profile, sample, candidate_primary_keys(self.frame(read), profile, declared=declared)

    def foreign_keys(self, profiles: dict[str, TableProfile], keys: dict[str, list[Any]]) -> list[CandidateForeignKey]:
        """Candidate foreign keys among the profiled tables: in-process when every one of them was, else on Spark."""
        from profiler import candidate_foreign_keys, candidate_foreign_keys_in_process

        names = {urn: parse_urn(urn).names[-1] for urn in profiles}  # names point children at their parents
        if all(urn in self.in_process for urn in profiles):
            return candidate_foreign_keys_in_process({urn: self.in_process[urn] for urn in profiles}, profiles,
                                                     parent_keys=keys, include_rejected=True, names=names)
        frames = {urn: self.frame(self.reads[urn]) for urn in profiles}
        return candidate_foreign_keys(frames, profiles, parent_keys=keys, include_rejected=True, names=names)
