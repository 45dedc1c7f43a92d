"""POST /api/v1/lineage refuses what is not an OpenLineage RunEvent, naming the field a sender has to fix."""

from __future__ import annotations

import json

import pytest

from tests.support.lineage import lineage

JOB = {"eventType": "COMPLETE", "run": {"runId": "r-1"}, "job": {"namespace": "etl", "name": "daily"},
       "inputs": [{"namespace": "s3://raw", "name": "orders"}], "outputs": [{"namespace": "s3://mart", "name": "rev"}]}


@pytest.mark.parametrize("event_time", [12345, "2026-12-05", "2026-12-05T10:00:00", "10:00:00Z", True])
def test_an_event_time_that_is_not_a_zoned_date_time_is_refused(api_client, event_time):
    # the spec's eventTime is an ISO 8601 date-time with a zone: anything else would be ordered by a guess
    response = api_client.post("/api/v1/lineage", json={**JOB, "eventTime": event_time})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == "eventTime"


def test_a_zoned_date_time_is_accepted(api_client):
    response = api_client.post("/api/v1/lineage", json={**JOB, "eventTime": "2026-12-05T10:00:00+02:00"})
    assert response.status_code == 201, response.text


def test_invalid_json_names_the_body_and_where_it_breaks(api_client):
    text = '{"eventType": "START",\n  "eventTime": oops}'
    response = api_client.post("/api/v1/lineage", content=text, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    # the position a user can find in their editor: line 2, column 16 (where `oops` starts), not character 38
    assert error["field"] == "body"
    assert "line 2" in error["message"] and "column 16" in error["message"], error


def test_a_5_mb_event_is_refused_with_413_and_records_nothing(api_client):
    padding = "x" * (5 * 1024 * 1024)
    body = json.dumps({**JOB, "eventTime": "2026-12-05T10:00:00Z", "producer": padding}).encode()
    response = api_client.post("/api/v1/lineage", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text[:300]
    assert response.json()["error"]["code"] == "request_too_large"
    urn = "urn:catalog:dataset:_openlineage:s3%3A%2F%2Fmart:rev"
    assert lineage(api_client, urn)["edges"] == []
