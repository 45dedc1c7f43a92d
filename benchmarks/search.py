"""Search benchmark: ranked search with facets over a catalog of 100,000 columns, on SQLite and PostgreSQL.

The catalog rows (2 sources, 10 schemas, 5,000 tables of 20 columns, a third of the columns described, 5% tagged;
every table with an owner among 20 and in a domain among 8, 5% of the columns linked to a term among 50) are generated from a 3,000-word vocabulary drawn with Zipf's law (word k about 1/k as often as the most frequent) and
inserted directly; the index is then built by `rebuild` (what migration
0011's backfill runs), and PostgreSQL's tables vacuumed and analyzed, as autovacuum would after such a load. Each query is the whole service call a REST or GraphQL request makes: a page of 20 hits, the
facet counts over the hits it considers, and the page's tags.

Prints, per store: the time to build the index, then p50/p95/p99 of the wall-clock time, p95 of this process's CPU
time (on SQLite the whole query's, which a busy shared machine does not inflate; on PostgreSQL only the client's),
the mean `total` and the share of searches that had more hits than they consider (`capped`), per query type:
- word: one vocabulary word (`invoice`), any of the 3,000 with equal chance: what people look up;
- prefix: the first 3 to 5 letters of one (`invo`), as autocomplete sends them;
- word+facet: a word with `kind=column` and `source=erp`;
- two words: two words, both required;
- frequent: one of the 10 most frequent words (each in thousands of documents), the worst case;
- word+owner: a word with an `owner` filter (tables only have owners).
The target is p95 <= 30 ms for word, prefix and word+facet. A search considers at most 500 hits
(`MAX_CONSIDERED`): `mean hits` of a capped query type is therefore at most 500.

Usage: python -m benchmarks.search [--columns 100000] [--queries 200] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import psycopg
from sqlalchemy import insert

from benchmarks.scratch import scratch_databases
from catalog_api.bootstrap import build_context
from catalog_api.db.curation import Domain, DomainAssignment, GlossaryTerm, Owner, TermLink
from catalog_api.db.models import Column, DataSource, Schema, Table, Tag
from catalog_api.services.context import ServiceContext
from catalog_api.services.search.documents import rebuild
from catalog_api.services.search.query import SearchFilters, SearchRequest, search
from catalog_api.settings import Settings
from catalog_api.urns import column_urn, dataset_urn, schema_urn, source_urn

SYLLABLES = ["cus", "tom", "er", "or", "der", "in", "voice", "pay", "ment", "ship", "ping", "prod", "uct", "price",
             "ware", "house", "stock", "lev", "el", "ac", "count", "led", "ger", "tax", "rate", "cur", "ren", "cy",
             "sup", "pli", "ven", "dor", "emp", "loy", "ee", "sal", "ary", "dept", "re", "gion"]
TAGS = ["pii.email", "pii.phone", "pii.name", "finance", "gdpr", "sensitive", "kpi"]


def vocabulary(size: int, rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def _context(home: Path, database_url: str | None = None) -> ServiceContext:
    settings = Settings(home=home, secret_key="bench-secret-key", scheduler_enabled=False, broker_url=None,
                        events_relay_enabled=False, rate_limit_per_s=0, database_url=database_url)
    return build_context(settings, migrate=True)


def fill(ctx: ServiceContext, columns: int, words: list[str], rng: random.Random) -> None:
    """Sources, schemas, tables and columns inserted directly, then the index built from them."""
    weights = [1 / (rank + 1) for rank in range(len(words))]
    pool = rng.choices(words, weights, k=columns * 8)  # Zipf-distributed words, drawn in order
    draw = iter(pool).__next__
    now = datetime.now(timezone.utc)
    per_table = 20
    tables = columns // per_table
    with ctx.db.session() as session:
        for sid, name in ((1, "erp"), (2, "crm")):
            session.execute(insert(DataSource), [{
                "id": sid, "name": name, "urn": source_urn(name), "kind": "postgres", "config": {}, "secret_refs": {},
                "lineage_namespace": f"postgres://{name}", "created_at": now, "updated_at": now}])
        schemas = [(s + 1, 1 + s % 2, f"{words[s]}_schema") for s in range(10)]
        session.execute(insert(Schema), [
            {"id": sid, "source_id": src, "name": name, "urn": schema_urn(("erp", "crm")[src - 1], name),
             "created_at": now, "updated_at": now} for sid, src, name in schemas])
        session.execute(insert(GlossaryTerm), [{"id": n + 1, "name": f"{words[n]} term", "created_by": "bench",
                                                "updated_by": "bench"} for n in range(50)])
        session.execute(insert(Domain), [{"id": n + 1, "name": f"{words[n]} domain", "created_by": "bench",
                                          "updated_by": "bench"} for n in range(8)])
        table_rows, column_rows, tag_rows, owner_rows, link_rows, domain_rows = [], [], [], [], [], []
        for t in range(tables):
            sid, src, schema = schemas[t % len(schemas)]
            source = ("erp", "crm")[src - 1]
            name = f"{draw()}_{draw()}_{t}"
            table_rows.append({"id": t + 1, "source_id": src, "schema_id": sid, "name": name, "kind": "table",
                               "urn": dataset_urn(source, schema, name), "created_at": now, "updated_at": now,
                               "comment": " ".join(draw() for _ in range(8)) if t % 2 else None})
            curated = {"entity_urn": table_rows[-1]["urn"], "source_id": src, "created_by": "bench"}
            owner_rows.append(curated | {"principal": f"owner{t % 20}@example.com", "principal_kind": "user",
                                         "owner_type": "technical"})
            domain_rows.append(curated | {"domain_id": 1 + t % 8})
            for c in range(per_table):
                cname = f"{draw()}_{c}" if c % 3 else f"{draw()}_{draw()}_{c}"
                urn = column_urn(source, schema, name, cname)
                column_rows.append({"table_id": t + 1, "name": cname, "ordinal": c + 1, "data_type": "text",
                                    "urn": urn, "created_at": now, "updated_at": now,
                                    "description": " ".join(draw() for _ in range(10)) if c % 3 == 0 else None})
                if rng.random() < 0.05:
                    tag_rows.append({"entity_urn": urn, "tag": rng.choice(TAGS), "created_at": now})
                if rng.random() < 0.05:
                    link_rows.append({"entity_urn": urn, "source_id": src, "term_id": rng.randint(1, 50),
                                      "created_by": "bench"})
        session.execute(insert(Table), table_rows)
        session.execute(insert(Column), column_rows)
        session.execute(insert(Tag), tag_rows)
        for model, rows in ((Owner, owner_rows), (TermLink, link_rows), (DomainAssignment, domain_rows)):
            session.execute(insert(model), rows)
    started = time.perf_counter()
    with ctx.db.session() as session:
        documents = rebuild(session)
    print(f"  index of {documents:,} documents built in {time.perf_counter() - started:.1f} s")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(label: str, ctx: ServiceContext, words: list[str], queries: int, rng: random.Random) -> None:
    cases = {
        "word": lambda: SearchRequest(q=rng.choice(words)),
        "prefix": lambda: SearchRequest(q=rng.choice(words)[:rng.randint(3, 5)]),
        "word+facet": lambda: SearchRequest(q=rng.choice(words),
                                            filters=SearchFilters(kind=("column",), source=("erp",))),
        "two words": lambda: SearchRequest(q=f"{rng.choice(words)} {rng.choice(words)}"),
        "frequent": lambda: SearchRequest(q=rng.choice(words[:10])),
        "word+owner": lambda: SearchRequest(q=rng.choice(words), filters=SearchFilters(
            owner=(f"owner{rng.randrange(20)}@example.com",))),
    }
    with ctx.db.session() as session:
        for _ in range(20):  # warm caches and compiled statements
            search(session, cases["word"]())
    print(f"  {'query':<11} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'cpu p95':>8} {'mean hits':>10} {'capped':>7}")
    for name, make in cases.items():
        timings, cpu, totals, capped = [], [], [], 0
        for _ in range(queries):
            request = make()
            started, started_cpu = time.perf_counter(), time.process_time()
            with ctx.db.session() as session:  # a request's own session, as REST and GraphQL use
                result = search(session, request)
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            totals.append(result.total)
            capped += not result.total_exact
        print(f"  {name:<11} {_percentile(timings, .5):7.1f} {_percentile(timings, .95):7.1f} "
              f"{_percentile(timings, .99):7.1f} {_percentile(cpu, .95):8.1f} {statistics.mean(totals):10.0f} "
              f"{capped / queries:7.0%}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--columns", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    rng = random.Random(7)
    words = vocabulary(3000, rng)
    rng.shuffle(words)  # the Zipf rank of a word: its position
    with tempfile.TemporaryDirectory() as folder:
        print(f"SQLite, {args.columns:,} columns:")
        ctx = _context(Path(folder) / "sqlite")
        fill(ctx, args.columns, words, random.Random(1))
        measure("SQLite", ctx, words, args.queries, random.Random(2))
        ctx.close()
        if args.sqlite_only:
            return
        try:
            with scratch_databases({"host": "127.0.0.1", "user": "postgres"}, "bench_search") as create:
                config = create("select 1")
                print(f"PostgreSQL, {args.columns:,} columns:")
                ctx = _context(Path(folder) / "pg", f"postgresql+psycopg://postgres@127.0.0.1/{config['database']}")
                fill(ctx, args.columns, words, random.Random(1))
                # what autovacuum does within a minute of a bulk load (this machine's test server runs without it):
                # statistics, and the visibility map that lets search read the name words from their index alone
                with ctx.db.engine.connect() as connection:
                    connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
                measure("PostgreSQL", ctx, words, args.queries, random.Random(2))
                ctx.close()
        except psycopg.OperationalError as error:
            print(f"PostgreSQL not reachable, skipped: {error}")

if __name__ == "__main__":
    main()
