"""Fan-out of published events to every service instance's in-process bus (multi-instance live feeds).

Without fan-out only the process whose relay leads feeds its bus. With `CATALOG_EVENTS_FANOUT=postgres` or
`=redis`, the relay publishes to a channel instead of its own bus, and every `catalog serve` process runs a
`FanoutListener` that feeds its bus from that channel, so GraphQL subscriptions and SSE streams see every event
whichever instance they are connected to:

- `postgres`: `pg_notify('catalog_events', '<event ids>')` on the catalog database (payloads stay far below the
  8,000-byte NOTIFY limit: the ids only); listeners LISTEN and read the events from the outbox.
- `redis`: `PUBLISH catalog_events '<JSON array of events>'` on `CATALOG_EVENTS_FANOUT_REDIS_URL`.

Like the bus itself, fan-out is a live feed: an instance that is down misses what was published meanwhile.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from catalog_api.db.models import OutboxEvent
from catalog_api.errors import InvalidInput
from events import CatalogEvent, PublishResult

if TYPE_CHECKING:
    from catalog_api.db.session import Database
    from catalog_api.services.context import ServiceContext

log = logging.getLogger(__name__)

CHANNEL = "catalog_events"
_IDS_PER_NOTIFY = 180  # 180 UUIDs and commas: ~6.7 kB, under PostgreSQL's 8,000-byte payload limit


def _redis_url(ctx: ServiceContext) -> str:
    url = ctx.settings.events_fanout_redis_url
    if not url:
        raise InvalidInput("events_fanout_redis_url", "CATALOG_EVENTS_FANOUT_REDIS_URL is required with "
                                                      "CATALOG_EVENTS_FANOUT=redis, e.g. redis://cache:6379/0")
    return url


def check_fanout(ctx: ServiceContext) -> str:
    """The configured fan-out mode; a setting that cannot work raises `InvalidInput` naming it."""
    mode = ctx.settings.events_fanout
    if mode == "postgres" and make_url(ctx.db.url).get_backend_name() != "postgresql":
        raise InvalidInput("events_fanout", "CATALOG_EVENTS_FANOUT=postgres needs a PostgreSQL catalog database")
    if mode == "redis":
        _redis_url(ctx)
    return mode


class FanoutPublisher:
    """Publishes events to the fan-out channel (what the relay uses instead of its own bus)."""

    def __init__(self, ctx: ServiceContext, db: Database | None = None) -> None:
        self._mode = check_fanout(ctx)
        self._db = db or ctx.db
        self._redis: Any = None
        if self._mode == "redis":
            import redis

            self._redis = redis.Redis.from_url(_redis_url(ctx))

    def publish(self, events: Sequence[CatalogEvent]) -> PublishResult:
        if not events:
            return PublishResult()
        try:
            if self._mode == "redis":
                self._redis.publish(CHANNEL, json.dumps([e.to_json() for e in events]))
            else:
                with self._db.session() as session:
                    ids = [e.id for e in events]
                    for start in range(0, len(ids), _IDS_PER_NOTIFY):
                        session.execute(text("select pg_notify(:channel, :payload)"),
                                        {"channel": CHANNEL, "payload": ",".join(ids[start:start + _IDS_PER_NOTIFY])})
        except Exception as error:  # the channel is down: the relay retries like any publisher failure
            reason = f"fan-out ({self._mode}) failed: {type(error).__name__}: {error}"
            return PublishResult.all_failed(events, reason)
        return PublishResult.all_delivered(events)

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()


class FanoutListener:
    """Feeds this process's bus from the fan-out channel, on a thread; reconnects after a failure."""

    def __init__(self, ctx: ServiceContext, *, poll_s: float = 0.5) -> None:
        self._ctx = ctx
        self._mode = check_fanout(ctx)
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="catalog-fanout", daemon=True)
        self.ready = threading.Event()
        """Set once the listener is subscribed: events published from then on reach this process's bus."""

    def start(self) -> FanoutListener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen_redis() if self._mode == "redis" else self._listen_postgres()
            except Exception:  # the channel went away: wait a little and subscribe again
                log.exception("event fan-out listener failed; reconnecting")
                self.ready.clear()
                self._stop.wait(1.0)

    def _listen_redis(self) -> None:
        import redis

        client = redis.Redis.from_url(_redis_url(self._ctx))
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(CHANNEL)
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=self._poll_s)
                if message is None:
                    if pubsub.subscribed:
                        self.ready.set()
                    continue
                events = [CatalogEvent.from_json(body) for body in json.loads(message["data"])]
                self._ctx.bus.publish(events)
        finally:
            pubsub.close()
            client.close()

    def _listen_postgres(self) -> None:
        import psycopg

        url = make_url(self._ctx.db.url)
        with psycopg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                             dbname=url.database, autocommit=True) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self.ready.set()
            while not self._stop.is_set():
                for notify in connection.notifies(timeout=self._poll_s):
                    self._ctx.bus.publish(self._load(notify.payload.split(",")))

    def _load(self, event_ids: list[str]) -> list[CatalogEvent]:
        with self._ctx.db.session() as session:
            bodies = session.scalars(select(OutboxEvent.event).where(OutboxEvent.event_id.in_(event_ids))
                                     .order_by(OutboxEvent.id))
            return [CatalogEvent.from_json(body) for body in bodies]
