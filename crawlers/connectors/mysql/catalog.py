"""MySQL's catalog, read in bulk from `information_schema`: eight queries, whatever the number of tables.

The schema list is filtered by the scope in Python and the names that survive are passed as parameters to the bulk
queries that follow; names and patterns are never interpolated into SQL.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from crawlers.connector import ProgressCallback
from crawlers.connectors.mysql.dialect import ServerFlavour, quote_identifier
from crawlers.connectors.sql import Session
from crawlers.scope import Scope
from crawlers.snapshot import (
    ColumnSnapshot,
    ForeignKey,
    IndexSnapshot,
    SchemaSnapshot,
    SourceSnapshot,
    TableKind,
    TableSnapshot,
    UniqueConstraint,
)

DISCOVERY_STEPS = 9  # connect + eight catalog queries

_SCHEMAS_SQL = """
select SCHEMA_NAME, {comment}
from information_schema.SCHEMATA
where SCHEMA_NAME not in ('mysql', 'information_schema', 'performance_schema', 'sys')
"""

# MariaDB sequences are tables underneath but not relations anyone queries for data; temporary tables are private.
_TABLES_SQL = """
select TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_ROWS, TABLE_COMMENT, ENGINE, TABLE_COLLATION
from information_schema.TABLES
where TABLE_SCHEMA in ({schemas}) and TABLE_TYPE in ('BASE TABLE', 'SYSTEM VERSIONED', 'VIEW')
"""

_COLUMNS_SQL = """
select TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_TYPE,
       COLUMN_COMMENT, EXTRA, GENERATION_EXPRESSION
from information_schema.COLUMNS
where TABLE_SCHEMA in ({schemas})
"""

_STATISTICS_SQL = """
select TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART, COLLATION,
       INDEX_TYPE, INDEX_COMMENT, {expression}
from information_schema.STATISTICS
where TABLE_SCHEMA in ({schemas})
"""

# KEY_COLUMN_USAGE lists the columns of primary keys, unique constraints and foreign keys only. A primary key is
# always named PRIMARY (the name is reserved for it) and only foreign keys refer to a table, which tells the three
# apart without joining TABLE_CONSTRAINTS: information_schema tables are materialised without indexes, so joins
# between them grow quadratically with the number of constraints.
_KEY_COLUMNS_SQL = """
select TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, ORDINAL_POSITION,
       REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
from information_schema.KEY_COLUMN_USAGE
where TABLE_SCHEMA in ({schemas})
"""

_REFERENTIAL_SQL = """
select CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, DELETE_RULE, UPDATE_RULE
from information_schema.REFERENTIAL_CONSTRAINTS
where CONSTRAINT_SCHEMA in ({schemas})
"""

_VIEWS_SQL = """
select TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION
from information_schema.VIEWS
where TABLE_SCHEMA in ({schemas})
"""

# One row per partitioned table: the first partition (and its first subpartition) carries the method and expression.
_PARTITIONS_SQL = """
select TABLE_SCHEMA, TABLE_NAME, PARTITION_METHOD, PARTITION_EXPRESSION, SUBPARTITION_METHOD,
       SUBPARTITION_EXPRESSION
from information_schema.PARTITIONS
where TABLE_SCHEMA in ({schemas}) and PARTITION_ORDINAL_POSITION = 1
  and (SUBPARTITION_ORDINAL_POSITION is null or SUBPARTITION_ORDINAL_POSITION = 1)
