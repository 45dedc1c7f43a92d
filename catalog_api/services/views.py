"""What callers see of the catalog's entities: immutable views of sources, schemas, tables, columns, changes and
jobs, built from the stored rows here and nowhere else.

Services return these views, never ORM rows; REST bodies and GraphQL types are derived from them generically
(`catalog_api.rest.models.rest_model`, `catalog_api.graphql.views.graphql_type` and `FromView`). A rule that shapes
what a caller sees (a schedule's next run hidden while it is paused, the links of a table) is applied once, in a
builder below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from operator import attrgetter
from typing import Any, TypeVar
from urllib.parse import quote

from catalog_api.db.models import ChangeLogEntry, Column, DataSource, Job, Schema, Table
from catalog_api.db.reported import ReportedColumn, ReportedDataset
from catalog_api.urns import column_urn, escape, parse_urn

V = TypeVar("V")


@cache
def _field_names(view: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(view))


@cache
def _reader(view: type) -> Callable[[Any], tuple[Any, ...]]:
    names = _field_names(view)
    get = attrgetter(*names)
    return get if len(names) > 1 else (lambda row: (get(row),))


def from_row(view: type[V], row: Any, **extra: Any) -> V:
    """The view of `row`: each of the view's fields read from the row's attribute of the same name, unless given."""
    if not extra:  # the hot path of every page: one C-level attribute read per field
        return view(*_reader(view)(row))
    return view(**{name: extra[name] if name in extra else getattr(row, name) for name in _field_names(view)})


def _nested(part: str, name: str) -> property:
    """A read-only attribute that shows `self.<part>.<name>` one level up."""
    return property(lambda self: getattr(getattr(self, part), name), doc=f"`{part}.{name}`")


MAX_ID = 2**53 - 1
"""The largest id the API takes: exact in every JSON client (JavaScript's largest safe integer), and far inside the
64-bit columns of SQLite and PostgreSQL, which cannot even compare a number past 2^63 - 1. A larger one names
nothing."""


@dataclass(frozen=True, slots=True)
class ScheduleView:
    """A source's crawl schedule; `next_run_at` is None while the circuit breaker keeps it paused."""

    cron: str | None
    timezone: str
    next_run_at: datetime | None
    paused_at: datetime | None
    paused_reason: str | None
    consecutive_failures: int


@dataclass(frozen=True, slots=True)
class LineageNamingView:
    """How a source's datasets are named in OpenLineage."""

    namespace: str
    name_prefix: str


@dataclass(frozen=True, slots=True)
class SourceView:
    """A registered source. `secret_refs` are references (`env:NAME`, `keyvault:NAME[/VERSION]`, `local:ID`), never
    secret values."""

    id: int
    urn: str
    name: str
    kind: str
    description: str | None
    config: dict[str, Any]
    secret_refs: dict[str, str]
    lineage: LineageNamingView
    schedule: ScheduleView
    created_at: datetime
    updated_at: datetime
    last_crawled_at: datetime | None

    # The schedule and lineage naming flattened, as GraphQL's `Source` shows them.
    lineage_namespace = _nested("lineage", "namespace")
    lineage_name_prefix = _nested("lineage", "name_prefix")
    schedule_cron = _nested("schedule", "cron")
    schedule_timezone = _nested("schedule", "timezone")
    next_run_at = _nested("schedule", "next_run_at")
    schedule_paused_at = _nested("schedule", "paused_at")
    schedule_paused_reason = _nested("schedule", "paused_reason")
    consecutive_failures = _nested("schedule", "consecutive_failures")


def source_view(row: DataSource) -> SourceView:
    schedule = ScheduleView(
        cron=row.schedule_cron, timezone=row.schedule_timezone,
        next_run_at=row.next_run_at if row.schedule_paused_at is None else None,
        paused_at=row.schedule_paused_at, paused_reason=row.schedule_paused_reason,
        consecutive_failures=row.consecutive_failures)
    return from_row(SourceView, row, schedule=schedule,
                    lineage=LineageNamingView(row.lineage_namespace, row.lineage_name_prefix))


@dataclass(frozen=True, slots=True)
class SchemaView:
    """A namespace of a source; `deleted_at` is set once it disappeared from the source."""

    id: int
    urn: str
    name: str
    comment: str | None
    description: str | None
    deleted_at: datetime | None
    source_id: int


@dataclass(frozen=True, slots=True)
class TableView:
    """A table, view, materialized view, foreign table or file. `comment` is the source's own."""

    id: int
    urn: str
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
    created_at: datetime
    updated_at: datetime
    last_seen_at: datetime | None
    deleted_at: datetime | None
    schema_id: int
    source_id: int


@dataclass(frozen=True, slots=True)
class ColumnView:
    """A column as the source defines it, with its curated description."""

    id: int
    urn: str
    name: str
    ordinal: int
    data_type: str
    nullable: bool
    default: str | None
    comment: str | None
    generated: str | None
    description: str | None
    deleted_at: datetime | None
    table_id: int


def schema_view(row: Schema) -> SchemaView:
    return from_row(SchemaView, row)


def table_view(row: Table) -> TableView:
    return from_row(TableView, row)


def column_view(row: Column) -> ColumnView:
    return from_row(ColumnView, row)


_ENTITY_VIEWS = {DataSource: source_view, Schema: schema_view, Table: table_view, Column: column_view}
ROW_VIEWS: dict[type, type] = {Schema: SchemaView, Table: TableView, Column: ColumnView}
"""Entities whose view is exactly some of their columns, so a read can select the view directly."""


def view_columns(view: type, model: type) -> list[Any]:
    """The model's columns that hold the view's fields, in the view's order: `view(*row)` of a row selecting them."""
    return [getattr(model, name) for name in _field_names(view)]


def entity_view(row: DataSource | Schema | Table | Column) -> EntityView:
    """The view of any catalog entity row."""
    return _ENTITY_VIEWS[type(row)](row)


@dataclass(frozen=True, slots=True)
class TaggedColumnView:
    """A column with its tags, as a table's detail lists it."""

    urn: str
    name: str
    ordinal: int
    data_type: str | None
    """Null only on a reported column whose reporter gave no type."""
    nullable: bool | None
    """Null on a reported column: OpenLineage does not report nullability."""
    default: str | None
    comment: str | None
    generated: str | None
    description: str | None
    tags: list[str]
    deleted_at: datetime | None


@dataclass(frozen=True, slots=True)
class AnomalyHealthView:
    """The anomalies of a table's latest profile (those still standing: an earlier profile's are superseded), how
    many are critical, and when that profile ran; `profiled_at` null: never profiled."""

    open: int
    critical: int
    profiled_at: datetime | None


@dataclass(frozen=True, slots=True)
class FreshnessHealthView:
    """Whether a table's data is fresh by its freshness rules (docs/quality.md): `fresh`, `stale`, `error` (the check
    could not run), `not_evaluated` (a rule on a column, not checked yet) or `no_sla` (no freshness rule). With
    several rules, the worst one's; a rule on the last extraction with no result yet is judged on the spot."""

    status: str
    rule: str | None
    max_age: str | None
    checked_at: datetime | None
    """When the rule's result was recorded (null when judged on the spot or never checked)."""
    last_extracted_at: datetime | None


@dataclass(frozen=True, slots=True)
class TableHealthView:
    """A table's health: its quality rules by their latest results (`failing_errors` and `failing_warnings` count rules
    whose latest result failed, by severity; `worst_failing_severity` is the worst of them, null when none fails;
    `not_evaluated` those with no result yet), the open anomalies of its latest profile, and its freshness."""

    table_urn: str
    rules: int
    passing: int
    failing_errors: int
    failing_warnings: int
    errored: int
    not_evaluated: int
    failing_rules: list[str]
    last_evaluated_at: datetime | None
    worst_failing_severity: str | None
    anomalies: AnomalyHealthView
    freshness: FreshnessHealthView


@dataclass(frozen=True, slots=True)
class TableDetailView:
    """A table with its source and schema names, its columns and tags, and the links to everything about it."""

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
    columns: list[TaggedColumnView]
    links: dict[str, str]
    origin: str
    """`crawled`, or `reported`: the catalog has not crawled the table and knows its columns from OpenLineage."""
    reported: ReportedOriginView | None
    """Who reported the columns of a `reported` table; null on a crawled one."""
    quality_health: TableHealthView | None = None
    """The crawled table's health (rules, anomalies, freshness); null on a reported one."""


def table_link(urn: str) -> str:
    """The table's own address in the API."""
    return f"/api/v1/tables/{quote(urn, safe='')}"


def table_links(urn: str, *, crawled: bool = True) -> dict[str, str]:
    """Where everything about a table lives in the API and the UI (a reported table has no history, extraction or
    profile: those are about crawled tables)."""
    encoded = quote(urn, safe="")
    links = {"self": table_link(urn), "lineage": f"/api/v1/lineage?urn={encoded}",
             "lineage_viewer": f"/ui/lineage?urn={encoded}"}
    if crawled:
        links |= {"changes": f"/api/v1/tables/{encoded}/changes", "extraction": f"/api/v1/tables/{encoded}/extraction",
                  "profile": f"/api/v1/tables/{encoded}/profile", "report": f"/api/v1/tables/{encoded}/profile/report"}
    return links


def table_detail_view(table: Table, schema: Schema, source: DataSource, columns: list[Column],
                      tags: dict[str, list[str]]) -> TableDetailView:
    tagged = [from_row(TaggedColumnView, c, tags=tags[c.urn]) for c in columns]
    return from_row(TableDetailView, table, source=source.name, schema_name=schema.name, tags=tags[table.urn],
                    columns=tagged, links=table_links(table.urn), origin="crawled", reported=None,
                    quality_health=None)


# -- reported datasets ------------------------------------------------------------------------------------------

REPORTED_KIND = "dataset"
"""The kind of a reported table: OpenLineage says nothing about whether a dataset is a table, a view or a topic."""


@dataclass(frozen=True, slots=True)
class ReportedOriginView:
    """Who reported a dataset the catalog has not crawled: the reporter (`openlineage`), the job and run whose event
    gave the columns, that event's time and its producer."""

    reporter: str
    job_namespace: str
    job_name: str
    run_id: str
    event_time: datetime
    producer: str | None


@dataclass(frozen=True, slots=True)
class ReportedTableView:
    """A dataset known only from OpenLineage, shaped like `TableView`. What only a crawl tells (keys, indexes, view
    SQL, row estimate, the table's id) is unknown; `source_id` and `schema_id` are set when the catalog has them."""

    urn: str
    name: str
    created_at: datetime
    updated_at: datetime
    last_seen_at: datetime
    source_id: int | None
    schema_id: int | None
    reported: ReportedOriginView
    kind = REPORTED_KIND
    id = comment = description = view_definition = partition_key = primary_key = row_estimate = deleted_at = None
    unique_constraints = foreign_keys = indexes = ()  # immutable: shared by every view


@dataclass(frozen=True, slots=True)
class ReportedColumnView:
    """A column of a reported dataset, shaped like `ColumnView`: `comment` is the reporter's description; the type may
    be missing; nullability, default and the ids are unknown."""

    urn: str
    name: str
    ordinal: int
    data_type: str | None
    comment: str | None
    id = table_id = nullable = default = generated = description = deleted_at = None


EntityView = SourceView | SchemaView | TableView | ColumnView | ReportedTableView
"""Anything the catalog names with a URN (a dataset only reported by OpenLineage included)."""


@dataclass(frozen=True, slots=True)
class TaggedEntityView:
    """Any entity by URN with its tags, as a curation call answers."""

    urn: str
    name: str
    description: str | None
    tags: list[str]


@dataclass(frozen=True, slots=True)
class ChangeView:
    """One detected change of a table or one of its columns, with the values before and after."""

    id: int
    entity_urn: str
    change_type: str
    before: Any
    after: Any
    job_id: str | None
    detected_at: datetime
    actor: str | None
    """Who caused the change (`api_key:<id>`, `entra:<oid>`, `local`, `system`: the requester of the crawl that found
    it); null on changes recorded before the catalog kept actors."""


def change_view(row: ChangeLogEntry) -> ChangeView:
    return from_row(ChangeView, row)


@dataclass(frozen=True, slots=True)
class JobView:
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
    params: dict[str, Any] | None
    """Kind-specific arguments, e.g. the tables a profile is limited to (the CLI shows them; the APIs do not)."""
    actor: str | None
    """Who asked for the job (`system` for scheduled runs); the job's changes and events name the same actor."""
    request_id: str | None = None
    """The `X-Request-ID` of the API request that created the job: its log lines and events carry it too. Null for
    scheduled runs, CLI commands and jobs from before the catalog kept it."""


def job_view(row: Job) -> JobView:
    return from_row(JobView, row)


def reported_origin_view(row: ReportedDataset) -> ReportedOriginView:
    return from_row(ReportedOriginView, row, reporter="openlineage")


def reported_table_view(row: ReportedDataset, source_id: int | None, schema_id: int | None) -> ReportedTableView:
    return ReportedTableView(urn=row.urn, name=parse_urn(row.urn).names[2], created_at=row.created_at,
                             updated_at=row.updated_at, last_seen_at=row.event_time, source_id=source_id,
                             schema_id=schema_id, reported=reported_origin_view(row))


def reported_column_views(rows: list[ReportedColumn], table_urn: str) -> list[ReportedColumnView]:
    """The views of a reported table's columns (their URNs share the table's part: it is escaped once)."""
    prefix = column_urn(*parse_urn(table_urn).names, "")
    return [ReportedColumnView(urn=prefix + escape(row.name), name=row.name, ordinal=row.ordinal,
                               data_type=row.data_type, comment=row.description) for row in rows]


def reported_table_detail_view(row: ReportedDataset, columns: list[ReportedColumnView],
                               tags: dict[str, list[str]]) -> TableDetailView:
    """A reported table as `GET /api/v1/tables/{urn}` shows it: the reporter's columns, and nothing only a crawl
    would know."""
    source, schema, _ = parse_urn(row.urn).names
    return from_row(TableDetailView, reported_table_view(row, None, None), source=source, schema_name=schema,
                    tags=tags[row.urn], columns=[from_row(TaggedColumnView, c, tags=tags[c.urn]) for c in columns],
                    links=table_links(row.urn, crawled=False), origin="reported", quality_health=None)
