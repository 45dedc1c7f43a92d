"""Crawl benchmark: a PostgreSQL database of 1,000 tables, crawled in full and then unchanged.

Builds a scratch database `bench_crawl_<random>` (10 schemas x 100 tables, 5-40 columns each, foreign keys, 100 views)
on the local server, registers it in a fresh catalog (SQLite in a temporary folder, or `--catalog-url`), and prints:
- the full-crawl seconds (discovery plus writing every schema, table, column and change-log row),
- the unchanged re-crawl seconds,
- the statements sent to the source per crawl (counted by the connector, checked against a 100-table database).

Targets on a 2-core machine: full crawl <= 5 s, unchanged re-crawl <= 2 s, statements independent of size.
The scratch databases are dropped at the end, also after a failure or Ctrl-C (benchmarks/scratch.py); no other
database is touched.
Usage: python benchmarks/crawl_postgres.py [--host 127.0.0.1] [--port 5432] [--user postgres] [--catalog-url URL]
       [--tables-per-schema 100]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
from random_tables import random_table  # this folder, first on sys.path when run as a script
from scratch import scratch_databases

from catalog_api.bootstrap import build_context
from catalog_api.services.context import ServiceContext
from catalog_api.services.crawl import request_crawl
from catalog_api.services.jobs import wait_for_job
from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.settings import Settings

TYPES = ["integer", "bigint", "text", "varchar(80)", "numeric(12,2)", "timestamptz", "boolean", "date", "jsonb"]


def build_ddl(schemas: int, tables_per_schema: int, views: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    statements = []
    for s in range(schemas):
        statements.append(f"create schema s{s:02d};")
        names = [f"s{s:02d}.t{t:03d}" for t in range(tables_per_schema)]
        for t in range(tables_per_schema):
            statements.append(random_table(rng, names[t], names[:t], types=TYPES, max_columns=39, key_type="bigint"))
    for v in range(views):
        s, t = v % schemas, rng.randrange(tables_per_schema)
        statements.append(f"create view s{s:02d}.v{v:03d} as select id from s{s:02d}.t{t:03d} where id > {v};")
    return "\n".join(statements)


def timed_crawl(ctx: ServiceContext, source: str) -> tuple[float, dict]:
    started = time.perf_counter()
    job = wait_for_job(ctx, request_crawl(ctx, source).id, timeout=600, poll=0.005)
    elapsed = time.perf_counter() - started
    if job.status != "succeeded":
        raise SystemExit(f"crawl failed: {job.error_code}: {job.error_message}")
    return elapsed, job.result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--catalog-url", default=None, help="catalog database (default: SQLite in a temp folder)")
    parser.add_argument("--repeat", type=int, default=3, help="unchanged re-crawls to time")
    parser.add_argument("--tables-per-schema", type=int, default=100,
                        help="tables in each of the 10 schemas (the targets are for 100)")
    args = parser.parse_args()
    admin = {"host": args.host, "port": args.port, "user": args.user}
    per_schema = args.tables_per_schema
    tables, views = 10 * per_schema, per_schema

    with scratch_databases(admin, "bench_crawl") as create_database:
        print(f"building bench_crawl: 10 schemas x {per_schema} tables, {views} views ...", flush=True)
        big = create_database(build_ddl(10, per_schema, views))
        small = create_database(build_ddl(1, per_schema, max(1, views // 10)))
        with psycopg.connect(dbname=big["database"], **admin) as conn:
            columns = conn.execute("select count(*) from information_schema.columns where table_schema like 's%'"
                                   ).fetchone()[0]

        with tempfile.TemporaryDirectory() as home:
            settings = Settings(home=Path(home), database_url=args.catalog_url, secret_key="benchmark")
            ctx = build_context(settings, migrate=True)
            try:
                for name, config in (("bench", big), ("bench_small", small)):
                    register_source(ctx, SourceRegistration(name=name, kind="postgres", config=config))
                full, result = timed_crawl(ctx, "bench")
                unchanged = [timed_crawl(ctx, "bench") for _ in range(args.repeat)]
                _, small_result = timed_crawl(ctx, "bench_small")
            finally:
                ctx.close()

    catalog = args.catalog_url.split("@")[-1] if args.catalog_url else "SQLite (embedded default)"
    print(f"catalog database:              {catalog}")
    print(f"source:                        {tables + views:,} relations ({tables:,} tables + {views} views), "
          f"{columns:,} table columns")
    print(f"full crawl:                    {full:.2f} s  (target <= 5 s); {result['tables_created']} tables, "
          f"{result['changes_recorded']} change-log rows")
    seconds = [u[0] for u in unchanged]
    print(f"unchanged re-crawl:            {statistics.median(seconds):.2f} s median of {len(seconds)} "
          f"(min {min(seconds):.2f}, max {max(seconds):.2f}; target <= 2 s); "
          f"{unchanged[-1][1]['tables_unchanged']} tables skipped by hash, "
          f"{unchanged[-1][1]['changes_recorded']} changes")
    print(f"statements sent to the source: {result['source_queries']} per crawl of {tables + views:,} relations; "
          f"{small_result['source_queries']} per crawl of {per_schema + max(1, views // 10)} relations")


if __name__ == "__main__":
    main()
