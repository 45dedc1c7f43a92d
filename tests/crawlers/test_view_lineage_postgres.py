"""View lineage from SQL, checked against PostgreSQL's own dependency tracking.

A test database with 62 varied views (one materialized) is discovered with the real `PostgresConnector`; the
lineage computed from the `pg_get_viewdef` texts is compared with what the server recorded when it created the
views:

* `information_schema.view_table_usage` -> every (view, table) pair must be a `TableEdge`;
* `information_schema.view_column_usage` -> every (view, table, column) must be in `referenced_columns`;
* `pg_depend` on the views' `_RETURN` rules -> the same, including materialized views, which information_schema
  leaves out.

Every edge PostgreSQL knows must be found; every edge we report that PostgreSQL does not is listed below with its
reason, and the test fails if the extras are not exactly that list.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from crawlers.connectors.postgres import PostgresConfig, PostgresConnector
from crawlers.lineage import Transformation, ViewLineage, view_lineage
from crawlers.lineage.scopes import MISSING_RELATION
from crawlers.snapshot import SourceSnapshot, TableKind
from tests.support.postgres import pg_admin_connection, pg_execute, pg_query

pytestmark = pytest.mark.postgres

TABLES_DDL = """
create schema sales;
create schema "Reporting";
create schema archive;
create table public.regions (code char(2) primary key, name text not null, parent char(2));
create table sales.customers (id bigint primary key, name text not null, email text,
    region char(2) references public.regions (code), created_at timestamptz default now(), profile jsonb,
    "VipLevel" int);
create table sales.orders (id bigint primary key, customer_id bigint not null references sales.customers (id),
    placed_at timestamptz not null, status text not null, total numeric(12,2) not null, note text);
create table sales.order_lines (order_id bigint references sales.orders (id), line int, sku text not null,
    qty int not null, price numeric(10,2) not null, primary key (order_id, line));
create table sales.products (sku text primary key, title text, category text, tags text[]);
create table sales.returns (order_id bigint, line int, qty int, reason text);
create table "Reporting"."Targets" ("Region" char(2), "Year" int, "Amount" numeric);
create table public.unused_cols (a int, b int, c int);
create table archive.old_orders (id bigint, total numeric(12,2), archived_at date);
"""

# One view per construct; the comment names what it exercises.
VIEWS_DDL = """
-- plain columns, aliases, a function
create view sales.v_simple as select id, name from sales.customers;
create view sales.v_alias as select c.id as customer_id, c.name as customer_name, upper(c.email) as email_upper
    from sales.customers c;
-- joins
create view sales.v_join as select o.id, c.name, o.total from sales.orders o
    join sales.customers c on c.id = o.customer_id where o.status = 'paid';
create view sales.v_left_join as select c.id, c.name, o.id as order_id, coalesce(o.total, 0) as total
    from sales.customers c left join sales.orders o on o.customer_id = c.id;
create view sales.v_using as select order_id, line, l.sku, p.title from sales.order_lines l
    join sales.products p using (sku);
create view sales.v_natural as select * from sales.order_lines natural join sales.returns;
-- CTEs, recursive and chained, and one never read
create view sales.v_cte as with paid as (select customer_id, total from sales.orders where status = 'paid')
    select customer_id, sum(total) as paid_total from paid group by customer_id;
create view sales.v_cte_chain as with a as (select id, customer_id, total from sales.orders),
    b as (select customer_id, sum(total) as s from a group by customer_id)
    select c.name, b.s from b join sales.customers c on c.id = b.customer_id;
create view public.v_recursive as with recursive tree(code, name, depth) as (
    select code, name, 1 from public.regions where parent is null
    union all select r.code, r.name, t.depth + 1 from public.regions r join tree t on r.parent = t.code)
    select code, name, depth from tree;
create view public.v_unused_cte as with x as (select a, b from public.unused_cols) select a from x;
-- subqueries in FROM, WHERE and SELECT
create view sales.v_sub_from as select s.customer_id, s.n
    from (select customer_id, count(*) as n from sales.orders group by customer_id) s where s.n > 1;
create view sales.v_nested_sub as select x.customer_id, x.n from (select y.customer_id, count(*) as n
    from (select customer_id from sales.orders where total > 0) y group by y.customer_id) x;
create view sales.v_sub_where as select id, name from sales.customers c
    where exists (select 1 from sales.orders o where o.customer_id = c.id and o.total > 100)
    and c.region in (select code from public.regions where name like 'E%');
create view sales.v_sub_select as select c.id,
    (select max(o.placed_at) from sales.orders o where o.customer_id = c.id) as last_order from sales.customers c;
