"""Profiling tables with the Spark profiler: the `profile` job, profile history, anomalies, PII tags and reports.

A profile job works through a source's tables (or the ones it was given). Each table is read from the lake when
the lake holds the whole table (its newest extraction was a full snapshot, or an append-only key plan since the
last complete read), else live through the source's connector into a temporary Parquet file; Spark then profiles
it in two Spark jobs whatever its width (see `profiler`). Each table's results are committed in one transaction:
the profile and its column rows, the anomalies found against the table's history, the PII tags its values imply,
the HTML report, and the `catalog.profile.completed` / `catalog.anomaly.detected` events. A crash mid-job leaves the
tables already done committed and the others as they were.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsspec.implementations.local import LocalFileSystem
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from catalog_api.db.models import (
    ChangeLogEntry,
    Column,
    ColumnProfileRow,
    DataSource,
    Job,
    ProfileAnomalyRow,
    ProfileReportRow,
    Schema,
    Table,
    TableProfileRow,
    Tag,
)
from catalog_api.errors import CatalogError, InvalidInput, NotFound
from catalog_api.services.browse import entity_by_urn
from catalog_api.services.context import ServiceContext
from catalog_api.services.crawl import table_snapshot
from catalog_api.services.extraction import lake
from catalog_api.services.jobs import JobControl, enqueue_job, job_handler
from catalog_api.services.outbox import record_event
from catalog_api.services.sources import build_connector, check_source_tables, get_source
from catalog_api.urns import EntityType, parse_urn
from crawlers.increment import IncrementPlan, IncrementRequest, IncrementStrategy
from crawlers.lake import Lake, RunManifest
from events.data import AnomalyDetected, ProfileCompleted, TagsChanged
from profiler import (
    AnomalyThresholds,
    InvalidProfileInput,
    ProfilerError,
    SparkConfig,
    TableProfile,
    detect_anomalies,
)

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

    from crawlers.connector import Connector

log = logging.getLogger(__name__)

PROFILE = "profile"
PROFILED_KINDS = ("table", "file", "foreign_table", "materialized_view")
"""Kinds a whole-source profile covers; views are profiled only when asked for by name (each read runs the view)."""


class ProfileFailed(CatalogError):
    """Profiling could not run or finish: no Java runtime, Spark did not start, or tables could not be profiled."""

    status = 500

    def __init__(self, message: str, *, code: str = "profile_failed", field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code


# -- views --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ColumnProfileView:
    """One column's statistics in one profile run, as the API shows them."""

    profile_id: int
    column_urn: str
    name: str
    started_at: datetime
    stats: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AnomalyView:
    """A stored anomaly."""

    id: int
    profile_id: int
    table_urn: str
    subject_urn: str
    column: str | None
    kind: str
    severity: str
    method: str
    message: str
    observed: Any
    expected: Any
    expected_min: float | None
    expected_max: float | None
    score: float | None
    detected_at: datetime


@dataclass(frozen=True, slots=True)
class ProfileView:
    """One profile run of a table; `columns` is filled for a single profile, empty in history lists."""

    id: int
    table_urn: str
    job_id: str | None
    started_at: datetime
    finished_at: datetime
    row_count: int
    column_count: int
    size_bytes: int | None
    duplicate_rows_estimate: int | None
    spark_jobs: int | None
    read_from: str
    lake_runs: list[str]
    sample_rows: int | None
    candidate_keys: list[dict[str, Any]]
    foreign_keys: list[dict[str, Any]]
    anomaly_count: int
    has_report: bool
    columns: list[ColumnProfileView] = field(default_factory=list)
    anomalies: list[AnomalyView] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


def _anomaly_view(row: ProfileAnomalyRow, table_urn: str) -> AnomalyView:
    return AnomalyView(
        id=row.id, profile_id=row.table_profile_id, table_urn=table_urn, subject_urn=row.subject_urn,
        column=row.column, kind=row.kind, severity=row.severity, method=row.method, message=row.message,
        observed=row.observed, expected=row.expected, expected_min=row.expected_min, expected_max=row.expected_max,
        score=row.score, detected_at=row.detected_at)


