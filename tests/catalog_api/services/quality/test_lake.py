"""Custom-SQL rules run against the lake: a real PostgreSQL source extracted into a local lake, lake rules passing and
failing with counts and sample rows checked against pandas on the same lake files, and the causes of `error` results
(nothing extracted yet, a table the source lacks, a query Spark refuses, the timeout) failing only their rule."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from catalog_api.services import quality
from catalog_api.services.extraction import lake, request_extract
from catalog_api.services.sources import SourceRegistration, register_source
from catalog_api.urns import dataset_urn
from tests.support.catalog import crawl
from tests.support.jobs import finished
from tests.support.quality import latest_result, run_quality

pytestmark = pytest.mark.postgres

SHOP = """
create schema sales;
create table sales.customers (id bigint primary key, email text);
create table sales.orders (id bigint primary key, customer_id bigint, total numeric(12, 2), status text);
create table sales.returns (id bigint primary key, order_id bigint);
insert into sales.customers select g, 'c' || g || '@example.com' from generate_series(1, 50) g;
insert into sales.orders select g, case when g % 7 = 0 then 900 + g else 1 + g % 50 end, (g % 40) * 2.5 - 5,
                                case when g % 11 = 0 then 'lost' else 'open' end
                         from generate_series(1, 400) g;
"""
ORDERS, RETURNS = dataset_urn("shop", "sales", "orders"), dataset_urn("shop", "sales", "returns")
ORPHANS = ("SELECT o.id, o.customer_id FROM sales.orders o LEFT JOIN customers c ON c.id = o.customer_id "
           "WHERE c.id IS NULL ORDER BY o.id")


@pytest.fixture
def shop(catalog_ctx, make_pg_database, spark):
    config = make_pg_database(SHOP)
    source = register_source(catalog_ctx, SourceRegistration(name="shop", kind="postgres", config=config))
    crawl(catalog_ctx, source.id)
    extract = finished(catalog_ctx, request_extract(catalog_ctx, source.id, [ORDERS, dataset_urn(
        "shop", "sales", "customers")]), timeout=120)
    assert extract.status == "succeeded", (extract.error_code, extract.error_message)
    return catalog_ctx, source.id


def lake_frame(ctx, table: str):
    """A table as the lake holds it, read with pyarrow from its committed runs' files (the oracle)."""
    runs = lake(ctx.settings).committed_runs("shop", "sales", table)
    assert runs, f"sales.{table} was not extracted"
    return pq.ParquetDataset([c.path for run in runs for c in run.chunks]).read().to_pandas()


def add(ctx, table: str, name: str, sql: str, **params) -> None:
    quality.add_rule(ctx, table, {"name": name, "kind": "custom_sql",
                                  "params": {"run_against": "lake", "sql": sql, **params}})


def run(ctx, source_id: int, tables: list[str] | None = None):
    return run_quality(ctx, source_id, tables, timeout=300)


latest = latest_result


def test_lake_rules_pass_and_fail_with_the_counts_pandas_finds(shop):
    ctx, source_id = shop
    add(ctx, ORDERS, "no_orphans", ORPHANS)
    add(ctx, ORDERS, "few_lost", "SELECT id FROM orders WHERE status = 'lost'", max_failing_rows=100)
    add(ctx, ORDERS, "no_negative", "SELECT id, total FROM sales.orders WHERE total < -5")
    job = run(ctx, source_id)
    assert job.result == {"tables": 1, "passed": 2, "failed": 1, "error": 0}

    orders, customers = lake_frame(ctx, "orders"), lake_frame(ctx, "customers")
    orphans = orders[~orders.customer_id.isin(customers.id)].sort_values("id")
    assert len(orphans) > quality.MAX_SAMPLE_KEYS
    found = latest(ctx, ORDERS, "no_orphans")
    assert (found.outcome, found.failing_rows, found.observed) == ("failed", len(orphans), len(orphans))
    assert found.sample_keys == [{"id": int(i), "customer_id": int(c)} for i, c in
                                 orphans[["id", "customer_id"]].head(quality.MAX_SAMPLE_KEYS).itertuples(index=False)]
    lost = latest(ctx, ORDERS, "few_lost")
    assert (lost.outcome, lost.failing_rows) == ("passed", int((orders.status == "lost").sum()))
    assert lost.message == f"{int((orders.status == 'lost').sum())} failing rows (at most 100)"
    assert (latest(ctx, ORDERS, "no_negative").outcome, latest(ctx, ORDERS, "no_negative").failing_rows) == (
        "passed", int((orders.total.astype(float) < -5).sum()))


def test_what_the_lake_cannot_answer_is_an_error_of_that_rule_alone(shop):
    ctx, source_id = shop
    add(ctx, RETURNS, "returned_orders_exist", "SELECT r.id FROM returns r LEFT JOIN orders o ON o.id = r.order_id "
                                               "WHERE o.id IS NULL")
    add(ctx, ORDERS, "unknown_table", "SELECT id FROM sales.refunds")
    add(ctx, ORDERS, "unknown_column", "SELECT id FROM orders WHERE totl > 0")
    add(ctx, ORDERS, "ok", "SELECT id FROM orders WHERE id IS NULL")
    job = run(ctx, source_id)
    assert job.result == {"tables": 2, "passed": 1, "failed": 0, "error": 3}
    assert latest(ctx, RETURNS, "returned_orders_exist").message == (
        "nothing of sales.returns was extracted into the lake yet: extract it first (`catalog extract shop`)")
    assert latest(ctx, ORDERS, "unknown_table").message == (
        "the query reads sales.refunds, which source shop does not have")
    column = latest(ctx, ORDERS, "unknown_column")
    assert column.outcome == "error" and "UNRESOLVED_COLUMN" in column.message and "`totl`" in column.message


def test_a_lake_query_past_its_time_limit_is_cancelled(shop):
    ctx, source_id = shop
    ctx.settings.quality_lake_timeout_s = 2
    add(ctx, ORDERS, "slow", "SELECT o.id FROM orders o CROSS JOIN range(100000000) r "
                             "WHERE (o.id + r.id) % 1000003 = -1")
    run(ctx, source_id)
    slow = latest(ctx, ORDERS, "slow")
    assert (slow.outcome, slow.message) == ("error", "the lake query failed: the query ran longer than 2 s and was "
                                                     "cancelled")
    ctx.settings.quality_lake_timeout_s = 600
    quality.remove_rule(ctx, slow.rule_id)
    add(ctx, ORDERS, "quick", "SELECT id FROM orders WHERE id < 0")
    run(ctx, source_id)
    assert latest(ctx, ORDERS, "quick").outcome == "passed"  # the session works on after a cancelled query
