"""Extraction benchmark: a 5,000,000-row PostgreSQL table → Parquet in a temporary lake, against COPY as reference.

Builds (or reuses, when it already holds the right number of rows) the table `t` in the database `bench_extract`:
ten mixed columns (bigint, integer, numeric(12,2), double, boolean, text, varchar, date, timestamptz, uuid) filled
with `generate_series`. Then prints:
- the reference: `COPY (SELECT * FROM t) TO STDOUT` read through psycopg into nothing, in seconds and rows/s;
- `extract_increment` with a FULL plan into a temporary lake folder: seconds, rows/s, MB/s of Parquet written and
  MB/s of source relation (`pg_total_relation_size`), and the ratio to the reference;
- optionally (`--readers`) the raw read paths that were compared when choosing one: COPY CSV parsed by Arrow
  (what the connector uses), a named (server-side) cursor, and binary COPY decoded row by row.

Usage: python benchmarks/extract.py [--rows 5000000] [--host 127.0.0.1] [--port 5432] [--user postgres]
                                    [--chunk-rows 1000000] [--readers] [--rebuild]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import psycopg
import pyarrow as pa

from crawlers.connectors.postgres import PostgresConfig, PostgresConnector
from crawlers.extract import extract_increment
from crawlers.increment import IncrementPlan, IncrementRequest, IncrementStrategy
from crawlers.lake import Lake

DATABASE = "bench_extract"

DDL = """
create table t (
    id bigint primary key, customer_id integer not null, amount numeric(12,2), ratio double precision,
    active boolean, name text, category varchar(16), created_on date, updated_at timestamptz, ref uuid
)
"""

FILL = """
insert into t
select g, (g * 7919) %% 100000, round(((g %% 100000) * 1.37)::numeric, 2), (g %% 1000) / 7.0, g %% 3 = 0,
       'customer name ' || g, (array['alpha', 'beta', 'gamma', 'delta'])[1 + g %% 4],
       date '2020-01-01' + (g %% 2000)::int, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
       md5(g::text)::uuid
from generate_series(1, %s::bigint) g
"""


def ensure_table(admin: dict, rows: int, rebuild: bool) -> None:
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone():
            conn.execute(f'create database "{DATABASE}"')
    with psycopg.connect(dbname=DATABASE, autocommit=True, **admin) as conn:
        exists = conn.execute("select to_regclass('public.t') is not null").fetchone()[0]
        count = conn.execute("select count(*) from t").fetchone()[0] if exists else -1
        if count == rows and not rebuild:
            print(f"reusing {DATABASE}.t with {rows:,} rows")
            return
        print(f"building {DATABASE}.t with {rows:,} rows …", flush=True)
        started = time.perf_counter()
        conn.execute("drop table if exists t")
        conn.execute(DDL)
        conn.execute(FILL, (rows,))
        conn.execute("analyze t")
        print(f"  built in {time.perf_counter() - started:.1f} s")


def copy_reference(admin: dict) -> float:
    with psycopg.connect(dbname=DATABASE, autocommit=True, **admin) as conn:
        started = time.perf_counter()
        with conn.cursor().copy("copy (select * from t) to stdout") as copy:
            for _ in copy:
                pass
        return time.perf_counter() - started


def compare_readers(admin: dict, rows: int) -> None:
    """The raw read paths, without writing Parquet, each producing Arrow record batches of 50,000 rows."""
    config = PostgresConfig(database=DATABASE, **admin)
    connector = PostgresConnector(config)
    table = connector.discover().table_map()[("public", "t")]
    request = IncrementRequest(table, IncrementPlan(IncrementStrategy.FULL), batch_rows=50_000)
    schema = pa.schema([pa.field(f.name, f.type) for f in next(iter(connector.read_increment(request))).schema])

    def timed(label: str, produce) -> None:
        started = time.perf_counter()
        count = produce()
        elapsed = time.perf_counter() - started
        print(f"  {label:<38} {elapsed:7.1f} s  {count / elapsed:>10,.0f} rows/s")

    def copy_csv() -> int:
        return sum(b.num_rows for b in connector.read_increment(request))

    def to_batch(rows_: list[tuple]) -> pa.RecordBatch:
        columns = list(zip(*rows_))
        arrays = [
            pa.array([str(v) for v in values] if field.name == "ref" else values, type=field.type)
            for values, field in zip(columns, schema)
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def named_cursor() -> int:
        count = 0
        with psycopg.connect(dbname=DATABASE, **admin) as conn:
            with conn.cursor("bench", binary=True) as cursor:
                cursor.itersize = 50_000
                cursor.execute("select * from t")
                while batch := cursor.fetchmany(50_000):
                    count += to_batch(batch).num_rows
        return count

    def binary_copy() -> int:
        count, pending = 0, []
        with psycopg.connect(dbname=DATABASE, autocommit=True, **admin) as conn:
            with conn.cursor().copy("copy (select * from t) to stdout (format binary)") as copy:
                copy.set_types(["int8", "int4", "numeric", "float8", "bool", "text", "varchar", "date",
                                "timestamptz", "uuid"])
                for row in copy.rows():
                    pending.append(row)
                    if len(pending) == 50_000:
                        count += to_batch(pending).num_rows
                        pending = []
        return count + (to_batch(pending).num_rows if pending else 0)

    print("read paths (Arrow batches, no Parquet):")
    timed("COPY CSV parsed by Arrow (connector)", copy_csv)
    timed("named cursor, binary, to Arrow", named_cursor)
    timed("COPY BINARY rows(), to Arrow", binary_copy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--chunk-rows", type=int, default=1_000_000)
    parser.add_argument("--readers", action="store_true", help="also time the alternative read paths")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the table even if it has the right size")
    args = parser.parse_args()
    admin = {"host": args.host, "port": args.port, "user": args.user}

    ensure_table(admin, args.rows, args.rebuild)
    with psycopg.connect(dbname=DATABASE, autocommit=True, **admin) as conn:
        source_bytes = conn.execute("select pg_total_relation_size('t')").fetchone()[0]

    reference = copy_reference(admin)
    print(f"COPY (SELECT * FROM t) TO STDOUT → /dev/null: {reference:.1f} s, {args.rows / reference:,.0f} rows/s")

    connector = PostgresConnector(PostgresConfig(database=DATABASE, **admin))
    table = connector.discover().table_map()[("public", "t")]
    with tempfile.TemporaryDirectory(prefix="catalog-bench-lake-") as folder:
        request = IncrementRequest(table, IncrementPlan(IncrementStrategy.FULL), batch_rows=50_000)
        result = extract_increment(connector, request, Lake(folder), "bench", chunk_rows=args.chunk_rows)
    seconds = result.elapsed_s
    mb = 1024 * 1024
    print(f"extract_increment FULL → Parquet: {seconds:.1f} s, {result.rows:,} rows in {len(result.chunks)} chunks")
    print(f"  {result.rows / seconds:,.0f} rows/s")
    print(f"  {result.bytes / mb / seconds:.1f} MB/s of Parquet ({result.bytes / mb:.0f} MB written, zstd)")
    print(f"  {source_bytes / mb / seconds:.1f} MB/s of source relation ({source_bytes / mb:.0f} MB, "
          "pg_total_relation_size)")
    print(f"  {seconds / reference:.2f}x the time of the COPY reference")
    if args.readers:
        compare_readers(admin, args.rows)


if __name__ == "__main__":
    main()
