"""Owners, glossary terms and domains in search, on SQLite and PostgreSQL: their names find the assets they hang on,
their filters and facet counts equal direct SQL over the curation tables, every governance change (renames and
deletes of terms and domains, moves between domains, owners replaced) is in the index at once, a rolled back change
leaves it as it was, and migration 0013 rebuilds documents made before curation was indexed."""

from __future__ import annotations

from collections import Counter

import pytest
from alembic import command
from sqlalchemy import select, text

from catalog_api.db.curation import TermLink
from catalog_api.db.migrate import alembic_config, upgrade
from catalog_api.errors import Conflict
from catalog_api.services import governance
from catalog_api.services.search.documents import refresh_entities
from catalog_api.services.search.query import SearchFilters, SearchRequest, search
from catalog_api.urns import column_urn, dataset_urn, source_urn
from crawlers.snapshot import ColumnSnapshot, SchemaSnapshot, SourceSnapshot
from tests.support.catalog import query
from tests.support.factories import apply, make_source, make_table

CUSTOMERS = dataset_urn("shop", "sales", "customers")
ORDERS = dataset_urn("shop", "sales", "orders")
EMAIL = column_urn("shop", "sales", "customers", "email")
TOTAL = column_urn("shop", "sales", "orders", "total")
LEGACY = dataset_urn("shop", "sales", "legacy")


def _snapshot(*, legacy: bool) -> SourceSnapshot:
    return SourceSnapshot(schemas=(SchemaSnapshot("sales"),), tables=(
        make_table("sales", "customers", (ColumnSnapshot("id", 1, "bigint"), ColumnSnapshot("email", 2, "text"))),
        make_table("sales", "orders", (ColumnSnapshot("id", 1, "bigint"), ColumnSnapshot("total", 2, "numeric"))),
        *([make_table("sales", "legacy", 2)] if legacy else [])))


@pytest.fixture
def shop(ctx):
    """A curated shop: owners, terms and domains on its source, tables and columns, and on a table since deleted."""
    source = make_source(ctx, "shop")
    apply(ctx, source, _snapshot(legacy=True))
    for name in ("Customer Lifetime Value", "Revenue", "Contact Point"):
        governance.create_term(ctx, name)
    for name in ("Marketing", "Finance"):
        governance.create_domain(ctx, name)
    governance.link_term(ctx, EMAIL, "contact point")
    governance.link_term(ctx, CUSTOMERS, "Customer Lifetime Value")
    governance.link_term(ctx, CUSTOMERS, "Contact Point")
    governance.link_term(ctx, TOTAL, "Revenue")
    governance.link_term(ctx, ORDERS, "Revenue")
    governance.link_term(ctx, LEGACY, "Revenue")
    governance.set_owners(ctx, CUSTOMERS, [{"principal": "ana@example.com", "kind": "user", "type": "business"},
                                           {"principal": "ana@example.com", "kind": "user", "type": "technical"},
                                           {"principal": "crm-team", "kind": "group"}])
    governance.set_owners(ctx, ORDERS, [{"principal": "crm-team", "kind": "group"}])
    governance.set_owners(ctx, source_urn("shop"), [{"principal": "platform", "kind": "group"}])
    governance.set_owners(ctx, LEGACY, [{"principal": "zoltan", "kind": "user"}])
    governance.set_domain(ctx, CUSTOMERS, "Marketing")
    governance.set_domain(ctx, ORDERS, "Finance")
    governance.set_domain(ctx, source_urn("shop"), "Finance")
    governance.set_domain(ctx, LEGACY, "Marketing")
    apply(ctx, source, _snapshot(legacy=False))  # legacy is soft-deleted and keeps its curation, but not its document
    return ctx


def found(ctx, q: str | None = None, **filters):
    return query(ctx, search, SearchRequest(q=q, filters=SearchFilters(**filters), first=100))


def urns(ctx, q: str | None = None, **filters) -> set[str]:
    return {h.urn for h in found(ctx, q, **filters).hits}


