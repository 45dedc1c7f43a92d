"""Plain, immutable values describing what a connector discovered in a source.

Snapshots are compared with `crawlers.diff.diff` and hashed with `TableSnapshot.definition_hash` so that a
re-crawl can skip tables whose definition did not change.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any


class TableKind(StrEnum):
    """What kind of relation a table entry is."""

    TABLE = "table"
    VIEW = "view"
    MATERIALIZED_VIEW = "materialized_view"
    FOREIGN_TABLE = "foreign_table"
    FILE = "file"


def _fields(value: Any) -> list[Any]:
    """A flat snapshot value (column, constraint, index) as a list of its field values, in declaration order."""
    return [list(v) if isinstance(v, tuple) else v for v in (getattr(value, name) for name in value.__slots__)]


@dataclass(frozen=True, slots=True)
class ColumnSnapshot:
    """One column: its type as the source spells it (with modifiers), nullability, default and comment."""

    name: str
    ordinal: int
    data_type: str
    nullable: bool = True
    default: str | None = None
    comment: str | None = None
    generated: str | None = None
    """The generation expression of a generated/computed column, or `identity` for identity columns."""


@dataclass(frozen=True, slots=True)
class UniqueConstraint:
    """A primary key or unique constraint over one or more columns."""

    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """A foreign key from `columns` of this table to `referred_columns` of another table of the same source."""

    name: str
    columns: tuple[str, ...]
    referred_schema: str
    referred_table: str
    referred_columns: tuple[str, ...]
    on_delete: str | None = None
    on_update: str | None = None


@dataclass(frozen=True, slots=True)
class IndexSnapshot:
    """An index; `definition` is the source's own DDL for it where the source offers one."""

    name: str
    columns: tuple[str, ...]
    unique: bool = False
    definition: str | None = None


@dataclass(frozen=True, slots=True)
class TableSnapshot:
    """A table, view, materialized view, foreign table or file, with everything discovery knows about it."""

    schema: str
    name: str
    kind: TableKind = TableKind.TABLE
    columns: tuple[ColumnSnapshot, ...] = ()
    comment: str | None = None
    view_definition: str | None = None
    primary_key: UniqueConstraint | None = None
    unique_constraints: tuple[UniqueConstraint, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[IndexSnapshot, ...] = ()
    partition_key: str | None = None
    """For a partitioned table, the source's partitioning expression (partitions are not listed as tables)."""
    row_estimate: int | None = None
    """The source's own estimate; it is volatile, so it is kept out of the definition hash."""
    properties: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)

    def column(self, name: str) -> ColumnSnapshot | None:
        return next((c for c in self.columns if c.name == name), None)

    def definition(self) -> dict[str, Any]:
        """Everything that makes up the table's definition: all fields but the volatile row estimate.

        Built by hand rather than with `dataclasses.asdict`, which deep-copies and costs milliseconds per wide
        table: every crawl hashes every table.
        """
        return {
            "schema": self.schema,
            "name": self.name,
            "kind": self.kind.value,
            "columns": [_fields(c) for c in self.columns],
            "comment": self.comment,
            "view_definition": self.view_definition,
            "primary_key": _fields(self.primary_key) if self.primary_key else None,
            "unique_constraints": [_fields(u) for u in self.unique_constraints],
            "foreign_keys": [_fields(f) for f in self.foreign_keys],
            "indexes": [_fields(i) for i in self.indexes],
            "partition_key": self.partition_key,
        }

    def definition_hash(self) -> str:
        payload = json.dumps(self.definition(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SchemaSnapshot:
    """A schema (namespace) with its comment; its tables live in `SourceSnapshot.tables`."""

    name: str
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class SourceSnapshot:
    """All schemas and tables discovered in one source within the requested scope, at one moment."""

    schemas: tuple[SchemaSnapshot, ...] = ()
    tables: tuple[TableSnapshot, ...] = ()
    discovered_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc), compare=False)
    queries: int = field(default=0, compare=False)
    """How many SQL statements (or requests) discovery sent to the source."""

    def table_map(self) -> dict[tuple[str, str], TableSnapshot]:
        return {t.key: t for t in self.tables}

    def schema_map(self) -> dict[str, SchemaSnapshot]:
        return {s.name: s for s in self.schemas}
