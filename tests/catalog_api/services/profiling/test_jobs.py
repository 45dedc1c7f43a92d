"""Profile jobs through the service: statistics checked against PostgreSQL's own aggregates, history, anomalies
and their events, PII tags, keys, lake reads, reports, and failures that store nothing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from catalog_api.db.models import OutboxEvent, TableProfileRow, Tag
from catalog_api.errors import NotFound
from catalog_api.services import profiling
from catalog_api.services.crawl import request_crawl
from catalog_api.services.extraction import request_extract, set_extraction_plan
from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.urns import column_urn, dataset_urn
from events.schemas import validate
from tests.support.catalog import query
from tests.support.jobs import finished as _run
from tests.support.jobs import reports_rendered
from tests.support.postgres import pg_execute, pg_query

pytestmark = pytest.mark.postgres

SHOP = """
create schema shop;
create table shop.customers (
    id bigint primary key, email text, name text not null, signed_up timestamptz not null
);
create table shop.orders (
    id bigint primary key, customer_id bigint, total numeric(12, 2), placed_at timestamptz not null
);
insert into shop.customers
    select g, 'user' || g || '@example.com', 'Customer ' || g, timestamptz '2026-01-01' + g * interval '1 hour'
    from generate_series(1, 400) g;
-- Order ids start far above customer ids, so customer_id is contained in customers.id only.
insert into shop.orders
    select 100000 + g, 1 + (g * 7) % 400, case when g % 10 = 0 then null else (g % 97) * 1.5 end,
           timestamptz '2026-02-01' + g * interval '1 minute'
    from generate_series(1, 3000) g;
