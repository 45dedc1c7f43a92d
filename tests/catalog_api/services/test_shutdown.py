"""SIGTERM with a profile running on Spark, with real processes: a `catalog worker` on the local Redis, and
`catalog serve` running its jobs itself. Each exits within `shutdown_timeout_s` (plus slack), hands its job back
(queued again, the attempt not counted), and the job then completes elsewhere (a second worker, or the restarted
server) with statistics equal to PostgreSQL's own aggregates. Through the service: a stopped crawl rolls back.
"""

from __future__ import annotations

import signal
import socket
import time

import httpx
import pytest
from sqlalchemy import func, select

from catalog_api.bootstrap import build_context
from catalog_api.db.models import ChangeLogEntry, Table
from catalog_api.services import profiling
from catalog_api.services.crawl import request_crawl
from catalog_api.services.jobs import get_job, run_job
from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.urns import dataset_urn
from tests.support import workers
from tests.support.api import API_HEADERS, register
from tests.support.catalog import query
from tests.support.jobs import finished, rest_job, rest_job_in
from tests.support.postgres import pg_query
from tests.support.sources import PG_SHOP, blocked_discovery, wait_until_blocked

pytestmark = pytest.mark.postgres

# Large enough that starting Spark and profiling it there takes far longer than the stop may (over 30 s on two busy
# cores), so a process that waited for the profile to finish would miss the bound.
EVENTS = """
create table events (id bigint primary key, amount double precision, label text, at timestamptz not null);
insert into events
    select g, case when g % 7 = 0 then null else (g % 1000) * 0.25 end, 'label ' || (g % 5000),
           timestamptz '2026-01-01' + g * interval '1 second'
    from generate_series(1, 300000) g;
"""
TIMEOUT_S = 8.0
# Process start-up is not the point: the slack absorbs a busy 2-core machine (dramatiq's one-second poll of its stop
# flag, a Spark job acknowledging its cancellation); a stop that waited for the profile would take far longer.
SLACK_S = 8.0
SETTINGS = {
    "shutdown_timeout_s": str(TIMEOUT_S),
    "profile_in_process_max_cells": "0",  # the table goes to Spark, whatever its size
    "profile_reports_enabled": "false",
    "scheduler_enabled": "false",
    "job_heartbeat_interval_s": "0.5",
    "job_stale_after_s": "5",
    "spark_master": "local[2]",
    "spark_driver_memory": "1g",
}
URN = dataset_urn("events_db", "public", "events")


def _wait_for_spark(runtime: workers.Runtime, process, job_id: str) -> None:
    """Waits until the job runs on Spark in `process`: its Spark driver (a JVM) is up, so the profile is under way."""
    rest_job_in(runtime.client, job_id, "running", timeout=60)
    deadline = time.monotonic() + 120
    while not workers.jvm_pids(process.pid):
        assert time.monotonic() < deadline, runtime.output(process)
        assert runtime.client.get(f"/api/v1/jobs/{job_id}").json()["status"] == "running"
        time.sleep(0.2)


def _assert_handed_back(job: dict, running: dict) -> None:
    """Queued again, its attempt not counted (one more allowed), saying which worker stopped."""
    assert (job["status"], job["attempts"]) == ("queued", running["attempts"]), job
    assert job["max_attempts"] == running["max_attempts"] + 1, job
    assert job["error_code"] == "worker_stopped" and running["worker"] in job["error_message"], job


def _assert_profile_matches_postgres(runtime: workers.Runtime, config: dict) -> None:
    ((rows, amounts, distinct_amounts, low, high, labels, first, last),) = pg_query(config, """
        select count(*), count(amount), count(distinct amount), min(amount), max(amount), count(distinct label),
               min(at), max(at) from events""")
    profile = query(runtime.ctx, profiling.latest_profile, URN)
    stats = {c.name: c.stats for c in profile.columns}
    assert profile.row_count == rows
    amount = stats["amount"]
    assert (amount["count"], amount["null_count"], amount["distinct_count"]) == (amounts, rows - amounts,
                                                                               distinct_amounts)
    assert (float(amount["min"]), float(amount["max"])) == (low, high)
    assert stats["label"]["distinct_count"] == labels
    assert (stats["at"]["min"], stats["at"]["max"]) == (first.isoformat(), last.isoformat())


