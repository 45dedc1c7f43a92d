"""View lineage from SQL (crawlers.lineage) on hand-written snapshots: one test per SQL construct, no database.

The expected edges are written out by hand from the SQL in each test; the PostgreSQL test module checks the same
library against the server's own dependency tracking.
"""

from __future__ import annotations

import pytest

from crawlers.lineage import (
    ColumnEdge,
    TableEdge,
    Transformation,
    Unresolved,
    ViewLineage,
    parse_view_query,
    single_view_lineage,
    sqlglot_dialect,
    view_lineage,
)
from crawlers.snapshot import ColumnSnapshot, SourceSnapshot, TableKind, TableSnapshot

I, E = "identity", "expression"
MISSING_TABLE = "table or view not in the snapshot (not discovered, out of the crawl's scope, or dropped)"


# -- factories ------------------------------------------------------------------------------------------------------

def relation(schema: str, name: str, *columns: str, kind: TableKind = TableKind.TABLE, sql: str | None = None):
    return TableSnapshot(
        schema=schema,
        name=name,
        kind=kind,
        view_definition=sql,
        columns=tuple(ColumnSnapshot(c, i + 1, "integer") for i, c in enumerate(columns)),
    )


def view(schema: str, name: str, sql: str, *columns: str, kind: TableKind = TableKind.VIEW) -> TableSnapshot:
    return relation(schema, name, *columns, kind=kind, sql=sql)


SHOP_TABLES = (
    relation("shop", "customers", "id", "name", "email", "region", "profile"),
    relation("shop", "orders", "id", "customer_id", "total", "status", "placed_at", "note"),
    relation("shop", "returns", "order_id", "qty", "reason"),
    relation("public", "regions", "code", "name", "parent"),
)


def lineage_of(sql: str, *columns: str, dialect: str = "postgres", extra: tuple[TableSnapshot, ...] = ()):
    """The lineage of one view `shop.v` defined by `sql` over the shop tables (plus `extra` relations)."""
    snapshot = SourceSnapshot(tables=(*SHOP_TABLES, *extra, view("shop", "v", sql, *columns)))
    return single_view_lineage(snapshot, "shop", "v", dialect)


def column_edges(result) -> set[tuple[str, str, str]]:
    """Column edges as ('schema.table.column', 'view column', kind) triples, easy to write out by hand."""
    return {(".".join(e.upstream), e.downstream[2], e.transformation.value) for e in result.column_edges}


def tables(result) -> set[str]:
    return {".".join(e.upstream) for e in result.table_edges}


def referenced(result) -> set[str]:
    return {".".join(c) for c in result.referenced_columns}


def unresolved(result) -> set[tuple[str, str]]:
    return {(u.reference, u.reason) for u in result.unresolved}


# -- identity, aliases, expressions ------------------------------------------------------------------------------

def test_bare_columns_and_aliases_are_identity_and_named_after_the_view_columns():
    result = lineage_of("SELECT c.id AS customer_id, c.name FROM shop.customers c", "customer_id", "name")
    assert result.column_edges == (
        ColumnEdge(("shop", "customers", "id"), ("shop", "v", "customer_id"), Transformation.IDENTITY),
        ColumnEdge(("shop", "customers", "name"), ("shop", "v", "name"), Transformation.IDENTITY),
    )
    assert result.table_edges == (TableEdge(("shop", "customers"), ("shop", "v")),)
    assert result.unresolved == ()


def test_functions_operators_casts_case_and_coalesce_are_expressions_of_every_input():
    result = lineage_of(
        "SELECT upper(email) AS e, total * 2 AS t2, total::int AS ti, CAST(placed_at AS date) AS d,"
        " CASE WHEN status = 'paid' THEN total ELSE 0 END AS paid, COALESCE(note, status) AS label,"
        " 42 AS answer FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id",
        "e", "t2", "ti", "d", "paid", "label", "answer",
    )
    assert column_edges(result) == {
        ("shop.customers.email", "e", E),
        ("shop.orders.total", "t2", E),
        ("shop.orders.total", "ti", E),
        ("shop.orders.placed_at", "d", E),
        ("shop.orders.status", "paid", E),
        ("shop.orders.total", "paid", E),
        ("shop.orders.note", "label", E),
        ("shop.orders.status", "label", E),
    }  # `answer` is a constant: no upstream column at all


