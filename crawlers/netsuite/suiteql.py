"""Incremental reads through SuiteQL: statements built from validated parts, paging, and conversion to Arrow.

Nothing a user typed reaches a statement as text: the record type and column names are checked against
`^[A-Za-z][A-Za-z0-9_]*$`, and a watermark is parsed into a `datetime` or an `int` and formatted here.

What SuiteQL returns shapes the statement:
- column names come back in lower case, and a null value is left out of its row;
- a date or timestamp column comes back in the user's display format (`1/14/2021`, without the time), so dates are
  selected through `TO_CHAR` into ISO form; times are in the time zone of the NetSuite user behind the credentials;
- a reference comes back as the internal id of the record it points to; check boxes come back as `T` / `F`;
- one statement returns at most 100,000 rows however it is paged, so a longer read continues with a new statement
  that starts after the last row seen (keyset on the ordering columns, which end with the unique `id`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from crawlers.errors import ConnectorError, InvalidSourceConfig
from crawlers.increment import IncrementPlan, IncrementStrategy
from crawlers.netsuite.config import RECORD_TYPE
from crawlers.netsuite.metadata import is_selectable_type
from crawlers.snapshot import ColumnSnapshot, TableSnapshot

SUITEQL_PATH = "/services/rest/query/v1/suiteql"
SUITEQL_RESULT_CAP = 100_000
"""The most rows one SuiteQL statement returns through REST web services, whatever the paging."""

_SQL_TIMESTAMP = "YYYY-MM-DD HH24:MI:SS"
_SQL_DATE = "YYYY-MM-DD"
_PY_TIMESTAMP = "%Y-%m-%d %H:%M:%S"
_INTEGER = re.compile(r"^-?\d+$")
_ALIAS = "t"

PostPage = Callable[[str, int, int], Mapping[str, Any]]
"""`post(statement, limit, offset)` runs one page of a SuiteQL statement and returns NetSuite's JSON answer."""


@dataclass(frozen=True, slots=True)
class SelectColumn:
    """A catalogued column as SuiteQL selects it: its SuiteQL name and how its values are converted."""

    name: str
    sql_name: str
    kind: str  # int | float | bool | date | timestamp | string

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW_TYPES[self.kind]

    def select_sql(self) -> str:
        ref = f"{_ALIAS}.{self.sql_name}"
        if self.kind == "timestamp":
            return f"TO_CHAR({ref}, '{_SQL_TIMESTAMP}') AS {self.sql_name}"
        if self.kind == "date":
            return f"TO_CHAR({ref}, '{_SQL_DATE}') AS {self.sql_name}"
        return f"{ref} AS {self.sql_name}"


_ARROW_TYPES: dict[str, pa.DataType] = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("s"),
    "string": pa.string(),
}


def column_kind(column: ColumnSnapshot) -> str:
    # Internal ids are integers in SuiteQL even though the REST schema spells `id` as a string.
    if column.name == "id" or column.data_type == "integer":
        return "int"
    return {
        "number": "float",
        "boolean": "bool",
        "string(date)": "date",
        "string(date-time)": "timestamp",
    }.get(column.data_type, "string")


def select_columns(table: TableSnapshot) -> list[SelectColumn]:
    """The columns SuiteQL can return for `table`: those discovery marked, else every scalar or reference column."""
    marked = table.properties.get("suiteql_columns") if isinstance(table.properties, dict) else None
    wanted = set(marked) if isinstance(marked, list) else None
    columns = []
    for column in sorted(table.columns, key=lambda c: c.ordinal):
        if wanted is not None and column.name not in wanted:
            continue
        if not is_selectable_type(column.data_type) or not RECORD_TYPE.match(column.name):
            continue
        columns.append(SelectColumn(column.name, column.name.lower(), column_kind(column)))
    return columns


