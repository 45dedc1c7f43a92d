"""Response bodies of the REST API (and their conversion from catalog rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from catalog_api.db.models import ChangeLogEntry, Column, DataSource, Job, Schema, Table
from catalog_api.services.profiling import AnomalyView, ColumnProfileView, ProfileView
from catalog_api.services.sources import ConnectionTestResult


class LineageNaming(BaseModel):
    """How the source's datasets are named in OpenLineage."""

    namespace: str
    name_prefix: str


class ScheduleOut(BaseModel):
    """A source's crawl schedule, when it runs next, and whether the circuit breaker paused it."""

    cron: str | None
    timezone: str
    next_run_at: datetime | None
    paused_at: datetime | None
    paused_reason: str | None
    consecutive_failures: int

    @classmethod
    def of(cls, s: DataSource) -> "ScheduleOut":
        return cls(cron=s.schedule_cron, timezone=s.schedule_timezone,
                   next_run_at=s.next_run_at if not s.schedule_paused_at else None,
                   paused_at=s.schedule_paused_at, paused_reason=s.schedule_paused_reason,
                   consecutive_failures=s.consecutive_failures)


class SourceOut(BaseModel):
    """A registered source. `secret_refs` are references (`env:NAME`, `local:ID`), never secret values."""

    id: int
    urn: str
    name: str
    kind: str
    description: str | None
    config: dict[str, Any]
    secret_refs: dict[str, str]
    lineage: LineageNaming
    schedule: ScheduleOut
    created_at: datetime
    updated_at: datetime
    last_crawled_at: datetime | None

    @classmethod
    def of(cls, s: DataSource) -> "SourceOut":
        return cls(
            id=s.id, urn=s.urn, name=s.name, kind=s.kind, description=s.description, config=s.config,
            secret_refs=s.secret_refs, lineage=LineageNaming(namespace=s.lineage_namespace,
                                                             name_prefix=s.lineage_name_prefix),
            schedule=ScheduleOut.of(s), created_at=s.created_at, updated_at=s.updated_at, last_crawled_at=s.last_crawled_at,
        )


class JobOut(BaseModel):
    """A job record: status, progress, timings, error and result summary."""

    id: str
    kind: str
    source_id: int | None
    status: str
    attempts: int
    progress_done: int
    progress_total: int
    progress_message: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error_code: str | None
    error_message: str | None
    worker: str | None
    result: dict[str, Any] | None
    max_attempts: int
    next_attempt_at: datetime | None
    heartbeat_at: datetime | None
    cancel_requested_at: datetime | None
    trigger: str

    @classmethod
    def of(cls, j: Job) -> "JobOut":
        return cls.model_validate(j, from_attributes=True)


class ConnectionTestOut(BaseModel):
    """The outcome of a connection test."""

    ok: bool
    server: str | None = None
    elapsed_ms: float | None = None
    error_code: str | None = None
    error_message: str | None = None
    error_field: str | None = None

    @classmethod
    def of(cls, r: ConnectionTestResult) -> "ConnectionTestOut":
        return cls.model_validate(r, from_attributes=True)


class ColumnOut(BaseModel):
    """A column as the source defines it, with its curated description and tags."""

    urn: str
    name: str
    ordinal: int
    data_type: str
    nullable: bool
    default: str | None
    comment: str | None
    generated: str | None
    description: str | None
    tags: list[str]
    deleted_at: datetime | None

    @classmethod
    def of(cls, c: Column, tags: list[str]) -> "ColumnOut":
        return cls(
            urn=c.urn, name=c.name, ordinal=c.ordinal, data_type=c.data_type, nullable=c.nullable,
            default=c.default, comment=c.comment, generated=c.generated, description=c.description,
            tags=tags, deleted_at=c.deleted_at,
        )


class TableOut(BaseModel):
    """A table, view or file with its columns, keys and indexes."""

    urn: str
    source: str
    schema_name: str
    name: str
    kind: str
    comment: str | None
    description: str | None
    view_definition: str | None
    partition_key: str | None
    primary_key: dict[str, Any] | None
    unique_constraints: list[dict[str, Any]]
    foreign_keys: list[dict[str, Any]]
    indexes: list[dict[str, Any]]
    row_estimate: int | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    last_seen_at: datetime | None
    deleted_at: datetime | None
    columns: list[ColumnOut]
    links: dict[str, str]

    @classmethod
    def of(cls, t: Table, schema: Schema, source: DataSource, columns: list[ColumnOut], tags: list[str],
           links: dict[str, str]) -> "TableOut":
        return cls(
            urn=t.urn, source=source.name, schema_name=schema.name, name=t.name, kind=t.kind, comment=t.comment,
            description=t.description, view_definition=t.view_definition, partition_key=t.partition_key,
            primary_key=t.primary_key, unique_constraints=t.unique_constraints, foreign_keys=t.foreign_keys,
            indexes=t.indexes, row_estimate=t.row_estimate, tags=tags, created_at=t.created_at,
            updated_at=t.updated_at, last_seen_at=t.last_seen_at, deleted_at=t.deleted_at, columns=columns,
            links=links,
        )


