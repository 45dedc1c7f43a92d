"""Reading back what a crawl did to the catalog: shared by the per-connector crawl tests."""

from __future__ import annotations

from sqlalchemy import select

from catalog_api.db.models import ChangeLogEntry, Column, Schema, Table
from tests.support.jobs import crawled


def crawl(ctx, source_id: int) -> dict:
    """Runs a crawl to its end and returns its result; fails the test with the job's error otherwise."""
    return crawled(ctx, source_id).result


def catalog_columns(ctx, source_id: int) -> dict[tuple[str, str, str], Column]:
    """The live columns of a source, keyed by (schema, table, column)."""
    with ctx.db.session() as session:
        rows = session.execute(
            select(Schema.name, Table.name, Column)
            .join(Table, Table.schema_id == Schema.id)
            .join(Column, Column.table_id == Table.id)
            .where(Table.source_id == source_id, Table.deleted_at.is_(None), Column.deleted_at.is_(None))
        ).all()
    return {(s, t, c.name): c for s, t, c in rows}


def changes(ctx, source_id: int, since_id: int = 0) -> list[tuple[str, str, object, object]]:
    """Change-log rows of a source after `since_id`, oldest first, as (type, urn, before, after)."""
    with ctx.db.session() as session:
        entries = session.scalars(
            select(ChangeLogEntry)
            .where(ChangeLogEntry.source_id == source_id, ChangeLogEntry.id > since_id)
            .order_by(ChangeLogEntry.id)
        ).all()
    return [(e.change_type, e.entity_urn, e.before, e.after) for e in entries]


def last_change_id(ctx) -> int:
    with ctx.db.session() as session:
        return session.scalar(select(ChangeLogEntry.id).order_by(ChangeLogEntry.id.desc()).limit(1)) or 0


def query(ctx, service_query, *args, **kwargs):
    """Runs a service query (which takes a session first) in one catalog session, as a transport would."""
    with ctx.db.session() as session:
        return service_query(session, *args, **kwargs)


def assert_dropped_and_stable(ctx, source_id: int, table: str, column_urn_suffix: str) -> None:
    """A table and a column gone from the source are soft-deleted (kept with their history, no longer live), and
    crawling the unchanged source once more records no change."""
    with ctx.db.session() as session:
        assert session.scalars(select(Table).where(Table.name == table)).one().deleted_at is not None
        pattern = "%" + column_urn_suffix.replace("_", "\\_")
        assert session.scalars(select(Column).where(Column.urn.like(pattern, escape="\\"))).one().deleted_at is not None
    before = last_change_id(ctx)
    crawl(ctx, source_id)
    assert changes(ctx, source_id, before) == []
