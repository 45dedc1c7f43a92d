"""Operational rows of every kind, spread over ages and states, for the retention tests: the generator knows
which rows a prune must delete, so it is the tests' oracle."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, text

from catalog_api.db.models import Job, OutboxEvent, WebhookDeliveryRow, WebhookSubscriptionRow

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
DAYS = {"sent_events": 7, "finished_jobs": 30, "webhook_deliveries": 14}
TABLES = {"sent_events": "event_outbox", "finished_jobs": "jobs", "webhook_deliveries": "webhook_deliveries"}


@dataclass
class Seeded:
    """The ids written per kind, and those among them that a prune must delete."""

    ids: dict[str, set] = field(default_factory=lambda: {kind: set() for kind in DAYS})
    doomed: dict[str, set] = field(default_factory=lambda: {kind: set() for kind in DAYS})

    def kept(self, kind: str) -> set:
        return self.ids[kind] - self.doomed[kind]


def _age(rng: random.Random, keep_days: int) -> tuple[timedelta, bool]:
    """An age within 0-60 days, never within an hour of the cutoff (a clock tick must not decide a row's fate)."""
    while True:
        age = timedelta(hours=rng.uniform(0, 60 * 24))
        if abs(age - timedelta(days=keep_days)) > timedelta(hours=1):
            return age, age > timedelta(days=keep_days)


def seed(ctx, events: int, jobs: int, deliveries: int, now: datetime = NOW, seed_value: int = 16) -> Seeded:
    """Bulk-inserts rows of every kind spread over ages before `now` and over states (executemany, one transaction
    per table); returns their ids and those a prune at `now` with the `DAYS` settings must delete."""
    rng, seeded = random.Random(seed_value), Seeded()
    event_rows, event_status = [], {}
    for _ in range(events):
        status = rng.choices(["sent", "pending", "dead"], weights=[70, 15, 15])[0]
        age, old = _age(rng, DAYS["sent_events"])
        event_id = str(uuid.UUID(int=rng.getrandbits(128)))
        event_status[event_id] = status
        event_rows.append({"event_id": event_id, "source_urn": "urn:catalog:source:s", "type": "catalog.test",
                           "subject": "urn:catalog:source:s", "event": "{}", "status": status, "attempts": 1,
                           "delivered_to": [], "created_at": now - age - timedelta(seconds=5),
                           "sent_at": now - age if status == "sent" else None})
        if status == "sent" and old:
            seeded.doomed["sent_events"].add(event_id)
    job_rows = []
    for _ in range(jobs):
        # A queued job may carry an old finished_at from an earlier attempt: its state, not its age, keeps it.
        status = rng.choices(["succeeded", "failed", "cancelled", "queued", "running"], weights=[50, 20, 10, 10, 10])[0]
        age, old = _age(rng, DAYS["finished_jobs"])
        job_id = str(uuid.UUID(int=rng.getrandbits(128)))
        finished = status in ("succeeded", "failed", "cancelled")
        job_rows.append({"id": job_id, "kind": "crawl", "source_id": None, "status": status,
                         "created_at": now - age - timedelta(minutes=1), "started_at": now - age,
                         "finished_at": now - age if finished or rng.random() < 0.5 else None})
        seeded.ids["finished_jobs"].add(job_id)
        if finished and old:
            seeded.doomed["finished_jobs"].add(job_id)
    subscription = str(uuid.uuid4())
    delivery_rows, delivery_doomed = [], []
    known = list(event_status)
    for _ in range(deliveries):
        # Most deliveries name an event of the outbox; some name one pruned long ago.
        event_id = rng.choice(known) if rng.random() < 0.9 else str(uuid.UUID(int=rng.getrandbits(128)))
        age, old = _age(rng, DAYS["webhook_deliveries"])
        delivered = event_status.get(event_id) == "sent" or rng.random() < 0.3
        delivery_rows.append({"subscription_id": subscription, "event_id": event_id, "event_type": "catalog.test",
                              "delivered": delivered, "attempts": 1, "status_code": 200 if delivered else 500,
                              "error": None if delivered else "HTTP 500", "duration_ms": 3.0,
                              "started_at": now - age})
        delivery_doomed.append(old and event_status.get(event_id) not in ("pending", "dead"))
    with ctx.db.engine.begin() as conn:
        conn.execute(insert(WebhookSubscriptionRow), [{"id": subscription, "url": "https://hooks.example/x",
                                                       "secret_ref": "local:x", "event_types": [], "urn_prefix": "",
                                                       "active": True}])
        for model, rows in ((OutboxEvent, event_rows), (Job, job_rows), (WebhookDeliveryRow, delivery_rows)):
            if rows:
                conn.execute(insert(model), rows)
        event_ids = dict(conn.execute(text("select event_id, id from event_outbox")).all())
        delivery_ids = [row[0] for row in conn.execute(text("select id from webhook_deliveries order by id"))]
    # Events and deliveries are keyed by the ids the database gave them.
    seeded.ids["sent_events"] = set(event_ids.values())
    seeded.doomed["sent_events"] = {event_ids[e] for e in seeded.doomed["sent_events"]}
    seeded.ids["webhook_deliveries"] = set(delivery_ids)
    seeded.doomed["webhook_deliveries"] = {i for i, doomed in zip(delivery_ids, delivery_doomed) if doomed}
    return seeded


def remaining(ctx, kind: str) -> set:
    with ctx.db.engine.connect() as conn:
        return {row[0] for row in conn.execute(text(f"select id from {TABLES[kind]}"))}
