"""Reading the catalog: look-ups by URN, batched child pages for DataLoaders, tags, search and change history.

Every function here answers for many parents at once in a constant number of statements, so GraphQL stays at a
fixed statement count per request whatever the page size.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from json.encoder import encode_basestring_ascii
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, or_, select, tuple_
from sqlalchemy.orm import Session

from catalog_api.db.models import NAME_LENGTH, ChangeLogEntry, Column, DataSource, Schema, Table, Tag
from catalog_api.db.reported import ReportedColumn, ReportedDataset
from catalog_api.errors import InvalidInput, NotFound
from catalog_api.services.text import reject_nul
from catalog_api.services.views import (
    ROW_VIEWS,
    ChangeView,
    ColumnView,
    EntityView,
    ReportedColumnView,
    ReportedTableView,
    SchemaView,
    SourceView,
    TableDetailView,
    TableView,
    TaggedEntityView,
    entity_view,
    reported_column_views,
    reported_table_detail_view,
    reported_table_view,
    source_view,
    table_detail_view,
    view_columns,
)
from catalog_api.urns import EntityType, parse_urn  # noqa: F401 - EntityType is part of this API

T = TypeVar("T")
Entity = DataSource | Schema | Table | Column
MAX_PAGE = 1000
MAX_NAME = NAME_LENGTH
"""The longest name of a schema, table or column the catalog stores."""
MAX_BOUND_PARAMETERS = 30_000
"""Below both PostgreSQL's 65,535 and SQLite's 32,766 bound parameters per statement."""
_ENTITY_MODELS: dict[EntityType, type] = {
    EntityType.SOURCE: DataSource,
    EntityType.SCHEMA: Schema,
    EntityType.DATASET: Table,
    EntityType.COLUMN: Column,
}


@dataclass(frozen=True, slots=True)
class PageRequest:
    """`first` items after the opaque `after` cursor; deleted entities only when asked for."""

    first: int = 100
    after: str | None = None
    include_deleted: bool = False

    def validated(self) -> "PageRequest":
        if not 0 <= self.first <= MAX_PAGE:
            raise InvalidInput("first", f"a page holds 0 to {MAX_PAGE} items")
        if self.after is not None:
            decode_cursor(self.after)
        return self


@dataclass(slots=True)
class Page(Generic[T]):
    """One page of children of one parent: the items, whether more follow, and the parent's total."""

    items: list[T] = field(default_factory=list)
    has_next: bool = False
    total: int = 0
    cursors: list[str] = field(default_factory=list)


_CURSOR_JSON = json.JSONEncoder(separators=(",", ":")).encode  # `json.dumps` with options builds an encoder per call


def _cursor_value(value: Any) -> str:
    # The JSON of a name or an id, written by the same functions `json` uses for them (the encoder itself is built
    # anew for every call, the larger part of a cursor's cost at one cursor per item of every page).
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is int:
        return int.__repr__(value)
    return _CURSOR_JSON(value)


def encode_cursor(values: Sequence[Any]) -> str:
    """The opaque cursor of a position: its values as compact JSON, URL-safe base64 encoded."""
    return base64.urlsafe_b64encode(f"[{','.join(map(_cursor_value, values))}]".encode()).decode()