# -- joins, WHERE, GROUP BY: referenced but not projected ---------------------------------------------------------

def test_join_and_filter_columns_are_referenced_but_not_column_sources():
    result = lineage_of(
        "SELECT o.id, c.name FROM shop.orders o LEFT JOIN shop.customers c ON c.id = o.customer_id"
        " WHERE o.status = 'paid' ORDER BY o.placed_at",
        "id", "name",
    )
    assert column_edges(result) == {("shop.orders.id", "id", I), ("shop.customers.name", "name", I)}
    assert tables(result) == {"shop.orders", "shop.customers"}
    assert referenced(result) == {
        "shop.orders.id", "shop.customers.name", "shop.customers.id", "shop.orders.customer_id",
        "shop.orders.status", "shop.orders.placed_at",
    }


def test_aggregates_with_group_by_and_having():
    result = lineage_of(
        "SELECT customer_id, count(*) AS n, sum(total) AS s FROM shop.orders GROUP BY customer_id"
        " HAVING max(placed_at) > now()",
        "customer_id", "n", "s",
    )
    assert column_edges(result) == {("shop.orders.customer_id", "customer_id", I), ("shop.orders.total", "s", E)}
    assert "shop.orders.placed_at" in referenced(result)


# -- CTEs and subqueries ---------------------------------------------------------------------------------------

def test_ctes_are_followed_through_chains_and_keep_identity():
    result = lineage_of(
        "WITH paid AS (SELECT customer_id AS cid, total FROM shop.orders WHERE status = 'paid'),"
        " per AS (SELECT cid, sum(total) AS s FROM paid GROUP BY cid)"
        " SELECT c.name, per.cid, per.s FROM per JOIN shop.customers c ON c.id = per.cid",
        "name", "cid", "s",
    )
    assert column_edges(result) == {
        ("shop.customers.name", "name", I),
        ("shop.orders.customer_id", "cid", I),
        ("shop.orders.total", "s", E),
    }
    assert tables(result) == {"shop.orders", "shop.customers"}


def test_recursive_cte_terminates_and_traces_both_branches():
    result = lineage_of(
        "WITH RECURSIVE tree(code, name, depth) AS ("
        " SELECT code, name, 1 FROM regions WHERE parent IS NULL"
        " UNION ALL SELECT r.code, upper(r.name), t.depth + 1 FROM regions r JOIN tree t ON r.parent = t.code)"
        " SELECT code, name, depth FROM tree",
        "code", "name", "depth",
    )
    assert column_edges(result) == {
        ("public.regions.code", "code", I),
        ("public.regions.name", "name", E),  # identity in the anchor, upper() in the recursive branch
    }
    assert referenced(result) == {"public.regions.code", "public.regions.name", "public.regions.parent"}


def test_nested_subqueries_in_from():
    result = lineage_of(
        "SELECT x.cid, x.n FROM (SELECT y.cid, count(*) AS n FROM"
        " (SELECT customer_id AS cid FROM shop.orders WHERE total > 0) y GROUP BY y.cid) x",
        "cid", "n",
    )
    assert column_edges(result) == {("shop.orders.customer_id", "cid", I)}
    assert referenced(result) == {"shop.orders.customer_id", "shop.orders.total"}


def test_subqueries_in_where_add_tables_and_referenced_columns_only():
    result = lineage_of(
        "SELECT c.id FROM shop.customers c WHERE EXISTS (SELECT 1 FROM shop.orders o WHERE o.customer_id = c.id)"
        " AND c.region IN (SELECT code FROM regions WHERE name LIKE 'E%')",
        "id",
    )
    assert column_edges(result) == {("shop.customers.id", "id", I)}
    assert tables(result) == {"shop.customers", "shop.orders", "public.regions"}
    assert referenced(result) == {
        "shop.customers.id", "shop.customers.region", "shop.orders.customer_id",
        "public.regions.code", "public.regions.name",
    }


