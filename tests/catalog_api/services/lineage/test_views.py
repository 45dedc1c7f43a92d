"""View lineage recorded by a real PostgreSQL crawl, checked against PostgreSQL's own dependency tracking."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from catalog_api.bootstrap import build_context
from catalog_api.db.models import LineageEdge, LineageUnresolved, OutboxEvent
from catalog_api.services.context import ServiceContext
from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.urns import dataset_urn
from tests.support.jobs import crawled
from tests.support.postgres import pg_execute, pg_query

pytestmark = pytest.mark.postgres

DDL = """
create schema shop;
create schema hidden;
create table shop.customers (id int primary key, name text, country text);
create table shop.orders (id int primary key, customer_id int, total numeric, status text, at date);
create table shop.refunds (order_id int, amount numeric);
create table hidden.secret (id int, v text);
create view shop.order_totals as
    select c.id, c.name, sum(o.total) as total
    from shop.customers c join shop.orders o on o.customer_id = c.id group by c.id, c.name;
create view shop.big_customers as
    with t as (select id, name, total from shop.order_totals) select id, name from t where total > 100;
create view shop.money as
    select id as ref, total as amount from shop.orders union all select order_id, -amount from shop.refunds;
create view shop.ranked as
    select id, rank() over (partition by customer_id order by total) as r from shop.orders;
