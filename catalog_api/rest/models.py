"""Response bodies of the REST API (and their conversion from catalog rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from catalog_api.db.models import ChangeLogEntry, Column, DataSource, Job, Schema, Table
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
