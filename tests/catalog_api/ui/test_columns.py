"""The table page's Columns tab against the demo's own SQLite schema, and in-place curation of the table this file
owns (`purchase_order_lines`): a description edit shows at once, lands in the History tab with who made it and
before → after, and is what the REST API answers; a column's tag is added and removed the same way."""

from __future__ import annotations

import json
import re
import sqlite3
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import expect

from catalog_api.urns import column_urn, dataset_urn
from tests.support.ui import DEMO_SOURCE, demo_site, ui_session

EDITED = "purchase_order_lines"  # the table these tests edit; no other UI test reads its curation


def table_page(urn: str, tab: str = "columns") -> str:
    return f"/ui/tables/{quote(urn, safe='')}?tab={tab}"


def demo_database(site) -> sqlite3.Connection:
    (source,) = [s for s in httpx.get(site.url + "/api/v1/sources").json() if s["name"] == DEMO_SOURCE]
    return sqlite3.connect(f"file:{source['config']['path']}?mode=ro", uri=True)


def rest_table(site, urn: str) -> dict:
    answer = httpx.get(site.url + "/api/v1/tables/" + quote(urn, safe=":"))
    answer.raise_for_status()
    return answer.json()


def test_the_columns_of_invoices_are_its_declared_columns_types_and_keys(ui, site):
    with demo_database(site) as db:
        declared = db.execute("select name, type, pk from pragma_table_info('invoices') order by cid").fetchall()
        foreign = db.execute("select \"from\", \"table\", \"to\" from pragma_foreign_key_list('invoices')").fetchall()
    assert foreign, "the demo's invoices declare foreign keys"
    page = ui.open(table_page(dataset_urn(DEMO_SOURCE, "main", "invoices")))
    columns = page.get_by_role("table", name="Columns")
    rows = columns.locator("tbody tr")
    expect(rows).to_have_count(len(declared))

    shown = [(row.get_attribute("data-column"), row.get_by_role("cell").nth(1).inner_text().strip())
             for row in rows.all()]
    assert shown == [(name, data_type) for name, data_type, _ in declared]  # ordinal order, with their types
    primary = {name for name, _, pk in declared if pk}
    keyed = rows.filter(has=page.get_by_title("Primary key")).all()
    assert {row.get_attribute("data-column") for row in keyed} == primary
    for child, parent, parent_column in foreign:
        keys = columns.locator(f'tr[data-column="{child}"] td.keys')
        link = keys.get_by_role("link", name=f"{parent}.{parent_column}")
        expect(link).to_be_visible()
    with_foreign_keys = {row.get_attribute("data-column") for row in rows.filter(has_text="FK →").all()}
    assert with_foreign_keys == {child for child, _, _ in foreign}
    ui.screenshot("table-columns")

    child, parent, _ = foreign[0]
    columns.locator(f'tr[data-column="{child}"] td.keys').get_by_role("link").first.click()
    page.get_by_role("heading", name=parent).wait_for()  # the referenced table's page
    ui.assert_clean()


def test_a_description_edited_in_place_is_shown_in_the_history_and_by_the_rest_api(ui, site):
    urn = dataset_urn(DEMO_SOURCE, "main", EDITED)
    before = rest_table(site, urn)["description"]
    text = "One line of a purchase order: the item, quantity and agreed price."
    page = ui.open(table_page(urn))
    summary = page.get_by_role("region", name="About this table")
    summary.get_by_role("button", name=f"Edit the description of {EDITED}").click()
    summary.get_by_role("textbox", name=f"Description of {EDITED}").fill(text)
    summary.get_by_role("button", name="Save").click()
    expect(summary.get_by_text(text)).to_be_visible()  # at once, without a reload
    assert rest_table(site, urn)["description"] == text

    page.get_by_role("tab", name="History").click()
    history = page.get_by_role("region", name="Change history")
    edit = history.locator("li.change").filter(has_text="Description edited").first
    expect(edit).to_contain_text(text)
    expect(edit.locator(".before")).to_have_text(before or "none")
    expect(edit.locator("ins")).to_have_text(text)
    expect(edit.get_by_title("Who made the change")).to_have_text("local")  # the local operator (auth none)
    ui.assert_clean()


def test_a_columns_tag_is_added_and_removed_in_place_and_a_bad_tag_is_refused_inline(ui, site):
    urn = dataset_urn(DEMO_SOURCE, "main", EDITED)
    column = next(c for c in rest_table(site, urn)["columns"] if not c["tags"])["name"]
    page = ui.open(table_page(urn))
    row = page.get_by_role("table", name="Columns").locator(f'tr[data-column="{column}"]')

    row.get_by_role("button", name=f"Add a tag to {column}").click()
    row.get_by_role("textbox", name=f"Add a tag to {column}").fill("Finance.Cost")
    row.get_by_role("button", name="Add", exact=True).click()
    expect(row.get_by_role("button", name=f"Remove tag finance.cost from {column}")).to_be_visible()  # normalised
    assert rest_column(site, urn, column)["tags"] == ["finance.cost"]

    row.get_by_role("button", name=f"Add a tag to {column}").click()
    row.get_by_role("textbox", name=f"Add a tag to {column}").fill("x" * 200)
    row.get_by_role("button", name="Add", exact=True).click()
    expect(row.get_by_role("alert")).to_contain_text("a tag is 1 to 128")
    assert rest_column(site, urn, column)["tags"] == ["finance.cost"]

    row.get_by_role("button", name=f"Remove tag finance.cost from {column}").click()
    expect(row.get_by_role("button", name=f"Remove tag finance.cost from {column}")).to_have_count(0)
    assert rest_column(site, urn, column)["tags"] == []

    page.get_by_role("tab", name="History").click()
    edits = page.get_by_role("region", name="Change history").locator("li.change").filter(
        has_text="Tags edited")
    expect(edits.first).to_contain_text(column)
    expect(edits.first.locator(".before")).to_have_text("finance.cost")
    expect(edits.first.locator(".after")).to_have_text("none")
    ui.assert_clean()


