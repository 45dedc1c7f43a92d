"""A job tells its life as events, each written with what it tells: `catalog.job.started` when an attempt claims it,
`catalog.job.progress` with its reports (throttled), then `catalog.job.succeeded`, `catalog.job.failed` or
`catalog.job.cancelled` (naming who cancelled it and its state then)."""

from __future__ import annotations

import json
import threading
import time

from catalog_api.db.models import Job
from catalog_api.security.identity import Identity, acting_as
from catalog_api.services import jobs, profiling
from catalog_api.services.jobs.job_events import PROGRESS_EVENT_INTERVAL_S
from events.schemas import validate
from tests.support.events import outbox
from tests.support.jobs import crawled
from tests.support.sources import register_sqlite


def _job_events(ctx, job_id: str) -> list[dict]:
    """The events about `job_id` in the outbox, in the order they were written."""
    documents = [json.loads(row.event) for row in outbox(ctx) if row.type.startswith("catalog.job.")]
    return [document for document in documents if document["data"]["job_id"] == job_id]


def _record(ctx, job_id: str) -> Job:
    with ctx.db.session() as session:
        job = session.get(Job, job_id)
        session.expunge(job)
        return job


def _assert_started_progress_succeeded(ctx, job_id: str, kind: str) -> list[dict]:
    events = _job_events(ctx, job_id)
    types = [event["type"] for event in events]
    progress = [event["data"] for event in events if event["type"] == "catalog.job.progress"]
    assert types == ["catalog.job.started", *["catalog.job.progress"] * len(progress), "catalog.job.succeeded"]
    assert progress, types
    for event in events:
        validate(event)
    job = _record(ctx, job_id)
    started = events[0]["data"]
    assert (started["kind"], started["attempt"], started["worker"]) == (kind, job.attempts, job.worker)
    assert {event.get("actor") for event in events} == {job.actor}  # the requester's, the claim's event included
    # The last figures published are the job's own, as its row holds them.
    assert (progress[-1]["done"], progress[-1]["total"]) == (job.progress_done, job.progress_total), progress
    assert all(p["status"] == "running" and p["kind"] == kind for p in progress)
    return progress


def test_crawl_and_profile_publish_started_then_progress_then_succeeded(ctx, tmp_path):
    source_id = register_sqlite(ctx, tmp_path)
    crawl = crawled(ctx, source_id)
    progress = _assert_started_progress_succeeded(ctx, crawl.id, "crawl")
    assert progress[-1]["total"] == crawl.result["tables_created"] + crawl.result["tables_unchanged"]

    profile = jobs.wait_for_job(ctx, profiling.request_profile(ctx, source_id).id, timeout=300)
    assert profile.status == "succeeded", (profile.error_code, profile.error_message)
    progress = _assert_started_progress_succeeded(ctx, profile.id, "profile")
    assert progress[-1]["done"] == progress[-1]["total"] == len(profile.result["tables"])


def test_a_job_reporting_in_a_tight_loop_publishes_a_bounded_number_of_progress_events(ctx, tmp_path):
    reports = 1000

    def report_often(_ctx, job):
        for done in range(1, reports + 1):
            job.progress(done, reports, f"item {done}")
        return {"reported": reports}

    ctx.handlers["report_often"] = report_often
    source_id = register_sqlite(ctx, tmp_path)
    began = time.monotonic()
    job = jobs.wait_for_job(ctx, jobs.enqueue_job(ctx, "report_often", source_id).id, timeout=120)
    elapsed = time.monotonic() - began
    assert job.status == "succeeded", (job.error_code, job.error_message)
    published = [event["data"] for event in _job_events(ctx, job.id) if event["type"] == "catalog.job.progress"]
    # The first report, at most one a second after it, and the last one (held back) before the outcome.
    assert len(published) <= 2 + elapsed / PROGRESS_EVENT_INTERVAL_S, (len(published), elapsed)
    assert published[0]["done"] == 1 and (published[-1]["done"], published[-1]["total"]) == (reports, reports)
    assert published[-1]["message"] == f"item {reports}"


def test_a_failed_job_publishes_started_then_failed(ctx, tmp_path):
    source_id = register_sqlite(ctx, tmp_path)
    (tmp_path / "shop.db").write_bytes(b"this is not a SQLite database" * 100)
    job = crawled(ctx, source_id, expect="failed")
    events = _job_events(ctx, job.id)
    assert [event["type"] for event in events if event["type"] != "catalog.job.progress"] == [
        "catalog.job.started", "catalog.job.failed"]
    assert events[0]["type"] == "catalog.job.started" and events[-1]["type"] == "catalog.job.failed"
    assert events[-1]["data"]["error_code"] == job.error_code


OPERATOR = Identity(subject="k7", name="ops", method="api_key", roles=frozenset({"operator"}))


def test_a_queued_job_cancelled_publishes_cancelled_naming_who_cancelled_it(ctx, tmp_path):
    ctx.handlers["never_claimed"] = lambda _ctx, _job: {}
    ctx.settings.job_concurrency = {**ctx.settings.job_concurrency, "never_claimed": 0}  # it stays queued
    job = jobs.enqueue_job(ctx, "never_claimed", register_sqlite(ctx, tmp_path))
    with acting_as(OPERATOR):
        assert jobs.cancel_job(ctx, job.id).status == "cancelled"
        jobs.cancel_job(ctx, job.id)  # asked again: nothing more happens
    events = _job_events(ctx, job.id)
    assert [event["type"] for event in events] == ["catalog.job.cancelled"]
    validate(events[0])
    record = _record(ctx, job.id)
    assert events[0]["actor"] == "api_key:k7"  # written in the canceller's transaction
    assert events[0]["data"] == {
        "job_id": job.id, "kind": "never_claimed", "trigger": "manual", "attempts": 0, "started_at": None,
        "finished_at": record.finished_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "duration_s": None,
        "cancelled_by": "api_key:k7", "status_at_cancel": "queued", "done_at_cancel": 0, "total_at_cancel": 0}


def test_a_running_job_cancelled_publishes_cancelled_when_it_stops_with_its_progress_at_the_request(ctx, tmp_path):
    reported, cancelled = threading.Event(), threading.Event()

    def stops_when_told(_ctx, job):
        job.progress(4, 10, "first batch")
        reported.set()
        cancelled.wait(60)
        job.progress(5, 10, "second batch")  # sees the cancellation: the attempt stops here
        return {"finished": True}

    ctx.handlers["stops_when_told"] = stops_when_told
    job = jobs.enqueue_job(ctx, "stops_when_told", register_sqlite(ctx, tmp_path))
    assert reported.wait(60)
    with acting_as(OPERATOR):
        assert jobs.cancel_job(ctx, job.id).status == "running"  # asked; it ends at its next report
    cancelled.set()
    assert jobs.wait_for_job(ctx, job.id, timeout=60).status == "cancelled"

    events = _job_events(ctx, job.id)
    assert [event["type"] for event in events] == [
        "catalog.job.started", "catalog.job.progress", "catalog.job.cancelled"]
    for event in events:
        validate(event)
    record = _record(ctx, job.id)
    ended = events[-1]
    # Written by the attempt, acting for the job's requester; the data names who cancelled it.
    assert ended["actor"] == record.actor != "api_key:k7"
    assert (ended["data"]["cancelled_by"], ended["data"]["status_at_cancel"]) == ("api_key:k7", "running")
    assert (ended["data"]["done_at_cancel"], ended["data"]["total_at_cancel"]) == (4, 10)
    assert (ended["data"]["attempts"], record.error_code) == (record.attempts, "cancelled") == (1, "cancelled")