create view sales.v_exists_select as select p.sku,
    exists (select 1 from sales.order_lines l where l.sku = p.sku) as sold from sales.products p;
create view sales.v_in_list as select id from sales.orders where status in ('a', 'b') and note not like 'x%'
    and total > all (select qty from sales.returns);
-- set operations
create view sales.v_union as select id, name, 'customer' as kind from sales.customers
    union select code::bigint, name, 'region' from public.regions where code ~ '^[0-9]+$';
create view sales.v_union_all as select order_id, qty from sales.order_lines
    union all select order_id, -qty from sales.returns;
create view sales.v_union3 as select order_id as id from sales.order_lines union select id from sales.orders
    union all select order_id from sales.returns;
create view sales.v_intersect as select customer_id from sales.orders
    intersect select id from sales.customers where email is not null;
create view sales.v_except as select sku from sales.products except select sku from sales.order_lines;
-- stars
create view sales.v_star as select * from sales.products;
create view sales.v_star_join as select o.*, c.name as customer_name from sales.orders o
    join sales.customers c on c.id = o.customer_id;
create view sales.v_wholerow as select o.id, to_jsonb(o) as doc from sales.orders o;
-- window functions, aggregates, GROUP BY / HAVING / ROLLUP, ordered-set and filtered aggregates
create view sales.v_window as select id, customer_id, total,
    row_number() over (partition by customer_id order by placed_at) as rn,
    sum(total) over (partition by customer_id) as customer_total from sales.orders;
create view sales.v_agg as select customer_id, count(*) as n, avg(total) as avg_total from sales.orders
    group by customer_id having sum(total) > 1000;
create view sales.v_rollup as select status, date_trunc('month', placed_at) as month, sum(total) as total
    from sales.orders group by rollup (status, date_trunc('month', placed_at));
create view sales.v_ordered_aggs as select customer_id, array_agg(status order by placed_at) as statuses,
    percentile_cont(0.5) within group (order by total) as median,
    count(*) filter (where status = 'paid') as paid from sales.orders group by customer_id;
create view sales.v_count_only as select count(*) as n from sales.returns;
-- CASE, COALESCE, NULLIF, casts, operators
create view sales.v_case as select id,
    case when total > 1000 then 'big' when total > 100 then 'medium' else 'small' end as size,
    coalesce(note, status) as label, total::int as total_int, cast(placed_at as date) as day from sales.orders;
create view sales.v_case_simple as select id, case status when 'paid' then total else 0 end as paid_amount,
    nullif(note, '') as note from sales.orders;
create view sales.v_misc_ops as select id, name || ' <' || coalesce(email, '?') || '>' as display,
    extract(year from created_at) as year, region is distinct from 'DE' as foreign_customer,
    id = any (array[1, 2, 3]) as early, id between 10 and 20 as teen from sales.customers;
create view sales.v_like as select name from sales.customers where email like '%@example.com' and name ilike 'a%';
-- CREATE VIEW v(a, b)
create view sales.v_collist(cid, cname) as select id, name from sales.customers;
-- views on views (three levels), on a materialized view, across schemas
create view sales.v_on_view as select customer_id, customer_name from sales.v_alias where customer_id > 10;
create view sales.v_view3 as select customer_id from sales.v_on_view;
create view sales.v_on_view2 as select v.customer_id, v.paid_total, s.name from sales.v_cte v
    join sales.v_simple s on s.id = v.customer_id;
create materialized view sales.mv_daily as select date_trunc('day', placed_at) as day, count(*) as n,
    sum(total) as total from sales.orders group by 1;
create view sales.v_on_mv as select day, total from sales.mv_daily;
create view sales.v_with_archive as select o.id, a.total as archived_total from sales.orders o
    join archive.old_orders a on a.id = o.id;
-- quoted, mixed-case and spaced names in two schemas
create view "Reporting"."Region Sales" as select r.name as "RegionName", t."Year", sum(o.total) as "Sold",
    max(t."Amount") as "Target" from public.regions r join sales.customers c on c.region = r.code
    join sales.orders o on o.customer_id = c.id join "Reporting"."Targets" t on t."Region" = r.code
    group by r.name, t."Year";
create view sales."MixedCaseView" as select "VipLevel", id as "Id" from sales.customers;
create view sales."Spaced Names" as select id as "Customer Id", name as "Full Name" from sales.customers;
-- LATERAL, DISTINCT ON, functions in FROM, JSON
create view sales.v_lateral as select c.id, l.total from sales.customers c cross join lateral
    (select o.total from sales.orders o where o.customer_id = c.id order by o.placed_at desc limit 1) l;
