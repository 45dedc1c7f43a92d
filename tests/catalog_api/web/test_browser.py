"""Cross-site requests (catalog_api/web/browser.py): a page on another site cannot change the catalog, since a
state-changing request must declare a JSON body or carry credentials, which a browser sends across sites only after
a CORS preflight; and CORS answers only the origins of `cors_allow_origins`."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from catalog_api.app import create_app
from tests.support.api import app_with
from tests.support.auth import key_holder, requiring_auth
from tests.support.sources import register_sqlite

EVIL = "https://evil.example"


@pytest.fixture
def source_id(catalog_ctx, tmp_path) -> int:
    return register_sqlite(catalog_ctx, tmp_path, "shop")


@pytest.fixture
def browser(catalog_ctx):
    """A client sending exactly the headers it is told to, as a browser's simple request would."""
    with TestClient(app_with(catalog_ctx)) as client:
        yield client


def _queued(client, source_id: int) -> list:
    return client.get("/api/v1/jobs", params={"source_id": source_id}).json()


def test_the_finding_a_cross_origin_text_plain_post_queues_no_crawl(browser, source_id):
    response = browser.post(f"/api/v1/sources/{source_id}/crawl", content="x",
                            headers={"Content-Type": "text/plain", "Origin": EVIL})
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert "application/json" in error["message"] and "text/plain" in error["message"]
    assert "access-control-allow-origin" not in response.headers
    assert _queued(browser, source_id) == []


@pytest.mark.parametrize("headers", [
    {},  # fetch(url, {method: "POST", mode: "no-cors"}): no body, no Content-Type
    {"Content-Type": "application/x-www-form-urlencoded"},  # an HTML form
    {"Content-Type": "multipart/form-data; boundary=x"},
])
def test_other_simple_requests_a_page_can_send_are_refused_too(browser, source_id, headers):
    assert browser.post(f"/api/v1/sources/{source_id}/crawl", headers=headers).status_code == 415
    assert browser.delete(f"/api/v1/sources/{source_id}", headers=headers).status_code == 415
    assert _queued(browser, source_id) == [] and browser.get(f"/api/v1/sources/{source_id}").status_code == 200


def test_with_authentication_required_a_request_without_credentials_is_refused_as_such(catalog_ctx, source_id):
    operator = key_holder(catalog_ctx, "ops", ["operator"])
    with TestClient(create_app(ctx=requiring_auth(catalog_ctx))) as client:
        forged = client.post(f"/api/v1/sources/{source_id}/crawl", content="x",
                             headers={"Content-Type": "text/plain", "Origin": EVIL})
        assert forged.status_code == 401  # a browser cannot add the API key another site's page would need
        assert client.get("/api/v1/jobs", headers=operator.headers()).json() == []
        assert client.post(f"/api/v1/sources/{source_id}/crawl", headers=operator.headers()).status_code == 202


@pytest.mark.parametrize("headers", [
    {"Content-Type": "application/json"},
    {"Content-Type": "application/json; charset=utf-8"},
    {"Content-Type": "application/vnd.catalog+json"},
    {"Authorization": "Bearer anything"},  # whether the credentials are valid is the authentication's business
    {"X-API-Key": "anything"},
])
def test_api_clients_declare_json_or_send_credentials(browser, source_id, headers):
    response = browser.post(f"/api/v1/sources/{source_id}/crawl", headers=headers)
    assert response.status_code == 202, response.text
    assert [job["id"] for job in _queued(browser, source_id)] == [response.json()["id"]]


def test_reads_and_graphql_queries_need_nothing(browser):
    assert browser.get("/api/v1/sources").status_code == 200
    assert browser.get("/graphql", params={"query": "{ __typename }"}).json() == {"data": {"__typename": "Query"}}


def test_without_allowed_origins_no_cors_header_is_sent(browser):
    preflight = browser.options("/api/v1/sources", headers={
        "Origin": EVIL, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert "access-control-allow-origin" not in preflight.headers
    read = browser.get("/api/v1/sources", headers={"Origin": EVIL})
    assert read.status_code == 200 and "access-control-allow-origin" not in read.headers


def test_allowed_origins_get_cors_answers_and_others_do_not(catalog_ctx, source_id):
    app = app_with(catalog_ctx, cors_allow_origins=["https://catalog.example.com"])
    with TestClient(app) as client:
        ask = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-api-key"}
        allowed = client.options(f"/api/v1/sources/{source_id}/crawl",
                                 headers={"Origin": "https://catalog.example.com", **ask})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://catalog.example.com"
        assert {"content-type", "x-api-key"} <= set(allowed.headers["access-control-allow-headers"].lower().split(", "))
        crawl = client.post(f"/api/v1/sources/{source_id}/crawl",
                            headers={"Origin": "https://catalog.example.com", "Content-Type": "application/json"})
        assert crawl.status_code == 202
        assert crawl.headers["access-control-allow-origin"] == "https://catalog.example.com"
        refused = client.options("/api/v1/sources", headers={"Origin": EVIL, **ask})
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers


def test_a_page_on_an_allowed_origin_may_send_and_read_the_request_id(catalog_ctx, source_id):
    app = app_with(catalog_ctx, cors_allow_origins=["https://catalog.example.com"])
    origin = {"Origin": "https://catalog.example.com"}
    with TestClient(app) as client:
        preflight = client.options(f"/api/v1/sources/{source_id}/crawl", headers={
            **origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-request-id,traceparent"})
        assert preflight.status_code == 200, preflight.text
        crawl = client.post(f"/api/v1/sources/{source_id}/crawl", headers={
            **origin, "Content-Type": "application/json", "X-Request-ID": "page-req-1"})
        assert crawl.status_code == 202 and crawl.headers["x-request-id"] == "page-req-1"
        assert "x-request-id" in crawl.headers["access-control-expose-headers"].lower().split(", ")


def test_graphql_websockets_accept_allowed_origins_only(catalog_ctx):
    app = app_with(catalog_ctx, cors_allow_origins=["https://catalog.example.com"])
    with TestClient(app) as client:
        for origin, accepted in (("https://catalog.example.com", True), (EVIL, False)):
            try:
                with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"],
                                              headers={"Origin": origin}) as ws:
                    ws.send_json({"type": "connection_init"})
                    assert ws.receive_json()["type"] == "connection_ack"
                opened = True
            except Exception:  # the handshake is refused before the socket opens
                opened = False
            assert opened is accepted, origin


BASELINE = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY"}


def test_every_response_carries_the_security_headers(catalog_ctx, source_id):
    with TestClient(app_with(catalog_ctx, max_request_body_bytes=1024)) as client:
        responses = {
            "json": client.get("/api/v1/sources"),
            "not found": client.get("/api/v1/sources/999"),
            "health": client.get("/healthz"),
            "graphql": client.post("/graphql", json={"query": "{ __typename }"}),
            "cross-site refusal": client.post(f"/api/v1/sources/{source_id}/crawl"),
            "too large": client.post("/api/v1/lineage", content=b"x" * 2048, headers={"Content-Type": "application/json"}),
        }
        for name, response in responses.items():
            assert {k: response.headers.get(k) for k in BASELINE} == BASELINE, name
            # Nothing served as data may run or load anything if a browser were to render it, nor be framed.
            assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'", name


def test_the_openapi_pages_cannot_be_framed(browser):
    docs = browser.get("/docs")
    assert docs.status_code == 200 and "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    assert docs.headers["x-frame-options"] == "DENY"