def _profile_views(session: Session, rows: list[TableProfileRow], *, detailed: bool) -> list[ProfileView]:
    """Views of profile runs of any tables, in a fixed number of queries however many runs (for lists and
    DataLoaders). `detailed` adds each run's column statistics and anomalies."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    reported = _reported(session, ids)
    urns = dict(session.execute(select(Table.id, Table.urn).where(Table.id.in_({row.table_id for row in rows}))).all())
    columns: dict[int, list[ColumnProfileRow]] = defaultdict(list)
    anomalies: dict[int, list[ProfileAnomalyRow]] = defaultdict(list)
    if detailed:
        for c in session.scalars(select(ColumnProfileRow).where(ColumnProfileRow.table_profile_id.in_(ids))
                                 .order_by(ColumnProfileRow.id)):
            columns[c.table_profile_id].append(c)
        for a in session.scalars(select(ProfileAnomalyRow).where(ProfileAnomalyRow.table_profile_id.in_(ids))
                                 .order_by(ProfileAnomalyRow.id)):
            anomalies[a.table_profile_id].append(a)
    return [ProfileView(
        id=row.id, table_urn=urns[row.table_id], job_id=row.job_id, started_at=row.started_at,
        finished_at=row.finished_at, row_count=row.row_count, column_count=row.column_count,
        size_bytes=row.size_bytes, duplicate_rows_estimate=row.duplicate_rows_estimate, spark_jobs=row.spark_jobs,
        read_from=row.read_from, lake_runs=list(row.lake_runs or []), sample_rows=row.sample_rows,
        candidate_keys=list(row.candidate_keys), foreign_keys=list(row.foreign_keys),
        anomaly_count=row.anomaly_count, has_report=reported[row.id],
        columns=[ColumnProfileView(row.id, c.column_urn, c.name, row.started_at, c.stats) for c in columns[row.id]],
        anomalies=[_anomaly_view(a, urns[row.table_id]) for a in anomalies[row.id]],
    ) for row in rows]


def _reported(session: Session, profile_ids: list[int]) -> dict[int, bool]:
    """Which of these profile runs still keep an HTML report, in one query (the HTML itself is not loaded)."""
    found = set(session.scalars(select(ProfileReportRow.table_profile_id)
                                .where(ProfileReportRow.table_profile_id.in_(profile_ids))))
    return {pid: pid in found for pid in profile_ids}


def _check_limit(limit: int, most: int = 500) -> None:
    if not 1 <= limit <= most:
        raise InvalidInput("limit", f"between 1 and {most}")


def latest_profile(ctx: ServiceContext, urn: str) -> ProfileView | None:
    """The newest profile of a table with its column statistics and anomalies; None before the first profile."""
    with ctx.db.session() as session:
        table = entity_by_urn(session, urn, expected=EntityType.DATASET)
        return _latest_profiles(session, [table.id]).get(table.id)


def latest_profiles(ctx: ServiceContext, table_ids: list[int]) -> dict[int, ProfileView]:
    """The newest profile of each of the given tables (by id), detailed, in a fixed number of queries; tables never
    profiled are left out."""
    if not table_ids:
        return {}
    with ctx.db.session() as session:
        return _latest_profiles(session, table_ids)


def _latest_profiles(session: Session, table_ids: list[int]) -> dict[int, ProfileView]:
    newest_first = (TableProfileRow.started_at.desc(), TableProfileRow.id.desc())
    ranked = (select(TableProfileRow.id, func.row_number().over(
        partition_by=TableProfileRow.table_id, order_by=newest_first).label("position"))
        .where(TableProfileRow.table_id.in_(set(table_ids))).subquery())
    rows = list(session.scalars(select(TableProfileRow).join(ranked, ranked.c.id == TableProfileRow.id)
                                .where(ranked.c.position == 1)))
    return {row.table_id: view for row, view in zip(rows, _profile_views(session, rows, detailed=True),
                                                    strict=True)}


def get_profile(ctx: ServiceContext, profile_id: int) -> ProfileView:
    """One profile run by id, with its column statistics and anomalies."""
    with ctx.db.session() as session:
        row = session.get(TableProfileRow, profile_id)
        if row is None:
            raise NotFound(f"no profile with id {profile_id}", field="id")
        return _profile_views(session, [row], detailed=True)[0]


def profile_history(ctx: ServiceContext, urn: str, *, limit: int = 50) -> list[ProfileView]:
    """A table's profile runs, newest first (table-level figures only)."""
    _check_limit(limit)
    with ctx.db.session() as session:
        table = entity_by_urn(session, urn, expected=EntityType.DATASET)
        rows = list(session.scalars(select(TableProfileRow).where(TableProfileRow.table_id == table.id)
                                    .order_by(TableProfileRow.started_at.desc(), TableProfileRow.id.desc())
                                    .limit(limit)))
        return _profile_views(session, rows, detailed=False)