def test_scalar_subquery_in_select_contributes_its_projection_not_its_correlation():
    result = lineage_of(
        "SELECT c.id, (SELECT max(o.placed_at) FROM shop.orders o WHERE o.customer_id = c.id) AS last_order,"
        " (SELECT o.total FROM shop.orders o WHERE o.customer_id = c.id LIMIT 1) AS some_total"
        " FROM shop.customers c",
        "id", "last_order", "some_total",
    )
    assert column_edges(result) == {
        ("shop.customers.id", "id", I),
        ("shop.orders.placed_at", "last_order", E),
        ("shop.orders.total", "some_total", E),  # a subquery's value is never a bare column of the view
    }
    assert "shop.orders.customer_id" in referenced(result)


def test_lateral_subquery_and_table_functions():
    result = lineage_of(
        "SELECT c.id, l.total, t.tag, g.n FROM shop.customers c"
        " CROSS JOIN LATERAL (SELECT o.total FROM shop.orders o WHERE o.customer_id = c.id LIMIT 1) l"
        " CROSS JOIN LATERAL unnest(string_to_array(c.email, '@')) AS t(tag)"
        " CROSS JOIN generate_series(1, 3) AS g(n)",
        "id", "total", "tag", "n",
    )
    assert column_edges(result) == {
        ("shop.customers.id", "id", I),
        ("shop.orders.total", "total", I),
        ("shop.customers.email", "tag", E),
    }  # generate_series(1, 3) reads no column
    assert result.unresolved == ()


# -- set operations ---------------------------------------------------------------------------------------------

def test_union_branches_each_contribute_with_their_own_transformation():
    result = lineage_of(
        "SELECT id, name FROM shop.customers UNION SELECT code::int, name FROM regions"
        " UNION ALL SELECT order_id, reason FROM shop.returns",
        "id", "name",
    )
    assert column_edges(result) == {
        ("shop.customers.id", "id", I),
        ("public.regions.code", "id", E),
        ("shop.returns.order_id", "id", I),
        ("shop.customers.name", "name", I),
        ("public.regions.name", "name", I),
        ("shop.returns.reason", "name", I),
    }


def test_intersect_uses_both_branches_and_except_only_the_first():
    intersect = lineage_of("SELECT customer_id FROM shop.orders INTERSECT SELECT id FROM shop.customers", "x")
    assert column_edges(intersect) == {("shop.orders.customer_id", "x", I), ("shop.customers.id", "x", I)}
    except_ = lineage_of("SELECT customer_id FROM shop.orders EXCEPT SELECT id FROM shop.customers", "x")
    assert column_edges(except_) == {("shop.orders.customer_id", "x", I)}
    assert referenced(except_) == {"shop.orders.customer_id", "shop.customers.id"}
    assert tables(except_) == {"shop.orders", "shop.customers"}


def test_same_column_through_identity_and_expression_paths_is_an_expression():
    result = lineage_of("SELECT total FROM shop.orders UNION SELECT total * 2 FROM shop.orders", "total")
    assert column_edges(result) == {("shop.orders.total", "total", E)}


# -- stars --------------------------------------------------------------------------------------------------------

def test_select_star_is_expanded_from_the_snapshot():
    result = lineage_of("SELECT * FROM shop.returns", "order_id", "qty", "reason")
    assert column_edges(result) == {
        ("shop.returns.order_id", "order_id", I), ("shop.returns.qty", "qty", I), ("shop.returns.reason", "reason", I),
    }


def test_qualified_star_beside_other_columns_and_star_of_a_subquery():
    result = lineage_of(
        "SELECT r.*, o.total FROM (SELECT * FROM shop.returns) r JOIN shop.orders o ON o.id = r.order_id",
        "order_id", "qty", "reason", "total",
    )
    assert column_edges(result) == {
        ("shop.returns.order_id", "order_id", I),
        ("shop.returns.qty", "qty", I),
        ("shop.returns.reason", "reason", I),
        ("shop.orders.total", "total", I),
    }


