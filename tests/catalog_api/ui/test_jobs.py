"""The table page's Jobs tab: the source's recent jobs and schedule, and "Profile now", whose job the page follows
through the live event stream to its end; the Profile tab then shows the new run. Profiles `payments` (the table
the profile and jobs tests own)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from catalog_api.db.models import DataSource, Job, TableProfileRow
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
    # It was seen queued (or already running), then succeeded, which the stream told the page (no polling).
    assert steps[0][0] in ("queued", "running") and steps[-1] == ("succeeded", "stream"), steps
    assert all(via != "polling" for _, via in steps)
    job_id = progress.get_attribute("data-job")
    with site.ctx.db.session() as session:
        job = session.get(Job, job_id)
        run = session.scalars(select(TableProfileRow).where(TableProfileRow.job_id == job_id)).one()
    assert job.kind == "profile" and job.status == "succeeded"
    expect(jobs.locator(f"tr[data-job='{job_id}']")).to_contain_text("succeeded")
    ui.screenshot("table-jobs")

    page.get_by_role("tab", name="Profile").click()
    shown = page.get_by_label("Latest profile").locator("time")
    expect(shown).to_have_text(run.started_at.strftime("%Y-%m-%d %H:%M UTC"))
    ui.assert_clean()


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
