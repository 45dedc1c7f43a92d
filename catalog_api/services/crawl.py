"""Crawling: discover a source and apply the difference to the catalog in one transaction.

Tables whose definition hash did not change are skipped; only changed and removed tables are read back from the
catalog and compared with `crawlers.diff`, so an unchanged re-crawl costs a few bulk statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from catalog_api.db.chunks import chunks
from catalog_api.db.models import ChangeLogEntry, Column, DataSource, Schema, Table, utcnow
from catalog_api.observability.tracing import span
from catalog_api.security.identity import current_identity
from catalog_api.services.context import ServiceContext
from catalog_api.services.events.outbox import record_events
from catalog_api.services.jobs.running import JobControl, job_source
from catalog_api.services.lineage.edges import link_crawled_tables
from catalog_api.services.lineage.reported import drop_reports
from catalog_api.services.lineage.views import record_view_lineage
from catalog_api.services.search.documents import refresh_sources, refresh_tables
from catalog_api.services.sources import build_connector, enqueue_source_job
from catalog_api.services.views import JobView
from catalog_api.urns import column_urn, dataset_urn, schema_urn
from crawlers import diff
from crawlers.diff import Change, ChangeType
from crawlers.snapshot import (
    ColumnSnapshot,
    ForeignKey,
    IndexSnapshot,
    SchemaSnapshot,
    SourceSnapshot,
    TableKind,
    TableSnapshot,
    UniqueConstraint,
)
from events import CatalogEvent
from events import data as payloads

CRAWL = "crawl"


@dataclass(frozen=True, slots=True)
class CrawlResult:
    """What one crawl did to the catalog."""

    tables_created: int
    tables_changed: int
    tables_deleted: int
    tables_unchanged: int
    changes_recorded: int
    source_queries: int

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


def request_crawl(ctx: ServiceContext, ref: int | str, *, trigger: str = "manual") -> JobView:
    """Queues a crawl of the source, or returns the crawl already queued or running for it."""
    return enqueue_source_job(ctx, CRAWL, ref, trigger=trigger)


def run_crawl_job(ctx: ServiceContext, job: JobControl) -> dict[str, Any]:
    with ctx.db.session() as session:
        _, source = job_source(session, job.job_id)
        connector = build_connector(ctx, session, source)
    job.progress(0, 0, "discovering")
    with span("discover", {"catalog.source.kind": connector.kind}):  # its source queries are spans of `crawlers`
        snapshot = connector.discover(progress=job.progress)
    job.progress(0, len(snapshot.tables), "applying to the catalog")
    with ctx.db.session() as session:
        _, source = job_source(session, job.job_id)
        result = apply_snapshot(session, source, snapshot, job_id=job.job_id,
                                lineage_events=ctx.settings.lineage_events_enabled)
        job.check()  # cancelled or out of time: leaving the block with the exception rolls every change back
    job.progress(len(snapshot.tables), len(snapshot.tables), "done")
    return result.as_dict()


# -- rows <-> snapshots ------------------------------------------------------------------------------------------

def _constraint_json(c: UniqueConstraint | None) -> dict | None:
    return None if c is None else {"name": c.name, "columns": list(c.columns)}


def _table_values(t: TableSnapshot, definition_hash: str | None = None) -> dict[str, Any]:
    return {
        "kind": t.kind.value,
        "comment": t.comment,
        "view_definition": t.view_definition,
        "partition_key": t.partition_key,
        "primary_key": _constraint_json(t.primary_key),
        "unique_constraints": [_constraint_json(u) for u in t.unique_constraints],
        "foreign_keys": [
            {
                "name": f.name, "columns": list(f.columns), "referred_schema": f.referred_schema,
                "referred_table": f.referred_table, "referred_columns": list(f.referred_columns),
                "on_delete": f.on_delete, "on_update": f.on_update,
            }
            for f in t.foreign_keys
        ],
        "indexes": [
            {"name": i.name, "columns": list(i.columns), "unique": i.unique, "definition": i.definition}
            for i in t.indexes
        ],
        "row_estimate": t.row_estimate,
        "definition_hash": definition_hash or t.definition_hash(),
    }


def _column_values(c: ColumnSnapshot) -> dict[str, Any]:
    return {
        "ordinal": c.ordinal, "data_type": c.data_type, "nullable": c.nullable,
        "default": c.default, "comment": c.comment, "generated": c.generated,
    }


def _unique(data: dict | None) -> UniqueConstraint | None:
    return None if data is None else UniqueConstraint(data["name"], tuple(data["columns"]))


def table_snapshot(schema: str, row: Table, columns: Iterable[Column]) -> TableSnapshot:
    """Rebuilds the snapshot a table row was written from (the inverse of `_table_values`)."""
    return TableSnapshot(
        schema=schema,
        name=row.name,
        kind=TableKind(row.kind),
        columns=tuple(
            ColumnSnapshot(c.name, c.ordinal, c.data_type, c.nullable, c.default, c.comment, c.generated)
            for c in sorted(columns, key=lambda c: c.ordinal)
        ),
        comment=row.comment,
        view_definition=row.view_definition,
        primary_key=_unique(row.primary_key),
        unique_constraints=tuple(_unique(u) for u in row.unique_constraints),
        foreign_keys=tuple(
            ForeignKey(f["name"], tuple(f["columns"]), f["referred_schema"], f["referred_table"],
                       tuple(f["referred_columns"]), f["on_delete"], f["on_update"])
            for f in row.foreign_keys
        ),
        indexes=tuple(
            IndexSnapshot(i["name"], tuple(i["columns"]), i["unique"], i["definition"]) for i in row.indexes
        ),
        partition_key=row.partition_key,
        row_estimate=row.row_estimate,
    )


def _columns_by_table(session: Session, table_ids: Sequence[int], live_only: bool) -> dict[int, list[Column]]:
    found: dict[int, list[Column]] = {tid: [] for tid in table_ids}
    for chunk in chunks(list(table_ids)):
        query = select(Column).where(Column.table_id.in_(chunk))
        if live_only:
            query = query.where(Column.deleted_at.is_(None))
        for column in session.scalars(query):
            found[column.table_id].append(column)
    return found


# -- applying a snapshot ---------------------------------------------------------------------------------------

def apply_snapshot(
    session: Session, source: DataSource, snapshot: SourceSnapshot, *, job_id: str | None = None,
    lineage_events: bool = False,
) -> CrawlResult:
    """Brings the catalog of `source` in line with `snapshot` and records every change, inside `session`."""
    now = utcnow()
    schemas = {s.name: s for s in session.scalars(select(Schema).where(Schema.source_id == source.id))}
    schema_names = {s.id: s.name for s in schemas.values()}
    tables = {
        (schema_names[t.schema_id], t.name): t
        for t in session.scalars(select(Table).where(Table.source_id == source.id))
    }
    current = snapshot.table_map()
    hashes = {key: t.definition_hash() for key, t in current.items()}

    live = {key: row for key, row in tables.items() if row.deleted_at is None}
    unchanged = [key for key, row in live.items() if key in current and row.definition_hash == hashes[key]]
    unchanged_set = set(unchanged)
    revisit = [key for key in live if key not in unchanged_set]
    live_columns = _columns_by_table(session, [live[k].id for k in revisit], live_only=True)
    previous = SourceSnapshot(
        schemas=tuple(SchemaSnapshot(s.name, s.comment) for s in schemas.values() if s.deleted_at is None),
        tables=tuple(table_snapshot(key[0], live[key], live_columns[live[key].id]) for key in revisit),
    )
    changeset = diff(previous, SourceSnapshot(
        schemas=snapshot.schemas,
        tables=tuple(t for key, t in current.items() if key not in unchanged_set),
    ))

    _apply_schemas(session, source, snapshot, schemas, now)
    schema_ids = {name: s.id for name, s in schemas.items()}

    # Volatile facts of unchanged tables: one bulk statement each, no per-table round trips.
    estimate_updates = [
        {"id": tables[k].id, "row_estimate": current[k].row_estimate}
        for k in unchanged if tables[k].row_estimate != current[k].row_estimate
    ]
    if estimate_updates:
        session.execute(update(Table), estimate_updates)
    for chunk in chunks([tables[k].id for k in unchanged]):
        session.execute(update(Table).where(Table.id.in_(chunk)).values(last_seen_at=now))

    created = [t for t in changeset.tables_created if t.key not in tables]
    revived = [t for t in changeset.tables_created if t.key in tables]
    created_ids = _insert_tables(session, source, created, schema_ids, now, hashes)
    _update_tables(session, source, [*revived, *changeset.tables_changed], tables, now)
    _delete_tables(session, [tables[k] for k in changeset.tables_deleted], now)
    # The search index moves in this transaction: the source and its schemas, and every table that changed.
    refresh_sources(session, [source.id])
    refresh_tables(session, [*created_ids.values(), *(tables[t.key].id for t in (*revived, *changeset.tables_changed)),
                             *(tables[k].id for k in changeset.tables_deleted)])

    table_ids = {(schema_names.get(r.schema_id) or "", r.name): r.id for r in tables.values()}
    table_ids.update(created_ids)
    _log_changes(session, source, changeset.changes, table_ids, job_id, now)
    record_events(session, change_events(source, changeset.changes, current, job_id, now))
    # Lineage after the change events, so a consumer sees a view created before the lineage into it.
    record_view_lineage(session, source, snapshot, created=changeset.tables_created,
                        changed=changeset.tables_changed, deleted=changeset.tables_deleted, job_id=job_id, now=now,
                        events=lineage_events)
    if created:
        created_urns = [dataset_urn(source.name, *t.key) for t in created]
        link_crawled_tables(session, created_urns)
        drop_reports(session, created_urns)  # the crawled table is served from now on, never mixed with a report
    source.last_crawled_at = now
    return CrawlResult(
        tables_created=len(changeset.tables_created),
        tables_changed=len(changeset.tables_changed),
        tables_deleted=len(changeset.tables_deleted),
        tables_unchanged=len(unchanged),
        changes_recorded=len(changeset.changes),
        source_queries=snapshot.queries,
    )


def _apply_schemas(
    session: Session, source: DataSource, snapshot: SourceSnapshot, schemas: dict[str, Schema], now: datetime
) -> None:
    seen = {s.name for s in snapshot.schemas}
    for found in snapshot.schemas:
        row = schemas.get(found.name)
        if row is None:
            row = Schema(source_id=source.id, name=found.name, urn=schema_urn(source.name, found.name),
                         comment=found.comment)
            session.add(row)
            schemas[found.name] = row
        elif row.deleted_at is not None or row.comment != found.comment:
            row.deleted_at, row.comment = None, found.comment
    for name, row in schemas.items():
        if name not in seen and row.deleted_at is None:
            row.deleted_at = now
    session.flush()


def _insert_tables(
    session: Session, source: DataSource, created: Sequence[TableSnapshot], schema_ids: dict[str, int], now: datetime,
    hashes: dict[tuple[str, str], str],
) -> dict[tuple[str, str], int]:
    if not created:
        return {}
    rows = [
        {
            "source_id": source.id, "schema_id": schema_ids[t.schema], "name": t.name,
            "urn": dataset_urn(source.name, t.schema, t.name), "last_seen_at": now,
            "created_at": now, "updated_at": now, **_table_values(t, hashes.get(t.key)),
        }
        for t in created
    ]
    # render_nulls keeps rows with different NULL columns in one batch instead of one statement per NULL pattern.
    session.execute(insert(Table).execution_options(render_nulls=True), rows)
    ids = _created_ids(session, source, created, schema_ids)
    column_rows = [
        {
            "table_id": ids[t.key], "name": c.name, "urn": column_urn(source.name, t.schema, t.name, c.name),
            "created_at": now, "updated_at": now, **_column_values(c),
        }
        for t in created
        for c in t.columns
    ]
    for chunk in chunks(column_rows, 5000):
        session.execute(insert(Column).execution_options(render_nulls=True), list(chunk))
    return ids


def _created_ids(
    session: Session, source: DataSource, created: Sequence[TableSnapshot], schema_ids: dict[str, int]
) -> dict[tuple[str, str], int]:
    if not created:
        return {}
    names = {v: k for k, v in schema_ids.items()}
    wanted = {t.key for t in created}
    found = session.execute(
        select(Table.id, Table.schema_id, Table.name).where(Table.source_id == source.id, Table.deleted_at.is_(None))
    )
    return {(names[sid], name): tid for tid, sid, name in found if (names.get(sid), name) in wanted}


def _update_tables(
    session: Session, source: DataSource, snapshots: Sequence[TableSnapshot],
    tables: dict[tuple[str, str], Table], now: datetime,
) -> None:
    if not snapshots:
        return
    rows = {t.key: tables[t.key] for t in snapshots}
    all_columns = _columns_by_table(session, [r.id for r in rows.values()], live_only=False)
    for snap in snapshots:
        row = rows[snap.key]
        for attr, value in _table_values(snap).items():
            setattr(row, attr, value)
        row.deleted_at, row.last_seen_at = None, now
        existing = {c.name: c for c in all_columns[row.id]}
        for column in snap.columns:
            found = existing.pop(column.name, None)
            if found is None:
                session.add(Column(
                    table_id=row.id, name=column.name, created_at=now,
                    urn=column_urn(source.name, snap.schema, snap.name, column.name), **_column_values(column),
                ))
                continue
            for attr, value in _column_values(column).items():
                if getattr(found, attr) != value:
                    setattr(found, attr, value)
            found.deleted_at = None
        for gone in existing.values():
            if gone.deleted_at is None:
                gone.deleted_at = now
    session.flush()


def _delete_tables(session: Session, rows: Sequence[Table], now: datetime) -> None:
    for chunk in chunks([r.id for r in rows]):
        session.execute(update(Table).where(Table.id.in_(chunk)).values(deleted_at=now))
        session.execute(
            update(Column).where(Column.table_id.in_(chunk), Column.deleted_at.is_(None)).values(deleted_at=now)
        )


def _entity_urn(source: DataSource, change: Change) -> str:
    if change.column is not None:
        return column_urn(source.name, change.schema, change.table, change.column)
    if change.table is not None:
        return dataset_urn(source.name, change.schema, change.table)
    return schema_urn(source.name, change.schema)


def _log_changes(
    session: Session, source: DataSource, changes: Sequence[Change], table_ids: dict[tuple[str, str], int],
    job_id: str | None, now: datetime,
) -> None:
    actor = current_identity().actor
    rows = [
        {
            "source_id": source.id,
            "table_id": table_ids.get((c.schema, c.table)) if c.table is not None else None,
            "entity_urn": _entity_urn(source, c),
            "change_type": ChangeType(c.type).value,
            "before": c.before,
            "after": c.after,
            "job_id": job_id,
            "detected_at": now,
            "actor": actor,
        }
        for c in changes
    ]
    for chunk in chunks(rows, 5000):
        session.execute(insert(ChangeLogEntry).execution_options(render_nulls=True), list(chunk))


# -- change events ----------------------------------------------------------------------------------------------

_VIEW_KINDS = {TableKind.VIEW.value, TableKind.MATERIALIZED_VIEW.value}


def _change_payload(change: Change, current: dict[tuple[str, str], TableSnapshot], source_name: str, dataset: str,
                    job_id: str | None) -> payloads.EventPayload | None:
    kind = ChangeType(change.type)
    if kind is ChangeType.TABLE_CREATED:
        after = change.after or {}
        names = {"source": source_name, "schema": change.schema, "name": change.table}
        if after.get("kind") in _VIEW_KINDS:
            snap = current.get((change.schema, change.table or ""))
            return payloads.ViewCreated(**names, kind=after["kind"], column_count=len(after.get("columns", [])),
                                        definition=snap.view_definition if snap else None, job_id=job_id)
        return payloads.TableCreated(**names, kind=after.get("kind", "table"),
                                     column_count=len(after.get("columns", [])), job_id=job_id)
    if kind is ChangeType.TABLE_DELETED:
        before = change.before or {}
        names = {"source": source_name, "schema": change.schema, "name": change.table}
        if before.get("kind") in _VIEW_KINDS:
            return payloads.ViewDeleted(**names, kind=before["kind"], job_id=job_id)
        return payloads.TableDeleted(**names, kind=before.get("kind", "table"), job_id=job_id)
    column = {"dataset": dataset, "name": change.column, "job_id": job_id}
    if kind is ChangeType.COLUMN_ADDED:
        after = change.after
        return payloads.ColumnAdded(**column, ordinal=after["ordinal"], data_type=after["data_type"],
                                    nullable=after["nullable"], default=after["default"], comment=after["comment"])
    if kind is ChangeType.COLUMN_REMOVED:
        return payloads.ColumnRemoved(**column, data_type=change.before["data_type"])
    if kind is ChangeType.COLUMN_TYPE_CHANGED:
        return payloads.ColumnTypeChanged(**column, before=change.before, after=change.after)
    if kind is ChangeType.COLUMN_NULLABILITY_CHANGED:
        return payloads.ColumnNullabilityChanged(**column, before=change.before, after=change.after)
    return None  # schema, constraint, index, default and comment changes have no event type (the change log has them)


def change_events(source: DataSource, changes: Sequence[Change], current: dict[tuple[str, str], TableSnapshot],
                  job_id: str | None, now: datetime) -> list[CatalogEvent]:
    """The events of a crawl's changes, in change-log order: tables/views created or deleted, column changes."""
    events = []
    for change in changes:
        if change.table is None:
            continue
        dataset = dataset_urn(source.name, change.schema, change.table)
        payload = _change_payload(change, current, source.name, dataset, job_id)
        if payload is not None:
            events.append(CatalogEvent.create(payload, subject=_entity_urn(source, change), time=now))
    return events
