"""The search page: words typed in the header, facets that filter when clicked (kept in the address), hits that open
their table's page. What it shows is checked against the REST search's own answer for the same words and filters."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from tests.support.ui import api_search, choose_facet, hit_count, search_from_header

PAGE_SIZE = 25  # hits per page of the search page


def shown_hits(page) -> list[str]:
    return page.get_by_role("region", name="Results").locator(".hit-title > a").all_inner_texts()


def test_searching_then_clicking_a_facet_shows_the_apis_hits_for_that_filter(ui, site):
    page = ui.open("/ui")
    search_from_header(page, "customer")
    everything = api_search(site, q="customer")
    expect(page.get_by_role("status")).to_have_text(hit_count(everything['total']))
    assert shown_hits(page) == [hit["name"] for hit in everything["hits"][:PAGE_SIZE]]
    tables_facet = next(value for value in everything["facets"]["kind"] if value["value"] == "table")

    choose_facet(page, "Kind", "table")
    expect(page.get_by_role("status")).to_have_text(hit_count(tables_facet['count']))
    assert parse_qs(urlsplit(page.url).query) == {"q": ["customer"], "kind": ["table"]}  # shareable
    only_tables = api_search(site, q="customer", kind="table")
    assert only_tables["total"] == tables_facet["count"]
    assert shown_hits(page) == [hit["name"] for hit in only_tables["hits"][:PAGE_SIZE]]
    assert {hit["kind"] for hit in only_tables["hits"]} == {"table"}
    expect(page.get_by_role("listitem").filter(has_text="Kind: table")).to_be_visible()
    ui.screenshot("search-facets")

    page.reload()  # the address holds the search: the same hits come back
    expect(page.get_by_role("status")).to_have_text(hit_count(tables_facet['count']))
    page.get_by_role("link", name="Remove filter Kind: table").click()
    expect(page.get_by_role("status")).to_have_text(hit_count(everything['total']))

    page.go_back()
    first = only_tables["hits"][0]
    page.get_by_role("region", name="Results").get_by_role("link", name=first["name"], exact=True).click()
    page.get_by_role("heading", name=first["name"]).wait_for()
    page.get_by_role("tab", name="Columns", selected=True).wait_for()
    ui.assert_clean()


def test_without_words_the_filters_alone_select_and_a_column_opens_its_tables_page(ui, site):
    page = ui.open("/ui/search?kind=column&source=demo_erp")
    everything = api_search(site, kind="column", source="demo_erp")
    expect(page.get_by_role("status")).to_have_text(hit_count(everything['total']))
    assert shown_hits(page) == [hit["name"] for hit in everything["hits"][:PAGE_SIZE]]

    page.get_by_role("button", name="Next page").click()
    second = api_search(site, kind="column", source="demo_erp", first=PAGE_SIZE, after=everything_cursor(site))
    expect(page.get_by_role("region", name="Results").locator(".hit-title > a").first).to_have_text(
        second["hits"][0]["name"])
    assert shown_hits(page) == [hit["name"] for hit in second["hits"]]

    hit = second["hits"][0]
    page.get_by_role("region", name="Results").locator(".hit-title > a").first.click()
    page.get_by_role("heading", name=hit["table_name"]).wait_for()
    ui.assert_clean()


def everything_cursor(site) -> str:
    """The cursor after the search page's first page of columns, as the API gives it."""
    return api_search(site, kind="column", source="demo_erp", first=PAGE_SIZE)["next_cursor"]


def test_typing_in_the_header_suggests_the_best_hits_and_enter_opens_the_chosen_one(ui, site):
    page = ui.open("/ui/sources")
    box = page.get_by_role("combobox", name="Search the catalog")
    box.press_sequentially("invoi")
    best = api_search(site, q="invoi", first=8)["hits"]
    suggestions = page.get_by_role("listbox", name="Suggestions").get_by_role("option")
    expect(suggestions).to_have_count(len(best))
    assert [s.locator("strong").inner_text() for s in suggestions.all()] == [hit["name"] for hit in best]
    box.press("ArrowDown")
    expect(suggestions.first).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    page.get_by_role("heading", name=best[0]["table_name"]).wait_for()  # its table's page (a column's too), not a search
    assert "/ui/search" not in page.url
    ui.assert_clean()
