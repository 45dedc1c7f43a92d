"""Incremental reads from PostgreSQL, and the type mapping from PostgreSQL types to Arrow.

One connection, one `REPEATABLE READ READ ONLY` transaction, so every batch comes from the same snapshot.
The rows travel as `COPY (SELECT …) TO STDOUT (FORMAT CSV)` and are parsed by Arrow's C++ CSV reader in a
background thread while the next block streams in: measured 3-5x faster than a named cursor or binary
COPY decoded into Python objects (see `benchmarks/extract.py`). TIMESTAMP/KEY read `WHERE col > watermark
ORDER BY col` (NULLs first and included when there is no watermark yet); FULL reads every row, unordered.

Types (the Arrow schema comes from the result's own column types, so domains resolve to their base type):
int2/int4/int8 → int16/int32/int64; float4/float8 → float32/float64 (NaN and ±Infinity kept);
numeric(p,s) → decimal128(p,s), or decimal256 for p > 38, with NaN → null; numeric without a precision
→ string, exact (it may hold more digits than any Arrow decimal, or NaN/±Infinity); bool → bool;
text/varchar/char/name/enums → string; date → date32; timestamp → timestamp[us]; timestamptz →
timestamp[us, UTC]; ±infinity dates and timestamps → 0001-01-01 / 9999-12-31 (23:59:59.999999), and years
outside 1-9999 are an error; time → time64[us] (24:00:00 → 23:59:59.999999); uuid, json, jsonb, xml,
interval (ISO 8601), timetz and every other type → string (PostgreSQL's text form); bytea → binary;
arrays (any element type and any number of dimensions) → string holding the array as JSON.

The discovery `statement_timeout_ms` bounds the small catalog queries, not the COPY, whose length grows
with the table (the server's own default still applies). Closing the generator early closes the
connection, which ends the COPY on the server.
"""

from __future__ import annotations

import dataclasses
import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from psycopg import sql

from crawlers.errors import ConnectorError, InvalidSourceConfig
from crawlers.increment import IncrementRequest, IncrementStrategy


def read_batches(conn: psycopg.Connection, request: IncrementRequest, timeout_ms: int) -> Iterator[pa.RecordBatch]:
    """The rows of `request` from one `REPEATABLE READ READ ONLY` transaction, so every batch is one snapshot."""
    table, plan = request.table, request.plan
    names = [c.name for c in table.columns]
    target = sql.Identifier(table.schema, table.name)
    select_list = sql.SQL(", ").join(sql.Identifier(n) for n in names) if names else sql.SQL("*")
    conn.execute("begin transaction isolation level repeatable read, read only")
    conn.execute(
        "select pg_catalog.set_config('statement_timeout', %s, true),"
        " pg_catalog.set_config('TimeZone', 'UTC', true),"
        " pg_catalog.set_config('DateStyle', 'ISO, YMD', true),"
        " pg_catalog.set_config('IntervalStyle', 'iso_8601', true),"
        " pg_catalog.set_config('extra_float_digits', '1', true),"
        " pg_catalog.set_config('bytea_output', 'hex', true)",
        (str(timeout_ms),),
    )
    layout = _increment_layout(conn, target, select_list, table.schema, table.name)
    if plan.column is not None and plan.column not in layout.schema.names:
        raise InvalidSourceConfig(
            f"plan column {plan.column!r} is not a column of {table.schema}.{table.name}", field="plan.column"
        )
    query, params = _increment_query(layout, target, request)
    conn.execute("reset statement_timeout")
    copy_sql = sql.SQL("copy ({}) to stdout (format csv)").format(query)
    with conn.cursor().copy(copy_sql, params) as copy:
        yield from _parsed_batches(copy, layout, request.batch_rows)
    conn.execute("commit")


_INT_TYPES = {"int2": pa.int16(), "int4": pa.int32(), "int8": pa.int64(), "oid": pa.int64(), "xid": pa.int64()}
_FLOAT_TYPES = {"float4": pa.float32(), "float8": pa.float64()}
_STRING_TYPES = {"text", "varchar", "bpchar", "name", "char", "citext", "uuid", "json", "jsonb", "xml"}


