"""The web UI in a real headless Chromium (driven by Playwright), against a served catalog holding the demo ERP.

`demo_site` crawls and profiles the demo once; `UiSession` opens pages in a browser whose network reaches only the
service: any request elsewhere is aborted and recorded, and so are failed requests, error answers, console errors
and uncaught exceptions, which `assert_clean` turns into a test failure. Screenshots go to test-artifacts/ui/.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.browser import chromium
from tests.support.paths import REPO
from tests.support.server import serve

ARTIFACTS = REPO / "test-artifacts" / "ui"
DEMO_SOURCE = "demo_erp"


@dataclass
class DemoSite:
    url: str
    ctx: Any


@contextmanager
def demo_site(folder: Path, *, profile: bool = True, **settings: Any) -> Iterator[DemoSite]:
    """The demo ERP registered, crawled (and profiled) in a catalog in `folder`, served on a free port. Without the
    profiles' HTML reports unless `profile_reports_enabled=True`: ydata-profiling takes half a minute over the
    demo, and closing the catalog waits for it."""
    from catalog_api.app import create_app
    from catalog_api.bootstrap import build_context
    from catalog_api.demo.builder import build_demo_database
    from catalog_api.services.crawl import request_crawl
    from catalog_api.services.jobs import wait_for_job
    from catalog_api.services.profiling import request_profile
    from catalog_api.services.sources import SourceRegistration, register_source
    from catalog_api.settings import Settings

    configured = Settings(home=folder / "home", secret_key="test-secret-key-not-for-production", job_workers=2,
                          file_roots=[folder], scheduler_enabled=False, broker_url=None, profile_sample_rows=2000,
                          **{"profile_reports_enabled": False, **settings})
    ctx = build_context(configured, migrate=True)
    try:
        path = build_demo_database(folder / "demo" / "erp.db")
        register_source(ctx, SourceRegistration(name=DEMO_SOURCE, kind="sqlite", config={"path": str(path)},
                                                description="Sample ERP: customers, orders, invoices."))
        assert wait_for_job(ctx, request_crawl(ctx, DEMO_SOURCE).id, timeout=120).status == "succeeded"
        if profile:
            assert wait_for_job(ctx, request_profile(ctx, DEMO_SOURCE).id, timeout=300).status == "succeeded"
        with serve(create_app(ctx=ctx)) as url:
            yield DemoSite(url, ctx)
    finally:
        ctx.close()


@contextmanager
def browser(*flags: str) -> Iterator[Any]:
    """Debian's Chromium under Playwright (no browser download: Playwright drives the system's binary)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(),
                                              args=["--no-sandbox", "--disable-gpu", *flags])
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class UiSession:
    """One browser context on the site: its page, and every problem the page ran into."""

    base: str
    page: Any
    outside: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)
    """Every request the pages sent, in order (Playwright `Request`s: url, method, headers)."""
    responses: list[Any] = field(default_factory=list)
    in_flight: set[Any] = field(default_factory=set)

    def open(self, path: str) -> Any:
        self.page.goto(self.base + path)
        return self.page

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(target), full_page=True)
        return target

    def settle(self, quiet_ms: int = 250, timeout_ms: int = 15000) -> None:
        """Waits until the page has had no request under way for `quiet_ms` (a followed event stream does not
        count: it stays open). Playwright's "networkidle" never comes while a page follows the stream."""
        quiet = elapsed = 0
        while quiet < quiet_ms:
            assert elapsed < timeout_ms, f"still loading after {timeout_ms} ms: {[r.url for r in self.in_flight]}"
            self.page.wait_for_timeout(50)  # lets Playwright deliver the page's events
            elapsed += 50
            quiet = 0 if self.in_flight else quiet + 50

    def assert_clean(self) -> None:
        """Nothing was requested outside the service, nothing failed, nothing went wrong in a script."""
        assert self.outside == [], f"requests outside the service: {self.outside}"
        assert self.failed == [], f"failed requests: {self.failed}"
        assert self.errors == [], f"console errors: {self.errors}"


