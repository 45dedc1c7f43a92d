"""Glossary terms and domains publish an event when created, edited and deleted, on SQLite and PostgreSQL: one
event per change, read back from the outbox and checked against its JSON Schema, about the term's or domain's
id-based URN and keyed by it; a refused change publishes nothing and writes no history."""

from __future__ import annotations

import pytest

from catalog_api.errors import CatalogError
from catalog_api.security.identity import Identity, acting_as
from catalog_api.services import governance
from tests.support.catalog import query
from tests.support.cli import rows as sql
from tests.support.events import outbox_events
from tests.support.quality import ORDERS

ANA = Identity(subject="k1", name="ana", method="api_key", roles=frozenset({"curator"}))


def published_by(ctx, change, *args, **kwargs) -> tuple[object, list[dict]]:
    """What `change` answered, and the events it wrote to the outbox."""
    before = len(outbox_events(ctx))
    answer = change(ctx, *args, **kwargs)
    return answer, outbox_events(ctx)[before:]


def test_each_change_of_a_term_publishes_one_event_about_the_term(store):
    with acting_as(ANA):
        customer = governance.create_term(store, "Customer")
        email, [created] = published_by(store, governance.create_term, "Customer e-mail", "Where we write.",
                                        parent="customer")
        _, [updated] = published_by(store, governance.update_term, email.id, "Customer email", "Where we write.",
                                    parent="Customer")
        _, unchanged = published_by(store, governance.update_term, email.id, "Customer email", "Where we write.",
                                    parent="Customer")
        _, [deleted] = published_by(store, governance.delete_term, email.id)
    urn = f"urn:catalog:glossary_term:{email.id}"
    parent = {"id": customer.id, "name": "Customer"}
    for event in (created, updated, deleted):
        assert (event["subject"], event["partitionkey"], event["actor"]) == (urn, urn, "api_key:k1")
    assert [e["type"] for e in (created, updated, deleted)] == [
        "catalog.glossary_term.created", "catalog.glossary_term.updated", "catalog.glossary_term.deleted"]
    state = {"name": "Customer e-mail", "definition": "Where we write.", "parent": parent}
    assert created["data"] == {"id": email.id, **state, "changed_by": "ana"}
    assert updated["data"] == {"id": email.id, "changed_fields": ["name"], "before": state,
                               "after": {**state, "name": "Customer email"}, "changed_by": "ana"}
    assert deleted["data"] == {"id": email.id, **state, "name": "Customer email", "changed_by": "ana"}
    assert unchanged == []
    # the term's history tells the same story
    assert [h.change for h in query(store, governance.curation_history, "term", email.id)] == [
        "deleted", "updated", "created"]


def test_each_change_of_a_domain_publishes_one_event_about_the_domain(store):
    with acting_as(ANA):
        sales, [created] = published_by(store, governance.create_domain, "Sales", "Orders and customers")
        _, [updated] = published_by(store, governance.update_domain, sales.id, "Sales", "Orders, customers, invoices")
        _, unchanged = published_by(store, governance.update_domain, sales.id, "Sales", "Orders, customers, invoices")
        _, [deleted] = published_by(store, governance.delete_domain, sales.id)
    urn = f"urn:catalog:domain:{sales.id}"
    assert [(e["type"], e["subject"], e["partitionkey"]) for e in (created, updated, deleted)] == [
        ("catalog.domain.created", urn, urn), ("catalog.domain.updated", urn, urn),
        ("catalog.domain.deleted", urn, urn)]
    assert created["data"] == {"id": sales.id, "name": "Sales", "description": "Orders and customers",
                               "changed_by": "ana"}
    assert updated["data"] == {"id": sales.id, "changed_fields": ["description"],
                               "before": {"name": "Sales", "description": "Orders and customers"},
                               "after": {"name": "Sales", "description": "Orders, customers, invoices"},
                               "changed_by": "ana"}
    assert deleted["data"] == {"id": sales.id, "name": "Sales", "description": "Orders, customers, invoices",
                               "changed_by": "ana"}
    assert unchanged == []


