"""Freshness and custom-SQL rules evaluated by a `quality` job against real PostgreSQL and MariaDB sources: observed
values checked against the source's own max() and count(), a query cancelled by the statement timeout failing only
its rule, the scheduler queueing freshness checks when due, and one event per transition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from catalog_api.services import quality
from catalog_api.services.jobs.schedules import tick
from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.urns import dataset_urn
from tests.support.catalog import crawl
from tests.support.jobs import finished
from tests.support.mariadb import make_mariadb_database, mariadb_execute, mariadb_query, mariadb_server  # noqa: F401
from tests.support.quality import latest_result, result_events, run_quality

PG_DDL = """
create table customers (id bigint primary key, email text);
create table orders (id bigint primary key, customer_id bigint, total numeric(12, 2), placed_at timestamptz);
create table events (id bigint primary key, at timestamp without time zone);
insert into customers select g, 'c' || g || '@example.com' from generate_series(1, 5) g;
insert into orders select g, case when g % 4 = 0 then 90 + g else g % 5 + 1 end, g * 1.5,
                          now() - (g || ' hours')::interval from generate_series(2, 30) g;
insert into events select g, (now() at time zone 'utc') - (g || ' days')::interval from generate_series(3, 6) g;
"""
ORPHANS = ("SELECT o.id, o.customer_id FROM public.orders o LEFT JOIN public.customers c ON c.id = o.customer_id "
           "WHERE c.id IS NULL ORDER BY o.id")


def pg_connect(config: dict) -> psycopg.Connection:
    return psycopg.connect(host=config["host"], port=config["port"], user=config["user"], dbname=config["database"],
                           autocommit=True)


def pg_scalar(config: dict, sql: str):
    with pg_connect(config) as conn:
        return conn.execute(sql).fetchone()[0]


def pg_execute(config: dict, sql: str) -> None:
    with pg_connect(config) as conn:
        conn.execute(sql)


def register(ctx, name: str, kind: str, config: dict) -> int:
    source = register_source(ctx, SourceRegistration(name=name, kind=kind, config=config))
    crawl(ctx, source.id)
    return source.id


def run(ctx, source_id: int, tables: list[str] | None = None):
    return run_quality(ctx, source_id, tables)


latest = latest_result


@pytest.fixture
def shop(catalog_ctx, make_pg_database):
    config = make_pg_database(PG_DDL)
    source_id = register(catalog_ctx, "shop", "postgres", {**config, "statement_timeout_ms": 1000})
    orders, events = dataset_urn("shop", "public", "orders"), dataset_urn("shop", "public", "events")
    quality.add_rule(catalog_ctx, orders, {"name": "fresh", "kind": "freshness", "column": "placed_at",
                                           "params": {"max_age": "6h"}})
    quality.add_rule(catalog_ctx, orders, {"name": "no_orphans", "kind": "custom_sql", "params": {"sql": ORPHANS}})
    quality.add_rule(catalog_ctx, events, {"name": "fresh", "kind": "freshness", "column": "at",
                                           "params": {"max_age": "2d"}})
    return catalog_ctx, config, source_id, orders, events


def test_postgres_freshness_and_custom_sql_agree_with_the_source(shop):
    ctx, config, source_id, orders, events = shop
    job = run(ctx, source_id)
    assert job.result == {"tables": 2, "passed": 1, "failed": 2, "error": 0}

    fresh = latest(ctx, orders, "fresh")
    newest = pg_scalar(config, "select max(placed_at) from orders")
    assert (fresh.outcome, datetime.fromisoformat(fresh.observed)) == ("passed", newest)
    stale = latest(ctx, events, "fresh")
    newest_event = pg_scalar(config, "select max(at) from events").replace(tzinfo=UTC)
    assert (stale.outcome, datetime.fromisoformat(stale.observed)) == ("failed", newest_event)
    assert stale.message.startswith("max(at) is 3d")

    orphans = latest(ctx, orders, "no_orphans")
    expected = pg_scalar(config, f"select count(*) from ({ORPHANS}) q")
    assert expected > quality.MAX_SAMPLE_KEYS // 2
    assert (orphans.outcome, orphans.failing_rows, orphans.observed) == ("failed", expected, expected)
    first_ids = pg_scalar(config, f"select array_agg(id) from (select id from ({ORPHANS}) q limit 10) s")
    assert [key["id"] for key in orphans.sample_keys] == first_ids
    assert set(orphans.sample_keys[0]) == {"id", "customer_id"}


def test_events_fire_once_per_transition(shop):
    ctx, config, source_id, orders, events = shop
    first = run(ctx, source_id)
    run(ctx, source_id)  # still failing: no new event
    assert sorted(result_events(ctx)) == sorted([("catalog.quality.failed", "fresh", first.id),
                                                 ("catalog.quality.failed", "no_orphans", first.id)])
    pg_execute(config, "delete from orders where customer_id > 5; "
                       "insert into events values (100, now() at time zone 'utc')")
    fixed = run(ctx, source_id)
    run(ctx, source_id)
    assert sorted(result_events(ctx)[2:]) == [("catalog.quality.recovered", "fresh", fixed.id),
                                              ("catalog.quality.recovered", "no_orphans", fixed.id)]
    assert latest(ctx, orders, "no_orphans").failing_rows == 0


def test_a_query_the_statement_timeout_cancels_fails_its_rule_not_the_job(shop):
    ctx, _config, source_id, orders, _events = shop
    quality.add_rule(ctx, orders, {"name": "slow", "kind": "custom_sql",
                                   "params": {"sql": "SELECT s.x FROM (SELECT pg_sleep(3) AS x) s"}})
    job = run(ctx, source_id, [orders])
    assert job.result == {"tables": 1, "passed": 1, "failed": 1, "error": 1}
    slow = latest(ctx, orders, "slow")
    assert slow.outcome == "error"
    assert "statement timeout of 1000 ms" in slow.message and "config.statement_timeout_ms" in slow.message
    assert latest(ctx, orders, "fresh").outcome == "passed"  # the other rules of the run were evaluated


def test_freshness_without_a_column_reads_the_last_extraction(shop):
    ctx, _config, source_id, orders, _events = shop
    quality.add_rule(ctx, orders, {"name": "extracted", "kind": "freshness", "params": {"max_age": "1d"}})
    run(ctx, source_id, [orders])
    never = latest(ctx, orders, "extracted")
    assert (never.outcome, never.message) == ("failed", "the last successful extraction: none yet")


def test_the_scheduler_queues_freshness_checks_when_due(shop):
    ctx, _config, source_id, orders, _events = shop
    first = tick(ctx)
    assert len(first.freshness_jobs) == 1
    job = finished(ctx, first.freshness_jobs[0], timeout=60)
    assert (job.kind, job.trigger, job.params, job.status) == ("quality", "schedule", {"kinds": ["freshness"]},
                                                               "succeeded")
    assert latest(ctx, orders, "fresh").run_id == job.id
    with pytest.raises(IndexError):  # the custom SQL is not a cheap check: the scheduler leaves it out
        latest(ctx, orders, "no_orphans")
    assert tick(ctx).freshness_jobs == ()  # checked just now
    later = datetime.now(UTC) + timedelta(seconds=ctx.settings.quality_freshness_interval_s + 1)
    due_again = tick(ctx, now=later)
    assert len(due_again.freshness_jobs) == 1
    finished(ctx, due_again.freshness_jobs[0], timeout=60)


def test_mariadb_freshness_and_custom_sql_agree_with_the_source(catalog_ctx, make_mariadb_database):  # noqa: F811
    config = make_mariadb_database("""
        create table customers (id bigint primary key);
        create table orders (id bigint primary key, customer_id bigint, placed_at datetime(6));
        insert into customers values (1), (2), (3);
        insert into orders select seq, seq % 6, utc_timestamp(6) - interval seq hour from seq_1_to_40;
    """)
    source_id = register(catalog_ctx, "mshop", "mysql", {**config, "statement_timeout_ms": 1000})
    orders = dataset_urn("mshop", config["database"], "orders")
    orphans = (f"SELECT o.id FROM `{config['database']}`.orders o LEFT JOIN `{config['database']}`.customers c "
               "ON c.id = o.customer_id WHERE c.id IS NULL")
    quality.add_rule(catalog_ctx, orders, {"name": "fresh", "kind": "freshness", "column": "placed_at",
                                           "params": {"max_age": "30m"}})
    quality.add_rule(catalog_ctx, orders, {"name": "no_orphans", "kind": "custom_sql",
                                           "params": {"sql": orphans, "max_failing_rows": 100}})
    quality.add_rule(catalog_ctx, orders, {"name": "slow", "kind": "custom_sql",
                                           "params": {"sql": "SELECT id FROM orders WHERE SLEEP(1) = 0"}})
    job = run(catalog_ctx, source_id)
    assert job.result == {"tables": 1, "passed": 1, "failed": 1, "error": 1}

    fresh = latest(catalog_ctx, orders, "fresh")
    newest = mariadb_query(config, "select max(placed_at) from orders")[0][0].replace(tzinfo=UTC)
    assert (fresh.outcome, datetime.fromisoformat(fresh.observed)) == ("failed", newest)
    counted = latest(catalog_ctx, orders, "no_orphans")
    expected = mariadb_query(config, f"select count(*) from ({orphans}) q")[0][0]
    assert (counted.outcome, counted.failing_rows, len(counted.sample_keys)) == ("passed", expected, 10)
    slow = latest(catalog_ctx, orders, "slow")
    assert slow.outcome == "error" and "statement timeout of 1000 ms" in slow.message, slow.message

    mariadb_execute(config, "insert into orders values (1000, 1, utc_timestamp(6))")
    run(catalog_ctx, source_id)
    assert latest(catalog_ctx, orders, "fresh").outcome == "passed"
    assert [e[:2] for e in result_events(catalog_ctx)] == [("catalog.quality.failed", "fresh"),
                                                           ("catalog.quality.recovered", "fresh")]
