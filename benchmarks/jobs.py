"""Job benchmark: no-op job throughput per runtime, and crawling 10 PostgreSQL sources with 1 and 2 workers.

- throughput: N `ping` jobs (each a real job record, queued, delivered, claimed, finished) through the in-process
  runner, Redis and RabbitMQ, with one `catalog worker` process (4 threads) for the brokers;
- crawl wall time: 10 PostgreSQL databases of 100 tables each, crawled through Redis by 1 and by 2 workers
  (a worker = one `catalog worker --processes 1 --threads 1` process).

The catalog is a PostgreSQL database (`bench_jobs_catalog`, recreated). Usage: python benchmarks/jobs.py [--jobs 500]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the crawl benchmark's modules import their neighbours
from crawl_postgres import build_ddl  # noqa: E402 - the crawl benchmark's database builder
from scratch import scratch_databases  # noqa: E402

from catalog_api.bootstrap import build_context  # noqa: E402
from catalog_api.db.models import Job
from catalog_api.services.context import ServiceContext
from catalog_api.services.crawl import request_crawl
from catalog_api.services.jobs import enqueue_job
from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.settings import Settings

ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
CATALOG = "bench_jobs_catalog"
BROKERS = {"redis": "redis://127.0.0.1:6379/11", "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/%2F"}


def fresh_catalog() -> str:
    with psycopg.connect(dbname="postgres", autocommit=True, **ADMIN) as conn:
        conn.execute(f'drop database if exists "{CATALOG}" with (force)')
        conn.execute(f'create database "{CATALOG}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{CATALOG}"


def start_workers(env: dict, count: int, processes: int, threads: int, home: Path) -> list[subprocess.Popen]:
    workers = []
    for i in range(count):
        log = open(home / f"worker-{i}.log", "w")  # noqa: SIM115 - lives as long as the worker
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "catalog_api.cli", "worker", "--processes", str(processes), "--threads",
             str(threads)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    time.sleep(4)  # let them connect before the clock starts
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        worker.wait()


def wait_all(ctx: ServiceContext, ids: list[str]) -> None:
    while True:
        with ctx.db.session() as session:
            open_jobs = session.scalar(select(func.count()).select_from(Job).where(
                Job.id.in_(ids), Job.status.in_(["queued", "running"])))
        if not open_jobs:
            return
        time.sleep(0.02)


def context(home: Path, url: str, broker: str | None) -> tuple[ServiceContext, dict]:
    settings = Settings(home=home, database_url=url, secret_key="bench", broker_url=broker, scheduler_enabled=False,
                        job_workers=4, job_concurrency={"crawl": 8, "ping": 64})
    env = {**os.environ, "CATALOG_HOME": str(home), "CATALOG_DATABASE_URL": url, "CATALOG_SECRET_KEY": "bench",
           "CATALOG_JOB_CONCURRENCY": '{"crawl": 8, "ping": 64}'}
    if broker:
        env["CATALOG_BROKER_URL"] = broker
    return build_context(settings, migrate=True), env


def throughput(home: Path, runtime: str, jobs: int) -> float:
    broker = BROKERS.get(runtime)
    ctx, env = context(home, fresh_catalog(), broker)
    workers = start_workers(env, 1, 1, 4, home) if broker else []
    try:
        started = time.perf_counter()
        ids = [enqueue_job(ctx, "ping", None).id for _ in range(jobs)]
        wait_all(ctx, ids)
        return jobs / (time.perf_counter() - started)
    finally:
        stop_workers(workers)
        ctx.close()


def crawl_wall_time(home: Path, workers_count: int, sources: list[dict]) -> float:
    ctx, env = context(home, fresh_catalog(), BROKERS["redis"])
    for i, config in enumerate(sources):
        register_source(ctx, SourceRegistration(name=f"src{i}", kind="postgres", config=config))
    workers = start_workers(env, workers_count, 1, 1, home)
    try:
        started = time.perf_counter()
        ids = [request_crawl(ctx, f"src{i}").id for i in range(len(sources))]
        wait_all(ctx, ids)
        elapsed = time.perf_counter() - started
        with ctx.db.session() as session:
            failed = session.scalar(select(func.count()).select_from(Job).where(Job.status != "succeeded"))
        if failed:
            raise SystemExit(f"{failed} crawl jobs did not succeed")
        return elapsed
    finally:
        stop_workers(workers)
        ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        for runtime in ("in-process", "redis", "rabbitmq"):
            rate = throughput(home, runtime, args.jobs)
            print(f"no-op job throughput, {runtime:10s}: {rate:7.0f} jobs/s ({args.jobs} jobs; enqueue to finished)",
                  flush=True)
        print("building 10 source databases of 100 tables each ...", flush=True)
        with scratch_databases(ADMIN, "bench_jobs_src") as create_database:
            sources = [create_database(build_ddl(1, 100, 0, seed=i)) for i in range(10)]
            for count in (1, 2):
                seconds = crawl_wall_time(home, count, sources)
                print(f"crawl 10 sources x 100 tables via Redis, {count} worker(s): {seconds:.2f} s", flush=True)


if __name__ == "__main__":
    main()
