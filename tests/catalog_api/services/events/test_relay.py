"""The outbox relay: at least once and in order per source (a relay killed between publish and mark-sent, a
receiver that is down), retries, dead letters and their replay, and one leading relay at a time.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import timedelta

import pytest
import sqlalchemy as sa

from catalog_api.bootstrap import build_context
from catalog_api.db.models import utcnow
from catalog_api.services import curation
from catalog_api.services.events import webhooks
from catalog_api.services.events.publishers import NamedPublisher
from catalog_api.services.events.relay import Relay
from catalog_api.settings import Settings
from events import JsonLinesPublisher, PublishResult, read_events
from tests.support.events import FAST_EVENTS, Receiver, free_port, outbox, outbox_backlog
from tests.support.paths import REPO
from tests.support.sources import register_sqlite

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


def test_a_relay_killed_between_publish_and_mark_sent_loses_nothing_and_the_file_holds_each_id_once(ctx, tmp_path):
    register_sqlite(ctx, tmp_path)
    for text in ("one", "two", "three"):
        curation.set_description(ctx, "urn:catalog:source:shop", text)
    expected = [row.event_id for row in outbox(ctx)]
    out = tmp_path / "events.jsonl"
    killed = subprocess.run([sys.executable, "-c", CRASHING_RELAY, str(ctx.settings.home),
                             ctx.settings.secret_key, str(out)], cwd=REPO,
                            capture_output=True, text=True, timeout=120, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert [e.id for e in read_events(out)] == expected  # published...
    assert {(r.status, r.attempts) for r in outbox(ctx)} == {("pending", 0)}  # ...but never marked sent

    restarted = Relay(ctx, [NamedPublisher("jsonl", JsonLinesPublisher(out))])
    assert restarted.run_once().sent == len(expected)  # handed over again...
    assert [e.id for e in read_events(out)] == expected  # ...but the file already had them: each id once
    assert {r.status for r in outbox(ctx)} == {"sent"}
    assert restarted.run_once().fetched == 0


class SentCounter:
    """A publisher that notes, each time it is called, how many outbox events are marked sent (with SQL)."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.calls: list[tuple[int, int]] = []  # (events handed over, events already sent)

    def publish(self, events):
        with self.ctx.db.engine.connect() as conn:
            sent = conn.execute(sa.text("select count(*) from event_outbox where status = 'sent'")).scalar_one()
        self.calls.append((len(events), sent))
        return PublishResult(delivered=tuple(e.id for e in events))


def test_a_round_marks_each_commit_batch_sent_before_publishing_the_next(ctx):
    ctx.settings.events_relay_commit_size = 4
    outbox_backlog(ctx, 10)
    counter = SentCounter(ctx)
    relay = Relay(ctx, [NamedPublisher("counter", counter)])
    assert relay.run_once().sent == 10
    assert counter.calls == [(4, 0), (4, 4), (2, 8)]  # a crash at any call repeats at most one batch
    relay.close()


class Broken:
    """A publisher with a bug: it raises instead of reporting failures."""

    def publish(self, events):
        raise RuntimeError("publisher bug")


def test_a_publisher_that_raises_fails_the_batch_and_the_others_still_publish(ctx):
    outbox_backlog(ctx, 3)
    counter = SentCounter(ctx)
    relay = Relay(ctx, [NamedPublisher("broken", Broken()), NamedPublisher("counter", counter)])
    assert relay.run_once().retried == 3
    assert counter.calls == [(3, 0)]
    with ctx.db.engine.connect() as conn:  # the outbox itself: pending, one attempt, the publisher's error
        rows = conn.execute(sa.text("select status, attempts, last_error, delivered_to from event_outbox")).all()
    assert {(status, attempts) for status, attempts, _, _ in rows} == {("pending", 1)}
    assert all("RuntimeError: publisher bug" in error for _, _, error, _ in rows)
    assert [json.loads(d) if isinstance(d, str) else d for _, _, _, d in rows] == [["counter"]] * 3
    relay.close()


def test_a_publisher_that_deduplicates_gets_the_whole_round_in_one_call(ctx):
    ctx.settings.events_relay_commit_size = 4
    outbox_backlog(ctx, 10)
    keeps_ids_once, batch_by_batch = SentCounter(ctx), SentCounter(ctx)
    keeps_ids_once.deduplicates = True  # as the JSON Lines file does: repeats after a crash cost it nothing
    relay = Relay(ctx, [NamedPublisher("file", keeps_ids_once), NamedPublisher("hook", batch_by_batch)])
    assert relay.run_once().sent == 10
    assert keeps_ids_once.calls == [(10, 0)]
    assert batch_by_batch.calls == [(4, 0), (4, 4), (2, 8)]
    assert {tuple(r.delivered_to) for r in outbox(ctx)} == {("file", "hook")}
    relay.close()