class ChangeOut(BaseModel):
    """One change-log row: what changed, on which entity, from what to what, and when."""

    id: int
    entity_urn: str
    change_type: str
    before: Any
    after: Any
    job_id: str | None
    detected_at: datetime

    @classmethod
    def of(cls, e: ChangeLogEntry) -> "ChangeOut":
        return cls.model_validate(e, from_attributes=True)


class ChangePage(BaseModel):
    """A page of change-log rows, newest first; pass `next_cursor` as `after` for the next page."""

    items: list[ChangeOut]
    total: int
    next_cursor: str | None


class EntityOut(BaseModel):
    """Any entity by URN after a curation call."""

    urn: str
    name: str
    description: str | None
    tags: list[str]


class SearchHitOut(BaseModel):
    """One search result."""

    urn: str
    type: str
    name: str
    description: str | None


class ExtractionOut(BaseModel):
    """How a table is extracted: the plan in force (suggested or overridden) and where its data stands."""

    urn: str
    strategy: str
    column: str | None
    overridden: bool
    watermark: Any
    lake_path: str | None
    last_run_id: str | None
    last_job_id: str | None
    last_extracted_at: datetime | None
    rows_extracted: int
    bytes_extracted: int


class ColumnProfileOut(BaseModel):
    """One column's statistics in one profile run. `stats` holds the profiler's figures (counts, min/max, mean,
    quantiles, histogram, top values, patterns, semantic types); decimals are strings, timestamps ISO 8601."""

    profile_id: int
    column_urn: str
    name: str
    profiled_at: datetime
    stats: dict[str, Any]

    @classmethod
    def of(cls, c: ColumnProfileView) -> "ColumnProfileOut":
        return cls(profile_id=c.profile_id, column_urn=c.column_urn, name=c.name, profiled_at=c.started_at,
                   stats=c.stats)


class AnomalyOut(BaseModel):
    """A departure from a table's profile history: what was observed against the expected range, and how bad."""

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

    @classmethod
    def of(cls, a: AnomalyView) -> "AnomalyOut":
        return cls.model_validate(a, from_attributes=True)


class ProfileSummaryOut(BaseModel):
    """One profile run of a table with its table-level figures (an entry of the profile history)."""

    id: int
    table_urn: str
    job_id: str | None
    started_at: datetime
    finished_at: datetime
    duration_s: float
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
    report_url: str | None

    @classmethod
    def fields_of(cls, p: ProfileView) -> dict[str, Any]:
        report = f"/api/v1/tables/{quote(p.table_urn, safe='')}/profile/report?profile_id={p.id}"
        return dict(
            id=p.id, table_urn=p.table_urn, job_id=p.job_id, started_at=p.started_at, finished_at=p.finished_at,
            duration_s=p.duration_s, row_count=p.row_count, column_count=p.column_count, size_bytes=p.size_bytes,
            duplicate_rows_estimate=p.duplicate_rows_estimate, spark_jobs=p.spark_jobs, read_from=p.read_from,
            lake_runs=p.lake_runs, sample_rows=p.sample_rows, candidate_keys=p.candidate_keys,
            foreign_keys=p.foreign_keys, anomaly_count=p.anomaly_count, has_report=p.has_report,
            report_url=report if p.has_report else None,
        )

    @classmethod
    def of(cls, p: ProfileView) -> "ProfileSummaryOut":
        return cls(**cls.fields_of(p))


class ProfileOut(ProfileSummaryOut):
    """One profile run with every column's statistics and the anomalies it found."""

    columns: list[ColumnProfileOut]
    anomalies: list[AnomalyOut]

    @classmethod
    def of(cls, p: ProfileView) -> "ProfileOut":
        return cls(**cls.fields_of(p), columns=[ColumnProfileOut.of(c) for c in p.columns],
                   anomalies=[AnomalyOut.of(a) for a in p.anomalies])


class AnomalyThresholdsOut(BaseModel):
    """The anomaly-detection settings in force for a table: its own overrides merged over the defaults."""

    urn: str
    thresholds: dict[str, Any]
