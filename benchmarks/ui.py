"""Web UI benchmark: how long each kind of page takes to be complete in a real browser, on the demo catalog.

Serves the demo ERP (crawled and profiled, as the UI tests build it: tests/support/ui.py `demo_site`, rate limit off)
and loads each kind of page N times in Debian's Chromium through Playwright, in one browser tab with its HTTP cache on
(the UI's files, versioned by digest, come from the cache, as in a returning user's browser; the network is confined to
127.0.0.1 by Chromium's flags, not by Playwright's routing, which would turn the cache off): the search page, a search
with a facet, the sources, a schema's tables, a table page on each of its tabs (found by clicking them), and the lineage
viewer.

Prints per page:
- p50/p95 of the time from navigation start to the end of the page's last network request, once nothing has been
  under way for 250 ms: the largest `responseEnd` among the navigation and resource entries of the Performance API
  (a followed event stream, which never ends, is left out);
- how many API round trips the page makes one after another (the longest chain of API requests each sent after
  the one before it was answered; the median over the loads, as a quick answer to `me` can end before a request
  sent a few ms after it starts): what the page waits for however fast the service is, and unlike a time, much
  the same on a busy machine;
- p95 of each API request the page sends (a GraphQL operation by name, a REST path), as server time: from the
  request sent to the first byte of the answer (Playwright's request timing), which on 127.0.0.1 is the service's
  time.
The target is p95 <= 200 ms per page (printed met / not met). Then the size of the shell and of every file a first
visit loads (cold cache), and their total.

Usage: python -m benchmarks.ui [--runs 20]   (as a module: benchmarks/profile.py would shadow the standard library)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote, urlsplit

from catalog_api.urns import dataset_urn
from tests.support.browser import OFFLINE
from tests.support.ui import DEMO_SOURCE, browser, demo_site, ui_session

TARGET_MS = 200.0
TABLE = dataset_urn(DEMO_SOURCE, "main", "sales_orders")
LINEAGE = dataset_urn(DEMO_SOURCE, "main", "invoices")
PAGES = {
    "search home": "/ui",
    "search with a facet": "/ui/search?q=customer&kind=table",
    "sources": "/ui/sources",
    "a schema's tables": f"/ui/sources/{DEMO_SOURCE}/main",
    "lineage viewer": f"/ui/lineage?urn={quote(LINEAGE, safe='')}",
}
TABLE_PAGE = f"/ui/tables/{quote(TABLE, safe='')}"

# The end of the page's last request, from navigation start (ms): navigation and resource entries alike.
LAST_RESPONSE = """() => Math.max(
  ...performance.getEntriesByType("navigation").map((entry) => entry.responseEnd),
  ...performance.getEntriesByType("resource").map((entry) => entry.responseEnd))"""
FIRST_VISIT = """() => [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")]
  .map((entry) => [new URL(entry.name).pathname, entry.encodedBodySize, entry.decodedBodySize])"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def api_label(request) -> str | None:
    """What an API request asks: `graphql <operation>` (its name, else its first field), or `GET /api/v1/...`."""
    path = urlsplit(request.url).path
    if path == "/graphql":
        query = json.loads(request.post_data or "{}").get("query", "")
        named = re.search(r"\b(?:query|mutation)\s+(\w+)", query) or re.search(r"\{\s*(\w+)", query)
        return f"graphql {named.group(1) if named else '?'}"
    if path.startswith("/api/v1/") and not path.endswith("/events/stream"):
        return f"{request.method} {re.sub(r'/[^/]*:[^/]*', '/{urn}', path)}"
    return None


def table_tabs(session) -> dict[str, str]:
    """Each tab of the table page and its address, found by clicking the tabs as a user would."""
    page = session.open(TABLE_PAGE)
    session.settle()
    tabs = {}
    for index in range(page.get_by_role("tab").count()):
        tab = page.get_by_role("tab").nth(index)
        tab.click()
        session.settle()
        tabs[f"table: {tab.inner_text().strip().lower()}"] = urlsplit(page.url).path + "?" + urlsplit(page.url).query
    return tabs


def in_a_row(requests: list) -> int:
    """The longest chain of these requests in which each was sent after the one before it was answered."""
    spans = sorted((r.timing["startTime"], r.timing["startTime"] + r.timing["responseEnd"]) for r in requests
                   if r.timing["responseEnd"] >= 0)
    depth: list[int] = []
    for index, (start, _) in enumerate(spans):
        depth.append(1 + max((depth[i] for i in range(index) if spans[i][1] <= start), default=0))
    return max(depth, default=0)


def measure(session, path: str, runs: int) -> tuple[list[float], dict[str, list[float]], list[int]]:
    loads: list[float] = []
    server: dict[str, list[float]] = defaultdict(list)
    chains: list[int] = []
    session.open(path)  # once to warm the browser's cache and the service's
    session.settle()
    for _ in range(runs):
        first = len(session.requests)
        session.open(path)
        session.settle()
        loads.append(session.page.evaluate(LAST_RESPONSE))
        chains.append(in_a_row([request for request in session.requests[first:] if api_label(request)]))
        for request in session.requests[first:]:
            label = api_label(request)
            timing = request.timing
            if label and timing["responseStart"] >= 0:
                server[label].append(timing["responseStart"] - timing["requestStart"])
    return loads, server, chains


def report_sizes(session) -> None:
    session.open("/ui")
    session.settle()
    files = [(path, sent, size) for path, sent, size in session.page.evaluate(FIRST_VISIT)
             if not path.startswith(("/api/", "/graphql"))]
    print("\nfirst visit of /ui (cold cache): bytes on the wire / decoded")
    for path, sent, size in files:
        print(f"  {path:<60} {sent:>9,} {size:>9,}")
    print(f"  {'total (' + str(len(files)) + ' files)':<60} {sum(f[1] for f in files):>9,} "
          f"{sum(f[2] for f in files):>9,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, \
            demo_site(Path(folder), rate_limit_per_s=0) as site, \
            browser(*OFFLINE) as launched:
        with ui_session(launched, site.url, cached=True) as session:
            pages = {**PAGES, **table_tabs(session)}
            print(f"{len(pages)} pages, {args.runs} loads each (after one warm-up), target p95 <= {TARGET_MS:.0f} ms; "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            print(f"{'page':<26} {'p50 ms':>8} {'p95 ms':>8}  target   in a row  API requests: p95 server ms")
            for name, path in pages.items():
                loads, server, chains = measure(session, path, args.runs)
                p95 = percentile(loads, 0.95)
                verdict = "met" if p95 <= TARGET_MS else "NOT MET"
                apis = ", ".join(f"{label} {percentile(times, 0.95):.0f}" for label, times in sorted(server.items()))
                print(f"{name:<26} {statistics.median(loads):>8.0f} {p95:>8.0f}  {verdict:<7}  {statistics.median(chains):>8.0f}  "
                      f"{apis or '-'}")
            session.assert_clean()
        with ui_session(launched, site.url, cached=True) as cold:
            report_sizes(cold)


if __name__ == "__main__":
    main()