class IncrementQuery:
    """The SuiteQL statement of one incremental read, and its continuation after a given row."""

    def __init__(self, table: TableSnapshot, plan: IncrementPlan, watermark: Any | None) -> None:
        if not RECORD_TYPE.match(table.name):
            raise InvalidSourceConfig(f"{table.name!r} is not a NetSuite record type name", field="table")
        self.table = table
        self.plan = plan
        self.columns = select_columns(table)
        by_name = {c.name: c for c in self.columns}
        self.id = by_name.get("id")
        self.watched = by_name.get(plan.column) if plan.column else None
        if plan.column is not None and self.watched is None:
            raise InvalidSourceConfig(
                f"record type {table.name!r} has no column {plan.column!r} that SuiteQL can select", field="plan.column"
            )
        if plan.strategy is IncrementStrategy.TIMESTAMP and self.watched.kind not in ("timestamp", "date"):  # type: ignore[union-attr]
            raise InvalidSourceConfig(
                f"{table.name}.{plan.column} is not a date or timestamp column", field="plan.column"
            )
        if plan.strategy is IncrementStrategy.KEY and self.watched.kind != "int":  # type: ignore[union-attr]
            raise InvalidSourceConfig(f"{table.name}.{plan.column} is not an integer column", field="plan.column")
        self.watermark_sql = None if watermark is None else self._literal(self.watched, watermark)  # type: ignore[arg-type]

    def order_columns(self) -> list[SelectColumn]:
        order = [self.watched] if self.watched is not None else []
        if self.id is not None and self.id is not self.watched:
            order.append(self.id)
        return order  # type: ignore[return-value]

    def sql(self, after: Mapping[str, Any] | None = None) -> str:
        """The statement; `after` (the raw values of the last row read) restarts it just past that row."""
        conditions = []
        if self.watermark_sql is not None:
            conditions.append(f"{_ALIAS}.{self.watched.sql_name} > {self.watermark_sql}")  # type: ignore[union-attr]
        if after is not None:
            conditions.append(self._after(after))
        parts = [f"SELECT {', '.join(c.select_sql() for c in self.columns)}", f"FROM {self.table.name} {_ALIAS}"]
        if conditions:
            parts.append("WHERE " + " AND ".join(conditions))
        order = self.order_columns()
        if order:
            parts.append("ORDER BY " + ", ".join(f"{_ALIAS}.{c.sql_name}" for c in order))
        return " ".join(parts)

    def can_continue(self) -> bool:
        return bool(self.order_columns()) and self.order_columns()[-1] is self.id

    def _after(self, row: Mapping[str, Any]) -> str:
        # (a, id) > (A, I) spelled out, as SuiteQL has no row-value comparison.
        order = self.order_columns()
        values = [self._literal(c, _row_value(row, c)) for c in order]
        refs = [f"{_ALIAS}.{c.sql_name}" for c in order]
        if len(order) == 1:
            return f"{refs[0]} > {values[0]}"
        return f"({refs[0]} > {values[0]} OR ({refs[0]} = {values[0]} AND {refs[1]} > {values[1]}))"

    def _literal(self, column: SelectColumn, value: Any) -> str:
        if column.kind == "int":
            return str(_as_int(value, column))
        moment = _as_datetime(value, column)
        if column.kind == "date":
            return f"TO_DATE('{moment:%Y-%m-%d}', '{_SQL_DATE}')"
        return f"TO_TIMESTAMP('{moment:{_PY_TIMESTAMP}}', '{_SQL_TIMESTAMP}')"


