"""Backfill benchmark: re-extracting 1,000,000 rows of a PostgreSQL table into a lake that holds them already, against
the normal incremental extraction of the same number of rows.

Builds the ten-column table of `benchmarks/extract.py` with `--rows` rows in a database of its own (dropped at the
end), extracts all of it with a KEY plan on `id` into a base lake (chunks of `--chunk-rows`), then times, each on a
fresh copy of the base lake, `--rounds` times, and prints the medians:
- **extract**: `extract_increment` of the last `--backfill-rows` rows (watermark = rows - backfill rows): the
  normal path, the reference;
- **backfill, aligned**: `backfill` of ids [1, backfill rows], which covers whole chunks: no remainder to write;
- **backfill, unaligned**: `backfill` of `--backfill-rows` ids starting mid-chunk: it also rewrites the rows of the
  two chunks it cuts that lie outside the range (remainder chunks).
with the ratio of each to the reference and the load averages before and after (the machine is shared).

Usage: PYTHONPATH=/path/to/checkout python benchmarks/backfill.py [--rows 2000000] [--backfill-rows 1000000]
                                            [--chunk-rows 1000000] [--rounds 3] [--host 127.0.0.1] [--user postgres]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import psycopg  # noqa: E402

from benchmarks.extract import DDL, FILL  # noqa: E402
from crawlers.backfill import backfill  # noqa: E402
from crawlers.connectors.postgres import PostgresConfig, PostgresConnector  # noqa: E402
from crawlers.extract import extract_increment  # noqa: E402
from crawlers.increment import IncrementPlan, IncrementRequest, IncrementStrategy, ValueRange  # noqa: E402
from crawlers.lake import Lake  # noqa: E402

KEY = IncrementPlan(IncrementStrategy.KEY, "id")


def build(admin: dict, database: str, rows: int) -> None:
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'create database "{database}"')
    print(f"building {database}.t with {rows:,} rows …", flush=True)
    started = time.perf_counter()
    with psycopg.connect(dbname=database, autocommit=True, **admin) as conn:
        conn.execute(DDL)
        conn.execute(FILL, (rows,))
        conn.execute("analyze t")
    print(f"  built in {time.perf_counter() - started:.1f} s")


def drop(admin: dict, database: str) -> None:
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'drop database if exists "{database}" with (force)')


def median_of(rounds: int, base: Path, run: Callable[[Lake, int], int]) -> tuple[float, int]:
    """Median seconds of `run(lake, round)` on a fresh copy of the base lake each round, and the rows it read."""
    times, rows = [], 0
    for number in range(rounds):
        with tempfile.TemporaryDirectory(prefix="catalog-bench-backfill-") as folder:
            copy = Path(folder) / "lake"
            shutil.copytree(base, copy)
            started = time.perf_counter()
            rows = run(Lake(str(copy)), number)
            times.append(time.perf_counter() - started)
    return statistics.median(times), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--backfill-rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    args = parser.parse_args()
    if not 0 < args.backfill_rows < args.rows:
        parser.error("--backfill-rows must be between 0 and --rows")
    admin = {"host": args.host, "port": args.port, "user": args.user}
    database = f"bench_backfill_{uuid.uuid4().hex[:8]}"
    print(f"load averages before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    try:
        build(admin, database, args.rows)
        connector = PostgresConnector(PostgresConfig(database=database, **admin))
        table = connector.discover().table_map()[("public", "t")]
        with tempfile.TemporaryDirectory(prefix="catalog-bench-base-") as folder:
            base = Path(folder) / "lake"
            whole = extract_increment(connector, IncrementRequest(table, KEY, batch_rows=50_000), Lake(str(base)),
                                      "bench", chunk_rows=args.chunk_rows)
            print(f"base lake: {whole.rows:,} rows in {len(whole.chunks)} chunks, extracted in "
                  f"{whole.elapsed_s:.1f} s")
            size = args.backfill_rows
            start = args.chunk_rows // 2 + 1  # mid-chunk

            def extract(lake: Lake, _round: int) -> int:
                request = IncrementRequest(table, KEY, args.rows - size, batch_rows=50_000)
                return extract_increment(connector, request, lake, "bench", chunk_rows=args.chunk_rows).rows

            def backfill_from(first: int) -> Callable[[Lake, int], int]:
                def run(lake: Lake, number: int) -> int:
                    request = IncrementRequest(table, KEY, batch_rows=50_000,
                                               range=ValueRange(low=first, high=first + size))
                    done = backfill(connector, request, lake, "bench", watermark=args.rows, salt=str(number),
                                    chunk_rows=args.chunk_rows)
                    run.kept = done.kept_rows  # type: ignore[attr-defined]
                    return done.rows
                return run

            reference, rows = median_of(args.rounds, base, extract)
            print(f"extract, last {rows:,} rows:            {reference:6.1f} s  {rows / reference:>10,.0f} rows/s")
            for label, first in (("backfill, aligned", 1), ("backfill, unaligned", start)):
                run = backfill_from(first)
                seconds, rows = median_of(args.rounds, base, run)
                print(f"{label + f', {rows:,} rows:':<38} {seconds:6.1f} s  {rows / seconds:>10,.0f} rows/s  "
                      f"{seconds / reference:.2f}x extract  ({run.kept:,} rows of cut chunks rewritten)")
    finally:
        drop(admin, database)
        print(f"load averages after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
