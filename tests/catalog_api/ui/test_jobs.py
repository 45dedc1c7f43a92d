"""The table page's Jobs tab: the source's recent jobs and schedule, and "Profile now", whose job the page follows
through the live event stream to its end; the Profile tab then shows the new run. Profiles `payments` (the table
the profile and jobs tests own)."""

from __future__ import annotations

import threading
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from catalog_api.db.models import DataSource, Job, TableProfileRow
from catalog_api.services.jobs import cancel_job, enqueue_job, wait_for_job
from catalog_api.services.jobs.job_events import PROGRESS_EVENT_INTERVAL_S
from catalog_api.urns import dataset_urn
from tests.support.auth import key_holder, requiring_auth
from tests.support.server import serve
from tests.support.ui import DEMO_SOURCE, table_address, ui_session

PAYMENTS = dataset_urn(DEMO_SOURCE, "main", "payments")


def test_profile_now_follows_the_job_live_to_succeeded(ui, site):
    page = ui.open(table_address(PAYMENTS, "jobs"))
    page.get_by_text("Live updates on").wait_for()
    jobs = page.get_by_role("table", name="Recent jobs of demo_erp")
    with site.ctx.db.session() as session:
        before = session.scalars(select(Job.id).join(DataSource, DataSource.id == Job.source_id)
                                 .where(DataSource.name == DEMO_SOURCE)).all()
    assert jobs.locator("tbody tr").count() == min(len(before), 25)

    page.get_by_role("button", name="Profile now").click()
    progress = page.get_by_role("status", name="Profile job")
    expect(progress.locator(".job-status")).to_have_text("succeeded", timeout=120_000)
    steps = [(step.get_attribute("data-status"), step.get_attribute("data-via"))
             for step in progress.locator("li[data-status]").all()]
    # It was seen queued, then running and succeeded, both of which the stream told the page (no polling).
    assert steps == [("queued", "request"), ("running", "stream"), ("succeeded", "stream")], steps
    running = progress.locator("li[data-status='running']")
    shown = (int(running.get_attribute("data-done")), int(running.get_attribute("data-total")))
    job_id = progress.get_attribute("data-job")
    with site.ctx.db.session() as session:
        job = session.get(Job, job_id)
        run = session.scalars(select(TableProfileRow).where(TableProfileRow.job_id == job_id)).one()
    assert job.kind == "profile" and job.status == "succeeded"
    # The progress the stream showed while it ran, before succeeded: the job's own final figures (one table).
    assert shown == (job.progress_done, job.progress_total) == (1, 1)
    expect(running).to_contain_text("1 of 1")
    expect(progress.get_by_label("Progress of the profile job")).to_have_attribute("value", "1")
    expect(jobs.locator(f"tr[data-job='{job_id}']")).to_contain_text("succeeded")
    ui.screenshot("table-jobs")

    page.get_by_role("tab", name="Profile").click()
    shown = page.get_by_label("Latest profile").locator("time")
    expect(shown).to_have_text(run.started_at.strftime("%Y-%m-%d %H:%M UTC"))
    ui.assert_clean()


def test_a_followed_job_cancelled_elsewhere_shows_cancelled_from_the_stream(ui, site):
    """Someone cancels the job the page started (from the command line, say): its cancelled event ends it on the
    page, as succeeded and failed do."""
    limits = site.ctx.settings.job_concurrency
    site.ctx.settings.job_concurrency = {**limits, "profile": 0}  # the profile job stays queued
    try:
        page = ui.open(table_address(PAYMENTS, "jobs"))
        page.get_by_text("Live updates on").wait_for()
        page.get_by_role("button", name="Profile now").click()
        progress = page.get_by_role("status", name="Profile job")
        expect(progress.locator(".job-status")).to_have_text("queued")
        job_id = progress.get_attribute("data-job")
        assert cancel_job(site.ctx, job_id).status == "cancelled"  # what `catalog jobs cancel` calls
        expect(progress.locator(".job-status")).to_have_text("cancelled")
    finally:
        site.ctx.settings.job_concurrency = limits
    steps = [(step.get_attribute("data-status"), step.get_attribute("data-via"))
             for step in progress.locator("li[data-status]").all()]
    assert steps == [("queued", "request"), ("cancelled", "stream")], steps
    expect(progress.get_by_role("alert")).to_have_text("cancelled before it started")  # the job's own record
    expect(page.get_by_role("button", name="Profile now")).to_be_enabled()
    row = page.get_by_role("table", name="Recent jobs of demo_erp").locator(f"tr[data-job='{job_id}']")
    expect(row.locator(".status")).to_have_text("cancelled")
    ui.assert_clean()


