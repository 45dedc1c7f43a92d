"""OpenLineage events of one job applied in eventTime order: an event older than the job's applied state does not
replace (or add to) its lineage, whatever order the events arrive in."""

from __future__ import annotations

from catalog_api.services.lineage import openlineage_placeholder_urn
from tests.support.lineage import lineage

NS = "s3://dvd"
REPORT = openlineage_placeholder_urn(NS, "report")


def _post(client, state: str, run_id: str, time: str, inputs: list[str]) -> None:
    response = client.post("/api/v1/lineage", json={
        "eventType": state, "eventTime": time, "run": {"runId": run_id}, "job": {"namespace": "etl", "name": "report"},
        "inputs": [{"namespace": NS, "name": name} for name in inputs],
        "outputs": [{"namespace": NS, "name": "report"}]})
    assert response.status_code == 201, response.text


def _inputs(client) -> set[str]:
    edges = lineage(client, REPORT, direction="UPSTREAM", depth=1)["edges"]
    return {e["upstream"].rsplit(":", 1)[1] for e in edges if e["downstream"] == REPORT}


def test_a_late_older_complete_does_not_restore_older_inputs(api_client):
    _post(api_client, "COMPLETE", "run-b", "2026-12-05T10:10:00Z", ["film"])
    _post(api_client, "COMPLETE", "run-a", "2026-12-05T10:00:00Z", ["category", "film"])
    assert _inputs(api_client) == {"film"}
    _post(api_client, "START", "run-a", "2026-12-05T09:59:00Z", ["category", "film"])
    assert _inputs(api_client) == {"film"}


def test_a_newer_complete_still_replaces_an_older_one(api_client):
    _post(api_client, "COMPLETE", "run-a", "2026-12-05T10:00:00Z", ["category", "film"])
    _post(api_client, "COMPLETE", "run-b", "2026-12-05T10:10:00+01:00", ["film"])  # 09:10 UTC: older
    assert _inputs(api_client) == {"category", "film"}
    _post(api_client, "START", "run-c", "2026-12-05T10:20:00Z", ["actor"])
    assert _inputs(api_client) == {"category", "film", "actor"}
    _post(api_client, "COMPLETE", "run-c", "2026-12-05T10:30:00Z", ["actor"])
    assert _inputs(api_client) == {"actor"}
