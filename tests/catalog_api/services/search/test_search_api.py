"""Search through REST (GET /api/v1/search) and GraphQL (`catalogSearch`): the same hits and facets, a fixed number
of statements whatever the page and filters, and 422s that name the field."""

from __future__ import annotations

import pytest

from catalog_api.services import curation, governance
from catalog_api.urns import column_urn, dataset_urn
from crawlers.snapshot import ColumnSnapshot, SchemaSnapshot, SourceSnapshot
from tests.support.factories import apply, make_source, make_table
from tests.support.graphql import data, error
from tests.support.statements import counted_statements

SEARCH = """query ($q: String, $first: Int!, $after: String, $filter: SearchFilterInput) {
  catalogSearch(q: $q, first: $first, after: $after, filter: $filter) {
    totalCount totalExact pageInfo { hasNextPage endCursor }
    edges { cursor node { urn entityType kind name sourceName schemaName tableName description tags hasPii hasAnomalies score } }
    facets { source { value count } kind { value count } schemaName { value count } tag { value count }
             owner { value count } term { value count } domain { value count } hasPii hasAnomalies }
  }
}"""


@pytest.fixture
def shop(catalog_ctx):
    source = make_source(catalog_ctx, "shop")
    columns = (ColumnSnapshot("id", 1, "bigint"), ColumnSnapshot("email", 2, "text", comment="Login e-mail"))
    apply(catalog_ctx, source, SourceSnapshot(schemas=(SchemaSnapshot("sales"), SchemaSnapshot("bulk")), tables=(
        make_table("sales", "customers", columns, comment="People who buy"),
        make_table("sales", "orders", 4, comment="Orders of the customers"),
        *(make_table("bulk", f"customer_part_{n:02d}", 3) for n in range(30)),
    )))
    curation.set_tags(catalog_ctx, column_urn("shop", "sales", "customers", "email"), ["pii.email"])
    governance.create_term(catalog_ctx, "Contact Point")
    governance.create_domain(catalog_ctx, "Sales")
    for n in range(3):
        part = dataset_urn("shop", "bulk", f"customer_part_{n:02d}")
        governance.link_term(catalog_ctx, part, "Contact Point")
        governance.set_owners(catalog_ctx, part, [{"principal": "ana", "kind": "user"}])
        governance.set_domain(catalog_ctx, part, "Sales")
    return catalog_ctx


def test_rest_and_graphql_answer_the_same_hits_and_facets(api_client, shop):
    rest = api_client.get("/api/v1/search", params={"q": "customers", "first": 5})
    assert rest.status_code == 200, rest.text
    body = rest.json()
    graph = data(api_client, SEARCH, q="customers", first=5)["catalogSearch"]
    assert [h["urn"] for h in body["hits"]] == [e["node"]["urn"] for e in graph["edges"]]
    assert body["hits"][0]["urn"] == dataset_urn("shop", "sales", "customers")
    assert body["total"] == graph["totalCount"] == 4
    assert body["total_exact"] is graph["totalExact"] is True
    assert body["next_cursor"] is None and graph["pageInfo"]["hasNextPage"] is False
    assert body["facets"]["kind"] == graph["facets"]["kind"]
    assert graph["facets"]["owner"] == [] and graph["facets"]["hasPii"] == 2  # the table and its email column

    email = api_client.get("/api/v1/search", params=[("q", "email"), ("tag", "pii.email"), ("kind", "column")])
    [hit] = email.json()["hits"]
    assert hit["urn"] == column_urn("shop", "sales", "customers", "email")
    assert hit["tags"] == ["pii.email"] and hit["has_pii"] is True and hit["table_name"] == "customers"


def test_pages_follow_the_cursor_through_rest_and_graphql(api_client, shop):
    seen, after = [], None
    while True:
        params = {"q": "custo", "first": 7, **({"after": after} if after else {})}
        body = api_client.get("/api/v1/search", params=params).json()
        seen += [h["urn"] for h in body["hits"]]
        after = body["next_cursor"]
        if after is None:
            break
    assert len(seen) == len(set(seen)) == body["total"] > 30
    graph, after = [], None
    while True:
        page = data(api_client, SEARCH, q="custo", first=7, after=after)["catalogSearch"]
        graph += [e["node"]["urn"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert graph == seen


def test_rest_graphql_and_the_cli_say_when_counts_are_lower_bounds(api_client, shop, monkeypatch):
    monkeypatch.setattr("catalog_api.services.search.query.MAX_CONSIDERED", 5)
    body = api_client.get("/api/v1/search", params={"q": "custo"}).json()
    graph = data(api_client, SEARCH, q="custo", first=20)["catalogSearch"]
    assert body["total"] == graph["totalCount"] == len(body["hits"]) == 5  # of the 32 that match
    assert body["total_exact"] is graph["totalExact"] is False


def test_statements_per_request_stay_the_same_whatever_the_page_and_filters(api_client, shop):
    counts = set()
    for params in ({"q": "custo", "first": 1}, {"q": "custo", "first": 100}, {"first": 100},
                   {"q": "customers", "tag": ["pii.email", "x"], "source": "shop", "kind": ["column", "table"],
                    "schema": "sales", "has_pii": "true", "first": 50},
                   {"q": "custo", "owner": ["ana", "bo"], "term": "contact point", "domain": ["sales", "x"]},
                   {"owner": "ana", "first": 100}):
        with counted_statements(shop.db.engine) as statements:
            response = api_client.get("/api/v1/search", params=params)
            assert response.status_code == 200 and response.json()["total"] > 0
        counts.add(len([s for s in statements if "search_documents" in s or "tags" in s]))
    assert counts == {2}


@pytest.mark.parametrize(("params", "field"), [
    ({"q": "x" * 201}, "q"),
    ({"q": "***"}, "q"),
    ({"q": "a\x00"}, "q"),
    ({"kind": "tables"}, "kind.0"),
    ({"tag": "t" * 513}, "tag.0"),
    ({"source": [f"s{n}" for n in range(21)]}, "source"),
    ({"first": 101}, "first"),
    ({"after": "not-a-cursor"}, "after"),
])
def test_bad_input_is_a_422_naming_the_field(api_client, shop, params, field):
    answer = api_client.get("/api/v1/search", params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == field


def test_graphql_names_the_field_of_bad_input(api_client, shop):
    assert error(api_client, SEARCH, q="***", first=5)["extensions"]["field"] == "q"
    assert error(api_client, SEARCH, first=500)["extensions"]["field"] == "first"
    assert error(api_client, SEARCH, first=5, filter={"kind": ["nope"]})["extensions"]["field"] == "kind.0"


def test_the_old_search_field_still_answers(api_client, shop):
    hits = data(api_client, '{ search(q: "email", limit: 5) { urn type } }')["search"]
    assert {h["urn"] for h in hits} == {column_urn("shop", "sales", "customers", "email")}
