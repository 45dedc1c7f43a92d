"""Multi-instance live feeds: two service contexts ("instances") on one catalog; the relay of one publishes, and
the bus of the other receives, through real PostgreSQL LISTEN/NOTIFY or a real Redis pub/sub channel."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from catalog_api.bootstrap import build_context
from catalog_api.db.models import OutboxEvent
from catalog_api.errors import InvalidInput
from catalog_api.services.context import ServiceContext
from catalog_api.services.events.fanout import FanoutListener, check_fanout
from catalog_api.services.events.relay import Relay
from catalog_api.settings import Settings
from events import CatalogEvent, InProcessBus
from tests.support.postgres import service_missing
from tests.support.sources import register_sqlite

REDIS_URL = "redis://127.0.0.1:6379/9"


class Feed:
    """A live subscriber of a bus, on its own event loop, collecting what arrives."""

    def __init__(self, bus: InProcessBus) -> None:
        self.received: queue.Queue[CatalogEvent] = queue.Queue()
        subscribed = threading.Event()

        async def run() -> None:
            async with bus.subscribe() as feed:
                subscribed.set()
                async for event in feed:
                    self.received.put(event)

        threading.Thread(target=asyncio.run, args=(run(),), daemon=True).start()
        assert subscribed.wait(10)


def _instances(settings: Settings) -> Iterator[tuple[ServiceContext, ServiceContext]]:
    first = build_context(settings, migrate=True)
    second = build_context(settings, migrate=False)
    listeners = [FanoutListener(first, poll_s=0.1).start(), FanoutListener(second, poll_s=0.1).start()]
    try:
        for listener in listeners:
            assert listener.ready.wait(10), "the fan-out listener never subscribed"
        yield first, second
    finally:
        for listener in listeners:
            listener.stop()
        first.close()
        second.close()


def _register(ctx: ServiceContext, tmp_path: Path) -> str:
    register_sqlite(ctx, tmp_path, "shop")
    with ctx.db.session() as session:
        return session.scalars(select(OutboxEvent.event_id)).one()


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(home=tmp_path / "home", secret_key="test-secret-key-not-for-production", file_roots=[tmp_path],
                    scheduler_enabled=False, broker_url=None, events_relay_enabled=False, events_jsonl_enabled=False,
                    **values)


def _assert_both_instances_see_it(first: ServiceContext, second: ServiceContext, tmp_path: Path) -> None:
    feeds = [Feed(first.bus), Feed(second.bus)]
    event_id = _register(first, tmp_path)
    relay = Relay(first)
    assert [p.name for p in relay.publishers][0] == "fanout"
    assert relay.run_once().sent == 1
    for feed in feeds:
        event = feed.received.get(timeout=10)
        assert (event.id, event.type.value) == (event_id, "catalog.source.registered")
    relay.close()


@pytest.mark.postgres
def test_postgres_listen_notify_feeds_every_instance(pg_catalog_url, tmp_path):
    for first, second in _instances(_settings(tmp_path, database_url=pg_catalog_url, events_fanout="postgres")):
        _assert_both_instances_see_it(first, second, tmp_path)


def test_redis_pub_sub_feeds_every_instance(tmp_path):
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as error:
        service_missing("Redis", error)
    for first, second in _instances(_settings(tmp_path, events_fanout="redis", events_fanout_redis_url=REDIS_URL)):
        _assert_both_instances_see_it(first, second, tmp_path)


def test_fanout_settings_are_checked(catalog_ctx):
    catalog_ctx.settings.events_fanout = "postgres"
    with pytest.raises(InvalidInput) as error:
        check_fanout(catalog_ctx)
    assert error.value.field == "events_fanout"
    catalog_ctx.settings.events_fanout = "redis"
    with pytest.raises(InvalidInput) as error:
        check_fanout(catalog_ctx)
    assert error.value.field == "events_fanout_redis_url"
    catalog_ctx.settings.events_fanout = "none"