def test_a_source_that_waits_since_an_earlier_batch_keeps_its_later_events_from_every_publisher(ctx, tmp_path):
    ctx.settings.webhook_allow_private_networks = True  # the receiver listens on 127.0.0.1
    ctx.settings.events_relay_commit_size = 1  # each event in its own batch
    receiver = Receiver()
    receiver.script = [500] * 10
    try:
        webhooks.create_subscription(ctx, receiver.url)
        register_sqlite(ctx, tmp_path)
        curation.set_description(ctx, "urn:catalog:source:shop", "later")
        first, later = outbox(ctx)
        relay = Relay(ctx)
        outcome = relay.run_once()
        assert (outcome.retried, outcome.held) == (1, 1)
        assert {json.loads(body)["id"] for _, _, body in receiver.requests} == {first.event_id}
        rows = {r.event_id: r for r in outbox(ctx)}
        # Neither the bus nor the webhook got it ahead of the first; the file takes the whole round at once (it
        # keeps each id once, and wrote both in order).
        assert rows[later.event_id].delivered_to == ["jsonl"]
        assert rows[later.event_id].last_error == f"held behind outbox event {first.id}"
        relay.close()
    finally:
        receiver.close()


def test_with_the_receiver_down_events_wait_and_then_arrive_in_order(ctx, tmp_path):
    ctx.settings.webhook_allow_private_networks = True  # the receiver listens on 127.0.0.1
    port = free_port()
    webhooks.create_subscription(ctx, f"http://127.0.0.1:{port}/hook", secret="s" * 32)
    register_sqlite(ctx, tmp_path)
    for text in ("one", "two", "three"):
        curation.set_description(ctx, "urn:catalog:source:shop", text)
    expected = [row.event_id for row in outbox(ctx)]
    relay = Relay(ctx)

    first = relay.run_once()
    assert first.sent == 0 and first.retried >= 1
    rows = outbox(ctx)
    assert rows[0].status == "pending" and rows[0].attempts == 1
    assert "ConnectError" in rows[0].last_error and rows[0].next_attempt_at > utcnow()
    assert all(r.status == "pending" for r in rows)
    assert relay.run_once().fetched == 0  # nothing is due before the backoff ends

    receiver = Receiver(secret="s" * 32, port=port)
    try:
        later = relay.run_once(now=utcnow() + timedelta(seconds=10))
        assert later.sent == len(expected)
        assert receiver.accepted_ids() == expected  # in the order they were written
        assert {(r.status, r.attempts) for r in outbox(ctx)} == {("sent", 2)}
    finally:
        receiver.close()
        relay.close()


def test_a_waiting_source_holds_back_only_its_own_later_events(ctx, tmp_path):
    ctx.settings.webhook_allow_private_networks = True  # the receiver listens on 127.0.0.1
    port = free_port()
    webhooks.create_subscription(ctx, f"http://127.0.0.1:{port}/hook", urn_prefix="urn:catalog:source:shop")
    register_sqlite(ctx, tmp_path, "shop")
    register_sqlite(ctx, tmp_path, "other")
    curation.set_description(ctx, "urn:catalog:source:shop", "later")
    curation.set_description(ctx, "urn:catalog:source:other", "later")
    relay = Relay(ctx)
    relay.run_once()
    by_source = {(r.source_urn, r.type): r for r in outbox(ctx)}
    assert {r.status for (urn, _), r in by_source.items() if urn.endswith(":other")} == {"sent"}
    shop_first = by_source[("urn:catalog:source:shop", "catalog.source.registered")]
    shop_later = by_source[("urn:catalog:source:shop", "catalog.description.changed")]
    assert (shop_first.status, shop_first.attempts) == ("pending", 1)
    assert shop_later.status == "pending"
    relay.close()


def test_an_event_that_keeps_failing_goes_dead_is_listed_and_replays_through_the_api(ctx, client, tmp_path):
    ctx.settings.webhook_allow_private_networks = True  # the receiver listens on 127.0.0.1
    receiver = Receiver()
    receiver.script = [500] * 100
    try:
        created = client.post("/api/v1/webhooks", json={"url": receiver.url, "event_types": ["catalog.source.registered"]})
        assert created.status_code == 201, created.text
        register_sqlite(ctx, tmp_path)
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
    ctx.settings.webhook_allow_private_networks = True  # the receiver listens on 127.0.0.1
    receiver = Receiver()
    receiver.script = [410]
    try:
        webhooks.create_subscription(ctx, receiver.url)
        register_sqlite(ctx, tmp_path)
        relay = Relay(ctx)
        assert relay.run_once().dead == 1
        (row,) = outbox(ctx)
        assert (row.status, row.attempts) == ("dead", 1) and "HTTP 410" in row.last_error
        relay.close()
    finally:
        receiver.close()


# -- one relay leads --------------------------------------------------------------------------------------------

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