@dataclasses.dataclass(frozen=True, slots=True)
class _IncrementColumn:
    """How one result column travels: the SQL expression in the COPY, the type Arrow parses, the final type."""

    name: str
    expression: sql.Composable
    parse_type: pa.DataType
    arrow_type: pa.DataType
    post: Callable[[pa.Array], pa.Array] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class _IncrementLayout:
    relation: str
    columns: tuple[_IncrementColumn, ...]
    schema: pa.Schema
    read_options: pa_csv.ReadOptions
    parse_options: pa_csv.ParseOptions
    convert_options: pa_csv.ConvertOptions


def _increment_layout(
    conn: psycopg.Connection, target: sql.Composable, select_list: sql.Composable, schema: str, table: str
) -> _IncrementLayout:
    # Describe the exact select without reading a row: RowDescription gives each column's type oid and modifier,
    # with domains already resolved to their base type.
    cursor = conn.execute(sql.SQL("select {} from {} where false").format(select_list, target))
    description = cursor.description or []
    oids = sorted({d.type_code for d in description})
    types = {
        oid: (name, category)
        for oid, name, category in conn.execute(
            "select oid::int8, typname::text, typcategory::text from pg_catalog.pg_type where oid = any(%s)",
            (oids,),
        ).fetchall()
    }
    columns = tuple(
        _increment_column(d.name, *types.get(d.type_code, ("unknown", "X")), d.precision, d.scale)
        for d in description
    )
    csv_names = [f"c{i}" for i in range(len(columns))]
    return _IncrementLayout(
        relation=f"{schema}.{table}",
        columns=columns,
        schema=pa.schema([pa.field(c.name, c.arrow_type) for c in columns]),
        read_options=pa_csv.ReadOptions(column_names=csv_names, use_threads=True, block_size=1 << 20),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types={n: c.parse_type for n, c in zip(csv_names, columns)},
            # PostgreSQL's CSV writes NULL as an empty unquoted field and '' as "": keep them apart.
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )


def _increment_column(
    name: str, typname: str, category: str, precision: int | None, scale: int | None
) -> _IncrementColumn:
    ident = sql.Identifier(name)
    if category == "A":
        return _IncrementColumn(name, sql.SQL("pg_catalog.to_json({})").format(ident), pa.string(), pa.string())
    if typname in _INT_TYPES:
        return _IncrementColumn(name, ident, _INT_TYPES[typname], _INT_TYPES[typname])
    if typname in _FLOAT_TYPES:
        return _IncrementColumn(name, ident, _FLOAT_TYPES[typname], _FLOAT_TYPES[typname])
    if typname == "bool":
        return _IncrementColumn(name, ident, pa.bool_(), pa.bool_())
    if typname == "numeric":
        if precision is None or scale is None or scale < 0 or scale > precision:
            return _IncrementColumn(name, ident, pa.string(), pa.string())
        no_nan = sql.SQL("nullif({}, 'NaN'::numeric)").format(ident)
        if precision <= 38:
            return _IncrementColumn(name, no_nan, pa.decimal128(precision, scale), pa.decimal128(precision, scale))
        # Arrow's CSV reader parses decimal128 only: read the text, then cast.
        return _IncrementColumn(name, no_nan, pa.string(), pa.decimal256(precision, scale))
    if typname in ("date", "timestamp", "timestamptz"):
        low, high, arrow_type = {
            "date": ("date '0001-01-01'", "date '9999-12-31'", pa.date32()),
            "timestamp": ("timestamp '0001-01-01 00:00:00'", "timestamp '9999-12-31 23:59:59.999999'",
                          pa.timestamp("us")),
            "timestamptz": ("timestamptz '0001-01-01 00:00:00+00'", "timestamptz '9999-12-31 23:59:59.999999+00'",
                            pa.timestamp("us", "UTC")),
        }[typname]
        clamped = sql.SQL(
            "case when pg_catalog.isfinite({c}) or {c} is null then {c} when {c} > 'epoch' then " + high
            + " else " + low + " end"
        ).format(c=ident)
        return _IncrementColumn(name, clamped, arrow_type, arrow_type)
    if typname == "time":
        # Not least(): it skips NULLs and would turn a NULL into 23:59:59.999999.
        clamped = sql.SQL("case when {c} > time '23:59:59.999999' then time '23:59:59.999999' else {c} end").format(
            c=ident
        )
        return _IncrementColumn(name, clamped, pa.time64("us"), pa.time64("us"))
    if typname == "bytea":
        return _IncrementColumn(
            name, sql.SQL("pg_catalog.encode({}, 'hex')").format(ident), pa.string(), pa.binary(), _hex_to_binary
        )
    # text-like types and everything without an Arrow counterpart: PostgreSQL's own text form.
    return _IncrementColumn(name, ident, pa.string(), pa.string())


