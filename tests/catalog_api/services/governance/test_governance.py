"""Owners, glossary terms and domains through the service, on SQLite and PostgreSQL: each change lands in the
entity's history and in one event valid against its JSON Schema, read back with direct SQL; invalid input names the
field and changes nothing; removing a source removes what hung on its entities and keeps term history readable."""

from __future__ import annotations

import pytest

from catalog_api.errors import Conflict, InvalidInput, NotFound
from catalog_api.security.identity import Identity, acting_as
from catalog_api.services import browse, governance, sources
from catalog_api.urns import column_urn, source_urn
from crawlers.snapshot import ColumnSnapshot, SchemaSnapshot, SourceSnapshot
from tests.support.catalog import query
from tests.support.cli import rows as sql
from tests.support.events import outbox_events as events_of
from tests.support.factories import apply, make_table
from tests.support.quality import CUSTOMERS, ORDERS, rules_catalog

ANA = Identity(subject="k1", name="ana", method="api_key", roles=frozenset({"curator"}))
EMAIL = column_urn("erp", "sales", "customers", "email")


def test_owners_are_replaced_as_a_set_with_history_and_events(store):
    with acting_as(ANA):
        stored = governance.set_owners(store, ORDERS, [
            {"principal": " ana@example.com ", "kind": "user", "type": "business"},
            {"principal": "sales-data", "kind": "group"},
            {"principal": "sales-data", "kind": "group", "type": "technical"}])
        assert [(o.principal, o.kind, o.type, o.created_by) for o in stored] == [
            ("ana@example.com", "user", "business", "api_key:k1"), ("sales-data", "group", "technical", "api_key:k1")]
        governance.set_owners(store, ORDERS, [{"principal": "sales-data", "kind": "group"}])
        governance.set_owners(store, ORDERS, [{"principal": "sales-data", "kind": "group"}])  # no change
    assert sql(store, "select principal, principal_kind, owner_type from owners where entity_urn = :u", u=ORDERS) == [
        ("sales-data", "group", "technical")]
    changes = sql(store, "select change_type, actor from change_log where entity_urn = :u and change_type = "
                         "'owners_changed' order by id", u=ORDERS)
    assert changes == [("owners_changed", "api_key:k1"), ("owners_changed", "api_key:k1")]
    events = events_of(store, "catalog.owners.changed")
    assert [(e["subject"], e["actor"], e["data"]["changed_by"]) for e in events] == [
        (ORDERS, "api_key:k1", "ana"), (ORDERS, "api_key:k1", "ana")]
    assert events[1]["data"]["removed"] == [{"principal": "ana@example.com", "kind": "user", "type": "business"}]
    history = query(store, browse.change_history, ORDERS)  # the table's history, newest first
    assert [c.change_type for c in history.items][:2] == ["owners_changed", "owners_changed"]
    assert history.items[0].before == [{"principal": "ana@example.com", "kind": "user", "type": "business"},
                                       {"principal": "sales-data", "kind": "group", "type": "technical"}]


@pytest.mark.parametrize("owners, field", [
    ([{"principal": ""}], "owners.0.principal"),
    ([{"principal": "a"}, {"principal": "b", "kind": "team"}], "owners.1.kind"),
    ([{"principal": "a", "type": "legal"}], "owners.0.type"),
    ([{"principal": "x" * 256}], "owners.0.principal"),
    ([{"principal": f"p{i}"} for i in range(51)], "owners"),
])
def test_invalid_owners_name_the_field_and_change_nothing(catalog_ctx, owners, field):
    rules_catalog(catalog_ctx)
    with pytest.raises(InvalidInput) as refused:
        governance.set_owners(catalog_ctx, ORDERS, owners)
    assert refused.value.field == field
    assert sql(catalog_ctx, "select count(*) from owners") == [(0,)]


def test_owners_hang_on_sources_schemas_and_datasets_only(catalog_ctx):
    rules_catalog(catalog_ctx)
    governance.set_owners(catalog_ctx, source_urn("erp"), [{"principal": "dba", "kind": "group"}])
    with pytest.raises(InvalidInput) as refused:
        governance.set_owners(catalog_ctx, EMAIL, [{"principal": "dba"}])
    assert refused.value.field == "urn"
    with pytest.raises(NotFound):
        governance.set_owners(catalog_ctx, ORDERS.replace("orders", "gone"), [])
    # a source's change has no table: it is on the source's history only
    assert sql(catalog_ctx, "select table_id, change_type from change_log where entity_urn = :u",
               u=source_urn("erp")) == [(None, "owners_changed")]