def decode_cursor(cursor: str, field_name: str = "after", size: int = 2) -> list[Any]:
    """The `size` values of a cursor `encode_cursor` made."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput(field_name, "not a cursor returned by this API") from None
    if not isinstance(values, list) or len(values) != size:
        raise InvalidInput(field_name, "not a cursor returned by this API")
    return values


@cache
def _child_page_statement(model: type, parent_name: str, order_name: str, include_deleted: bool, keyset: bool
                          ) -> Select:
    """The statement of `_child_pages` for one shape of request, built once per process: the request's values are
    bound when it runs (`parent_ids`, `sort_value` and `last_id` of the cursor, `limit`), so the subqueries' column
    collections, which cost more to build than the query takes to run, are not built again for every page."""
    parent, order = getattr(model, parent_name), getattr(model, order_name)
    conditions = [parent.in_(bindparam("parent_ids", expanding=True))]
    if not include_deleted:
        conditions.append(model.deleted_at.is_(None))
    counted = select(
        model.id.label("entity_id"),
        parent.label("parent_id"),
        order.label("sort_key"),
        func.count().over(partition_by=parent).label("total"),
    ).where(*conditions).subquery()
    after = [tuple_(counted.c.sort_key, counted.c.entity_id)
             > tuple_(bindparam("sort_value", type_=order.type), bindparam("last_id", type_=Integer))] if keyset else []
    numbered = select(
        counted,
        func.row_number().over(
            partition_by=counted.c.parent_id, order_by=(counted.c.sort_key, counted.c.entity_id)
        ).label("position"),
    ).where(*after).subquery()
    # The view's columns rather than ORM objects: a page is read-only, and building entities costs more than the rest.
    return (select(*view_columns(ROW_VIEWS[model], model), numbered.c.parent_id, numbered.c.sort_key,
                   numbered.c.total, numbered.c.position)
            .join(numbered, numbered.c.entity_id == model.id)
            .where(numbered.c.position <= bindparam("limit", type_=Integer))
            .order_by(numbered.c.parent_id, numbered.c.position))


def _child_pages(
    session: Session, model: type, parent_name: str, order_name: str, parent_ids: Sequence[int], page: PageRequest,
) -> dict[int, Page[EntityView]]:
    """Pages of children for many parents in one statement: window functions number the rows per parent."""
    if len(parent_ids) > MAX_BOUND_PARAMETERS:
        merged: dict[int, Page[EntityView]] = {}
        for start in range(0, len(parent_ids), MAX_BOUND_PARAMETERS):
            chunk = parent_ids[start:start + MAX_BOUND_PARAMETERS]
            merged.update(_child_pages(session, model, parent_name, order_name, chunk, page))
        return merged
    pages: dict[int, Page[EntityView]] = {pid: Page() for pid in parent_ids}
    if not parent_ids:
        return pages
    values: dict[str, Any] = {"parent_ids": list(parent_ids), "limit": page.first + 1}
    if page.after is not None:
        values["sort_value"], values["last_id"] = decode_cursor(page.after)
    statement = _child_page_statement(model, parent_name, order_name, page.include_deleted, page.after is not None)
    view = ROW_VIEWS[model]
    totals: dict[int, int] = {}
    for *row, parent_id, sort_key, total, position in session.execute(statement, values).all():
        target = pages[parent_id]
        totals[parent_id] = total
        if position > page.first:
            target.has_next = True
            continue
        item = view(*row)
        target.items.append(item)
        target.cursors.append(encode_cursor([sort_key, item.id]))
    missing = [pid for pid in parent_ids if pid not in totals]
    if missing:  # parents whose page came back empty (no children, or a cursor past the end) still need a total
        parent = getattr(model, parent_name)
        count_conditions = [parent.in_(missing)]
        if not page.include_deleted:
            count_conditions.append(model.deleted_at.is_(None))
        for pid, total in session.execute(select(parent, func.count()).where(*count_conditions).group_by(parent)):
            totals[pid] = total
    for pid, target in pages.items():
        target.total = totals.get(pid, 0)
    return pages


def schemas_of_sources(session: Session, source_ids: Sequence[int], page: PageRequest
                       ) -> dict[int, Page[SchemaView]]:
    return _child_pages(session, Schema, "source_id", "name", source_ids, page)


def tables_of_schemas(session: Session, schema_ids: Sequence[int], page: PageRequest) -> dict[int, Page[TableView]]:
    return _child_pages(session, Table, "schema_id", "name", schema_ids, page)


def columns_of_tables(session: Session, table_ids: Sequence[int], page: PageRequest
                      ) -> dict[int, Page[ColumnView]]:
    return _child_pages(session, Column, "table_id", "ordinal", table_ids, page)


def source_schemas(session: Session, source_id: int, page: PageRequest) -> Page[SchemaView]:
    """One page of a source's schemas by name (REST's `/sources/{id}/schemas`)."""
    _require_source(session, source_id)
    return schemas_of_sources(session, [source_id], page.validated())[source_id]


def schema_tables(session: Session, source_id: int, schema: str, page: PageRequest) -> Page[TableView]:
    """One page of the tables, views and files of a source's schema, named as the source names it, by name."""
    _require_source(session, source_id)
    schema_id = session.scalar(select(Schema.id).where(Schema.source_id == source_id, Schema.name == schema))
    if schema_id is None:
        raise NotFound(f"source {source_id} has no schema {schema!r} (GET /api/v1/sources/{source_id}/schemas "
                       "lists them)", field="schema")
    return tables_of_schemas(session, [schema_id], page.validated())[schema_id]


