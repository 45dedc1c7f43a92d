"""One demo catalog and one browser for all UI tests: the demo's crawl and profile take tens of seconds. Tests that
change the catalog change what no other test reads (their own table's description, say)."""

from __future__ import annotations

import pytest

from tests.support.ui import browser, demo_site, ui_session


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    with demo_site(tmp_path_factory.mktemp("ui-demo")) as served:
        yield served


@pytest.fixture(scope="session")
def chromium_browser():
    with browser() as launched:
        yield launched


@pytest.fixture
def ui(site, chromium_browser):  # in this order, the browser closes before the server, which then stops at once
    with ui_session(chromium_browser, site.url) as session:
        yield session