def test_whole_row_reference_is_computed_from_every_column():
    result = lineage_of("SELECT r.order_id, to_jsonb(r.*) AS doc, row_to_json(r) AS doc2 FROM shop.returns r",
                        "order_id", "doc", "doc2")
    whole = {("shop.returns.order_id", E), ("shop.returns.qty", E), ("shop.returns.reason", E)}
    assert {(up, kind) for up, col, kind in column_edges(result) if col == "doc"} == whole
    assert {(up, kind) for up, col, kind in column_edges(result) if col == "doc2"} == whole
    assert referenced(result) == {"shop.returns.order_id", "shop.returns.qty", "shop.returns.reason"}


# -- window functions -------------------------------------------------------------------------------------------

def test_window_partition_and_order_columns_are_referenced_but_not_sources():
    result = lineage_of(
        "SELECT id, row_number() OVER (PARTITION BY customer_id ORDER BY placed_at) AS rn,"
        " sum(total) OVER (PARTITION BY customer_id) AS running,"
        " lag(status) OVER w AS previous FROM shop.orders WINDOW w AS (ORDER BY note)",
        "id", "rn", "running", "previous",
    )
    assert column_edges(result) == {
        ("shop.orders.id", "id", I),
        ("shop.orders.total", "running", E),
        ("shop.orders.status", "previous", E),
    }
    assert referenced(result) >= {"shop.orders.customer_id", "shop.orders.placed_at", "shop.orders.note"}


# -- view column names ------------------------------------------------------------------------------------------

def test_create_view_column_list_maps_positionally_in_full_create_view_text():
    result = lineage_of("CREATE VIEW shop.v (cid, cname) AS SELECT id, name FROM shop.customers", "cid", "cname")
    assert column_edges(result) == {("shop.customers.id", "cid", I), ("shop.customers.name", "cname", I)}


def test_view_column_names_come_from_the_snapshot_not_from_the_query():
    # PostgreSQL's pg_get_viewdef of `CREATE VIEW v(a, b) AS SELECT id, name` shows `SELECT id AS a, ...`, but
    # a renamed view column (ALTER VIEW ... RENAME COLUMN) is only known from the catalog: position decides.
    result = lineage_of("SELECT id, name FROM shop.customers", "renamed_id", "renamed_name")
    assert column_edges(result) == {
        ("shop.customers.id", "renamed_id", I), ("shop.customers.name", "renamed_name", I),
    }


def test_parse_view_query_returns_the_create_view_column_list():
    query, columns = parse_view_query('CREATE VIEW "v"(a, "B") AS SELECT 1, 2', "sqlite")
    assert columns == ["a", "B"]
    assert query.sql() == "SELECT 1, 2"


# -- views on views ---------------------------------------------------------------------------------------------

def test_view_on_view_points_at_the_upstream_view_not_at_its_tables():
    base = view("shop", "paid", "SELECT id, customer_id, total FROM shop.orders WHERE status = 'paid'",
                "id", "customer_id", "total")
    result = lineage_of("SELECT p.customer_id, sum(p.total) AS s FROM shop.paid p GROUP BY 1", "customer_id", "s",
                        extra=(base,))
    assert column_edges(result) == {("shop.paid.customer_id", "customer_id", I), ("shop.paid.total", "s", E)}
    assert tables(result) == {"shop.paid"}


def test_whole_snapshot_lineage_chains_views_and_includes_materialized_views():
    snapshot = SourceSnapshot(tables=(
        *SHOP_TABLES,
        view("shop", "paid", "SELECT id, total FROM shop.orders WHERE status = 'paid'", "id", "total"),
        view("shop", "big", "SELECT * FROM shop.paid WHERE total > 100", "id", "total"),
        view("shop", "daily", "SELECT date_trunc('day', placed_at) AS day, count(*) AS n FROM shop.orders GROUP BY 1",
             "day", "n", kind=TableKind.MATERIALIZED_VIEW),
    ))
    result = view_lineage(snapshot, "postgres")
    assert isinstance(result, ViewLineage)
    assert [v.view for v in result.views] == [("shop", "paid"), ("shop", "big"), ("shop", "daily")]
    assert {(e.upstream, e.downstream) for e in result.table_edges} == {
        (("shop", "orders"), ("shop", "paid")),
        (("shop", "paid"), ("shop", "big")),
        (("shop", "orders"), ("shop", "daily")),
    }
    assert column_edges(result.of("shop", "big")) == {("shop.paid.id", "id", I), ("shop.paid.total", "total", I)}
    assert column_edges(result.of("shop", "daily")) == {("shop.orders.placed_at", "day", E)}
    assert result.referenced_columns[("shop", "daily")] == frozenset({("shop", "orders", "placed_at")})
    assert result.unresolved == ()