def test_terms_are_created_linked_unlinked_and_listed_on_their_page(store):
    with acting_as(ANA):
        customer = governance.create_term(store, "Customer", "A person or company that buys from us.")
        email = governance.create_term(store, "Customer e-mail", "Where we write to a customer.", parent="customer")
        assert (email.parent, email.created_by) == ("Customer", "api_key:k1")
        with pytest.raises(Conflict) as taken:
            governance.create_term(store, "CUSTOMER")
        assert taken.value.field == "name"
        linked = governance.link_term(store, EMAIL, "customer E-MAIL")
        assert [t.name for t in linked] == ["Customer e-mail"]
        governance.link_term(store, EMAIL, "Customer e-mail")  # again: nothing changes
        governance.link_term(store, CUSTOMERS, "Customer")
        governance.link_term(store, EMAIL, "Customer")
        assert [t.name for t in governance.unlink_term(store, EMAIL, customer.id)] == ["Customer e-mail"]
        with pytest.raises(NotFound):
            governance.unlink_term(store, EMAIL, customer.id)

    page = query(store, governance.get_term, customer.id)
    assert ([c.name for c in page.children], page.asset_count) == (["Customer e-mail"], 1)
    assert [(a.urn, a.kind, a.name) for a in page.assets] == [(CUSTOMERS, "dataset", "customers")]
    assert sql(store, "select t.name, l.entity_urn from glossary_links l join glossary_terms t on t.id = l.term_id "
                      "order by t.name") == [("Customer", CUSTOMERS), ("Customer e-mail", EMAIL)]
    events = events_of(store, "catalog.terms.changed")
    assert [(e["subject"], e["data"]["added"], e["data"]["removed"]) for e in events] == [
        (EMAIL, ["Customer e-mail"], []), (CUSTOMERS, ["Customer"], []), (EMAIL, ["Customer"], []),
        (EMAIL, [], ["Customer"])]
    # a column's term changes are on its table's history
    assert sql(store, "select count(*) from change_log c join tables t on t.id = c.table_id "
                      "where t.urn = :u and c.change_type = 'terms_changed'", u=CUSTOMERS) == [(4,)]


def test_a_term_is_renamed_and_deleted_with_its_history_and_its_links_unlinked(store):
    with acting_as(ANA):
        term = governance.create_term(store, "Revenue")
        child = governance.create_term(store, "Recurring revenue", parent="Revenue")
        governance.link_term(store, ORDERS, "Revenue")
        renamed = governance.update_term(store, term.id, "Net revenue", "Income after returns.")
        governance.update_term(store, term.id, "Net revenue", "Income after returns.")  # the same: nothing
        assert query(store, governance.terms_of, [ORDERS])[ORDERS][0].name == "Net revenue"
        governance.delete_term(store, renamed.id)
    history = query(store, governance.curation_history, "term", term.id)
    assert [(h.change, h.subject_name) for h in history] == [
        ("deleted", "Net revenue"), ("updated", "Net revenue"), ("created", "Revenue")]
    assert history[1].before == {"name": "Revenue", "definition": None, "parent": None}
    assert sql(store, "select count(*) from glossary_links") == [(0,)]
    assert events_of(store, "catalog.terms.changed")[-1]["data"]["removed"] == ["Net revenue"]
    assert sql(store, "select parent_id from glossary_terms where id = :i", i=child.id) == [(None,)]
    orphaned = query(store, governance.curation_history, "term", child.id)[0]
    assert (orphaned.change, orphaned.before["parent"], orphaned.after["parent"]) == ("updated", "Net revenue", None)
    with pytest.raises(NotFound):
        query(store, governance.get_term, term.id)