"""

_KINDS = {"BASE TABLE": TableKind.TABLE, "SYSTEM VERSIONED": TableKind.TABLE, "VIEW": TableKind.VIEW}

TableKey = tuple[str, str]


def _in_list(names: Sequence[str]) -> tuple[str, tuple]:
    # `in (NULL)` matches nothing and keeps the statement count fixed when the scope selects no schema.
    if not names:
        return "NULL", ()
    return ", ".join(["%s"] * len(names)), tuple(names)


class _CatalogReader:
    """Sends the bulk queries of one discovery and assembles their rows into a `SourceSnapshot`."""

    def __init__(self, session: Session, flavour: ServerFlavour, scope: Scope, report: ProgressCallback) -> None:
        self.session = session
        self.flavour = flavour
        self.scope = scope
        self.report = report

    def _bulk(self, sql: str, schemas: Sequence[str], **fragments: str) -> list[tuple]:
        placeholders, params = _in_list(schemas)
        return self.session.fetch(sql.format(schemas=placeholders, **fragments), params)

    def read(self, database: str | None) -> SourceSnapshot:
        comment = "SCHEMA_COMMENT" if self.flavour.schema_comments else "NULL"
        sql, params = _SCHEMAS_SQL.format(comment=comment), ()
        if database is not None:
            sql, params = sql + " and SCHEMA_NAME = %s", (database,)
        schemas = {name: (note or None) for name, note in self.session.fetch(sql, params)
                   if self.scope.schema_in_scope(name)}
        names = sorted(schemas)
        self.report(2, DISCOVERY_STEPS, f"read {len(schemas)} schemas")

        relations: dict[TableKey, tuple] = {}
        for schema, name, table_type, rows, note, engine, collation in self._bulk(_TABLES_SQL, names):
            if self.scope.table_in_scope(schema, name):
                relations[(schema, name)] = (_KINDS[table_type], rows, note, engine, collation)
        self.report(3, DISCOVERY_STEPS, f"read {len(relations)} tables and views")

        columns, on_update = self._columns(names, relations)
        indexes = self._indexes(names, relations)
        primary, uniques, foreign = self._keys(names, relations)

        views = {(s, n): d for s, n, d in self._bulk(_VIEWS_SQL, names) if (s, n) in relations}
        self.report(8, DISCOVERY_STEPS, f"read {len(views)} view definitions")
        partition_keys = {
            (s, n): _partition_key(method, expression, sub_method, sub_expression)
            for s, n, method, expression, sub_method, sub_expression in self._bulk(_PARTITIONS_SQL, names)
            if (s, n) in relations and method
        }
        self.report(9, DISCOVERY_STEPS, f"read {len(partition_keys)} partitioned tables")

        tables = []
        for key in sorted(relations):
            kind, rows, note, engine, collation = relations[key]
            table_columns = tuple(sorted(columns.get(key, ()), key=lambda c: c.ordinal))
            properties: dict[str, Any] = {}
            if kind is TableKind.TABLE:
                properties = {"engine": engine, "collation": collation}
                if key in on_update:
                    properties["on_update"] = dict(sorted(on_update[key].items()))
            elif not table_columns:
                # MariaDB lists no columns for a view whose tables or columns are gone (warning 1356).
                properties = {"invalid_view": True}
            tables.append(
                TableSnapshot(
                    schema=key[0],
                    name=key[1],
                    kind=kind,
                    columns=table_columns,
                    # Views cannot carry comments; TABLE_COMMENT holds "VIEW" or the reason a view is broken.
                    comment=(note or None) if kind is TableKind.TABLE else None,
                    view_definition=views.get(key),
                    primary_key=primary.get(key),
                    unique_constraints=tuple(sorted(uniques.get(key, ()), key=lambda u: u.name)),
                    foreign_keys=tuple(sorted(foreign.get(key, ()), key=lambda f: f.name)),
                    indexes=tuple(sorted(indexes.get(key, ()), key=lambda i: i.name)),
                    partition_key=partition_keys.get(key),
                    row_estimate=None if kind is TableKind.VIEW or rows is None else int(rows),
                    properties=properties,
                )
            )
        schema_snapshots = tuple(SchemaSnapshot(name, schemas[name]) for name in names)
        return SourceSnapshot(schemas=schema_snapshots, tables=tuple(tables))

    def _columns(
        self, names: Sequence[str], relations: dict[TableKey, tuple]
    ) -> tuple[dict[TableKey, list[ColumnSnapshot]], dict[TableKey, dict[str, str]]]:
        columns: dict[TableKey, list[ColumnSnapshot]] = defaultdict(list)
        on_update: dict[TableKey, dict[str, str]] = defaultdict(dict)
        rows = self._bulk(_COLUMNS_SQL, names)
        for schema, table, name, ordinal, default, nullable, column_type, note, extra, expression in rows:
            key = (schema, table)
            if key not in relations:
                continue
            is_view = relations[key][0] is TableKind.VIEW
            extra = extra or ""
            generated = _generation(extra, expression)
            if generated is not None or is_view:
                default = None
            else:
                default = _default(default, extra, column_type, self.flavour)
            columns[key].append(
                ColumnSnapshot(
                    name=name,
                    ordinal=int(ordinal),
                    data_type=column_type,
                    nullable=nullable == "YES",
                    default=default,
                    comment=note or None,
                    generated=generated,
                )
            )
            update = re.search(r"on update (\S+)", extra, re.IGNORECASE)
            if update and not is_view:
                on_update[key][name] = update.group(1)
        self.report(4, DISCOVERY_STEPS, f"read {len(rows)} columns")
        return columns, on_update

    def _indexes(self, names: Sequence[str], relations: dict[TableKey, tuple]) -> dict[TableKey, list[IndexSnapshot]]:
        expression = "EXPRESSION" if self.flavour.index_expressions else "NULL"
        parts: dict[tuple[str, str, str], list[tuple]] = defaultdict(list)
        rows = self._bulk(_STATISTICS_SQL, names, expression=expression)
        for schema, table, index, non_unique, seq, column, sub_part, collation, index_type, note, expr in rows:
            if (schema, table) in relations:
                parts[(schema, table, index)].append(
                    (int(seq), column, sub_part, collation, index_type, note, expr, not int(non_unique))
                )
        indexes: dict[TableKey, list[IndexSnapshot]] = defaultdict(list)
        for (schema, table, index), index_parts in parts.items():
            index_parts.sort(key=lambda p: p[0])
            _, _, _, _, index_type, note, _, unique = index_parts[0]
            indexes[(schema, table)].append(
                IndexSnapshot(
                    name=index,
                    columns=tuple(column if column is not None else expr for _, column, *_, expr, _ in index_parts),
                    unique=unique,
                    definition=_index_definition(index, unique, index_type, note, index_parts),
                )
            )
        self.report(5, DISCOVERY_STEPS, f"read {len(parts)} indexes")
        return indexes

    def _keys(self, names: Sequence[str], relations: dict[TableKey, tuple]) -> tuple[
        dict[TableKey, UniqueConstraint], dict[TableKey, list[UniqueConstraint]], dict[TableKey, list[ForeignKey]]
    ]:
        # Primary and unique key names are unique per table (every primary key is called PRIMARY), foreign key
        # names per schema, and the two namespaces are apart: a foreign key may share its name with a unique key of
        # its own table. Key constraints by table, name and whether they refer to a table.
        key_columns: dict[tuple[str, str, str, bool], list[tuple]] = defaultdict(list)
        for schema, table, name, column, position, ref_schema, ref_table, ref_column in self._bulk(
            _KEY_COLUMNS_SQL, names
        ):
            if (schema, table) in relations:
                key_columns[(schema, table, name, ref_table is not None)].append(
                    (int(position), column, ref_schema, ref_table, ref_column)
                )
        self.report(6, DISCOVERY_STEPS, f"read {len(key_columns)} keys")
        rules = {
            (schema, table, name): (on_delete, on_update)
            for schema, table, name, on_delete, on_update in self._bulk(_REFERENTIAL_SQL, names)
        }
        self.report(7, DISCOVERY_STEPS, f"read {len(rules)} foreign key rules")

        primary: dict[TableKey, UniqueConstraint] = {}
        uniques: dict[TableKey, list[UniqueConstraint]] = defaultdict(list)
        foreign: dict[TableKey, list[ForeignKey]] = defaultdict(list)
        for (schema, table, name, refers), cols in key_columns.items():
            cols.sort(key=lambda c: c[0])
            column_names = tuple(c[1] for c in cols)
            ref_table = cols[0][3]
            if refers:
                on_delete, on_update = rules.get((schema, table, name), (None, None))
                foreign[(schema, table)].append(
                    ForeignKey(
                        name=name,
                        columns=column_names,
                        referred_schema=cols[0][2],
                        referred_table=ref_table,
                        referred_columns=tuple(c[4] for c in cols),
                        on_delete=on_delete,
                        on_update=on_update,
                    )
                )
            elif name == "PRIMARY":
                primary[(schema, table)] = UniqueConstraint(name, column_names)
            else:
                uniques[(schema, table)].append(UniqueConstraint(name, column_names))
        return primary, uniques, foreign


def _generation(extra: str, expression: str | None) -> str | None:
    flags = extra.upper()
    if "AUTO_INCREMENT" in flags:
        return "identity"
    if "GENERATED" in flags or "VIRTUAL" in flags or "PERSISTENT" in flags or "STORED" in flags:
        return expression or None
    return None


_NUMERIC_TYPES = ("tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "numeric", "float", "double",
                  "real", "bit", "year", "bool")
_CURRENT_TIME = re.compile(r"^(current_timestamp|now|localtime|localtimestamp)(\(\d*\))?$", re.IGNORECASE)


def _default(raw: str | None, extra: str, column_type: str, flavour: ServerFlavour) -> str | None:
    """The column default as an SQL expression, the way MariaDB ≥ 10.2.7 prints it, or None when there is none."""
    if raw is None:
        return None
    if flavour.quoted_defaults:
        # MariaDB prints NULL for "no default" and for DEFAULT NULL alike; a string 'NULL' would be quoted.
        return None if raw == "NULL" else raw
    # MySQL and older MariaDB print literals bare: quote the ones that are strings. Expressions are flagged
    # DEFAULT_GENERATED (MySQL ≥ 8.0.13), except CURRENT_TIMESTAMP, which predates that flag.
    if "DEFAULT_GENERATED" in extra.upper() or _CURRENT_TIME.match(raw):
        return raw
    base = column_type.split("(", 1)[0].split(" ", 1)[0].lower()
    if base in _NUMERIC_TYPES:
        return raw
    return "'" + raw.replace("\\", "\\\\").replace("'", "''") + "'"


def _index_definition(name: str, unique: bool, index_type: str, note: str | None, parts: list[tuple]) -> str:
    """The index clause as `SHOW CREATE TABLE` prints it (with the index type spelled out)."""
    if name == "PRIMARY":
        head = "PRIMARY KEY"
    elif index_type in ("FULLTEXT", "SPATIAL"):
        head = f"{index_type} KEY {quote_identifier(name)}"
    elif unique:
        head = f"UNIQUE KEY {quote_identifier(name)}"
    else:
        head = f"KEY {quote_identifier(name)}"
    rendered = []
    for _, column, sub_part, collation, *_, expression, _ in parts:
        text = quote_identifier(column) if column is not None else f"({expression})"
        if sub_part is not None:
            text += f"({int(sub_part)})"
        if collation == "D":
            text += " DESC"
        rendered.append(text)
    definition = f"{head} ({','.join(rendered)})"
    if index_type in ("BTREE", "HASH"):
        definition += f" USING {index_type}"
    if note:
        definition += " COMMENT '" + note.replace("'", "''") + "'"
    return definition


def _partition_key(method: str, expression: str | None, sub_method: str | None, sub_expression: str | None) -> str:
    key = f"{method} ({expression})" if expression else method
    if sub_method:
        key += f" SUBPARTITION BY {sub_method}" + (f" ({sub_expression})" if sub_expression else "")
    return key