def facets(result) -> dict[str, Counter]:
    return {name: Counter({v.value: v.count for v in getattr(result.facets, name)})
            for name in ("owner", "term", "domain")}


LIVE = """(select urn from data_sources union all select urn from schemas where deleted_at is null
    union all select urn from tables where deleted_at is null
    union all select c.urn from columns c join tables t on t.id = c.table_id
        where c.deleted_at is null and t.deleted_at is null)"""


def sql_counts(ctx, urn_filter: str = "") -> dict[str, Counter]:
    """The owner, term and domain counts of the live entities (`urn_filter` narrows them), straight from SQL."""
    live = f"{LIVE} live where 1 = 1 {urn_filter}"
    with ctx.db.engine.connect() as connection:
        return {name: Counter(dict(connection.execute(text(statement.format(live=live))).all())) for name, statement in (
            ("owner", "select principal, count(distinct entity_urn) from owners "
                      "where entity_urn in (select urn from {live}) group by principal"),
            ("term", "select t.name, count(*) from glossary_links l join glossary_terms t on t.id = l.term_id "
                     "where l.entity_urn in (select urn from {live}) group by t.name"),
            ("domain", "select d.name, count(*) from domain_assignments a join domains d on d.id = a.domain_id "
                       "where a.entity_urn in (select urn from {live}) group by d.name"))}


def test_owner_term_and_domain_names_find_the_assets_they_hang_on(shop):
    assert urns(shop, "lifetime") == {CUSTOMERS}
    assert urns(shop, "contact point") == {CUSTOMERS, EMAIL}
    assert urns(shop, "revenue") == {ORDERS, TOTAL}  # not the deleted legacy table
    assert urns(shop, "ana") == {CUSTOMERS}
    assert urns(shop, "crm") == {CUSTOMERS, ORDERS}
    assert urns(shop, "zoltan") == set()
    assert urns(shop, "marketing") == {CUSTOMERS}
    assert urns(shop, "finance") == {ORDERS, source_urn("shop")}
    # the name of an asset still ranks above a curated word that mentions it
    governance.create_term(shop, "Orders Backlog")
    governance.link_term(shop, CUSTOMERS, "orders backlog")
    assert found(shop, "orders").hits[0].urn == ORDERS


def test_filters_select_by_principal_and_by_term_and_domain_name_in_any_case(shop):
    assert urns(shop, owner=("ana@example.com",)) == {CUSTOMERS}
    assert urns(shop, owner=("crm-team", "platform")) == {CUSTOMERS, ORDERS, source_urn("shop")}
    assert urns(shop, owner=("ANA@example.com",)) == set()  # a principal is matched exactly
    assert urns(shop, term=("REVENUE",)) == {ORDERS, TOTAL}
    assert urns(shop, term=("revenue",), kind=("column",)) == {TOTAL}
    assert urns(shop, domain=("marketing", "finance")) == {CUSTOMERS, ORDERS, source_urn("shop")}
    assert urns(shop, "customers", domain=("Marketing",)) == {CUSTOMERS}  # its columns are in no domain
    assert urns(shop, term=("Revenue",), domain=("Finance",), owner=("crm-team",)) == {ORDERS}


def test_facet_counts_equal_direct_counts_over_the_curation_tables(shop):
    assert facets(found(shop)) == sql_counts(shop)
    assert facets(found(shop)) != {"owner": Counter(), "term": Counter(), "domain": Counter()}
    assert facets(found(shop, kind=("column",))) == sql_counts(
        shop, "and urn in (select urn from columns)")
    assert facets(found(shop, "customers")) == sql_counts(shop, f"and urn in ('{CUSTOMERS}', '{EMAIL}', "
                                                                f"'{column_urn('shop', 'sales', 'customers', 'id')}')")
    with_term = found(shop, term=("revenue",))
    assert facets(with_term)["domain"] == Counter({"Finance": 1}) and with_term.total == 2


