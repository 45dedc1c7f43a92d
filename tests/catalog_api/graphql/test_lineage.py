"""Lineage through GraphQL: manual edges added and removed by mutations, walks and the DOT export."""

from __future__ import annotations

from tests.support.graphql import data
from tests.support.lineage import ds


def test_graphql_manual_edges_lineage_and_export(api_client):
    def gql(query: str, **variables) -> dict:
        return data(api_client, query, **variables)

    add = "mutation ($u: String!, $d: String!) { addLineageEdge(upstream: $u, downstream: $d) }"
    assert gql(add, u=ds("raw"), d=ds("clean"))["addLineageEdge"] is True
    assert gql(add, u=ds("clean"), d=ds("mart"))["addLineageEdge"] is True
    found = gql("""query ($urn: String!) { lineage(urn: $urn, direction: UPSTREAM, depth: 1) {
        truncated truncatedReason truncatedAt nodes { name distance placeholder } edges { upstream downstream origin }
        export(format: DOT) } }""", urn=ds("mart"))["lineage"]
    assert {(n["name"], n["distance"]) for n in found["nodes"]} == {("mart", 0), ("clean", -1)}
    assert found["edges"] == [{"upstream": ds("clean"), "downstream": ds("mart"), "origin": "manual"}]
    assert found["truncated"] is True and found["truncatedReason"].startswith("depth 1")
    assert found["truncatedAt"] == [ds("clean")]  # raw, upstream of clean, was left out
    assert f'"{ds("clean")}" -> "{ds("mart")}";' in found["export"]

    remove = "mutation ($u: String!, $d: String!) { removeLineageEdge(upstream: $u, downstream: $d) }"
    assert gql(remove, u=ds("clean"), d=ds("mart"))["removeLineageEdge"] is True
    missing = api_client.post("/graphql", json={"query": remove, "variables": {"u": ds("clean"), "d": ds("mart")}})
    assert missing.json()["errors"][0]["extensions"]["code"] == "not_found"
    bad = api_client.post("/graphql", json={"query": '{ lineage(urn: "nope") { truncated } }'}).json()
    assert bad["errors"][0]["extensions"]["field"] == "urn"


def test_a_manual_edge_from_a_urn_no_source_can_own_is_invalid_input_not_an_internal_error(api_client):
    # Source names are letters, digits, '_', '-' and '.' from a letter or digit: change events refuse any other.
    add = "mutation ($u: String!, $d: String!) { addLineageEdge(upstream: $u, downstream: $d) }"
    answer = api_client.post("/graphql", json={"query": add, "variables": {
        "u": "urn:catalog:dataset:Ý:a:b", "d": ds("clean")}}).json()
    assert answer["errors"][0]["extensions"]["code"] == "invalid_input"
    assert answer["errors"][0]["extensions"]["field"] == "upstream"
