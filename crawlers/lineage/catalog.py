"""The snapshot as sqlglot sees it: a `MappingSchema` under the dialect's identifier rules, and the way back.

sqlglot folds unquoted identifiers the way the dialect does (PostgreSQL lowercases, SQLite ignores case, MySQL keeps
it). The snapshot holds the source's exact names, so each name is folded here as a *quoted* identifier would be:
PostgreSQL keeps `"MixedCase"` as it is, SQLite still folds it. The schema handed to sqlglot uses the folded names
(`normalize=False`, so sqlglot does not fold them a second time), and the maps below turn a folded name back into
the source's spelling for the edges we report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.schema import MappingSchema

from crawlers.lineage.model import ColumnRef, RelationRef
from crawlers.snapshot import SourceSnapshot, TableSnapshot

DIALECTS: dict[str, str] = {"postgres": "postgres", "mysql": "mysql", "sqlite": "sqlite"}
"""Connector kind -> sqlglot dialect name."""

DEFAULT_SCHEMAS: dict[str, str | None] = {"postgres": "public", "mysql": None, "sqlite": None}
"""Where an unqualified table name is looked up; None means "the view's own schema" (MySQL, SQLite)."""


def sqlglot_dialect(kind: str) -> str:
    """The sqlglot dialect for a connector kind; `ValueError` naming the field when the kind has none."""
    try:
        return DIALECTS[kind]
    except KeyError:
        raise ValueError(
            f"dialect: view lineage does not support {kind!r}; expected one of {', '.join(sorted(DIALECTS))}"
        ) from None


@dataclass(slots=True)
class _Relation:
    table: TableSnapshot
    columns: dict[str, str] = field(default_factory=dict)
    """Folded column name -> the source's spelling."""


class SnapshotCatalog:
    """The relations of one snapshot, keyed by folded names, plus the sqlglot schema built from them."""

    def __init__(self, snapshot: SourceSnapshot, kind: str) -> None:
        self.kind = kind
        self.dialect = Dialect.get_or_raise(sqlglot_dialect(kind))
        self._relations: dict[tuple[str, str], _Relation] = {}
        mapping: dict[str, dict[str, dict[str, str]]] = {}
        for table in snapshot.tables:
            key = (self.fold(table.schema), self.fold(table.name))
            if key in self._relations:  # two names that only differ by case, on a case-insensitive source
                continue
            relation = _Relation(table)
            for column in sorted(table.columns, key=lambda c: c.ordinal):
                relation.columns.setdefault(self.fold(column.name), column.name)
            self._relations[key] = relation
            # sqlglot infers the schema's depth from its first entries: a relation without columns would
            # look like a shallower level, so it is left out of the schema (it still counts as a relation).
            if relation.columns:
                # The type is not needed to qualify names; a neutral one avoids parsing every source type.
                mapping.setdefault(key[0], {})[key[1]] = {name: "unknown" for name in relation.columns}
        self.schema = MappingSchema(mapping, dialect=self.dialect, normalize=False)

    def fold(self, name: str) -> str:
        """`name` as the dialect folds a quoted identifier of that spelling."""
        return self.dialect.normalize_identifier(exp.to_identifier(name, quoted=True)).name

    def relation(self, schema: str, name: str) -> RelationRef | None:
        """The source's spelling of the relation with these folded names, or None if the snapshot lacks it."""
        found = self._relations.get((schema, name))
        return found.table.key if found else None

    def column(self, schema: str, name: str, column: str) -> ColumnRef | None:
        """The source's spelling of a column given by folded names, or None if the relation or column is missing."""
        found = self._relations.get((schema, name))
        if found is None or column not in found.columns:
            return None
        return (found.table.schema, found.table.name, found.columns[column])

    def columns_of(self, schema: str, name: str) -> tuple[ColumnRef, ...]:
        """Every column of a relation given by folded names, in ordinal order (empty if it is unknown)."""
        found = self._relations.get((schema, name))
        if found is None:
            return ()
        return tuple((found.table.schema, found.table.name, real) for real in found.columns.values())
