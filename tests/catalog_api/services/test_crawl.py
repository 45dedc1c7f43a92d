"""Applying snapshots to the catalog: exact round trip, skipped unchanged tables, bulk statement counts."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from catalog_api.db.models import Column, DataSource, Schema, Table
from catalog_api.services.crawl import table_snapshot
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
from tests.support.factories import apply, make_source
from tests.support.statements import counted_statements


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, catalog_settings):
    """A migrated catalog on each supported store: the embedded SQLite and PostgreSQL."""
    from catalog_api.bootstrap import build_context

    settings = catalog_settings
    if request.param == "postgres":
        settings = settings.model_copy(update={"database_url": request.getfixturevalue("pg_catalog_url")})
    ctx = build_context(settings, migrate=True)
    yield ctx
    ctx.close()


def rich_table(schema: str, name: str, width: int = 6) -> TableSnapshot:
    columns = tuple(
        ColumnSnapshot(f"col_{i}", i, "numeric(12,2)" if i % 2 else "text", nullable=i != 1,
                       default="0" if i == 2 else None, comment=f"column {i}" if i == 3 else None,
                       generated="identity" if i == 1 else None)
        for i in range(1, width + 1)
    )
    return TableSnapshot(
        schema=schema, name=name, kind=TableKind.TABLE, columns=columns, comment=f"table {name}",
        primary_key=UniqueConstraint(f"{name}_pkey", ("col_1",)),
        unique_constraints=(UniqueConstraint(f"{name}_uq", ("col_2", "col_3")),),
        foreign_keys=(ForeignKey(f"{name}_fk", ("col_2",), schema, "parent", ("id",), "CASCADE", "NO ACTION"),),
        indexes=(IndexSnapshot(f"{name}_ix", ("lower(col_4)",), False, "CREATE INDEX ..."),),
        row_estimate=42,
    )


def snapshot_of(tables: int, schemas: int = 3) -> SourceSnapshot:
    names = [f"schema_{s}" for s in range(schemas)]
    return SourceSnapshot(
        schemas=tuple(SchemaSnapshot(n) for n in names),
        tables=tuple(rich_table(names[i % schemas], f"table_{i:04d}") for i in range(tables)),
    )


def test_catalog_rows_rebuild_the_exact_snapshot(store):
    source_id = make_source(store)
    snapshot = snapshot_of(5)
    apply(store, source_id, snapshot)
    with store.db.session() as session:
        schemas = {s.id: s.name for s in session.scalars(select(Schema))}
        rebuilt = {}
        for table in session.scalars(select(Table)):
            columns = session.scalars(select(Column).where(Column.table_id == table.id)).all()
            rebuilt[(schemas[table.schema_id], table.name)] = table_snapshot(schemas[table.schema_id], table, columns)
    assert rebuilt == snapshot.table_map()


def test_unchanged_reapply_skips_every_table_and_records_nothing(store):
    source_id = make_source(store)
    first = apply(store, source_id, snapshot_of(30))
    assert first.tables_created == 30 and first.changes_recorded == 30 + 3
    again = apply(store, source_id, snapshot_of(30))
    assert (again.tables_unchanged, again.tables_changed, again.changes_recorded) == (30, 0, 0)


def _statements(ctx, action) -> int:
    with counted_statements(ctx.db.engine) as statements:
        action()
    return len(statements)


def test_statement_counts_do_not_grow_with_tables(store):
    counts = {}
    for size in (10, 300):
        source_id = make_source(store, f"s{size}")
        created = _statements(store, lambda: apply(store, source_id, snapshot_of(size)))
        unchanged = _statements(store, lambda: apply(store, source_id, snapshot_of(size)))
        counts[size] = (created, unchanged)
    assert counts[10] == counts[300], counts


def test_changed_tables_keep_curation_and_soft_delete_columns(store):
    source_id = make_source(store)
    snapshot = snapshot_of(2, schemas=1)
    apply(store, source_id, snapshot)
    with store.db.session() as session:
        column = session.scalars(select(Column).where(Column.name == "col_3")).first()
        column.description = "curated"
        table_id = column.table_id
    table = next(t for t in snapshot.tables if t.name == "table_0000")
    narrower = replace(table, columns=table.columns[:2])
    result = apply(store, source_id, replace(snapshot, tables=(narrower, snapshot.tables[1])))
    assert result.tables_changed == 1 and result.changes_recorded == 4
    apply(store, source_id, snapshot)  # the columns come back
    with store.db.session() as session:
        revived = session.scalars(select(Column).where(Column.table_id == table_id, Column.name == "col_3")).one()
        assert revived.deleted_at is None and revived.description == "curated"


def test_timestamps_come_back_in_utc_on_every_store(store):
    source_id = make_source(store)
    apply(store, source_id, snapshot_of(1, schemas=1))
    with store.db.session() as session:
        table = session.scalars(select(Table)).one()
        source = session.get(DataSource, source_id)
    for moment in (table.created_at, table.last_seen_at, source.last_crawled_at):
        assert moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0
