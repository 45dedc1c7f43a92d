"""The web UI's flows end to end, as a user walks them on the demo: search → facet → table page → profile chart →
lineage → expand a node. Each step is checked against the API's own answer (the pages' details have their own tests:
test_search.py, test_profile.py, test_lineage.py)."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from catalog_api.urns import dataset_urn
from tests.support.graphql import data
from tests.support.ui import DEMO_SOURCE, api_search, choose_facet, hit_count, search_from_header

INVOICES = dataset_urn(DEMO_SOURCE, "main", "invoices")
BALANCES = dataset_urn(DEMO_SOURCE, "main", "customer_balances")
LINEAGE = """query ($urn: String!, $direction: LineageDirection!, $depth: Int!) {
  lineage(urn: $urn, direction: $direction, depth: $depth) { nodes { urn } }
}"""


def lineage_urns(site, urn: str, direction: str, depth: int) -> set[str]:
    with httpx.Client(base_url=site.url, timeout=30) as client:
        answer = data(client, LINEAGE, urn=urn, direction=direction, depth=depth)["lineage"]
    return {node["urn"] for node in answer["nodes"]}


def drawn(page) -> set[str]:
    return set(page.locator("svg.lineage-canvas g.node").evaluate_all("(gs) => gs.map((g) => g.dataset.urn)"))


def test_search_facet_table_profile_chart_lineage_and_expanding_a_node(ui, site):
    page = ui.open("/ui")
    search_from_header(page, "invoice")

    choose_facet(page, "Kind", "table")
    tables = api_search(site, q="invoice", kind="table")
    expect(page.get_by_role("status")).to_have_text(hit_count(tables["total"]))  # the filtered answer is shown
    results = page.get_by_role("region", name="Results")
    expect(results.get_by_role("link", name="invoices", exact=True)).to_be_visible()
    results.get_by_role("link", name="invoices", exact=True).click()
    page.get_by_role("heading", name="invoices").wait_for()

    page.get_by_role("tab", name="Profile").click()
    histogram = page.get_by_role("img", name="Histogram of customer_id", exact=True)
    expect(histogram).to_be_visible()
    assert histogram.locator("rect[data-count]").count() > 1

    page.get_by_role("tab", name="Lineage").click()
    around = lineage_urns(site, INVOICES, "BOTH", 2)  # the tab's viewer: two levels both ways
    page.wait_for_function("(n) => document.querySelectorAll('svg.lineage-canvas g.node').length === n",
                           arg=len(around))
    assert drawn(page) == around and BALANCES in around

    page.get_by_role("button", name="Expand upstream of main.customer_balances").click()
    widened = around | lineage_urns(site, BALANCES, "UPSTREAM", 1)
    assert widened > around  # customers and payments feed the balances too
    page.wait_for_function("(n) => document.querySelectorAll('svg.lineage-canvas g.node').length === n",
                           arg=len(widened))
    assert drawn(page) == widened
    ui.assert_clean()