def _require_source(session: Session, source_id: int) -> None:
    if session.get(DataSource, source_id) is None:
        raise NotFound(f"no source with id {source_id}", field="source_id")


def sources_page(session: Session, page: PageRequest) -> Page[SourceView]:
    query = select(DataSource).order_by(DataSource.name, DataSource.id)
    if page.after is not None:
        name, last_id = decode_cursor(page.after)
        query = query.where(tuple_(DataSource.name, DataSource.id) > tuple_(name, last_id))
    found = list(session.scalars(query.limit(page.first + 1)))
    total = session.scalar(select(func.count()).select_from(DataSource)) or 0
    items = found[: page.first]
    return Page([source_view(s) for s in items], len(found) > page.first, total,
                [encode_cursor([s.name, s.id]) for s in items])


def by_ids(session: Session, kind: EntityType, ids: Sequence[int]) -> dict[int, EntityView]:
    """Views of the entities of one kind with these ids (ids that name nothing are left out)."""
    if not ids:
        return {}
    model = _ENTITY_MODELS[kind]
    return {e.id: entity_view(e) for e in session.scalars(select(model).where(model.id.in_(list(ids))))}


def by_urns(session: Session, kind: EntityType, urns: Sequence[str]) -> dict[str, EntityView]:
    """Views of the entities of one kind these URNs name, soft-deleted ones and datasets only OpenLineage reported
    included (as `entity` answers them); URNs that name nothing are left out. One statement, a few for datasets."""
    model = _ENTITY_MODELS[kind]
    found = {e.urn: entity_view(e) for e in session.scalars(select(model).where(model.urn.in_(list(urns))))}
    missing = [urn for urn in urns if urn not in found]
    return found | (reported_tables(session, missing) if kind is EntityType.DATASET and missing else {})


