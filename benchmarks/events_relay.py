"""Change-event benchmark (named events_relay.py, not events.py: a script's folder comes first on sys.path, and a
file named events.py there would shadow the `events` package for every script in benchmarks/): relay throughput and change-to-subscriber latency.

Prints:
- relay throughput (events/s) from the outbox to the in-process bus (with one live subscriber reading, plus the
  JSON Lines file of the embedded default), for N events written with `record_events`;
- relay throughput to a local webhook receiver (http.server on 127.0.0.1, one signed POST per event, keep-alive);
- change-to-subscriber latency p50/p95: a SQLite source gets a new column, a crawl job runs, and a bus subscriber
  (the feed behind GraphQL subscriptions and SSE) receives `catalog.column.added`. Measured from the crawl request
  to the receipt, and from the crawl's commit (the event's `time`) to the receipt, with the relay loop running.

Usage: python benchmarks/events_relay.py [--events 5000] [--webhook-events 2000] [--crawls 20]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from catalog_api.bootstrap import build_context
from catalog_api.services import crawl, jobs, sources
from catalog_api.services.context import ServiceContext
from catalog_api.services.events import webhooks
from catalog_api.services.events.outbox import record_events
from catalog_api.services.events.publishers import NamedPublisher
from catalog_api.services.events.relay import Relay
from catalog_api.settings import Settings
from events import CatalogEvent, JsonLinesPublisher
from events.data import DescriptionChanged


def _context(home: Path, **overrides: object) -> ServiceContext:
    settings = Settings(home=home, secret_key="bench-secret-key", scheduler_enabled=False, broker_url=None,
                        job_max_attempts=1, events_relay_enabled=False, file_roots=[home.parent], **overrides)
    return build_context(settings, migrate=True)


def _fill(ctx: ServiceContext, count: int, sources_n: int = 10) -> None:
    events = [
        CatalogEvent.create(DescriptionChanged(entity_kind="dataset", before=None, after=f"d{i}"),
                            subject=f"urn:catalog:dataset:src{i % sources_n}:public:t{i}")
        for i in range(count)
    ]
    with ctx.db.session() as session:
        record_events(session, events)


def _drain(relay: Relay) -> tuple[int, float]:
    sent, started = 0, time.perf_counter()
    while True:
        outcome = relay.run_once()
        sent += outcome.sent
        if outcome.fetched == 0:
            return sent, time.perf_counter() - started


def bus_throughput(home: Path, count: int) -> tuple[float, int]:
    ctx = _context(home)
    _fill(ctx, count)
    received = 0
    ready, done = threading.Event(), threading.Event()

    async def consume() -> None:
        nonlocal received
        async with ctx.bus.subscribe() as feed:
            ready.set()
            async for _ in feed:
                received += 1
                if received == count:
                    done.set()
                    return

    consumer = threading.Thread(target=asyncio.run, args=(consume(),), daemon=True)
    consumer.start()
    ready.wait(10)
    relay = Relay(ctx, [NamedPublisher("bus", ctx.bus, owned=False),
                        NamedPublisher("jsonl", JsonLinesPublisher(home / "events.jsonl"))])
    sent, elapsed = _drain(relay)
    done.wait(30)
    relay.close()
    ctx.close()
    assert sent == count, (sent, count)
    return count / elapsed, received


class _Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would offer
    count = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).count += 1
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def webhook_throughput(home: Path, count: int) -> tuple[float, int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ctx = _context(home, events_jsonl_enabled=False, webhook_allow_private_networks=True)  # the receiver is local
    webhooks.create_subscription(ctx, f"http://127.0.0.1:{server.server_address[1]}/hook")
    _fill(ctx, count)
    relay = Relay(ctx, [NamedPublisher("webhooks", webhooks.webhook_publisher(ctx))])
    sent, elapsed = _drain(relay)
    relay.close()
    ctx.close()
    server.shutdown()
    assert sent == count and _Hook.count == count, (sent, _Hook.count)
    return count / elapsed, _Hook.count


def latency(home: Path, crawls: int) -> tuple[list[float], list[float]]:
    ctx = _context(home)
    database = home.parent / f"{home.name}-shop.db"  # sources may not read inside the catalog's home
    with sqlite3.connect(database) as conn:
        conn.execute("create table orders (id integer primary key, total real)")
    source_id = sources.register_source(ctx, sources.SourceRegistration(
        name="shop", kind="sqlite", config={"path": str(database)})).id
    jobs.wait_for_job(ctx, crawl.request_crawl(ctx, source_id).id)
    relay = Relay(ctx).start()
    arrivals: list[tuple[float, CatalogEvent]] = []
    ready, got = threading.Event(), threading.Event()

    async def consume() -> None:
        async with ctx.bus.subscribe(event_types=["catalog.column.added"]) as feed:
            ready.set()
            async for event in feed:
                arrivals.append((time.time(), event))
                got.set()

    threading.Thread(target=asyncio.run, args=(consume(),), daemon=True).start()
    ready.wait(10)
    from_request, from_commit = [], []
    for i in range(crawls):
        got.clear()
        with sqlite3.connect(database) as conn:
            conn.execute(f"alter table orders add column c{i} text")
        requested = time.time()
        crawl.request_crawl(ctx, source_id)
        if not got.wait(10):
            raise RuntimeError("the subscriber never received catalog.column.added")
        received, event = arrivals[-1]
        from_request.append(received - requested)
        from_commit.append(received - event.time.timestamp())
        time.sleep(0.05)
    relay.close()
    ctx.close()
    return from_request, from_commit


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--webhook-events", type=int, default=2000)
    parser.add_argument("--crawls", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="catalog-bench-events-") as tmp:
        root = Path(tmp)
        rate, received = bus_throughput(root / "bus", args.events)
        print(f"relay -> in-process bus + JSONL:   {rate:,.0f} events/s ({args.events:,} events, "
              f"{received:,} received by a live subscriber)")
        rate, received = webhook_throughput(root / "hook", args.webhook_events)
        print(f"relay -> local webhook (signed):   {rate:,.0f} events/s ({args.webhook_events:,} events, "
              f"{received:,} POSTs received)")
        from_request, from_commit = latency(root / "latency", args.crawls)
        print(f"crawl adds a column -> subscriber: p50 {_pct(from_request, 0.5):.0f} ms, "
              f"p95 {_pct(from_request, 0.95):.0f} ms from the crawl request ({args.crawls} crawls, SQLite source)")
        print(f"  of which commit -> subscriber:   p50 {_pct(from_commit, 0.5):.1f} ms, "
              f"p95 {_pct(from_commit, 0.95):.1f} ms (event time to receipt)")
        print(f"at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
