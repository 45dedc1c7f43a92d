"""The lineage viewer page (/ui/lineage): the SVG it draws, its Content-Security-Policy, and the page in a real
headless Chromium (it loads, its script runs without errors and without being blocked by the policy, the neighbours
are drawn, and a screenshot is saved to test-artifacts/ for a person to look at)."""

from __future__ import annotations

import os
import re
from urllib.parse import quote

import pytest

from catalog_api.app import create_app
from catalog_api.services.crawl import request_crawl
from catalog_api.services.jobs import wait_for_job
from catalog_api.urns import column_urn, dataset_urn
from tests.support.browser import chromium, open_page, run_browser
from tests.support.lineage import add_edge, chain, ds  # noqa: F401  (chain: fixture)
from tests.support.paths import REPO
from tests.support.server import serve
from tests.support.sources import register_sqlite

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture
def served(catalog_ctx, tmp_path):
    """A crawled SQLite source (orders -> order_totals -> big_customers, orders -> recent) behind a real server."""
    register_sqlite(catalog_ctx, tmp_path, "shop", """
        create table customers (id integer primary key, name text);
        create table orders (id integer primary key, customer_id integer references customers(id), total real,
                             created text);
        create view order_totals as select customer_id, sum(total) as total from orders group by customer_id;
        create view big_customers as select c.name, t.total from order_totals t
            join customers c on c.id = t.customer_id where t.total > 100;
        create view recent as select id, created from orders where created > '2026-01-01';
    """)
    assert wait_for_job(catalog_ctx, request_crawl(catalog_ctx, "shop").id).status == "succeeded"
    with serve(create_app(ctx=catalog_ctx)) as url:
        yield url


def test_viewer_draws_upstream_and_downstream_neighbours(served, tmp_path):
    urn = dataset_urn("shop", "main", "order_totals")
    url = f"{served}/ui/lineage?urn={quote(urn, safe='')}&depth=2"

    page = open_page(url, tmp_path / "profile-dom")
    for neighbour in ("orders", "big_customers", "order_totals"):  # upstream, downstream, the dataset itself
        assert f'data-urn="{dataset_urn("shop", "main", neighbour)}"' in page.dom, neighbour
    assert "recent" not in page.dom.split("<svg", 1)[1]  # a sibling, neither upstream nor downstream
    assert not page.errors, page.errors  # the page's script ran without a JavaScript error
    assert not page.blocked, page.blocked  # and its Content-Security-Policy let it run

    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "lineage-viewer.png"
    screenshot.unlink(missing_ok=True)
    shot = run_browser(chromium(), tmp_path / "profile-shot", "--window-size=1280,800", "--virtual-time-budget=3000",
                    f"--screenshot={screenshot}", url)
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 5_000
    os.environ.get("CI") and print(f"screenshot saved to {screenshot}")


def test_viewer_page_draws_the_neighbours(api_client, chain):
    import xml.etree.ElementTree as ET

    add_edge(api_client, column_urn("erp", "sales", "b", "k"), column_urn("erp", "sales", "c", "k"),
             transformation="identity")
    page = api_client.get("/ui/lineage", params={"urn": ds("c"), "depth": 1, "column_level": "true"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    svg = re.search(r"<svg .*</svg>", page.text, re.DOTALL).group(0)
    root = ET.fromstring(svg)  # well-formed SVG
    ns = {"s": "http://www.w3.org/2000/svg"}
    drawn = {g.get("data-urn") for g in root.iterfind(".//s:g[@data-urn]", ns)}
    assert drawn == {ds("b"), ds("c"), ds("d"), ds("x")}
    assert len(root.findall(".//s:path[@class]", ns)) == 3  # b.k -> c.k replaces b -> c; c -> d, c -> x
    assert "Cut short: depth 1 reached" in page.text
    assert "/ui/lineage?urn=" + quote(ds("d"), safe="") in page.text.replace("&amp;", "&")
    assert api_client.get("/ui/lineage", params={"urn": "nope"}).status_code == 422


def test_viewer_page_runs_only_its_own_script_and_style(api_client, chain):
    policy = api_client.get("/ui/lineage", params={"urn": ds("c")}).headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert directives["script-src"].startswith("'sha256-") and " " not in directives["script-src"]
    assert directives["style-src"].startswith("'sha256-") and " " not in directives["style-src"]
