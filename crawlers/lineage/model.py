"""The values view lineage is made of: table edges, column edges, unresolved references, and their totals.

Names are the source's own spelling (as the snapshot has them), never sqlglot's normalised form, so an edge can be
matched against the catalog's tables and columns directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

RelationRef = tuple[str, str]
"""(schema, table or view)."""

ColumnRef = tuple[str, str, str]
"""(schema, table or view, column)."""


class Transformation(StrEnum):
    """How a view column's value is obtained from one upstream column."""

    IDENTITY = "identity"
    """Copied unchanged: a bare column reference, possibly through aliases, CTEs, subqueries or UNION branches."""
    EXPRESSION = "expression"
    """Computed: the upstream column is an input of a function, operator, cast, aggregate, CASE, subquery, ..."""


@dataclass(frozen=True, slots=True)
class TableEdge:
    """The view `downstream` reads the table or view `upstream` (anywhere in its query: FROM, JOIN, subqueries)."""

    upstream: RelationRef
    downstream: RelationRef


@dataclass(frozen=True, slots=True)
class ColumnEdge:
    """The view column `downstream` is computed from the column `upstream` of a table or of another view.

    `transformation` is `identity` only when every path from `upstream` to `downstream` is a bare column reference.
    """

    upstream: ColumnRef
    downstream: ColumnRef
    transformation: Transformation


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A reference in `view`'s definition that could not be resolved against the snapshot, and why."""

    view: RelationRef
    reference: str
    reason: str


@dataclass(frozen=True, slots=True)
class SingleViewLineage:
    """Everything learnt from one view's definition.

    `referenced_columns` holds every table/view column the query mentions anywhere (projections, WHERE, JOIN ON,
    GROUP BY, ORDER BY, window specs, subqueries, unused CTE columns), which is what PostgreSQL's
    `information_schema.view_column_usage` reports; `column_edges` only hold the columns a projected value is
    computed from.
    """

    view: RelationRef
    table_edges: tuple[TableEdge, ...] = ()
    column_edges: tuple[ColumnEdge, ...] = ()
    referenced_columns: frozenset[ColumnRef] = frozenset()
    unresolved: tuple[Unresolved, ...] = ()


@dataclass(frozen=True, slots=True)
class ViewLineage:
    """Lineage of every view and materialized view of one snapshot, one entry per view, in snapshot order."""

    views: tuple[SingleViewLineage, ...] = ()

    @property
    def table_edges(self) -> tuple[TableEdge, ...]:
        return tuple(edge for view in self.views for edge in view.table_edges)

    @property
    def column_edges(self) -> tuple[ColumnEdge, ...]:
        return tuple(edge for view in self.views for edge in view.column_edges)

    @property
    def unresolved(self) -> tuple[Unresolved, ...]:
        return tuple(item for view in self.views for item in view.unresolved)

    @property
    def referenced_columns(self) -> Mapping[RelationRef, frozenset[ColumnRef]]:
        return {view.view: view.referenced_columns for view in self.views}

    def of(self, schema: str, view: str) -> SingleViewLineage:
        """The lineage of one view; `KeyError` naming the view when the snapshot had no such view."""
        for item in self.views:
            if item.view == (schema, view):
                return item
        raise KeyError(f"no view {schema}.{view} in this lineage")