create view shop.with_secret as select s.v, o.id from hidden.secret s join shop.orders o on o.id = s.id;
"""


def _crawl(ctx: ServiceContext, source_id: int) -> str:
    return crawled(ctx, source_id).id


def _edges(ctx: ServiceContext, *, live: bool = True) -> list[LineageEdge]:
    with ctx.db.session() as session:
        query = select(LineageEdge).where(LineageEdge.origin == "view_sql")
        if live:
            query = query.where(LineageEdge.deleted_at.is_(None))
        rows = session.scalars(query).all()
        session.expunge_all()
        return rows


def _table_edges(edges: list[LineageEdge]) -> set[tuple[str, str]]:
    return {(e.upstream_urn, e.downstream_urn) for e in edges if e.upstream_column is None}


def _column_edges(edges: list[LineageEdge]) -> set[tuple[str, str, str, str, str]]:
    return {(e.upstream_urn, e.upstream_column, e.downstream_urn, e.downstream_column, e.transformation)
            for e in edges if e.upstream_column is not None}


@pytest.fixture
def lineage_ctx(catalog_settings):
    ctx = build_context(catalog_settings.model_copy(update={"lineage_events_enabled": True}), migrate=True)
    yield ctx
    ctx.close()


def test_view_edges_match_view_table_usage_and_view_column_usage(lineage_ctx, make_pg_database):
    config = make_pg_database(DDL)
    source = register_source(lineage_ctx, SourceRegistration(
        name="pg", kind="postgres", config={**config, "exclude_schemas": ["hidden"]}))
    _crawl(lineage_ctx, source.id)
    edges = _edges(lineage_ctx)

    # PostgreSQL's own record of which view reads which table (minus the schema the crawl leaves out)
    usage = pg_query(config, """
        select table_schema, table_name, view_schema, view_name from information_schema.view_table_usage
        where view_schema = 'shop' and table_schema = 'shop'""")
    assert _table_edges(edges) == {(dataset_urn("pg", s, t), dataset_urn("pg", vs, v)) for s, t, vs, v in usage}

    # every column an output is computed from is one PostgreSQL lists as used by that view
    used = {(dataset_urn("pg", vs, v), dataset_urn("pg", s, t), c) for s, t, c, vs, v in pg_query(config, """
        select table_schema, table_name, column_name, view_schema, view_name
        from information_schema.view_column_usage where view_schema = 'shop'""")}
    columns = _column_edges(edges)
    assert columns and all((down, up, up_col) in used for up, up_col, down, _, _ in columns)
    orders, totals = dataset_urn("pg", "shop", "orders"), dataset_urn("pg", "shop", "order_totals")
    money, customers = dataset_urn("pg", "shop", "money"), dataset_urn("pg", "shop", "customers")
    assert (orders, "total", totals, "total", "expression") in columns
    assert (customers, "name", totals, "name", "identity") in columns
    assert (totals, "name", dataset_urn("pg", "shop", "big_customers"), "name", "identity") in columns
    assert {(u, c, t) for u, c, d, _, t in columns if d == money} == {
        (orders, "id", "identity"), (orders, "total", "identity"),
        (dataset_urn("pg", "shop", "refunds"), "order_id", "identity"),
        (dataset_urn("pg", "shop", "refunds"), "amount", "expression")}
    # the window's PARTITION BY / ORDER BY columns decide rows, they are not the rank's value
    ranked = dataset_urn("pg", "shop", "ranked")
    assert {(c, d) for _, c, down, d, _ in columns if down == ranked} == {("id", "id")}
    assert all(e.upstream_table_id is not None and e.downstream_table_id is not None for e in edges)

    # the table outside the crawl's scope is recorded as unresolved, not dropped
    with lineage_ctx.db.session() as session:
        unresolved = session.execute(select(LineageUnresolved.view_urn, LineageUnresolved.reference)).all()
        events = session.scalars(select(OutboxEvent.subject).where(
            OutboxEvent.type == "catalog.lineage.changed")).all()
    assert sorted(unresolved) == [(dataset_urn("pg", "shop", "with_secret"), ref)
                                  for ref in ("hidden.secret", "hidden.secret.id", "hidden.secret.v")]
    assert set(events) == {dataset_urn("pg", "shop", v)
                           for v in ("order_totals", "big_customers", "money", "ranked", "with_secret")}


def test_recrawl_after_create_or_replace_view_changes_exactly_its_edges(lineage_ctx, make_pg_database):
    config = make_pg_database(DDL)
    source = register_source(lineage_ctx, SourceRegistration(name="pg", kind="postgres", config=config))
    _crawl(lineage_ctx, source.id)
    before = {e.edge_key: e for e in _edges(lineage_ctx)}
    money = dataset_urn("pg", "shop", "money")

    pg_execute(config, """
        create or replace view shop.money as select id as ref, total as amount from shop.orders;
        drop view shop.ranked;
    """)
    second = _crawl(lineage_ctx, source.id)
    after = {e.edge_key: e for e in _edges(lineage_ctx)}
    oracle = pg_query(config, """select table_schema, table_name from information_schema.view_table_usage
                                 where view_schema = 'shop' and view_name = 'money'""")
    assert {u for u, d in _table_edges(list(after.values())) if d == money} == {
        dataset_urn("pg", s, t) for s, t in oracle} == {dataset_urn("pg", "shop", "orders")}
    assert {(c, d) for _, c, down, d, _ in _column_edges(list(after.values())) if down == money} == {
        ("id", "ref"), ("total", "amount")}
    ranked = dataset_urn("pg", "shop", "ranked")
    assert not any(e.downstream_urn == ranked for e in after.values())

    # edges of untouched views are the same rows; the removed ones are soft-deleted, not forgotten
    untouched = {k for k, e in before.items() if e.downstream_urn not in (money, ranked)}
    assert untouched <= set(after)
    assert all(after[k].first_seen_at == before[k].first_seen_at for k in untouched)
    gone = {e.edge_key: e for e in _edges(lineage_ctx, live=False) if e.deleted_at is not None}
    assert {e.downstream_urn for e in gone.values()} == {money, ranked}
    assert any(e.upstream_urn == dataset_urn("pg", "shop", "refunds") for e in gone.values())

    with lineage_ctx.db.session() as session:
        changed = session.scalars(select(OutboxEvent.subject).where(
            OutboxEvent.type == "catalog.lineage.changed", OutboxEvent.event.contains(second))).all()
    assert sorted(changed) == sorted([money, ranked])

    # a crawl with nothing changed leaves lineage alone
    _crawl(lineage_ctx, source.id)
    assert {e.edge_key for e in _edges(lineage_ctx)} == set(after)


def test_docs_state_the_default_of_lineage_events_the_settings_use():
    import re

    from catalog_api.settings import Settings
    from tests.support.paths import REPO

    text = " ".join((REPO / "docs" / "lineage.md").read_text(encoding="utf-8").split())
    stated = re.findall(r"\b(on|off) by default\b", text[text.index("CATALOG_LINEAGE_EVENTS_ENABLED"):][:300])
    assert stated, "docs/lineage.md no longer states the default of CATALOG_LINEAGE_EVENTS_ENABLED"
    assert stated[0] == ("on" if Settings.model_fields["lineage_events_enabled"].default else "off")