@contextmanager
def ui_session(launched: Any, base: str, *, expected_statuses: tuple[int, ...] = (),
               cached: bool = False) -> Iterator[UiSession]:
    """A fresh browser context (no stored credential) whose network ends at `base`. Error answers (4xx/5xx) count
    as failures unless their status is in `expected_statuses` (a 401 before signing in, say).

    Requests elsewhere are aborted by Playwright's routing, which also turns the browser's HTTP cache off. With
    `cached=True` (to measure what a user's browser does) nothing is routed: the browser must be launched with
    `OFFLINE` flags (tests/support/browser.py), and requests elsewhere are recorded as they leave."""
    context = launched.new_context(viewport={"width": 1280, "height": 860})
    session = UiSession(base, context.new_page())

    def inside(url: str) -> bool:
        return url.startswith(base + "/") or url.startswith("data:")

    def confine(route: Any) -> None:
        if inside(route.request.url):
            route.continue_()
        else:
            session.outside.append(route.request.url)
            route.abort()

    def sent(request: Any) -> None:
        if cached and not inside(request.url):
            session.outside.append(request.url)
        session.requests.append(request)
        if "/api/v1/events/stream" not in request.url:
            session.in_flight.add(request)

    def answered(response: Any) -> None:
        session.responses.append(response)
        if response.status >= 400 and response.status not in expected_statuses:
            session.failed.append(f"{response.status} {response.request.method} {response.url}")

    def failed(request: Any) -> None:
        session.in_flight.discard(request)
        if request.failure == "net::ERR_ABORTED":
            return  # the browser gave it up: a navigation or reload, or the page's own AbortController (the live
            # stream closed by the page that followed it, say); a server's failure reads otherwise
        if request.url.startswith(base + "/"):
            session.failed.append(f"{request.failure} {request.method} {request.url}")

    # Chromium reports every error answer on the console too: those with an expected status are not script errors.
    expected_logs = tuple(f"the server responded with a status of {status} " for status in expected_statuses)

    def logged(message: Any) -> None:
        if message.type == "error" and not (expected_logs and any(e in message.text for e in expected_logs)):
            session.errors.append(message.text)

    if not cached:
        context.route("**/*", confine)
    session.page.on("request", sent)
    session.page.on("requestfinished", lambda request: session.in_flight.discard(request))
    session.page.on("response", answered)
    session.page.on("requestfailed", failed)
    session.page.on("console", logged)
    session.page.on("pageerror", lambda error: session.errors.append(str(error)))
    try:
        yield session
    finally:
        context.close()


def demo_database(site: DemoSite) -> Path:
    """The demo source's SQLite file, as the catalog has it registered: the oracle tests count rows in."""
    from sqlalchemy import select

    from catalog_api.db.models import DataSource

    with site.ctx.db.session() as session:
        config = session.scalar(select(DataSource.config).where(DataSource.name == DEMO_SOURCE))
    return Path(config["path"])


def search_from_header(page: Any, words: str) -> None:
    """Types `words` in the header's search box and presses Enter, as a user searches; returns once the search page
    shows their results."""
    box = page.get_by_role("combobox", name="Search the catalog")
    box.fill(words)
    box.press("Enter")
    page.get_by_role("heading", name=f"Results for “{words}”").wait_for()


def choose_facet(page: Any, facet: str, value: str) -> None:
    """Clicks `value` (its link reads "value count") in the search page's `facet` box (`Kind`, `Source`, …)."""
    import re

    page.get_by_role("region", name=facet).get_by_role("link", name=re.compile(rf"^{re.escape(value)} ")).click()


def api_search(site: DemoSite, **params: Any) -> dict:
    """The REST search's own answer (up to 100 hits unless `first` says otherwise): the search page's oracle."""
    import httpx

    answer = httpx.get(site.url + "/api/v1/search", params={"first": 100, **params})
    answer.raise_for_status()
    return answer.json()


def hit_count(total: int) -> str:
    """How the search page states a number of hits."""
    return f"{total} hit" if total == 1 else f"{total} hits"


def table_address(urn: str, tab: str | None = None) -> str:
    """The UI's address of a table's page (and tab), as js/router.js tableHref writes it."""
    from urllib.parse import quote

    return f"/ui/tables/{quote(urn, safe='')}" + (f"?tab={tab}" if tab else "")
