"""The `profile` job: queues profiles, and runs one through Spark table by table (see the package's docstring)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from catalog_api.errors import CatalogError
from catalog_api.services.browse import entity_by_urn
from catalog_api.services.context import ServiceContext
from catalog_api.services.extraction import lake
from catalog_api.services.jobs.running import JobControl, job_source
from catalog_api.services.profiling.reading import complete_lake_runs, profile_targets, read_lake, read_source, workdir
from catalog_api.services.profiling.reports import render_masked_report
from catalog_api.services.profiling.store import store_foreign_keys, store_profile
from catalog_api.services.sources import build_connector, enqueue_source_job
from catalog_api.services.views import JobView
from catalog_api.settings import Settings
from catalog_api.urns import EntityType
from profiler import InvalidProfileInput, ProfilerError, SparkConfig, TableProfile

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

PROFILE = "profile"


class ProfileFailed(CatalogError):
    """Profiling could not run or finish: no Java runtime, Spark did not start, or tables could not be profiled."""

    status = 500

    def __init__(self, message: str, *, code: str = "profile_failed", field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code


def request_profile(ctx: ServiceContext, source_ref: int | str, table_urns: list[str] | None = None) -> JobView:
    """Queues a profile of the source's tables (or of the given tables and views), or returns the active one."""
    return enqueue_source_job(ctx, PROFILE, source_ref, table_urns)


def request_table_profile(ctx: ServiceContext, urn: str) -> JobView:
    """Queues a profile of one table (or view)."""
    with ctx.db.session() as session:
        source_id = entity_by_urn(session, urn, expected=EntityType.DATASET).source_id
    return request_profile(ctx, source_id, [urn])


def spark_config(settings: Settings) -> SparkConfig:
    try:
        return SparkConfig(master=settings.spark_master, driver_memory=settings.spark_driver_memory,
                           extra_conf=dict(settings.spark_conf))
    except InvalidProfileInput as error:
        raise ProfileFailed(f"invalid Spark settings: {error.message}", code="invalid_settings",
                            field=f"spark_{error.field}" if error.field else None) from None


def _spark(ctx: ServiceContext) -> SparkSession:
    from profiler import get_spark

    try:
        return get_spark(spark_config(ctx.settings))
    except ProfilerError as error:
        raise ProfileFailed(error.message, code=error.code, field=error.field) from error


def run_profile_job(ctx: ServiceContext, job: JobControl) -> dict[str, Any]:
    from profiler import ProfileOptions, candidate_foreign_keys, candidate_primary_keys, profile_parquet

    with ctx.db.session() as session:
        record, source = job_source(session, job.job_id)
        targets = profile_targets(session, source, set((record.params or {}).get("tables") or []))
        connector = build_connector(ctx, session, source)
        source_name, source_urn = source.name, source.urn
    job.progress(0, len(targets), "starting Spark")
    spark = _spark(ctx)
    options = ProfileOptions(sample_rows=ctx.settings.profile_sample_rows)
    target_lake = lake(ctx.settings)
    mode = ctx.settings.profile_read_from
    done: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    frames: dict[str, DataFrame] = {}
    profiles: dict[str, TableProfile] = {}
    keys: dict[str, list[Any]] = {}
    row_ids: dict[str, int] = {}
    with workdir() as job_dir:
        for index, target in enumerate(targets):
            job.progress(index, len(targets), f"profiling {target.schema}.{target.name}")
            tabledir = job_dir / f"t{index}"
            tabledir.mkdir()
            try:
                runs = None
                if mode != "source":
                    runs = complete_lake_runs(target_lake.committed_runs(source_name, target.schema, target.name))
                    if runs is None and mode == "lake":
                        raise ProfileFailed(f"the lake does not hold the whole of {target.schema}.{target.name}: "
                                            "extract it with a full or key plan first", code="not_in_lake")
                read = (read_lake(spark, target_lake, runs, tabledir) if runs
                        else read_source(spark, connector, target, tabledir))
                profile, sample = profile_parquet(spark, read.files, options=options, size_bytes=read.size_bytes,
                                                  source=target.urn, with_sample=True)
                primary = candidate_primary_keys(read.frame, profile, declared=target.declared_keys)
            except ProfilerError as error:
                log.warning("profile of %s failed: %s", target.urn, error.message)
                failed.append({"urn": target.urn, "error_code": error.code, "error_message": error.message})
                continue
            except ProfileFailed as error:
                failed.append({"urn": target.urn, "error_code": error.code, "error_message": error.message})
                continue
            report = render_masked_report(ctx, target, profile, sample, f"{source_name}.{target.schema}.{target.name}")
            profile_id, anomalies = store_profile(ctx, job.job_id, target, profile, read, primary, report, source_urn)
            frames[target.urn], profiles[target.urn], keys[target.urn] = read.frame, profile, primary
            row_ids[target.urn] = profile_id
            done.append({"urn": target.urn, "profile_id": profile_id, "rows": profile.row_count,
                         "columns": len(profile.columns), "read_from": read.read_from,
                         "spark_jobs": profile.spark_jobs, "anomalies": anomalies})
        if len(frames) > 1:
            job.progress(len(targets), len(targets), "looking for foreign keys")
            found = candidate_foreign_keys(frames, profiles, parent_keys=keys, include_rejected=True)
            store_foreign_keys(ctx, row_ids, found)
    job.progress(len(targets), len(targets), "done")
    if failed:
        names = ", ".join(f"{f['urn']} ({f['error_message']})" for f in failed)
        raise ProfileFailed(f"{len(failed)} of {len(targets)} tables could not be profiled: {names}",
                            code="tables_failed")
    return {"tables": done, "rows": sum(t["rows"] for t in done),
            "anomalies": sum(t["anomalies"] for t in done)}
