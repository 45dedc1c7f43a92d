"""Change-event benchmark (named events_relay.py, not events.py: a script's folder comes first on sys.path, and a
file named events.py there would shadow the `events` package for every script in benchmarks/): relay throughput,
duplicates per crash and change-to-subscriber latency.

Prints:
- relay throughput (events/s) from the outbox to the in-process bus (with one live subscriber reading, plus the
  JSON Lines file of the embedded default), for N events written with `record_events`, and to a local webhook
  receiver (http.server on 127.0.0.1, one signed POST per event, keep-alive); on a SQLite catalog and, when the local
  PostgreSQL server answers, on a throw-away PostgreSQL catalog;
- duplicates per crash: `catalog relay` on a throw-away PostgreSQL catalog is killed with SIGKILL `--kills` times
  while it delivers `--crash-events` events to a local webhook (each kill after `--kill-every` deliveries), then left
  to finish: the webhook deliveries each kill repeated (mean and max), and the JSON Lines file's lines per event;
- change-to-subscriber latency p50/p95: a SQLite source gets a new column, a crawl job runs, and a bus subscriber
  (the feed behind GraphQL subscriptions and SSE) receives `catalog.column.added`. Measured from the crawl request
  to the receipt, and from the crawl's commit (the event's `time`) to the receipt, with the relay loop running.

`--commit-size` sets CATALOG_EVENTS_RELAY_COMMIT_SIZE for every part (default: the setting's default).

Usage: PYTHONPATH=/path/to/checkout python benchmarks/events_relay.py [--events 5000] [--webhook-events 2000]
       [--crash-events 805] [--kills 4] [--kill-every 180] [--commit-size N] [--crawls 20]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from catalog_api.bootstrap import build_context
from catalog_api.services import crawl, jobs, sources
from catalog_api.services.context import ServiceContext
from catalog_api.services.events import webhooks
from catalog_api.services.events.publishers import NamedPublisher
from catalog_api.services.events.relay import Relay
from catalog_api.settings import Settings
from events import CatalogEvent, JsonLinesPublisher
from tests.support.events import Receiver, outbox_backlog
from tests.support.postgres import pg_admin_connection, throwaway_pg_database
from tests.support.relay import kill_relay_while_it_delivers


def _context(home: Path, **overrides: object) -> ServiceContext:
    settings = Settings(home=home, secret_key="bench-secret-key", scheduler_enabled=False, broker_url=None,
                        job_max_attempts=1, events_relay_enabled=False, file_roots=[home.parent], **overrides)
    return build_context(settings, migrate=True)


def _drain(relay: Relay) -> tuple[int, float]:
    sent, started = 0, time.perf_counter()
    while True:
        outcome = relay.run_once()
        sent += outcome.sent
        if outcome.fetched == 0:
            return sent, time.perf_counter() - started


def bus_throughput(home: Path, count: int, **overrides: object) -> tuple[float, int]:
    ctx = _context(home, **overrides)
    outbox_backlog(ctx, count)
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


def webhook_throughput(home: Path, count: int, **overrides: object) -> tuple[float, int]:
    receiver = Receiver()
    ctx = _context(home, events_jsonl_enabled=False, webhook_allow_private_networks=True,  # the receiver is local
                   **overrides)
    webhooks.create_subscription(ctx, receiver.url)
    outbox_backlog(ctx, count)
    relay = Relay(ctx, [NamedPublisher("webhooks", webhooks.webhook_publisher(ctx))])
    sent, elapsed = _drain(relay)
    relay.close()
    ctx.close()
    receiver.close()
    assert sent == count and len(receiver.requests) == count, (sent, len(receiver.requests))
    return count / elapsed, len(receiver.requests)


def postgres_available() -> bool:
    try:
        with pg_admin_connection() as conn:
            conn.execute("select 1")
    except psycopg.OperationalError:
        return False
    return True


def throughput(home: Path, args: argparse.Namespace, title: str, **overrides: object) -> None:
    print(f"catalog on {title}:")
    rate, received = bus_throughput(home / "bus", args.events, **overrides)
    print(f"  relay -> in-process bus + JSONL:   {rate:,.0f} events/s ({args.events:,} events, "
          f"{received:,} received by a live subscriber)")
    rate, received = webhook_throughput(home / "hook", args.webhook_events, **overrides)
    print(f"  relay -> local webhook (signed):   {rate:,.0f} events/s ({args.webhook_events:,} events, "
          f"{received:,} POSTs received)")


def crashes(home: Path, args: argparse.Namespace) -> None:
    home.mkdir()
    with throwaway_pg_database() as url:
        story = kill_relay_while_it_delivers(home, url, events=args.crash_events, kills=args.kills,
                                             deliveries_per_run=args.kill_every, commit_size=args.commit_size)
    repeats = story.runs.repeats_after_each_kill() or [0]
    lines = Counter(line for line in story.jsonl.read_bytes().split(b"\n") if line)
    print(f"kill -9 during delivery (PostgreSQL, {args.crash_events:,} events, a kill after every {args.kill_every} "
          f"deliveries, up to {args.kills}, then a full run): {len(story.runs.kills_at)} kills")
    print(f"  webhook duplicates per crash: mean {sum(repeats) / len(repeats):.0f}, max {max(repeats)} "
          f"({len(story.runs.deliveries):,} deliveries of {len(set(story.runs.deliveries)):,} events; "
          f"{sum(1 for s in story.outbox.values() if s == 'sent'):,} of {len(story.outbox):,} marked sent)")
    print(f"  JSON Lines file:              {sum(lines.values()):,} lines for {len(story.outbox):,} events "
          f"({sum(n - 1 for n in lines.values()):,} repeated)")


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
    parser.add_argument("--crash-events", type=int, default=805)
    parser.add_argument("--kills", type=int, default=4)
    parser.add_argument("--kill-every", type=int, default=180)
    parser.add_argument("--commit-size", type=int, default=None)
    parser.add_argument("--crawls", type=int, default=20)
    args = parser.parse_args()
    overrides = {} if args.commit_size is None else {"events_relay_commit_size": args.commit_size}
    settings = Settings(**overrides)
    print(f"relay rounds of {settings.events_relay_batch_size} events, committed "
          f"{getattr(settings, 'events_relay_commit_size', settings.events_relay_batch_size)} at a time")
    with tempfile.TemporaryDirectory(prefix="catalog-bench-events-") as tmp:
        root = Path(tmp)
        throughput(root / "sqlite", args, "SQLite", **overrides)
        if postgres_available():
            with throwaway_pg_database() as url:
                throughput(root / "postgres", args, "PostgreSQL", database_url=url, **overrides)
            crashes(root / "crashes", args)
        else:
            print("PostgreSQL not reachable: no PostgreSQL throughput, no crash figures")
        from_request, from_commit = latency(root / "latency", args.crawls)
        print(f"crawl adds a column -> subscriber: p50 {_pct(from_request, 0.5):.0f} ms, "
              f"p95 {_pct(from_request, 0.95):.0f} ms from the crawl request ({args.crawls} crawls, SQLite source)")
        print(f"  of which commit -> subscriber:   p50 {_pct(from_commit, 0.5):.1f} ms, "
              f"p95 {_pct(from_commit, 0.95):.1f} ms (event time to receipt)")
        print(f"at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
