"""GraphQL limits (catalog_api/graphql/limits.py): the frontend's queries pass; a document over a limit is refused
with HTTP 400 and `extensions.code = "query_too_complex"`, quickly, over HTTP and over graphql-transport-ws; a
flood of aliases sent again and again leaves /healthz answering. The figures: benchmarks/graphql_limits.py."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from graphql import get_introspection_query
from starlette.websockets import WebSocketDisconnect

from tests.support.api import app_with
from tests.support.graphql import alias_flood, page_query
from tests.support.server import serve

TYPENAME_FLOOD = "{" + " a:__typename" * 80_000 + "}"  # the finding's 80,000 aliased __typename, just under 1 MiB
DEEP_PAGES = ("{ sources(first: 1000) { edges { node { schemas(first: 1000) { edges { node {"
              " tables(first: 1000) { edges { node { columns(first: 1000) { totalCount } } } } } } } } } } }")


def _refusal(response: httpx.Response) -> dict:
    assert response.status_code == 400, response.text[:500]
    body = response.json()
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "query_too_complex" and error["extensions"]["status"] == 400
    return error


def test_the_frontend_page_query_and_graphiql_introspection_pass(api_client):
    for query in (page_query(), get_introspection_query(descriptions=True, input_value_deprecation=True)):
        response = api_client.post("/graphql", json={"query": query})
        assert response.status_code == 200 and not response.json().get("errors"), response.text[:500]


def test_a_thousand_aliases_of_the_page_query_are_refused_while_parsing(api_client):
    error = _refusal(api_client.post("/graphql", json={"query": alias_flood(page_query(), 1000)}))
    assert "more than 2000 tokens" in error["message"]


def test_more_aliases_than_allowed_are_refused(api_client):
    assert api_client.post("/graphql", json={"query": alias_flood("{ __typename }", 100)}).status_code == 200
    error = _refusal(api_client.post("/graphql", json={"query": alias_flood("{ __typename }", 101)}))
    assert error["message"] == "101 aliases found. Allowed: 100"


def test_a_query_over_the_cost_budget_is_refused_and_page_sizes_count(api_client):
    error = _refusal(api_client.post("/graphql", json={"query": DEEP_PAGES}))
    assert "over the budget of 100,000,000" in error["message"]
    by_variable = "query($n: Int!) { sources(first: $n) { edges { node { schemas(first: $n) { totalCount } } } } }"
    _refusal(api_client.post("/graphql", json={"query": by_variable, "variables": {"n": 1_000_000}}))
    small = api_client.post("/graphql", json={"query": by_variable, "variables": {"n": 10}})
    assert small.status_code == 200 and small.json()["data"] == {"sources": {"edges": []}}


def test_a_field_repeated_under_one_parent_counts_squared(api_client):
    error = _refusal(api_client.post("/graphql", json={"query": "{" + " sources { totalCount }" * 50 + "}"}))
    assert "more than 2000 fields" in error["message"]


@pytest.mark.timeout(60)
def test_a_chain_of_fragments_spreading_the_next_twice_is_refused_at_once(api_client):
    # Expanded, 2^24 spreads: strawberry's depth and alias rules alone took minutes over this 250-token document,
    # so an answer at all (within the timeout) shows the spreads were counted, not expanded. How fast the refusal
    # is: benchmarks/graphql_limits.py.
    chain = "".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }} " for i in range(24))
    _refusal(api_client.post("/graphql", json={"query": "{ ...F0 } " + chain + "fragment F24 on Query { __typename }"}))


def test_each_limit_follows_its_setting(catalog_ctx):
    with TestClient(app_with(catalog_ctx, graphql_max_depth=5)) as client:
        assert "exceeds maximum operation depth of 5" in _refusal(client.post("/graphql", json={
            "query": page_query()}))["message"]
    with TestClient(app_with(catalog_ctx, graphql_max_cost=1000)) as client:
        _refusal(client.post("/graphql", json={"query": page_query()}))
    with TestClient(app_with(catalog_ctx, graphql_max_tokens=100)) as client:
        assert client.post("/graphql", json={"query": page_query()}).status_code == 200  # 77 tokens
        _refusal(client.post("/graphql", json={"query": alias_flood(page_query(), 2)}))


def test_a_document_passed_once_is_checked_again_for_other_variables_limits_and_errors(api_client, catalog_ctx):
    # Documents that passed are remembered (limits.py, `_PASSED`): by document, variables, limits and schema.
    by_variable = "query($n: Int!) { sources(first: $n) { edges { node { schemas(first: $n) { totalCount } } } } }"
    for _ in range(3):
        small = api_client.post("/graphql", json={"query": by_variable, "variables": {"n": 10}})
        assert small.status_code == 200 and small.json()["data"] == {"sources": {"edges": []}}
    _refusal(api_client.post("/graphql", json={"query": by_variable, "variables": {"n": 1_000_000}}))
    with TestClient(app_with(catalog_ctx, graphql_max_cost=50)) as client:
        _refusal(client.post("/graphql", json={"query": by_variable, "variables": {"n": 10}}))
    for _ in range(2):
        response = api_client.post("/graphql", json={"query": "{ nope }"})
        assert "Cannot query field 'nope'" in response.json()["errors"][0]["message"]
        missing = api_client.post("/graphql", json={"query": by_variable})
        assert "Expected a value of non-null type 'Int!'" in missing.json()["errors"][0]["message"]


def test_ordinary_validation_errors_keep_http_200(api_client):
    response = api_client.post("/graphql", json={"query": "{ nope }"})
    assert response.status_code == 200 and "Cannot query field 'nope'" in response.json()["errors"][0]["message"]


def _subscribe(ws, query: str) -> None:
    ws.send_json({"type": "connection_init"})
    assert ws.receive_json()["type"] == "connection_ack"
    ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})


def test_the_limits_apply_to_subscriptions_over_graphql_transport_ws(api_client):
    flood = "subscription {" + " ".join(f"a{i}: catalogEvents {{ id }}" for i in range(101)) + "}"
    with api_client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        _subscribe(ws, flood)
        message = ws.receive_json()
        assert message["type"] == "error" and message["id"] == "1"
        assert message["payload"][0]["extensions"]["code"] == "query_too_complex"
    # Over the token limit the parser fails, and graphql-transport-ws answers any syntax error by closing the socket.
    with api_client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        _subscribe(ws, "subscription {" + " catalogEvents { id }" * 2000 + "}")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4400 and "more than 2000 tokens" in closed.value.reason


@pytest.fixture
def server(catalog_ctx):
    # Without rate limits, which would answer most of a flood with 429 before GraphQL sees it: measured here is
    # what one caller within its rate gets.
    with serve(app_with(catalog_ctx, rate_limit_per_s=0)) as url:
        yield url


@pytest.mark.parametrize("flood", [alias_flood(page_query(), 1000), TYPENAME_FLOOD], ids=["page-query", "typename"])
def test_the_alias_floods_of_the_finding_are_refused_over_http(server, flood):
    # Refused before execution, every time; the latency of a refusal is measured by benchmarks/graphql_limits.py.
    body = json.dumps({"query": flood}).encode()
    with httpx.Client(base_url=server, timeout=30, headers={"Content-Type": "application/json"}) as client:
        for _ in range(7):
            _refusal(client.post("/graphql", content=body))


def test_healthz_keeps_answering_while_floods_arrive_from_several_clients(server):
    stop, refused, failures = threading.Event(), [], []

    def flood(body: bytes) -> None:
        with httpx.Client(base_url=server, timeout=30, headers={"Content-Type": "application/json"}) as client:
            while not stop.is_set():
                status = client.post("/graphql", content=body).status_code
                (refused if status == 400 else failures).append(status)

    bodies = [json.dumps({"query": q}).encode() for q in (alias_flood(page_query(), 1000), TYPENAME_FLOOD)]
    senders = [threading.Thread(target=flood, args=(body,)) for body in bodies * 2]
    for sender in senders:
        sender.start()
    latencies = []
    try:
        # A probe that waits 5 s behind the floods is a stalled server, not a slow one.
        with httpx.Client(base_url=server, timeout=5) as client:
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                started = time.perf_counter()
                assert client.get("/healthz").status_code == 200
                latencies.append(time.perf_counter() - started)
                time.sleep(0.02)
    finally:
        stop.set()
        for sender in senders:
            sender.join(timeout=30)
    # Every probe answered (none waited 5 s behind the floods); the latencies under floods are
    # benchmarks/graphql_limits.py's to print, not a test's to time.
    assert not failures and refused and latencies, (failures, len(refused), len(latencies))
