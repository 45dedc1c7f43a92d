"""Lineage from SQL: table- and column-level edges of views, computed from their definitions with sqlglot.

    >>> lineage = view_lineage(snapshot, "postgres")
    >>> lineage.table_edges, lineage.column_edges, lineage.unresolved, lineage.referenced_columns

A pure library: it reads a `SourceSnapshot` and returns frozen values; storing the edges is the application's job.
"""

from crawlers.lineage.catalog import DIALECTS, sqlglot_dialect
from crawlers.lineage.model import (
    ColumnEdge,
    ColumnRef,
    RelationRef,
    SingleViewLineage,
    TableEdge,
    Transformation,
    Unresolved,
    ViewLineage,
)
from crawlers.lineage.views import (
    DefinitionError,
    ViewAnalyser,
    parse_view_query,
    single_view_lineage,
    view_lineage,
)

__all__ = [
    "DIALECTS",
    "ColumnEdge",
    "ColumnRef",
    "DefinitionError",
    "RelationRef",
    "SingleViewLineage",
    "TableEdge",
    "Transformation",
    "Unresolved",
    "ViewAnalyser",
    "ViewLineage",
    "parse_view_query",
    "single_view_lineage",
    "sqlglot_dialect",
    "view_lineage",
]