def read_batches(
    post: PostPage,
    query: IncrementQuery,
    page_size: int,
    batch_rows: int,
) -> Iterator[pa.RecordBatch]:
    """Pages through the statement (and its continuations past the result cap), yielding batches of `batch_rows`."""
    columns = query.columns
    schema = pa.schema([pa.field(c.name, c.arrow_type) for c in columns])
    limit = max(1, min(page_size, batch_rows))
    buffer: list[list[Any]] = []
    after: Mapping[str, Any] | None = None
    while True:
        statement = query.sql(after)
        offset, last = 0, None
        while True:
            page = post(statement, min(limit, SUITEQL_RESULT_CAP - offset), offset)
            items = page.get("items") if isinstance(page, Mapping) else None
            if not isinstance(items, list):
                raise ConnectorError(f"NetSuite answered a SuiteQL page of {query.table.name!r} without `items`")
            for item in items:
                buffer.append([_convert(_row_value(item, c), c, query.table.name) for c in columns])
            while len(buffer) >= batch_rows:
                yield _batch(buffer[:batch_rows], schema, columns)
                del buffer[:batch_rows]
            if items:
                last = items[-1]
            offset += len(items)
            if not items or not page.get("hasMore") or offset >= SUITEQL_RESULT_CAP:
                break
        if offset < SUITEQL_RESULT_CAP or last is None:
            break
        if not query.can_continue():
            raise ConnectorError(
                f"{query.table.name!r} has more than {SUITEQL_RESULT_CAP} rows to read and no `id` column to continue "
                "after the cap of one SuiteQL statement"
            )
        if after is not None and _row_value(last, query.id) == _row_value(after, query.id):  # type: ignore[arg-type]
            raise ConnectorError(
                f"SuiteQL returned the same rows of {query.table.name!r} again; the read cannot advance"
            )
        after = last
    if buffer:
        yield _batch(buffer, schema, columns)


def _batch(rows: Sequence[Sequence[Any]], schema: pa.Schema, columns: Sequence[SelectColumn]) -> pa.RecordBatch:
    arrays = [pa.array([row[i] for row in rows], type=c.arrow_type) for i, c in enumerate(columns)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _row_value(item: Mapping[str, Any], column: SelectColumn) -> Any:
    return item.get(column.sql_name)


def _convert(value: Any, column: SelectColumn, table: str) -> Any:
    if value is None or value == "" and column.kind != "string":
        return None
    try:
        if column.kind == "int":
            return _as_int(value, column)
        if column.kind == "float":
            return float(value)
        if column.kind == "bool":
            return _as_bool(value)
        if column.kind == "date":
            return date.fromisoformat(str(value))
        if column.kind == "timestamp":
            return datetime.strptime(str(value), _PY_TIMESTAMP)
    except (TypeError, ValueError, InvalidSourceConfig):
        raise ConnectorError(
            f"NetSuite returned {value!r} for {table}.{column.name}, which the metadata catalog declares as "
            f"{column.kind}"
        ) from None
    return value if isinstance(value, str) else json.dumps(value)


def _as_int(value: Any, column: SelectColumn) -> int:
    if isinstance(value, bool):
        raise InvalidSourceConfig(f"{value!r} is not an integer for {column.name}", field="watermark")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return int(value.strip())
    raise InvalidSourceConfig(f"{value!r} is not an integer for {column.name}", field="watermark")


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().upper()
    if text in ("T", "TRUE"):
        return True
    if text in ("F", "FALSE"):
        return False
    raise ValueError(value)


def _as_datetime(value: Any, column: SelectColumn) -> datetime:
    moment: Any = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidSourceConfig(
                f"{value!r} is not an ISO date or timestamp for {column.name}", field="watermark"
            ) from None
    elif isinstance(value, date) and not isinstance(value, datetime):
        moment = datetime(value.year, value.month, value.day)
    if not isinstance(moment, datetime):
        raise InvalidSourceConfig(f"{value!r} is not a date or timestamp for {column.name}", field="watermark")
    if moment.tzinfo is not None:
        # SuiteQL compares in the NetSuite user's time zone, and values come back without one: a zone-aware
        # watermark cannot be placed on that scale without knowing the user's preference.
        raise InvalidSourceConfig(
            f"the watermark for {column.name} must be a naive timestamp in the NetSuite user's time zone, as the "
            "values read from NetSuite are",
            field="watermark",
        )
    return moment
