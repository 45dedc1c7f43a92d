"""The lineage viewer (/ui/lineage and the table page's Lineage tab) in a real Chromium, checked against the GraphQL
`lineage` answer for the same walk: the nodes drawn, one more level loaded around a node and hidden again, find in
graph, the column-level edges, where the walk was cut, and a generated graph of 200 nodes drawn readable.

The demo's lineage is one level deep (views over tables), so the tests add manual edges under names of their own
(sources `uilineage_bi` and `uilineage_gen`, which no other test reads): a dashboard downstream of
`customer_balances` with a feed upstream of it, and the 200-node graph."""

from __future__ import annotations

import time
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import expect

from catalog_api.urns import dataset_urn
from tests.support.graphql import data
from tests.support.ui import DEMO_SOURCE

BALANCES = dataset_urn(DEMO_SOURCE, "main", "customer_balances")
INVOICES = dataset_urn(DEMO_SOURCE, "main", "invoices")
DASHBOARD = dataset_urn("uilineage_bi", "dash", "balances_dashboard")
TARGETS = dataset_urn("uilineage_bi", "dash", "sales_targets")
HUB = dataset_urn("uilineage_gen", "g", "hub")

LINEAGE = """query ($urn: String!, $direction: LineageDirection!, $depth: Int!, $columnLevel: Boolean!) {
  lineage(urn: $urn, direction: $direction, depth: $depth, columnLevel: $columnLevel) {
    truncated truncatedReason truncatedAt nodes { urn }
    edges { upstream downstream upstreamColumn downstreamColumn } } }"""


def generated_edges() -> list[tuple[str, str]]:
    """200 datasets three levels up and down from `hub`: 8 parents, 40 grandparents (some with two children), 50
    great-grandparents, and the same shape downstream (53 at the third level)."""
    def name(level: str, i: int) -> str:
        return dataset_urn("uilineage_gen", "g", f"{level}_{i:02d}")

    edges = [(name("up1", i), HUB) for i in range(8)] + [(HUB, name("down1", i)) for i in range(8)]
    for i in range(40):
        edges += [(name("up2", i), name("up1", i % 8)), (name("down1", i % 8), name("down2", i))]
        if i % 4 == 0:
            edges += [(name("up2", i), name("up1", (i + 3) % 8)), (name("down1", (i + 3) % 8), name("down2", i))]
    edges += [(name("up3", i), name("up2", i % 40)) for i in range(50)]
    edges += [(name("down2", i % 40), name("down3", i)) for i in range(53)]
    return edges


@pytest.fixture(scope="module")
def api(site):
    with httpx.Client(base_url=site.url, timeout=30) as client:
        for upstream, downstream in [(BALANCES, DASHBOARD), (TARGETS, DASHBOARD), *generated_edges()]:
            while (added := client.post("/api/v1/lineage/edges",
                                        json={"upstream": upstream, "downstream": downstream})).status_code == 429:
                time.sleep(float(added.headers.get("Retry-After", 1)))  # the API's 20 requests a second per caller
            assert added.status_code == 201, added.text
        yield client


def answer(api, urn: str, direction: str = "BOTH", depth: int = 1, column_level: bool = False) -> dict:
    return data(api, LINEAGE, urn=urn, direction=direction, depth=depth, columnLevel=column_level)["lineage"]


def urns(result: dict) -> set[str]:
    return {node["urn"] for node in result["nodes"]}


def drawn(page) -> set[str]:
    return set(page.locator("svg.lineage-canvas g.node").evaluate_all("(gs) => gs.map((g) => g.dataset.urn)"))


def wait_drawn(page, expected: set[str]) -> None:
    page.wait_for_function("(n) => document.querySelectorAll('svg.lineage-canvas g.node').length === n",
                           arg=len(expected))
    assert drawn(page) == expected


def zoom(page) -> float:
    """The drawing's scale on screen (1: a 13 px label is 13 px tall)."""
    return float(page.locator("g.viewport").get_attribute("data-zoom"))


def address(urn: str, depth: int, column_level: bool = False) -> str:
    return f"/ui/lineage?urn={quote(urn, safe='')}&depth={depth}&column_level={str(column_level).lower()}"


def test_the_rest_link_opens_the_viewer_with_the_neighbours_both_ways(ui, api):
    link = api.get(f"/api/v1/tables/{quote(BALANCES, safe='')}").json()["links"]["lineage_viewer"]
    page = ui.open(link)
    expected = urns(answer(api, BALANCES, depth=2))
    wait_drawn(page, expected)
    # upstream tables, the dashboard downstream, and the start highlighted; open_invoices (a sibling) is not drawn
    assert {INVOICES, DASHBOARD, BALANCES} <= expected
    assert dataset_urn(DEMO_SOURCE, "main", "open_invoices") not in drawn(page)
    assert page.locator("g.node.start").get_attribute("data-urn") == BALANCES
    expect(page.get_by_role("group", name="main.customer_balances")).to_contain_text("demo_erp · view")
    assert page.locator("path.edge").count() == len(answer(api, BALANCES, depth=2)["edges"])
    ui.screenshot("lineage-viewer")
    ui.assert_clean()


