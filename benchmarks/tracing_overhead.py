"""Tracing benchmark: what OpenTelemetry spans cost a GraphQL page query and a crawl, tracing on against off.

Builds one SQLite catalog holding a crawled SQLite source (`--tables` tables of 8 columns, a view per 5 tables), then
runs interleaved rounds, each in a fresh process so that "off" really has no tracer provider (FastAPI's own request
spans start as soon as any provider is installed):
- off: no exporter configured, as `catalog serve` without APPLICATIONINSIGHTS_CONNECTION_STRING / OTEL_EXPORTER_*;
- on: the provider `configure_tracing` builds (batch processor) with the SDK's in-memory exporter, so every span of
  the request (FastAPI's server and operation spans), of the job and of its source queries is recorded and
  exported, and only the network is left out.
Each round sends `--requests` page queries (the query of benchmarks/graphql.py) through httpx's ASGI transport and
runs `--crawls` crawls through REST (the in-process runner: the job's source queries are spans), and prints the
process CPU milliseconds per query and per crawl (steadier than wall time on a busy machine) and the wall median.
The summary gives medians over rounds and the on/off ratios, and the load averages before and after.

Target: tracing on costs at most a few percent of a page query's and a crawl's CPU time.
Needs the `otel` extra. Usage: PYTHONPATH=/path/to/checkout python benchmarks/tracing_overhead.py [--rounds 4]
       [--requests 200] [--crawls 5] [--tables 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and its graphql.py would shadow the graphql library.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from benchmarks.graphql import PAGE_QUERY  # noqa: E402 - the page query of README.md, as graphql.py sends it

HEADERS = {"Content-Type": "application/json"}


def _settings(home: Path):
    from catalog_api.settings import Settings

    return Settings(home=home / "catalog", secret_key="benchmark-key", rate_limit_per_s=0, scheduler_enabled=False,
                    events_relay_enabled=False, broker_url=None, file_roots=[home])


def _source(path: Path, tables: int) -> None:
    with sqlite3.connect(path) as db:
        for t in range(tables):
            columns = ", ".join(f"c{c} {'integer' if c % 2 else 'text'}" for c in range(1, 8))
            db.execute(f"create table t{t} (id integer primary key, {columns})")
            if t % 5 == 0:
                db.execute(f"create view v{t} as select id, c1 from t{t} where c1 > 0")


async def _job_done(client, job: dict) -> dict:
    while job["status"] in ("queued", "running"):
        await asyncio.sleep(0.01)
        job = (await client.get(f"/api/v1/jobs/{job['id']}")).json()
    assert job["status"] == "succeeded", job
    return job


async def _drive(app, requests: int, crawls: int, source_id: int | None, spans_so_far) -> dict:
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", headers=HEADERS) as client:
        async def page() -> None:
            answer = (await client.post("/graphql", json={"query": PAGE_QUERY})).json()
            assert "errors" not in answer and answer["data"]["sources"]["edges"], answer

        for _ in range(10):  # warm-up: imports, caches, the first spans' tracer lookups
            await page()
        walls, before, cpu = [], spans_so_far(), time.process_time()
        for _ in range(requests):
            started = time.perf_counter()
            await page()
            walls.append(time.perf_counter() - started)
        query_cpu_ms = (time.process_time() - cpu) * 1000 / requests
        spans_per_query = (spans_so_far() - before) / requests
        crawl_cpu = time.process_time()
        for _ in range(crawls):
            await _job_done(client, (await client.post(f"/api/v1/sources/{source_id}/crawl")).json())
        crawl_cpu_ms = (time.process_time() - crawl_cpu) * 1000 / max(crawls, 1)
    return {"query_cpu_ms": query_cpu_ms, "query_wall_ms": statistics.median(walls) * 1000,
            "crawl_cpu_ms": crawl_cpu_ms, "spans_per_query": spans_per_query}


def round_in_process(home: Path, mode: str, requests: int, crawls: int, source_id: int) -> dict:
    """One round in this (fresh) process; `mode` "on" installs the provider, "off" installs nothing."""
    from catalog_api.app import create_app
    from catalog_api.bootstrap import build_context
    from catalog_api.observability import tracing

    exporter = provider = None
    if mode == "on":
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        exporter = InMemorySpanExporter()
        provider = tracing.build_provider("catalog-api", [exporter])
        tracing.install(provider)
    ctx = build_context(_settings(home), migrate=False)
    try:
        def spans_so_far() -> int:
            if provider is None:
                return 0
            provider.force_flush()
            return len(exporter.get_finished_spans())

        figures = asyncio.run(_drive(create_app(ctx=ctx), requests, crawls, source_id, spans_so_far))
    finally:
        ctx.close()
    if exporter is not None and provider is not None:
        provider.force_flush()  # then count what was recorded
        figures["spans"] = len(exporter.get_finished_spans())
        figures["span_cpu_us"] = _span_cpu_us(provider)
    return figures


def _span_cpu_us(provider, spans: int = 20_000) -> float:
    """CPU microseconds to start, make current, end and export one span with three attributes: a figure that does
    not drown in the noise of a busy machine, to multiply by the spans a query or a crawl makes."""
    tracer = provider.get_tracer("benchmark")
    started = time.process_time()
    for number in range(spans):
        with tracer.start_as_current_span("span", attributes={"a": number, "b": "x", "c": True}):
            pass
    provider.force_flush()
    return (time.process_time() - started) * 1e6 / spans


def _prepare(home: Path, tables: int) -> int:
    import httpx

    from catalog_api.app import create_app
    from catalog_api.bootstrap import build_context

    _source(home / "source.db", tables)
    ctx = build_context(_settings(home), migrate=True)

    async def register() -> int:
        transport = httpx.ASGITransport(app=create_app(ctx=ctx))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", headers=HEADERS) as client:
            source = (await client.post("/api/v1/sources", json={
                "name": "bench", "kind": "sqlite", "config": {"path": str(home / "source.db")}})).json()
            await _job_done(client, (await client.post(f"/api/v1/sources/{source['id']}/crawl")).json())
            return source["id"]

    try:
        return asyncio.run(register())
    finally:
        ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--crawls", type=int, default=5)
    parser.add_argument("--tables", type=int, default=40)
    parser.add_argument("--round", nargs=3, metavar=("HOME", "MODE", "SOURCE_ID"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.round:
        home, mode, source_id = args.round
        print(json.dumps(round_in_process(Path(home), mode, args.requests, args.crawls, int(source_id))))
        return
    print(f"load averages before: {os.getloadavg()}")
    results: dict[str, list[dict]] = {"off": [], "on": []}
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        source_id = _prepare(home, args.tables)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "APPLICATIONINSIGHTS_"))}
        for number in range(args.rounds):
            for mode in ("off", "on") if number % 2 == 0 else ("on", "off"):
                done = subprocess.run(
                    [sys.executable, __file__, "--requests", str(args.requests), "--crawls", str(args.crawls),
                     "--round", str(home), mode, str(source_id)],
                    capture_output=True, text=True, env=env, check=True)
                figures = json.loads(done.stdout.strip().splitlines()[-1])
                results[mode].append(figures)
                print(f"round {number + 1} {mode:>3}: page query {figures['query_cpu_ms']:.2f} CPU ms "
                      f"(wall median {figures['query_wall_ms']:.2f} ms), crawl {figures['crawl_cpu_ms']:.1f} CPU ms"
                      + (f", {figures['spans']} spans, {figures['span_cpu_us']:.1f} CPU µs per span"
                         if "spans" in figures else ""), flush=True)
    print(f"load averages after: {os.getloadavg()}")
    for key, label in (("query_cpu_ms", "page query CPU ms"), ("query_wall_ms", "page query wall ms"),
                       ("crawl_cpu_ms", "crawl CPU ms")):
        off = statistics.median(r[key] for r in results["off"])
        on = statistics.median(r[key] for r in results["on"])
        spread = max(r[key] for r in results["off"]) / min(r[key] for r in results["off"])
        print(f"{label}: off {off:.2f}, on {on:.2f}, on/off {on / off:.3f} (off's max/min over rounds "
              f"{spread:.2f})")
    per_span = statistics.median(r["span_cpu_us"] for r in results["on"])
    per_query = statistics.median(r["spans_per_query"] for r in results["on"])
    query_cpu = statistics.median(r["query_cpu_ms"] for r in results["off"])
    print(f"one span: {per_span:.1f} CPU µs; {per_query:.1f} spans per page query, so tracing's expected share of "
          f"a page query's CPU: {per_query * per_span / 1000 / query_cpu:.2%}")


if __name__ == "__main__":
    main()
