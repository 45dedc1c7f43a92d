"""One demo catalog for all UI tests (its crawl and profile take seconds to tens of seconds), one browser per module.
Tests that change the catalog change what no other test reads (their own table's description, say).

The browser is not kept for the whole session: Playwright's synchronous API runs an event loop in the main thread
while it is started, and the tests after these (`asyncio.run`, the event bus's own loops) need the thread without one."""

from __future__ import annotations

import pytest

from tests.support.ui import browser, demo_site, ui_session


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    with demo_site(tmp_path_factory.mktemp("ui-demo")) as served:
        yield served


@pytest.fixture(scope="module")
def chromium_browser():
    with browser() as launched:
        yield launched


@pytest.fixture
def ui(site, chromium_browser):  # in this order, the browser closes before the server, which then stops at once
    with ui_session(chromium_browser, site.url) as session:
        yield session
