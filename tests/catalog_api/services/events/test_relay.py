"""Change events end to end: emitted in the change's transaction by real crawls and API calls, relayed at least
once (crash between publish and mark-sent, receiver down, dead letters and replay), signed webhooks to a real
local HTTP receiver, the webhook and outbox APIs (REST and GraphQL), and the Event Hub wiring from settings.

The only stand-in is the Event Hub network edge, which this module does not touch at all: it checks that the
settings build the library's real `EventHubPublisher` (whose sending tests/events/test_eventhub.py covers).
"""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from catalog_api.app import create_app
from catalog_api.bootstrap import build_context
from catalog_api.db.models import ChangeLogEntry, OutboxEvent, utcnow
from catalog_api.errors import InvalidInput
from catalog_api.services import crawl, curation, jobs, profiling, sources
from catalog_api.services.context import ServiceContext
from catalog_api.services.events import webhooks
from catalog_api.services.events.publishers import NamedPublisher, build_publishers, eventhub_publisher
from catalog_api.services.events.relay import Relay
from catalog_api.settings import Settings
from events import (
    CatalogEvent,
    EventType,
    JsonLinesPublisher,
    PublishResult,
    read_events,
)
from events.schemas import validate
from events.webhooks import SIGNATURE_HEADER, SignatureError, verify
from tests.conftest import SPARK_CONF, SPARK_DRIVER_MEMORY, SPARK_MASTER, pg_execute

# -- helpers ----------------------------------------------------------------------------------------------------


class Collector:
    """A publisher that keeps what it was given, like a consumer would."""

    def __init__(self) -> None:
        self.events: list[CatalogEvent] = []

    def publish(self, events: Sequence[CatalogEvent]) -> PublishResult:
        self.events.extend(events)
        return PublishResult(delivered=tuple(e.id for e in events))


class Receiver:
    """A real HTTP server on 127.0.0.1 that verifies signatures and answers with scripted statuses."""

    def __init__(self, secret: str | None = None, port: int = 0) -> None:
        self.secret = secret
        self.script: list[int] = []  # statuses for the next requests; 200 once it is empty
        self.requests: list[tuple[int, dict, bytes]] = []  # (status answered, headers, body)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.script.pop(0) if receiver.script else 200
                if receiver.secret is not None:
                    try:
                        verify(body, self.headers.get(SIGNATURE_HEADER), receiver.secret)
                    except SignatureError:
                        status = 401
                receiver.requests.append((status, dict(self.headers), body))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def accepted_ids(self) -> list[str]:
        return [json.loads(body)["id"] for status, _, body in self.requests if status == 200]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


FAST_EVENTS = {
    "webhook_attempts": 2, "webhook_initial_wait_s": 0.01, "webhook_max_wait_s": 0.02, "webhook_timeout_s": 5,
    "events_retry_min_backoff_s": 0.5, "events_retry_max_backoff_s": 2, "events_max_attempts": 3,
    "events_relay_enabled": False,
}


@pytest.fixture
def ctx(tmp_path) -> Iterator[ServiceContext]:
    """A catalog on SQLite with quick retry timings and no background relay: each test drives `run_once`."""
    settings = Settings(home=tmp_path / "home", secret_key="test-secret-key-not-for-production",
                        scheduler_enabled=False, broker_url=None, job_max_attempts=1, **FAST_EVENTS,
                        spark_master=SPARK_MASTER, spark_driver_memory=SPARK_DRIVER_MEMORY,
                        spark_conf=dict(SPARK_CONF), profile_sample_rows=1000)
    context = build_context(settings, migrate=True)
    yield context
    context.close()


@pytest.fixture
def client(ctx) -> Iterator[TestClient]:
    with TestClient(create_app(ctx=ctx)) as test_client:
        yield test_client


def _sqlite_source(ctx: ServiceContext, tmp_path: Path, name: str = "shop") -> int:
    path = tmp_path / f"{name}.db"
    with sqlite3.connect(path) as conn:
        conn.execute("create table orders (id integer primary key, total real)")
    return sources.register_source(ctx, sources.SourceRegistration(name=name, kind="sqlite",
                                                                   config={"path": str(path)})).id


