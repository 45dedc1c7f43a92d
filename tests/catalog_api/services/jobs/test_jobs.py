"""Jobs on every runtime: in-process threads, and `catalog worker` subprocesses on the real Redis and RabbitMQ.

The same behaviours are asserted on each runtime: a crawl requested through REST succeeds on the runtime's
worker, a wrong password fails without retries, an unreachable source retries with backoff and then fails and
trips the circuit breaker, a second request returns the running job, and cancellation rolls back.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from catalog_api.db.models import ChangeLogEntry, Column, Table
from tests.support import workers
from tests.support.api import register
from tests.support.jobs import rest_job, rest_job_in
from tests.support.sources import PG_SHOP, blocked_discovery, wait_until_blocked
from tests.support.workers import Runtime, process_group, worker_pid

pytestmark = pytest.mark.postgres

# Tight timings so retries, take-overs and the breaker show within seconds; their shape is the production one.
FAST = {
    "job_retry_min_backoff_s": "0.05",
    "job_retry_max_backoff_s": "0.2",
    "job_max_attempts": "3",
    "job_heartbeat_interval_s": "0.2",
    "job_stale_after_s": "2",
    "broker_heartbeat_timeout_s": "3",
    "broker_maintenance_chance": "1000000",
    "circuit_breaker_threshold": "2",
    "scheduler_enabled": "false",
}


@pytest.fixture(params=["in-process", "redis", "rabbitmq"])
def runtime(request, tmp_path) -> Iterator[Runtime]:
    with workers.runtime(request.param, tmp_path, FAST) as running:
        running.start_worker()
        yield running


def test_crawl_requested_through_rest_runs_on_the_runtime(runtime, make_pg_database):
    source = register(runtime.client, make_pg_database(PG_SHOP), name="shop")
    response = runtime.client.post(f"/api/v1/sources/{source['id']}/crawl")
    assert response.status_code == 202 and response.json()["status"] == "queued"
    job = rest_job(runtime.client, response.json())
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 1 and job["result"]["tables_created"] == 3
    if runtime.broker_url:
        assert worker_pid(job) != os.getpid()  # a `catalog worker` process ran it, not the API
        assert worker_pid(job) in process_group(runtime.workers[0].pid)
    else:
        assert worker_pid(job) == os.getpid()


def test_wrong_password_fails_at_once_without_retries(runtime, pg_password_server):
    server = {k: v for k, v in pg_password_server.items() if k != "password"}
    source = register(runtime.client, server, name="shop", secrets={"password": "not-the-password"},
                      test_connection=False)
    job = rest_job(runtime.client, runtime.client.post(f"/api/v1/sources/{source['id']}/crawl").json())
    assert job["status"] == "failed" and job["error_code"] == "authentication_failed"
    assert job["attempts"] == 1
    assert "not-the-password" not in job["error_message"]


def test_unreachable_source_retries_with_backoff_then_fails_and_pauses_its_schedule(runtime):
    config = {"host": "127.0.0.1", "port": 1, "database": "shop", "user": "reader", "connect_timeout_s": 1}
    source = register(runtime.client, config, name="shop", test_connection=False, schedule_cron="0 3 * * *",
                       schedule_timezone="Europe/Berlin")
    assert source["schedule"]["next_run_at"] is not None and source["schedule"]["paused_at"] is None
    for failure in (1, 2):
        job = rest_job(runtime.client, runtime.client.post(f"/api/v1/sources/{source['id']}/crawl").json())
        assert job["status"] == "failed" and job["error_code"] == "source_unreachable"
        assert job["attempts"] == job["max_attempts"] == 3  # retried, then gave up
        assert "127.0.0.1:1" in job["error_message"]
        after = runtime.client.get(f"/api/v1/sources/{source['id']}").json()["schedule"]
        assert after["consecutive_failures"] == failure
    assert after["paused_at"] is not None and "2 consecutive failed crawls" in after["paused_reason"]
    assert after["next_run_at"] is None  # a paused schedule has no next run
    resumed = runtime.client.post(f"/api/v1/sources/{source['id']}/schedule/resume").json()["schedule"]
    assert resumed["paused_at"] is None and resumed["next_run_at"] is not None
    assert resumed["consecutive_failures"] == 0


def test_second_request_returns_the_running_job_and_cancel_rolls_back(runtime, make_pg_database):
    config = make_pg_database(PG_SHOP)
    source = register(runtime.client, config, name="shop")
    with blocked_discovery(config):
        first = runtime.client.post(f"/api/v1/sources/{source['id']}/crawl").json()
        wait_until_blocked(config)
        second = runtime.client.post(f"/api/v1/sources/{source['id']}/crawl").json()
        assert second["id"] == first["id"] and second["status"] == "running"
        cancelled = runtime.client.post(f"/api/v1/jobs/{first['id']}/cancel").json()
        assert cancelled["cancel_requested_at"] is not None
    job = rest_job(runtime.client, first)
    assert job["status"] == "cancelled"
    with runtime.ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Table)) == 0
        assert session.scalar(select(func.count()).select_from(ChangeLogEntry)) == 0
    listed = runtime.client.get("/api/v1/jobs", params={"source_id": source["id"]}).json()
    assert [j["id"] for j in listed] == [first["id"]]


def test_killed_worker_mid_crawl_is_taken_over_and_the_catalog_ends_as_after_one_crawl(runtime, make_pg_database):
    if not runtime.broker_url:
        pytest.skip("in-process jobs die with the service; take-over is a worker matter")
    config = make_pg_database(PG_SHOP)
    source = register(runtime.client, config, name="shop")
    with blocked_discovery(config):
        job = runtime.client.post(f"/api/v1/sources/{source['id']}/crawl").json()
        wait_until_blocked(config)
        running = rest_job_in(runtime.client, job["id"], "running")
        runtime.kill(runtime.workers[0])
    runtime.start_worker()
    job = rest_job(runtime.client, running, timeout=90)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2 and job["worker"] != running["worker"]
    with runtime.ctx.db.session() as session:
        tables = session.scalars(select(Table.name).order_by(Table.name)).all()
        created = session.scalars(
            select(ChangeLogEntry.entity_urn).where(ChangeLogEntry.change_type == "table_created")).all()
        columns = session.scalar(select(func.count()).select_from(Column))
    assert tables == ["big_orders", "orders", "users"]
    assert sorted(created) == sorted(set(created)) and len(created) == 3  # each table recorded exactly once
    assert columns == 7
