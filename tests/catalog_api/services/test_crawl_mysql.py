"""Crawling a real MariaDB server into the catalog, re-crawling after DDL, and what the change log records."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from catalog_api.db.models import Column, Schema, Table
from catalog_api.services.crawl import request_crawl
from catalog_api.services.jobs import wait_for_job
from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.urns import dataset_urn
from crawlers.connectors.mysql import STATEMENTS_PER_DISCOVERY
from tests.support.catalog import assert_dropped_and_stable
from tests.support.catalog import catalog_columns as _catalog_columns
from tests.support.catalog import changes as _changes
from tests.support.catalog import crawl as _crawl
from tests.support.catalog import last_change_id as _last_change_id
from tests.support.mariadb import make_mariadb_database, mariadb_execute, mariadb_query, mariadb_server, quote  # noqa: F401  (fixtures)

SHOP_DDL = """
create table customers (
    id bigint auto_increment primary key,
    email varchar(320) not null unique comment 'Login e-mail',
    name text not null,
    country char(2) default 'DE',
    created_at timestamp not null default current_timestamp,
    vip tinyint(1) not null default 0
) comment 'People who buy';
create table orders (
    id bigint primary key,
    customer_id bigint not null,
    total decimal(12,2) not null default 0,
    status enum('open','paid') check (status in ('open', 'paid')),
    constraint orders_customer_fk foreign key (customer_id) references customers (id) on delete cascade
);
create table `MixedCase Table` (`Grüße` text, `Id` int primary key);
create view open_orders as select id, customer_id, total from orders where status = 'open';
create table events (id bigint not null, at date not null, payload json, primary key (id, at))
    partition by range columns (at) (
        partition p2024 values less than ('2025-01-01'),
        partition p2025 values less than ('2026-01-01')
    );
"""


@pytest.fixture
def shop(make_mariadb_database) -> dict:
    """The shop database, a database with a unicode name and a staging database, under one name prefix."""
    main = make_mariadb_database(SHOP_DDL, comment="Sales data")
    name = main["database"]
    make_mariadb_database("create table `Kunden Übersicht` (nr int, name text)", prefix=name, suffix="_Ärger")
    make_mariadb_database("create table raw_dump (line text)", prefix=name, suffix="_staging")
    server = {k: v for k, v in main.items() if k != "database"}
    return {"server": server, "main": name, "unicode": f"{name}_Ärger", "database": main}


def _register(ctx, config: dict, name: str = "shop") -> int:
    source = register_source(ctx, SourceRegistration(name=name, kind="mysql", config=config))
    return source.id


def _server_source(ctx, shop: dict) -> int:
    """The whole server, narrowed to the shop's databases without staging."""
    config = {**shop["server"], "include_schemas": [f"{shop['main']}*"], "exclude_schemas": ["*_staging"]}
    return _register(ctx, config)










def _oracle_columns(shop: dict) -> list[tuple]:
    return mariadb_query(
        shop["server"],
        """select c.table_schema, c.table_name, c.column_name, c.ordinal_position, c.is_nullable, c.column_default,
                  c.column_type, c.column_comment, c.extra, t.table_type
           from information_schema.columns c
           join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
           where c.table_schema in (%s, %s)""",
        (shop["main"], shop["unicode"]),
    )


def _assert_catalog_matches_information_schema(ctx, source_id: int, shop: dict) -> dict:
    oracle = _oracle_columns(shop)
    catalog = _catalog_columns(ctx, source_id)
    assert set(catalog) == {(s, t, c) for s, t, c, *_ in oracle}
    for schema, table, column, ordinal, is_nullable, default, column_type, comment, extra, table_type in oracle:
        got = catalog[(schema, table, column)]
        where = (schema, table, column)
        assert got.ordinal == ordinal, where
        assert got.nullable == (is_nullable == "YES"), where
        assert got.data_type == column_type, where
        assert got.comment == (comment or None), where
        if "auto_increment" in extra:
            assert got.generated == "identity" and got.default is None, where
        elif table_type == "VIEW" or default == "NULL":
            assert got.default is None, where
        else:
            assert got.default == default, where
    return catalog


def test_crawl_matches_information_schema_column_by_column(catalog_ctx, shop):
    source_id = _server_source(catalog_ctx, shop)
    result = _crawl(catalog_ctx, source_id)
    assert result["tables_created"] == 6  # customers, orders, MixedCase Table, open_orders, events, Kunden Übersicht
    assert result["source_queries"] == STATEMENTS_PER_DISCOVERY

    catalog = _assert_catalog_matches_information_schema(catalog_ctx, source_id, shop)
    main = shop["main"]
    assert catalog[(main, "orders", "total")].data_type == "decimal(12,2)"
    assert catalog[(main, "orders", "status")].data_type == "enum('open','paid')"
    assert catalog[(main, "customers", "email")].comment == "Login e-mail"
    assert catalog[(main, "customers", "country")].default == "'DE'"
    assert catalog[(main, "customers", "id")].generated == "identity"

    with catalog_ctx.db.session() as session:
        tables = {t.name: t for t in session.scalars(select(Table).where(Table.source_id == source_id))}
        schemas = {s.name: s for s in session.scalars(select(Schema).where(Schema.source_id == source_id))}
    assert set(schemas) == {main, shop["unicode"]} and schemas[main].comment == "Sales data"
    assert tables["events"].partition_key == "RANGE COLUMNS (`at`)"
    assert tables["open_orders"].kind == "view"
    assert tables["open_orders"].view_definition == mariadb_query(
        shop["server"],
        "select view_definition from information_schema.views where table_schema = %s and table_name = %s",
        (main, "open_orders"),
    )[0][0]
    assert tables["customers"].comment == "People who buy"
    assert tables["orders"].foreign_keys[0]["referred_table"] == "customers"
    assert tables["orders"].foreign_keys[0]["on_delete"] == "CASCADE"
    assert tables["Kunden Übersicht"].urn == dataset_urn("shop", shop["unicode"], "Kunden Übersicht")
    assert tables["MixedCase Table"].primary_key == {"name": "PRIMARY", "columns": ["Id"]}
    assert "raw_dump" not in tables