# -- names, schemas and dialects ----------------------------------------------------------------------------------

def test_postgres_quoted_mixed_case_names_keep_their_spelling_and_unquoted_names_fold():
    snapshot = SourceSnapshot(tables=(
        relation("Reporting", "Targets", "Region", "Amount", "year"),
        view("Reporting", "By Region", 'SELECT t."Region" AS "Where", t.YEAR AS y FROM "Reporting"."Targets" t',
             "Where", "y"),
    ))
    result = single_view_lineage(snapshot, "Reporting", "By Region", "postgres")
    assert column_edges(result) == {("Reporting.Targets.Region", "Where", I), ("Reporting.Targets.year", "y", I)}
    # unquoted, the name folds to lower case, which is a different (missing) table in PostgreSQL
    wrong = SourceSnapshot(tables=(
        relation("Reporting", "Targets", "Region"),
        view("Reporting", "w", 'SELECT 1 AS one FROM "Reporting".Targets', "one"),
    ))
    assert unresolved(single_view_lineage(wrong, "Reporting", "w", "postgres")) == {("Reporting.targets", MISSING_TABLE)}


def test_unqualified_tables_resolve_in_the_default_schema():
    snapshot = SourceSnapshot(tables=(
        relation("public", "t", "a"),
        relation("stage", "t", "a"),
        view("stage", "v", "SELECT a FROM t", "a"),
    ))
    assert column_edges(single_view_lineage(snapshot, "stage", "v", "postgres")) == {("public.t.a", "a", I)}
    assert column_edges(single_view_lineage(snapshot, "stage", "v", "postgres", default_schema="stage")) == {
        ("stage.t.a", "a", I),
    }
    # MySQL and SQLite resolve an unqualified name in the view's own schema
    assert column_edges(single_view_lineage(snapshot, "stage", "v", "mysql")) == {("stage.t.a", "a", I)}


def test_sqlite_full_create_view_text_is_case_insensitive_and_reports_the_snapshot_spelling():
    snapshot = SourceSnapshot(tables=(
        relation("main", "Orders", "Id", "Total", "Status"),
        view("main", "v", 'CREATE VIEW IF NOT EXISTS "V"(a, b) AS SELECT ORDERS.ID, o.total + 1 FROM orders AS O'
             " CROSS JOIN Orders WHERE o.STATUS = 'x'", "a", "b"),
        view("main", "v2", "CREATE VIEW v2 AS SELECT A AS x FROM v ORDER BY x", "x"),
    ))
    result = view_lineage(snapshot, "sqlite")
    assert column_edges(result.of("main", "v")) == {("main.Orders.Id", "a", I), ("main.Orders.Total", "b", E)}
    assert referenced(result.of("main", "v")) == {"main.Orders.Id", "main.Orders.Total", "main.Orders.Status"}
    assert column_edges(result.of("main", "v2")) == {("main.v.a", "x", I)}
    assert result.unresolved == ()


def test_mysql_information_schema_and_show_create_view_texts():
    # Both texts as MariaDB 11 returns them for the same view (fully qualified, backquoted, parenthesised joins).
    body = ("select `o`.`Id` AS `oid`,`o`.`total` * 2 AS `amount` from (`shop`.`Orders` `o` join `shop`.`customers`"
            " `c` on(`c`.`id` = `o`.`customer_id`)) where `c`.`name` like 'a%'")
    show = ("CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`127.0.0.1` SQL SECURITY DEFINER VIEW `v_show` AS "
            "select `o`.`Id` AS `oid`,`o`.`total` * 2 AS `amount` from (`Orders` `o` join `customers` `c`"
            " on(`c`.`id` = `o`.`customer_id`)) where `c`.`name` like 'a%'")
    union = ("select `shop`.`Orders`.`Id` AS `Id` from `shop`.`Orders` union "
             "select `shop`.`customers`.`id` AS `id` from `shop`.`customers`")
    snapshot = SourceSnapshot(tables=(
        relation("shop", "Orders", "Id", "customer_id", "total"),
        relation("shop", "customers", "id", "name"),
        view("shop", "v_body", body, "oid", "amount"),
        view("shop", "v_show", show, "oid", "amount"),
        view("shop", "v_union", union, "Id"),
    ))
    result = view_lineage(snapshot, "mysql")
    expected = {("shop.Orders.Id", "oid", I), ("shop.Orders.total", "amount", E)}
    assert column_edges(result.of("shop", "v_body")) == expected
    assert column_edges(result.of("shop", "v_show")) == expected
    assert referenced(result.of("shop", "v_show")) == {
        "shop.Orders.Id", "shop.Orders.total", "shop.Orders.customer_id", "shop.customers.id", "shop.customers.name",
    }
    assert column_edges(result.of("shop", "v_union")) == {("shop.Orders.Id", "Id", I), ("shop.customers.id", "Id", I)}
    assert result.unresolved == ()


