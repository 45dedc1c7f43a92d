"""Owners, glossary terms and domains through REST and GraphQL on SQLite and PostgreSQL catalogs: the same changes
read back through the other transport and with direct SQL; bad input answers 4xx naming the field; viewers read and
are refused changes; a page of tables with their owners, terms and domain costs the same statements at any size."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from catalog_api.app import create_app
from catalog_api.services import governance
from catalog_api.urns import column_urn, dataset_urn, source_urn
from tests.support.api import API_HEADERS
from tests.support.auth import secured_catalog
from tests.support.factories import apply, make_catalog, make_source
from tests.support.graphql import data, error
from tests.support.quality import CUSTOMERS, ORDERS, rules_catalog
from tests.support.statements import counted_statements
from tests.support.stores import STORES, context_on

EMAIL = column_urn("erp", "sales", "customers", "email")
TABLE = """
query($urn: String!) {
  table(urn: $urn) { owners { principal kind type } terms { name } domain { name }
                     columns { edges { node { name terms { name } } } } source { owners { principal } domain { name } } }
}"""


@pytest.fixture(params=STORES)
def client(request, catalog_settings):
    ctx = context_on(request, catalog_settings)
    rules_catalog(ctx)
    with TestClient(create_app(ctx=ctx), headers=API_HEADERS) as client:
        client.ctx = ctx
        yield client
    ctx.close()


def entity(urn: str, suffix: str) -> str:
    return f"/api/v1/entities/{quote(urn, safe='')}/{suffix}"


def test_rest_changes_read_back_through_graphql_and_sql(client):
    owners = client.put(entity(ORDERS, "owners"), json={"owners": [
        {"principal": "sales-data", "kind": "group"}, {"principal": "ana@example.com", "type": "business"}]})
    assert owners.status_code == 200, owners.text
    assert [(o["principal"], o["type"]) for o in owners.json()] == [("ana@example.com", "business"),
                                                                    ("sales-data", "technical")]
    term = client.post("/api/v1/glossary/terms", json={"name": "Customer e-mail", "definition": "Where we write."})
    assert term.status_code == 201, term.text
    assert client.post(entity(EMAIL, "terms"), json={"term": "customer e-mail"}).json() == [
        {"id": term.json()["id"], "name": "Customer e-mail"}]
    assert client.post("/api/v1/domains", json={"name": "Sales"}).status_code == 201
    assert client.put(entity(ORDERS, "domain"), json={"domain": "Sales"}).json()["name"] == "Sales"

    table = data(client, TABLE, urn=ORDERS)["table"]
    assert table["owners"] == [{"principal": "ana@example.com", "kind": "user", "type": "business"},
                               {"principal": "sales-data", "kind": "group", "type": "technical"}]
    assert (table["domain"], table["terms"], table["source"]) == ({"name": "Sales"}, [],
                                                                  {"owners": [], "domain": None})
    customers = data(client, TABLE, urn=CUSTOMERS)["table"]["columns"]["edges"]
    assert {c["node"]["name"]: c["node"]["terms"] for c in customers}["email"] == [{"name": "Customer e-mail"}]

    page = client.get(f"/api/v1/glossary/terms/{term.json()['id']}").json()
    assert (page["asset_count"], [a["urn"] for a in page["assets"]]) == (1, [EMAIL])
    assert client.get(entity(EMAIL, "curation")).json()["terms"] == [{"id": term.json()["id"],
                                                                        "name": "Customer e-mail"}]
    unlinked = client.delete(entity(EMAIL, f"terms/{term.json()['id']}"))
    assert (unlinked.status_code, unlinked.json()) == (200, [])
    with client.ctx.db.session() as session:
        assert session.execute(text("select count(*) from glossary_links")).scalar() == 0
        kinds = session.execute(text("select change_type from change_log where change_type like '%\\_changed' "
                                     "escape '\\' order by id")).scalars().all()
    assert kinds == ["owners_changed", "terms_changed", "domain_changed", "terms_changed"]
    changes = client.get(f"/api/v1/tables/{quote(ORDERS, safe='')}/changes").json()["items"]
    assert [c["change_type"] for c in changes][:2] == ["domain_changed", "owners_changed"]


def test_graphql_changes_read_back_through_rest(client):
    created = data(client, 'mutation { createGlossaryTerm(name: "Order", definition: "A purchase.") { id name } }')
    term_id = created["createGlossaryTerm"]["id"]
    data(client, 'mutation { createGlossaryTerm(name: "Order line", parent: "order") { parent } }')
    linked = data(client, "mutation($urn: String!) { linkTerm(urn: $urn, term: \"Order\") { name } }", urn=ORDERS)
    assert linked == {"linkTerm": [{"name": "Order"}]}
    owners = data(client, """mutation($urn: String!) { setOwners(urn: $urn, owners: [{principal: "dba", kind: "group"}])
                             { principal kind type } }""", urn=source_urn("erp"))
    assert owners["setOwners"] == [{"principal": "dba", "kind": "group", "type": "technical"}]
    data(client, 'mutation { createDomain(name: "Finance", description: "Money") { id } }')
    data(client, 'mutation($urn: String!) { setDomain(urn: $urn, domain: "Finance") { name } }', urn=ORDERS)
    renamed = data(client, "mutation($id: Int!) { updateGlossaryTerm(id: $id, name: \"Purchase order\") { name } }",
                   id=term_id)
    assert renamed == {"updateGlossaryTerm": {"name": "Purchase order"}}

    assert client.get(entity(ORDERS, "curation")).json()["terms"] == [{"id": term_id, "name": "Purchase order"}]
    assert client.get(entity(source_urn("erp"), "curation")).json()["owners"][0]["principal"] == "dba"
    terms = client.get("/api/v1/glossary/terms").json()
    assert [(t["name"], t["parent"]) for t in terms] == [("Order line", "Purchase order"), ("Purchase order", None)]
    page = data(client, '{ glossaryTerm(name: "purchase order") { term { name } children { name } assetCount '
                        'assets { urn kind } } }')["glossaryTerm"]
    assert page == {"term": {"name": "Purchase order"}, "children": [{"name": "Order line"}], "assetCount": 1,
                    "assets": [{"urn": ORDERS, "kind": "dataset"}]}
    history = data(client, "query($id: Int!) { curationHistory(kind: \"term\", id: $id) { change before after } }",
                   id=term_id)["curationHistory"]
    assert [h["change"] for h in history] == ["updated", "created"]
    assert history[0]["before"]["name"] == "Order" and history[0]["after"]["name"] == "Purchase order"
    domains = client.get("/api/v1/domains").json()
    assert [(d["name"], d["description"]) for d in domains] == [("Finance", "Money")]
    assert client.get(f"/api/v1/domains/{domains[0]['id']}").json()["assets"][0]["urn"] == ORDERS


@pytest.mark.parametrize("method, path, body, status, field", [
    ("PUT", "owners", {"owners": [{"principal": "a", "kind": "team"}]}, 422, "owners.0.kind"),
    ("PUT", "owners", {"owners": [{"principal": "x" * 256}]}, 422, "owners.0.principal"),
    ("PUT", "owners", {"owners": [{"principal": "   "}]}, 422, "owners.0.principal"),
    ("PUT", "owners", {"owners": [{"principal": f"p{i}"} for i in range(51)]}, 422, "owners"),
    ("POST", "terms", {"term": "No such term"}, 404, "term"),
    ("POST", "terms", {"term": "x" * 201}, 422, "term"),
    ("PUT", "domain", {"domain": "Nowhere"}, 404, "domain"),
    ("PUT", "domain", {"other": 1}, 422, "domain"),
])
def test_bad_input_names_the_field(client, method, path, body, status, field):
    response = client.request(method, entity(ORDERS, path), json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field


def test_glossary_and_domain_refusals_name_the_field(client):
    assert client.post("/api/v1/glossary/terms", json={"name": "Order"}).status_code == 201
    taken = client.post("/api/v1/glossary/terms", json={"name": "ORDER"})
    assert (taken.status_code, taken.json()["error"]["field"]) == (409, "name")
    long = client.post("/api/v1/glossary/terms", json={"name": "x", "definition": "d" * 20_001})
    assert (long.status_code, long.json()["error"]["field"]) == (422, "definition")
    unknown_parent = client.post("/api/v1/glossary/terms", json={"name": "Line", "parent": "Nope"})
    assert (unknown_parent.status_code, unknown_parent.json()["error"]["field"]) == (404, "parent")
    assert client.get("/api/v1/glossary/terms/999999").status_code == 404
    wrong_kind = client.post(entity(source_urn("erp"), "terms"), json={"term": "Order"})
    assert (wrong_kind.status_code, wrong_kind.json()["error"]["field"]) == (422, "urn")
    nul = client.post("/api/v1/domains", json={"name": "Sa\x00les"})
    assert (nul.status_code, nul.json()["error"]["field"]) == (422, "name")
    found = error(client, 'mutation { createDomain(name: "") { id } }')
    assert (found["extensions"]["code"], found["extensions"]["field"]) == ("invalid_input", "name")


def test_viewers_read_curation_and_are_refused_changes(tmp_path):
    secured = secured_catalog(tmp_path)
    try:
        rules_catalog(secured.ctx)
        governance.create_term(secured.ctx, "Order")
        with TestClient(create_app(ctx=secured.ctx)) as client:
            viewer, curator = secured.headers("viewer"), secured.headers("curator")
            for method, path, body in [("PUT", entity(ORDERS, "owners"), {"owners": []}),
                                       ("POST", entity(ORDERS, "terms"), {"term": "Order"}),
                                       ("PUT", entity(ORDERS, "domain"), {"domain": None}),
                                       ("POST", "/api/v1/glossary/terms", {"name": "Other"}),
                                       ("DELETE", "/api/v1/glossary/terms/1", None),
                                       ("POST", "/api/v1/domains", {"name": "Sales"})]:
                refused = client.request(method, path, json=body, headers=viewer)
                assert refused.status_code == 403, (path, refused.text)
                assert refused.json()["error"]["code"] == "forbidden"
            for mutation in ['mutation { createGlossaryTerm(name: "X") { id } }',
                             f'mutation {{ linkTerm(urn: "{ORDERS}", term: "Order") {{ name }} }}',
                             f'mutation {{ setOwners(urn: "{ORDERS}", owners: []) {{ principal }} }}',
                             'mutation { createDomain(name: "X") { id } }']:
                answer = client.post("/graphql", json={"query": mutation}, headers=viewer).json()
                assert answer["errors"][0]["extensions"]["code"] == "forbidden", answer
            assert client.post(entity(ORDERS, "terms"), json={"term": "Order"}, headers=curator).status_code == 200
            assert client.get(entity(ORDERS, "curation"), headers=viewer).json()["terms"][0]["name"] == "Order"
            assert client.get("/api/v1/glossary/terms", headers=viewer).status_code == 200
        with secured.ctx.db.session() as session:  # only the curator's change was stored
            assert session.execute(text("select count(*) from glossary_links")).scalar() == 1
            assert session.execute(text("select count(*) from glossary_terms")).scalar() == 1
    finally:
        secured.ctx.close()


PAGE = """
{ sources(first: 2) { edges { node { name owners { principal } domain { name }
    schemas(first: 5) { edges { node { owners { principal }
      tables(first: 200) { edges { node { urn owners { principal type } terms { name } domain { name }
        columns(first: 20) { edges { node { name terms { name } } } } } } } } } } } } } }
