"""Incremental reads from SQLite, and the type mapping: SQLite's affinity rules on the declared type, to Arrow.

SQLite has no column types, only declared ones, so the Arrow type follows SQLite's affinity rules on the declared
type: INT → int64; CHAR/CLOB/TEXT → string; BLOB → binary; REAL/FLOA/DOUB → float64; BOOL → bool; DATE/TIME
(stored as text or numbers, SQLite has no date type) and no declared type → string (a number as its text, a blob
as hex); other NUMERIC affinity (DECIMAL, NUMERIC, …) → float64, which is how SQLite itself stores such values. A
value that does not fit its column's type (possible outside STRICT tables) is an error naming the column, never
silently dropped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from crawlers.connectors.sqlite.names import SCHEMA, fold, quote
from crawlers.connectors.sqlite.session import SqliteSession
from crawlers.errors import ConnectorError, InvalidSourceConfig, SourceNotFound
from crawlers.increment import IncrementRequest, IncrementStrategy


def _affinity_type(declared: str) -> pa.DataType:
    # SQLite's own rules (https://sqlite.org/datatype3.html §3.1), in its order, plus BOOL and DATE/TIME.
    kind = declared.upper()
    if "INT" in kind:
        return pa.int64()
    if any(word in kind for word in ("CHAR", "CLOB", "TEXT")):
        return pa.string()
    if "BLOB" in kind:
        return pa.binary()
    if kind.strip() == "" or kind.strip() == "ANY":
        return pa.string()
    if any(word in kind for word in ("REAL", "FLOA", "DOUB")):
        return pa.float64()
    if "BOOL" in kind:
        return pa.bool_()
    if "DATE" in kind or "TIME" in kind:
        return pa.string()
    return pa.float64()


def _as_text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    return value


def _as_bool(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise TypeError(f"{value!r} is not 0 or 1")


def _sqlite_batch(rows: list[tuple], schema: pa.Schema, table: str) -> pa.RecordBatch:
    arrays = []
    for index, field_ in enumerate(schema):
        values = [row[index] for row in rows]
        try:
            if field_.type == pa.string():
                values = [_as_text(v) for v in values]
            elif field_.type == pa.bool_():
                values = [_as_bool(v) for v in values]
            arrays.append(pa.array(values, type=field_.type))
        except (TypeError, ValueError, pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            bad = next((v for v in values if v is not None and not _fits(v, field_.type)), None)
            raise ConnectorError(
                f"column {field_.name!r} of {SCHEMA}.{table} holds {type(bad).__name__} value {bad!r:.60}, which "
                f"does not fit its declared type ({field_.type}); SQLite only enforces types in STRICT tables"
            ) from None
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _fits(value: Any, arrow_type: pa.DataType) -> bool:
    try:
        pa.array([_as_bool(value) if arrow_type == pa.bool_() else value], type=arrow_type)
        return True
    except (TypeError, ValueError, pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return False


def read_batches(session: SqliteSession, request: IncrementRequest, path: Path) -> Iterator[pa.RecordBatch]:
    """The rows of `request` from one read transaction on the session's (read-only) connection.

    Same semantics as the PostgreSQL connector: `WHERE col > ? ORDER BY col` for TIMESTAMP/KEY (NULLs, which
    SQLite sorts first, only while there is no watermark), every row for FULL.
    """
    table, plan, conn = request.table, request.plan, session.conn
    declared = _declared_types(session, table.name, path)
    names = [c.name for c in table.columns] or list(declared)
    missing = [n for n in names if fold(n) not in {fold(d) for d in declared}]
    if missing:
        raise InvalidSourceConfig(
            f"{SCHEMA}.{table.name} has no column {missing[0]!r}: re-crawl the source", field="table"
        )
    folded = {fold(d): t for d, t in declared.items()}
    kinds = [_affinity_type(folded[fold(n)]) for n in names]
    if plan.column is not None and fold(plan.column) not in folded:
        raise InvalidSourceConfig(
            f"plan column {plan.column!r} is not a column of {SCHEMA}.{table.name}", field="plan.column"
        )
    statement = f"SELECT {', '.join(quote(n) for n in names)} FROM {quote(SCHEMA)}.{quote(table.name)}"
    params: tuple[Any, ...] = ()
    if plan.strategy is not IncrementStrategy.FULL and plan.column is not None:
        column = quote(plan.column)
        if conditions := request.conditions():
            where = " AND ".join(f"{column} {op} ?" for op, _ in conditions)
            statement += f" WHERE ({where}) OR {column} IS NULL" if request.reads_nulls else f" WHERE {where}"
            params = tuple(value for _, value in conditions)
        statement += f" ORDER BY {column}"
    schema = pa.schema([pa.field(n, kind) for n, kind in zip(names, kinds)])
    cursor: sqlite3.Cursor | None = None
    try:
        conn.execute("BEGIN")
        cursor = conn.execute(statement, params)
        while rows := cursor.fetchmany(request.batch_rows):
            yield _sqlite_batch(rows, schema, table.name)
    finally:
        if cursor is not None:
            cursor.close()


def _declared_types(session: SqliteSession, table: str, path: Path) -> dict[str, str]:
    rows = session.fetch(
        "SELECT name, type FROM pragma_table_xinfo(?, 'main') WHERE hidden IN (0, 2, 3) ORDER BY cid", (table,)
    )
    if not rows:
        raise SourceNotFound(f"{SCHEMA}.{table} does not exist in {path}", field="table")
    return {name: declared or "" for name, declared in rows}