def test_connector_kinds_map_to_sqlglot_dialects_and_others_are_refused_by_name():
    assert [sqlglot_dialect(k) for k in ("postgres", "mysql", "sqlite")] == ["postgres", "mysql", "sqlite"]
    with pytest.raises(ValueError, match=r"dialect: view lineage does not support 'netsuite'"):
        view_lineage(SourceSnapshot(), "netsuite")


def test_single_view_lineage_names_a_missing_view():
    with pytest.raises(KeyError, match=r"shop\.nope"):
        single_view_lineage(SourceSnapshot(tables=SHOP_TABLES), "shop", "nope", "postgres")
    with pytest.raises(KeyError, match=r"shop\.orders"):  # a table is not a view
        single_view_lineage(SourceSnapshot(tables=SHOP_TABLES), "shop", "orders", "postgres")


# -- unresolved references ------------------------------------------------------------------------------------------

def test_unknown_table_is_reported_and_known_tables_still_get_edges():
    result = lineage_of(
        "SELECT o.id, x.code FROM shop.orders o JOIN archive.old x ON x.order_id = o.id", "id", "code"
    )
    assert column_edges(result) == {("shop.orders.id", "id", I)}
    assert tables(result) == {"shop.orders"}
    assert unresolved(result) == {
        ("archive.old", MISSING_TABLE),
        ("archive.old.code", "column of a table not in the snapshot"),
        ("archive.old.order_id", "column of a table not in the snapshot"),
    }


def test_unknown_column_of_a_known_table_is_reported():
    result = lineage_of("SELECT o.id, o.discount FROM shop.orders o", "id", "discount")
    assert column_edges(result) == {("shop.orders.id", "id", I)}
    assert unresolved(result) == {("shop.orders.discount", "no such column in the snapshot")}


def test_unqualified_column_that_matches_no_known_table_is_reported():
    result = lineage_of("SELECT o.id, mystery FROM shop.orders o JOIN archive.old x ON x.order_id = o.id",
                        "id", "mystery")
    reason = "column matches no table of the query (unknown, or ambiguous between tables not in the snapshot)"
    assert ("mystery", reason) in unresolved(result)


def test_star_over_an_unknown_table_is_reported():
    result = lineage_of("SELECT * FROM archive.old", "a", "b")
    assert ("*", "SELECT * could not be expanded over archive.old: the columns are unknown") in unresolved(result)
    assert ("archive.old", MISSING_TABLE) in unresolved(result)


def test_parse_errors_carry_sqlglot_message():
    result = lineage_of("SELECT (id FROM shop.orders", "id")
    assert result.column_edges == () and result.table_edges == ()
    assert result.unresolved == (
        Unresolved(("shop", "v"), "v", "sqlglot cannot parse the definition: Expecting ) at line 1, column 15"),
    )


def test_definitions_that_are_not_one_query_are_reported():
    assert unresolved(lineage_of("SELECT 1; SELECT 2", "x")) == {
        ("v", "the definition holds 2 statements, expected one"),
    }
    assert unresolved(lineage_of("CREATE TABLE shop.t (a int)", "x")) == {
        ("v", "the definition creates a TABLE, not a view"),
    }
    assert unresolved(lineage_of("", "x")) == {("v", "the source gave no definition for this view")}