def column_profile_history(ctx: ServiceContext, urn: str, *, limit: int = 50) -> list[ColumnProfileView]:
    """A column's statistics in each profile run that covered it, newest first."""
    _check_limit(limit)
    with ctx.db.session() as session:
        column = entity_by_urn(session, urn, expected=EntityType.COLUMN)
        rows = session.execute(
            select(ColumnProfileRow, TableProfileRow.started_at)
            .join(TableProfileRow, TableProfileRow.id == ColumnProfileRow.table_profile_id)
            .where(ColumnProfileRow.column_urn == column.urn)
            .order_by(TableProfileRow.started_at.desc(), TableProfileRow.id.desc()).limit(limit)
        ).all()
        return [ColumnProfileView(r.table_profile_id, r.column_urn, r.name, started, r.stats) for r, started in rows]


def latest_column_profiles(ctx: ServiceContext, column_urns: list[str]) -> dict[str, ColumnProfileView]:
    """The newest statistics of each of the given columns (one query, for DataLoaders)."""
    if not column_urns:
        return {}
    with ctx.db.session() as session:
        rows = session.execute(
            select(ColumnProfileRow, TableProfileRow.started_at)
            .join(TableProfileRow, TableProfileRow.id == ColumnProfileRow.table_profile_id)
            .where(ColumnProfileRow.column_urn.in_(column_urns))
            .order_by(TableProfileRow.started_at.desc(), TableProfileRow.id.desc())
        ).all()
    found: dict[str, ColumnProfileView] = {}
    for r, started in rows:
        found.setdefault(r.column_urn, ColumnProfileView(r.table_profile_id, r.column_urn, r.name, started, r.stats))
    return found


def list_anomalies(ctx: ServiceContext, *, table_urn: str | None = None, source_ref: int | str | None = None,
                   severity: str | None = None, limit: int = 100) -> list[AnomalyView]:
    """Stored anomalies, newest first, of one table, of one source, or of the whole catalog."""
    _check_limit(limit, 1000)
    if severity is not None and severity not in ("warning", "critical"):
        raise InvalidInput("severity", "warning or critical")
    with ctx.db.session() as session:
        query = (select(ProfileAnomalyRow, Table.urn).join(Table, Table.id == ProfileAnomalyRow.table_id)
                 .order_by(ProfileAnomalyRow.detected_at.desc(), ProfileAnomalyRow.id.desc()).limit(limit))
        if table_urn is not None:
            table = entity_by_urn(session, table_urn, field="table", expected=EntityType.DATASET)
            query = query.where(ProfileAnomalyRow.table_id == table.id)
        if source_ref is not None:
            query = query.where(Table.source_id == get_source(ctx, source_ref, session).id)
        if severity is not None:
            query = query.where(ProfileAnomalyRow.severity == severity)
        return [_anomaly_view(row, urn) for row, urn in session.execute(query).all()]


def profile_report(ctx: ServiceContext, urn: str, profile_id: int | None = None) -> str:
    """The HTML report of the table's newest profile that has one (or of the given profile)."""
    with ctx.db.session() as session:
        table = entity_by_urn(session, urn, expected=EntityType.DATASET)
        query = (select(ProfileReportRow.html).join(TableProfileRow,
                                                    TableProfileRow.id == ProfileReportRow.table_profile_id)
                 .where(TableProfileRow.table_id == table.id)
                 .order_by(TableProfileRow.started_at.desc(), TableProfileRow.id.desc()))
        if profile_id is not None:
            query = query.where(TableProfileRow.id == profile_id)
        html = session.scalars(query).first()
    if html is None:
        which = f"profile {profile_id} of {urn}" if profile_id is not None else urn
        raise NotFound(f"no HTML report for {which}: profile the table first (reports are kept for the newest "
                       f"{ctx.settings.profile_reports_kept} profiles)", field="urn")
    return html