"""


def _curate(ctx, snapshot, source: str) -> None:
    for table in snapshot.tables[:3]:
        urn = dataset_urn(source, table.schema, table.name)
        governance.set_owners(ctx, urn, [{"principal": "team", "kind": "group"}])
        governance.link_term(ctx, urn, "Order")
        governance.link_term(ctx, column_urn(source, table.schema, table.name, table.columns[0].name), "Order")
        governance.set_domain(ctx, urn, "Sales")


def test_listing_tables_with_owners_terms_and_domain_costs_the_same_statements_at_any_size(api_client, catalog_ctx):
    source_id = make_source(catalog_ctx, "shop")
    governance.create_term(catalog_ctx, "Order")
    governance.create_domain(catalog_ctx, "Sales")
    small = make_catalog(5, 2, seed=1, prefix="small")
    apply(catalog_ctx, source_id, small)
    _curate(catalog_ctx, small, "shop")
    with counted_statements(catalog_ctx.db.engine) as few:
        small_page = data(api_client, PAGE)
    large = make_catalog(200, 2, seed=2, prefix="large")  # the small tables leave (soft-deleted), 200 come
    apply(catalog_ctx, source_id, large)
    _curate(catalog_ctx, large, "shop")
    with counted_statements(catalog_ctx.db.engine) as many:
        large_page = data(api_client, PAGE)

    def tables(page):
        return [t["node"] for s in page["sources"]["edges"] for sc in s["node"]["schemas"]["edges"]
                for t in sc["node"]["tables"]["edges"]]

    assert (len(tables(small_page)), len(tables(large_page))) == (5, 200)
    with catalog_ctx.db.session() as session:  # the oracle: what SQL says is owned
        owned = set(session.execute(text("select o.entity_urn from owners o join tables t on t.urn = o.entity_urn "
                                         "where t.deleted_at is null")).scalars())
    assert len(owned) == 3
    assert {t["urn"] for t in tables(large_page) if t["owners"]} == owned
    assert all(t["terms"] == [{"name": "Order"}] and t["domain"] == {"name": "Sales"}
               for t in tables(large_page) if t["urn"] in owned)
    print(f"\nstatements: 5 tables -> {len(few)}, 200 tables -> {len(many)}")
    assert len(few) == len(many)
