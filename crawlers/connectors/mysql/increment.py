"""Incremental reads from MySQL/MariaDB: a streaming cursor, cut into Arrow batches that never split a value."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pymysql
from pymysql.cursors import SSCursor

from crawlers.connectors.mysql.arrow import _arrow_reader, _to_arrow
from crawlers.connectors.mysql.dialect import quote_identifier
from crawlers.errors import InvalidSourceConfig
from crawlers.increment import IncrementRequest, IncrementStrategy

# The server aborts a streaming read whose client has not read for `net_write_timeout` seconds (60 by default);
# a consumer that writes each batch to a data lake may pause longer than that between batches.
EXTRACT_NET_WRITE_TIMEOUT_S = 900


def _increment_query(request: IncrementRequest) -> tuple[str, tuple]:
    table = request.table
    select_list = ", ".join(quote_identifier(c.name) for c in table.columns)
    sql = f"SELECT {select_list} FROM {quote_identifier(table.schema)}.{quote_identifier(table.name)}"
    params: tuple = ()
    if request.plan.strategy is IncrementStrategy.FULL:
        if table.primary_key is not None:
            sql += " ORDER BY " + ", ".join(quote_identifier(c) for c in table.primary_key.columns)
        return sql, params
    column = quote_identifier(request.plan.column or "")
    conditions = request.conditions()
    if conditions:
        where = " AND ".join(f"{column} {op} %s" for op, _ in conditions)
        sql += f" WHERE ({where}) OR {column} IS NULL" if request.reads_nulls else f" WHERE {where}"
        params = tuple(_watermark_param(value) for _, value in conditions)
    return sql + f" ORDER BY {column}", params


def _watermark_param(watermark: Any) -> Any:
    # Timestamps are read in UTC (the session's time zone), and PyMySQL would drop an offset silently.
    if isinstance(watermark, datetime) and watermark.tzinfo is not None:
        return watermark.astimezone(UTC).replace(tzinfo=None)
    return watermark


def _batches(cursor: SSCursor, size: int, cut_at: int | None) -> Iterator[list[tuple]]:
    """Rows in batches of `size`; with `cut_at`, a batch grows until that column's value changes."""
    carry: list[tuple] = []
    while True:
        rows = carry + list(cursor.fetchmany(size - len(carry)))
        carry = []
        if not rows:
            return
        if cut_at is not None and len(rows) >= size:
            # Look ahead: rows sharing the last value join this batch, the first different row opens the next.
            last = rows[-1][cut_at]
            while (row := cursor.fetchone()) is not None:
                if row[cut_at] != last:
                    carry = [row]
                    break
                rows.append(row)
        yield rows


def read_batches(conn: pymysql.connections.Connection, request: IncrementRequest) -> Iterator[pa.RecordBatch]:
    """The rows of `request` from one READ ONLY transaction, streamed through the connection's `SSCursor`.

    TIMESTAMP and KEY plans select `WHERE col > watermark ORDER BY col` (every row when the watermark is None);
    FULL plans select every row, ordered by the primary key when there is one so that re-runs cut the same
    batches. Rows stream through an unbuffered server-side cursor, so memory holds about one batch.

    Rows whose plan column is NULL come first (MySQL sorts NULL lowest) and are read only without a watermark.
    A batch holds `batch_rows` rows, plus any further rows sharing the last row's plan-column value: a reader
    that stops after any batch and resumes from the largest value it has seen then loses no row. TIMESTAMP
    columns are read in UTC. The statement timeout bounds discovery, not this read, whose length grows with the
    table; the server's own limits still apply.
    """
    table = request.table
    if not table.columns:  # `IncrementRequest` checks the plan column against the columns, when there are any
        raise InvalidSourceConfig(f"table {table.schema}.{table.name} has no columns to read", field="table")
    plan_column = request.plan.column
    readers = [_arrow_reader(c) for c in table.columns]
    schema = pa.schema([reader.field for reader in readers])
    sql, params = _increment_query(request)
    cut_at = None if plan_column is None else next(i for i, c in enumerate(table.columns) if c.name == plan_column)

    with conn.cursor(pymysql.cursors.Cursor) as setup:
        setup.execute("SET SESSION time_zone = '+00:00', net_write_timeout = %s", (EXTRACT_NET_WRITE_TIMEOUT_S,))
        setup.execute("START TRANSACTION READ ONLY")
    cursor = conn.cursor()
    cursor.execute(sql, params)
    for rows in _batches(cursor, request.batch_rows, cut_at):
        columns = list(zip(*rows, strict=True))
        arrays = [_to_arrow(reader, values, table) for reader, values in zip(readers, columns, strict=True)]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)
    conn.commit()


def release(conn: pymysql.connections.Connection, finished: bool) -> None:
    """Close the connection of a read, finished or abandoned after any batch."""
    if finished:
        conn.close()
        return
    # Closing the cursor of an unfinished streaming read would drain the rest of the table; closing the connection
    # abandons it. The result must forget it was streaming, or PyMySQL tries to drain it from the closed socket
    # when it is garbage-collected.
    result = getattr(conn, "_result", None)
    if result is not None:
        result.unbuffered_active = False
    with suppress(Exception):
        conn.close()