def get_anomaly_thresholds(ctx: ServiceContext, urn: str) -> dict[str, Any]:
    """The table's own anomaly settings merged over the defaults, as JSON."""
    with ctx.db.session() as session:
        table = entity_by_urn(session, urn, expected=EntityType.DATASET)
        return _thresholds_json(_thresholds(table))


def set_anomaly_thresholds(ctx: ServiceContext, urn: str, overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Replaces the table's anomaly settings (None or {} goes back to the defaults); returns the settings in force."""
    try:
        thresholds = AnomalyThresholds.from_mapping(overrides or {})
    except (InvalidProfileInput, TypeError) as error:
        name = getattr(error, "field", None) or "thresholds"
        raise InvalidInput(f"thresholds.{name}" if name != "thresholds" else name,
                           getattr(error, "message", None) or str(error)) from None
    with ctx.db.session() as session:
        table = entity_by_urn(session, urn, expected=EntityType.DATASET)
        table.anomaly_thresholds = dict(overrides) if overrides else None
    return _thresholds_json(thresholds)


def _thresholds(table: Table) -> AnomalyThresholds:
    return AnomalyThresholds.from_mapping(table.anomaly_thresholds or {})


def _thresholds_json(t: AnomalyThresholds) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in t.__dataclass_fields__:
        value = getattr(t, name)
        if isinstance(value, frozenset):
            value = sorted(str(getattr(v, "value", v)) for v in value)
        out[name] = value
    return out


# -- requesting ---------------------------------------------------------------------------------------------------

def request_profile(ctx: ServiceContext, source_ref: int | str, table_urns: list[str] | None = None) -> Job:
    """Queues a profile of the source's tables (or of the given tables and views), or returns the active one."""
    with ctx.db.session() as session:
        source = get_source(ctx, source_ref, session)
        check_source_tables(session, source, table_urns)
        source_id = source.id
    return enqueue_job(ctx, PROFILE, source_id, params={"tables": list(table_urns)} if table_urns else None)


def request_table_profile(ctx: ServiceContext, urn: str) -> Job:
    """Queues a profile of one table (or view)."""
    with ctx.db.session() as session:
        source_id = entity_by_urn(session, urn, expected=EntityType.DATASET).source_id
    return request_profile(ctx, source_id, [urn])


# -- reading a table ----------------------------------------------------------------------------------------------

def spark_config(ctx: ServiceContext) -> SparkConfig:
    settings = ctx.settings
    try:
        return SparkConfig(master=settings.spark_master, driver_memory=settings.spark_driver_memory,
                           extra_conf=dict(settings.spark_conf))
    except InvalidProfileInput as error:
        raise ProfileFailed(f"invalid Spark settings: {error.message}", code="invalid_settings",
                            field=f"spark_{error.field}" if error.field else None) from None


def complete_lake_runs(runs: list[RunManifest]) -> list[RunManifest] | None:
    """The committed runs that together hold the whole table, or None when the lake cannot say.

    A full snapshot holds the table as it was; an append-only key plan holds it as the runs since the last complete
    read (a full run or a first run without a watermark). A timestamp plan brings updated rows again, so its runs
    are a change history, not the table.
    """
    if not runs:
        return None
    newest = runs[-1]
    if newest.strategy == IncrementStrategy.FULL:
        return [newest]
    if newest.strategy != IncrementStrategy.KEY:
        return None
    start = max((i for i, run in enumerate(runs)
                 if run.strategy == IncrementStrategy.FULL or run.watermark_from is None), default=None)
    if start is None:
        return None
    window = runs[start:]
    if any(run.strategy not in (IncrementStrategy.FULL, IncrementStrategy.KEY) for run in window):
        return None
    if any(run.strategy == IncrementStrategy.FULL for run in window[1:]):
        return None
    return window


@dataclass
class _Target:
    """One table a job profiles, with what is needed to read it once the catalog session is closed."""

    table_id: int
    urn: str
    schema: str
    name: str
    request: IncrementRequest
    declared_keys: list[tuple[str, ...]]
    thresholds: AnomalyThresholds


@dataclass
class _Read:
    frame: DataFrame
    """The same files as a Spark DataFrame, for the key checks."""
    files: list[str]
    read_from: str
    lake_runs: list[str]
    size_bytes: int | None


def _read_lake(spark: SparkSession, target_lake: Lake, runs: list[RunManifest], workdir: Path) -> _Read:
    files = [chunk.path for run in runs for chunk in run.chunks]
    size = sum(run.bytes for run in runs)
    if not isinstance(target_lake.fs, LocalFileSystem):
        # Spark here carries no object-store connector; copy the (already compressed) files next to it.
        local = []
        for index, path in enumerate(files):
            destination = workdir / f"lake-{index:05d}.parquet"
            target_lake.fs.get(path, str(destination))
            local.append(str(destination))
        files = local
    frame = spark.read.option("mergeSchema", "true").parquet(*files)
    return _Read(frame, files, "lake", [run.run_id for run in runs], size)


def _read_source(spark: SparkSession, connector: Connector, target: _Target, workdir: Path) -> _Read:
    """Streams the table through its connector into a local Parquet file, so Spark reads it like lake data and a
    large table never has to fit in the driver's memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = workdir / "source.parquet"
    writer: pq.ParquetWriter | None = None
    try:
        for batch in connector.read_increment(target.request):
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema, compression="zstd")
            writer.write_batch(batch)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        # No batch at all: an empty table whose types the connector did not tell; the profile still says 0 rows.
        empty = pa.table({c.name: pa.array([], pa.string()) for c in target.request.table.columns})
        pq.write_table(empty, path)
    frame = spark.read.parquet(str(path))
    return _Read(frame, [str(path)], "source", [], path.stat().st_size)


# -- the job ------------------------------------------------------------------------------------------------------

@contextmanager
def _workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="catalog-profile-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _targets(session: Session, source: DataSource, wanted: set[str]) -> list[_Target]:
    query = (select(Table, Schema.name).join(Schema, Schema.id == Table.schema_id)
             .where(Table.source_id == source.id, Table.deleted_at.is_(None)).order_by(Schema.name, Table.name))
    targets = []
    for table, schema in session.execute(query).all():
        if wanted and table.urn not in wanted:
            continue
        if not wanted and table.kind not in PROFILED_KINDS:
            continue
        columns = session.scalars(select(Column).where(Column.table_id == table.id, Column.deleted_at.is_(None)))
        snapshot = table_snapshot(schema, table, columns)
        declared = [tuple(snapshot.primary_key.columns)] if snapshot.primary_key else []
        declared += [tuple(u.columns) for u in snapshot.unique_constraints]
        targets.append(_Target(
            table.id, table.urn, schema, table.name,
            IncrementRequest(snapshot, IncrementPlan(IncrementStrategy.FULL, None), None),
            list(dict.fromkeys(declared)), _thresholds(table)))
    return targets


def _spark(ctx: ServiceContext) -> SparkSession:
    from profiler import get_spark

    try:
        return get_spark(spark_config(ctx))
    except ProfilerError as error:
        raise ProfileFailed(error.message, code=error.code, field=error.field) from error


@job_handler(PROFILE)
def run_profile_job(ctx: ServiceContext, job: JobControl) -> dict[str, Any]:
    from profiler import ProfileOptions, candidate_foreign_keys, candidate_primary_keys, profile_parquet

    with ctx.db.session() as session:
        record = session.get(Job, job.job_id)
        source = session.get(DataSource, record.source_id)
        targets = _targets(session, source, set((record.params or {}).get("tables") or []))
        connector = build_connector(ctx, session, source)
        source_name, source_urn = source.name, source.urn
    job.progress(0, len(targets), "starting Spark")
    spark = _spark(ctx)
    options = ProfileOptions(sample_rows=ctx.settings.profile_sample_rows)
    target_lake = lake(ctx)
    mode = ctx.settings.profile_read_from
    done: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    frames: dict[str, DataFrame] = {}
    profiles: dict[str, TableProfile] = {}
    keys: dict[str, list[Any]] = {}
    row_ids: dict[str, int] = {}
    with _workdir() as workdir:
        for index, target in enumerate(targets):
            job.progress(index, len(targets), f"profiling {target.schema}.{target.name}")
            tabledir = workdir / f"t{index}"
            tabledir.mkdir()
            try:
                runs = None
                if mode != "source":
                    runs = complete_lake_runs(target_lake.committed_runs(source_name, target.schema, target.name))
                    if runs is None and mode == "lake":
                        raise ProfileFailed(f"the lake does not hold the whole of {target.schema}.{target.name}: "
                                            "extract it with a full or key plan first", code="not_in_lake")
                read = (_read_lake(spark, target_lake, runs, tabledir) if runs
                        else _read_source(spark, connector, target, tabledir))
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
            report = _render(ctx, sample, f"{source_name}.{target.schema}.{target.name}")
            profile_id, anomalies = _store(ctx, job.job_id, target, profile, read, primary, report, source_urn)
            frames[target.urn], profiles[target.urn], keys[target.urn] = read.frame, profile, primary
            row_ids[target.urn] = profile_id
            done.append({"urn": target.urn, "profile_id": profile_id, "rows": profile.row_count,
                         "columns": len(profile.columns), "read_from": read.read_from,
                         "spark_jobs": profile.spark_jobs, "anomalies": anomalies})
        if len(frames) > 1:
            job.progress(len(targets), len(targets), "looking for foreign keys")
            found = candidate_foreign_keys(frames, profiles, parent_keys=keys, include_rejected=True)
            _store_foreign_keys(ctx, row_ids, found)
    job.progress(len(targets), len(targets), "done")
    if failed:
        names = ", ".join(f"{f['urn']} ({f['error_message']})" for f in failed)
        raise ProfileFailed(f"{len(failed)} of {len(targets)} tables could not be profiled: {names}",
                            code="tables_failed")
    return {"tables": done, "rows": sum(t["rows"] for t in done),
            "anomalies": sum(t["anomalies"] for t in done)}


def _render(ctx: ServiceContext, sample: pd.DataFrame, title: str) -> str | None:
    if not ctx.settings.profile_reports_enabled:
        return None
    from profiler import render_report

    try:
        return render_report(sample, title, max_rows=max(1, ctx.settings.profile_sample_rows))
    except Exception:  # a report is a convenience: its failure must not lose the profile
        log.warning("HTML report of %s failed", title, exc_info=True)
        return None


def _schema_changes(session: Session, table_id: int, since: datetime | None) -> list[dict[str, Any]]:
    """The table's change-log entries since its previous profile, as `detect_anomalies` takes them."""
    if since is None:
        return []
    entries = session.scalars(select(ChangeLogEntry).where(ChangeLogEntry.table_id == table_id,
                                                           ChangeLogEntry.detected_at > since)
                              .order_by(ChangeLogEntry.detected_at, ChangeLogEntry.id))
    changes = []
    for entry in entries:
        urn = parse_urn(entry.entity_urn)
        column = urn.names[-1] if urn.type is EntityType.COLUMN else None
        changes.append({"change_type": entry.change_type, "column": column, "before": entry.before,
                        "after": entry.after})
    return changes


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _store(ctx: ServiceContext, job_id: str, target: _Target, profile: TableProfile, read: _Read,
           primary: list[Any], report: str | None, source_urn: str) -> tuple[int, int]:
    """Everything one table's profile produces, in one transaction. Returns (profile id, anomaly count)."""
    from profiler.model import to_json_value

    with ctx.db.session() as session:
        table = session.get(Table, target.table_id)
        columns = {c.name: c.urn for c in session.scalars(
            select(Column).where(Column.table_id == table.id, Column.deleted_at.is_(None)))}
        history_rows = list(session.scalars(
            select(TableProfileRow).where(TableProfileRow.table_id == table.id)
            .order_by(TableProfileRow.started_at.desc(), TableProfileRow.id.desc())
            .limit(ctx.settings.profile_history)))
        history = [_restore(session, row) for row in history_rows]
        since = history_rows[0].started_at if history_rows else None
        anomalies = detect_anomalies(history, profile,
                                     schema_changes=_schema_changes(session, table.id, since),
                                     thresholds=target.thresholds)
        table_part = profile.to_dict()
        table_part.pop("columns", None)
        row = TableProfileRow(
            table_id=table.id, job_id=job_id, started_at=profile.started_at, finished_at=profile.finished_at,
            row_count=profile.row_count, column_count=len(profile.columns), size_bytes=profile.size_bytes,
            duplicate_rows_estimate=profile.duplicate_rows_estimate, spark_jobs=profile.spark_jobs,
            read_from=read.read_from, lake_runs=read.lake_runs,
            sample_rows=profile.sample.rows if profile.sample else None,
            candidate_keys=[k.to_dict() for k in primary], foreign_keys=[], anomaly_count=len(anomalies),
            profile=table_part)
        session.add(row)
        session.flush()
        session.add_all(ColumnProfileRow(table_profile_id=row.id, name=c.name, stats=c.to_dict(),
                                         column_urn=columns.get(c.name, f"{table.urn}#{c.name}"))
                        for c in profile.columns)
        if report is not None:
            session.add(ProfileReportRow(table_profile_id=row.id, html=report))
            session.flush()
            with_reports = session.scalars(
                select(ProfileReportRow.table_profile_id)
                .join(TableProfileRow, TableProfileRow.id == ProfileReportRow.table_profile_id)
                .where(TableProfileRow.table_id == table.id)
                .order_by(TableProfileRow.started_at.desc(), TableProfileRow.id.desc())).all()
            older = with_reports[ctx.settings.profile_reports_kept:]
            if older:
                session.execute(delete(ProfileReportRow).where(ProfileReportRow.table_profile_id.in_(older)))
        record_event(session, ProfileCompleted(
            job_id=job_id, row_count=profile.row_count, column_count=len(profile.columns), sampled=False,
            profiled_at=profile.started_at, anomaly_count=len(anomalies)), table.urn, time=profile.finished_at)
        for anomaly in anomalies:
            column_urn = columns.get(anomaly.column) if anomaly.column else None
            subject = column_urn or table.urn
            session.add(ProfileAnomalyRow(
                table_profile_id=row.id, table_id=table.id, subject_urn=subject, column=anomaly.column,
                kind=anomaly.kind.value, severity=anomaly.severity, method=anomaly.method, message=anomaly.message,
                observed=to_json_value(anomaly.observed), expected=to_json_value(anomaly.expected),
                expected_min=_float(anomaly.expected_min), expected_max=_float(anomaly.expected_max),
                score=_float(anomaly.score), detected_at=profile.finished_at))
            record_event(session, AnomalyDetected(
                dataset=table.urn, column=anomaly.column, metric=anomaly.kind.value,
                observed=_float(anomaly.observed), expected_min=_float(anomaly.expected_min),
                expected_max=_float(anomaly.expected_max), severity=anomaly.severity, message=anomaly.message,
                job_id=job_id), subject, time=profile.finished_at)
        _apply_detected_tags(session, profile, columns)
        return row.id, len(anomalies)


def _apply_detected_tags(session: Session, profile: TableProfile, columns: dict[str, str]) -> None:
    """Adds the classification tags the profile detected (e.g. `pii.email`) to its columns.

    Detected tags are only ever added: removing one is a curator's decision, and a later profile that no longer
    sees the pattern (a sample without emails, say) must not undo what a person confirmed.
    """
    for column in profile.columns:
        urn = columns.get(column.name)
        if urn is None or not column.tags:
            continue
        current = set(session.scalars(select(Tag.tag).where(Tag.entity_urn == urn)))
        new = sorted(set(column.tags) - current)
        if not new:
            continue
        session.add_all(Tag(entity_urn=urn, tag=t) for t in new)
        record_event(session, TagsChanged.between("column", current, current | set(new)), urn)


def _restore(session: Session, row: TableProfileRow) -> TableProfile:
    data = dict(row.profile)
    data["columns"] = [c.stats for c in session.scalars(
        select(ColumnProfileRow).where(ColumnProfileRow.table_profile_id == row.id).order_by(ColumnProfileRow.id))]
    return TableProfile.from_dict(data)


def _store_foreign_keys(ctx: ServiceContext, row_ids: dict[str, int], found: list[Any]) -> None:
    by_child: dict[str, list[dict[str, Any]]] = {}
    for candidate in found:
        by_child.setdefault(candidate.child_table, []).append(candidate.to_dict())
    with ctx.db.session() as session:
        for urn, profile_id in row_ids.items():
            session.get(TableProfileRow, profile_id).foreign_keys = by_child.get(urn, [])


__all__ = [
    "PROFILE",
    "AnomalyView",
    "ColumnProfileView",
    "ProfileFailed",
    "ProfileView",
    "column_profile_history",
    "complete_lake_runs",
    "get_anomaly_thresholds",
    "get_profile",
    "latest_column_profiles",
    "latest_profile",
    "list_anomalies",
    "profile_history",
    "profile_report",
    "request_profile",
    "request_table_profile",
    "set_anomaly_thresholds",
    "spark_config",
]
