"""Crawling a real PostgreSQL database into the catalog, re-crawling after DDL, and what the change log records."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from catalog_api.db.models import Column, Schema, Table
from catalog_api.services.crawl import request_crawl
from catalog_api.services.jobs import wait_for_job
from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.urns import dataset_urn
from tests.support.catalog import assert_dropped_and_stable
from tests.support.catalog import catalog_columns as _catalog_columns
from tests.support.catalog import changes as _changes
from tests.support.catalog import crawl as _crawl
from tests.support.catalog import last_change_id as _last_change_id
from tests.support.postgres import pg_execute, pg_query

pytestmark = pytest.mark.postgres

SHOP_DDL = """
create schema sales;
create schema staging;
create schema "Ärger";
comment on schema sales is 'Sales data';
create table sales.customers (
    id bigint generated always as identity primary key,
    email varchar(320) not null unique,
    name text not null,
    country char(2) default 'DE',
    created_at timestamptz not null default now()
);
comment on table sales.customers is 'People who buy';
comment on column sales.customers.email is 'Login e-mail';
create table sales.orders (
    id bigint primary key,
    customer_id bigint not null references sales.customers(id) on delete cascade,
    total numeric(12,2) not null default 0,
    status text check (status in ('open', 'paid'))
);
create table sales."MixedCase Table" ("Grüße" text, "Id" int primary key);
create table "Ärger"."Kunden Übersicht" (nr int, name text);
create view sales.open_orders as select id, customer_id, total from sales.orders where status = 'open';
create materialized view sales.revenue as select customer_id, sum(total) as total from sales.orders group by 1;
create table sales.events (id bigint, at date not null, payload jsonb) partition by range (at);
create table sales.events_2024 partition of sales.events for values from ('2024-01-01') to ('2025-01-01');
create table sales.events_2025 partition of sales.events for values from ('2025-01-01') to ('2026-01-01');
create table staging.raw_dump (line text);
"""


@pytest.fixture
def shop(make_pg_database):
    return make_pg_database(SHOP_DDL)


def _register(ctx, config: dict, name: str = "shop", **scope) -> int:
    source = register_source(ctx, SourceRegistration(name=name, kind="postgres", config={**config, **scope}))
    return source.id










def test_crawl_matches_information_schema_column_by_column(catalog_ctx, shop):
    source_id = _register(catalog_ctx, shop, exclude_schemas=["staging"])
    result = _crawl(catalog_ctx, source_id)
    assert result["tables_created"] == 7  # customers, orders, MixedCase, Kunden, open_orders, revenue, events

    oracle = pg_query(shop, """
        select table_schema, table_name, column_name, ordinal_position, is_nullable, column_default
        from information_schema.columns
        where table_schema in ('sales', 'Ärger') and table_name not like 'events\\_20%'
    """)
    # information_schema.columns does not list materialized views: take those from pg_attribute.
    oracle += pg_query(shop, """
        select n.nspname, c.relname, a.attname, a.attnum, case when a.attnotnull then 'NO' else 'YES' end, null
        from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
        where c.relkind = 'm' and a.attnum > 0 and not a.attisdropped
    """)
    catalog = _catalog_columns(catalog_ctx, source_id)
    assert set(catalog) == {(s, t, c) for s, t, c, *_ in oracle}
    for schema, table, column, ordinal, is_nullable, default in oracle:
        got = catalog[(schema, table, column)]
        assert got.ordinal == ordinal, (schema, table, column)
        assert got.nullable == (is_nullable == "YES"), (schema, table, column)
        if got.generated != "identity":
            assert got.default == default, (schema, table, column)

    types = dict(((s, t, c), ty) for s, t, c, ty in pg_query(shop, """
        select n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
        from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('sales', 'Ärger') and a.attnum > 0 and not a.attisdropped
    """))
    for key, column in catalog.items():
        assert column.data_type == types[key]
    assert catalog[("sales", "orders", "total")].data_type == "numeric(12,2)"
    assert catalog[("sales", "customers", "email")].comment == "Login e-mail"

    with catalog_ctx.db.session() as session:
        tables = {t.name: t for t in session.scalars(select(Table).where(Table.source_id == source_id))}
        schemas = {s.name: s for s in session.scalars(select(Schema).where(Schema.source_id == source_id))}
    assert set(schemas) == {"public", "sales", "Ärger"} and schemas["sales"].comment == "Sales data"
    assert "events_2024" not in tables and tables["events"].partition_key.startswith("RANGE")
    assert tables["open_orders"].kind == "view"
    assert tables["open_orders"].view_definition.strip() == pg_query(
        shop, "select pg_get_viewdef('sales.open_orders'::regclass, true)")[0][0].strip()
    assert tables["revenue"].kind == "materialized_view"
    assert tables["customers"].comment == "People who buy"
    assert tables["orders"].foreign_keys[0]["referred_table"] == "customers"
    assert tables["orders"].foreign_keys[0]["on_delete"] == "CASCADE"
    assert tables["Kunden Übersicht"].urn == dataset_urn("shop", "Ärger", "Kunden Übersicht")
    assert tables["MixedCase Table"].primary_key["columns"] == ["Id"]


def test_recrawl_after_ddl_records_exactly_the_changes(catalog_ctx, shop):
    source_id = _register(catalog_ctx, shop, exclude_schemas=["staging"])
    _crawl(catalog_ctx, source_id)

    before = _last_change_id(catalog_ctx)
    unchanged = _crawl(catalog_ctx, source_id)
    assert _changes(catalog_ctx, source_id, before) == []
    assert unchanged["tables_unchanged"] == 7 and unchanged["changes_recorded"] == 0

    pg_execute(shop, """
        alter table sales.customers add column phone varchar(40);
        alter table sales.customers drop column created_at;
        alter table sales.customers alter column country type varchar(3);
        alter table sales.customers alter column name drop not null;
        comment on column sales.customers.email is 'Primary e-mail';
        drop table sales."MixedCase Table";
    """)
    before = _last_change_id(catalog_ctx)
    result = _crawl(catalog_ctx, source_id)
    customers = dataset_urn("shop", "sales", "customers")
    changes = {(kind, urn.removeprefix("urn:catalog:")) for kind, urn, *_ in _changes(catalog_ctx, source_id, before)}
    assert changes == {
        ("column_added", "column:shop:sales:customers:phone"),
        ("column_removed", "column:shop:sales:customers:created_at"),
        ("column_type_changed", "column:shop:sales:customers:country"),
        ("column_nullability_changed", "column:shop:sales:customers:name"),
        ("column_comment_changed", "column:shop:sales:customers:email"),
        ("table_deleted", "dataset:shop:sales:MixedCase%20Table"),
    }
    assert result["tables_changed"] == 1 and result["tables_deleted"] == 1
    detail = {(k, u): (b, a) for k, u, b, a in _changes(catalog_ctx, source_id, before)}
    assert detail[("column_type_changed", customers.replace("dataset", "column") + ":country")] == (
        "character(2)", "character varying(3)")
    assert detail[("column_comment_changed", customers.replace("dataset", "column") + ":email")] == (
        "Login e-mail", "Primary e-mail")

    # The dropped table is soft-deleted: still reachable with its history, no longer live.
    assert_dropped_and_stable(catalog_ctx, source_id, "MixedCase Table", "customers:created_at")


def test_table_comment_change_and_reappearing_table(catalog_ctx, shop):
    source_id = _register(catalog_ctx, shop, include_schemas=["sales"], exclude_tables=["events", "revenue"])
    _crawl(catalog_ctx, source_id)
    pg_execute(shop, "comment on table sales.orders is 'What was bought'; drop view sales.open_orders;")
    before = _last_change_id(catalog_ctx)
    _crawl(catalog_ctx, source_id)
    kinds = [(k, u.rsplit(":", 1)[-1]) for k, u, *_ in _changes(catalog_ctx, source_id, before)]
    assert sorted(kinds) == [("table_comment_changed", "orders"), ("table_deleted", "open_orders")]

    pg_execute(shop, "create view sales.open_orders as select id from sales.orders")
    before = _last_change_id(catalog_ctx)
    _crawl(catalog_ctx, source_id)
    assert [k for k, *_ in _changes(catalog_ctx, source_id, before)] == ["table_created"]
    with catalog_ctx.db.session() as session:
        view = session.scalars(select(Table).where(Table.name == "open_orders")).one()
        live = session.scalars(select(Column.name).where(Column.table_id == view.id, Column.deleted_at.is_(None)))
        assert view.deleted_at is None and list(live) == ["id"]


def test_failed_crawl_leaves_catalog_unchanged(catalog_ctx, shop, pg_server):
    source_id = _register(catalog_ctx, shop)
    _crawl(catalog_ctx, source_id)
    snapshot_before = {k: (c.data_type, c.nullable) for k, c in _catalog_columns(catalog_ctx, source_id).items()}
    before = _last_change_id(catalog_ctx)
    pg_execute(shop, "alter table sales.orders add column note text")
    from tests.support.postgres import pg_admin_connection

    with pg_admin_connection() as admin:  # the database vanishes between crawls
        admin.execute(f'alter database "{shop["database"]}" rename to "{shop["database"]}_gone"')
    try:
        job = wait_for_job(catalog_ctx, request_crawl(catalog_ctx, source_id).id, timeout=60)
    finally:
        with pg_admin_connection() as admin:
            admin.execute(f'alter database "{shop["database"]}_gone" rename to "{shop["database"]}"')
    assert job.status == "failed" and job.error_code == "source_not_found"
    assert shop["database"] in job.error_message
    assert _changes(catalog_ctx, source_id, before) == []
    after = {k: (c.data_type, c.nullable) for k, c in _catalog_columns(catalog_ctx, source_id).items()}
    assert after == snapshot_before


def test_deleting_the_source_while_it_is_crawled_cancels_the_job_and_says_why(catalog_ctx, make_pg_database,
                                                                               monkeypatch):
    from sqlalchemy import text

    from catalog_api.services import crawl
    from catalog_api.services.sources import delete_source

    config = make_pg_database("create table t (id int primary key)")
    source = register_source(catalog_ctx, SourceRegistration(name="going", kind="postgres", config=config))
    real_build = crawl.build_connector

    def build_then_delete_on_discovery(ctx, session, row):
        connector = real_build(ctx, session, row)
        discover = connector.discover

        def deleting_discover(**kwargs):
            delete_source(ctx, source.id)  # the source goes while the job discovers it
            return discover(**kwargs)

        connector.discover = deleting_discover
        return connector

    monkeypatch.setattr(crawl, "build_connector", build_then_delete_on_discovery)
    job = wait_for_job(catalog_ctx, request_crawl(catalog_ctx, source.id).id)
    with catalog_ctx.db.session() as session:
        row = session.execute(text("select status, error_code, error_message from jobs where id = :id"),
                              {"id": job.id}).one()
        assert session.scalar(text("select count(*) from tables where source_id = :id"), {"id": source.id}) == 0
    assert tuple(row) == ("cancelled", "source_deleted", "cancelled: its source 'going' was deleted")
