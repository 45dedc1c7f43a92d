"""/metrics after real HTTP requests and GraphQL operations: counted by route template (never the raw path), method
and status, and by GraphQL operation type and bounded name, against the requests the test itself made."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from catalog_api.observability.metrics import MAX_OPERATION_NAME, MAX_OPERATION_NAMES
from tests.support.api import API_HEADERS, app_with
from tests.support.metrics import scrape

JOB_ROUTE = "/api/v1/jobs/{job_id}"


@pytest.fixture
def client(catalog_ctx):
    # Without rate limits: a few tests send more requests than a caller's burst on purpose.
    with TestClient(app_with(catalog_ctx, rate_limit_per_s=0), headers=API_HEADERS) as client:
        yield client


def test_requests_are_counted_by_route_template_method_and_status(client):
    before = scrape(client)
    missing = [str(uuid.uuid4()) for _ in range(7)]
    for job_id in missing:
        assert client.get(f"/api/v1/jobs/{job_id}").status_code == 404
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    after = scrape(client)

    def delta(name: str, /, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert delta("catalog_http_requests_total", method="GET", route=JOB_ROUTE, status="404") == len(missing)
    assert delta("catalog_http_request_duration_seconds_count", method="GET", route=JOB_ROUTE) == len(missing)
    assert delta("catalog_http_requests_total", method="GET", route="/healthz", status="200") == 3
    # The scrape before this one was itself a request, answered 200.
    assert delta("catalog_http_requests_total", method="GET", route="/metrics", status="200") == 1
    routes = after.label_values("catalog_http_requests_total", "route")
    assert not any(job_id in route for route in routes for job_id in missing), routes


def test_paths_no_route_matches_share_one_series(client):
    before = scrape(client)
    for n in range(25):
        assert client.get(f"/wp-admin/probe-{n}.php").status_code == 404
    after = scrape(client)
    assert (after.value("catalog_http_requests_total", method="GET", route="unmatched", status="404")
            - before.value("catalog_http_requests_total", method="GET", route="unmatched", status="404")) == 25
    assert not any("probe" in route for route in after.label_values("catalog_http_requests_total", "route"))


def _graphql(client, query: str, operation_name: str | None = None) -> dict:
    body = {"query": query} | ({"operationName": operation_name} if operation_name else {})
    return client.post("/graphql", json=body).json()


def test_graphql_operations_by_type_and_name_with_their_errors(client):
    before = scrape(client)
    for _ in range(3):
        assert "errors" not in _graphql(client, "query ListSources { sources { totalCount } }")
    assert "errors" not in _graphql(client, "{ sources { totalCount } }")
    failed = _graphql(client, 'mutation StopIt { cancelJob(id: "no-such-job") { id } }')
    assert failed["errors"][0]["extensions"]["code"] == "not_found"
    assert "errors" in _graphql(client, "query Broken { sources {")
    after = scrape(client)

    def delta(name: str, /, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    assert delta("catalog_graphql_operations_total", operation_type="query", operation_name="ListSources") == 3
    assert delta("catalog_graphql_operation_errors_total", operation_type="query", operation_name="ListSources") == 0
    assert delta("catalog_graphql_operation_duration_seconds_count", operation_type="query",
                 operation_name="ListSources") == 3
    assert delta("catalog_graphql_operations_total", operation_type="query", operation_name="anonymous") == 1
    assert delta("catalog_graphql_operations_total", operation_type="mutation", operation_name="StopIt") == 1
    assert delta("catalog_graphql_operation_errors_total", operation_type="mutation", operation_name="StopIt") == 1
    # A document that does not parse is counted, but its name is the client's word, not a label.
    assert delta("catalog_graphql_operation_errors_total", operation_type="invalid", operation_name="anonymous") == 1
    assert "Broken" not in after.label_values("catalog_graphql_operations_total", "operation_name")
    # Every GraphQL operation is also an HTTP request on the /graphql route.
    assert delta("catalog_http_requests_total", method="POST", route="/graphql", status="200") == 6


def test_graphql_operation_names_are_bounded_in_length_and_number(client):
    long_name = "Q" * (MAX_OPERATION_NAME + 1)
    _graphql(client, f"query {long_name} {{ sources {{ totalCount }} }}")
    for n in range(MAX_OPERATION_NAMES + 5):
        _graphql(client, f"query Flood{n} {{ sources {{ totalCount }} }}")
    names = scrape(client).label_values("catalog_graphql_operations_total", "operation_name")
    assert long_name not in names
    assert "other" in names
    # The cap is per process: `anonymous`, `other` and at most MAX_OPERATION_NAMES real names.
    assert len(names - {"anonymous", "other"}) <= MAX_OPERATION_NAMES
