"""The `profile` job: queues profiles, and runs one table by table, in-process or on Spark (see `engine` and the
package's docstring)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

from catalog_api.observability.tracing import span
from catalog_api.services.browse import entity_by_urn
from catalog_api.services.context import ServiceContext
from catalog_api.services.extraction import lake
from catalog_api.services.jobs.running import JobControl, job_source
from catalog_api.services.profiling.engine import ProfileEngine, ProfileFailed, SparkDidNotStart, spark_config
from catalog_api.services.profiling.reading import complete_lake_runs, profile_targets, read_lake, read_source, workdir
from catalog_api.services.profiling.report_jobs import ReportStaging
from catalog_api.services.profiling.store import store_foreign_keys, store_profile
from catalog_api.services.sources import build_connector, enqueue_source_job
from catalog_api.services.views import JobView
from catalog_api.urns import EntityType
from profiler import ProfilerError, TableProfile
from profiler.checks import TableChecks

log = logging.getLogger(__name__)

PROFILE = "profile"


class ProfileRules(Protocol):
    """What a profile job evaluates with each table's profile, in the same passes: the quality service's aggregate
    rules (`quality.aggregates.PROFILE_RULES`), handed in by the composition root."""

    def checks(self, ctx: ServiceContext, table_ids: Iterable[int]) -> dict[int, TableChecks]:
        """The checks of the tables (by id) that have any."""

    def record(self, ctx: ServiceContext, table_urn: str, run_id: str, profile: TableProfile) -> dict[str, int]:
        """Stores the results of `profile.checks`; answers their counts by outcome."""


def request_profile(ctx: ServiceContext, source_ref: int | str, table_urns: list[str] | None = None) -> JobView:
    """Queues a profile of the source's tables (or of the given tables and views), or returns the active one."""
    return enqueue_source_job(ctx, PROFILE, source_ref, table_urns)


def request_table_profile(ctx: ServiceContext, urn: str) -> JobView:
    """Queues a profile of one table (or view)."""
    with ctx.db.session() as session:
        source_id = entity_by_urn(session, urn, expected=EntityType.DATASET).source_id
    return request_profile(ctx, source_id, [urn])


def run_profile_job(ctx: ServiceContext, job: JobControl, rules: ProfileRules | None = None) -> dict[str, Any]:
    """Profiles the job's tables one by one; with `rules`, evaluates each table's checks in its profile's passes
    and records their results after its profile."""
    from profiler import ProfileOptions

    with ctx.db.session() as session:
        record, source = job_source(session, job.job_id)
        targets = profile_targets(session, source, set((record.params or {}).get("tables") or []))
        connector = build_connector(ctx, session, source)
        source_name, source_urn = source.name, source.urn
    checks = rules.checks(ctx, [t.table_id for t in targets]) if rules is not None else {}
    job.progress(0, len(targets), "starting")
    engine = ProfileEngine(ctx.settings, ProfileOptions(sample_rows=ctx.settings.profile_sample_rows))
    spark_config(ctx.settings)  # bad Spark settings fail the job up front, whichever tables end up on Spark
    target_lake = lake(ctx.settings)
    mode = ctx.settings.profile_read_from
    done: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    profiles: dict[str, TableProfile] = {}
    keys: dict[str, list[Any]] = {}
    row_ids: dict[str, int] = {}
    reports = ReportStaging(ctx, job.job_id)
    try:
        with workdir(ctx.settings.profile_work_dir) as job_dir, engine:
            for index, target in enumerate(targets):
                job.progress(index, len(targets), f"profiling {target.schema}.{target.name}")
                with span("profile table", {"db.collection.name": f"{target.schema}.{target.name}"}):
                    tabledir = job_dir / f"t{index}"
                    tabledir.mkdir()
                    try:
                        runs = None
                        if mode != "source":
                            runs = complete_lake_runs(target_lake.committed_runs(source_name, target.schema,
                                                                                 target.name))
                            if runs is None and mode == "lake":
                                raise ProfileFailed(f"the lake does not hold the whole of {target.schema}."
                                                    f"{target.name}: extract it with a full or key plan first",
                                                    code="not_in_lake")
                        with span("read", {"catalog.profile.read_from": "lake" if runs else "source"}):
                            read = (read_lake(target_lake, runs, tabledir) if runs
                                    else read_source(connector, target, tabledir, between_batches=job.check_stop))
                        profile, sample, primary = engine.profile(target.urn, read, target.declared_keys,
                                                                  checks.get(target.table_id))
                    except SparkDidNotStart:
                        raise
                    except ProfilerError as error:
                        log.warning("profile of %s failed: %s", target.urn, error.message)
                        failed.append({"urn": target.urn, "error_code": error.code, "error_message": error.message})
                        continue
                    except ProfileFailed as error:
                        failed.append({"urn": target.urn, "error_code": error.code, "error_message": error.message})
                        continue
                    with span("stage report sample"):
                        staged = reports.stage(target, profile, sample, f"{source_name}.{target.schema}.{target.name}")
                    with span("store"):
                        profile_id, anomalies = store_profile(ctx, job.job_id, target, profile, read, primary,
                                                              staged.masked_columns if staged else None, source_urn)
                    if staged is not None:
                        reports.stored(profile_id, staged)
                    outcome = {}
                    if target.table_id in checks:
                        with span("rules"):
                            outcome["rules"] = rules.record(ctx, target.urn, job.job_id, profile)
                profiles[target.urn], keys[target.urn] = profile, primary
                row_ids[target.urn] = profile_id
                done.append({"urn": target.urn, "profile_id": profile_id, "rows": profile.row_count,
                             "columns": len(profile.columns), "read_from": read.read_from,
                             "spark_jobs": profile.spark_jobs, "anomalies": anomalies, **outcome})
            if len(profiles) > 1:
                job.progress(len(targets), len(targets), "looking for foreign keys")
                with span("foreign keys", {"catalog.profile.tables": len(profiles)}):
                    store_foreign_keys(ctx, row_ids, engine.foreign_keys(profiles, keys))
    except BaseException:
        reports.submit(quietly=True)  # the tables stored before the failure still get their reports
        raise
    report_job = reports.submit()
    job.progress(len(targets), len(targets), "done")
    if failed:
        names = ", ".join(f"{f['urn']} ({f['error_message']})" for f in failed)
        raise ProfileFailed(f"{len(failed)} of {len(targets)} tables could not be profiled: {names}",
                            code="tables_failed")
    return {"tables": done, "rows": sum(t["rows"] for t in done),
            "anomalies": sum(t["anomalies"] for t in done), "report_job": report_job}
