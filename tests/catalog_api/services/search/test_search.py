"""Ranked full-text search on the embedded SQLite and on PostgreSQL catalogs, over real crawls of a PostgreSQL
source: ranking, facets against direct SQL over the catalog tables, the index after re-crawls and curation (and
after a rollback), autocomplete and pages."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, text

from catalog_api.db.models import Column, ProfileAnomalyRow, Table, TableProfileRow
from catalog_api.services import curation
from catalog_api.services.search.documents import refresh_entities, refresh_tables
from catalog_api.services.search.query import SearchFilters, SearchRequest, search
from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.urns import column_urn, dataset_urn
from tests.support.catalog import crawl, query
from tests.support.postgres import pg_execute

pytestmark = pytest.mark.postgres  # the source is a real PostgreSQL database on every store

SHOP_DDL = """
create schema sales;
create schema hr;
comment on schema sales is 'What we sell and to whom';
create table sales.customers (id bigint primary key, email text not null, full_name text, country char(2));
comment on table sales.customers is 'People who buy';
comment on column sales.customers.email is 'Login e-mail';
create table sales.orders (id bigint primary key, customer_id bigint references sales.customers(id),
                           total numeric(12,2), status text);
comment on table sales.orders is 'Each order belongs to one of the customers';
create view sales.open_orders as select id, customer_id, total from sales.orders where status = 'open';
create table hr.employees (id int primary key, email text, salary numeric, manager_id int);
create table hr.customer_feedback (id int, note text);
"""


@pytest.fixture
def shop(ctx, make_pg_database):
    """The crawled shop: (context, source id, the source database's config)."""
    config = make_pg_database(SHOP_DDL)
    source = register_source(ctx, SourceRegistration(name="shop", kind="postgres", config=config))
    crawl(ctx, source.id)
    return ctx, source.id, config


def found(ctx, q: str | None = None, first: int = 100, after: str | None = None, **filters):
    return query(ctx, search, SearchRequest(q=q, filters=SearchFilters(**filters), first=first, after=after))


def urns(ctx, q: str | None = None, **filters) -> list[str]:
    return [h.urn for h in found(ctx, q, **filters).hits]


def test_an_exact_name_ranks_above_a_description_that_mentions_it(shop):
    ctx, _, _ = shop
    hits = urns(ctx, "customers")
    customers, orders = dataset_urn("shop", "sales", "customers"), dataset_urn("shop", "sales", "orders")
    assert hits[0] == customers and orders in hits
    assert hits.index(customers) < hits.index(orders)
    # a name that holds the word beats a comment that holds it
    assert urns(ctx, "feedback")[0] == dataset_urn("shop", "hr", "customer_feedback")
    assert urns(ctx, "buy") == [customers]  # only the comment says it


def test_prefixes_complete_names_and_dotted_tags_match_whole_and_in_parts(shop):
    ctx, _, _ = shop
    assert dataset_urn("shop", "sales", "customers") in urns(ctx, "custo")
    assert column_urn("shop", "sales", "orders", "customer_id") in urns(ctx, "custo")
    assert urns(ctx, "zebra") == []
    email = column_urn("shop", "hr", "employees", "email")
    curation.set_tags(ctx, email, ["pii.email"])
    assert urns(ctx, "pii.email") == [email]
    assert email in urns(ctx, "email") and email in urns(ctx, "pii")
    assert urns(ctx, "pii.em") == [email]


def _catalog_counts(ctx) -> dict[str, Counter]:
    """The facet counts of an unfiltered search, computed from the catalog tables themselves."""
    with ctx.db.engine.connect() as connection:
        live = connection.execute(text("""
            select s.name, 'source', null from data_sources s
            union all select d.name, 'schema', sc.name from schemas sc join data_sources d on d.id = sc.source_id
                where sc.deleted_at is null
            union all select d.name, t.kind, sc.name from tables t join schemas sc on sc.id = t.schema_id
                join data_sources d on d.id = t.source_id where t.deleted_at is null
            union all select d.name, 'column', sc.name from columns c join tables t on t.id = c.table_id
                join schemas sc on sc.id = t.schema_id join data_sources d on d.id = t.source_id
                where c.deleted_at is null and t.deleted_at is null""")).all()
        tags = connection.execute(text("""
            select g.tag from tags g where g.entity_urn in (select urn from columns where deleted_at is null
                union select urn from tables where deleted_at is null union select urn from schemas
                union select urn from data_sources)""")).scalars().all()
        pii = connection.execute(text("""
            select count(*) from columns c where c.deleted_at is null and exists (select 1 from tags g
                where g.entity_urn = c.urn and (g.tag = 'pii' or g.tag like 'pii.%'))""")).scalar()
        pii_tables = connection.execute(text("""
            select count(*) from tables t where t.deleted_at is null and exists (select 1 from columns c
                join tags g on g.entity_urn = c.urn where c.table_id = t.id and c.deleted_at is null
                and (g.tag = 'pii' or g.tag like 'pii.%'))""")).scalar()
    return {"source": Counter(r[0] for r in live), "kind": Counter(r[1] for r in live),
            "schema_name": Counter(r[2] for r in live if r[2] is not None), "tag": Counter(tags),
            "has_pii": Counter({"n": pii + pii_tables})}


def _facets(result) -> dict[str, Counter]:
    facets = result.facets
    return {name: Counter({v.value: v.count for v in getattr(facets, name)})
            for name in ("source", "kind", "schema_name", "tag")} | {"has_pii": Counter({"n": facets.has_pii})}


def test_facet_counts_equal_direct_counts_over_the_catalog(shop, make_pg_database):
    ctx, _, _ = shop
    other = register_source(ctx, SourceRegistration(name="crm", kind="postgres", config=make_pg_database(
        "create schema sales; create table sales.leads (id int, email text, customer_id int);")))
    crawl(ctx, other.id)
    curation.set_tags(ctx, column_urn("shop", "sales", "customers", "email"), ["pii.email", "gdpr"])
    curation.set_tags(ctx, column_urn("crm", "sales", "leads", "email"), ["pii.email"])
    curation.set_tags(ctx, dataset_urn("shop", "sales", "orders"), ["finance"])

    everything = found(ctx, first=0)
    expected = _catalog_counts(ctx)
    assert _facets(everything) == expected
    assert everything.total == sum(expected["kind"].values())

    # filtered: what the same filter selects in SQL
    sales_columns = found(ctx, kind=("column",), schema=("sales",), first=0)
    with ctx.db.engine.connect() as connection:
        by_source = dict(connection.execute(text("""
            select d.name, count(*) from columns c join tables t on t.id = c.table_id join schemas s
                on s.id = t.schema_id join data_sources d on d.id = t.source_id
            where s.name = 'sales' and c.deleted_at is null and t.deleted_at is null group by d.name""")).all())
    assert {v.value: v.count for v in sales_columns.facets.source} == by_source
    assert sales_columns.total == sum(by_source.values())
    assert set(urns(ctx, tag=("pii.email",))) == {column_urn("shop", "sales", "customers", "email"),
                                                   column_urn("crm", "sales", "leads", "email")}
    assert set(urns(ctx, has_pii=True)) == {column_urn("shop", "sales", "customers", "email"),
                                            column_urn("crm", "sales", "leads", "email"),
                                            dataset_urn("shop", "sales", "customers"),
                                            dataset_urn("crm", "sales", "leads")}
    assert set(urns(ctx, "email", source=("crm",))) == {column_urn("crm", "sales", "leads", "email")}
    assert urns(ctx, owner=("ana",)) == [] and found(ctx, first=0).facets.owner == []


def test_has_anomalies_follows_the_latest_profile(shop):
    ctx, _, _ = shop
    customers = dataset_urn("shop", "sales", "customers")
    email = column_urn("shop", "sales", "customers", "email")
    with ctx.db.session() as session:
        table = session.scalars(select(Table).where(Table.urn == customers)).one()
        for day, anomalous in ((1, True), (2, False)):
            moment = datetime(2026, 1, day, tzinfo=timezone.utc)
            row = TableProfileRow(table_id=table.id, started_at=moment, finished_at=moment, row_count=1,
                                  column_count=4, read_from="source", anomaly_count=int(anomalous))
            session.add(row)
            session.flush()
            if anomalous:
                session.add(ProfileAnomalyRow(table_profile_id=row.id, table_id=table.id, subject_urn=email,
                                              column="email", kind="null_rate", severity="high", method="zscore",
                                              message="more nulls", detected_at=moment))
            refresh_tables(session, [table.id])  # as storing a profile does
            if anomalous:
                assert set(urns_in(session, has_anomalies=True)) == {customers, email}
        assert urns_in(session, has_anomalies=True) == []  # the latest profile is clean
    with ctx.db.session() as session:
        newest = session.scalars(select(TableProfileRow).order_by(TableProfileRow.started_at.desc())).first()
        session.add(ProfileAnomalyRow(table_profile_id=newest.id, table_id=newest.table_id, subject_urn=email,
                                      column="email", kind="null_rate", severity="high", method="zscore",
                                      message="more nulls", detected_at=newest.started_at))
        refresh_tables(session, [newest.table_id])
    result = found(ctx, has_anomalies=True)
    assert {h.urn for h in result.hits} == {customers, email} and result.facets.has_anomalies == 2


def urns_in(session, **filters) -> list[str]:
    return [h.urn for h in search(session, SearchRequest(filters=SearchFilters(**filters))).hits]


def test_the_index_follows_a_recrawl_that_drops_and_renames_columns_and_tables(shop):
    ctx, source_id, config = shop
    pg_execute(config, "alter table sales.customers drop column country;"
                       "alter table sales.customers rename column full_name to display_name;"
                       "drop table hr.customer_feedback;")
    crawl(ctx, source_id)
    assert urns(ctx, "country") == []
    assert urns(ctx, "full_name") == []
    assert urns(ctx, "display") == [column_urn("shop", "sales", "customers", "display_name")]
    assert urns(ctx, "feedback") == []
    assert _facets(found(ctx, first=0)) == _catalog_counts(ctx)


def test_curated_descriptions_and_tags_are_searchable_at_once_and_a_rollback_leaves_the_index(shop):
    ctx, _, _ = shop
    status = column_urn("shop", "sales", "orders", "status")
    curation.set_description(ctx, status, "Lifecycle: open, shipped or refunded")
    assert urns(ctx, "refunded") == [status]
    curation.set_description(ctx, status, "Lifecycle of an order")
    assert urns(ctx, "refunded") == []
    curation.set_tags(ctx, status, ["workflow.state"])
    assert urns(ctx, "workflow") == [status]
    curation.set_tags(ctx, status, [])
    assert urns(ctx, "workflow") == []

    with ctx.db.session() as session:  # a change and its index update in one transaction that is rolled back
        column = session.scalars(select(Column).where(Column.urn == status)).one()
        column.description = "Zanzibar"
        session.flush()
        refresh_entities(session, [status])
        assert urns_in(session) and [h.urn for h in search(session, SearchRequest(q="zanzibar")).hits] == [status]
        session.rollback()
    assert urns(ctx, "zanzibar") == []
    assert urns(ctx, "lifecycle") == [status]


def test_pages_cover_every_hit_exactly_once_in_rank_order(shop):
    ctx, _, _ = shop
    for q in ("id", None):
        whole = found(ctx, q, first=100)
        assert not whole.has_next and len(whole.hits) == whole.total > 5
        paged, after = [], None
        while True:
            page = found(ctx, q, first=2, after=after)
            paged += page.hits
            assert page.total == whole.total
            if not page.has_next:
                break
            after = page.cursors[-1]
        assert [h.urn for h in paged] == [h.urn for h in whole.hits]
        assert len({h.urn for h in paged}) == whole.total
        scores = [h.score for h in paged]
        assert scores == sorted(scores, reverse=True)


def _matching(ctx, prefix: str) -> Counter:
    """The documents a word prefix matches, by kind, counted over the index table in SQL: the oracle of a capped
    search."""
    with ctx.db.engine.connect() as connection:
        return Counter(dict(connection.execute(text(
            "select kind, count(*) from search_documents where ' ' || name_text || ' ' || body_text || ' ' || "
            "tag_text || ' ' || context_text like :pattern group by kind"), {"pattern": f"% {prefix}%"}).all()))


def test_a_search_with_more_hits_than_it_considers_says_its_counts_are_lower_bounds(shop, monkeypatch):
    ctx, _, _ = shop
    everything = found(ctx, "custo")
    assert everything.total_exact and everything.total == sum(_matching(ctx, "custo").values()) > 4
    assert Counter({v.value: v.count for v in everything.facets.kind}) == _matching(ctx, "custo")

    monkeypatch.setattr("catalog_api.services.search.query.MAX_CONSIDERED", 4)
    capped = found(ctx, "custo")
    assert not capped.total_exact and capped.total == len(capped.hits) == 4
    assert sum(v.count for v in capped.facets.kind) == 4
    exact = Counter({v.value: v.count for v in everything.facets.kind})
    assert all(v.count <= exact[v.value] for v in capped.facets.kind)  # lower bounds of the exact counts
    # the names that hold the words come before documents that only mention them (context, descriptions)
    assert all(" custo" in f" {h.name.replace('_', ' ')}" for h in capped.hits)

    small = found(ctx, "buy")  # fewer hits than the cap: every count exact
    assert small.total_exact and small.total == sum(_matching(ctx, "buy").values()) == 1


def test_an_exact_name_is_considered_first_whatever_its_place_in_the_index(shop, monkeypatch):
    ctx, _, _ = shop
    monkeypatch.setattr("catalog_api.services.search.query.MAX_CONSIDERED", 2)
    # `id` starts the names of 7 columns (5 named `id`), and the most recent matches come last in the index
    hits = found(ctx, "id")
    assert not hits.total_exact and [h.name for h in hits.hits] == ["id", "id"]
    monkeypatch.setattr("catalog_api.services.search.query.MAX_CONSIDERED", 1)
    assert [h.urn for h in found(ctx, "orders").hits] == [dataset_urn("shop", "sales", "orders")]
    assert [h.urn for h in found(ctx, "open orders").hits] == [dataset_urn("shop", "sales", "open_orders")]
    monkeypatch.setattr("catalog_api.services.search.query.MAX_CONSIDERED", 2)
    paged, after = [], None
    while True:  # pages reach exactly the hits considered, each once
        page = found(ctx, "custo", first=1, after=after)
        paged.append(page.hits[0].urn)
        if not page.has_next:
            break
        after = page.cursors[-1]
    assert len(set(paged)) == len(paged) == 2


def test_removing_a_source_removes_its_documents(shop):
    ctx, source_id, _ = shop
    from catalog_api.services.sources import delete_source

    delete_source(ctx, source_id)
    assert found(ctx, first=0).total == 0
    if ctx.db.engine.dialect.name == "sqlite":
        with ctx.db.engine.connect() as connection:  # the FTS5 index lost the rows with them
            assert connection.execute(text("select count(*) from search_fts where search_fts match 'customers'")
                                      ).scalar() == 0


def test_equal_scores_rank_tables_first_then_by_name_whatever_the_index_order(ctx, make_pg_database):
    config = make_pg_database("create table ledger (id int); create table ledges (id int); "
                              "create table accounts (ledger int);")
    source = register_source(ctx, SourceRegistration(name="books", kind="postgres", config=config))
    crawl(ctx, source.id)
    ledger = dataset_urn("books", "public", "ledger")
    curation.set_tags(ctx, ledger, ["finance"])  # its document rebuilt: now after the others in the index
    expected = [ledger, dataset_urn("books", "public", "ledges"), column_urn("books", "public", "accounts", "ledger")]
    whole = found(ctx, "ledge")
    assert [h.urn for h in whole.hits[:3]] == expected
    assert len({h.score for h in whole.hits[:3]}) == 1 and whole.hits[3].score < whole.hits[2].score
    paged, after = [], None
    for _ in range(3):  # the cursors follow the same order
        page = found(ctx, "ledge", first=1, after=after)
        paged.append(page.hits[0].urn)
        after = page.cursors[-1]
    assert paged == expected
