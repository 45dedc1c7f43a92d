"""The live feed over real connections: a uvicorn server on 127.0.0.1 with the relay running inside it, a GraphQL
subscription client speaking graphql-transport-ws (the `websockets` package) and an SSE client (httpx streaming).

Each test crawls a real SQLite source after adding a column and checks that the subscriber receives
`catalog.column.added` within 1 s of the crawl finishing: the issue's acceptance criterion. The relay is woken by
the crawl's commit, so the margin is wide (the benchmark measures it: benchmarks/events.py).
"""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from websockets.sync.client import connect

from catalog_api.app import create_app
from catalog_api.bootstrap import build_context
from catalog_api.services import crawl, jobs, sources
from catalog_api.services.context import ServiceContext
from catalog_api.settings import Settings
from events import CatalogEvent
from events.schemas import validate


@dataclass
class Live:
    """A running server over `ctx`, with a SQLite source `shop` already crawled once."""

    ctx: ServiceContext
    base: str
    source_id: int
    database: Path

    def add_column_and_crawl(self, column: str) -> float:
        """Adds a column at the source, crawls, and returns the wall-clock time the crawl job finished."""
        with sqlite3.connect(self.database) as conn:
            conn.execute(f"alter table orders add column {column} text")
        job = jobs.wait_for_job(self.ctx, crawl.request_crawl(self.ctx, self.source_id).id, timeout=60, poll=0.01)
        assert job.status == "succeeded", job.error_message
        return job.finished_at.timestamp()

    def wait_for_subscribers(self, count: int) -> None:
        deadline = time.monotonic() + 10
        while self.ctx.bus.subscriber_count < count:
            assert time.monotonic() < deadline, "the subscription never reached the bus"
            time.sleep(0.01)


@pytest.fixture
def live(tmp_path) -> Iterator[Live]:
    settings = Settings(home=tmp_path / "home", secret_key="test-secret-key-not-for-production",
                        scheduler_enabled=False, broker_url=None, job_max_attempts=1)
    ctx = build_context(settings, migrate=True)
    database = tmp_path / "shop.db"
    with sqlite3.connect(database) as conn:
        conn.execute("create table orders (id integer primary key, total real)")
    source_id = sources.register_source(ctx, sources.SourceRegistration(
        name="shop", kind="sqlite", config={"path": str(database)})).id
    first = jobs.wait_for_job(ctx, crawl.request_crawl(ctx, source_id).id, timeout=60)
    assert first.status == "succeeded"
    server = uvicorn.Server(uvicorn.Config(create_app(ctx=ctx), host="127.0.0.1", port=0, log_level="warning",
                                           timeout_graceful_shutdown=2, ws="websockets-sansio"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Live(ctx, f"127.0.0.1:{port}", source_id, database)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        ctx.close()


def test_a_graphql_subscription_receives_column_added_within_a_second_of_the_crawl(live):
    query = ('subscription { catalogEvents(types: ["catalog.column.added"], urnPrefix: "urn:catalog:source:shop") '
             "{ id type subject partitionKey time data } }")
    with connect(f"ws://{live.base}/graphql", subprotocols=["graphql-transport-ws"], open_timeout=10) as ws:
        ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        live.wait_for_subscribers(1)
        finished = live.add_column_and_crawl("discount")
        message = json.loads(ws.recv(timeout=10))
        received = time.time()
        assert message["type"] == "next" and message["id"] == "1", message
        event = message["payload"]["data"]["catalogEvents"]
        assert event["type"] == "catalog.column.added"
        assert event["subject"] == "urn:catalog:column:shop:main:orders:discount"
        assert event["data"]["data_type"].lower() == "text" and event["data"]["ordinal"] == 3
        assert received - finished < 1.0
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


def test_an_sse_client_receives_column_added_within_a_second_of_the_crawl(live):
    frames: queue.Queue[tuple[float, str, dict]] = queue.Queue()
    connected = threading.Event()
    stop = threading.Event()

    def listen() -> None:
        params = {"types": "catalog.column.added", "urn_prefix": "urn:catalog:dataset:shop:main:orders"}
        with httpx.stream("GET", f"http://{live.base}/api/v1/events/stream", params=params, timeout=30) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            fields: dict[str, str] = {}
            for line in response.iter_lines():
                if line.startswith(": connected"):
                    connected.set()
                elif line.startswith(("id:", "event:", "data:")):
                    key, _, value = line.partition(":")
                    fields[key] = value.strip()
                elif line == "" and "data" in fields:
                    frames.put((time.time(), fields["id"], json.loads(fields["data"])))
                    fields = {}
                if stop.is_set():
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert connected.wait(10)
    live.wait_for_subscribers(1)
    finished = live.add_column_and_crawl("channel")
    received, frame_id, body = frames.get(timeout=10)
    event = CatalogEvent.model_validate(body)
    validate(event)
    assert frame_id == event.id and event.subject == "urn:catalog:column:shop:main:orders:channel"
    assert received - finished < 1.0
    stop.set()
    live.add_column_and_crawl("unblock")  # one more frame lets the listener notice `stop` and hang up
    listener.join(timeout=10)


def test_the_stream_refuses_an_unknown_type(live):
    answer = httpx.get(f"http://{live.base}/api/v1/events/stream", params={"types": "catalog.nope"}, timeout=10)
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "types"
