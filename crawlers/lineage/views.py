"""Lineage of the views of a snapshot, from their SQL definitions.

Each definition is parsed with sqlglot in the source's dialect, qualified against the snapshot (its tables and
views with their columns are the schema) and walked scope by scope (see `crawlers.lineage.scopes`). A view that
reads another view gets edges to that view's columns, not to the tables beneath it: the lineage graph chains them.

Definitions may be the bare SELECT (PostgreSQL's `pg_get_viewdef`, MySQL's `information_schema.views`) or the full
`CREATE VIEW v(a, b) AS ...` text (SQLite's `sqlite_schema.sql`, MySQL's `SHOW CREATE VIEW`). The view's own column
names always come from the snapshot, mapped by position onto the query's output columns, which is what a
`CREATE VIEW v(a, b)` column list means.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.qualify_tables import qualify_tables
from sqlglot.optimizer.scope import build_scope

from crawlers.lineage.catalog import DEFAULT_SCHEMAS, SnapshotCatalog, sqlglot_dialect
from crawlers.lineage.model import (
    ColumnEdge,
    SingleViewLineage,
    TableEdge,
    Transformation,
    Unresolved,
    ViewLineage,
)
from crawlers.lineage.scopes import MISSING_RELATION, ScopeResolver
from crawlers.snapshot import SourceSnapshot, TableKind, TableSnapshot

VIEW_KINDS = (TableKind.VIEW, TableKind.MATERIALIZED_VIEW)


class DefinitionError(ValueError):
    """A view definition that is not one SELECT (or one CREATE VIEW ... AS SELECT) sqlglot can parse."""


def view_lineage(snapshot: SourceSnapshot, dialect: str, default_schema: str | None = None) -> ViewLineage:
    """Lineage of every view and materialized view in `snapshot`.

    `dialect` is the connector kind (`postgres`, `mysql`, `sqlite`). `default_schema` is where unqualified table
    names are looked up; by default `public` for PostgreSQL (the search_path under which `pg_get_viewdef` leaves
    names unqualified) and the view's own schema for MySQL and SQLite.
    """
    analyser = ViewAnalyser(snapshot, dialect, default_schema)
    return ViewLineage(tuple(analyser.analyse(t) for t in snapshot.tables if t.kind in VIEW_KINDS))


def single_view_lineage(
    snapshot: SourceSnapshot, schema: str, view: str, dialect: str, default_schema: str | None = None
) -> SingleViewLineage:
    """Lineage of one view of `snapshot`; `KeyError` naming it when the snapshot holds no such view."""
    table = snapshot.table_map().get((schema, view))
    if table is None or table.kind not in VIEW_KINDS:
        raise KeyError(f"the snapshot has no view {schema}.{view}")
    return ViewAnalyser(snapshot, dialect, default_schema).analyse(table)


def parse_view_query(sql: str, dialect: str) -> tuple[exp.Query, list[str]]:
    """The query of a view definition and the column list of its `CREATE VIEW v(a, b)`, if any.

    `dialect` is a sqlglot dialect name. Raises `DefinitionError` with sqlglot's message when the text is not
    exactly one query or one CREATE VIEW.
    """
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except ParseError as error:
        raise DefinitionError(f"sqlglot cannot parse the definition: {_parse_message(error)}") from None
    except SqlglotError as error:
        raise DefinitionError(f"sqlglot cannot parse the definition: {error}") from None
    if len(statements) != 1:
        raise DefinitionError(f"the definition holds {len(statements)} statements, expected one")
    statement = statements[0]
    columns: list[str] = []
    if isinstance(statement, exp.Create):
        if statement.kind != "VIEW":
            raise DefinitionError(f"the definition creates a {statement.kind}, not a view")
        target = statement.this
        if isinstance(target, exp.Schema):
            columns = [e.name for e in target.expressions]
        statement = statement.expression
    if isinstance(statement, exp.Subquery):
        statement = statement.unnest()
    if isinstance(statement, exp.Values):
        statement = _values_as_select(statement)
    if not isinstance(statement, exp.Query):
        kind = type(statement).__name__ if statement is not None else "nothing"
        raise DefinitionError(f"the definition is not a query (sqlglot read it as {kind})")
    return statement, columns


def _values_as_select(values: exp.Values) -> exp.Select:
    """`VALUES (...), (...)` as `SELECT * FROM (VALUES ...) AS _values(column1, ...)`, PostgreSQL's column names."""
    rows = values.expressions
    width = len(rows[0].expressions) if rows and isinstance(rows[0], exp.Tuple) else 1
    names = [exp.to_identifier(f"column{i + 1}") for i in range(width)]
    values.set("alias", exp.TableAlias(this=exp.to_identifier("_values"), columns=names))
    return exp.select("*").from_(values)


def _parse_message(error: ParseError) -> str:
    """sqlglot's first parse error without the terminal underlining its default message carries."""
    if not error.errors:
        return str(error)
    first = error.errors[0]
    return f"{first.get('description')} at line {first.get('line')}, column {first.get('col')}"


