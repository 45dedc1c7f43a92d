"""REST browsing of a crawled PostgreSQL source: its schemas, and each schema's tables, page by page, checked against
PostgreSQL's own catalog (pg_namespace, pg_class)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from catalog_api.services.sources import SourceRegistration, register_source
from tests.support.catalog import crawl
from tests.support.postgres import pg_execute, pg_query

pytestmark = pytest.mark.postgres

DDL = """
create schema sales;
create schema "Ärger";
create schema "a/b%c";
comment on schema sales is 'Sales data';
create table sales.customers (id int primary key, email text);
create table sales.orders (id int primary key, customer_id int references sales.customers(id));
create view sales.open_orders as select id from sales.orders;
create materialized view sales.revenue as select customer_id, count(*) from sales.orders group by 1;
create table "Ärger"."Kunden Übersicht" (nr int);
create table "a/b%c".t1 (x int);
create table "a/b%c".t2 (x int);
""" + "".join(f"create table sales.extra_{n:02d} (x int);\n" for n in range(12))

# What the crawler catalogs of a schema: tables, views, materialized views, partitioned and foreign tables.
PG_SCHEMAS = """select nspname from pg_namespace
                where nspname not in ('information_schema', 'pg_toast') and nspname not like 'pg\\_%'"""
PG_TABLES = """select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
               where n.nspname = %s and c.relkind in ('r', 'v', 'm', 'p', 'f') and not c.relispartition"""


@pytest.fixture
def shop(make_pg_database, catalog_ctx):
    config = make_pg_database(DDL)
    source = register_source(catalog_ctx, SourceRegistration(name="shop", kind="postgres", config=config))
    crawl(catalog_ctx, source.id)
    return config, source.id


def _all_pages(client, url: str, first: int) -> tuple[list[dict], list[int]]:
    items, totals, after = [], [], None
    while True:
        params = {"first": first, **({"after": after} if after else {})}
        page = client.get(url, params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= first
        items += body["items"]
        totals.append(body["total"])
        after = body["next_cursor"]
        if after is None:
            return items, totals


def test_a_sources_schemas_are_those_postgres_has(api_client, shop):
    config, source_id = shop
    expected = {name for (name,) in pg_query(config, PG_SCHEMAS)}
    schemas, totals = _all_pages(api_client, f"/api/v1/sources/{source_id}/schemas", first=2)
    names = [s["name"] for s in schemas]
    assert set(names) == expected and len(names) == len(expected)
    assert names == sorted(names)  # by name, so pages never overlap
    assert set(totals) == {len(expected)} and len(totals) == -(-len(expected) // 2)
    sales = next(s for s in schemas if s["name"] == "sales")
    assert sales["comment"] == "Sales data" and sales["source_id"] == source_id and sales["urn"].startswith("urn:")


@pytest.mark.parametrize("schema", ["sales", "Ärger", "a/b%c"])
def test_a_schemas_tables_are_those_postgres_has(api_client, shop, schema):
    config, source_id = shop
    expected = {name for (name,) in pg_query(config, PG_TABLES, (schema,))}
    tables, totals = _all_pages(api_client, f"/api/v1/sources/{source_id}/schemas/{quote(schema, safe='')}/tables",
                                first=5)
    names = [t["name"] for t in tables]
    assert set(names) == expected and len(names) == len(expected) and names == sorted(names)
    assert set(totals) == {len(expected)}
    assert "columns" not in tables[0]  # a listing: GET /api/v1/tables/{urn} has the columns
    detail = api_client.get(f"/api/v1/tables/{quote(tables[0]['urn'], safe='')}")
    assert detail.status_code == 200 and detail.json()["name"] == tables[0]["name"]


def test_kinds_are_those_postgres_has(api_client, shop):
    _config, source_id = shop
    tables = api_client.get(f"/api/v1/sources/{source_id}/schemas/sales/tables", params={"first": 100}).json()
    kinds = {t["name"]: t["kind"] for t in tables["items"]}
    assert kinds["customers"] == "table" and kinds["open_orders"] == "view"
    assert kinds["revenue"] == "materialized_view"


def test_a_dropped_table_is_listed_only_when_asked(api_client, catalog_ctx, shop):
    config, source_id = shop
    pg_execute(config, "drop table sales.extra_00")
    crawl(catalog_ctx, source_id)
    url = f"/api/v1/sources/{source_id}/schemas/sales/tables"
    live = {t["name"] for t in api_client.get(url, params={"first": 100}).json()["items"]}
    everything = api_client.get(url, params={"first": 100, "include_deleted": "true"}).json()["items"]
    assert live == {name for (name,) in pg_query(config, PG_TABLES, ("sales",))}
    assert {t["name"] for t in everything} == live | {"extra_00"}
    assert next(t for t in everything if t["name"] == "extra_00")["deleted_at"] is not None


@pytest.mark.parametrize(("url", "status", "field"), [
    ("/api/v1/sources/999999/schemas", 404, "source_id"),
    ("/api/v1/sources/{id}/schemas/nope/tables", 404, "schema"),
    ("/api/v1/sources/{id}/schemas?first=0", 422, "first"),
    ("/api/v1/sources/{id}/schemas?first=1001", 422, "first"),
    ("/api/v1/sources/{id}/schemas?after=not-a-cursor", 422, "after"),
    ("/api/v1/sources/{id}/schemas/sales/tables?after=" + "x" * 1025, 422, "after"),
    ("/api/v1/sources/{id}/schemas/" + "s" * 513 + "/tables", 422, "schema"),
])
def test_bad_requests_name_the_field(api_client, shop, url, status, field):
    answer = api_client.get(url.replace("{id}", str(shop[1])))
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["field"] == field, error
