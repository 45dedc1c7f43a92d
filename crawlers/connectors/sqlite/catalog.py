"""SQLite's catalog, read in bulk: `sqlite_schema` joined to the pragma table-valued functions.

`pragma_table_xinfo`, `pragma_foreign_key_list` and `pragma_index_list` + `pragma_index_info` are joined to
`sqlite_schema`, so the number of statements does not depend on how many tables the file holds.
"""

from __future__ import annotations

import json
import sqlite3

from crawlers.connector import ProgressCallback
from crawlers.connectors.sqlite.errors import _SQLITE_ERROR, _primary_code
from crawlers.connectors.sqlite.names import SCHEMA, fold
from crawlers.connectors.sqlite.relations import _ColumnRow, _ForeignKeyRows, _IndexRows, _Relation
from crawlers.connectors.sqlite.session import SqliteSession
from crawlers.scope import Scope
from crawlers.snapshot import SchemaSnapshot, SourceSnapshot, TableSnapshot

DISCOVERY_STEPS = 5


def read_catalog(session: SqliteSession, scope: Scope, report: ProgressCallback) -> SourceSnapshot:
    """The one schema, `main`, with its tables and views in scope; `report`s "done" once everything is read."""
    schemas, tables = _discover(session, scope, report)
    report(DISCOVERY_STEPS, DISCOVERY_STEPS, "done")
    return SourceSnapshot(schemas=schemas, tables=tables)


def _discover(
    session: SqliteSession, scope: Scope, report: ProgressCallback
) -> tuple[tuple[SchemaSnapshot, ...], tuple[TableSnapshot, ...]]:
    total_steps = DISCOVERY_STEPS
    objects = session.fetch("SELECT type, name, tbl_name, sql FROM main.sqlite_schema")
    report(1, total_steps, "read sqlite_schema")
    if not scope.schema_in_scope(SCHEMA):
        return (), ()

    relations: dict[str, _Relation] = {}
    index_sql: dict[str, str | None] = {}
    canonical: dict[str, str] = {}
    has_stat1 = False
    for kind, name, _table, sql in objects:
        if kind == "index":
            index_sql[name] = sql
        if kind not in ("table", "view"):
            continue
        canonical[fold(name)] = name
        if name == "sqlite_stat1":
            has_stat1 = True
        # SQLite reserves the prefix case-insensitively for its own tables (sqlite_sequence, sqlite_stat1, …).
        if fold(name).startswith("sqlite_") or not scope.table_in_scope(SCHEMA, name):
            continue
        relations[name] = _Relation(name=name, is_view=kind == "view", sql=sql or "")

    if relations:
        _read_columns(session, relations)
        report(2, total_steps, "read columns")
        plain = [r.name for r in relations.values() if r.is_plain_table]
        if plain:
            _read_foreign_keys(session, relations, plain, canonical)
            report(3, total_steps, "read foreign keys")
            _read_indexes(session, relations, plain, index_sql)
            report(4, total_steps, "read indexes")
            if has_stat1:
                _read_row_estimates(session, relations)

    tables = tuple(relation.snapshot() for _, relation in sorted(relations.items()))
    return (SchemaSnapshot(name=SCHEMA, comment=None),), tables


def _read_columns(session: SqliteSession, relations: dict[str, _Relation]) -> None:
    sql = (
        "SELECT m.name, p.cid, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk, p.hidden "
        "FROM main.sqlite_schema AS m JOIN pragma_table_xinfo(m.name, 'main') AS p "
        "WHERE m.type IN ('table', 'view') AND m.name IN (SELECT value FROM json_each(?)) "
        "ORDER BY m.name, p.cid"
    )
    try:
        rows = session.fetch(sql, (json.dumps(sorted(relations)),))
    except sqlite3.Error as error:
        if _primary_code(error) != _SQLITE_ERROR:
            raise
        # A view over a dropped table, or a virtual table whose module this SQLite lacks, fails the whole bulk
        # statement. Only then fall back to one statement per view or virtual table, so one broken object
        # does not make the whole source undiscoverable; ordinary tables can never fail this way.
        rows = _read_columns_one_by_one(session, relations, sql)
    for table, *column in rows:
        relations[table].columns.append(_ColumnRow(*column))