def test_recrawl_after_ddl_records_exactly_the_changes(catalog_ctx, shop):
    source_id = _server_source(catalog_ctx, shop)
    _crawl(catalog_ctx, source_id)

    before = _last_change_id(catalog_ctx)
    unchanged = _crawl(catalog_ctx, source_id)
    assert _changes(catalog_ctx, source_id, before) == []
    assert unchanged["tables_unchanged"] == 6 and unchanged["changes_recorded"] == 0

    main = shop["main"]
    # Dropping `created_at` renumbers the columns after it (MySQL ordinals have no gaps): that moves `vip` but
    # is not a change worth recording.
    mariadb_execute(shop["database"], """
        alter table customers add column phone varchar(40);
        alter table customers drop column created_at;
        alter table customers modify column country varchar(3) default 'DE';
        alter table customers modify column name text null;
        alter table customers modify column email varchar(320) not null comment 'Primary e-mail';
        drop table `MixedCase Table`;
    """)
    before = _last_change_id(catalog_ctx)
    result = _crawl(catalog_ctx, source_id)
    customers = dataset_urn("shop", main, "customers")
    column = customers.replace("dataset", "column")
    changes = {(kind, urn) for kind, urn, *_ in _changes(catalog_ctx, source_id, before)}
    assert changes == {
        ("column_added", f"{column}:phone"),
        ("column_removed", f"{column}:created_at"),
        ("column_type_changed", f"{column}:country"),
        ("column_nullability_changed", f"{column}:name"),
        ("column_comment_changed", f"{column}:email"),
        ("table_deleted", dataset_urn("shop", main, "MixedCase Table")),
    }
    assert result["tables_changed"] == 1 and result["tables_deleted"] == 1
    detail = {(k, u): (b, a) for k, u, b, a in _changes(catalog_ctx, source_id, before)}
    assert detail[("column_type_changed", f"{column}:country")] == ("char(2)", "varchar(3)")
    assert detail[("column_comment_changed", f"{column}:email")] == ("Login e-mail", "Primary e-mail")
    catalog = _assert_catalog_matches_information_schema(catalog_ctx, source_id, shop)
    assert catalog[(main, "customers", "vip")].ordinal == 5

    # The dropped table is soft-deleted: still reachable with its history, no longer live.
    assert_dropped_and_stable(catalog_ctx, source_id, "MixedCase Table", "customers:created_at")


def test_table_comment_change_and_reappearing_view(catalog_ctx, shop):
    main = shop["main"]
    config = {**shop["server"], "database": main, "exclude_tables": ["events"]}
    source_id = _register(catalog_ctx, config)
    _crawl(catalog_ctx, source_id)
    mariadb_execute(shop["database"], "alter table orders comment 'What was bought'; drop view open_orders;")
    before = _last_change_id(catalog_ctx)
    _crawl(catalog_ctx, source_id)
    kinds = [(k, u.rsplit(":", 1)[-1]) for k, u, *_ in _changes(catalog_ctx, source_id, before)]
    assert sorted(kinds) == [("table_comment_changed", "orders"), ("table_deleted", "open_orders")]
    detail = [(b, a) for k, _, b, a in _changes(catalog_ctx, source_id, before) if k == "table_comment_changed"]
    assert detail == [(None, "What was bought")]

    mariadb_execute(shop["database"], "create view open_orders as select id from orders")
    before = _last_change_id(catalog_ctx)
    _crawl(catalog_ctx, source_id)
    assert [k for k, *_ in _changes(catalog_ctx, source_id, before)] == ["table_created"]
    with catalog_ctx.db.session() as session:
        view = session.scalars(select(Table).where(Table.name == "open_orders")).one()
        live = session.scalars(select(Column.name).where(Column.table_id == view.id, Column.deleted_at.is_(None)))
        assert view.deleted_at is None and list(live) == ["id"]


def test_failed_crawl_leaves_catalog_unchanged(catalog_ctx, shop):
    main = shop["main"]
    source_id = _register(catalog_ctx, {**shop["server"], "database": main})
    _crawl(catalog_ctx, source_id)
    snapshot_before = {k: (c.data_type, c.nullable) for k, c in _catalog_columns(catalog_ctx, source_id).items()}
    before = _last_change_id(catalog_ctx)
    mariadb_execute(shop["server"], f"set foreign_key_checks = 0; drop database {quote(main)}")  # gone between crawls
    job = wait_for_job(catalog_ctx, request_crawl(catalog_ctx, source_id).id, timeout=60)
    assert job.status == "failed" and job.error_code == "source_not_found"
    assert main in job.error_message
    assert _changes(catalog_ctx, source_id, before) == []
    after = {k: (c.data_type, c.nullable) for k, c in _catalog_columns(catalog_ctx, source_id).items()}
    assert after == snapshot_before
