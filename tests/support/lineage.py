"""Lineage through REST: manual edges between datasets the catalog never crawled (placeholders), and walks."""

from __future__ import annotations

import pytest

from catalog_api.urns import dataset_urn


def ds(name: str) -> str:
    """The URN of dataset `erp.sales.<name>`."""
    return dataset_urn("erp", "sales", name)


def add_edge(client, upstream: str, downstream: str, **extra) -> dict:
    response = client.post("/api/v1/lineage/edges", json={"upstream": upstream, "downstream": downstream, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def lineage(client, urn: str, **params) -> dict:
    response = client.get("/api/v1/lineage", params={"urn": urn, **params})
    assert response.status_code == 200, response.text
    return response.json()


def pairs(result: dict) -> set[tuple[str, str]]:
    """The dataset-level (upstream, downstream) pairs of a walk."""
    return {(e["upstream"], e["downstream"]) for e in result["edges"] if e["upstream_column"] is None}


@pytest.fixture
def chain(api_client) -> None:
    """a -> b -> c -> d -> e -> a (a cycle), and c -> x."""
    for up, down in [("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("e", "a"), ("c", "x")]:
        add_edge(api_client, ds(up), ds(down))