def _outbox(ctx: ServiceContext) -> list[OutboxEvent]:
    with ctx.db.session() as session:
        return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))


def _crawl(ctx: ServiceContext, source_id: int, expect: str = "succeeded") -> str:
    job = jobs.wait_for_job(ctx, crawl.request_crawl(ctx, source_id).id, timeout=120)
    assert job.status == expect, (job.error_code, job.error_message)
    return job.id


# -- emission ---------------------------------------------------------------------------------------------------

SHOP = """
create schema app;
create table app.orders (id int primary key, total numeric(12,2), note text, status text);
create table app.gone (x int);
create view app.open_orders as select id, total from app.orders where status = 'open';
"""

PRODUCED = set(EventType)


def _profile(ctx: ServiceContext, source_id: int) -> str:
    job = jobs.wait_for_job(ctx, profiling.request_profile(ctx, source_id).id, timeout=300)
    assert job.status == "succeeded", (job.error_code, job.error_message)
    return job.id


@pytest.mark.postgres
def test_every_change_type_comes_from_real_crawls_and_api_calls_and_matches_its_schema(ctx, client,
                                                                                       make_pg_database, spark):
    config = make_pg_database(SHOP)
    created = client.post("/api/v1/sources", json={"name": "shop", "kind": "postgres", "config": config})
    assert created.status_code == 201, created.text
    source_id = created.json()["id"]
    _crawl(ctx, source_id)
    pg_execute(config, """
        drop view app.open_orders;
        alter table app.orders add column extra int;
        alter table app.orders alter column total type bigint;
        alter table app.orders alter column status set not null;
        alter table app.orders drop column note;
        drop table app.gone;
    """)
    second_crawl = _crawl(ctx, source_id)
    with ctx.db.session() as session:  # the change log, an independent record of the same crawl
        logged = session.scalar(select(func.count()).select_from(ChangeLogEntry).where(
            ChangeLogEntry.job_id == second_crawl,
            ChangeLogEntry.change_type.in_(["column_added", "column_removed", "column_type_changed",
                                            "column_nullability_changed", "table_deleted"])))
    assert client.patch(f"/api/v1/sources/{source_id}", json={"description": "The shop"}).status_code == 200
    urn = "urn:catalog:dataset:shop:app:orders"
    assert client.put(f"/api/v1/entities/{urn}/description", json={"description": "Orders"}).status_code == 200
    assert client.put(f"/api/v1/entities/{urn}/tags", json={"tags": ["pii", "sales"]}).status_code == 200
    pg_execute(config, "insert into app.orders (id, total, status) select g, g, 'open' from generate_series(1, 200) g")
    first_profile = _profile(ctx, source_id)
    pg_execute(config, "delete from app.orders where id > 20")
    second_profile = _profile(ctx, source_id)
    broken = client.patch(f"/api/v1/sources/{source_id}", json={
        "config": {**config, "database": "cat_test_missing_db"}, "test_connection": False})
    assert broken.status_code == 200, broken.text
    _crawl(ctx, source_id, expect="failed")
    assert client.delete(f"/api/v1/sources/{source_id}").status_code == 204

    collector = Collector()
    relay = Relay(ctx, [NamedPublisher("collector", collector)])
    assert relay.run_once().sent == len(_outbox(ctx))
    for event in collector.events:
        validate(event.to_dict())  # the JSON Schema in docs/events/ of its type
    assert {e.type for e in collector.events} == PRODUCED

    by_type: dict[str, list[CatalogEvent]] = {}
    for event in collector.events:
        by_type.setdefault(event.type.value, []).append(event)
    subjects = {t: {e.subject for e in found} for t, found in by_type.items()}
    assert subjects["catalog.table.created"] == {urn, "urn:catalog:dataset:shop:app:gone"}
    assert subjects["catalog.view.created"] == {"urn:catalog:dataset:shop:app:open_orders"}
    assert subjects["catalog.column.added"] == {"urn:catalog:column:shop:app:orders:extra"}
    assert subjects["catalog.column.removed"] == {"urn:catalog:column:shop:app:orders:note"}
    assert subjects["catalog.table.deleted"] == {"urn:catalog:dataset:shop:app:gone"}
    assert subjects["catalog.view.deleted"] == {"urn:catalog:dataset:shop:app:open_orders"}
    (type_change,) = by_type["catalog.column.type_changed"]
    assert (type_change.data["before"], type_change.data["after"]) == ("numeric(12,2)", "bigint")
    (nullability,) = by_type["catalog.column.nullability_changed"]
    assert nullability.subject.endswith(":status") and nullability.data == {
        **nullability.data, "before": True, "after": False}
    assert by_type["catalog.source.updated"][0].data["changed_fields"] == ["description"]
    assert by_type["catalog.source.updated"][1].data["changed_fields"] == ["config"]
    assert by_type["catalog.tags.changed"][0].data["added"] == ["pii", "sales"]
    assert [e.data["kind"] for e in by_type["catalog.job.succeeded"]] == ["crawl", "crawl", "profile", "profile"]
    assert [(e.subject, e.data["job_id"], e.data["row_count"]) for e in by_type["catalog.profile.completed"]] == [
        (urn, first_profile, 200), (urn, second_profile, 20)]
    volume = [e for e in by_type["catalog.anomaly.detected"] if e.data["metric"] == "volume"]
    assert [(e.subject, e.data["job_id"], e.data["observed"]) for e in volume] == [(urn, second_profile, 20)]
    assert by_type["catalog.job.failed"][0].data["error_code"]
    # Every change event names the crawl job that found it, one per change-log row of that crawl.
    assert by_type["catalog.job.succeeded"][1].data["job_id"] == second_crawl
    column_events = [e for e in collector.events if e.data.get("job_id") == second_crawl
                     and e.type.value.startswith(("catalog.column.", "catalog.table.deleted", "catalog.view.deleted"))]
    assert len(column_events) == logged == 6
    # One source, one partition key: every event of the source shares it, in the order the changes happened.
    assert {e.partitionkey for e in collector.events} == {"urn:catalog:source:shop"}
    assert collector.events[0].type == EventType.SOURCE_REGISTERED
    assert collector.events[-1].type == EventType.SOURCE_DELETED