def _hex_to_binary(values: pa.Array) -> pa.Array:
    return pa.array([None if v is None else bytes.fromhex(v) for v in values.to_pylist()], pa.binary())


def _increment_query(
    layout: _IncrementLayout, target: sql.Composable, request: IncrementRequest
) -> tuple[sql.Composable, tuple[Any, ...]]:
    select = sql.SQL("select {} from {}").format(
        sql.SQL(", ").join(sql.SQL("{} as {}").format(c.expression, sql.Identifier(c.name)) for c in layout.columns),
        target,
    )
    plan = request.plan
    if plan.strategy is IncrementStrategy.FULL or plan.column is None:
        return select, ()
    column = sql.Identifier(plan.column)
    # Names in the select list shadow nothing here: WHERE and ORDER BY name the table's column, qualified.
    qualified = sql.SQL("{}.{}").format(target, column)
    conditions = request.conditions()
    order = sql.SQL(" order by {} nulls first" if request.reads_nulls else " order by {}").format(qualified)
    if not conditions:
        return select + order, ()
    where = sql.SQL(" and ").join(sql.SQL("{} " + op + " %s").format(qualified) for op, _ in conditions)
    if request.reads_nulls:  # a backfill's range that also keeps the NULLs
        where = sql.SQL("({}) or {} is null").format(where, qualified)
    return sql.SQL("{} where {}").format(select, where) + order, tuple(value for _, value in conditions)


def _parsed_batches(copy: psycopg.Copy, layout: _IncrementLayout, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Cut the COPY stream every `batch_rows` rows and parse each block in a worker thread, two blocks in flight.

    Every COPY data message is exactly one row (libpq returns rows whole, embedded newlines included), so a
    block always ends on a row boundary.
    """
    pending: deque[Future[pa.RecordBatch]] = deque()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-increment-parse") as pool:
        try:
            block = bytearray()
            rows = 0
            for data in copy:
                block += data
                rows += 1
                if rows == batch_rows:
                    pending.append(pool.submit(_parse_block, bytes(block), layout))
                    block.clear()
                    rows = 0
                    if len(pending) > 1:
                        yield pending.popleft().result()
            if rows:
                pending.append(pool.submit(_parse_block, bytes(block), layout))
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


_CSV_COLUMN = re.compile(r"In CSV column #(\d+): ")


def _parse_block(block: bytes, layout: _IncrementLayout) -> pa.RecordBatch:
    try:
        parsed = pa_csv.read_csv(
            pa.py_buffer(block),
            read_options=layout.read_options,
            parse_options=layout.parse_options,
            convert_options=layout.convert_options,
        )
        arrays = []
        for column, values in zip(layout.columns, parsed.columns):
            array = values.combine_chunks()
            if column.post is not None:
                array = column.post(array)
            elif array.type != column.arrow_type:
                array = pc.cast(array, column.arrow_type)
            arrays.append(array)
    except (pa.ArrowInvalid, ValueError) as error:
        text = str(error)
        found = _CSV_COLUMN.search(text)
        where = f"column {layout.columns[int(found.group(1))].name!r} of " if found else ""
        reason = _CSV_COLUMN.sub("", text)
        raise ConnectorError(f"cannot convert {where}{layout.relation} to Arrow: {reason}") from None
    return pa.RecordBatch.from_arrays(arrays, schema=layout.schema)
