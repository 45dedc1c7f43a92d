"""Walks the scopes of one qualified query and resolves every column to the relation columns it comes from.

sqlglot's `qualify` has already attached every column to a source alias and expanded `SELECT *`; `build_scope`
splits the query into scopes (root, CTEs, derived tables, subqueries, UNION branches, table functions). What is
left, and done here:

* following a projection down through CTEs, derived tables, UNION/INTERSECT/EXCEPT branches (each branch
  contributes) and scalar subqueries to the tables and views of the snapshot, noting whether every step on the way
  was a bare column reference (`identity`) or not (`expression`);
* collecting every relation column the query mentions anywhere, which is what PostgreSQL's `view_column_usage`
  reports.

Window functions: the value of `f(x) OVER (PARTITION BY p ORDER BY o)` is computed from `x` only; `p` and `o`
decide which rows take part, like a WHERE clause, so they are referenced columns but not column-lineage sources.
`row_number() OVER (...)` thus has no source column. PostgreSQL has no per-output-column lineage to compare with;
its `view_column_usage` lists `p` and `o` as used, and so does `referenced_columns`.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, ScopeType

from crawlers.lineage.catalog import SnapshotCatalog
from crawlers.lineage.model import ColumnRef, RelationRef

Sources = dict[ColumnRef, bool]
"""Upstream column -> True when every path from it is a bare column reference (identity)."""

MISSING_RELATION = "table or view not in the snapshot (not discovered, out of the crawl's scope, or dropped)"


def _merge(into: Sources, more: Sources, identity: bool = True) -> None:
    for ref, same in more.items():
        into[ref] = into.get(ref, True) and same and identity


def _is_relation(source: object) -> bool:
    """A named table or view (as opposed to a table function such as `generate_series(...) AS g`)."""
    return isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier)


def _select_index(query: exp.Expr, name: str) -> int | None:
    """Position of the output column `name` of a SELECT or set operation (whose names are its first branch's)."""
    if not isinstance(query, exp.Query):
        return None
    names = query.named_selects
    return names.index(name) if name in names else None


class ScopeResolver:
    """Resolves the columns of one qualified query; collects unresolved references along the way."""

    def __init__(self, catalog: SnapshotCatalog, root: Scope) -> None:
        self.catalog = catalog
        self.root = root
        self.unresolved: dict[tuple[str, str], None] = {}
        self._memo: dict[tuple[int, int], Sources] = {}
        self._active: set[tuple[int, int]] = set()

    # -- what the caller asks ----------------------------------------------------------------------------------

    def output_count(self) -> int:
        return len(self._first_select(self.root.expression).selects)

    def output_names(self) -> list[str]:
        return list(self._first_select(self.root.expression).named_selects)

    def output_sources(self, index: int) -> Sources:
        """The relation columns the root query's `index`-th output column is computed from."""
        return self._output(self.root, index)

    def relations(self) -> list[RelationRef]:
        """Every table and view read anywhere in the query, in order of appearance, without repeats."""
        found: dict[RelationRef, None] = {}
        for scope in self.root.traverse():
            for source in scope.sources.values():
                if _is_relation(source):
                    ref = self._relation(source)
                    if ref is not None:
                        found[ref] = None
        return list(found)

    def referenced_columns(self) -> set[ColumnRef]:
        """Every relation column mentioned anywhere in the query (and all columns of a whole-row reference)."""
        found: set[ColumnRef] = set()
        for scope in self.root.traverse():
            for column in scope.columns:
                source = self._source(scope, column.table)
                if _is_relation(source):
                    ref = self._relation_column(source, column)
                    if ref is not None:
                        found.add(ref)
                elif source is None:
                    self._unattributed(scope, column)
            if isinstance(scope.expression, exp.Select):
                for projection in scope.expression.selects:
                    if isinstance(projection, exp.Star) or isinstance(projection.this, exp.Star):
                        self._unexpanded_star(scope, projection)  # qualify could not expand it
            for star in scope.stars:
                alias = _whole_row_alias(star)
                if alias is None or star.parent is scope.expression:
                    continue
                source = self._source(scope, alias)
                if _is_relation(source):
                    found.update(self._whole_row(source))
            for whole_row in scope.table_columns:
                source = self._source(scope, whole_row.name)
                if _is_relation(source):
                    found.update(self._whole_row(source))
        return found

    # -- resolution ----------------------------------------------------------------------------------------------

    def _first_select(self, query: exp.Expr) -> exp.Select:
        while isinstance(query, exp.SetOperation):
            query = query.this
        if isinstance(query, exp.Subquery):
            return self._first_select(query.this)
        assert isinstance(query, exp.Select), f"not a query: {query.sql()}"
        return query

    def _output(self, scope: Scope, index: int) -> Sources:
        key = (id(scope), index)
        if key in self._memo:
            return self._memo[key]
        if key in self._active:
            # A recursive CTE reading itself: its columns come from the anchor and the recursive branch, which
            # are being resolved already; the self-reference adds nothing new.
            return {}
        self._active.add(key)
        try:
            result = self._compute_output(scope, index)
        finally:
            self._active.discard(key)
        self._memo[key] = result
        return result

    def _compute_output(self, scope: Scope, index: int) -> Sources:
        query = scope.expression
        if scope.set_operation_scopes:
            # EXCEPT's right branch only removes rows: like a WHERE clause, it is referenced, not a value source
            branches = scope.set_operation_scopes[:1] if isinstance(query, exp.Except) else scope.set_operation_scopes
            result: Sources = {}
            for branch in branches:
                _merge(result, self._output(branch, index))
            return result
        values = _values_of(scope)
        if values is not None:
            # (VALUES (a, 1), (b, 2)) AS t(x, y): t.x is computed from the index-th item of every row
            result = {}
            for row in values.expressions:
                items = row.expressions if isinstance(row, exp.Tuple) else [row]
                if index < len(items):
                    item = items[index]
                    _merge(result, self._value(scope, item, identity=isinstance(item, exp.Column)))
            return result
        if scope.scope_type is ScopeType.UDTF or not isinstance(query, exp.Select):
            # A table function (LATERAL unnest(x), json_to_recordset(x) AS r(a, b)): each output is computed from
            # every column the call reads.
            result = {}
            for column in scope.columns:
                _merge(result, self._column(scope, column), identity=False)
            return result
        if index >= len(query.selects):
            return {}
        projection = query.selects[index]
        value = projection.unalias()
        bare = isinstance(value, exp.Column) and not isinstance(value.this, exp.Star)
        return self._value(scope, value, identity=bare)

    def _value(self, scope: Scope, value: exp.Expr, identity: bool) -> Sources:
        """The relation columns an expression evaluated in `scope` is computed from."""
        result: Sources = {}
        # sqlglot hangs the subqueries of a VALUES list on the enclosing scope, hence the walk outwards
        subqueries = {id(sub.expression): sub for outer in _outwards(scope) for sub in outer.subquery_scopes}
        for node in _value_nodes(value):
            whole_row = _whole_row_alias(node)
            if whole_row is not None:
                _merge(result, self._whole_row_sources(scope, whole_row))
            elif isinstance(node, exp.Column):
                _merge(result, self._column(scope, node), identity)
            else:  # a scalar subquery, EXISTS or IN (...) inside the value
                sub = subqueries.get(id(node))
                if sub is not None:
                    for i in range(len(self._first_select(node).selects)):
                        _merge(result, self._output(sub, i), identity=False)
        return result

    def _whole_row_sources(self, scope: Scope, alias: str) -> Sources:
        """A whole-row value (`to_jsonb(t)`, `t.*` inside a function) is computed from every column of `t`."""
        source = self._source(scope, alias)
        if source is None:
            self.unresolved[(f"{alias}.*", f"no source named {alias!r} in the query")] = None
            return {}
        if _is_relation(source):
            return dict.fromkeys(self._whole_row(source), False)
        if isinstance(source, Scope):
            values = _values_of(source)
            inner = _lateral_query(source) or source
            if values is not None:
                width = max((len(row.expressions) for row in values.expressions), default=0)
            elif source.scope_type is ScopeType.UDTF and inner is source:
                return {ref: False for ref in self._output(source, 0)}  # a table function: all outputs alike
            else:
                width = len(self._first_select(inner.expression).selects)
            result: Sources = {}
            for i in range(width):
                _merge(result, self._output(inner, i), identity=False)
            return result
        result = {}
        for argument in source.find_all(exp.Column):  # a table function in FROM
            _merge(result, self._column(scope, argument), identity=False)
        return result

    def _column(self, scope: Scope, column: exp.Column) -> Sources:
        if isinstance(column.this, exp.Star):
            return {}
        source = self._source(scope, column.table)
        if source is None:
            self._unattributed(scope, column)
            return {}
        if isinstance(source, Scope):
            if _values_of(source) is not None:
                names = source.expression.alias_column_names
                return self._output(source, names.index(column.name)) if column.name in names else {}
            if source.scope_type is ScopeType.UDTF:
                lateral_query = _lateral_query(source)
                if lateral_query is None:  # a table function: every output comes from all of its arguments
                    return self._output(source, 0)
                source = lateral_query
            index = _select_index(source.expression, column.name)
            if index is None:
                reference = f"{column.table}.{column.name}"
                self.unresolved[(reference, "no such output column in the subquery or CTE")] = None
                return {}
            return self._output(source, index)
        if _is_relation(source):
            ref = self._relation_column(source, column)
            return {ref: True} if ref is not None else {}
        # A table function in FROM (generate_series(...) AS g(d)): its output is computed from its arguments.
        result: Sources = {}
        for argument in source.find_all(exp.Column):
            _merge(result, self._column(scope, argument), identity=False)
        return result

    def _source(self, scope: Scope | None, name: str) -> exp.Table | Scope | None:
        """The source an alias names, looking outwards for correlated references (LATERAL, EXISTS, ...)."""
        if not name:
            return None
        return next((outer.sources[name] for outer in _outwards(scope) if name in outer.sources), None)

    # -- snapshot look-ups ---------------------------------------------------------------------------------------

    def _relation(self, table: exp.Table) -> RelationRef | None:
        ref = self.catalog.relation(table.db, table.name)
        if ref is None:
            self.unresolved[(_table_name(table), MISSING_RELATION)] = None
        return ref

    def _relation_column(self, table: exp.Table, column: exp.Column) -> ColumnRef | None:
        if self._relation(table) is None:
            self.unresolved[(f"{_table_name(table)}.{column.name}", "column of a table not in the snapshot")] = None
            return None
        ref = self.catalog.column(table.db, table.name, column.name)
        if ref is None:
            self.unresolved[(f"{_table_name(table)}.{column.name}", "no such column in the snapshot")] = None
        return ref

    def _whole_row(self, table: exp.Table) -> tuple[ColumnRef, ...]:
        if self._relation(table) is None:
            return ()
        return self.catalog.columns_of(table.db, table.name)

    def _unattributed(self, scope: Scope, column: exp.Column) -> None:
        if not column.table and _is_output_alias(scope, column):
            return  # `ORDER BY total` naming an output column: that column's own sources are counted already
        name = f"{column.table}.{column.name}" if column.table else column.name
        reason = (
            f"no source named {column.table!r} in the query"
            if column.table
            else "column matches no table of the query (unknown, or ambiguous between tables not in the snapshot)"
        )
        self.unresolved[(name, reason)] = None

    def _unexpanded_star(self, scope: Scope, star: exp.Expr) -> None:
        tables = [
            _table_name(source) for source in scope.sources.values() if _is_relation(source)
            and self.catalog.relation(source.db, source.name) is None
        ]
        detail = f" over {', '.join(tables)}" if tables else ""
        self.unresolved[(star.sql(), f"SELECT * could not be expanded{detail}: the columns are unknown")] = None


def _outwards(scope: Scope | None) -> Iterator[Scope]:
    """The scope and its enclosing scopes, innermost first."""
    while scope is not None:
        yield scope
        scope = scope.parent


def _is_output_alias(scope: Scope, column: exp.Column) -> bool:
    """An unqualified name outside the select list that names one of the scope's output columns."""
    query = scope.expression
    if not isinstance(query, exp.Select) or column.name not in query.named_selects:
        return False
    node: exp.Expr = column
    while node.parent is not None and node.parent is not query:
        node = node.parent
    return node.parent is query and node.arg_key != "expressions"


def _values_of(scope: Scope) -> exp.Values | None:
    """The VALUES list a scope is made of: `(VALUES ...) AS t(x)` or `LATERAL (VALUES ...) AS t(x)`."""
    node = scope.expression
    if isinstance(node, exp.Lateral):
        node = node.this.unnest() if isinstance(node.this, exp.Subquery) else node.this
    return node if isinstance(node, exp.Values) else None


def _lateral_query(scope: Scope) -> Scope | None:
    """The scope of the subquery of `LATERAL (SELECT ...)`, or None for a lateral table function."""
    inner = scope.expression.this if isinstance(scope.expression, exp.Lateral) else None
    if isinstance(inner, exp.Subquery):
        inner = inner.unnest()
    if not isinstance(inner, exp.Query):
        return None
    return next((s for s in scope.subquery_scopes if s.expression is inner), None)


def _table_name(table: exp.Table) -> str:
    return ".".join(part.name for part in table.parts)


def _whole_row_alias(node: exp.Expr) -> str | None:
    """The source alias of a whole-row reference (`row_to_json(t)`, or `t.*` inside an expression), else None."""
    if isinstance(node, exp.TableColumn):
        return node.name
    if isinstance(node, exp.Column) and isinstance(node.this, exp.Star) and node.table:
        return node.table
    return None


def _value_nodes(value: exp.Expr) -> Iterator[exp.Expr]:
    """Columns, whole-row references and subqueries a value is computed from.

    Stops at subqueries (their own scopes resolve them) and, in a window function, looks only at the function's
    arguments, not at PARTITION BY / ORDER BY / the frame.
    """
    stack: list[exp.Expr] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, (exp.Column, exp.TableColumn)):
            yield node
            continue
        if node is not value and isinstance(node, exp.Subquery):
            stack.append(node.this)
            continue
        if node is not value and isinstance(node, exp.Query):
            yield node
            continue
        if isinstance(node, exp.Window):
            stack.append(node.this)
            continue
        stack.extend(node.iter_expressions())
