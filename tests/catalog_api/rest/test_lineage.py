"""The lineage routes refuse bad queries and bad manual edges, naming the field."""

from __future__ import annotations

import pytest

from catalog_api.urns import column_urn
from tests.support.lineage import ds


@pytest.mark.parametrize(("params", "field"), [
    ({"urn": ds("a"), "direction": "SIDEWAYS"}, "direction"),
    ({"urn": ds("a"), "depth": 0}, "depth"),
    ({"urn": ds("a"), "depth": 21}, "depth"),
    ({"urn": "urn:catalog:schema:erp:sales"}, "urn"),
    ({"urn": "orders"}, "urn"),
    ({"urn": ds("a"), "format": "png"}, "format"),
])
def test_bad_queries_name_the_field(api_client, params, field):
    response = api_client.get("/api/v1/lineage", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_bad_manual_edges_name_the_field(api_client):
    mixed = api_client.post("/api/v1/lineage/edges", json={
        "upstream": ds("a"), "downstream": column_urn("erp", "sales", "b", "x")})
    assert mixed.status_code == 422 and mixed.json()["error"]["field"] == "downstream"
    loop = api_client.post("/api/v1/lineage/edges", json={"upstream": ds("a"), "downstream": ds("a")})
    assert loop.status_code == 422 and loop.json()["error"]["field"] == "downstream"
