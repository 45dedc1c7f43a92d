"""The in-process runner tells whoever follows a job in the same process (`catalog crawl --wait`, `wait_for_job`)
that an attempt ended, so the outcome is read at once instead of at the next poll."""

from __future__ import annotations

import time

from catalog_api.services.crawl import request_crawl
from catalog_api.services.jobs import get_job
from catalog_api.services.sources import SourceRegistration, register_source
from tests.support.sources import sqlite_shop


def test_an_ended_attempt_wakes_its_follower_with_the_outcome_already_recorded(catalog_ctx, tmp_path):
    register_source(catalog_ctx, SourceRegistration(name="shop", kind="sqlite",
                                                    config={"path": str(sqlite_shop(tmp_path / "shop.db"))}))
    seen = catalog_ctx.jobs.attempts_ended
    job = request_crawl(catalog_ctx, "shop")
    started = time.monotonic()
    catalog_ctx.jobs.wait_for_attempt_end(seen, timeout_s=120)
    assert time.monotonic() - started < 120  # woken by the attempt's end, not by the timeout
    assert catalog_ctx.jobs.attempts_ended == seen + 1
    with catalog_ctx.db.session() as session:
        ended = get_job(session, job.id)
    assert ended.status == "succeeded" and ended.result["tables_created"] == 3  # no further read was needed


def test_a_wait_with_no_attempt_ending_returns_at_its_timeout(catalog_ctx):
    seen = catalog_ctx.jobs.attempts_ended
    catalog_ctx.jobs.wait_for_attempt_end(seen, timeout_s=0.05)
    assert catalog_ctx.jobs.attempts_ended == seen