def test_a_term_cannot_be_filed_under_itself_or_its_narrower_terms(catalog_ctx):
    top = governance.create_term(catalog_ctx, "Party")
    governance.create_term(catalog_ctx, "Customer", parent="Party")
    with pytest.raises(InvalidInput) as refused:
        governance.update_term(catalog_ctx, top.id, "Party", parent="Customer")
    assert refused.value.field == "parent"
    parent = "Customer"
    for depth in range(3, 21):  # Party > Customer > level 3 > ... > level 20
        parent = governance.create_term(catalog_ctx, f"level {depth}", parent=parent).name
    with pytest.raises(InvalidInput) as deep:
        governance.create_term(catalog_ctx, "level 21", parent=parent)
    assert deep.value.field == "parent"
    with pytest.raises(InvalidInput) as blank:
        governance.create_term(catalog_ctx, "   ")
    assert blank.value.field == "name"
    with pytest.raises(InvalidInput) as long:
        governance.create_term(catalog_ctx, "Ok", "x" * 20_001)
    assert long.value.field == "definition"


def test_an_entity_belongs_to_at_most_one_domain(store):
    with acting_as(ANA):
        sales = governance.create_domain(store, "Sales", "Orders and customers")
        governance.create_domain(store, "Finance")
        assert governance.set_domain(store, ORDERS, "sales").name == "Sales"
        assert governance.set_domain(store, ORDERS, "Finance").name == "Finance"
        governance.set_domain(store, source_urn("erp"), "Sales")
        with pytest.raises(InvalidInput):
            governance.set_domain(store, EMAIL, "Sales")
        assert governance.set_domain(store, ORDERS, None) is None
        governance.set_domain(store, CUSTOMERS, "Sales")
        governance.delete_domain(store, sales.id)
    assert sql(store, "select entity_urn from domain_assignments") == []
    events = events_of(store, "catalog.domain.changed")
    moves = [(e["subject"], e["data"]["before"], e["data"]["after"]) for e in events]
    assert moves[:5] == [(ORDERS, None, "Sales"), (ORDERS, "Sales", "Finance"), (source_urn("erp"), None, "Sales"),
                         (ORDERS, "Finance", None), (CUSTOMERS, None, "Sales")]
    assert sorted(moves[5:]) == [(CUSTOMERS, "Sales", None), (source_urn("erp"), "Sales", None)]
    assert [h.change for h in query(store, governance.curation_history, "domain", sales.id)] == ["deleted", "created"]


def test_removing_a_source_removes_its_curation_and_keeps_glossary_history(store):
    term = governance.create_term(store, "Order")
    governance.link_term(store, ORDERS, "Order")
    governance.set_owners(store, ORDERS, [{"principal": "sales-data", "kind": "group"}])
    governance.create_domain(store, "Sales")
    governance.set_domain(store, source_urn("erp"), "Sales")
    sources.delete_source(store, "erp")
    for table in ("owners", "glossary_links", "domain_assignments"):
        assert sql(store, f"select count(*) from {table}") == [(0,)], table
    assert query(store, governance.get_term, term.id).asset_count == 0
    assert [h.change for h in query(store, governance.curation_history, "term", term.id)] == ["created"]


def test_a_table_gone_from_its_source_keeps_its_curation_marked_deleted(catalog_ctx):
    source_id = rules_catalog(catalog_ctx)
    term = governance.create_term(catalog_ctx, "Order")
    governance.link_term(catalog_ctx, ORDERS, "Order")
    governance.set_owners(catalog_ctx, ORDERS, [{"principal": "sales-data", "kind": "group"}])
    customers = (ColumnSnapshot("id", 1, "integer", nullable=False), ColumnSnapshot("email", 2, "text"))
    apply(catalog_ctx, source_id, SourceSnapshot(schemas=(SchemaSnapshot("sales"),),
                                                 tables=(make_table("sales", "customers", customers),)))

    page = query(catalog_ctx, governance.get_term, term.id)
    assert [(a.urn, a.deleted) for a in page.assets] == [(ORDERS, True)]
    assert sql(catalog_ctx, "select principal from owners where entity_urn = :u", u=ORDERS) == [("sales-data",)]
    assert [c.change_type for c in query(catalog_ctx, browse.change_history, ORDERS).items][:3] == [
        "table_deleted", "owners_changed", "terms_changed"]