def tags_of(session: Session, urns: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    unique = list(dict.fromkeys(urns))
    for start in range(0, len(unique), MAX_BOUND_PARAMETERS):
        chunk = unique[start:start + MAX_BOUND_PARAMETERS]
        for urn, tag in session.execute(
            select(Tag.entity_urn, Tag.tag).where(Tag.entity_urn.in_(chunk)).order_by(Tag.tag)
        ):
            found[urn].append(tag)
    return {urn: found.get(urn, []) for urn in urns}


def entity_by_urn(session: Session, urn: str, *, field: str = "urn", expected: EntityType | None = None) -> Entity:
    """The row of the entity a URN names (soft-deleted ones included: their history stays reachable)."""
    parsed = parse_urn(urn, field=field, expected=expected)
    model = _ENTITY_MODELS[parsed.type]
    entity = session.scalars(select(model).where(model.urn == urn)).first()
    if entity is None:
        raise NotFound(f"nothing in the catalog has the URN {urn}", field=field)
    return entity


def entity(session: Session, urn: str, *, field: str = "urn", expected: EntityType | None = None) -> EntityView:
    """The view of the entity a URN names (soft-deleted ones included); a dataset no crawl has found but OpenLineage
    reported is a `ReportedTableView`."""
    try:
        return entity_view(entity_by_urn(session, urn, field=field, expected=expected))
    except NotFound:
        reported = reported_tables(session, [urn]) if parse_urn(urn).type is EntityType.DATASET else {}
        if urn not in reported:
            raise
        return reported[urn]


def tagged_entity(session: Session, urn: str) -> TaggedEntityView:
    """The entity a URN names with its tags."""
    row = entity_by_urn(session, urn)
    return TaggedEntityView(urn=row.urn, name=row.name, description=row.description,
                            tags=tags_of(session, [row.urn])[row.urn])


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A table or column whose name, description or comment matches a search."""

    urn: str
    type: str
    name: str
    description: str | None


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


MAX_SEARCH_TEXT = 200
MAX_SEARCH_LIMIT = 500


def search(session: Session, text: str, limit: int = 50) -> list[SearchHit]:
    """Case-insensitive substring search over live tables and columns (names first, then descriptions)."""
    text = (text or "").strip()
    if not text or len(text) > MAX_SEARCH_TEXT:
        raise InvalidInput("q", f"a search text has 1 to {MAX_SEARCH_TEXT} characters")
    reject_nul("q", text)
    if not 1 <= limit <= MAX_SEARCH_LIMIT:
        raise InvalidInput("limit", f"limit is between 1 and {MAX_SEARCH_LIMIT}")
    pattern = _like(text)
    hits: list[SearchHit] = []
    for model, kind in ((Table, "dataset"), (Column, "column")):
        matches = or_(
            func.lower(model.name).like(pattern, escape="\\"),
            func.lower(func.coalesce(model.description, "")).like(pattern, escape="\\"),
            func.lower(func.coalesce(model.comment, "")).like(pattern, escape="\\"),
        )
        query = (
            select(model.urn, model.name, model.description)
            .where(model.deleted_at.is_(None), matches)
            .order_by(func.lower(model.name).like(pattern, escape="\\").desc(), model.name, model.id)
            .limit(limit)
        )
        hits.extend(SearchHit(urn, kind, name, description) for urn, name, description in session.execute(query))
    return hits[:limit]


def as_utc(moment: datetime | None) -> datetime | None:
    """A filter bound in UTC; a bound without an offset is read as UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _change_window(since: bool, until: bool) -> list[ColumnElement[bool]]:
    conditions = []
    if since:
        conditions.append(ChangeLogEntry.detected_at >= bindparam("since"))
    if until:
        conditions.append(ChangeLogEntry.detected_at < bindparam("until"))
    return conditions


@cache
def _change_page_statement(since: bool, until: bool, keyset: bool) -> Select:
    """The statement of `change_histories` for one shape of request, built once (see `_child_page_statement`)."""
    counted = select(
        ChangeLogEntry.id.label("entry_id"),
        ChangeLogEntry.table_id.label("parent_id"),
        func.count().over(partition_by=ChangeLogEntry.table_id).label("total"),
    ).where(ChangeLogEntry.table_id.in_(bindparam("table_ids", expanding=True)), *_change_window(since, until)
            ).subquery()
    after = [counted.c.entry_id < bindparam("last_id", type_=Integer)] if keyset else []
    numbered = select(
        counted,
        func.row_number().over(partition_by=counted.c.parent_id, order_by=counted.c.entry_id.desc()).label("position"),
    ).where(*after).subquery()
    return (select(*view_columns(ChangeView, ChangeLogEntry), numbered.c.parent_id, numbered.c.total,
                   numbered.c.position)
            .join(numbered, numbered.c.entry_id == ChangeLogEntry.id)
            .where(numbered.c.position <= bindparam("limit", type_=Integer))
            .order_by(numbered.c.parent_id, numbered.c.position))


def change_histories(
    session: Session, table_ids: Sequence[int], *, since: datetime | None = None, until: datetime | None = None,
    first: int = 100, after: str | None = None,
) -> dict[int, Page[ChangeView]]:
    """The change logs of many tables (their columns' changes included), newest first, within [since, until).

    One statement numbers each table's rows with a window function, whatever the number of tables.
    """
    PageRequest(first, after).validated()
    pages: dict[int, Page[ChangeView]] = {tid: Page() for tid in table_ids}
    if not table_ids:
        return pages
    window: dict[str, Any] = {}
    if since is not None:
        window["since"] = as_utc(since)
    if until is not None:
        window["until"] = as_utc(until)
    values: dict[str, Any] = {"table_ids": list(table_ids), "limit": first + 1, **window}
    if after is not None:
        values["last_id"] = int(decode_cursor(after)[1])
    statement = _change_page_statement(since is not None, until is not None, after is not None)
    rows = session.execute(statement, values).all()
    totals: dict[int, int] = {}
    for *values, parent_id, total, position in rows:  # the view's columns: no ORM objects for a read-only page
        target = pages[parent_id]
        totals[parent_id] = total
        if position > first:
            target.has_next = True
            continue
        item = ChangeView(*values)
        target.items.append(item)
        target.cursors.append(encode_cursor([0, item.id]))
    missing = [tid for tid in table_ids if tid not in totals]
    if missing and after is not None:  # a cursor past the end still reports the table's total
        query = select(ChangeLogEntry.table_id, func.count()).where(
            *_change_window(since is not None, until is not None), ChangeLogEntry.table_id.in_(missing))
        totals.update(dict(session.execute(query.group_by(ChangeLogEntry.table_id), window).all()))
    for tid, target in pages.items():
        target.total = totals.get(tid, 0)
    return pages


def change_history(
    session: Session, urn: str, *, since: datetime | None = None, until: datetime | None = None,
    first: int = 100, after: str | None = None,
) -> Page[ChangeView]:
    """One table's change log, newest first, optionally within [since, until)."""
    table = entity_by_urn(session, urn, expected=EntityType.DATASET)
    return change_histories(session, [table.id], since=since, until=until, first=first, after=after)[table.id]


def table_detail(session: Session, urn: str, *, include_deleted_columns: bool = False) -> TableDetailView:
    """A table with its schema and source names, its columns, the tags of each, and its links; a dataset no crawl
    has found, with the columns OpenLineage reported."""
    try:
        table = entity_by_urn(session, urn, expected=EntityType.DATASET)
    except NotFound:
        row = session.scalars(select(ReportedDataset).where(ReportedDataset.urn == urn)).first()
        if row is None:
            raise
        columns = reported_column_views(list(session.scalars(select(ReportedColumn).where(
            ReportedColumn.dataset_id == row.id).order_by(ReportedColumn.ordinal, ReportedColumn.id))), urn)
        return reported_table_detail_view(row, columns, tags_of(session, [urn, *(c.urn for c in columns)]))
    schema = session.get(Schema, table.schema_id)
    source = session.get(DataSource, table.source_id)
    query = select(Column).where(Column.table_id == table.id)
    if not include_deleted_columns:
        query = query.where(Column.deleted_at.is_(None))
    columns = list(session.scalars(query.order_by(Column.ordinal, Column.id)))
    tags = tags_of(session, [table.urn, *(c.urn for c in columns)])
    return table_detail_view(table, schema, source, columns, tags)


# -- datasets reported by OpenLineage, not crawled ----------------------------------------------------------------

def reported_tables(session: Session, urns: Sequence[str]) -> dict[str, ReportedTableView]:
    """The reported datasets among `urns` that no crawl has found (a crawled table always wins), with the ids of
    their source and schema when the catalog has them."""
    wanted = list(dict.fromkeys(urns))
    rows: list[ReportedDataset] = []
    for start in range(0, len(wanted), MAX_BOUND_PARAMETERS):
        rows += session.scalars(select(ReportedDataset).where(
            ReportedDataset.urn.in_(wanted[start:start + MAX_BOUND_PARAMETERS])))
    crawled: set[str] = set()
    for start in range(0, len(rows), MAX_BOUND_PARAMETERS):
        chunk = [r.urn for r in rows[start:start + MAX_BOUND_PARAMETERS]]
        crawled.update(session.scalars(select(Table.urn).where(Table.urn.in_(chunk))))
    rows = [r for r in rows if r.urn not in crawled]
    names = {r.urn: parse_urn(r.urn).names for r in rows}
    sources = dict(session.execute(select(DataSource.name, DataSource.id).where(
        DataSource.name.in_({n[0] for n in names.values()}))).all()) if rows else {}
    schemas = {(source_id, name): schema_id for source_id, name, schema_id in session.execute(
        select(Schema.source_id, Schema.name, Schema.id).where(
            Schema.source_id.in_(list(sources.values())), Schema.name.in_({n[1] for n in names.values()})))
    } if sources else {}
    views = {}
    for row in rows:
        source, schema, _ = names[row.urn]
        source_id = sources.get(source)
        views[row.urn] = reported_table_view(row, source_id, schemas.get((source_id, schema)))
    return views


def reported_columns(session: Session, urn: str, page: PageRequest) -> Page[ReportedColumnView]:
    """One page of a reported dataset's columns in ordinal order (empty when nothing was reported)."""
    dataset_id = session.scalar(select(ReportedDataset.id).where(ReportedDataset.urn == urn))
    found: Page[ReportedColumnView] = Page()
    if dataset_id is None:
        return found
    query = select(ReportedColumn).where(ReportedColumn.dataset_id == dataset_id)
    found.total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if page.after is not None:
        ordinal, last_id = decode_cursor(page.after)
        query = query.where(tuple_(ReportedColumn.ordinal, ReportedColumn.id) > tuple_(ordinal, last_id))
    rows = list(session.scalars(query.order_by(ReportedColumn.ordinal, ReportedColumn.id).limit(page.first + 1)))
    found.has_next = len(rows) > page.first
    found.items = reported_column_views(rows[:page.first], urn)
    found.cursors = [encode_cursor([row.ordinal, row.id]) for row in rows[:page.first]]
    return found
