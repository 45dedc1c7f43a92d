"""Lineage graph walks through REST: cycles, depth and node limits, column impact, and removing a manual edge.

These edges point at datasets the catalog never crawled, which is allowed (they are placeholders), so the graph
can be built exactly as a test needs it.
"""

from __future__ import annotations

from catalog_api.urns import column_urn
from tests.support.lineage import add_edge, ds, lineage, pairs


def test_walks_handle_cycles_and_say_when_depth_cut_them(api_client, chain):
    near = lineage(api_client, ds("c"), direction="BOTH", depth=1)
    assert {n["name"]: n["distance"] for n in near["nodes"]} == {"b": -1, "c": 0, "d": 1, "x": 1}
    assert pairs(near) == {(ds("b"), ds("c")), (ds("c"), ds("d")), (ds("c"), ds("x"))}
    assert near["truncated"] is True and "depth 1" in near["truncated_reason"]
    assert near["truncated_at"] == [ds("b"), ds("d")]  # b has a upstream, d has e downstream; x ends there
    assert all(n["placeholder"] and n["kind"] is None for n in near["nodes"])

    # deep enough to go round the cycle: every node once, every edge once, nothing cut
    whole = lineage(api_client, ds("c"), direction="DOWNSTREAM", depth=20)
    assert {n["name"] for n in whole["nodes"]} == {"a", "b", "c", "d", "e", "x"}
    assert len(whole["edges"]) == 6 and whole["truncated"] is False and whole["truncated_reason"] is None
    assert whole["truncated_at"] == []

    upstream = lineage(api_client, ds("a"), direction="UPSTREAM", depth=2)
    assert {n["name"]: n["distance"] for n in upstream["nodes"]} == {"a": 0, "e": -1, "d": -2}
    assert upstream["truncated"] is True and upstream["truncated_at"] == [ds("d")]


def test_node_limit_truncates_instead_of_failing(api_client, chain):
    cut = lineage(api_client, ds("a"), direction="DOWNSTREAM", depth=20, limit=3)
    assert len(cut["nodes"]) == 3
    assert cut["truncated"] is True and "node limit 3" in cut["truncated_reason"]
    assert cut["truncated_at"] == [ds("c")]  # a -> b -> c taken in; c's neighbours d and x left out
    # edges only join nodes that are in the result
    names = {n["urn"] for n in cut["nodes"]}
    assert all(e["upstream"] in names and e["downstream"] in names for e in cut["edges"])


def test_column_impact_and_manual_edge_removal(api_client):
    add_edge(api_client, ds("orders"), ds("revenue"))
    add_edge(api_client, column_urn("erp", "sales", "orders", "total"), column_urn("erp", "sales", "revenue", "sum"),
             transformation="expression")
    add_edge(api_client, column_urn("erp", "sales", "orders", "id"), column_urn("erp", "sales", "revenue", "id"),
             transformation="identity")
    add_edge(api_client, column_urn("erp", "sales", "revenue", "sum"), column_urn("erp", "sales", "report", "amount"),
             transformation="identity")

    impact = lineage(api_client, column_urn("erp", "sales", "orders", "total"), direction="DOWNSTREAM", depth=5)
    assert impact["column_level"] is True
    assert [(e["upstream_column_urn"], e["downstream_column_urn"], e["transformation"]) for e in impact["edges"]] == [
        (column_urn("erp", "sales", "orders", "total"), column_urn("erp", "sales", "revenue", "sum"), "expression"),
        (column_urn("erp", "sales", "revenue", "sum"), column_urn("erp", "sales", "report", "amount"), "identity"),
    ]
    assert {n["name"] for n in impact["nodes"]} == {"orders", "revenue", "report"}

    # dataset walks leave column edges out unless asked for
    assert len(lineage(api_client, ds("orders"), direction="DOWNSTREAM")["edges"]) == 1
    with_columns = lineage(api_client, ds("orders"), direction="DOWNSTREAM", column_level="true", depth=1)
    assert len(with_columns["edges"]) == 3

    gone = api_client.delete("/api/v1/lineage/edges", params={"upstream": ds("orders"), "downstream": ds("revenue")})
    assert gone.status_code == 204
    assert lineage(api_client, ds("orders"), direction="DOWNSTREAM")["edges"] == []
    again = api_client.delete("/api/v1/lineage/edges", params={"upstream": ds("orders"),
                                                                "downstream": ds("revenue")})
    assert again.status_code == 404