def test_a_running_job_of_the_source_shows_its_progress_from_the_stream(ui, site):
    """A job the page did not start (a crawl on a worker, say) is listed as running, with a bar its progress events
    move on, without the list being read again; it ends succeeded."""
    steps = [threading.Event() for _ in range(2)]

    def reported_in_steps(_ctx, job):
        job.progress(3, 10, "first batch")
        steps[0].wait(60)
        time.sleep(PROGRESS_EVENT_INTERVAL_S)  # so the next report is published at once, not held back
        job.progress(7, 10, "second batch")
        steps[1].wait(60)
        return {"batches": 2}

    site.ctx.handlers["ui_test_batches"] = reported_in_steps
    page = ui.open(table_address(PAYMENTS, "jobs"))
    page.get_by_text("Live updates on").wait_for()
    try:
        job_id = enqueue_job(site.ctx, "ui_test_batches", _demo_source_id(site)).id
        row = page.get_by_role("table", name="Recent jobs of demo_erp").locator(f"tr[data-job='{job_id}']")
        expect(row).to_contain_text("running")
        bar = row.get_by_label(f"Progress of ui_test_batches job {job_id[:8]}")
        expect(bar).to_have_attribute("value", "3")
        reads = []
        page.on("request", lambda request: reads.append(request.post_data or "")
                if request.url.endswith("/graphql") else None)
        steps[0].set()
        expect(bar).to_have_attribute("value", "7")
        expect(row).to_contain_text("7 of 10")
        assert not [body for body in reads if "SourceJobs" in body]  # the stream moved the bar, not a new read
        ui.screenshot("table-jobs-running")
        with site.ctx.db.session() as session:
            assert (session.get(Job, job_id).progress_done, session.get(Job, job_id).progress_total) == (7, 10)
    finally:
        for step in steps:
            step.set()
    assert wait_for_job(site.ctx, job_id, timeout=60).status == "succeeded"
    expect(row).to_contain_text("succeeded")
    ui.assert_clean()


def _demo_source_id(site) -> int:
    with site.ctx.db.session() as session:
        return session.scalars(select(DataSource.id).where(DataSource.name == DEMO_SOURCE)).one()


def test_without_the_stream_the_page_asks_for_the_job_until_it_ends(ui, site):
    """A network that drops the event stream (a proxy buffering it, say): the job is still followed, by polling."""
    ui.page.route("**/api/v1/events/stream*", lambda route: route.abort("aborted"))
    page = ui.open(table_address(PAYMENTS, "jobs"))
    page.get_by_text("Connecting to live updates…").wait_for()
    page.get_by_role("button", name="Profile now").click()
    progress = page.get_by_role("status", name="Profile job")
    expect(progress.locator(".job-status")).to_have_text("succeeded", timeout=120_000)
    assert progress.locator("li[data-status]").last.get_attribute("data-via") == "polling"
    with site.ctx.db.session() as session:
        assert session.get(Job, progress.get_attribute("data-job")).status == "succeeded"
    ui.assert_clean()

@pytest.mark.parametrize(("role", "offered"), [("viewer", False), ("curator", False), ("operator", True)])
def test_only_an_operator_is_offered_profile_now(site, chromium_browser, role, offered):
    from catalog_api.app import create_app

    holder = key_holder(site.ctx, f"ui-jobs-{role}", [role])
    with serve(create_app(ctx=requiring_auth(site.ctx))) as url, ui_session(chromium_browser, url) as ui:
        ui.page.add_init_script(f"sessionStorage.setItem('catalog.credential', {holder.secret!r})")
        page = ui.open(table_address(PAYMENTS, "jobs"))
        page.get_by_role("table", name="Recent jobs of demo_erp").wait_for()
        assert page.get_by_role("button", name="Profile now").count() == (1 if offered else 0)
        ui.assert_clean()
