"""What the bulk statements return, grouped per relation, and how a relation becomes a `TableSnapshot`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from crawlers.connectors.sqlite.ddl import _VIRTUAL, _parse_create_table, _parse_index_terms, _TableDDL
from crawlers.connectors.sqlite.names import SCHEMA, fold
from crawlers.snapshot import ColumnSnapshot, ForeignKey, IndexSnapshot, TableKind, TableSnapshot, UniqueConstraint


class _ColumnRow(NamedTuple):
    """One row of `pragma_table_xinfo`."""

    cid: int
    name: str
    type: str | None
    notnull: int
    default: str | None
    pk: int
    hidden: int


@dataclass(slots=True)
class _ForeignKeyRows:
    parent: str
    on_update: str | None
    on_delete: str | None
    columns: list[str] = field(default_factory=list)
    referred: list[str | None] = field(default_factory=list)


@dataclass(slots=True)
class _IndexRows:
    unique: bool
    origin: str
    sql: str | None
    columns: list[tuple[int, int, str | None]] = field(default_factory=list)


@dataclass(slots=True)
class _Relation:
    name: str
    is_view: bool
    sql: str
    columns: list[_ColumnRow] = field(default_factory=list)
    foreign_keys: dict[int, _ForeignKeyRows] = field(default_factory=dict)
    indexes: dict[str, _IndexRows] = field(default_factory=dict)
    row_estimate: int | None = None
    error: str | None = None

    @property
    def is_virtual(self) -> bool:
        return not self.is_view and _VIRTUAL.match(self.sql) is not None

    @property
    def is_plain_table(self) -> bool:
        return not self.is_view and not self.is_virtual

    def snapshot(self) -> TableSnapshot:
        if self.is_view:
            nothing_declared = _TableDDL()
            return TableSnapshot(
                schema=SCHEMA,
                name=self.name,
                kind=TableKind.VIEW,
                columns=self._column_snapshots(nothing_declared, rowid_alias=False),
                view_definition=self.sql,
                properties=self._properties(nothing_declared),
            )
        ddl = _TableDDL() if self.is_virtual else _parse_create_table(self.sql)
        pk_columns = tuple(c.name for c in sorted((c for c in self.columns if c.pk), key=lambda c: c.pk))
        # A rowid table whose one-column primary key got no automatic 'pk' index is an INTEGER PRIMARY KEY, i.e. the
        # rowid itself, which can never be NULL even though the pragma's notnull flag says otherwise.
        rowid_alias = (
            not ddl.without_rowid
            and len(pk_columns) == 1
            and not any(index.origin == "pk" for index in self.indexes.values())
            and not self.is_virtual
        )
        primary_key = (
            UniqueConstraint(name=ddl.pk_name or f"pk_{self.name}", columns=pk_columns) if pk_columns else None
        )
        unique_constraints: list[UniqueConstraint] = []
        indexes: list[IndexSnapshot] = []
        for name, index in self.indexes.items():
            if index.origin == "pk":
                continue
            columns = _index_columns(index)
            if index.origin == "u":
                key = tuple(fold(c) for c in columns)
                unique_constraints.append(UniqueConstraint(name=ddl.unique_names.get(key, name), columns=columns))
            else:
                indexes.append(IndexSnapshot(name=name, columns=columns, unique=index.unique, definition=index.sql))
        return TableSnapshot(
            schema=SCHEMA,
            name=self.name,
            kind=TableKind.TABLE,
            columns=self._column_snapshots(ddl, rowid_alias),
            comment=None,
            primary_key=primary_key,
            unique_constraints=tuple(sorted(unique_constraints, key=lambda u: (u.name, u.columns))),
            foreign_keys=self._foreign_keys(ddl),
            indexes=tuple(sorted(indexes, key=lambda i: i.name)),
            row_estimate=self.row_estimate,
            properties=self._properties(ddl),
        )

    def _column_snapshots(self, ddl: _TableDDL, rowid_alias: bool) -> tuple[ColumnSnapshot, ...]:
        result: list[ColumnSnapshot] = []
        # Hidden columns of virtual tables (hidden = 1) are the module's plumbing, not data a user declared.
        visible = [c for c in sorted(self.columns, key=lambda c: c.cid) if c.hidden != 1]
        for ordinal, column in enumerate(visible, start=1):
            generated = None
            if column.hidden in (2, 3):  # 2: VIRTUAL, 3: STORED
                generated = ddl.generated.get(fold(column.name), "generated")
            result.append(
                ColumnSnapshot(
                    name=column.name,
                    ordinal=ordinal,
                    data_type=column.type or "",
                    nullable=not column.notnull and not (rowid_alias and column.pk),
                    default=column.default,
                    comment=None,
                    generated=generated,
                )
            )
        return tuple(result)

    def _foreign_keys(self, ddl: _TableDDL) -> tuple[ForeignKey, ...]:
        keys: list[ForeignKey] = []
        used: set[str] = set()
        for fk_id, rows in sorted(self.foreign_keys.items()):
            columns = tuple(rows.columns)
            # A parent without a primary key leaves nothing to resolve to; SQLite itself rejects such a key on use.
            referred = tuple(r for r in rows.referred if r is not None)
            name = ddl.fk_names.get((tuple(fold(c) for c in columns), fold(rows.parent)))
            if name is None:
                name = f"fk_{self.name}_{'_'.join(columns)}"
                if name in used:
                    name = f"{name}_{rows.parent}"
                if name in used:
                    name = f"{name}_{fk_id}"
            used.add(name)
            keys.append(
                ForeignKey(
                    name=name,
                    columns=columns,
                    referred_schema=SCHEMA,
                    referred_table=rows.parent,
                    referred_columns=referred,
                    on_delete=rows.on_delete,
                    on_update=rows.on_update,
                )
            )
        return tuple(sorted(keys, key=lambda k: (k.name, k.columns)))

    def _properties(self, ddl: _TableDDL) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        if ddl.without_rowid:
            properties["without_rowid"] = True
        if ddl.strict:
            properties["strict"] = True
        if self.is_virtual:
            match = _VIRTUAL.match(self.sql)
            properties["virtual_module"] = match.group(1) if match else None
        if self.error:
            properties["discovery_error"] = self.error
        return properties


def _index_columns(index: _IndexRows) -> tuple[str, ...]:
    expressions = _parse_index_terms(index.sql) if index.sql else []
    columns: list[str] = []
    for seqno, cid, name in sorted(index.columns):
        if name is not None:
            columns.append(name)
        elif cid == -1:
            columns.append("rowid")
        else:
            # cid -2: an expression; the pragma does not say which, the CREATE INDEX statement does.
            columns.append(expressions[seqno] if seqno < len(expressions) else "<expression>")
    return tuple(columns)
