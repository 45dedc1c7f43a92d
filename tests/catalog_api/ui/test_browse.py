"""Browsing from the sources down: the sources list, a source's schemas, and a schema's tables and views, which
must be exactly what the demo's SQLite database holds."""

from __future__ import annotations

import sqlite3

import httpx
from playwright.sync_api import expect

from tests.support.ui import DEMO_SOURCE


def demo_objects(site) -> dict[str, str]:
    """The demo database's own tables and views (name → `table`/`view`), read from its sqlite_master."""
    (source,) = [s for s in httpx.get(site.url + "/api/v1/sources").json() if s["name"] == DEMO_SOURCE]
    with sqlite3.connect(f"file:{source['config']['path']}?mode=ro", uri=True) as db:
        rows = db.execute("select name, type from sqlite_master where type in ('table', 'view') "
                          "and name not like 'sqlite_%'").fetchall()
    return dict(rows)


def test_browsing_sources_then_schema_main_lists_the_demo_databases_tables_and_views(ui, site):
    page = ui.open("/ui/sources")
    sources = page.get_by_role("table", name="Sources")
    demo = sources.get_by_role("row").filter(has=page.get_by_role("link", name=DEMO_SOURCE, exact=True))
    expect(demo).to_contain_text("sqlite")
    expect(demo).to_contain_text("Sample ERP")
    demo.get_by_role("link", name=DEMO_SOURCE, exact=True).click()

    page.get_by_role("heading", name=DEMO_SOURCE).wait_for()
    schemas = page.get_by_role("table", name="Schemas")
    main = schemas.get_by_role("row").filter(has=page.get_by_role("link", name="main", exact=True))
    expected = demo_objects(site)
    expect(main.get_by_role("cell").last).to_have_text(str(len(expected)))
    main.get_by_role("link", name="main", exact=True).click()

    assert page.url.endswith(f"/ui/sources/{DEMO_SOURCE}/main")
    tables = page.get_by_role("table", name="Tables and views")
    rows = tables.locator("tbody tr")
    expect(rows).to_have_count(len(expected))
    shown = {}
    for row in rows.all():
        cells = row.get_by_role("cell").all_inner_texts()
        shown[cells[0].strip()] = cells[1].strip()
    assert shown == expected  # every table and view, each of its kind
    page.get_by_text(f"{len(expected)} tables and views").wait_for()
    ui.screenshot("browse-tables")

    tables.get_by_role("link", name="invoices", exact=True).click()
    page.get_by_role("heading", name="invoices").wait_for()
    page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name="main").click()
    expect(page.get_by_role("table", name="Tables and views").locator("tbody tr")).to_have_count(len(expected))
    ui.assert_clean()