class ViewAnalyser:
    """Analyses the views of one snapshot; builds the sqlglot schema once for all of them."""

    def __init__(self, snapshot: SourceSnapshot, dialect: str, default_schema: str | None = None) -> None:
        self.dialect = sqlglot_dialect(dialect)
        self.default_schema = default_schema if default_schema is not None else DEFAULT_SCHEMAS[dialect]
        self.catalog = SnapshotCatalog(snapshot, dialect)

    def analyse(self, view: TableSnapshot) -> SingleViewLineage:
        """The lineage of `view`; problems become `Unresolved` entries rather than exceptions."""
        if not view.view_definition or not view.view_definition.strip():
            return self._failed(view, "the source gave no definition for this view")
        try:
            query, declared = parse_view_query(view.view_definition, self.dialect)
        except DefinitionError as error:
            return self._failed(view, str(error))
        db = self.catalog.fold(self.default_schema or view.schema)
        try:
            qualified = qualify(
                query,
                dialect=self.dialect,
                schema=self.catalog.schema,
                db=db,
                # an unknown column must become an Unresolved entry, not abort the whole view
                allow_partial_qualification=True,
                validate_qualify_columns=False,
                quote_identifiers=False,
            )
            root = build_scope(qualified)
            if root is None:
                raise DefinitionError("sqlglot found no query scope")
            return self._resolved(view, ScopeResolver(self.catalog, root), declared)
        except Exception as error:  # noqa: BLE001 - one unreadable view must not stop the lineage of the others
            # qualify rewrites the tree in place: start again from the text
            return self._tables_only(view, parse_view_query(view.view_definition, self.dialect)[0], db, error)

    # -- results -----------------------------------------------------------------------------------------------

    def _resolved(self, view: TableSnapshot, resolver: ScopeResolver, declared: list[str]) -> SingleViewLineage:
        table_edges = tuple(TableEdge(upstream=ref, downstream=view.key) for ref in resolver.relations())
        referenced = frozenset(resolver.referenced_columns())
        column_edges: list[ColumnEdge] = []
        for index, name in self._downstream_columns(view, resolver, declared):
            sources = resolver.output_sources(index)
            for upstream in sorted(sources):
                kind = Transformation.IDENTITY if sources[upstream] else Transformation.EXPRESSION
                column_edges.append(ColumnEdge(upstream, (view.schema, view.name, name), kind))
        unresolved = tuple(Unresolved(view.key, ref, reason) for ref, reason in resolver.unresolved)
        return SingleViewLineage(view.key, table_edges, tuple(column_edges), referenced, unresolved)

    def _downstream_columns(
        self, view: TableSnapshot, resolver: ScopeResolver, declared: list[str]
    ) -> list[tuple[int, str]]:
        """(output position, view column name) pairs: by position, or by name when the counts disagree.

        The names are the snapshot's columns of the view; without them (a source that could not list them), the
        `CREATE VIEW v(a, b)` list, else the query's own output names.
        """
        names = [c.name for c in sorted(view.columns, key=lambda c: c.ordinal)] or declared
        count = resolver.output_count()
        if not names:
            return list(enumerate(resolver.output_names()))
        if len(names) == count:
            return list(enumerate(names))
        outputs = {self.catalog.fold(n): i for i, n in enumerate(resolver.output_names())}
        pairs = [(outputs[self.catalog.fold(n)], n) for n in names if self.catalog.fold(n) in outputs]
        resolver.unresolved[
            (view.name, f"the definition yields {count} columns, the snapshot lists {len(names)}; matched by name")
        ] = None
        return pairs

    def _tables_only(
        self, view: TableSnapshot, query: exp.Query, db: str, error: Exception
    ) -> SingleViewLineage:
        """When columns cannot be resolved, still report the tables the query reads (qualifying tables only)."""
        reason = f"columns could not be resolved: {type(error).__name__}: {error}"
        unresolved = [Unresolved(view.key, view.name, reason)]
        edges: dict[TableEdge, None] = {}
        try:
            tables = qualify_tables(normalize_identifiers(query, dialect=self.dialect), db=db, dialect=self.dialect)
        except Exception:  # noqa: BLE001 - keep the first error, which is the one a user can act on
            return SingleViewLineage(view.key, unresolved=tuple(unresolved))
        cte_names = {cte.alias for cte in tables.find_all(exp.CTE)}
        for table in tables.find_all(exp.Table):
            if not isinstance(table.this, exp.Identifier) or (not table.db and table.name in cte_names):
                continue
            ref = self.catalog.relation(table.db, table.name)
            if ref is None:
                unresolved.append(Unresolved(view.key, ".".join(p.name for p in table.parts), MISSING_RELATION))
            else:
                edges[TableEdge(ref, view.key)] = None
        return SingleViewLineage(view.key, tuple(edges), unresolved=tuple(dict.fromkeys(unresolved)))

    def _failed(self, view: TableSnapshot, reason: str) -> SingleViewLineage:
        return SingleViewLineage(view.key, unresolved=(Unresolved(view.key, view.name, reason),))