def test_column_count_mismatch_falls_back_to_names_and_is_reported():
    result = lineage_of("SELECT id, name FROM shop.customers", "name")
    assert column_edges(result) == {("shop.customers.name", "name", I)}
    assert unresolved(result) == {("v", "the definition yields 2 columns, the snapshot lists 1; matched by name")}


def test_output_alias_in_order_by_is_not_an_unresolved_column():
    result = lineage_of("SELECT total * 2 AS doubled FROM shop.orders ORDER BY doubled", "doubled")
    assert column_edges(result) == {("shop.orders.total", "doubled", E)}
    assert result.unresolved == ()


def test_when_sqlglot_cannot_qualify_columns_the_tables_are_still_reported():
    # sqlglot refuses to guess which source an unqualified column of a correlated subquery belongs to when one of
    # the sources has no known columns; the view keeps its table edge and says why it has no column edges.
    result = lineage_of(
        "SELECT o.id FROM shop.orders o WHERE EXISTS (SELECT 1 FROM archive.old WHERE mystery = o.id)", "id"
    )
    assert tables(result) == {"shop.orders"}
    assert result.column_edges == ()
    assert unresolved(result) == {
        ("v", "columns could not be resolved: OptimizeError: Cannot resolve 'mystery' due to missing source schemas"),
        ("archive.old", MISSING_TABLE),
    }


def test_values_and_json_operators():
    values = lineage_of("SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS t(n, s)", "n", "s")
    assert values.column_edges == () and values.table_edges == () and values.unresolved == ()
    # a view that is only VALUES (PostgreSQL: `CREATE VIEW v AS VALUES ...`), here with a scalar subquery
    bare = lineage_of("VALUES (1, (SELECT max(total) FROM shop.orders)), (2, 3)", "column1", "column2")
    assert column_edges(bare) == {("shop.orders.total", "column2", E)}
    assert tables(bare) == {"shop.orders"} and bare.unresolved == ()
    result = lineage_of(
        "SELECT id, profile ->> 'city' AS city, profile #>> '{address,zip}'::text[] AS zip,"
        " (profile -> 'age')::int AS age FROM shop.customers WHERE profile ? 'city'",
        "id", "city", "zip", "age",
    )
    assert column_edges(result) == {
        ("shop.customers.id", "id", I),
        ("shop.customers.profile", "city", E),
        ("shop.customers.profile", "zip", E),
        ("shop.customers.profile", "age", E),
    }


def test_without_snapshot_columns_the_create_view_list_names_the_view_columns():
    snapshot = SourceSnapshot(tables=(
        *SHOP_TABLES,
        view("shop", "v", "CREATE VIEW v(cid, doubled) AS SELECT id, total * 2 FROM shop.orders"),
        view("shop", "w", "SELECT id AS oid FROM shop.orders"),
    ))
    result = view_lineage(snapshot, "postgres")
    assert column_edges(result.of("shop", "v")) == {("shop.orders.id", "cid", I), ("shop.orders.total", "doubled", E)}
    assert column_edges(result.of("shop", "w")) == {("shop.orders.id", "oid", I)}


def test_the_tables_only_fallback_folds_unquoted_names_like_the_dialect():
    result = lineage_of(
        "SELECT o.id FROM Shop.Orders o WHERE EXISTS (SELECT 1 FROM Archive.Old WHERE mystery = o.id)", "id"
    )
    assert tables(result) == {"shop.orders"}
    assert ("archive.old", MISSING_TABLE) in unresolved(result)


def test_missing_subquery_or_cte_columns_and_unknown_aliases_are_reported():
    assert unresolved(lineage_of("SELECT s.nope FROM (SELECT id FROM shop.orders) s", "nope")) == {
        ("s.nope", "no such output column in the subquery or CTE"),
    }
    assert unresolved(lineage_of("WITH c AS (SELECT id FROM shop.orders) SELECT c.total FROM c", "total")) == {
        ("c.total", "no such output column in the subquery or CTE"),
    }
    assert unresolved(lineage_of("SELECT x.id FROM shop.orders o", "id")) == {("x.id", "no source named 'x' in the query")}