def test_a_change_that_rolls_back_leaves_no_event(ctx, tmp_path):
    source_id = _sqlite_source(ctx, tmp_path)
    before = len(_outbox(ctx))
    with pytest.raises(InvalidInput):
        curation.set_tags(ctx, "urn:catalog:source:shop", ["NOT A TAG!"])
    with pytest.raises(RuntimeError), ctx.db.session() as session:
        curation_source = sources.source_row(session, source_id)
        from catalog_api.services.events.outbox import record_event
        from events.data import DescriptionChanged

        record_event(session, DescriptionChanged(entity_kind="source", before=None, after="x"), curation_source.urn)
        raise RuntimeError("the change fails after its event was written")
    assert len(_outbox(ctx)) == before
    curation.set_description(ctx, "urn:catalog:source:shop", "same")
    curation.set_description(ctx, "urn:catalog:source:shop", "same")  # no change, no event
    assert [r.type for r in _outbox(ctx)[before:]] == ["catalog.description.changed"]


# -- relay: at least once, in order, retries, dead letters -----------------------------------------------------

CRASHING_RELAY = """
import os, signal, sys
from catalog_api.bootstrap import build_context
from catalog_api.services.events.publishers import NamedPublisher
from catalog_api.services.events.relay import Relay
from catalog_api.settings import Settings
from events import JsonLinesPublisher

class CrashAfterPublish:
    '''Publishes for real, then the process dies before the relay can mark anything sent.'''
    def __init__(self, inner):
        self.inner = inner
    def publish(self, events):
        self.inner.publish(events)
        os.kill(os.getpid(), signal.SIGKILL)

ctx = build_context(Settings(home=sys.argv[1], secret_key=sys.argv[2], events_relay_enabled=False),
                            migrate=False)
Relay(ctx, [NamedPublisher("jsonl", CrashAfterPublish(JsonLinesPublisher(sys.argv[3])))]).run_once()
"""


