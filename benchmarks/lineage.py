"""Lineage query benchmark: 100,000 edges, depth-5 upstream and downstream walks on SQLite and PostgreSQL.

The graph: 50 layers of 1,000 datasets; each dataset reads 1 to 3 datasets of the layer before (98,000 edges, about
2 per dataset, like a warehouse's staging -> core -> mart chains), plus 2,000 edges that jump back up to 10 layers
(cycles). Walks start at random datasets of the middle layers, so depth 5 is reached both ways. Each query is
`lineage_graph` as the API runs it: one statement per level, node details, the look past the last level.

Target (2-core machine): p95 <= 100 ms per query.
Usage: python benchmarks/lineage.py [--queries 200] [--pg-host 127.0.0.1] [--pg-port 5432] [--pg-user postgres]
       [--skip-pg]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy import insert

from catalog_api.bootstrap import build_context
from catalog_api.db.models import LineageEdge, utcnow
from catalog_api.services.lineage import EdgeSpec, edge_key
from catalog_api.services.lineage.graph import lineage_graph
from catalog_api.settings import Settings
from catalog_api.urns import dataset_urn

LAYERS, WIDTH = 50, 1000


def node(layer: int, index: int) -> str:
    return dataset_urn("bench", f"layer{layer:02d}", f"t{index:04d}")


def build_edges(seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    pairs: set[tuple[str, str]] = set()
    for layer in range(1, LAYERS):
        for index in range(WIDTH):
            for parent in rng.sample(range(WIDTH), rng.randint(1, 3)):
                pairs.add((node(layer - 1, parent), node(layer, index)))
    while len(pairs) < 100_000:
        layer = rng.randrange(1, LAYERS)
        back = max(0, layer - rng.randint(1, 10))
        pairs.add((node(layer, rng.randrange(WIDTH)), node(back, rng.randrange(WIDTH))))
    now = utcnow()
    return [
        {"edge_key": edge_key("manual", "bench", EdgeSpec(up, down)), "upstream_urn": up, "downstream_urn": down,
         "upstream_table_id": None, "downstream_table_id": None, "upstream_column": None, "downstream_column": None,
         "transformation": None, "origin": "manual", "owner_urn": "bench", "job_id": None, "run_id": None,
         "first_seen_at": now, "last_seen_at": now, "deleted_at": None}
        for up, down in sorted(pairs)
    ]


def run(label: str, settings: Settings, edges: list[dict], queries: int) -> None:
    ctx = build_context(settings, migrate=True)
    try:
        started = time.perf_counter()
        with ctx.db.session() as session:
            for start in range(0, len(edges), 5000):
                session.execute(insert(LineageEdge), edges[start:start + 5000])
        load = time.perf_counter() - started
        if ctx.db.engine.dialect.name == "postgresql":
            with ctx.db.engine.connect() as connection:
                connection.exec_driver_sql("analyze lineage_edges")
        else:
            with ctx.db.engine.connect() as connection:
                connection.exec_driver_sql("analyze")
        rng = random.Random(11)
        print(f"{label}: {len(edges):,} edges loaded in {load:.1f} s")
        for direction in ("UPSTREAM", "DOWNSTREAM"):
            times, sizes, cut = [], [], 0
            for _ in range(queries):
                urn = node(rng.randrange(15, 35), rng.randrange(WIDTH))
                began = time.perf_counter()
                with ctx.db.session() as session:
                    graph = lineage_graph(session, urn, direction=direction, depth=5, limit=5000)
                times.append((time.perf_counter() - began) * 1000)
                sizes.append((len(graph.nodes), len(graph.edges)))
                cut += graph.truncated
            times.sort()
            p50 = statistics.median(times)
            p95 = times[int(len(times) * 0.95) - 1]
            print(f"  depth-5 {direction.lower():<10} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
                  f"(target p95 <= 100 ms; {queries} queries, median {statistics.median(s[0] for s in sizes):.0f} "
                  f"nodes / {statistics.median(s[1] for s in sizes):.0f} edges, {cut} cut at depth 5)")
    finally:
        ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    edges = build_edges()
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite (embedded default)", Settings(home=Path(tmp) / "sqlite", secret_key="bench"), edges, args.queries)
        if not args.skip_pg:
            name = "bench_lineage"
            admin = {"host": args.pg_host, "port": args.pg_port, "user": args.pg_user}
            with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')
                conn.execute(f'create database "{name}"')
            url = f"postgresql+psycopg://{args.pg_user}@{args.pg_host}:{args.pg_port}/{name}"
            try:
                run("PostgreSQL", Settings(home=Path(tmp) / "pg", secret_key="bench", database_url=url), edges,
                    args.queries)
            finally:
                with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
                    conn.execute(f'drop database if exists "{name}" with (force)')


if __name__ == "__main__":
    main()