def test_sigterm_hands_a_spark_profile_back_to_another_worker_within_the_timeout(tmp_path, make_pg_database):
    with workers.runtime("redis", tmp_path, SETTINGS) as runtime:
        config = make_pg_database(EVENTS)
        source = register(runtime.client, config, name="events_db")
        first = runtime.start_worker("--processes", "1")
        runtime.wait_until_ready(first)
        crawl = rest_job(runtime.client, runtime.client.post(f"/api/v1/sources/{source['id']}/crawl").json())
        assert crawl["status"] == "succeeded", crawl
        job = runtime.client.post(f"/api/v1/tables/{URN}/profile").json()
        _wait_for_spark(runtime, first, job["id"])
        running = runtime.client.get(f"/api/v1/jobs/{job['id']}").json()

        status, took = workers.stop_within(first, TIMEOUT_S + SLACK_S)
        # 0: every attempt returned in time; 1: one was stuck where nothing can interrupt it (an import, say) and was
        # handed back when the time was up. Either way the job is back in the queue, not running to its end here.
        assert status in (0, 1), runtime.output(first)
        assert "handed back" in runtime.output(first)
        assert not workers.jvm_pids(first.pid), runtime.output(first)
        handed_back = runtime.client.get(f"/api/v1/jobs/{job['id']}").json()
        _assert_handed_back(handed_back, running)
        assert workers.queued_messages(runtime.namespace, "profile") == 1  # sent again for the next worker

        second = runtime.start_worker("--processes", "1")
        done = rest_job(runtime.client, handed_back, timeout=300)
        assert (done["status"], done["attempts"]) == ("succeeded", 2), done
        assert workers.worker_pid(done) in workers.process_group(second.pid)
        _assert_profile_matches_postgres(runtime, config)
        print(f"worker stopped {took:.1f} s after SIGTERM; the profile then took {done['started_at']} .. "
              f"{done['finished_at']}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_sigterm_to_serve_during_a_profile_exits_in_time_and_the_restart_completes_it(tmp_path, make_pg_database):
    with workers.runtime("in-process", tmp_path, SETTINGS) as runtime:
        config = make_pg_database(EVENTS)
        port = _free_port()
        server = runtime.start_server(port)
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=API_HEADERS, timeout=30)
        with api:
            source = register(api, config, name="events_db")
            crawl = rest_job(api, api.post(f"/api/v1/sources/{source['id']}/crawl").json())
            assert crawl["status"] == "succeeded", crawl
            job = api.post(f"/api/v1/tables/{URN}/profile").json()
            _wait_for_spark(runtime, server, job["id"])
        running = runtime.client.get(f"/api/v1/jobs/{job['id']}").json()

        status, took = workers.stop_within(server, TIMEOUT_S + SLACK_S)
        # A clean stop ends as uvicorn ends one, by the signal it caught; past the timeout the status is 1.
        assert status in (-signal.SIGTERM, 1), runtime.output(server)
        assert not workers.jvm_pids(server.pid)
        handed_back = runtime.client.get(f"/api/v1/jobs/{job['id']}").json()
        _assert_handed_back(handed_back, running)

        restarted = runtime.start_server(port)
        done = rest_job(runtime.client, handed_back, timeout=300)
        assert (done["status"], done["attempts"]) == ("succeeded", 2), done
        assert workers.worker_pid(done) == restarted.pid
        _assert_profile_matches_postgres(runtime, config)
        print(f"server stopped {took:.1f} s after SIGTERM")


# -- through the service ----------------------------------------------------------------------------------------

def test_a_crawl_running_when_its_process_stops_is_queued_again_and_records_nothing(catalog_ctx, make_pg_database):
    config = make_pg_database(PG_SHOP)
    register_source(catalog_ctx, SourceRegistration(name="shop", kind="postgres", config=config))
    with blocked_discovery(config):
        job = request_crawl(catalog_ctx, "shop")
        wait_until_blocked(config)
        catalog_ctx.in_flight.stop()  # SIGTERM: the crawl goes on until its next check
    assert catalog_ctx.in_flight.wait_until_idle(60)
    catalog_ctx.jobs.shutdown()
    record = query(catalog_ctx, get_job, job.id)
    assert (record.status, record.attempts, record.max_attempts) == ("queued", 1, job.max_attempts + 1)
    assert record.error_code == "worker_stopped" and record.finished_at is None
    with catalog_ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Table)) == 0  # its transaction rolled back
        assert session.scalar(select(func.count()).select_from(ChangeLogEntry)) == 0

    # The stopped process claims nothing more (a delivery leaves the job queued); the next one runs it to its end.
    run_job(catalog_ctx, job.id)
    assert query(catalog_ctx, get_job, job.id).status == "queued"
    restarted = build_context(catalog_ctx.settings, migrate=False)
    try:
        restarted.jobs.submit(job.id, "crawl")
        done = finished(restarted, job.id, timeout=120)
        assert (done.status, done.attempts, done.error_code) == ("succeeded", 2, None)
        with restarted.db.session() as session:
            assert session.scalar(select(func.count()).select_from(Table)) == 3
    finally:
        restarted.close()
