"""The table page's Quality tab: the table's health, its rules with their latest results, and a rule's history on
demand. The test adds a not-null rule on `payments` through GraphQL, runs it (a profile evaluates it), and checks
the page against a direct count of nulls on the source."""

from __future__ import annotations

import sqlite3

import httpx
from playwright.sync_api import expect

from catalog_api.urns import dataset_urn
from tests.support.graphql import data
from tests.support.ui import DEMO_SOURCE, demo_database, table_address

PAYMENTS = dataset_urn(DEMO_SOURCE, "main", "payments")
RULE = "ui_quality_method_not_null"

ADD_RULE = """mutation($table: String!, $rule: QualityRuleInput!) { addQualityRule(table: $table, rule: $rule) {
  databaseId } }"""
RUN = "mutation($urn: String!) { profileTable(urn: $urn, wait: true) { status } }"


def test_a_rule_shows_its_latest_result_and_history(ui, site):
    with httpx.Client(base_url=site.url, timeout=300) as client:
        data(client, ADD_RULE, table=PAYMENTS, rule={"name": RULE, "kind": "not_null", "column": "method",
                                                      "description": "Every payment says how it was paid."})
        assert data(client, RUN, urn=PAYMENTS)["profileTable"]["status"] == "succeeded"
    with sqlite3.connect(demo_database(site)) as connection:
        ((nulls,),) = connection.execute("select count(*) from payments where method is null").fetchall()

    page = ui.open(table_address(PAYMENTS, "quality"))
    row = page.locator(f"tr[data-rule='{RULE}']")
    expect(row.locator("td.outcome .badge")).to_have_text("passed" if nulls == 0 else "failed")
    cells = row.locator("td")
    assert cells.nth(1).inner_text().startswith("not null on method")
    assert cells.nth(4).inner_text() == str(nulls) and cells.nth(5).inner_text() == str(nulls)
    expect(page.get_by_label("Health")).to_contain_text("passing")

    row.get_by_role("button", name="History").click()
    history = page.get_by_role("table", name=f"Recent results of {RULE}")
    expect(history.locator("tbody tr")).to_have_count(1)
    ui.screenshot("table-quality")
    ui.assert_clean()
