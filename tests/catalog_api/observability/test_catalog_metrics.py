"""/metrics after real crawl jobs (SQLite sources) and real outbox events: job outcomes, durations and tables
against the job rows in the catalog; the outbox backlog, its oldest event and deliveries per sink against SQL on
the outbox; broker queue depth against the messages the catalog queued on a real Redis broker."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from catalog_api.bootstrap import JOB_QUEUES, build_context
from catalog_api.db.models import utcnow
from catalog_api.services.events.publishers import NamedPublisher
from catalog_api.services.events.relay import Relay
from events import JsonLinesPublisher
from tests.support.api import API_HEADERS, app_with
from tests.support.jobs import rest_crawl
from tests.support.metrics import redis_broker_context, scrape
from tests.support.sources import SHOP, register_sqlite
from tests.support.sqlite import oracle

REDIS_URL = "redis://127.0.0.1:6379/12"  # a database of its own: no worker of another test consumes from it


@pytest.fixture
def client(catalog_ctx):
    # No relay: the outbox keeps what the crawls wrote until the test runs a relay round itself.
    with TestClient(app_with(catalog_ctx, events_relay_enabled=False), headers=API_HEADERS) as client:
        yield client


def _sql(ctx, sql: str) -> list[tuple]:
    with ctx.db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def test_crawl_jobs_are_counted_with_their_durations_and_tables(client, catalog_ctx, tmp_path):
    source_id = register_sqlite(catalog_ctx, tmp_path, ddl=SHOP)
    before = scrape(client)
    rest_crawl(client, source_id)
    rest_crawl(client, source_id)
    after = scrape(client)

    def delta(name: str, /, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    (succeeded,), = _sql(catalog_ctx, "select count(*) from jobs where kind = 'crawl' and status = 'succeeded'")
    assert succeeded == 2
    assert delta("catalog_jobs_finished_total", kind="crawl", status="succeeded") == succeeded
    assert delta("catalog_job_duration_seconds_count", kind="crawl", status="succeeded") == succeeded
    started_finished = _sql(catalog_ctx, "select started_at, finished_at from jobs where kind = 'crawl'")
    durations = sum((_as_datetime(f) - _as_datetime(s)).total_seconds() for s, f in started_finished)
    assert delta("catalog_job_duration_seconds_sum", kind="crawl", status="succeeded") == pytest.approx(durations,
                                                                                                          abs=1e-3)
    (tables,), = oracle(tmp_path / "shop.db", "select count(*) from sqlite_master where type in ('table', 'view')")
    assert delta("catalog_crawl_tables_total", outcome="created") == tables  # the first crawl
    assert delta("catalog_crawl_tables_total", outcome="unchanged") == tables  # the second


def _as_datetime(value) -> datetime:
    """A timestamp as the catalog database returns it (SQLite: naive ISO text in UTC)."""
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def test_outbox_backlog_and_oldest_pending_age_match_the_outbox(client, catalog_ctx, tmp_path):
    rest_crawl(client, register_sqlite(catalog_ctx, tmp_path, ddl=SHOP))
    (pending,), = _sql(catalog_ctx, "select count(*) from event_outbox where status = 'pending'")
    assert pending > 0
    (oldest,), = _sql(catalog_ctx, "select min(created_at) from event_outbox where status = 'pending'")
    low = (utcnow() - _as_datetime(oldest)).total_seconds()
    metrics = scrape(client)
    high = (utcnow() - _as_datetime(oldest)).total_seconds()
    assert metrics.value("catalog_outbox_events", status="pending") == pending
    assert metrics.value("catalog_outbox_events", status="dead") == 0
    assert low <= metrics.value("catalog_outbox_oldest_pending_age_seconds") <= high
    assert metrics.value("catalog_jobs", kind="crawl", status="queued") == 0

    Relay(catalog_ctx).run_once()
    (sent,), = _sql(catalog_ctx, "select count(*) from event_outbox where status = 'sent'")
    assert sent == pending
    emptied = scrape(client)
    assert emptied.value("catalog_outbox_events", status="pending") == 0
    assert emptied.value("catalog_outbox_oldest_pending_age_seconds") == 0


def test_deliveries_and_failures_are_counted_per_sink(client, catalog_ctx, tmp_path):
    rest_crawl(client, register_sqlite(catalog_ctx, tmp_path, ddl=SHOP))
    (pending,), = _sql(catalog_ctx, "select count(*) from event_outbox where status = 'pending'")
    before = scrape(client)
    # A JSON Lines file that cannot be written (its path is a folder): every event fails on that sink only.
    unwritable = tmp_path / "events-folder"
    unwritable.mkdir()
    Relay(catalog_ctx, publishers=[NamedPublisher("bus", catalog_ctx.bus, owned=False),
                                   NamedPublisher("broken-file", JsonLinesPublisher(unwritable))]).run_once()
    after = scrape(client)

    def delta(name: str, /, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    (retried,), = _sql(catalog_ctx, "select count(*) from event_outbox where status = 'pending' and attempts = 1")
    assert retried == pending
    assert delta("catalog_event_deliveries_total", sink="bus", outcome="delivered") == pending
    assert delta("catalog_event_deliveries_total", sink="broken-file", outcome="failed") == pending
    assert delta("catalog_event_deliveries_total", sink="broken-file", outcome="delivered") == 0


@pytest.fixture
def broker_ctx(catalog_settings):
    with redis_broker_context(catalog_settings, REDIS_URL) as ctx:
        yield ctx


def test_broker_queue_depth_and_queued_jobs_match_what_was_queued(broker_ctx, tmp_path):
    with TestClient(app_with(broker_ctx), headers=API_HEADERS) as client:
        for name in ("north", "south", "east"):
            source_id = register_sqlite(broker_ctx, tmp_path, name=name)
            assert client.post(f"/api/v1/sources/{source_id}/crawl").status_code == 202
        # No worker runs: every crawl waits in the broker.
        time.sleep(0.2)
        metrics = scrape(client)
    queued = dict(_sql(broker_ctx, "select kind, count(*) from jobs where status = 'queued' group by kind"))
    assert queued == {"crawl": 3}
    assert metrics.value("catalog_jobs", kind="crawl", status="queued") == 3
    assert metrics.value("catalog_jobs", kind="crawl", status="running") == 0
    assert metrics.value("catalog_broker_queue_messages", queue=JOB_QUEUES["crawl"], state="ready") == 3
    assert metrics.value("catalog_broker_queue_messages", queue=JOB_QUEUES["crawl"], state="delayed") == 0


LEDGER = """
create table accounts (id integer primary key, name text not null);
create table entries (id integer primary key, account_id integer not null, amount real);
with recursive n(i) as (select 1 union all select i + 1 from n where i < 120)
insert into accounts select i, 'account ' || i from n;
with recursive n(i) as (select 1 union all select i + 1 from n where i < 700)
insert into entries select i, 1 + i % 120, i * 0.5 from n;
"""


@pytest.fixture
def quick_ctx(catalog_settings):
    ctx = build_context(catalog_settings.model_copy(update={"profile_reports_enabled": False,
                                                            "events_relay_enabled": False}), migrate=True)
    yield ctx
    ctx.close()


def test_profile_jobs_are_counted_with_the_rows_they_read(quick_ctx, spark, tmp_path):
    from catalog_api.services.profiling import request_profile
    from tests.support.jobs import crawled, finished

    source_id = register_sqlite(quick_ctx, tmp_path, name="ledger", ddl=LEDGER)
    crawled(quick_ctx, source_id)
    with TestClient(app_with(quick_ctx), headers=API_HEADERS) as client:
        before = scrape(client)
        assert finished(quick_ctx, request_profile(quick_ctx, source_id)).status == "succeeded"
        after = scrape(client)
    rows = sum(oracle(tmp_path / "ledger.db", f"select count(*) from {table}")[0][0]
               for table in ("accounts", "entries"))
    assert rows == 820
    assert after.value("catalog_job_rows_total", kind="profile") - before.value("catalog_job_rows_total",
                                                                                 kind="profile") == rows
    (profiles,), = _sql(quick_ctx, "select count(*) from jobs where kind = 'profile' and status = 'succeeded'")
    succeeded = {"kind": "profile", "status": "succeeded"}
    assert (after.value("catalog_jobs_finished_total", **succeeded)
            - before.value("catalog_jobs_finished_total", **succeeded)) == profiles == 1
    assert (after.value("catalog_job_duration_seconds_count", **succeeded)
            - before.value("catalog_job_duration_seconds_count", **succeeded)) == 1