create view sales.v_distinct_on as select distinct on (customer_id) customer_id, id, placed_at from sales.orders
    order by customer_id, placed_at desc;
create view sales.v_series as select g.d::date as day, count(o.id) as n
    from generate_series('2024-01-01'::timestamp, '2024-12-31'::timestamp, interval '1 day') g(d)
    left join sales.orders o on o.placed_at::date = g.d::date group by g.d;
create view sales.v_unnest as select p.sku, t.tag from sales.products p, unnest(p.tags) as t(tag);
create view sales.v_json as select id, profile->>'city' as city, profile#>>'{address,zip}' as zip,
    (profile->'age')::int as age from sales.customers where profile ? 'city';
create view sales.v_json_lateral as select c.id, e.value as phone from sales.customers c,
    jsonb_array_elements(c.profile -> 'phones') e;
create view public.v_values as select * from (values (1, 'a'), (2, 'b')) as t(n, s);
create view sales.v_unpivot as select o.id, u.kind, u.amount from sales.orders o
    cross join lateral (values ('total', o.total), ('net', o.total / 1.19)) as u(kind, amount);
create view sales.v_json_record as select c.id, r.city from sales.customers c,
    jsonb_to_record(c.profile) as r(city text, zip text);
create view sales.v_json_each as select c.id, j.key, j.value from sales.customers c
    left join lateral jsonb_each(c.profile) j on true;
create view sales.v_ordinality as select p.sku, t.tag, t.n from sales.products p,
    unnest(p.tags) with ordinality as t(tag, n);
-- FULL JOIN, GROUPING SETS, TABLESAMPLE, FETCH ... WITH TIES, COLLATE, OPERATOR(), MATERIALIZED CTE
create view sales.v_full_join as select coalesce(o.id, r.order_id) as id from sales.orders o
    full join sales.returns r on r.order_id = o.id;
create view sales.v_grouping_sets as select status, customer_id, sum(total) as total from sales.orders
    group by grouping sets ((status), (customer_id), ());
create view sales.v_tablesample as select id from sales.orders tablesample bernoulli (10);
create view sales.v_with_ties as select id from sales.orders order by total fetch first 5 rows with ties;
create view sales.v_collate as select name collate "C" as n from sales.customers;
create view sales.v_operator as select id operator(pg_catalog.+) 1 as x from sales.orders;
create view sales.v_cte_materialized as with m as materialized (select id, note from sales.orders)
    select id from m;
-- ORDER BY / LIMIT
create view sales.v_order_by as select id, name from sales.customers order by created_at desc limit 10;
"""

WHOLE_ROW = (
    "whole-row reference to_jsonb(o.*): PostgreSQL records no column dependency for a whole-row value, yet the "
    "value is computed from every column of sales.orders"
)
MATVIEW_NOT_IN_INFORMATION_SCHEMA = (
    "information_schema's view usage views only cover plain views (relkind v), and only tables, views, foreign "
    "and partitioned tables as used relations: materialized views are checked against pg_depend instead"
)

# Edges we report that PostgreSQL's tracking does not hold, with the reason. Nothing else may differ.
EXTRA_TABLE_EDGES_VS_INFORMATION_SCHEMA = {
    ("sales", "mv_daily", "sales", "orders"): MATVIEW_NOT_IN_INFORMATION_SCHEMA,
    ("sales", "v_on_mv", "sales", "mv_daily"): MATVIEW_NOT_IN_INFORMATION_SCHEMA,
}
EXTRA_COLUMNS_VS_PG_DEPEND = {
    ("sales", "v_wholerow", "sales", "orders", column): WHOLE_ROW
    for column in ("customer_id", "placed_at", "status", "total", "note")
}
EXTRA_COLUMNS_VS_INFORMATION_SCHEMA = {
    **EXTRA_COLUMNS_VS_PG_DEPEND,
    ("sales", "mv_daily", "sales", "orders", "placed_at"): MATVIEW_NOT_IN_INFORMATION_SCHEMA,
    ("sales", "mv_daily", "sales", "orders", "total"): MATVIEW_NOT_IN_INFORMATION_SCHEMA,
    ("sales", "v_on_mv", "sales", "mv_daily", "day"): MATVIEW_NOT_IN_INFORMATION_SCHEMA,
    ("sales", "v_on_mv", "sales", "mv_daily", "total"): MATVIEW_NOT_IN_INFORMATION_SCHEMA,
}

# The dependencies PostgreSQL recorded for each view's or materialized view's rewrite rule, on relations
# (refobjsubid 0) and on their columns (refobjsubid = attnum).
PG_DEPEND_SQL = """
select vn.nspname::text, v.relname::text, tn.nspname::text, t.relname::text, a.attname::text
from pg_catalog.pg_rewrite r
join pg_catalog.pg_class v on v.oid = r.ev_class
join pg_catalog.pg_namespace vn on vn.oid = v.relnamespace
join pg_catalog.pg_depend d on d.classid = 'pg_catalog.pg_rewrite'::regclass and d.objid = r.oid
                           and d.refclassid = 'pg_catalog.pg_class'::regclass and d.refobjid <> v.oid
