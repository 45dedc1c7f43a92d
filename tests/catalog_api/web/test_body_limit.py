"""The request body limit (catalog_api/web/body_limit.py): a body over `max_request_body_bytes` gets 413 with the
JSON error body and changes nothing, whether it declares its length or streams in chunks; GraphQL WebSocket
messages over the limit close the socket with 1009."""

from __future__ import annotations

import json

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.support.api import app_with
from tests.support.server import serve

LIMIT = 4096
JSON = {"Content-Type": "application/json"}


def _too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text[:300]
    assert response.json() == {"error": {"code": "request_too_large",
                                         "message": f"the request body is larger than {LIMIT} bytes"}}


def _registration(padding: int) -> bytes:
    return json.dumps({"name": "big", "kind": "sqlite", "config": {"path": "/nowhere.db"},
                       "description": "x" * padding}).encode()


def _chunks(body: bytes, size: int = 1000):
    for start in range(0, len(body), size):
        yield body[start:start + size]


@pytest.fixture
def client(catalog_ctx):
    with TestClient(app_with(catalog_ctx, max_request_body_bytes=LIMIT)) as client:
        yield client


def test_a_body_declaring_more_than_the_limit_is_refused_and_nothing_is_stored(client):
    _too_large(client.post("/api/v1/sources", content=_registration(LIMIT), headers=JSON))
    _too_large(client.post("/graphql", content=json.dumps({"query": "{" + " __typename" * 1000 + "}"}),
                           headers=JSON))
    assert client.get("/api/v1/sources").json() == []


def test_a_chunked_body_without_a_length_is_refused_once_it_passes_the_limit(client):
    _too_large(client.post("/api/v1/sources", content=_chunks(_registration(LIMIT)), headers=JSON))
    _too_large(client.post("/api/v1/lineage", content=_chunks(b"[" + b"0," * LIMIT + b"0]"), headers=JSON))
    assert client.get("/api/v1/sources").json() == []


def test_bodies_within_the_limit_pass_streamed_or_not(client):
    small = _registration(100)
    assert client.post("/api/v1/sources", content=small, headers=JSON).status_code in (201, 422)
    assert client.post("/graphql", content=_chunks(json.dumps({"query": "{ __typename }"}).encode(), 5),
                       headers=JSON).json() == {"data": {"__typename": "Query"}}


def test_a_real_server_refuses_a_chunked_body_too(catalog_ctx):
    with serve(app_with(catalog_ctx, max_request_body_bytes=LIMIT)) as url, httpx.Client(base_url=url) as http:
        _too_large(http.post("/api/v1/sources", content=_chunks(_registration(LIMIT * 4)), headers=JSON))
        _too_large(http.post("/api/v1/sources", content=_registration(LIMIT * 4), headers=JSON))
        assert http.get("/api/v1/sources").json() == []


def test_the_default_limit_is_one_mebibyte(api_client):
    flood = json.dumps({"query": "{" + " ".join(f"a{i}:__typename" for i in range(80_000)) + "}"})
    assert len(flood) > 1024 * 1024
    response = api_client.post("/graphql", content=flood, headers=JSON)
    assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"


def test_a_graphql_websocket_message_over_the_limit_closes_the_socket(client):
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init"})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": "subscription { catalogEvents { id } }",
                                                                 "variables": {"padding": "x" * LIMIT}}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 1009
