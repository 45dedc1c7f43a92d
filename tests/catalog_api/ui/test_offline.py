"""Every page of the UI works offline: a crawler starts at /ui and follows, breadth first, every link of the UI it
finds (and opens each tab of the first table pages it meets), in a browser that can reach nothing but the service.
On each page nothing is requested elsewhere, nothing fails, no script logs an error, and the page is a page (no
"Not found", no error in place of its content). It discovers the pages from their links, so it follows the UI as
pages are added. The service's other browser pages the UI links to (GraphiQL, the OpenAPI UI) are opened too."""

from __future__ import annotations

from collections import Counter, deque
from urllib.parse import urlsplit

MAX_PAGES = 60
PER_KIND = 8
"""At most this many pages of one kind (same route, same query parameters): 60 pages cover every kind of page
rather than every table of the demo."""
TABBED_PAGES = 3
"""Table pages whose every tab is opened."""

# HTML and SVG links alike (an SVG <a>'s `href` is not a string, its attribute is).
LINKS = "els => els.map((a) => new URL(a.getAttribute('href'), location.href).href)"


def _kind(address: str) -> tuple[str, ...]:
    parts = urlsplit(address)
    segments = parts.path.rstrip("/").split("/")[:3]
    return (*segments, *sorted(name.split("=")[0] for name in parts.query.split("&") if name))


def _check(ui, address: str) -> None:
    ui.settle()
    assert ui.page.get_by_role("heading", name="Not found").count() == 0, f"{address}: a link leads nowhere"
    shown = [text for text in ui.page.locator(".error[role=alert]").all_inner_texts() if text.strip()]
    assert shown == [], f"{address}: the page shows an error: {shown}"
    try:
        ui.assert_clean()
    except AssertionError as problem:
        raise AssertionError(f"{address}: {problem}") from None


def _links(ui, base: str) -> list[str]:
    found = []
    for href in ui.page.eval_on_selector_all("a[href]", LINKS):
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" == base:
            found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def test_every_page_of_the_ui_works_offline(ui):
    queue: deque[str] = deque(["/ui"])
    seen = {"/ui"}
    kinds: Counter[tuple[str, ...]] = Counter()
    visited: list[str] = []
    elsewhere: set[str] = set()  # the service's pages outside the UI: opened, not crawled
    tabbed = 0
    while queue and len(visited) < MAX_PAGES:
        address = queue.popleft()
        page = ui.open(address)
        _check(ui, address)
        visited.append(address)
        found = _links(ui, ui.base)
        if address.startswith("/ui/tables/") and tabbed < TABBED_PAGES:
            tabbed += 1
            for index in range(page.get_by_role("tab").count()):
                tab = page.get_by_role("tab").nth(index)
                tab.click()
                _check(ui, f"{address} ({tab.inner_text()} tab)")
                seen.add(urlsplit(page.url).path + "?" + urlsplit(page.url).query)
                found += _links(ui, ui.base)
        for link in found:
            if not link.startswith("/ui"):
                if not link.startswith(("/api/", "/static/")):  # pages, not data or files
                    elsewhere.add(link.split("?")[0])
            elif link not in seen and kinds[_kind(link)] < PER_KIND:
                seen.add(link)
                kinds[_kind(link)] += 1
                queue.append(link)
    assert {"/ui", "/ui/sources"} <= set(visited) | seen, visited
    assert tabbed > 0 or not any(a.startswith("/ui/tables/") for a in seen), "no table page's tabs were opened"

    for address in sorted(elsewhere):
        ui.open(address)
        _check(ui, address)
    assert {"/graphql", "/docs"} <= elsewhere  # the header links to both
