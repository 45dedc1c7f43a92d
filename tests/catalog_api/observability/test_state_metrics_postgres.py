"""The scrape-time gauges on a PostgreSQL catalog: the same outbox oracle as on SQLite, and a scrape that stays
answerable while the outbox is locked (its queries run under `metrics_query_timeout_ms`, the rest still shows)."""

from __future__ import annotations

import threading

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from catalog_api.bootstrap import build_context
from tests.support.api import API_HEADERS, app_with
from tests.support.jobs import rest_crawl
from tests.support.metrics import scrape
from tests.support.sources import SHOP, register_sqlite

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_ctx(catalog_settings, pg_catalog_url):
    ctx = build_context(catalog_settings.model_copy(update={
        "database_url": pg_catalog_url, "events_relay_enabled": False, "metrics_query_timeout_ms": 300}),
        migrate=True)
    yield ctx
    ctx.close()


def test_outbox_backlog_on_postgres_matches_the_outbox(pg_ctx, tmp_path):
    with TestClient(app_with(pg_ctx), headers=API_HEADERS) as client:
        rest_crawl(client, register_sqlite(pg_ctx, tmp_path, ddl=SHOP))
        with pg_ctx.db.engine.connect() as connection:
            pending = connection.execute(text("select count(*) from event_outbox where status = 'pending'")).scalar()
        metrics = scrape(client)
    assert pending > 0
    assert metrics.value("catalog_outbox_events", status="pending") == pending
    assert metrics.value("catalog_outbox_oldest_pending_age_seconds") > 0


def test_a_locked_outbox_leaves_its_gauges_out_of_the_scrape_instead_of_hanging_it(pg_ctx, tmp_path):
    url = make_url(pg_ctx.db.url)
    with TestClient(app_with(pg_ctx), headers=API_HEADERS) as client:
        assert client.get("/healthz").status_code == 200
        before = scrape(client)
        with psycopg.connect(host=url.host, port=url.port, user=url.username, dbname=url.database) as locker:
            locker.execute("lock table event_outbox in access exclusive mode")  # held until this block ends
            answered: list = []
            scraper = threading.Thread(target=lambda: answered.append(scrape(client)), daemon=True)
            scraper.start()
            scraper.join(timeout=30)
            assert answered, "the scrape waited for the lock"
        locked = answered[0]
        after = scrape(client)
    assert "catalog_outbox_events" not in locked.names()
    assert locked.value("catalog_metrics_scrape_errors_total", part="database") == (
        before.value("catalog_metrics_scrape_errors_total", part="database") + 1)
    healthz = {"method": "GET", "route": "/healthz", "status": "200"}
    assert locked.value("catalog_http_requests_total", **healthz) == before.value("catalog_http_requests_total",
                                                                                  **healthz)  # still there
    assert after.value("catalog_outbox_events", status="pending") == 0  # the lock gone, the gauges are back