join pg_catalog.pg_class t on t.oid = d.refobjid
join pg_catalog.pg_namespace tn on tn.oid = t.relnamespace
left join pg_catalog.pg_attribute a on a.attrelid = t.oid and a.attnum = d.refobjsubid and d.refobjsubid > 0
where v.relkind in ('v', 'm') and vn.nspname not in ('pg_catalog', 'information_schema')
"""

USER_SCHEMAS = "not in ('pg_catalog', 'information_schema')"


@pytest.fixture(scope="module")
def shop(pg_server: dict) -> Iterator[tuple[dict, SourceSnapshot, ViewLineage]]:
    """One database for the whole module (the tests only read it), dropped at the end like `make_pg_database`."""
    name = f"cat_test_{uuid.uuid4().hex[:12]}"
    with pg_admin_connection() as conn:
        conn.execute(f'create database "{name}"')
    try:
        config = {"host": pg_server["host"], "port": pg_server["port"], "user": pg_server["user"], "database": name}
        pg_execute(config, TABLES_DDL + VIEWS_DDL)
        snapshot = PostgresConnector(PostgresConfig(**config)).discover()
        yield config, snapshot, view_lineage(snapshot, "postgres")
    finally:
        with pg_admin_connection() as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def test_the_test_database_is_varied_and_every_view_is_analysed_cleanly(shop):
    config, snapshot, lineage = shop
    kinds = pg_query(config, f"select relkind::text, count(*) from pg_class c join pg_namespace n "
                             f"on n.oid = c.relnamespace where nspname {USER_SCHEMAS} and relkind in ('v', 'm') "
                             f"group by 1")
    assert dict(kinds) == {"v": 61, "m": 1}
    assert len(lineage.views) == 62
    assert {v.view for v in lineage.views} == {t.key for t in snapshot.tables if t.kind in
                                               (TableKind.VIEW, TableKind.MATERIALIZED_VIEW)}
    assert lineage.unresolved == ()


def test_every_table_postgres_knows_is_a_table_edge(shop):
    config, _, lineage = shop
    pg = set(pg_query(config, "select view_schema::text, view_name::text, table_schema::text, table_name::text "
                              f"from information_schema.view_table_usage where view_schema {USER_SCHEMAS}"))
    ours = {edge.downstream + edge.upstream for edge in lineage.table_edges}
    assert len(pg) >= 80
    assert pg - ours == set()
    assert {edge: EXTRA_TABLE_EDGES_VS_INFORMATION_SCHEMA[edge] for edge in ours - pg} == (
        EXTRA_TABLE_EDGES_VS_INFORMATION_SCHEMA
    )


def test_every_column_postgres_knows_is_referenced(shop):
    config, _, lineage = shop
    pg = set(pg_query(config, "select view_schema::text, view_name::text, table_schema::text, table_name::text, "
                              "column_name::text from information_schema.view_column_usage "
                              f"where view_schema {USER_SCHEMAS}"))
    ours = {view + column for view, columns in lineage.referenced_columns.items() for column in columns}
    assert len(pg) >= 180
    assert pg - ours == set()
    assert {edge: EXTRA_COLUMNS_VS_INFORMATION_SCHEMA[edge] for edge in ours - pg} == (
        EXTRA_COLUMNS_VS_INFORMATION_SCHEMA
    )


def test_pg_depend_agrees_for_views_and_materialized_views(shop):
    config, _, lineage = shop
    rows = pg_query(config, PG_DEPEND_SQL)
    pg_tables = {row[:4] for row in rows}
    pg_columns = {row for row in rows if row[4] is not None}
    assert ("sales", "mv_daily", "sales", "orders") in pg_tables  # what information_schema cannot show
    assert ("sales", "v_on_mv", "sales", "mv_daily", "total") in pg_columns

    our_tables = {edge.downstream + edge.upstream for edge in lineage.table_edges}
    assert our_tables == pg_tables  # the relations read: no extra, no missing one
    ours = {view + column for view, columns in lineage.referenced_columns.items() for column in columns}
    assert pg_columns - ours == set()
    assert {edge: EXTRA_COLUMNS_VS_PG_DEPEND[edge] for edge in ours - pg_columns} == EXTRA_COLUMNS_VS_PG_DEPEND


def test_column_edges_point_at_real_columns_and_identity_keeps_the_type(shop):
    """The server's catalog types every column: an identity edge copies a value, so both ends share a type."""
    config, _, lineage = shop
    types = {
        (schema, table, column): data_type
        for schema, table, column, data_type in pg_query(
            config,
            "select n.nspname::text, c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod) "
            "from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace "
            f"where a.attnum > 0 and not a.attisdropped and n.nspname {USER_SCHEMAS} and c.relkind in ('r','v','m')",
        )
    }
    identity = 0
    for view in lineage.views:
        for edge in view.column_edges:
            assert edge.upstream in types and edge.downstream in types, edge
            assert edge.upstream in view.referenced_columns, edge
            if edge.transformation is Transformation.IDENTITY:
                identity += 1
                assert types[edge.upstream] == types[edge.downstream], edge
    assert identity >= 100
    assert len(lineage.column_edges) >= 155


