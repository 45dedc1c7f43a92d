"""Take-over of jobs whose worker died.

With real processes: a `catalog worker` on the local Redis runs two crawls on two threads of one dramatiq child
process, the child is killed with SIGKILL, and a second worker takes both jobs over within the configured stale
time plus one sweep interval, not when the broker redelivers. Through the service: several sweepers queue a silent
job again once, a job whose worker died on its last attempt fails, and an attempt that was taken over but comes
back (a paused process, say) records nothing.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from catalog_api.bootstrap import build_context
from catalog_api.db.models import ChangeLogEntry, Job, Table, utcnow
from catalog_api.services.context import ServiceContext
from catalog_api.services.crawl import request_crawl
from catalog_api.services.jobs import run_job, wait_for_job
from catalog_api.services.jobs.records import add_job
from catalog_api.services.jobs.takeover import take_over_silent_jobs
from catalog_api.services.sources import SourceRegistration, register_source
from tests.support import workers
from tests.support.api import register
from tests.support.jobs import rest_job, rest_job_in
from tests.support.sources import PG_SHOP, blocked_discovery, wait_until_blocked
from tests.support.workers import process_group, worker_pid

pytestmark = pytest.mark.postgres

HEARTBEAT_S, STALE_S = 0.5, 3.0
# The broker's own redelivery keeps its production defaults (60 s heartbeat timeout, maintenance on 0.1 % of
# commands): take-over must come from the job records, not from waiting for Redis.
SETTINGS = {
    "job_heartbeat_interval_s": str(HEARTBEAT_S),
    "job_stale_after_s": str(STALE_S),
    "scheduler_enabled": "false",
}
# Beyond stale time + one sweep interval, a take-over costs a query, a compare-and-set and a Redis poll (<= 0.1 s).
# The slack absorbs a busy 2-core machine (other test sessions, Spark) delaying threads and commits by seconds;
# it stays far below the broker's redelivery (60 s + a random wait), so the bound tells the two paths apart.
SLACK_S = 10.0


def _parse(timestamp: str) -> datetime:
    moment = datetime.fromisoformat(timestamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_both_jobs_of_a_killed_worker_child_are_taken_over_within_the_stale_time(tmp_path, make_pg_database):
    with workers.runtime("redis", tmp_path, SETTINGS) as runtime:
        configs = [make_pg_database(PG_SHOP) for _ in range(2)]
        sources = [register(runtime.client, config, name=f"shop{i}") for i, config in enumerate(configs)]
        first = runtime.start_worker("--processes", "1", "--threads", "2")
        with blocked_discovery(configs[0]), blocked_discovery(configs[1]):
            jobs = [runtime.client.post(f"/api/v1/sources/{source['id']}/crawl").json() for source in sources]
            for config in configs:
                wait_until_blocked(config)
            before = [rest_job_in(runtime.client, job["id"], "running") for job in jobs]
            child = worker_pid(before[0])
            assert worker_pid(before[1]) == child and before[0]["worker"] != before[1]["worker"]  # two threads

            second = runtime.start_worker()
            runtime.wait_until_ready(second)
            time.sleep(2 * STALE_S)  # a live worker keeps its jobs, however long they take
            alive = [runtime.client.get(f"/api/v1/jobs/{job['id']}").json() for job in jobs]
            assert [(job["attempts"], job["worker"]) for job in alive] == [(1, job["worker"]) for job in before]

            killed_at = datetime.now(UTC)
            os.kill(child, signal.SIGKILL)
            taken = [rest_job_in(runtime.client, job["id"], "running", timeout=60, attempts=2) for job in jobs]
            for job, lost in zip(taken, before, strict=True):
                assert job["error_code"] == "worker_lost" and lost["worker"] in job["error_message"], job
        done = [rest_job(runtime.client, job, timeout=60) for job in taken]

        assert [job["status"] for job in done] == ["succeeded", "succeeded"], done
        survivors = process_group(second.pid)
        for job in done:
            assert job["attempts"] == 2 and worker_pid(job) in survivors, job
            took = (_parse(job["started_at"]) - killed_at).total_seconds()
            assert 0 < took <= STALE_S + HEARTBEAT_S + SLACK_S, f"taken over {took:.1f} s after the kill: {job}"
        # dramatiq stops the whole worker when one of its children dies: a supervisor must restart it.
        assert first.wait(30) != 0
        with runtime.ctx.db.session() as session:
            tables = session.scalar(select(func.count()).select_from(Table))
            created = session.scalars(
                select(ChangeLogEntry.entity_urn).where(ChangeLogEntry.change_type == "table_created")).all()
        assert tables == 6 and len(created) == len(set(created)) == 6  # each source crawled exactly once


# -- through the service ----------------------------------------------------------------------------------------

DEAD_WORKER = "gone-host:4242:Thread-1"


def _silent_ping_job(ctx: ServiceContext, *, attempts: int, max_attempts: int = 3) -> str:
    """A ping job recorded as running on a worker that stopped beating a minute ago."""
    minute_ago = utcnow() - timedelta(minutes=1)
    with ctx.db.session() as session:
        job, _ = add_job(session, ctx, "ping", None)
        job.status, job.attempts, job.max_attempts = "running", attempts, max_attempts
        job.worker, job.started_at, job.heartbeat_at = DEAD_WORKER, minute_ago, minute_ago
        session.flush()
        return job.id


@pytest.fixture
def pg_settings(catalog_settings, pg_catalog_url):
    return catalog_settings.model_copy(update={"database_url": pg_catalog_url})


def test_several_sweepers_queue_a_silent_job_again_once(pg_settings):
    workers.check_broker("redis")
    namespace = workers.new_namespace()
    # Two workers' contexts on one catalog and one broker (no worker consumes it, so the deliveries stay countable).
    settings = pg_settings.model_copy(update={"broker_url": workers.BROKERS["redis"], "broker_namespace": namespace})
    first = build_context(settings, migrate=True)
    second = build_context(settings, migrate=False)
    try:
        job_id = _silent_ping_job(first, attempts=1)
        taken: list[str] = []
        start = threading.Barrier(2)

        def sweep(ctx: ServiceContext) -> None:
            start.wait()
            for _ in range(20):  # both sweep the same silent job at the same time
                taken.extend(take_over_silent_jobs(ctx))

        threads = [threading.Thread(target=sweep, args=(ctx,)) for ctx in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert taken == [job_id]
        assert workers.queued_messages(namespace, "default") == 1  # one delivery for a live worker to claim
        with first.db.session() as session:
            job = session.get(Job, job_id)
            assert (job.status, job.attempts, job.error_code) == ("queued", 1, "worker_lost")
            assert DEAD_WORKER in job.error_message
    finally:
        second.close()
        first.close()
        workers.drop_namespace(namespace)


def test_a_job_whose_worker_died_on_its_last_attempt_fails_as_worker_lost(catalog_ctx):
    job_id = _silent_ping_job(catalog_ctx, attempts=3, max_attempts=3)
    assert take_over_silent_jobs(catalog_ctx) == []
    job = wait_for_job(catalog_ctx, job_id, timeout=5)
    assert (job.status, job.error_code, job.attempts) == ("failed", "worker_lost", 3)
    assert DEAD_WORKER in job.error_message and "not retried" in job.error_message
    assert job.finished_at is not None


def test_a_redelivered_message_of_a_silent_job_takes_it_over_at_once(catalog_ctx):
    job_id = _silent_ping_job(catalog_ctx, attempts=1)
    run_job(catalog_ctx, job_id)  # the broker hands the dead worker's message to this worker before any sweep
    job = wait_for_job(catalog_ctx, job_id, timeout=5)
    assert (job.status, job.attempts, job.error_code) == ("succeeded", 2, None)
    assert job.worker.split(":")[1] == str(os.getpid())


def test_an_attempt_that_was_taken_over_records_nothing_when_it_comes_back(catalog_ctx, make_pg_database):
    config = make_pg_database(PG_SHOP)
    register_source(catalog_ctx, SourceRegistration(name="shop", kind="postgres", config=config))
    with blocked_discovery(config):
        job = request_crawl(catalog_ctx, "shop")
        wait_until_blocked(config)
        # Meanwhile its worker was thought dead, and another one took the job over (attempt 2).
        with catalog_ctx.db.session() as session:
            session.execute(update(Job).where(Job.id == job.id)
                            .values(attempts=Job.attempts + 1, worker="elsewhere:1:Thread-1", heartbeat_at=utcnow()))
    catalog_ctx.jobs.shutdown()  # the first attempt goes on with its discovery, and ends
    with catalog_ctx.db.session() as session:
        record = session.get(Job, job.id)
        assert (record.status, record.attempts, record.worker) == ("running", 2, "elsewhere:1:Thread-1")
        assert session.scalar(select(func.count()).select_from(Table)) == 0  # its crawl rolled back
        assert session.scalar(select(func.count()).select_from(ChangeLogEntry)) == 0