def test_renames_deletes_and_moves_are_in_the_index_at_once(shop):
    with shop.db.session() as session:
        revenue = next(t for t in governance.list_terms(session) if t.name == "Revenue")
        finance = next(d for d in governance.list_domains(session) if d.name == "Finance")
        marketing = next(d for d in governance.list_domains(session) if d.name == "Marketing")
    governance.update_term(shop, revenue.id, "Gross Turnover")
    assert urns(shop, "revenue") == set() and urns(shop, "turnover") == {ORDERS, TOTAL}
    assert facets(found(shop)) == sql_counts(shop) and "Gross Turnover" in facets(found(shop))["term"]
    governance.delete_term(shop, revenue.id)
    assert urns(shop, "turnover") == set() and urns(shop, term=("gross turnover",)) == set()
    assert facets(found(shop)) == sql_counts(shop)

    governance.update_domain(shop, finance.id, "Controlling")
    assert urns(shop, "finance") == set() and urns(shop, "controlling") == {ORDERS, source_urn("shop")}
    governance.set_domain(shop, ORDERS, "Marketing")  # moved
    assert urns(shop, "controlling") == {source_urn("shop")} and urns(shop, "marketing") == {CUSTOMERS, ORDERS}
    governance.delete_domain(shop, marketing.id)
    assert urns(shop, "marketing") == set() and urns(shop, domain=("marketing",)) == set()
    governance.set_owners(shop, CUSTOMERS, [{"principal": "bea", "kind": "user"}])
    assert urns(shop, "ana") == set() and urns(shop, "bea") == {CUSTOMERS}
    with shop.db.session() as session:
        contact = governance.terms_of(session, [EMAIL])[EMAIL][0]
    governance.unlink_term(shop, EMAIL, contact.id)
    assert urns(shop, "contact") == {CUSTOMERS}
    assert facets(found(shop)) == sql_counts(shop)


def test_a_rolled_back_change_leaves_the_index_as_it_was(shop):
    before = found(shop)
    with shop.db.session() as session:  # a link and its index update in one transaction that is rolled back
        term_id = next(t.id for t in governance.list_terms(session) if t.name == "Revenue")
        source_id = session.scalars(select(TermLink.source_id)).first()
        session.add(TermLink(term_id=term_id, entity_urn=EMAIL, source_id=source_id, created_by="test"))
        session.flush()
        refresh_entities(session, [EMAIL])
        assert EMAIL in {h.urn for h in search(session, SearchRequest(q="revenue")).hits}
        session.rollback()
    assert urns(shop, "revenue") == {ORDERS, TOTAL}
    with pytest.raises(Conflict):  # a rename to a taken name fails as a whole
        governance.update_term(shop, term_id, "contact point")
    assert urns(shop, "revenue") == {ORDERS, TOTAL}
    after = found(shop)
    assert [h.urn for h in after.hits] == [h.urn for h in before.hits] and facets(after) == facets(before)


DOCUMENT = "urn, name_text, body_text, tag_text, context_text"


def test_migration_0013_rebuilds_documents_made_before_curation_was_indexed(shop):
    url = shop.db.engine.url.render_as_string(hide_password=False)
    with shop.db.engine.connect() as connection:
        kept_by_writers = set(map(tuple, connection.execute(text(f"select {DOCUMENT} from search_documents"))))
    command.downgrade(alembic_config(url), "0012")
    with shop.db.engine.begin() as connection:  # documents as 0011 built them: tags only
        connection.execute(text("update search_documents set tag_text = ''"))
        # searched after the upgrade: today's search reads columns later migrations add (0015's name words)
        assert connection.execute(text("select count(*) from search_documents where tag_text like '%lifetime%' "
                                       "or body_text like '%lifetime%'")).scalar() == 0
    upgrade(url)
    with shop.db.engine.connect() as connection:
        assert set(map(tuple, connection.execute(text(f"select {DOCUMENT} from search_documents")))) == kept_by_writers
    assert urns(shop, "lifetime") == {CUSTOMERS}
