"""Lineage through REST: manual edges, graph walks (cycles, depth and limits), column impact and the exports.

These edges point at datasets the catalog never crawled, which is allowed (they are placeholders), so the graph
can be built exactly as a test needs it.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest

from catalog_api.urns import column_urn, dataset_urn


def _ds(name: str) -> str:
    return dataset_urn("erp", "sales", name)


def _add(client, upstream: str, downstream: str, **extra) -> dict:
    response = client.post("/api/v1/lineage/edges", json={"upstream": upstream, "downstream": downstream, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def _lineage(client, urn: str, **params) -> dict:
    response = client.get("/api/v1/lineage", params={"urn": urn, **params})
    assert response.status_code == 200, response.text
    return response.json()


def _pairs(result: dict) -> set[tuple[str, str]]:
    return {(e["upstream"], e["downstream"]) for e in result["edges"] if e["upstream_column"] is None}


@pytest.fixture
def chain(api_client) -> None:
    """a -> b -> c -> d -> e -> a (a cycle), and c -> x."""
    for up, down in [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("e", "a"), ("c", "x")]:
        _add(api_client, _ds(up), _ds(down))


def test_walks_handle_cycles_and_say_when_depth_cut_them(api_client, chain):
    near = _lineage(api_client, _ds("c"), direction="BOTH", depth=1)
    assert {n["name"]: n["distance"] for n in near["nodes"]} == {"b": -1, "c": 0, "d": 1, "x": 1}
    assert _pairs(near) == {(_ds("b"), _ds("c")), (_ds("c"), _ds("d")), (_ds("c"), _ds("x"))}
    assert near["truncated"] is True and "depth 1" in near["truncated_reason"]
    assert all(n["placeholder"] and n["kind"] is None for n in near["nodes"])

    # deep enough to go round the cycle: every node once, every edge once, nothing cut
    whole = _lineage(api_client, _ds("c"), direction="DOWNSTREAM", depth=20)
    assert {n["name"] for n in whole["nodes"]} == {"a", "b", "c", "d", "e", "x"}
    assert len(whole["edges"]) == 6 and whole["truncated"] is False and whole["truncated_reason"] is None

    upstream = _lineage(api_client, _ds("a"), direction="UPSTREAM", depth=2)
    assert {n["name"]: n["distance"] for n in upstream["nodes"]} == {"a": 0, "e": -1, "d": -2}
    assert upstream["truncated"] is True


def test_node_limit_truncates_instead_of_failing(api_client, chain):
    cut = _lineage(api_client, _ds("a"), direction="DOWNSTREAM", depth=20, limit=3)
    assert len(cut["nodes"]) == 3
    assert cut["truncated"] is True and "node limit 3" in cut["truncated_reason"]
    # edges only join nodes that are in the result
    names = {n["urn"] for n in cut["nodes"]}
    assert all(e["upstream"] in names and e["downstream"] in names for e in cut["edges"])


def test_column_impact_and_manual_edge_removal(api_client):
    _add(api_client, _ds("orders"), _ds("revenue"))
    _add(api_client, column_urn("erp", "sales", "orders", "total"), column_urn("erp", "sales", "revenue", "sum"),
         transformation="expression")
    _add(api_client, column_urn("erp", "sales", "orders", "id"), column_urn("erp", "sales", "revenue", "id"),
         transformation="identity")
    _add(api_client, column_urn("erp", "sales", "revenue", "sum"), column_urn("erp", "sales", "report", "amount"),
         transformation="identity")

    impact = _lineage(api_client, column_urn("erp", "sales", "orders", "total"), direction="DOWNSTREAM", depth=5)
    assert impact["column_level"] is True
    assert [(e["upstream_column_urn"], e["downstream_column_urn"], e["transformation"]) for e in impact["edges"]] == [
        (column_urn("erp", "sales", "orders", "total"), column_urn("erp", "sales", "revenue", "sum"), "expression"),
        (column_urn("erp", "sales", "revenue", "sum"), column_urn("erp", "sales", "report", "amount"), "identity"),
    ]
    assert {n["name"] for n in impact["nodes"]} == {"orders", "revenue", "report"}

    # dataset walks leave column edges out unless asked for
    assert len(_lineage(api_client, _ds("orders"), direction="DOWNSTREAM")["edges"]) == 1
    with_columns = _lineage(api_client, _ds("orders"), direction="DOWNSTREAM", column_level="true", depth=1)
    assert len(with_columns["edges"]) == 3

    gone = api_client.delete("/api/v1/lineage/edges", params={"upstream": _ds("orders"), "downstream": _ds("revenue")})
    assert gone.status_code == 204
    assert _lineage(api_client, _ds("orders"), direction="DOWNSTREAM")["edges"] == []
    again = api_client.delete("/api/v1/lineage/edges", params={"upstream": _ds("orders"),
                                                                "downstream": _ds("revenue")})
    assert again.status_code == 404


def test_exports_name_every_node_and_edge(api_client, chain):
    _add(api_client, column_urn("erp", "sales", "b", "k"), column_urn("erp", "sales", "c", "k"),
         transformation="identity")
    params = {"urn": _ds("c"), "direction": "UPSTREAM", "depth": 1, "column_level": "true"}

    mermaid = api_client.get("/api/v1/lineage", params={**params, "format": "mermaid"})
    assert mermaid.status_code == 200 and mermaid.headers["content-type"].startswith("text/vnd.mermaid")
    lines = mermaid.text.splitlines()
    assert lines[0] == "flowchart LR"
    ids = dict(re.findall(r'^\s+(n\d+)\(\["([^"]+)"\]\)$', mermaid.text, re.MULTILINE))
    assert sorted(ids.values()) == ["erp.sales.b", "erp.sales.c"]
    by_name = {v: k for k, v in ids.items()}
    assert f"    {by_name['erp.sales.b']} --> {by_name['erp.sales.c']}" in lines
    assert any("k → k" in line for line in lines)

    dot = api_client.get("/api/v1/lineage", params={**params, "format": "dot"}).text
    assert dot.startswith("digraph lineage {") and dot.rstrip().endswith("}")
    assert f'"{_ds("b")}" -> "{_ds("c")}";' in dot
    assert re.search(rf'"{re.escape(_ds("c"))}" \[label="erp.sales.c", style=dashed\];', dot)

    events = json.loads(api_client.get("/api/v1/lineage", params={**params, "format": "openlineage"}).text)
    assert len(events) == 1
    # erp was never registered, so its datasets get the catalog's own namespace
    assert events[0]["inputs"] == [{"namespace": "catalog://erp", "name": "sales.b"}]
    output = events[0]["outputs"][0]
    assert (output["namespace"], output["name"]) == ("catalog://erp", "sales.c")
    assert output["facets"]["columnLineage"]["fields"]["k"]["inputFields"][0]["field"] == "k"


@pytest.mark.parametrize(("params", "field"), [
    ({"urn": _ds("a"), "direction": "SIDEWAYS"}, "direction"),
    ({"urn": _ds("a"), "depth": 0}, "depth"),
    ({"urn": _ds("a"), "depth": 21}, "depth"),
    ({"urn": "urn:catalog:schema:erp:sales"}, "urn"),
    ({"urn": "orders"}, "urn"),
    ({"urn": _ds("a"), "format": "png"}, "format"),
])
def test_bad_queries_name_the_field(api_client, params, field):
    response = api_client.get("/api/v1/lineage", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_bad_manual_edges_name_the_field(api_client):
    mixed = api_client.post("/api/v1/lineage/edges", json={
        "upstream": _ds("a"), "downstream": column_urn("erp", "sales", "b", "x")})
    assert mixed.status_code == 422 and mixed.json()["error"]["field"] == "downstream"
    loop = api_client.post("/api/v1/lineage/edges", json={"upstream": _ds("a"), "downstream": _ds("a")})
    assert loop.status_code == 422 and loop.json()["error"]["field"] == "downstream"


def test_graphql_manual_edges_lineage_and_export(api_client):
    def gql(query: str, **variables) -> dict:
        body = api_client.post("/graphql", json={"query": query, "variables": variables}).json()
        assert "errors" not in body, body
        return body["data"]

    add = "mutation ($u: String!, $d: String!) { addLineageEdge(upstream: $u, downstream: $d) }"
    assert gql(add, u=_ds("raw"), d=_ds("clean"))["addLineageEdge"] is True
    assert gql(add, u=_ds("clean"), d=_ds("mart"))["addLineageEdge"] is True
    found = gql("""query ($urn: String!) { lineage(urn: $urn, direction: UPSTREAM, depth: 1) {
        truncated truncatedReason nodes { name distance placeholder } edges { upstream downstream origin }
        export(format: DOT) } }""", urn=_ds("mart"))["lineage"]
    assert {(n["name"], n["distance"]) for n in found["nodes"]} == {("mart", 0), ("clean", -1)}
    assert found["edges"] == [{"upstream": _ds("clean"), "downstream": _ds("mart"), "origin": "manual"}]
    assert found["truncated"] is True and found["truncatedReason"].startswith("depth 1")
    assert f'"{_ds("clean")}" -> "{_ds("mart")}";' in found["export"]

    remove = "mutation ($u: String!, $d: String!) { removeLineageEdge(upstream: $u, downstream: $d) }"
    assert gql(remove, u=_ds("clean"), d=_ds("mart"))["removeLineageEdge"] is True
    missing = api_client.post("/graphql", json={"query": remove, "variables": {"u": _ds("clean"), "d": _ds("mart")}})
    assert missing.json()["errors"][0]["extensions"]["code"] == "not_found"
    bad = api_client.post("/graphql", json={"query": '{ lineage(urn: "nope") { truncated } }'}).json()
    assert bad["errors"][0]["extensions"]["field"] == "urn"


def test_viewer_page_draws_the_neighbours(api_client, chain):
    import xml.etree.ElementTree as ET

    _add(api_client, column_urn("erp", "sales", "b", "k"), column_urn("erp", "sales", "c", "k"),
         transformation="identity")
    page = api_client.get("/ui/lineage", params={"urn": _ds("c"), "depth": 1, "column_level": "true"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    svg = re.search(r"<svg .*</svg>", page.text, re.DOTALL).group(0)
    root = ET.fromstring(svg)  # well-formed SVG
    ns = {"s": "http://www.w3.org/2000/svg"}
    drawn = {g.get("data-urn") for g in root.iterfind(".//s:g[@data-urn]", ns)}
    assert drawn == {_ds("b"), _ds("c"), _ds("d"), _ds("x")}
    assert len(root.findall(".//s:path[@class]", ns)) == 3  # b.k -> c.k replaces b -> c; c -> d, c -> x
    assert "Cut short: depth 1 reached" in page.text
    assert "/ui/lineage?urn=" + quote(_ds("d"), safe="") in page.text.replace("&amp;", "&")
    assert api_client.get("/ui/lineage", params={"urn": "nope"}).status_code == 422