def test_owners_and_glossary_terms_of_a_table_are_added_and_removed_in_place(ui, site):
    urn = dataset_urn(DEMO_SOURCE, "main", EDITED)
    term = httpx.post(site.url + "/api/v1/glossary/terms",
                      json={"name": "Purchase order line", "definition": "One item ordered from a vendor."})
    term.raise_for_status()
    page = ui.open(table_page(urn))
    summary = page.get_by_role("region", name="About this table")

    summary.get_by_role("button", name=f"Add an owner to {EDITED}").click()
    summary.get_by_role("textbox", name="New owner").fill("buyers@example.com")
    summary.get_by_role("combobox", name="Owner type").select_option("business")
    summary.get_by_role("combobox", name="Owner kind").select_option("group")
    summary.get_by_role("button", name="Add owner").click()
    remove_owner = summary.get_by_role("button", name=f"Remove owner buyers@example.com (business) from {EDITED}")
    expect(remove_owner).to_be_visible()
    owners = [{k: o[k] for k in ("principal", "kind", "type")} for o in rest_curation(site, urn)["owners"]]
    assert owners == [{"principal": "buyers@example.com", "kind": "group", "type": "business"}]

    summary.get_by_role("button", name=f"Link a glossary term to {EDITED}").click()
    summary.get_by_role("combobox", name=f"Link a glossary term to {EDITED}").fill("purchase ORDER line")
    summary.get_by_role("button", name="Add", exact=True).click()
    unlink = summary.get_by_role("button", name=f"Unlink term Purchase order line from {EDITED}")  # its own case
    expect(unlink).to_be_visible()
    assert [t["name"] for t in rest_curation(site, urn)["terms"]] == ["Purchase order line"]

    unlink.click()
    remove_owner.click()
    expect(unlink).to_have_count(0)
    expect(remove_owner).to_have_count(0)
    curation = rest_curation(site, urn)
    assert (curation["owners"], curation["terms"]) == ([], [])

    page.get_by_role("tab", name="History").click()
    history = page.get_by_role("region", name="Change history")
    for what in ("Owners changed", "Glossary terms changed"):
        expect(history.locator("li.change").filter(has_text=what)).to_have_count(2)  # added, then removed
    ui.screenshot("table-history")  # after every edit of this file's tests
    ui.assert_clean()


def rest_curation(site, urn: str) -> dict:
    answer = httpx.get(site.url + "/api/v1/entities/" + quote(urn, safe=":") + "/curation")
    answer.raise_for_status()
    return answer.json()


def rest_column(site, table: str, name: str) -> dict:
    urn = column_urn(*table.split(":")[3:], name)
    return next(c for c in rest_table(site, table)["columns"] if c["urn"] == urn)


@pytest.fixture(scope="module")
def guarded_site(tmp_path_factory):
    """The demo (crawled, not profiled) in a catalog that requires a credential, with a viewer's and a curator's key."""
    from catalog_api.services.api_keys import create_key

    with demo_site(tmp_path_factory.mktemp("ui-guarded"), profile=False, auth="required") as served:
        viewer, curator = (create_key(served.ctx, role, [role]) for role in ("viewer", "curator"))
        yield served, viewer, curator


def signed_in(session, key, path: str):
    """The page at `path` for the key's holder: the key is in the tab's storage before the UI's first request, as
    the sign-in page leaves it (a first request without it would be refused, and logged by the browser)."""
    session.page.add_init_script(f"sessionStorage.setItem('catalog.credential', {json.dumps(key.secret)})")
    return session.open(path)


def test_only_a_curator_sees_the_edit_controls_and_the_history_names_the_curators_key(guarded_site, chromium_browser):
    served, viewer, curator = guarded_site
    urn = dataset_urn(DEMO_SOURCE, "main", "vendors")
    path = table_page(urn)
    with ui_session(chromium_browser, served.url) as session:
        page = signed_in(session, viewer, path)
        expect(page.get_by_role("table", name="Columns").locator("tbody tr").first).to_be_visible()
        editing = re.compile("^(Edit the description|Add a tag|Add an owner|Link a glossary term)")
        assert page.get_by_role("button", name=editing).count() == 0
        session.assert_clean()
    with ui_session(chromium_browser, served.url) as session:
        page = signed_in(session, curator, path)
        summary = page.get_by_role("region", name="About this table")
        summary.get_by_role("button", name="Edit the description of vendors").click()
        summary.get_by_role("textbox", name="Description of vendors").fill("Who we buy from.")
        summary.get_by_role("button", name="Save").click()
        expect(summary.get_by_text("Who we buy from.")).to_be_visible()
        page.get_by_role("tab", name="History").click()
        edit = page.get_by_role("region", name="Change history").locator("li.change").filter(
            has_text="Description edited")
        expect(edit.get_by_title("Who made the change")).to_have_text(f"api_key:{curator.key.id}")
        session.assert_clean()
