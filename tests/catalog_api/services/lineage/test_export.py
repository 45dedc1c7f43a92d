"""Lineage exports through REST: Mermaid, Graphviz DOT and OpenLineage events name every node and edge."""

from __future__ import annotations

import json
import re

from catalog_api.urns import column_urn
from tests.support.lineage import add_edge, ds


def test_exports_name_every_node_and_edge(api_client, chain):
    add_edge(api_client, column_urn("erp", "sales", "b", "k"), column_urn("erp", "sales", "c", "k"),
             transformation="identity")
    params = {"urn": ds("c"), "direction": "UPSTREAM", "depth": 1, "column_level": "true"}

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
    assert f'"{ds("b")}" -> "{ds("c")}";' in dot
    assert re.search(rf'"{re.escape(ds("c"))}" \[label="erp.sales.c", style=dashed\];', dot)

    events = json.loads(api_client.get("/api/v1/lineage", params={**params, "format": "openlineage"}).text)
    assert len(events) == 1
    # erp was never registered, so its datasets get the catalog's own namespace
    assert events[0]["inputs"] == [{"namespace": "catalog://erp", "name": "sales.b"}]
    output = events[0]["outputs"][0]
    assert (output["namespace"], output["name"]) == ("catalog://erp", "sales.c")
    assert output["facets"]["columnLineage"]["fields"]["k"]["inputFields"][0]["field"] == "k"
