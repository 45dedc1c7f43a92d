"""Incremental reads: how a table's new rows are selected, and how a strategy is suggested from its definition."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from crawlers.snapshot import ColumnSnapshot, TableSnapshot


class IncrementStrategy(StrEnum):
    """How new rows of a table are found between two extractions.

    TIMESTAMP and KEY read `column > watermark` with a strict comparison. Two limits follow, as for any
    watermark-based change capture: a row committed *after* an extraction with a value *at or below* the watermark
    it set is never read (a long transaction whose `updated_at = now()` is its start time; a sequence value taken
    before a larger one but committed after it), and deletes are not seen. The column should therefore be
    fine-grained (a timestamp, not a date) and set close to commit time; FULL has neither limit.
    """

    TIMESTAMP = "timestamp"
    """Rows whose modification timestamp column is greater than the watermark (updated rows come again)."""
    KEY = "key"
    """Rows whose increasing key is greater than the watermark (append-only tables)."""
    FULL = "full"
    """Every row, every time (small tables, or tables with neither)."""


@dataclass(frozen=True, slots=True)
class IncrementPlan:
    """The strategy and the column it watches (None for FULL)."""

    strategy: IncrementStrategy
    column: str | None = None

    def __post_init__(self) -> None:
        if (self.strategy is IncrementStrategy.FULL) != (self.column is None):
            raise ValueError("a TIMESTAMP or KEY plan names its column; a FULL plan names none")


_OPERATORS = {(False, True): ">", (True, True): ">=", (False, False): "<", (True, False): "<="}


@dataclass(frozen=True, slots=True)
class ValueRange:
    """The plan-column values a read keeps (a backfill's): `low` and `high` bounds, None for no bound, each inclusive
    or not; rows whose column is NULL only when `nulls` (no comparison holds for NULL)."""

    low: Any = None
    low_inclusive: bool = True
    high: Any = None
    high_inclusive: bool = False
    nulls: bool = False

    def conditions(self) -> list[tuple[str, Any]]:
        """`(operator, value)` pairs, all of which a value in the range satisfies: `>`/`>=` then `<`/`<=`."""
        found = []
        if self.low is not None:
            found.append((_OPERATORS[(self.low_inclusive, True)], self.low))
        if self.high is not None:
            found.append((_OPERATORS[(self.high_inclusive, False)], self.high))
        return found

    def holds(self, value: Any) -> bool:
        """Whether one plan-column value is in the range."""
        if value is None:
            return self.nulls
        if self.low is not None and (value < self.low if self.low_inclusive else value <= self.low):
            return False
        return self.high is None or (value <= self.high if self.high_inclusive else value < self.high)


@dataclass(frozen=True, slots=True)
class IncrementRequest:
    """One incremental read: rows of `table` after `watermark` (None: from the beginning), in batches.

    Connectors return rows ordered by the plan's column (ascending) so that a reader may stop after any batch
    and resume from the largest value it has seen. Rows whose plan column is NULL are read only when `watermark`
    is None, and come first. For FULL the watermark is not used to select rows.

    `range`, for a TIMESTAMP or KEY plan, replaces the watermark: the rows whose plan value lies in it (a backfill).
    """

    table: TableSnapshot
    plan: IncrementPlan
    watermark: Any | None = None
    batch_rows: int = 50_000
    range: ValueRange | None = None

    def conditions(self) -> list[tuple[str, Any]]:
        """What the plan column must satisfy, as `(operator, value)` pairs (`>` the watermark, or the range's)."""
        if self.plan.strategy is IncrementStrategy.FULL:
            return []
        if self.range is not None:
            return self.range.conditions()
        return [] if self.watermark is None else [(">", self.watermark)]

    @property
    def reads_nulls(self) -> bool:
        """Whether rows whose plan column is NULL are read (first): without a watermark, or in a range that says so."""
        return self.range.nulls if self.range is not None else self.watermark is None

    def __post_init__(self) -> None:
        if not isinstance(self.batch_rows, int) or self.batch_rows < 1:
            raise ValueError(f"batch_rows must be a positive integer, got {self.batch_rows!r}")
        if self.range is not None and (self.plan.strategy is IncrementStrategy.FULL or self.watermark is not None):
            raise ValueError("a range is read by a TIMESTAMP or KEY plan, instead of a watermark")
        if self.plan.column is not None and self.table.columns and self.table.column(self.plan.column) is None:
            raise ValueError(
                f"plan column {self.plan.column!r} is not a column of {self.table.schema}.{self.table.name}"
            )


# -- watermarks as JSON ------------------------------------------------------------------------------------------

def encode_watermark(value: Any) -> Any:
    """A watermark (or any plan-column value) as JSON that `decode_watermark` turns back into an equal value.

    int, str and None stay as they are; other types become `{"type": ..., "value": ...}` so a timestamp does not
    come back as a string, nor a Decimal as a lossy float. Applications store watermarks this way.
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return {"type": "float", "value": repr(value)}
    if isinstance(value, Decimal):
        return {"type": "decimal", "value": str(value)}
    if isinstance(value, datetime):
        return {"type": "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, time):
        return {"type": "time", "value": value.isoformat()}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"type": "bytes", "value": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"cannot encode a watermark of type {type(value).__name__}")


def decode_watermark(data: Any) -> Any:
    """The value `encode_watermark` encoded."""
    if not isinstance(data, dict):
        return data
    kind, text = data.get("type"), data.get("value")
    if not isinstance(text, str):
        raise TypeError(f"watermark value must be a string, got {text!r}")
    if kind == "float":
        return float(text)
    if kind == "decimal":
        return Decimal(text)
    if kind == "datetime":
        return datetime.fromisoformat(text)
    if kind == "date":
        return date.fromisoformat(text)
    if kind == "time":
        return time.fromisoformat(text)
    if kind == "bytes":
        return base64.b64decode(text)
    raise ValueError(f"unknown watermark type {kind!r}")


# -- suggesting a plan --------------------------------------------------------------------------------------------

_TIMESTAMP_NAMES = re.compile(
    r"^(updated|modified|last_?modified|last_?updated|changed|last_?changed)(_?(at|on|date|time|ts|timestamp))?$"
    r"|^(update|modify|modification|change)_?(date|time|ts|timestamp)$"
    r"|^(date|time|datetime|ts)_?(modified|updated|changed)$",
    re.IGNORECASE,
)
# Date-only columns are left out on purpose: with a strict `>` a run at noon would set the watermark to today and
# never see the rows changed later that day. `time with time zone` is a time of day, not a moment.
# `string(date-time)` is how JSON-Schema-typed sources (NetSuite) spell a timestamp.
_TIMESTAMP_TYPE = re.compile(r"^(timestamp|datetime|smalldatetime|string\(date-time\))", re.IGNORECASE)
# An integer type, as PostgreSQL, SQLite, MySQL, SQL Server and Oracle spell it; numeric/decimal/number with a
# zero scale count too. Word-anchored, so `interval` or `point` never pass for `int`.
_KEY_TYPE = re.compile(
    r"^((tiny|small|medium|big)?int(eger)?\d*(\(\d+\))?|(small|big)?serial\d?|int[248]"
    r"|(numeric|decimal|number)\(\s*\d+\s*(,\s*0\s*)?\))(\s+(unsigned|signed))?$",
    re.IGNORECASE,
)
SMALL_TABLE_ROWS = 10_000


def _normalised(name: str) -> str:
    # lastModifiedDate -> last_modified_date, so camelCase sources (NetSuite) match the same rules.
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _is_timestamp(column: ColumnSnapshot) -> bool:
    return _TIMESTAMP_TYPE.match(column.data_type.strip()) is not None


def _is_integer_like(column: ColumnSnapshot) -> bool:
    return _KEY_TYPE.match(column.data_type.strip()) is not None


def suggest_plan(table: TableSnapshot) -> IncrementPlan:
    """The plan a user gets unless they override it.

    1. a modification timestamp column, recognised by name (`updated_at`, `lastModifiedDate`, …) and type;
    2. for append-only-looking tables, a single-column integer primary key;
    3. otherwise a full snapshot.
    """
    for column in table.columns:
        if _TIMESTAMP_NAMES.match(_normalised(column.name)) and _is_timestamp(column):
            return IncrementPlan(IncrementStrategy.TIMESTAMP, column.name)
    if table.primary_key is not None and len(table.primary_key.columns) == 1:
        key = table.column(table.primary_key.columns[0])
        if key is not None and _is_integer_like(key) and (table.row_estimate or 0) > SMALL_TABLE_ROWS:
            return IncrementPlan(IncrementStrategy.KEY, key.name)
    return IncrementPlan(IncrementStrategy.FULL)
