"""The table page's Profile tab: the newest profile's figures and charts, checked against direct SQL over the demo
SQLite (the charts' figures are read from their accessible titles and attributes), and the null rate of every
column across the table's profile runs, which one batched GraphQL query answers."""

from __future__ import annotations

import sqlite3

import httpx
from sqlalchemy import func, select

from catalog_api.db.models import Table, TableProfileRow
from catalog_api.services.jobs import wait_for_job
from catalog_api.services.profiling import request_table_profile
from catalog_api.urns import dataset_urn
from tests.support.graphql import data
from tests.support.statements import counted_statements
from tests.support.ui import DEMO_SOURCE, demo_database, table_address

SALES_ORDERS = dataset_urn(DEMO_SOURCE, "main", "sales_orders")
PAYMENTS = dataset_urn(DEMO_SOURCE, "main", "payments")


def source_sql(site, statement: str) -> list[tuple]:
    with sqlite3.connect(demo_database(site)) as connection:
        return connection.execute(statement).fetchall()


def open_profile(ui, urn: str):
    page = ui.open(table_address(urn, "profile"))
    page.get_by_role("heading", name="Columns", exact=True).wait_for()
    return page


def test_a_numeric_columns_histogram_counts_each_non_null_value(ui, site):
    page = open_profile(ui, SALES_ORDERS)
    chart = page.get_by_role("img", name="Histogram of customer_id", exact=True)
    bars = chart.locator("rect[data-count]")
    counts = [int(bar.get_attribute("data-count")) for bar in bars.all()]
    ((non_null, low, high),) = source_sql(site, "select count(customer_id), min(customer_id), max(customer_id) "
                                                "from sales_orders")
    assert len(counts) > 1 and sum(counts) == non_null
    # Each bar names its range and count in its title; the ranges run from the column's min to its max.
    titles = [bar.locator("title").text_content() for bar in bars.all()]
    assert titles[0].startswith(f"{low} to ") and titles[0].endswith(f": {counts[0]:,}")
    assert float(bars.last.get_attribute("data-to")) == high
    ui.assert_clean()


def test_a_text_columns_top_values_match_a_group_by_on_the_source(ui, site):
    page = open_profile(ui, SALES_ORDERS)
    chart = page.get_by_role("img", name="Top values of status", exact=True)
    shown = [(g.get_attribute("data-value"), int(g.get_attribute("data-count")))
             for g in chart.locator("g.top-value").all()]
    expected = source_sql(site, "select status, count(*) from sales_orders group by status order by count(*) desc")
    assert shown[0] == expected[0]
    assert shown == expected  # five statuses: all of them are shown, most frequent first
    ui.assert_clean()


def test_the_null_rate_chart_has_a_point_per_profile_run(ui, site):
    with site.ctx.db.session() as session:
        runs = session.scalar(select(func.count()).select_from(TableProfileRow).join(Table)
                              .where(Table.urn == SALES_ORDERS))
    page = open_profile(ui, SALES_ORDERS)
    points = page.get_by_role("img", name="Null rate of notes over time", exact=True).locator("circle[data-at]")
    assert points.count() == runs >= 1
    ((null_rate,),) = source_sql(site, "select 1.0 * (count(*) - count(notes)) / count(*) from sales_orders")
    assert abs(float(points.last.get_attribute("data-value")) - null_rate) < 1e-9
    assert page.get_by_role("img", name="Histogram of id", exact=True).is_visible()
    ui.screenshot("table-profile")
    ui.assert_clean()


HISTORY = """query($urn: String!, $runs: Int!) {
  table(urn: $urn) { profiles(limit: $runs) { databaseId startedAt columns { name nullRate } } }
}"""


def test_every_runs_null_rates_come_in_one_batch(site):
    """The chart's query: a table's runs with each run's column null rates cost the same statements however many
    runs it covers (the runs' columns are read together, not one query per run)."""
    assert wait_for_job(site.ctx, request_table_profile(site.ctx, PAYMENTS).id, timeout=300).status == "succeeded"
    with httpx.Client(base_url=site.url, timeout=30) as client:
        with counted_statements(site.ctx.db.engine) as one:
            newest = data(client, HISTORY, urn=PAYMENTS, runs=1)["table"]["profiles"]
        with counted_statements(site.ctx.db.engine) as every:
            runs = data(client, HISTORY, urn=PAYMENTS, runs=50)["table"]["profiles"]
    assert len(newest) == 1 and len(runs) >= 2
    assert len(one) == len(every)
    ((amount_nulls,),) = source_sql(site, "select count(*) - count(amount) from payments")
    assert all(next(c for c in run["columns"] if c["name"] == "amount")["nullRate"] == amount_nulls
               for run in runs)