"""


@pytest.fixture
def shop(catalog_ctx, make_pg_database, spark):
    config = make_pg_database(SHOP)
    source = register_source(catalog_ctx, SourceRegistration(name="shop", kind="postgres", config=config))
    assert _run(catalog_ctx, request_crawl(catalog_ctx, source.id)).status == "succeeded"
    return source, config


def _profile(ctx, source_id, tables=None):
    """A profile job that succeeded, once the report job it queued has rendered its reports too."""
    job = _run(ctx, profiling.request_profile(ctx, source_id, tables))
    assert job.status == "succeeded", (job.error_code, job.error_message)
    reports_rendered(ctx, job)
    return job


def _events(ctx, type_: str) -> list[dict]:
    with ctx.db.session() as session:
        rows = session.scalars(select(OutboxEvent).where(OutboxEvent.type == type_).order_by(OutboxEvent.id))
        return [json.loads(r.event) if isinstance(r.event, str) else r.event for r in rows]


@pytest.mark.parametrize("in_process", [True, False], ids=["in_process", "spark"])
def test_profile_of_a_source_matches_postgres_aggregates_and_tags_pii(catalog_ctx, shop, in_process):
    source, config = shop
    if not in_process:  # small tables are profiled in-process unless the threshold sends them to Spark
        catalog_ctx.settings.profile_in_process_max_cells = 0
    job = _profile(catalog_ctx, source.id)
    assert {t["urn"] for t in job.result["tables"]} == {dataset_urn("shop", "shop", "customers"),
                                                        dataset_urn("shop", "shop", "orders")}
    assert all(t["read_from"] == "source" for t in job.result["tables"])

    orders = query(catalog_ctx, profiling.latest_profile, dataset_urn("shop", "shop", "orders"))
    (expected,) = pg_query(config, """
        select count(*), count(total), count(distinct total), min(total), max(total), sum(total), avg(total),
               stddev_samp(total), count(distinct customer_id), min(placed_at), max(placed_at)
        from shop.orders""")
    rows, non_null, distinct, low, high, total, mean, stddev, customers, first, last = expected
    assert orders.row_count == rows == 3000 and orders.column_count == 4
    stats = {c.name: c.stats for c in orders.columns}
    amount = stats["total"]
    assert (amount["count"], amount["null_count"], amount["distinct_count"]) == (non_null, rows - non_null, distinct)
    assert Decimal(amount["min"]) == low and Decimal(amount["max"]) == high and Decimal(amount["sum"]) == total
    assert amount["mean"] == pytest.approx(float(mean), rel=1e-9)
    assert amount["stddev"] == pytest.approx(float(stddev), rel=1e-9)
    assert stats["customer_id"]["distinct_count"] == customers
    assert (stats["placed_at"]["min"], stats["placed_at"]["max"]) == (first.isoformat(), last.isoformat())
    assert orders.columns[0].column_urn == column_urn("shop", "shop", "orders", "id")
    # On Spark: the statistics pass, and the values pass when a column needs it.
    assert (orders.spark_jobs == 0) if in_process else (orders.spark_jobs in (1, 2))

    # Keys found on the data: the primary keys, and orders.customer_id -> customers.id by containment.
    # placed_at is one order per minute, unique on the data, but a timestamp never identifies a row.
    assert {(tuple(k["columns"]), k["declared"]) for k in orders.candidate_keys if k["verified"]} == {
        (("id",), True)}
    confirmed = [fk for fk in orders.foreign_keys if fk["confirmed"]]
    assert [(fk["child_columns"], fk["parent_table"], fk["parent_columns"]) for fk in confirmed] == [
        (["customer_id"], dataset_urn("shop", "shop", "customers"), ["id"])]

    # The email column holds emails only: the profile tags it, and the tag is a real catalog tag with its event.
    email = column_urn("shop", "shop", "customers", "email")
    with catalog_ctx.db.session() as session:
        assert set(session.scalars(select(Tag.tag).where(Tag.entity_urn == email))) == {"pii.email"}
    assert [e["subject"] for e in _events(catalog_ctx, "catalog.tags.changed")] == [email]

    completed = _events(catalog_ctx, "catalog.profile.completed")
    assert sorted(e["subject"] for e in completed) == sorted(t["urn"] for t in job.result["tables"])
    for event in completed:
        validate(event)
        assert event["data"]["job_id"] == job.id and event["data"]["anomaly_count"] == 0
    assert next(e for e in completed if e["subject"].endswith(":orders"))["data"]["row_count"] == rows

    html = query(catalog_ctx, profiling.profile_report, catalog_ctx.settings, dataset_urn("shop", "shop", "orders"))
    assert "<html" in html.lower() and "customer_id" in html


def test_anomalies_from_a_series_of_profiles_are_stored_and_become_events(catalog_ctx, shop):
    source, config = shop
    customers = dataset_urn("shop", "shop", "customers")
    catalog_ctx.settings.profile_reports_kept = 2  # the in-process worker reads the same settings object
    for _ in range(2):  # a stable history raises nothing
        _profile(catalog_ctx, source.id, [customers])
    assert query(catalog_ctx, profiling.list_anomalies, table_urn=customers) == []

    pg_execute(config, "delete from shop.customers where id > 100; update shop.customers set email = null "
                       "where id % 2 = 0")
    job = _profile(catalog_ctx, source.id, [customers])
    found = query(catalog_ctx, profiling.list_anomalies, table_urn=customers)
    assert {(a.kind, a.column) for a in found} >= {("volume", None), ("null_rate", "email")}
    volume = next(a for a in found if a.kind == "volume")
    assert (volume.observed, volume.expected) == (100, 400) and volume.subject_urn == customers
    assert volume.expected_min <= 400 <= volume.expected_max and not volume.expected_min <= 100
    null_rate = next(a for a in found if a.kind == "null_rate")
    assert null_rate.subject_urn == column_urn("shop", "shop", "customers", "email")
    assert null_rate.observed == pytest.approx(0.5)

    events = [e for e in _events(catalog_ctx, "catalog.anomaly.detected") if e["data"]["job_id"] == job.id]
    assert sorted((e["data"]["metric"], e["subject"]) for e in events) == sorted(
        (a.kind, a.subject_urn) for a in found)
    for event in events:
        validate(event)
    latest = query(catalog_ctx, profiling.latest_profile, customers)
    assert latest.anomaly_count == len(found) == len(latest.anomalies)
    history = query(catalog_ctx, profiling.profile_history, customers)
    assert [p.row_count for p in history] == [100, 400, 400]
    # Only the newest reports are kept; the oldest run keeps its statistics without one.
    assert [p.has_report for p in history] == [True, True, False]
    older = query(catalog_ctx, profiling.profile_report, catalog_ctx.settings, customers, history[1].id)
    assert "<html" in older.lower()
    with pytest.raises(NotFound):
        query(catalog_ctx, profiling.profile_report, catalog_ctx.settings, customers, history[2].id)
    email = column_urn("shop", "shop", "customers", "email")
    column_history = query(catalog_ctx, profiling.column_profile_history, email)
    assert [c.stats["null_count"] for c in column_history] == [50, 0, 0]


def test_schema_drift_between_profiles_is_an_anomaly(catalog_ctx, shop):
    source, config = shop
    orders = dataset_urn("shop", "shop", "orders")
    _profile(catalog_ctx, source.id, [orders])
    pg_execute(config, "alter table shop.orders drop column total")
    assert _run(catalog_ctx, request_crawl(catalog_ctx, source.id)).status == "succeeded"
    _profile(catalog_ctx, source.id, [orders])
    drift = [a for a in query(catalog_ctx, profiling.list_anomalies, table_urn=orders) if a.kind == "schema_drift"]
    assert [(a.column, a.severity) for a in drift] == [("total", "critical")]


def test_a_fully_extracted_table_is_profiled_from_the_lake(catalog_ctx, shop):
    source, config = shop
    orders = dataset_urn("shop", "shop", "orders")
    set_extraction_plan(catalog_ctx, orders, "full", None)
    extract = _run(catalog_ctx, request_extract(catalog_ctx, source.id, [orders]))
    assert extract.status == "succeeded"
    (run,) = [t["run_id"] for t in extract.result["tables"]]
    pg_execute(config, "delete from shop.orders where id > 100010")  # the lake still holds what was extracted
    _profile(catalog_ctx, source.id, [orders])
    profile = query(catalog_ctx, profiling.latest_profile, orders)
    assert (profile.read_from, profile.lake_runs, profile.row_count) == ("lake", [run], 3000)


def test_thresholds_per_table_are_validated_and_used(catalog_ctx, shop):
    source, config = shop
    customers = dataset_urn("shop", "shop", "customers")
    with pytest.raises(Exception) as bad:
        profiling.set_anomaly_thresholds(catalog_ctx, customers, {"volume_change": -1})
    assert getattr(bad.value, "field", "") == "thresholds.volume_change"
    with pytest.raises(Exception) as unknown:
        profiling.set_anomaly_thresholds(catalog_ctx, customers, {"volume": 0.5})
    assert "volume" in str(unknown.value)
    settings = profiling.set_anomaly_thresholds(catalog_ctx, customers, {"volume_change": 0.9})
    assert settings["volume_change"] == 0.9 and settings["min_history"] == 5
    _profile(catalog_ctx, source.id, [customers])
    pg_execute(config, "delete from shop.customers where id > 200")  # -50 %: normal for this table now
    _profile(catalog_ctx, source.id, [customers])
    assert [a.kind for a in query(catalog_ctx, profiling.list_anomalies, table_urn=customers)] == []


def test_an_unreachable_source_fails_the_job_with_its_cause_and_stores_nothing(catalog_ctx, shop, pg_server):
    source, config = shop
    with catalog_ctx.db.session() as session:
        from catalog_api.db.models import DataSource

        session.get(DataSource, source.id).config = {**source.config, "port": 1}
    job = _run(catalog_ctx, profiling.request_profile(catalog_ctx, source.id))
    assert job.status == "failed" and job.error_code == "source_unreachable" and job.attempts == 3
    with catalog_ctx.db.session() as session:
        assert session.scalar(select(func.count()).select_from(TableProfileRow)) == 0
    assert _events(catalog_ctx, "catalog.profile.completed") == []


def test_deleting_the_source_while_it_is_profiled_cancels_the_job_and_says_why(catalog_ctx, shop, monkeypatch):
    from sqlalchemy import text

    from catalog_api.services.profiling import jobs as profile_jobs
    from catalog_api.services.sources import delete_source

    source, _ = shop
    real_read = profile_jobs.read_source

    def read_then_delete(*args, **kwargs):
        # Runs inside the job, after it read its source and before it profiles the first table.
        delete_source(catalog_ctx, source.id)
        return real_read(*args, **kwargs)

    monkeypatch.setattr(profile_jobs, "read_source", read_then_delete)
    job = _run(catalog_ctx, profiling.request_profile(catalog_ctx, source.id))
    with catalog_ctx.db.session() as session:
        row = session.execute(text("select status, error_code, error_message from jobs where id = :id"),
                              {"id": job.id}).one()
        assert session.scalar(text("select count(*) from data_sources where id = :id"), {"id": source.id}) == 0
        assert session.scalar(select(func.count()).select_from(TableProfileRow)) == 0
    assert tuple(row) == ("cancelled", "source_deleted", "cancelled: its source 'shop' was deleted")
    assert (job.status, job.error_code) == ("cancelled", "source_deleted")
