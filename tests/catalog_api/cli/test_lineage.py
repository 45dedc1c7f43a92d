"""`catalog lineage URN`: a tree by default, or Mermaid, DOT and JSON that their own parsers read back to the
service's lineage graph.

The shop's view big_orders reads orders (view lineage, with column edges); manual edges lead on from it to two
datasets of a warehouse the catalog has not crawled: orders -> big_orders -> dwh.mart.revenue -> dwh.mart.report.
"""

from __future__ import annotations

import json

import pydot
import pytest

from catalog_api.urns import column_urn, dataset_urn
from tests.support.mermaid import mermaid_graph

ORDERS, BIG_ORDERS = dataset_urn("shop", "main", "orders"), dataset_urn("shop", "main", "big_orders")
REVENUE, REPORT = dataset_urn("dwh", "mart", "revenue"), dataset_urn("dwh", "mart", "report")


@pytest.fixture
def chain(shop):
    from catalog_api.services.lineage import add_manual_edge

    add_manual_edge(shop, BIG_ORDERS, REVENUE)
    add_manual_edge(shop, REVENUE, REPORT)
    return shop


def service_graph(ctx, urn: str, **options):
    from catalog_api.services.lineage import lineage

    with ctx.db.session() as session:
        return lineage(session, ctx.settings, urn, **options)


def edge_set(graph) -> set[tuple]:
    return {(e.upstream, e.downstream, e.upstream_column, e.downstream_column) for e in graph.edges}


def _depth_of(line: str) -> int:
    return (len(line) - len(line.lstrip("│├└─ "))) // 4


def test_the_tree_nests_upstream_and_downstream_levels(chain, cli_in_process):
    graph = service_graph(chain, BIG_ORDERS, depth=3)
    lines = cli_in_process("lineage", BIG_ORDERS).stdout.splitlines()
    assert lines[0] == "shop.main.big_orders"
    names = {line.lstrip("│├└─ ").split(" (")[0]: (index, _depth_of(line)) for index, line in enumerate(lines)}
    shown = {name for name in names if name not in ("upstream", "downstream", "shop.main.big_orders")}
    assert shown == {f"{n.source}.{n.schema}.{n.name}" for n in graph.nodes if n.urn != BIG_ORDERS}
    # upstream, then downstream; each level one deeper than the one it feeds or is fed by
    assert names["upstream"][0] < names["shop.main.orders"][0] < names["downstream"][0]
    assert names["shop.main.orders"][1] == names["dwh.mart.revenue"][1] == 2
    assert names["dwh.mart.report"][1] == 3 and names["dwh.mart.revenue"][0] < names["dwh.mart.report"][0]
    assert "(not crawled)" in lines[names["dwh.mart.report"][0]]

    upstream_only = cli_in_process("lineage", BIG_ORDERS, "--direction", "upstream", "--depth", "1").stdout
    assert "shop.main.orders" in upstream_only and "dwh" not in upstream_only and "downstream" not in upstream_only
    cut = cli_in_process("lineage", ORDERS, "--depth", "1").stdout
    assert "shop.main.big_orders" in cut and "revenue" not in cut and "cut short: depth 1 reached" in cut


def test_the_tree_of_a_column_follows_column_edges(chain, cli_in_process):
    done = cli_in_process("lineage", column_urn("shop", "main", "orders", "amount")).stdout
    assert done.splitlines()[0] == "shop.main.orders.amount"
    assert "shop.main.big_orders.amount" in done and "revenue" not in done  # the manual edges are dataset edges


def test_json_is_the_service_graph(chain, cli_in_process):
    graph = service_graph(chain, ORDERS, depth=3, column_level=True)
    found = json.loads(cli_in_process("lineage", ORDERS, "--columns", "--format", "json").stdout)
    assert {n["urn"]: n["distance"] for n in found["nodes"]} == {n.urn: n.distance for n in graph.nodes}
    assert {(e["upstream"], e["downstream"], e["upstream_column"], e["downstream_column"])
            for e in found["edges"]} == edge_set(graph)
    assert any(e["upstream_column"] == "amount" for e in found["edges"])  # column edges included
    assert found["truncated"] is False


def test_dot_parses_and_holds_the_service_graph(chain, cli_in_process):
    graph = service_graph(chain, BIG_ORDERS, depth=3, column_level=True)
    text = cli_in_process("lineage", BIG_ORDERS, "--columns", "--format", "dot").stdout
    (parsed,) = pydot.graph_from_dot_data(text)
    assert parsed.get_type() == "digraph"
    declared = {node.get_name().strip('"') for node in parsed.get_nodes()} - {"node"}  # `node [...]` sets defaults
    edges = parsed.get_edges()
    assert all({e.get_source().strip('"'), e.get_destination().strip('"')} <= declared for e in edges)
    assert declared == {n.urn for n in graph.nodes}
    drawn = sorted((e.get_source().strip('"'), e.get_destination().strip('"'), (e.get("label") or "").strip('"'))
                   for e in edges)
    expected = sorted((e.upstream, e.downstream, f"{e.upstream_column} → {e.downstream_column}"
                       if e.upstream_column else "") for e in graph.edges)
    assert drawn == expected


def test_mermaid_parses_and_holds_the_service_graph(chain, cli_in_process):
    graph = service_graph(chain, BIG_ORDERS, depth=3, column_level=True)
    parsed = mermaid_graph(cli_in_process("lineage", BIG_ORDERS, "--columns", "--format", "mermaid").stdout)
    assert parsed["type"].startswith("flowchart")
    labels = {f"{n.source}.{n.schema}.{n.name}": n.urn for n in graph.nodes}
    assert sorted(parsed["vertices"].values()) == sorted(labels)
    urn_of = {vertex: labels[text] for vertex, text in parsed["vertices"].items()}
    drawn = sorted((urn_of[e["start"]], urn_of[e["end"]], e["text"]) for e in parsed["edges"])
    expected = sorted((e.upstream, e.downstream, f"{e.upstream_column} → {e.downstream_column}"
                       if e.upstream_column else "") for e in graph.edges)
    assert drawn == expected


def test_a_urn_that_is_not_lineage_is_refused(shop, cli_in_process):
    refused = cli_in_process("lineage", "urn:catalog:source:shop", ok=False)
    assert refused.exit_code == 1 and "urn: lineage is about datasets and columns" in refused.stderr
    too_deep = cli_in_process("lineage", ORDERS, "--depth", "99", ok=False)
    assert too_deep.exit_code == 1 and "depth: between 1 and" in too_deep.stderr