def _read_columns_one_by_one(
    session: SqliteSession, relations: dict[str, _Relation], bulk_sql: str
) -> list[tuple]:
    fragile = sorted(name for name, r in relations.items() if not r.is_plain_table)
    plain = sorted(name for name, r in relations.items() if r.is_plain_table)
    rows = session.fetch(bulk_sql, (json.dumps(plain),)) if plain else []
    for name in fragile:
        try:
            rows.extend(session.fetch(bulk_sql, (json.dumps([name]),)))
        except sqlite3.Error as error:
            if _primary_code(error) != _SQLITE_ERROR:
                raise
            relations[name].error = str(error)
    return rows


def _read_foreign_keys(
    session: SqliteSession, relations: dict[str, _Relation], tables: list[str], canonical: dict[str, str]
) -> None:
    # The LEFT JOIN resolves a foreign key that names no parent columns to the parent's primary key, and gives
    # named parent columns their declared spelling (SQLite matches them case-insensitively).
    rows = session.fetch(
        "SELECT m.name, f.id, f.seq, f.\"table\", f.\"from\", coalesce(pc.name, f.\"to\"), f.on_update, "
        "f.on_delete FROM main.sqlite_schema AS m JOIN pragma_foreign_key_list(m.name, 'main') AS f "
        "LEFT JOIN pragma_table_info(f.\"table\", 'main') AS pc "
        "ON (f.\"to\" IS NULL AND pc.pk = f.seq + 1) "
        "OR (f.\"to\" IS NOT NULL AND pc.name = f.\"to\" COLLATE NOCASE) "
        "WHERE m.type = 'table' AND m.name IN (SELECT value FROM json_each(?)) "
        "ORDER BY m.name, f.id, f.seq",
        (json.dumps(tables),),
    )
    for table, fk_id, _seq, parent, column, referred, on_update, on_delete in rows:
        fk = relations[table].foreign_keys.setdefault(
            fk_id,
            _ForeignKeyRows(parent=canonical.get(fold(parent), parent), on_update=on_update, on_delete=on_delete),
        )
        fk.columns.append(column)
        fk.referred.append(referred)


def _read_indexes(
    session: SqliteSession, relations: dict[str, _Relation], tables: list[str], index_sql: dict[str, str | None]
) -> None:
    rows = session.fetch(
        "SELECT m.name, il.name, il.\"unique\", il.origin, ii.seqno, ii.cid, ii.name "
        "FROM main.sqlite_schema AS m JOIN pragma_index_list(m.name, 'main') AS il "
        "JOIN pragma_index_info(il.name, 'main') AS ii "
        "WHERE m.type = 'table' AND m.name IN (SELECT value FROM json_each(?)) "
        "ORDER BY m.name, il.name, ii.seqno",
        (json.dumps(tables),),
    )
    for table, index, unique, origin, seqno, cid, column in rows:
        entry = relations[table].indexes.setdefault(
            index, _IndexRows(unique=bool(unique), origin=origin, sql=index_sql.get(index))
        )
        entry.columns.append((seqno, cid, column))


def _read_row_estimates(session: SqliteSession, relations: dict[str, _Relation]) -> None:
    for table, _index, stat_text in session.fetch("SELECT tbl, idx, stat FROM main.sqlite_stat1"):
        relation = relations.get(table)
        head = (stat_text or "").split(" ", 1)[0]
        if relation is None or not head.isdigit():
            continue
        # A partial index counts only its own rows; a full index or the table row counts them all. The largest
        # first figure is therefore the table's row count.
        relation.row_estimate = max(relation.row_estimate or 0, int(head))
