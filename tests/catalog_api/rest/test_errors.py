"""Every error answer of the HTTP API has the documented body `{"error": {"code", "message", ...}}`: failures no
route anticipated (500), bodies that cannot be read, paths and methods nothing serves, and ids too large to store."""

from __future__ import annotations

import logging
import sqlite3

import pytest
from fastapi.testclient import TestClient

from catalog_api.app import create_app
from catalog_api.services.views import MAX_ID
from tests.support.api import API_HEADERS

TOO_LARGE = 2**63  # SQLite raised OverflowError on it, PostgreSQL NumericValueOutOfRange: 500 with a text body


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    return body["error"]


def test_an_unhandled_failure_answers_the_error_body_with_a_request_id_it_logged_the_traceback_under(
        api_client, catalog_ctx, caplog):
    # A real failure nothing anticipates: the catalog's table of API keys is gone from under the service.
    database = catalog_ctx.settings.effective_database_url.removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        connection.execute("drop table api_keys")
    with caplog.at_level(logging.ERROR, logger="catalog_api.web.errors"):
        response = api_client.get("/api/v1/keys")
        given = api_client.get("/api/v1/keys", headers={"X-Request-ID": "gateway-42"})
    error = _error(response, 500)
    assert error["code"] == "internal_error" and "api_keys" not in error["message"]
    assert response.headers["X-Request-ID"] == error["request_id"]
    assert _error(given, 500)["request_id"] == "gateway-42"
    logged = {record.request_id: record for record in caplog.records}
    assert set(logged) == {error["request_id"], "gateway-42"}
    assert "no such table: api_keys" in logged["gateway-42"].exc_text
    assert response.headers["X-Content-Type-Options"] == "nosniff"  # answered inside the middleware, like any other


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/api/v1/sources/{big}", None),
    ("PATCH", "/api/v1/sources/{big}", {"description": "x"}),
    ("DELETE", "/api/v1/sources/{big}", None),
    ("POST", "/api/v1/sources/{big}/test", None),
    ("POST", "/api/v1/sources/{big}/crawl", None),
    ("POST", "/api/v1/sources/{big}/extract", None),
    ("POST", "/api/v1/sources/{big}/profile", None),
    ("PUT", "/api/v1/sources/{big}/schedule", {"cron": None}),
    ("POST", "/api/v1/sources/{big}/schedule/resume", None),
    ("GET", "/api/v1/profiles/{big}", None),
    ("GET", "/api/v1/jobs?source_id={big}", None),
    ("GET", "/api/v1/events/outbox?after_id={big}", None),
    ("GET", "/api/v1/audit?after={big}", None),
    ("GET", "/api/v1/tables/urn%3Acatalog%3Adataset%3Aa%3Ab%3Ac/profile/report?profile_id={big}", None),
    ("POST", "/api/v1/events/outbox/replay", {"ids": [TOO_LARGE]}),
])
def test_an_id_past_64_bits_is_refused_as_invalid_input_naming_it(api_client, method, path, body):
    response = api_client.request(method, path.format(big=TOO_LARGE), json=body)
    error = _error(response, 422)
    assert error["code"] == "invalid_input"
    assert error["field"] in {"source_id", "profile_id", "after_id", "after", "ids.0"}, error


def test_the_largest_id_is_documented_and_the_next_one_refused(api_client):
    document = api_client.get("/openapi.json").json()
    parameter = document["paths"]["/api/v1/sources/{source_id}"]["get"]["parameters"][0]
    assert parameter["schema"]["maximum"] == MAX_ID
    assert _error(api_client.get(f"/api/v1/sources/{MAX_ID}"), 404)["code"] == "not_found"
    assert _error(api_client.get(f"/api/v1/sources/{MAX_ID + 1}"), 422)["field"] == "source_id"


def test_a_source_named_by_a_number_past_64_bits_is_not_found(api_client):
    # `source` takes a name or an id: digits that cannot be an id are a name no source has.
    assert _error(api_client.get(f"/api/v1/anomalies?source={TOO_LARGE}"), 404)["code"] == "not_found"


def test_a_source_named_by_a_superscript_digit_is_not_found(api_client):
    # '¹'.isdigit() is true, yet int('¹') fails: the name is looked up as a name only (schemathesis found a 500).
    assert _error(api_client.get("/api/v1/anomalies?source=%C2%B9"), 404)["code"] == "not_found"


def test_a_body_that_is_not_utf8_is_refused_with_the_error_body(api_client):
    response = api_client.post("/api/v1/webhooks", content=b'{"url": "\xff\xfe"}', headers=API_HEADERS)
    error = _error(response, 422)
    assert error["code"] == "invalid_input" and error["field"] == "body"


def test_a_path_nothing_serves_answers_not_found(api_client):
    assert _error(api_client.get("/api/v1/nothing-here"), 404)["code"] == "not_found"


def test_a_method_the_resource_does_not_support_lists_every_method_it_does(api_client):
    # /webhooks/{id} is served by three routes (GET, PATCH, DELETE); the document is the oracle.
    documented = api_client.get("/openapi.json").json()["paths"]["/api/v1/webhooks/{subscription_id}"]
    response = api_client.put("/api/v1/webhooks/abc", json={})
    assert _error(response, 405)["code"] == "method_not_allowed"
    allowed = set(response.headers["Allow"].split(", ")) - {"HEAD"}
    assert allowed == {method.upper() for method in documented}


def test_a_state_changing_request_to_no_route_is_not_found_rather_than_refused_as_cross_site(catalog_ctx):
    client = TestClient(create_app(ctx=catalog_ctx))  # no Content-Type, no credentials
    assert _error(client.put("/api/v1/sources/1/nothing"), 404)["code"] == "not_found"
    assert _error(client.put("/api/v1/sources/1"), 405)["code"] == "method_not_allowed"
    assert _error(client.patch("/api/v1/sources/1"), 415)["code"] == "unsupported_media_type"


@pytest.mark.parametrize("path, body, field", [
    ("/api/v1/webhooks", {"url": "https://hooks.example.com/x", "active": 0}, "active"),
    ("/api/v1/sources", {"name": "erp", "kind": "sqlite", "config": {}, "test_connection": 0}, "test_connection"),
    ("/api/v1/events/outbox/replay", {"ids": ["1"]}, "ids.0"),
])
def test_a_number_where_the_document_says_boolean_or_a_string_where_it_says_integer_is_refused(
        api_client, path, body, field):
    error = _error(api_client.post(path, json=body), 422)
    assert error["field"] == field, error


def test_a_webhook_host_name_with_an_over_long_label_is_invalid_input(api_client):
    response = api_client.post("/api/v1/webhooks", json={"url": f"https://{'a' * 64}.example.com/hook"})
    assert _error(response, 422)["field"] == "url"


def test_every_documented_error_answer_has_the_error_body(api_client):
    document = api_client.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if int(status) >= 400 and path != "/readyz" and not (path == "/graphql" and status in "400 401 403"):
                    assert answer["content"] == {"application/json": {"schema": {
                        "$ref": "#/components/schemas/ErrorOut"}}}, (method, path, status)
            if path.startswith("/api/"):
                assert {"429", "500"} <= set(operation["responses"]), (method, path)
                assert "{" not in path or "404" in operation["responses"], (method, path)
