"""/metrics benchmark: what a scrape costs with a large outbox backlog, and what the request middleware adds.

Prints:
- scrape latency (median and max of `--scrapes` scrapes) of `GET /metrics` over a catalog whose outbox holds N
  pending events, on SQLite and (when reachable) PostgreSQL: the state gauges count the backlog at every scrape;
- the median latency of `GET /healthz` with and without the request-metrics middleware (same app, same client).

Usage: python -m benchmarks.metrics [--events 100000] [--scrapes 20] [--requests 2000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient

from catalog_api.app import create_app
from catalog_api.bootstrap import build_context
from catalog_api.observability.http import RequestMetrics
from catalog_api.services.context import ServiceContext
from catalog_api.services.events.outbox import record_events
from catalog_api.settings import Settings
from events import CatalogEvent
from events.data import DescriptionChanged


def _context(home: Path, database_url: str | None = None) -> ServiceContext:
    settings = Settings(home=home, secret_key="bench-secret-key", scheduler_enabled=False, broker_url=None,
                        events_relay_enabled=False, rate_limit_per_s=0, database_url=database_url)
    return build_context(settings, migrate=True)


def _fill(ctx: ServiceContext, count: int) -> None:
    for start in range(0, count, 10_000):
        events = [CatalogEvent.create(DescriptionChanged(entity_kind="dataset", before=None, after=f"d{i}"),
                                      subject=f"urn:catalog:dataset:src{i % 10}:public:t{i}")
                  for i in range(start, min(count, start + 10_000))]
        with ctx.db.session() as session:
            record_events(session, events)


def _timed(call, times: int) -> list[float]:
    timings = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return timings


def _scrapes(label: str, ctx: ServiceContext, events: int, scrapes: int) -> None:
    started = time.perf_counter()
    _fill(ctx, events)
    print(f"{label}: {events} pending events written in {time.perf_counter() - started:.1f} s")
    with TestClient(create_app(ctx=ctx)) as client:
        def scrape() -> None:
            response = client.get("/metrics")
            assert f'catalog_outbox_events{{status="pending"}} {float(events)}' in response.text, response.text[-500:]

        timings = _timed(scrape, scrapes)
    print(f"{label}: /metrics with {events} pending: median {statistics.median(timings) * 1000:.1f} ms, "
          f"max {max(timings) * 1000:.1f} ms over {scrapes} scrapes")


def _middleware_overhead(ctx: ServiceContext, requests: int) -> None:
    medians = {}
    for with_metrics in (True, False):
        app = create_app(ctx=ctx)
        if not with_metrics:  # before the first request builds the middleware stack
            app.user_middleware = [m for m in app.user_middleware if m.cls is not RequestMetrics]
        with TestClient(app) as client:
            _timed(lambda: client.get("/healthz"), 200)  # warm up
            medians[with_metrics] = statistics.median(_timed(lambda: client.get("/healthz"), requests))
    print(f"GET /healthz median: {medians[True] * 1e6:.0f} µs with the request metrics, "
          f"{medians[False] * 1e6:.0f} µs without ({requests} requests each)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--scrapes", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        ctx = _context(Path(folder) / "sqlite")
        _middleware_overhead(ctx, args.requests)
        _scrapes("SQLite", ctx, args.events, args.scrapes)
        ctx.close()
        database = f"bench_metrics_{uuid.uuid4().hex[:8]}"
        try:
            with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
                admin.execute(f'create database "{database}"')
        except psycopg.OperationalError as error:
            print(f"PostgreSQL not reachable, skipped: {error}")
            return
        try:
            ctx = _context(Path(folder) / "pg", f"postgresql+psycopg://postgres@127.0.0.1/{database}")
            _scrapes("PostgreSQL", ctx, args.events, args.scrapes)
            ctx.close()
        finally:
            with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
                admin.execute(f'drop database "{database}" with (force)')


if __name__ == "__main__":
    main()