def edges_of(lineage: ViewLineage, schema: str, view: str) -> set[tuple[str, str, str]]:
    edges = lineage.of(schema, view).column_edges
    return {(".".join(e.upstream), e.downstream[2], e.transformation.value) for e in edges}


def test_column_lineage_of_selected_views(shop):
    """Hand-checked column lineage where PostgreSQL has no per-output-column answer to compare with."""
    _, _, lineage = shop
    assert edges_of(lineage, "sales", "v_window") == {
        ("sales.orders.id", "id", "identity"),
        ("sales.orders.customer_id", "customer_id", "identity"),
        ("sales.orders.total", "total", "identity"),
        ("sales.orders.total", "customer_total", "expression"),  # rn: row_number() reads no column
    }
    assert edges_of(lineage, "sales", "v_collist") == {
        ("sales.customers.id", "cid", "identity"), ("sales.customers.name", "cname", "identity"),
    }
    assert edges_of(lineage, "sales", "v_union_all") == {
        ("sales.order_lines.order_id", "order_id", "identity"),
        ("sales.returns.order_id", "order_id", "identity"),
        ("sales.order_lines.qty", "qty", "identity"),
        ("sales.returns.qty", "qty", "expression"),
    }
    assert edges_of(lineage, "sales", "v_lateral") == {
        ("sales.customers.id", "id", "identity"), ("sales.orders.total", "total", "identity"),
    }
    assert edges_of(lineage, "sales", "v_view3") == {("sales.v_on_view.customer_id", "customer_id", "identity")}
    assert edges_of(lineage, "Reporting", "Region Sales") == {
        ("public.regions.name", "RegionName", "identity"),
        ("Reporting.Targets.Year", "Year", "identity"),
        ("sales.orders.total", "Sold", "expression"),
        ("Reporting.Targets.Amount", "Target", "expression"),
    }
    assert edges_of(lineage, "public", "v_recursive") == {
        ("public.regions.code", "code", "identity"), ("public.regions.name", "name", "identity"),
    }
    assert edges_of(lineage, "sales", "v_unnest") == {
        ("sales.products.sku", "sku", "identity"), ("sales.products.tags", "tag", "expression"),
    }
    assert edges_of(lineage, "sales", "v_unpivot") == {
        ("sales.orders.id", "id", "identity"),
        ("sales.orders.total", "amount", "expression"),  # copied in one row, divided in the other
    }
    assert edges_of(lineage, "sales", "v_full_join") == {
        ("sales.orders.id", "id", "expression"), ("sales.returns.order_id", "id", "expression"),
    }


def test_a_schema_left_out_of_the_crawl_gives_unresolved_references(shop):
    config, _, _ = shop
    snapshot = PostgresConnector(PostgresConfig(**config, exclude_schemas=["archive"])).discover()
    result = view_lineage(snapshot, "postgres").of("sales", "v_with_archive")
    assert {(u.reference, u.reason) for u in result.unresolved} == {
        ("archive.old_orders", MISSING_RELATION),
        ("archive.old_orders.total", "column of a table not in the snapshot"),
        ("archive.old_orders.id", "column of a table not in the snapshot"),
    }
    assert [e.upstream for e in result.table_edges] == [("sales", "orders")]
    assert {(e.upstream, e.downstream[2]) for e in result.column_edges} == {(("sales", "orders", "id"), "id")}