def test_a_node_expands_one_level_and_collapses_again(ui, api):
    page = ui.open(address(BALANCES, 1))
    base = urns(answer(api, BALANCES))
    wait_drawn(page, base)

    page.get_by_role("button", name="Expand upstream of dash.balances_dashboard").click()
    wait_drawn(page, base | urns(answer(api, DASHBOARD, "UPSTREAM")))
    assert TARGETS in drawn(page)
    page.get_by_role("button", name="Expand downstream of main.invoices").click()
    both = base | urns(answer(api, DASHBOARD, "UPSTREAM")) | urns(answer(api, INVOICES, "DOWNSTREAM"))
    wait_drawn(page, both)
    assert dataset_urn(DEMO_SOURCE, "main", "monthly_revenue") in both

    page.get_by_role("checkbox", name="Columns").check()  # a new walk keeps what the user expanded
    page.wait_for_url("**column_level=true")
    page.locator("path.edge.column").first.wait_for()
    wait_drawn(page, both)

    page.get_by_role("button", name="Collapse upstream of dash.balances_dashboard").click()
    wait_drawn(page, base | urns(answer(api, INVOICES, "DOWNSTREAM")))
    page.get_by_role("button", name="Collapse downstream of main.invoices").click()
    wait_drawn(page, base)
    ui.assert_clean()


def test_find_highlights_and_centres_the_matches(ui, api):
    page = ui.open(address(BALANCES, 1))
    wait_drawn(page, urns(answer(api, BALANCES)))
    page.get_by_role("searchbox", name="Find in graph").fill("payments")
    payments = page.locator(f'g.node[data-urn="{dataset_urn(DEMO_SOURCE, "main", "payments")}"]')
    expect(payments).to_have_class("node match current")
    assert page.locator("g.node.match").count() == 1
    expect(page.get_by_text("1 of 1")).to_be_visible()
    svg, node = page.locator("svg.lineage-canvas").bounding_box(), payments.locator("rect").bounding_box()
    assert abs((node["x"] + node["width"] / 2) - (svg["x"] + svg["width"] / 2)) < 2  # centred on it
    assert abs((node["y"] + node["height"] / 2) - (svg["y"] + svg["height"] / 2)) < 2
    page.get_by_role("searchbox", name="Find in graph").fill("main.")  # schema.name: every demo node
    in_main = sum(u.startswith(dataset_urn(DEMO_SOURCE, "main", "")) for u in drawn(page))
    expect(page.locator("g.node.match")).to_have_count(in_main)
    page.get_by_role("button", name="Next match").click()
    expect(page.get_by_text(f"2 of {in_main}")).to_be_visible()
    ui.assert_clean()


def test_the_column_toggle_draws_the_column_edges(ui, api):
    page = ui.open(address(BALANCES, 1))
    wait_drawn(page, urns(answer(api, BALANCES)))
    assert page.locator("path.edge.column").count() == 0
    page.get_by_role("checkbox", name="Columns").check()
    expected = {(e["upstream"], e["downstream"], e["upstreamColumn"], e["downstreamColumn"])
                for e in answer(api, BALANCES, column_level=True)["edges"] if e["upstreamColumn"]}
    assert expected  # the view's SQL gives column lineage
    page.wait_for_function("(n) => document.querySelectorAll('path.edge.column').length === n", arg=len(expected))
    shown = page.locator("path.edge.column").evaluate_all(
        "(ps) => ps.map((p) => [p.dataset.upstream, p.dataset.downstream, p.dataset.upstreamColumn,"
        " p.dataset.downstreamColumn])")
    assert {tuple(edge) for edge in shown} == expected
    assert "column_level=true" in page.url
    balances = page.get_by_role("group", name="main.customer_balances")
    for _, _, _, column in expected:  # the columns are listed in their node, with how each was derived
        expect(balances.locator("text.column", has_text=column).first).to_be_visible()
    assert balances.locator("tspan.transformation").count() > 0
    ui.screenshot("lineage-columns")
    ui.assert_clean()


