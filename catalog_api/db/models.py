"""The catalog repository: DataSource → Schema → Table → Column, with tags, change log, jobs and local secrets.

Alembic migrations under `migrations/` are the only way this schema is created; a test proves that the migrated
database equals these models.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from catalog_api.db.tracing import RequestTraced

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

URN_LENGTH = 2048
NAME_LENGTH = 512


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return str(uuid.uuid4())


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no offset, so without this a value read from the embedded store would come back naive while
    the same value from PostgreSQL carries its zone, and comparisons with aware datetimes would be off.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the catalog; pass an aware (UTC) datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so constraint names are stable across SQLite and PostgreSQL."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UtcDateTime()}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DataSource(Timestamped, Base):
    """A registered source. `config` holds no secret: credentials are references in `secret_refs`."""

    __tablename__ = "data_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    urn: Mapped[str] = mapped_column(String(URN_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secret_refs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lineage_namespace: Mapped[str] = mapped_column(String(1024))
    lineage_name_prefix: Mapped[str] = mapped_column(String(512), default="")
    last_crawled_at: Mapped[datetime | None]
    schedule_cron: Mapped[str | None] = mapped_column(String(255))
    schedule_timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    schedule_paused_at: Mapped[datetime | None]
    schedule_paused_reason: Mapped[str | None] = mapped_column(Text)

    schemas: Mapped[list[Schema]] = relationship(back_populates="source", passive_deletes=True)


class Schema(Timestamped, Base):
    """A namespace of a source. Soft-deleted (`deleted_at`) when it disappears from the source."""

    __tablename__ = "schemas"
    __table_args__ = (UniqueConstraint("source_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("data_sources.id", ondelete="CASCADE"))
    urn: Mapped[str] = mapped_column(String(URN_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    comment: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None]

    source: Mapped[DataSource] = relationship(back_populates="schemas")


class Table(Timestamped, Base):
    """A table, view, materialized view, foreign table or file. `comment` is the source's; `description` is curated."""

    __tablename__ = "tables"
    __table_args__ = (UniqueConstraint("schema_id", "name"), Index(None, "source_id", "deleted_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("data_sources.id", ondelete="CASCADE"))
    schema_id: Mapped[int] = mapped_column(ForeignKey("schemas.id", ondelete="CASCADE"))
    urn: Mapped[str] = mapped_column(String(URN_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    kind: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    view_definition: Mapped[str | None] = mapped_column(Text)
    partition_key: Mapped[str | None] = mapped_column(Text)
    primary_key: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    unique_constraints: Mapped[list[Any]] = mapped_column(default=list)
    foreign_keys: Mapped[list[Any]] = mapped_column(default=list)
    indexes: Mapped[list[Any]] = mapped_column(default=list)
    row_estimate: Mapped[int | None] = mapped_column(BigInteger)
    anomaly_thresholds: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Curated per-table settings of anomaly detection (`profiler.AnomalyThresholds` fields); None: defaults."""
    definition_hash: Mapped[str | None] = mapped_column(String(64))
    last_seen_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class Column(Timestamped, Base):
    """A column of a table. Soft-deleted when it disappears, so its description and history survive."""

    __tablename__ = "columns"
    __table_args__ = (UniqueConstraint("table_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("tables.id", ondelete="CASCADE"))
    urn: Mapped[str] = mapped_column(String(URN_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    ordinal: Mapped[int] = mapped_column(Integer)
    data_type: Mapped[str] = mapped_column(String(512))
    nullable: Mapped[bool] = mapped_column(Boolean, default=True)
    default: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    generated: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None]


class Tag(Base):
    """A tag or classification (e.g. `pii.email`) on any entity, addressed by URN."""

    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("entity_urn", "tag"), Index(None, "tag"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_urn: Mapped[str] = mapped_column(String(URN_LENGTH))
    tag: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChangeLogEntry(Base):
    """One detected change with before/after values: the schema history of every table."""

    __tablename__ = "change_log"
    __table_args__ = (Index(None, "table_id", "detected_at"), Index(None, "source_id", "detected_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("data_sources.id", ondelete="CASCADE"))
    table_id: Mapped[int | None] = mapped_column(ForeignKey("tables.id", ondelete="CASCADE"))
    entity_urn: Mapped[str] = mapped_column(String(URN_LENGTH), index=True)
    change_type: Mapped[str] = mapped_column(String(64))
    before: Mapped[Any | None] = mapped_column(JSON)
    after: Mapped[Any | None] = mapped_column(JSON)
    job_id: Mapped[str | None] = mapped_column(String(36))
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(300))  # Identity.actor; null on rows older than migration 0005


ACTIVE_JOB_STATUSES = ("queued", "running")


class Job(RequestTraced, Base):
    """A crawl (later also extract/profile) job: the single truth about its status, progress, timings and error."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index(None, "source_id", "status"),
        Index(None, "kind", "status"), Index(None, "finished_at"),  # finished_at: retention prunes by it
        # At most one queued-or-running job per (kind, source): the database, not a race, decides.
        Index(
            "uq_jobs_active_per_source", "kind", "source_id", unique=True,
            postgresql_where=text("status IN ('queued', 'running')"),
            sqlite_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("data_sources.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    progress_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(255))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    next_attempt_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    cancel_requested_at: Mapped[datetime | None]
    trigger: Mapped[str] = mapped_column(String(16), default="manual")  # what asked for it: `manual` or `schedule`
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # kind-specific, e.g. the tables an extract reads
    actor: Mapped[str | None] = mapped_column(String(300))  # the requester; null on jobs older than 0005


class ExtractionState(Timestamped, Base):
    """Incremental extraction of one table: the plan override, the durable watermark and where the data landed.

    The watermark moves only after the chunk it covers is durable in the lake (see `crawlers.extract`).
    """

    __tablename__ = "extraction_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("tables.id", ondelete="CASCADE"), unique=True)
    strategy_override: Mapped[str | None] = mapped_column(String(16))
    column_override: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    watermark: Mapped[Any | None] = mapped_column(JSON)
    plan_strategy: Mapped[str | None] = mapped_column(String(16))
    plan_column: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    """The plan the watermark belongs to; a different plan starts again from the beginning."""
    lake_path: Mapped[str | None] = mapped_column(Text)
    last_run_id: Mapped[str | None] = mapped_column(String(128))
    last_job_id: Mapped[str | None] = mapped_column(String(36))
    last_extracted_at: Mapped[datetime | None]
    rows_extracted: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_extracted: Mapped[int] = mapped_column(BigInteger, default=0)


class LocalSecret(Base):
    """A credential the user handed over raw, encrypted with the key from `CATALOG_SECRET_KEY`."""

    __tablename__ = "local_secrets"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- change events ----------------------------------------------------------------------------------------------

# SQLite makes only an INTEGER PRIMARY KEY an auto-incrementing rowid; PostgreSQL gets a bigint identity.
_BigSerial = BigInteger().with_variant(Integer, "sqlite")


class OutboxEvent(Base):
    """One change event written in the same transaction as its change; the relay publishes it at least once.

    `id` is the global order; `source_urn` (the event's partition key) is the unit of ordering: an event that
    waits for a retry holds back the later events of its source. `status` is `pending`, `sent` or `dead`.
    """

    __tablename__ = "event_outbox"
    __table_args__ = (Index(None, "status", "id"), Index(None, "source_urn", "status"), Index(None, "sent_at"))

    id: Mapped[int] = mapped_column(_BigSerial, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    source_urn: Mapped[str] = mapped_column(String(URN_LENGTH))
    type: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(URN_LENGTH))
    event: Mapped[str] = mapped_column(Text)
    """The full CloudEvents JSON, exactly as published."""
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_to: Mapped[list[Any]] = mapped_column(default=list)
    """Publishers that already confirmed the event: a retry skips them."""
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class WebhookSubscriptionRow(Timestamped, Base):
    """Where to POST which events. The signing secret lives in the encrypted local store (`secret_ref`)."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    url: Mapped[str] = mapped_column(Text)
    secret_ref: Mapped[str] = mapped_column(String(300))
    event_types: Mapped[list[Any]] = mapped_column(default=list)
    urn_prefix: Mapped[str] = mapped_column(String(URN_LENGTH), default="")
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class WebhookDeliveryRow(Base):
    """One delivery of one event to one subscription: the subscription's delivery log."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index(None, "subscription_id", "id"), Index(None, "started_at"))

    id: Mapped[int] = mapped_column(_BigSerial, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(36), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    delivered: Mapped[bool] = mapped_column(Boolean)
    attempts: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float] = mapped_column()
    started_at: Mapped[datetime] = mapped_column()


# -- lineage ----------------------------------------------------------------------------------------------------

class LineageEdge(Base):
    """`upstream` feeds `downstream`: dataset to dataset, or column to column when both column names are set.

    Datasets are addressed by URN (not only by table id) so an edge can point at something the catalog has not
    crawled yet (an OpenLineage placeholder, a lake dataset) and still join up once it is crawled; the table ids
    are filled in when known. `edge_key` identifies the edge within its origin (a hash of origin, both ends and
    both columns), so re-recording the same edge refreshes `last_seen_at` instead of duplicating it. Edges are
    soft-deleted: history survives a view that changes or disappears.
    """

    __tablename__ = "lineage_edges"
    __table_args__ = (
        Index(None, "upstream_urn", "deleted_at"),
        Index(None, "downstream_urn", "deleted_at"),
        Index(None, "owner_urn", "origin"),
    )

    id: Mapped[int] = mapped_column(_BigSerial, primary_key=True, autoincrement=True)
    edge_key: Mapped[str] = mapped_column(String(64), unique=True)
    upstream_urn: Mapped[str] = mapped_column(String(URN_LENGTH))
    downstream_urn: Mapped[str] = mapped_column(String(URN_LENGTH))
    upstream_table_id: Mapped[int | None] = mapped_column(ForeignKey("tables.id", ondelete="SET NULL"))
    downstream_table_id: Mapped[int | None] = mapped_column(ForeignKey("tables.id", ondelete="SET NULL"))
    upstream_column: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    downstream_column: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    transformation: Mapped[str | None] = mapped_column(String(16))
    """`identity` or `expression` for column edges; null when unknown."""
    transformations: Mapped[str | None] = mapped_column(Text)  # as OpenLineage reported them (JSON), for the export
    origin: Mapped[str] = mapped_column(String(16))
    """`view_sql`, `openlineage`, `manual` or `extraction`."""
    owner_urn: Mapped[str] = mapped_column(String(URN_LENGTH))
    """What the edge is re-derived from: the view for `view_sql`, the OpenLineage job for `openlineage`, ..."""
    job_id: Mapped[str | None] = mapped_column(String(36))
    run_id: Mapped[str | None] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]


class LineageUnresolved(Base):
    """A reference in a view's definition that lineage could not resolve, and why (never silently dropped)."""

    __tablename__ = "lineage_unresolved"
    __table_args__ = (Index(None, "view_urn"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("data_sources.id", ondelete="CASCADE"))
    view_urn: Mapped[str] = mapped_column(String(URN_LENGTH))
    reference: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class LineageRun(Base):
    """An OpenLineage run as last reported: its job, state and time (the edges point at it by `run_id`)."""

    __tablename__ = "lineage_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), unique=True)
    job_namespace: Mapped[str] = mapped_column(String(1024))
    job_name: Mapped[str] = mapped_column(String(1024))
    state: Mapped[str] = mapped_column(String(16))
    event_time: Mapped[datetime]
    producer: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# -- profiles -----------------------------------------------------------------------------------------------------

class TableProfileRow(Base):
    """One profile run of one table: table-level figures, candidate keys, and where the data was read from.

    Column statistics live in `ColumnProfileRow` (one row per run and column), anomalies in `ProfileAnomalyRow`.
    """

    __tablename__ = "table_profiles"
    __table_args__ = (Index(None, "table_id", "started_at"),)

    id: Mapped[int] = mapped_column(_BigSerial, primary_key=True, autoincrement=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("tables.id", ondelete="CASCADE"))
    job_id: Mapped[str | None] = mapped_column(String(36), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    row_count: Mapped[int] = mapped_column(BigInteger)
    column_count: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    duplicate_rows_estimate: Mapped[int | None] = mapped_column(BigInteger)
    spark_jobs: Mapped[int | None] = mapped_column(Integer)
    read_from: Mapped[str] = mapped_column(String(16))
    """`lake` (Parquet written by extraction) or `source` (read live through the connector)."""
    lake_runs: Mapped[list[Any]] = mapped_column(default=list)
    """The lake runs the data came from, when read from the lake."""
    sample_rows: Mapped[int | None] = mapped_column(Integer)
    """Rows in the bounded sample behind patterns, semantic types and the HTML report."""
    candidate_keys: Mapped[list[Any]] = mapped_column(default=list)
    foreign_keys: Mapped[list[Any]] = mapped_column(default=list)
    """Candidate foreign keys with this table as the child, confirmed or rejected on the data."""
    anomaly_count: Mapped[int] = mapped_column(Integer, default=0)
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """The table-level part of `profiler.TableProfile.to_dict()` (columns are in `column_profiles`)."""


class ColumnProfileRow(Base):
    """One column's statistics in one profile run (`profiler.ColumnProfile.to_dict()`)."""

    __tablename__ = "column_profiles"
    __table_args__ = (UniqueConstraint("table_profile_id", "name"), Index(None, "column_urn", "table_profile_id"))

    id: Mapped[int] = mapped_column(_BigSerial, primary_key=True, autoincrement=True)
    table_profile_id: Mapped[int] = mapped_column(ForeignKey("table_profiles.id", ondelete="CASCADE"))
    column_urn: Mapped[str] = mapped_column(String(URN_LENGTH))
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ProfileAnomalyRow(Base):
    """An anomaly found when a profile was compared with the table's profile history (`profiler.Anomaly`)."""

    __tablename__ = "profile_anomalies"
    __table_args__ = (Index(None, "table_id", "detected_at"),)

    id: Mapped[int] = mapped_column(_BigSerial, primary_key=True, autoincrement=True)
    table_profile_id: Mapped[int] = mapped_column(ForeignKey("table_profiles.id", ondelete="CASCADE"), index=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("tables.id", ondelete="CASCADE"))
    subject_urn: Mapped[str] = mapped_column(String(URN_LENGTH))
    """The column's URN for a column metric, else the table's."""
    column: Mapped[str | None] = mapped_column(String(NAME_LENGTH))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    observed: Mapped[Any | None] = mapped_column(JSON)
    expected: Mapped[Any | None] = mapped_column(JSON)
    expected_min: Mapped[float | None] = mapped_column(Float)
    expected_max: Mapped[float | None] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float)
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProfileReportRow(Base):
    """The ydata-profiling HTML report of a profile run; only the latest few per table are kept."""

    __tablename__ = "profile_reports"

    table_profile_id: Mapped[int] = mapped_column(
        ForeignKey("table_profiles.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
