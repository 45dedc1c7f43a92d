"""An OpenLineage event's column transformations come back unchanged in the OpenLineage export."""

from __future__ import annotations

import json

from catalog_api.services.lineage import openlineage_placeholder_urn

TRANSFORMATIONS = {
    "revenue": [{"type": "DIRECT", "subtype": "AGGREGATION", "description": "sum(amount)", "masking": False}],
    "film_id": [{"type": "DIRECT", "subtype": "IDENTITY"}],
    "rating": [{"type": "INDIRECT", "subtype": "FILTER"}, {"type": "DIRECT", "subtype": "TRANSFORMATION"}],
}


def test_column_transformations_round_trip_through_the_export(api_client):
    fields = {column: {"inputFields": [{"namespace": "s3://dvd", "name": "payment", "field": column,
                                        "transformations": kinds}]}
              for column, kinds in TRANSFORMATIONS.items()}
    response = api_client.post("/api/v1/lineage", json={
        "eventType": "COMPLETE", "eventTime": "2026-12-05T10:00:00Z", "run": {"runId": "r"},
        "job": {"namespace": "etl", "name": "revenue"}, "inputs": [{"namespace": "s3://dvd", "name": "payment"}],
        "outputs": [{"namespace": "s3://dvd", "name": "revenue", "facets": {"columnLineage": {"fields": fields}}}]})
    assert response.status_code == 201, response.text

    exported = api_client.get("/api/v1/lineage", params={
        "urn": openlineage_placeholder_urn("s3://dvd", "revenue"), "direction": "UPSTREAM", "column_level": "true",
        "format": "openlineage"})
    assert exported.status_code == 200, exported.text
    [event] = json.loads(exported.text)
    out = event["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert {column: out[column]["inputFields"][0]["transformations"] for column in out} == TRANSFORMATIONS
