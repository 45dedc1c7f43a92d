"""The live feed through GraphQL over real connections: a uvicorn server on 127.0.0.1 with the relay running inside
it, and a subscription client speaking graphql-transport-ws (the `websockets` package). The same feed over SSE is
in tests/catalog_api/rest/test_events.py; the test bed (`live`) is tests/support/live.py.

The first test crawls a real SQLite source after adding a column and checks that the subscriber receives
`catalog.column.added` as the crawl commits: the commit wakes the relay, which in the test bed would otherwise look
only once an hour. How soon it arrives (the issue's acceptance criterion: within 1 s) is a figure of
benchmarks/events_relay.py (change-to-subscriber latency), not a test's to time on a machine it shares.
"""

from __future__ import annotations

import json

from websockets.sync.client import connect

from tests.support.live import live  # noqa: F401  (fixture)


def test_a_graphql_subscription_receives_column_added_when_the_crawl_commits(live):
    query = ('subscription { catalogEvents(types: ["catalog.column.added"], urnPrefix: "urn:catalog:source:shop") '
             "{ id type subject partitionKey time data } }")
    with connect(f"ws://{live.base}/graphql", subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
        ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        live.wait_for_subscribers(1)
        live.add_column_and_crawl("discount")
        message = json.loads(ws.recv(timeout=30))
        assert message["type"] == "next" and message["id"] == "1", message
        event = message["payload"]["data"]["catalogEvents"]
        assert event["type"] == "catalog.column.added"
        assert event["subject"] == "urn:catalog:column:shop:main:orders:discount"
        assert event["data"]["data_type"].lower() == "text" and event["data"]["ordinal"] == 3
        ws.send(json.dumps({"id": "1", "type": "complete"}))


def test_a_graphql_subscription_with_a_bad_filter_gets_an_error_naming_it(live):
    with connect(f"ws://{live.base}/graphql", subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
        ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        ws.send(json.dumps({"id": "1", "type": "subscribe",
                            "payload": {"query": 'subscription { catalogEvents(types: ["nope"]) { id } }'}}))
        message = json.loads(ws.recv(timeout=10))
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert "unknown event type 'nope'" in errors[0]["message"]


def test_a_subscription_error_carries_the_same_extensions_as_a_query_error(live):
    with connect(f"ws://{live.base}/graphql", subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
        ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        ws.send(json.dumps({"id": "1", "type": "subscribe",
                            "payload": {"query": 'subscription { catalogEvents(types: ["nope"]) { id } }'}}))
        message = json.loads(ws.recv(timeout=10))
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "invalid_input", message
    assert errors[0]["extensions"]["field"] == "types" and errors[0]["extensions"]["status"] == 422
    assert not errors[0]["message"].startswith("Traceback")