def test_deleting_a_term_publishes_its_deletion_and_what_it_did_to_its_links_and_narrower_terms(store):
    revenue = governance.create_term(store, "Revenue")
    recurring = governance.create_term(store, "Recurring revenue", parent="Revenue")
    governance.link_term(store, ORDERS, "Revenue")
    _, events = published_by(store, governance.delete_term, revenue.id)
    assert sorted((e["type"], e["subject"]) for e in events) == [
        ("catalog.glossary_term.deleted", f"urn:catalog:glossary_term:{revenue.id}"),
        ("catalog.glossary_term.updated", f"urn:catalog:glossary_term:{recurring.id}"),
        ("catalog.terms.changed", ORDERS)]
    orphaned = next(e for e in events if e["type"] == "catalog.glossary_term.updated")
    assert (orphaned["data"]["changed_fields"], orphaned["data"]["before"]["parent"], orphaned["data"]["after"]) == (
        ["parent"], {"id": revenue.id, "name": "Revenue"}, {"name": "Recurring revenue", "definition": None,
                                                              "parent": None})
    # the table's event stays keyed by its source; the terms' by themselves
    assert {e["subject"]: e["partitionkey"] for e in events}[ORDERS] == "urn:catalog:source:erp"


def test_deleting_a_domain_publishes_its_deletion_and_takes_its_datasets_out(store):
    sales = governance.create_domain(store, "Sales")
    governance.set_domain(store, ORDERS, "Sales")
    _, events = published_by(store, governance.delete_domain, sales.id)
    assert [(e["type"], e["subject"]) for e in events] == [
        ("catalog.domain.changed", ORDERS), ("catalog.domain.deleted", f"urn:catalog:domain:{sales.id}")]


@pytest.mark.parametrize("change", [
    lambda ctx, term, domain: governance.create_term(ctx, "customer"),                       # a taken name
    lambda ctx, term, domain: governance.create_term(ctx, "Order", parent="No such term"),
    lambda ctx, term, domain: governance.update_term(ctx, term.id, "ORDER"),                 # another's name
    lambda ctx, term, domain: governance.update_term(ctx, term.id, "Customer", parent="Customer"),  # under itself
    lambda ctx, term, domain: governance.delete_term(ctx, term.id + 1000),
    lambda ctx, term, domain: governance.create_domain(ctx, "SALES"),
    lambda ctx, term, domain: governance.create_domain(ctx, "x" * 201),
    lambda ctx, term, domain: governance.update_domain(ctx, domain.id, "finance"),
    lambda ctx, term, domain: governance.delete_domain(ctx, domain.id + 1000),
], ids=["duplicate term", "unknown parent", "rename to a taken name", "own parent", "unknown term",
        "duplicate domain", "long name", "rename domain to a taken name", "unknown domain"])
def test_a_refused_change_publishes_nothing_and_writes_no_history(catalog_ctx, change):
    term = governance.create_term(catalog_ctx, "Customer")
    governance.create_term(catalog_ctx, "Order")
    domain = governance.create_domain(catalog_ctx, "Sales")
    governance.create_domain(catalog_ctx, "Finance")
    events, history = len(outbox_events(catalog_ctx)), sql(catalog_ctx, "select count(*) from curation_changes")
    with pytest.raises(CatalogError):
        change(catalog_ctx, term, domain)
    assert len(outbox_events(catalog_ctx)) == events == 4
    assert sql(catalog_ctx, "select count(*) from curation_changes") == history == [(4,)]
    assert sql(catalog_ctx, "select name from glossary_terms order by name") == [("Customer",), ("Order",)]
    assert sql(catalog_ctx, "select name from domains order by name") == [("Finance",), ("Sales",)]


def test_the_outbox_orders_a_terms_events_by_the_terms_own_urn(catalog_ctx):
    term = governance.create_term(catalog_ctx, "Customer")
    governance.update_term(catalog_ctx, term.id, "Client")
    domain = governance.create_domain(catalog_ctx, "Sales")
    keys = sql(catalog_ctx, "select source_urn, subject from event_outbox order by id")
    assert keys == [(f"urn:catalog:glossary_term:{term.id}",) * 2, (f"urn:catalog:glossary_term:{term.id}",) * 2,
                    (f"urn:catalog:domain:{domain.id}",) * 2]
