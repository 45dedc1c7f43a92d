"""Incremental reads: how a table's new rows are selected, and how a strategy is suggested from its definition."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from crawlers.snapshot import ColumnSnapshot, TableSnapshot


class IncrementStrategy(StrEnum):
    """How new rows of a table are found between two extractions."""

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


@dataclass(frozen=True, slots=True)
class IncrementRequest:
    """One incremental read: rows of `table` after `watermark` (None: from the beginning), in batches.

    Connectors return rows ordered by the plan's column (ascending) so that a reader may stop after any batch
    and resume from the largest value it has seen.
    """

    table: TableSnapshot
    plan: IncrementPlan
    watermark: Any | None = None
    batch_rows: int = 50_000


_TIMESTAMP_NAMES = re.compile(
    r"^(updated|modified|last_?modified|last_?updated|changed|last_?changed)(_?(at|on|date|time|ts|timestamp))?$"
    r"|^(update|modify|modification|change)_?(date|time|ts|timestamp)$",
    re.IGNORECASE,
)
_TIMESTAMP_TYPES = ("timestamp", "datetime", "date", "time with", "timestamptz")
_KEY_TYPES = ("int", "serial", "bigint", "smallint", "integer", "number", "numeric(", "decimal(")
SMALL_TABLE_ROWS = 10_000


def _normalised(name: str) -> str:
    # lastModifiedDate -> last_modified_date, so camelCase sources (NetSuite) match the same rules.
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _is_timestamp(column: ColumnSnapshot) -> bool:
    return column.data_type.lower().startswith(_TIMESTAMP_TYPES) or "timestamp" in column.data_type.lower()


def _is_integer_like(column: ColumnSnapshot) -> bool:
    kind = column.data_type.lower()
    return any(kind.startswith(t) or t in kind for t in _KEY_TYPES) and "," not in kind.replace(",0)", ")")


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
