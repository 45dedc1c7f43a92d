"""The live feed's test bed: a real server over a catalog whose SQLite source `shop` was crawled once.

Its relay looks for pending events once an hour when nothing wakes it, so an event that reaches a subscriber while
a test waits was pushed by the wake-up of the commit that wrote it, not found by a later poll. How fast that is,
is benchmarks/events_relay.py's to print (change-to-subscriber latency), not a test's to time.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from catalog_api.app import create_app
from catalog_api.bootstrap import build_context
from catalog_api.services import crawl, jobs
from catalog_api.services.context import ServiceContext
from catalog_api.settings import Settings
from tests.support.server import serve
from tests.support.sources import register_sqlite


@dataclass
class Live:
    """A running server over `ctx`, with a SQLite source `shop` already crawled once."""

    ctx: ServiceContext
    base: str
    source_id: int
    database: Path

    def add_column_and_crawl(self, column: str) -> None:
        """Adds a column at the source and crawls it: the crawl's commit writes `catalog.column.added`."""
        with sqlite3.connect(self.database) as conn:
            conn.execute(f"alter table orders add column {column} text")
        job = jobs.wait_for_job(self.ctx, crawl.request_crawl(self.ctx, self.source_id).id, timeout=60, poll=0.01)
        assert job.status == "succeeded", job.error_message

    def wait_for_subscribers(self, count: int) -> None:
        deadline = time.monotonic() + 10
        while self.ctx.bus.subscriber_count < count:
            assert time.monotonic() < deadline, "the subscription never reached the bus"
            time.sleep(0.01)


@pytest.fixture
def live(tmp_path) -> Iterator[Live]:
    settings = Settings(home=tmp_path / "home", secret_key="test-secret-key-not-for-production", file_roots=[tmp_path],
                        scheduler_enabled=False, broker_url=None, job_max_attempts=1, events_relay_interval_s=3600)
    ctx = build_context(settings, migrate=True)
    source_id = register_sqlite(ctx, tmp_path, "shop")
    first = jobs.wait_for_job(ctx, crawl.request_crawl(ctx, source_id).id, timeout=60)
    assert first.status == "succeeded"
    try:
        with serve(create_app(ctx=ctx), timeout_graceful_shutdown=2, ws="websockets-sansio") as url:
            yield Live(ctx, url.removeprefix("http://"), source_id, tmp_path / "shop.db")
    finally:
        ctx.close()