def test_drag_pans_the_wheel_and_buttons_zoom_and_fit_brings_the_graph_back(ui, api):
    page = ui.open(address(BALANCES, 1))
    wait_drawn(page, urns(answer(api, BALANCES)))
    start = page.locator("g.node.start rect")
    fitted, before = zoom(page), start.bounding_box()
    svg = page.locator("svg.lineage-canvas").bounding_box()
    page.mouse.move(svg["x"] + 40, svg["y"] + 40)  # empty canvas
    page.mouse.down()
    page.mouse.move(svg["x"] + 140, svg["y"] + 90, steps=5)
    page.mouse.up()
    after = start.bounding_box()
    assert (round(after["x"] - before["x"]), round(after["y"] - before["y"])) == (100, 50)  # moved with the mouse

    page.mouse.wheel(0, -300)  # towards the reader: bigger
    page.wait_for_function("(k) => Number(document.querySelector('g.viewport').dataset.zoom) > k", arg=fitted)
    page.get_by_role("button", name="Zoom out").click()
    page.get_by_role("button", name="Zoom out").click()
    page.get_by_role("button", name="Zoom out").click()
    assert zoom(page) < fitted
    page.get_by_role("button", name="Fit").click()
    page.wait_for_function("(k) => Number(document.querySelector('g.viewport').dataset.zoom) === k", arg=fitted)
    assert start.bounding_box() == before

    page.get_by_role("group", name="main.invoices").locator("text.name").click()  # a click selects a node
    selected = page.get_by_label("Selected node")
    selected.get_by_role("link", name="Table page").click()
    page.get_by_role("heading", name="invoices").wait_for()
    ui.assert_clean()


def test_truncation_is_marked_on_the_nodes_and_a_level_deeper_is_one_click(ui, api):
    page = ui.open(address(HUB, 2))
    cut = answer(api, HUB, depth=2)
    wait_drawn(page, urns(cut))
    assert cut["truncated"] and cut["truncatedAt"]
    marked = set(page.locator("g.node.cut").evaluate_all("(gs) => gs.map((g) => g.dataset.urn)"))
    assert marked == set(cut["truncatedAt"])
    expect(page.get_by_role("status")).to_contain_text(cut["truncatedReason"])

    first = min(u for u in marked if ":up2_" in u)  # one level further upstream of one cut node
    name = "g." + first.rsplit(":", 1)[1]
    page.get_by_role("searchbox", name="Find in graph").fill(name)  # brings it into view
    page.get_by_role("button", name=f"Expand upstream of {name}").click()
    wait_drawn(page, urns(cut) | urns(answer(api, first, "UPSTREAM")))
    assert first not in set(page.locator("g.node.cut").evaluate_all("(gs) => gs.map((g) => g.dataset.urn)"))

    page.get_by_role("button", name="go one level deeper (depth 3)").click()
    wait_drawn(page, urns(answer(api, HUB, depth=3)))
    assert "depth=3" in page.url and page.get_by_role("status").count() == 0  # the whole graph: nothing cut
    ui.assert_clean()


def test_two_hundred_nodes_are_laid_out_readable_and_without_overlap(ui, api):
    expected = urns(answer(api, HUB, depth=3))
    assert len(expected) == 200
    began = time.perf_counter()
    page = ui.open(address(HUB, 3))
    wait_drawn(page, expected)
    print(f"\n200-node lineage: drawn {time.perf_counter() - began:.2f} s after opening the page")

    sizes = page.locator("g.node text.name").evaluate_all(
        "(ts) => ts.map((t) => parseFloat(getComputedStyle(t).fontSize))")
    assert min(sizes) * zoom(page) >= 10, (min(sizes), zoom(page))  # every label: the zoom is the same for all
    svg, hub = page.locator("svg.lineage-canvas").bounding_box(), page.locator("g.node.start rect").bounding_box()
    assert svg["x"] <= hub["x"] and hub["x"] + hub["width"] <= svg["x"] + svg["width"]  # the start is in view
    assert svg["y"] <= hub["y"] and hub["y"] + hub["height"] <= svg["y"] + svg["height"]
    boxes = page.locator("g.node").evaluate_all("""(gs) => gs.map((g) => {
        const r = g.querySelector("rect"), t = g.transform.baseVal.consolidate().matrix;
        return [t.e, t.f, r.width.baseVal.value, r.height.baseVal.value]; })""")
    boxes.sort()
    for i, (x, y, w, h) in enumerate(boxes):
        for x2, y2, w2, h2 in boxes[i + 1:]:
            if x2 >= x + w:
                break  # sorted by x: no later box reaches back into this one
            assert y2 >= y + h or y >= y2 + h2, ((x, y, w, h), (x2, y2, w2, h2))
    ui.screenshot("lineage-200-nodes")
    ui.assert_clean()


def test_the_table_pages_lineage_tab_embeds_the_viewer(ui, api):
    page = ui.open(f"/ui/tables/{quote(BALANCES, safe='')}?tab=lineage")
    wait_drawn(page, urns(answer(api, BALANCES, depth=2)))
    ui.screenshot("table-lineage")
    page.get_by_role("link", name="Open the full-page viewer").click()
    page.get_by_role("heading", name="Lineage of main.customer_balances").wait_for()
    assert page.url.endswith(address(BALANCES, 2))  # the tab's depth and column choice carried over
    ui.assert_clean()


def test_a_bad_urn_says_what_is_wrong(ui):
    page = ui.open("/ui/lineage?urn=nope")
    expect(page.get_by_role("alert")).to_contain_text("urn")
    ui.assert_clean()