def test_a_relay_killed_between_publish_and_mark_sent_loses_nothing_and_repeats_the_same_ids(ctx, tmp_path):
    _sqlite_source(ctx, tmp_path)
    for text in ("one", "two", "three"):
        curation.set_description(ctx, "urn:catalog:source:shop", text)
    expected = [row.event_id for row in _outbox(ctx)]
    out = tmp_path / "events.jsonl"
    killed = subprocess.run([sys.executable, "-c", CRASHING_RELAY, str(ctx.settings.home),
                             ctx.settings.secret_key, str(out)], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True, text=True, timeout=120, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert [e.id for e in read_events(out)] == expected  # published...
    assert {(r.status, r.attempts) for r in _outbox(ctx)} == {("pending", 0)}  # ...but never marked sent

    restarted = Relay(ctx, [NamedPublisher("jsonl", JsonLinesPublisher(out))])
    assert restarted.run_once().sent == len(expected)
    assert [e.id for e in read_events(out)] == expected + expected  # the same ids again: consumers dedupe
    assert {r.status for r in _outbox(ctx)} == {"sent"}
    assert restarted.run_once().fetched == 0


def test_with_the_receiver_down_events_wait_and_then_arrive_in_order(ctx, tmp_path):
    port = _free_port()
    webhooks.create_subscription(ctx, f"http://127.0.0.1:{port}/hook", secret="s" * 32)
    _sqlite_source(ctx, tmp_path)
    for text in ("one", "two", "three"):
        curation.set_description(ctx, "urn:catalog:source:shop", text)
    expected = [row.event_id for row in _outbox(ctx)]
    relay = Relay(ctx)

    first = relay.run_once()
    assert first.sent == 0 and first.retried >= 1
    rows = _outbox(ctx)
    assert rows[0].status == "pending" and rows[0].attempts == 1
    assert "ConnectError" in rows[0].last_error and rows[0].next_attempt_at > utcnow()
    assert all(r.status == "pending" for r in rows)
    assert relay.run_once().fetched == 0  # nothing is due before the backoff ends

    receiver = Receiver(secret="s" * 32, port=port)
    try:
        later = relay.run_once(now=utcnow() + timedelta(seconds=10))
        assert later.sent == len(expected)
        assert receiver.accepted_ids() == expected  # in the order they were written
        assert {(r.status, r.attempts) for r in _outbox(ctx)} == {("sent", 2)}
    finally:
        receiver.close()
        relay.close()


def test_a_waiting_source_holds_back_only_its_own_later_events(ctx, tmp_path):
    port = _free_port()
    webhooks.create_subscription(ctx, f"http://127.0.0.1:{port}/hook", urn_prefix="urn:catalog:source:shop")
    _sqlite_source(ctx, tmp_path, "shop")
    _sqlite_source(ctx, tmp_path, "other")
    curation.set_description(ctx, "urn:catalog:source:shop", "later")
    curation.set_description(ctx, "urn:catalog:source:other", "later")
    relay = Relay(ctx)
    relay.run_once()
    by_source = {(r.source_urn, r.type): r for r in _outbox(ctx)}
    assert {r.status for (urn, _), r in by_source.items() if urn.endswith(":other")} == {"sent"}
    shop_first = by_source[("urn:catalog:source:shop", "catalog.source.registered")]
    shop_later = by_source[("urn:catalog:source:shop", "catalog.description.changed")]
    assert (shop_first.status, shop_first.attempts) == ("pending", 1)
    assert shop_later.status == "pending"
    relay.close()


def test_an_event_that_keeps_failing_goes_dead_is_listed_and_replays_through_the_api(ctx, client, tmp_path):
    receiver = Receiver()
    receiver.script = [500] * 100
    try:
        created = client.post("/api/v1/webhooks", json={"url": receiver.url, "event_types": ["catalog.source.registered"]})
        assert created.status_code == 201, created.text
        _sqlite_source(ctx, tmp_path)
        relay = Relay(ctx)
        now = utcnow()
        for round_number in range(ctx.settings.events_max_attempts):
            relay.run_once(now=now + timedelta(seconds=10 * round_number))
        dead = client.get("/api/v1/events/outbox", params={"status": "dead"}).json()
        assert [d["type"] for d in dead] == ["catalog.source.registered"]
        assert dead[0]["attempts"] == 3 and "HTTP 500" in dead[0]["last_error"]
        assert dead[0]["delivered_to"] == ["bus", "jsonl"]  # the others got it once; a retry does not repeat them
        jsonl = ctx.settings.effective_events_jsonl_path
        assert [e.id for e in read_events(jsonl)] == [dead[0]["event_id"]]

        receiver.script = []
        replayed = client.post("/api/v1/events/outbox/replay", json={"ids": [dead[0]["id"]]})
        assert replayed.json() == {"replayed": 1, "ids": [dead[0]["id"]]}
        assert relay.run_once(now=now + timedelta(minutes=5)).sent == 1
        assert receiver.accepted_ids() == [dead[0]["event_id"]]
        assert client.get("/api/v1/events/outbox", params={"status": "dead"}).json() == []
        assert [e.id for e in read_events(jsonl)] == [dead[0]["event_id"]]

        wrong = client.post("/api/v1/events/outbox/replay", json={"ids": [dead[0]["id"]]})
        assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "id"
        relay.close()
    finally:
        receiver.close()


def test_a_receiver_that_refuses_for_good_parks_the_event_at_once(ctx, tmp_path):
    receiver = Receiver()
    receiver.script = [410]
    try:
        webhooks.create_subscription(ctx, receiver.url)
        _sqlite_source(ctx, tmp_path)
        relay = Relay(ctx)
        assert relay.run_once().dead == 1
        (row,) = _outbox(ctx)
        assert (row.status, row.attempts) == ("dead", 1) and "HTTP 410" in row.last_error
        relay.close()
    finally:
        receiver.close()


# -- webhooks ---------------------------------------------------------------------------------------------------

def test_signed_webhooks_reach_a_real_receiver_with_retries_on_500_and_a_delivery_log(ctx, client, tmp_path):
    receiver = Receiver()
    try:
        created = client.post("/api/v1/webhooks", json={
            "url": receiver.url, "event_types": ["catalog.description.changed"], "urn_prefix": "urn:catalog:source:shop"})
        assert created.status_code == 201, created.text
        body = created.json()
        receiver.secret = body["secret"]
        assert len(body["secret"]) >= 16
        assert "secret" not in client.get(f"/api/v1/webhooks/{body['id']}").json()
        _sqlite_source(ctx, tmp_path)
        curation.set_description(ctx, "urn:catalog:source:shop", "Shop")
        receiver.script = [500]  # the first request fails, the retry succeeds
        relay = Relay(ctx)
        assert relay.run_once().sent == 2
        statuses = [status for status, _, _ in receiver.requests]
        assert statuses == [500, 200]  # only the matching event; the registration did not match the filter
        _, headers, raw = receiver.requests[-1]
        assert headers["Content-Type"].startswith("application/cloudevents+json")
        verify(raw, headers[SIGNATURE_HEADER], body["secret"])
        event = CatalogEvent.from_json(raw)
        assert event.type == EventType.DESCRIPTION_CHANGED and event.data["after"] == "Shop"

        # A tampered body with the genuine signature header is refused by the receiver's check.
        tampered = raw.replace(b"Shop", b"Evil")
        refused = httpx.post(receiver.url, content=tampered, headers={SIGNATURE_HEADER: headers[SIGNATURE_HEADER]})
        assert refused.status_code == 401

        log = client.get(f"/api/v1/webhooks/{body['id']}/deliveries").json()
        assert [(d["event_id"], d["delivered"], d["attempts"], d["status_code"]) for d in log] == [
            (event.id, True, 2, 200)]
        relay.close()
    finally:
        receiver.close()


def test_rotating_the_secret_signs_with_the_new_one(ctx, client, tmp_path):
    receiver = Receiver()
    try:
        hook = client.post("/api/v1/webhooks", json={"url": receiver.url}).json()
        rotated = client.post(f"/api/v1/webhooks/{hook['id']}/secret", json={})
        assert rotated.status_code == 200 and rotated.json()["secret"] != hook["secret"]
        receiver.secret = hook["secret"]  # the receiver still expects the old secret: refused, final
        _sqlite_source(ctx, tmp_path)
        relay = Relay(ctx)
        relay.run_once()
        assert [status for status, _, _ in receiver.requests] == [401]
        log = client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", params={"failed_only": True}).json()
        assert log[0]["status_code"] == 401 and not log[0]["delivered"]
        receiver.secret = rotated.json()["secret"]
        client.post("/api/v1/events/outbox/replay")
        relay.run_once()
        assert [status for status, _, _ in receiver.requests] == [401, 200]
        relay.close()
    finally:
        receiver.close()


@pytest.mark.parametrize(("url", "reason"), [
    ("ftp://example.com/hook", "only http and https"),
    ("file:///etc/passwd", "only http and https"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://0.0.0.0:8080/", "unspecified"),
    ("https://user:pw@example.com/hook", "credentials"),
    ("/relative/hook", "only http and https"),
])
def test_webhook_urls_are_checked(client, url, reason):
    answer = client.post("/api/v1/webhooks", json={"url": url})
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "url" and reason in answer.json()["error"]["message"]


def test_private_networks_can_be_refused(ctx):
    ctx.settings.webhook_block_private_networks = True
    with pytest.raises(InvalidInput, match="loopback or private") as error:
        webhooks.create_subscription(ctx, "http://127.0.0.1:9/hook")
    assert error.value.field == "url"
    with pytest.raises(InvalidInput, match="resolves to"):
        webhooks.create_subscription(ctx, "http://localhost:9/hook")


def test_webhook_rest_crud_and_filter_errors(client):
    bad = client.post("/api/v1/webhooks", json={"url": "https://hooks.example.com/x", "event_types": ["catalog.nope"]})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "event_types"
    bad = client.post("/api/v1/webhooks", json={"url": "https://hooks.example.com/x", "urn_prefix": "erp"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "urn_prefix"
    short = client.post("/api/v1/webhooks", json={"url": "https://hooks.example.com/x", "secret": "short"})
    assert short.status_code == 422 and short.json()["error"]["field"] == "secret"

    hook = client.post("/api/v1/webhooks", json={"url": "https://hooks.example.com/x", "description": "ops"}).json()
    changed = client.patch(f"/api/v1/webhooks/{hook['id']}", json={
        "event_types": ["catalog.column.added"], "active": False})
    assert changed.status_code == 200
    assert changed.json()["event_types"] == ["catalog.column.added"] and changed.json()["active"] is False
    assert changed.json()["description"] == "ops"
    assert [h["id"] for h in client.get("/api/v1/webhooks").json()] == [hook["id"]]
    assert client.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 204
    assert client.get(f"/api/v1/webhooks/{hook['id']}").status_code == 404


def test_webhook_graphql_crud_and_outbox_queries(ctx, client, tmp_path):
    def gql(query: str, **variables: object) -> dict:
        answer = client.post("/graphql", json={"query": query, "variables": variables}).json()
        assert "errors" not in answer, answer
        return answer["data"]

    created = gql("""mutation($url: String!) { createWebhook(input: {url: $url, eventTypes: ["catalog.source.registered"]})
                     { secret subscription { id url eventTypes active } } }""", url="https://hooks.example.com/g")
    hook = created["createWebhook"]["subscription"]
    assert created["createWebhook"]["secret"] and hook["eventTypes"] == ["catalog.source.registered"]
    updated = gql("""mutation($id: String!) { updateWebhook(id: $id, input: {urnPrefix: "urn:catalog:source:shop"})
                     { urnPrefix eventTypes } }""", id=hook["id"])
    assert updated["updateWebhook"] == {"urnPrefix": "urn:catalog:source:shop",
                                        "eventTypes": ["catalog.source.registered"]}
    assert gql("{ webhooks { id } }")["webhooks"] == [{"id": hook["id"]}]
    assert gql("""query($id: String!) { webhookDeliveries(id: $id) { eventId } }""", id=hook["id"]) == {
        "webhookDeliveries": []}
    bad = client.post("/graphql", json={"query": 'mutation { createWebhook(input: {url: "gopher://x"}) { secret } }'})
    assert bad.json()["errors"][0]["extensions"]["field"] == "url"

    _sqlite_source(ctx, tmp_path)
    pending = gql('{ outboxEvents(status: "pending") { id type status event } }')["outboxEvents"]
    assert [(e["type"], e["status"]) for e in pending] == [("catalog.source.registered", "pending")]
    assert pending[0]["event"]["subject"] == "urn:catalog:source:shop"
    assert gql("mutation { replayEvents { id } }") == {"replayEvents": []}
    assert gql("""mutation($id: String!) { deleteWebhook(id: $id) }""", id=hook["id"]) == {"deleteWebhook": True}


# -- publishers from settings -----------------------------------------------------------------------------------

def test_the_embedded_default_publishes_to_the_bus_and_a_json_lines_file(ctx):
    names = [p.name for p in build_publishers(ctx)]
    assert names == ["bus", "jsonl", "webhooks"]


def test_event_hub_is_wired_from_settings(ctx, monkeypatch):
    from events.eventhub import EventHubPublisher

    connection = "Endpoint=sb://cat-test.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=ZHVtbXk=;EntityPath=catalog"
    by_string = eventhub_publisher(Settings(eventhub_connection_string=connection))
    assert isinstance(by_string, EventHubPublisher)
    by_string.close()
    ctx.settings.eventhub_connection_string = connection
    publishers = build_publishers(ctx)
    assert [p.name for p in publishers] == ["bus", "jsonl", "webhooks", "eventhub"]
    for named in publishers:
        if named.owned:
            named.publisher.close()

    with pytest.raises(InvalidInput) as missing:
        eventhub_publisher(Settings(eventhub_namespace="cat-test.servicebus.windows.net"))
    assert missing.value.field == "eventhub_name"
    with pytest.raises(InvalidInput) as malformed:
        eventhub_publisher(Settings(eventhub_namespace="https://cat-test.servicebus.windows.net", eventhub_name="c"))
    assert malformed.value.field == "eventhub_namespace"
    # Namespace + hub authenticates with DefaultAzureCredential; building it makes no network call.
    monkeypatch.setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-000000000000")
    by_identity = eventhub_publisher(Settings(eventhub_namespace="cat-test.servicebus.windows.net",
                                              eventhub_name="catalog"))
    assert isinstance(by_identity, EventHubPublisher)
    by_identity.close()


def test_only_one_relay_leads_at_a_time(ctx):
    from catalog_api.services.events.relay import RelayLock

    first, second = RelayLock(ctx), RelayLock(ctx)
    assert first.acquire() and first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


@pytest.mark.postgres
def test_only_one_relay_leads_on_postgres(pg_catalog_url, tmp_path):
    from catalog_api.services.events.relay import RelayLock

    settings = Settings(home=tmp_path / "pg", database_url=pg_catalog_url, secret_key="k" * 20, **FAST_EVENTS)
    one = build_context(settings, migrate=True)
    two = build_context(settings, migrate=False)
    try:
        first, second = RelayLock(one), RelayLock(two)
        assert first.acquire() and not second.acquire()
        first.release()
        assert second.acquire()
        second.release()
    finally:
        one.close()
        two.close()

