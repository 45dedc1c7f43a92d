"""Schedules: validation, next-run times, exactly-once firing with several schedulers, missed runs, job limits."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from catalog_api.bootstrap import build_context
from catalog_api.db.models import ChangeLogEntry, DataSource, Job
from catalog_api.security.identity import Identity, acting_as
from catalog_api.services.context import ServiceContext
from catalog_api.services.crawl import request_crawl
from catalog_api.services.jobs import wait_for_job
from catalog_api.services.jobs.schedules import next_run, set_schedule, tick
from catalog_api.services.sources import SourceRegistration, register_source
from tests.support.sources import PG_SHOP, blocked_discovery, wait_until_blocked

pytestmark = pytest.mark.postgres


def test_next_run_follows_the_time_zone_and_daylight_saving():
    # 02:30 every day in Berlin: UTC+1 in winter, UTC+2 in summer.
    winter = next_run("30 2 * * *", "Europe/Berlin", datetime(2026, 1, 10, 12, tzinfo=timezone.utc))
    summer = next_run("30 2 * * *", "Europe/Berlin", datetime(2026, 7, 10, 12, tzinfo=timezone.utc))
    assert winter == datetime(2026, 1, 11, 1, 30, tzinfo=timezone.utc)
    assert summer == datetime(2026, 7, 11, 0, 30, tzinfo=timezone.utc)


def test_bad_schedules_are_refused_naming_the_field(api_client, make_pg_database):
    config = make_pg_database()
    body = {"name": "s", "kind": "postgres", "config": config}
    for extra, field in [({"schedule_cron": "every day"}, "schedule_cron"),
                         ({"schedule_cron": "61 * * * *"}, "schedule_cron"),
                         ({"schedule_cron": "* * * * * *"}, "schedule_cron"),
                         ({"schedule_cron": "0 2 * * *", "schedule_timezone": "Mars/Olympus"}, "schedule_timezone")]:
        response = api_client.post("/api/v1/sources", json={**body, **extra})
        assert response.status_code == 422 and response.json()["error"]["field"] == field, response.text
    assert api_client.get("/api/v1/sources").json() == []
    source = api_client.post("/api/v1/sources", json=body).json()
    assert source["schedule"]["cron"] is None and source["schedule"]["next_run_at"] is None
    scheduled = api_client.put(f"/api/v1/sources/{source['id']}/schedule",
                               json={"cron": "15 4 * * 1", "timezone": "America/New_York"}).json()["schedule"]
    assert scheduled["cron"] == "15 4 * * 1"
    next_at = datetime.fromisoformat(scheduled["next_run_at"])
    local = next_at.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    assert (local.weekday(), local.hour, local.minute) == (0, 4, 15)
    cleared = api_client.put(f"/api/v1/sources/{source['id']}/schedule", json={"cron": None}).json()["schedule"]
    assert cleared["cron"] is None and cleared["next_run_at"] is None


@pytest.fixture
def pg_settings(catalog_settings, pg_catalog_url):
    return catalog_settings.model_copy(update={"database_url": pg_catalog_url})


def _scheduled_source(ctx: ServiceContext, config: dict, overdue: timedelta) -> int:
    source = register_source(ctx, SourceRegistration(name="nightly", kind="postgres", config=config,
                                                     schedule_cron="*/5 * * * *"))
    with ctx.db.session() as session:
        session.execute(update(DataSource).where(DataSource.id == source.id)
                        .values(next_run_at=datetime.now(timezone.utc) - overdue))
    return source.id


def _schedule_jobs(ctx: ServiceContext) -> list[Job]:
    with ctx.db.session() as session:
        return list(session.scalars(select(Job).where(Job.trigger == "schedule")))


def test_two_schedulers_on_one_postgres_catalog_fire_a_slot_once(pg_settings, make_pg_database):
    first = build_context(pg_settings, migrate=True)
    second = build_context(pg_settings, migrate=False)  # another instance: its own engine and pool
    try:
        source_id = _scheduled_source(first, make_pg_database(PG_SHOP), overdue=timedelta(seconds=1))
        fired: list[tuple[str, ...]] = []
        start = threading.Barrier(2)
        now = datetime.now(timezone.utc)  # one instant for every tick: no 5-minute boundary falls between them

        def run(ctx: ServiceContext) -> None:
            start.wait()
            for _ in range(20):  # both hammer the same due slot at the same time
                fired.append(tick(ctx, now=now).fired)

        threads = [threading.Thread(target=run, args=(ctx,)) for ctx in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(len(f) for f in fired) == 1
        jobs = _schedule_jobs(first)
        assert len(jobs) == 1 and jobs[0].source_id == source_id
        assert wait_for_job(first, jobs[0].id).status == "succeeded"
        with first.db.session() as session:
            assert session.get(DataSource, source_id).next_run_at > now
    finally:
        second.close()
        first.close()


def test_missed_slots_after_downtime_fire_once(pg_settings, make_pg_database):
    ctx = build_context(pg_settings, migrate=True)
    try:
        # Down for three hours: 36 slots of a five-minute schedule were missed.
        source_id = _scheduled_source(ctx, make_pg_database(PG_SHOP), overdue=timedelta(hours=3))
        now = datetime.now(timezone.utc)  # one instant for both ticks: no 5-minute boundary falls between them
        assert tick(ctx, now=now).fired == ("nightly",)
        assert tick(ctx, now=now).fired == ()
        assert len(_schedule_jobs(ctx)) == 1
        with ctx.db.session() as session:
            upcoming = session.get(DataSource, source_id).next_run_at
        assert now < upcoming <= now + timedelta(minutes=5)
        wait_for_job(ctx, _schedule_jobs(ctx)[0].id)
    finally:
        ctx.close()


def test_a_scheduled_crawl_is_the_catalogs_own_work(catalog_ctx, make_pg_database):
    _scheduled_source(catalog_ctx, make_pg_database(PG_SHOP), overdue=timedelta(minutes=1))
    with acting_as(Identity(subject="k-1", name="a key", method="api_key")):  # whoever happens to be current
        assert tick(catalog_ctx).fired == ("nightly",)
    job = wait_for_job(catalog_ctx, _schedule_jobs(catalog_ctx)[0].id)
    assert (job.status, job.actor) == ("succeeded", "system")
    with catalog_ctx.db.session() as session:
        changed_by = set(session.scalars(select(ChangeLogEntry.actor).where(ChangeLogEntry.job_id == job.id)))
    assert changed_by == {"system"}


def test_paused_schedule_does_not_fire_until_set_again(pg_settings, make_pg_database):
    ctx = build_context(pg_settings, migrate=True)
    try:
        source_id = _scheduled_source(ctx, make_pg_database(PG_SHOP), overdue=timedelta(minutes=1))
        with ctx.db.session() as session:
            session.get(DataSource, source_id).schedule_paused_at = datetime.now(timezone.utc)
        assert tick(ctx).fired == ()
        set_schedule(ctx, source_id, "*/5 * * * *")
        with ctx.db.session() as session:
            assert session.get(DataSource, source_id).schedule_paused_at is None
    finally:
        ctx.close()


def test_concurrency_limit_and_time_limit_per_kind(pg_settings, make_pg_database):
    settings = pg_settings.model_copy(update={"job_concurrency": {"crawl": 1}, "job_workers": 4})
    ctx = build_context(settings, migrate=True)
    try:
        blocked, free = make_pg_database(PG_SHOP), make_pg_database(PG_SHOP)
        for name, config in (("blocked", blocked), ("free", free)):
            register_source(ctx, SourceRegistration(name=name, kind="postgres", config=config))
        with blocked_discovery(blocked):
            first = request_crawl(ctx, "blocked")
            wait_until_blocked(blocked)
            second = request_crawl(ctx, "free")
            time.sleep(1.0)
            with ctx.db.session() as session:
                assert session.get(Job, second.id).status == "queued"  # the one crawl slot is taken
        done_first, done_second = wait_for_job(ctx, first.id), wait_for_job(ctx, second.id)
        assert done_first.status == done_second.status == "succeeded"
        assert done_second.started_at >= done_first.finished_at - timedelta(milliseconds=50)
    finally:
        ctx.close()

    limited = build_context(pg_settings.model_copy(update={"job_time_limits_s": {"crawl": 0.5}}),
                                    migrate=False)
    try:
        config = make_pg_database(PG_SHOP)
        register_source(limited, SourceRegistration(name="slow", kind="postgres", config=config))
        with blocked_discovery(config):
            job = request_crawl(limited, "slow")
            wait_until_blocked(config)
            time.sleep(1.0)
        job = wait_for_job(limited, job.id)
        assert job.status == "failed" and job.error_code == "time_limit_exceeded"
        assert job.attempts == 1
    finally:
        limited.close()
