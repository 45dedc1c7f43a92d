"""Retention: each operational table is pruned to its setting, in committed batches, and nothing in flight goes.

The oracle is the generator (tests/support/retention.py): every row is written with an age and a state, so the test
knows which rows must go before the prune runs; what remains is read back with plain SQL.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, insert, text

from catalog_api.db.models import Job, OutboxEvent, UtcDateTime, WebhookDeliveryRow, WebhookSubscriptionRow
from tests.support.clock import Clock
from tests.support.retention import DAYS, NOW, remaining, seed


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, catalog_settings):
    """A migrated catalog on each supported store, with the retention settings the tests assume."""
    from catalog_api.bootstrap import build_context

    settings = catalog_settings.model_copy(update={
        "retention_sent_events_days": DAYS["sent_events"], "retention_finished_jobs_days": DAYS["finished_jobs"],
        "retention_webhook_deliveries_days": DAYS["webhook_deliveries"], "retention_batch_size": 1000,
    })
    if request.param == "postgres":
        settings = settings.model_copy(update={"database_url": request.getfixturevalue("pg_catalog_url")})
    ctx = build_context(settings, migrate=True)
    yield ctx
    ctx.close()


def with_settings(ctx, **changes):
    """The same catalog database seen through other settings (a copy of the context; the database is shared)."""
    from dataclasses import replace

    return replace(ctx, settings=ctx.settings.model_copy(update=changes))


def test_prune_removes_exactly_the_old_finished_rows_of_100k(store):
    from catalog_api.services.retention import prune

    seeded = seed(store, events=40_000, jobs=30_000, deliveries=30_000)
    assert all(seeded.doomed[kind] and seeded.kept(kind) for kind in DAYS)  # the data exercises both fates

    pruned = {p.kind: p for p in prune(store, now=NOW)}

    for kind in DAYS:
        assert remaining(store, kind) == seeded.kept(kind), kind
        assert pruned[kind].rows == len(seeded.doomed[kind])
        assert pruned[kind].batches == len(seeded.doomed[kind]) // 1000 + 1
    with store.db.engine.connect() as conn:  # a direct aggregate: no old finished row is left of any kind
        old_sent = conn.execute(
            text("select count(*) from event_outbox where status = 'sent' and sent_at < :c")
            .bindparams(bindparam("c", type_=UtcDateTime())), {"c": NOW - timedelta(days=DAYS["sent_events"])}
        ).scalar()
    assert old_sent == 0


def test_a_second_prune_finds_nothing_and_a_dry_run_deletes_nothing(store):
    from catalog_api.services.retention import prune

    seeded = seed(store, events=3000, jobs=2000, deliveries=2000)
    before = {kind: remaining(store, kind) for kind in DAYS}

    dry = {p.kind: p.rows for p in prune(store, now=NOW, dry_run=True)}

    assert dry == {kind: len(seeded.doomed[kind]) for kind in DAYS}
    assert {kind: remaining(store, kind) for kind in DAYS} == before
    prune(store, now=NOW)
    assert {p.kind: p.rows for p in prune(store, now=NOW)} == dict.fromkeys(DAYS, 0)


@pytest.mark.parametrize("forever", [0, None])
def test_keep_forever_keeps_everything(store, forever):
    from catalog_api.services.retention import prune

    seed(store, events=3000, jobs=2000, deliveries=2000)
    before = {kind: remaining(store, kind) for kind in DAYS}
    forever_ctx = with_settings(store, retention_sent_events_days=forever, retention_finished_jobs_days=forever,
                                retention_webhook_deliveries_days=forever)

    pruned = prune(forever_ctx, now=NOW)

    assert {kind: remaining(store, kind) for kind in DAYS} == before
    assert [(p.keep_days, p.rows) for p in pruned] == [(None, 0)] * 3


def test_one_kind_kept_forever_while_the_others_are_pruned(store):
    from catalog_api.services.retention import prune

    seeded = seed(store, events=3000, jobs=2000, deliveries=2000)
    jobs_before = remaining(store, "finished_jobs")

    prune(with_settings(store, retention_finished_jobs_days=None), now=NOW)

    assert remaining(store, "finished_jobs") == jobs_before
    assert remaining(store, "sent_events") == seeded.kept("sent_events")
    assert remaining(store, "webhook_deliveries") == seeded.kept("webhook_deliveries")


def test_each_batch_commits_so_other_writers_get_their_turn(store):
    """Between two batches another connection sees the rows already pruned and can write to the same table
    without waiting (SQLite: with a zero busy timeout, any open write transaction would refuse the insert)."""
    from catalog_api.services.retention import prune

    seeded = seed(store, events=5000, jobs=0, deliveries=0)
    seen: list[tuple[int, int]] = []  # (rows the batch deleted, rows the other connection then counts)

    with store.db.engine.connect() as other:
        if other.dialect.name == "sqlite":
            other.exec_driver_sql("pragma busy_timeout = 0")

        def between(kind: str, deleted: int) -> None:
            if kind == "sent_events":
                seen.append((deleted, other.execute(text("select count(*) from event_outbox")).scalar()))
                other.execute(insert(OutboxEvent), {"event_id": str(uuid.uuid4()), "source_urn": "urn:t",
                                                    "type": "catalog.test", "subject": "urn:t", "event": "{}",
                                                    "status": "pending", "attempts": 0, "delivered_to": []})
                other.commit()

        pruned = {p.kind: p for p in prune(with_settings(store, retention_batch_size=200), now=NOW,
                                           after_batch=between)}

    assert pruned["sent_events"].batches == len(seen) > len(seeded.doomed["sent_events"]) // 200
    expected = len(seeded.ids["sent_events"])
    for inserted_before, (deleted, count) in enumerate(seen):
        expected -= deleted
        assert count == expected + inserted_before, seen
    with store.db.engine.connect() as conn:
        assert conn.execute(text("select count(*) from event_outbox where source_urn = 'urn:t'")).scalar() == len(seen)


def test_a_set_stop_ends_the_round_after_the_current_batch(store):
    from catalog_api.services.retention import prune

    seeded = seed(store, events=5000, jobs=0, deliveries=0)
    stop = threading.Event()

    pruned = {p.kind: p for p in prune(with_settings(store, retention_batch_size=100), now=NOW, stop=stop,
                                       after_batch=lambda kind, deleted: stop.set())}

    assert pruned["sent_events"].rows == 100 and pruned["sent_events"].batches == 1
    assert len(remaining(store, "sent_events")) == len(seeded.ids["sent_events"]) - 100


def test_the_scheduler_prunes_on_its_own(store):
    """`catalog scheduler` (and `catalog serve` without a broker) run a round at their first tick."""
    from catalog_api.services.jobs.schedules import Scheduler

    old = datetime.now(timezone.utc) - timedelta(days=DAYS["finished_jobs"] + 1)
    young = datetime.now(timezone.utc) - timedelta(days=1)
    with store.db.engine.begin() as conn:
        conn.execute(insert(Job), [{"id": f"old-{i}", "kind": "crawl", "status": "succeeded", "created_at": old,
                                    "finished_at": old} for i in range(50)]
                     + [{"id": f"young-{i}", "kind": "crawl", "status": "failed", "created_at": young,
                         "finished_at": young} for i in range(5)])

    scheduler = Scheduler(store, interval_s=0.05).start()
    try:
        deadline = time.monotonic() + 30  # a guard against a hang, not a speed target
        while any(i.startswith("old-") for i in remaining(store, "finished_jobs")) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()

    assert remaining(store, "finished_jobs") == {f"young-{i}" for i in range(5)}


def _exposed_pruned() -> dict[str, float]:
    """What /metrics shows of `catalog_retention_pruned_rows_total`, per kind."""
    from prometheus_client import REGISTRY

    return {kind: REGISTRY.get_sample_value("catalog_retention_pruned_rows_total", {"kind": kind}) or 0.0
            for kind in DAYS}


def test_pruned_rows_total_counts_what_this_process_pruned(store):
    from catalog_api.services.retention import prune, pruned_rows_total

    seeded = seed(store, events=2000, jobs=1000, deliveries=1000)
    before, exposed_before = pruned_rows_total(), _exposed_pruned()

    prune(store, now=NOW)
    prune(store, now=NOW, dry_run=True)

    after, exposed_after = pruned_rows_total(), _exposed_pruned()
    expected = {k: len(seeded.doomed[k]) for k in DAYS}
    assert {kind: after[kind] - before[kind] for kind in DAYS} == expected
    assert {kind: exposed_after[kind] - exposed_before[kind] for kind in DAYS} == expected


def test_a_round_logs_its_counts(store, caplog):
    from catalog_api.services.retention import prune

    seeded = seed(store, events=2000, jobs=1000, deliveries=1000)

    with caplog.at_level("INFO", logger="catalog_api.services.retention"):
        prune(store, now=NOW)

    assert (f"retention pruned {len(seeded.doomed['sent_events'])} sent events, "
            f"{len(seeded.doomed['finished_jobs'])} finished jobs, "
            f"{len(seeded.doomed['webhook_deliveries'])} webhook deliveries") in caplog.messages


def test_rounds_run_once_per_interval_and_never_at_zero(store):
    from catalog_api.services.retention import RetentionRounds

    seed(store, events=500, jobs=0, deliveries=0)
    clock = Clock()
    rounds = RetentionRounds(with_settings(store, retention_interval_s=3600), clock=clock)

    first = rounds.run_if_due()
    clock.advance(3599)
    early = rounds.run_if_due()
    clock.advance(1)
    again = rounds.run_if_due()
    never = RetentionRounds(with_settings(store, retention_interval_s=0), clock=clock).run_if_due()

    assert first is not None and early is None and again is not None and never is None


def test_overlapping_rounds_prune_each_row_once(store):
    """Two schedulers pruning at once: together they delete exactly the old rows, and count each row once."""
    from catalog_api.services.retention import prune

    seeded = seed(store, events=6000, jobs=3000, deliveries=3000)
    small = with_settings(store, retention_batch_size=100)
    results: list = []
    rounds = [threading.Thread(target=lambda: results.append(prune(small, now=NOW))) for _ in range(2)]

    for thread in rounds:
        thread.start()
    for thread in rounds:
        thread.join()

    assert len(results) == 2
    for index, kind in enumerate(DAYS):
        assert remaining(store, kind) == seeded.kept(kind)
        assert sum(result[index].rows for result in results) == len(seeded.doomed[kind])


def test_a_delivery_stays_listed_after_its_event_is_pruned(store):
    from catalog_api.services.events.webhooks import list_deliveries
    from catalog_api.services.retention import prune

    with store.db.engine.begin() as conn:
        conn.execute(insert(WebhookSubscriptionRow), {"id": "sub-1", "url": "https://hooks.example/x",
                                                      "secret_ref": "local:x", "event_types": [], "urn_prefix": ""})
        conn.execute(insert(OutboxEvent), {"event_id": "event-1", "source_urn": "urn:s", "type": "catalog.test",
                                           "subject": "urn:s", "event": "{}", "status": "sent", "attempts": 1,
                                           "delivered_to": [], "sent_at": NOW - timedelta(days=10)})
        conn.execute(insert(WebhookDeliveryRow), {"subscription_id": "sub-1", "event_id": "event-1",
                                                  "event_type": "catalog.test", "delivered": True, "attempts": 1,
                                                  "status_code": 204, "duration_ms": 2.0,
                                                  "started_at": NOW - timedelta(days=1)})

    pruned = {p.kind: p.rows for p in prune(store, now=NOW)}

    assert pruned == {"sent_events": 1, "finished_jobs": 0, "webhook_deliveries": 0}
    with store.db.session() as session:
        listed = list_deliveries(session, "sub-1", event_id="event-1")
    assert [(d.event_id, d.event_type, d.status_code) for d in listed] == [("event-1", "catalog.test", 204)]
