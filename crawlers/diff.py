"""`diff(previous, current)`: the pure comparison of two snapshots of one source."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from crawlers.snapshot import ColumnSnapshot, SourceSnapshot, TableSnapshot


class ChangeType(StrEnum):
    """Every kind of change the catalog records in a table's history."""

    SCHEMA_CREATED = "schema_created"
    SCHEMA_DELETED = "schema_deleted"
    SCHEMA_COMMENT_CHANGED = "schema_comment_changed"
    TABLE_CREATED = "table_created"
    TABLE_DELETED = "table_deleted"
    TABLE_KIND_CHANGED = "table_kind_changed"
    TABLE_COMMENT_CHANGED = "table_comment_changed"
    VIEW_DEFINITION_CHANGED = "view_definition_changed"
    PRIMARY_KEY_CHANGED = "primary_key_changed"
    UNIQUE_CONSTRAINTS_CHANGED = "unique_constraints_changed"
    FOREIGN_KEYS_CHANGED = "foreign_keys_changed"
    INDEXES_CHANGED = "indexes_changed"
    PARTITION_KEY_CHANGED = "partition_key_changed"
    COLUMN_ADDED = "column_added"
    COLUMN_REMOVED = "column_removed"
    COLUMN_TYPE_CHANGED = "column_type_changed"
    COLUMN_NULLABILITY_CHANGED = "column_nullability_changed"
    COLUMN_DEFAULT_CHANGED = "column_default_changed"
    COLUMN_COMMENT_CHANGED = "column_comment_changed"
    COLUMN_GENERATION_CHANGED = "column_generation_changed"


@dataclass(frozen=True, slots=True)
class Change:
    """One detected change with its before and after values (JSON-ready)."""

    type: ChangeType
    schema: str
    table: str | None = None
    column: str | None = None
    before: Any = None
    after: Any = None


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """What to apply to the catalog so that it matches `current`, and the changes to record."""

    changes: tuple[Change, ...] = ()
    schemas_created: tuple[str, ...] = ()
    schemas_deleted: tuple[str, ...] = ()
    tables_created: tuple[TableSnapshot, ...] = ()
    tables_deleted: tuple[tuple[str, str], ...] = ()
    tables_changed: tuple[TableSnapshot, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (self.changes or self.tables_changed)


_TABLE_ATTRIBUTES: tuple[tuple[str, ChangeType], ...] = (
    ("kind", ChangeType.TABLE_KIND_CHANGED),
    ("comment", ChangeType.TABLE_COMMENT_CHANGED),
    ("view_definition", ChangeType.VIEW_DEFINITION_CHANGED),
    ("primary_key", ChangeType.PRIMARY_KEY_CHANGED),
    ("unique_constraints", ChangeType.UNIQUE_CONSTRAINTS_CHANGED),
    ("foreign_keys", ChangeType.FOREIGN_KEYS_CHANGED),
    ("indexes", ChangeType.INDEXES_CHANGED),
    ("partition_key", ChangeType.PARTITION_KEY_CHANGED),
)

_COLUMN_ATTRIBUTES: tuple[tuple[str, ChangeType], ...] = (
    ("data_type", ChangeType.COLUMN_TYPE_CHANGED),
    ("nullable", ChangeType.COLUMN_NULLABILITY_CHANGED),
    ("default", ChangeType.COLUMN_DEFAULT_CHANGED),
    ("comment", ChangeType.COLUMN_COMMENT_CHANGED),
    ("generated", ChangeType.COLUMN_GENERATION_CHANGED),
)


def _json(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _json(v) for k, v in asdict(value).items()}
    if isinstance(value, StrEnum):
        return value.value
    return value


def column_summary(column: ColumnSnapshot) -> dict[str, Any]:
    return {
        "data_type": column.data_type,
        "nullable": column.nullable,
        "default": column.default,
        "comment": column.comment,
        "ordinal": column.ordinal,
    }


def _table_changes(before: TableSnapshot, after: TableSnapshot) -> list[Change]:
    schema, table = after.key
    changes = [
        Change(kind, schema, table, None, _json(getattr(before, attr)), _json(getattr(after, attr)))
        for attr, kind in _TABLE_ATTRIBUTES
        if getattr(before, attr) != getattr(after, attr)
    ]
    old_columns = {c.name: c for c in before.columns}
    new_columns = {c.name: c for c in after.columns}
    for name, column in new_columns.items():
        old = old_columns.get(name)
        if old is None:
            changes.append(Change(ChangeType.COLUMN_ADDED, schema, table, name, None, column_summary(column)))
            continue
        changes.extend(
            Change(kind, schema, table, name, getattr(old, attr), getattr(column, attr))
            for attr, kind in _COLUMN_ATTRIBUTES
            if getattr(old, attr) != getattr(column, attr)
        )
    changes.extend(
        Change(ChangeType.COLUMN_REMOVED, schema, table, name, column_summary(column), None)
        for name, column in old_columns.items()
        if name not in new_columns
    )
    return changes


def diff(previous: SourceSnapshot, current: SourceSnapshot) -> ChangeSet:
    """Compare two snapshots. Tables are identified by (schema, name); a rename reads as a delete plus a create.

    `tables_changed` lists every table present in both whose definition differs, including changes that are not
    worth a change-log row (such as a column moving position), so the catalog can be brought up to date.
    """
    changes: list[Change] = []
    old_schemas, new_schemas = previous.schema_map(), current.schema_map()
    schemas_created = tuple(sorted(set(new_schemas) - set(old_schemas)))
    schemas_deleted = tuple(sorted(set(old_schemas) - set(new_schemas)))
    changes.extend(Change(ChangeType.SCHEMA_CREATED, s) for s in schemas_created)
    for name in sorted(set(old_schemas) & set(new_schemas)):
        if old_schemas[name].comment != new_schemas[name].comment:
            changes.append(
                Change(
                    ChangeType.SCHEMA_COMMENT_CHANGED, name, None, None,
                    old_schemas[name].comment, new_schemas[name].comment,
                )
            )

    old_tables, new_tables = previous.table_map(), current.table_map()
    created = [new_tables[k] for k in sorted(set(new_tables) - set(old_tables))]
    deleted = sorted(set(old_tables) - set(new_tables))
    changed: list[TableSnapshot] = []
    for table in created:
        changes.append(
            Change(
                ChangeType.TABLE_CREATED, table.schema, table.name, None, None,
                {"kind": table.kind.value, "columns": [c.name for c in table.columns]},
            )
        )
    for key in sorted(set(old_tables) & set(new_tables)):
        before, after = old_tables[key], new_tables[key]
        if before.definition() != after.definition():
            changed.append(after)
            changes.extend(_table_changes(before, after))
    for key in deleted:
        table = old_tables[key]
        changes.append(
            Change(
                ChangeType.TABLE_DELETED, table.schema, table.name, None,
                {"kind": table.kind.value, "columns": [c.name for c in table.columns]}, None,
            )
        )
    changes.extend(Change(ChangeType.SCHEMA_DELETED, s) for s in schemas_deleted)
    return ChangeSet(
        changes=tuple(changes),
        schemas_created=schemas_created,
        schemas_deleted=schemas_deleted,
        tables_created=tuple(created),
        tables_deleted=tuple(deleted),
        tables_changed=tuple(changed),
    )
