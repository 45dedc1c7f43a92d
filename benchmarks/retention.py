"""Retention benchmark: how long a prune of a large backlog takes, and how long a writer waits meanwhile.

Seeds a fresh catalog (PostgreSQL in a throw-away database, and the embedded SQLite) with operational rows spread
over 60 days and over states (tests/support/retention.py: 40% events, 30% jobs, 30% webhook deliveries), then runs
one prune at the default settings (7/30/14 days, batches of 1000) while another thread inserts pending events one
per transaction. Prints per store: seeding time, rows pruned, prune time and rows/s, the median and longest batch,
and the longest wait of one concurrent insert.

Target (2-core machine): 100k rows prune in seconds on PostgreSQL, and no batch or concurrent insert takes longer
than a fraction of a second.
Usage: PYTHONPATH=/path/to/checkout python benchmarks/retention.py [--rows 100000] [--store postgres|sqlite|both]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy import insert

from catalog_api.bootstrap import build_context
from catalog_api.db.models import OutboxEvent
from catalog_api.services.retention import prune
from catalog_api.settings import Settings
from tests.support.retention import seed


def run(settings: Settings, rows: int) -> None:
    ctx = build_context(settings, migrate=True)
    try:
        started = time.perf_counter()
        seed(ctx, events=rows * 4 // 10, jobs=rows * 3 // 10, deliveries=rows - rows * 7 // 10,
             now=datetime.now(UTC))
        seeded_s = time.perf_counter() - started
        batches: list[float] = []
        waits: list[float] = []
        done = threading.Event()

        def writer() -> None:
            while not done.is_set():
                begun = time.perf_counter()
                with ctx.db.engine.begin() as conn:
                    conn.execute(insert(OutboxEvent), [{"event_id": str(uuid.uuid4()), "source_urn": "urn:b",
                                                        "type": "catalog.bench", "subject": "urn:b", "event": "{}",
                                                        "status": "pending", "attempts": 0, "delivered_to": []}])
                waits.append(time.perf_counter() - begun)
                time.sleep(0.005)

        last = [time.perf_counter()]

        def after_batch(_kind: str, _rows: int) -> None:
            now = time.perf_counter()
            batches.append(now - last[0])
            last[0] = now

        thread = threading.Thread(target=writer)
        thread.start()
        started = last[0] = time.perf_counter()
        pruned = prune(ctx, after_batch=after_batch)
        prune_s = time.perf_counter() - started
        done.set()
        thread.join()
        total = sum(p.rows for p in pruned)
        print(f"{ctx.db.engine.dialect.name}: seeded {rows} rows in {seeded_s:.1f} s; pruned {total} "
              f"({', '.join(f'{p.kind} {p.rows}' for p in pruned)}) in {prune_s:.2f} s "
              f"({total / prune_s:,.0f} rows/s); "
              f"{len(batches)} batches, median {statistics.median(batches) * 1000:.0f} ms, "
              f"longest {max(batches) * 1000:.0f} ms; {len(waits)} concurrent inserts, "
              f"longest {max(waits) * 1000:.0f} ms")
    finally:
        ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--store", choices=["postgres", "sqlite", "both"], default="both")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-retention-") as home:
        base = Settings(home=Path(home), secret_key="bench", scheduler_enabled=False)
        if args.store in ("sqlite", "both"):
            run(base, args.rows)
        if args.store in ("postgres", "both"):
            run_on_postgres(base, args.rows)


def run_on_postgres(base: Settings, rows: int) -> None:
    """`run` on a throw-away PostgreSQL database, dropped afterwards."""
    name = f"bench_retention_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        run(base.model_copy(update={"database_url": f"postgresql+psycopg://postgres@127.0.0.1/{name}"}), rows)
    finally:
        with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


if __name__ == "__main__":
    main()
