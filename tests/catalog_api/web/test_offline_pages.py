"""GraphiQL (`/graphql`) and Swagger UI (`/docs`) work without internet: every file they load comes from the
service's own origin (vendored by tools/vendor_assets.py), their policy allows only 'self', and a real Chromium
that can reach nothing but 127.0.0.1 renders them."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from catalog_api.app import create_app
from catalog_api.web.assets import IMMUTABLE, VENDOR_DIR
from tests.support.browser import OFFLINE, open_page
from tests.support.server import serve

PAGES = {"/docs": {}, "/graphql": {"Accept": "text/html"}}


class _Addresses(HTMLParser):
    """Every address a page makes the browser load: scripts, style sheets and icons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        name = {"script": "src", "img": "src", "link": "href"}.get(tag)
        if name and attributes.get(name):
            self.found.append(attributes[name] or "")


def _addresses(html: str) -> list[str]:
    parser = _Addresses()
    parser.feed(html)
    return parser.found


def _directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (d.split() for d in policy.split(";"))}


@pytest.mark.parametrize("path", PAGES)
def test_every_file_a_page_loads_is_served_here(api_client, path):
    page = api_client.get(path, headers=PAGES[path])
    assert page.status_code == 200
    addresses = [a for a in _addresses(page.text) if not a.startswith("data:")]
    assert len(addresses) >= 3, addresses  # Swagger UI: script, style, icon; GraphiQL: React, GraphiQL, …
    for address in addresses:
        parts = urlsplit(address)
        assert not parts.scheme and not parts.netloc and address.startswith("/static/vendor/"), address
        answer = api_client.get(address)
        assert answer.status_code == 200, address
        assert answer.headers["cache-control"] == IMMUTABLE
        assert answer.content == (VENDOR_DIR / address.removeprefix("/static/vendor/")).read_bytes()


@pytest.mark.parametrize("path", PAGES)
def test_a_page_may_load_only_from_this_origin(api_client, path):
    policy = _directives(api_client.get(path, headers=PAGES[path]).headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    for directive in ("script-src", "style-src", "img-src", "font-src", "connect-src"):
        assert not [s for s in policy[directive] if "://" in s or s in ("*", "https:", "http:")], policy[directive]
    assert policy["script-src"][0] == "'self'" and all(s.startswith("'sha256-") for s in policy["script-src"][1:])


def test_vendored_files_are_public_under_required_auth(catalog_ctx):
    from fastapi.testclient import TestClient

    catalog_ctx.settings.auth = "required"
    try:
        with TestClient(create_app(ctx=catalog_ctx)) as client:
            docs = client.get("/docs")
            script = next(a for a in _addresses(docs.text) if a.endswith(".js"))
            assert docs.status_code == 200 and client.get(script).status_code == 200
            assert client.get("/api/v1/sources").status_code == 401
    finally:
        catalog_ctx.settings.auth = "none"


def test_redoc_is_not_served(api_client):
    assert api_client.get("/redoc").status_code == 404


def test_each_vendored_package_carries_its_license():
    folders = [f for f in VENDOR_DIR.iterdir() if f.is_dir()]
    assert len(folders) == 9  # GraphiQL and its plugin, React, React DOM, js-cookie, Swagger UI; Preact, htm and
    # dagre (web UI)
    for folder in folders:
        assert (folder / "LICENSE").is_file() or '"license": "MIT"' in (folder / "package.json").read_text(), folder


def test_the_vendoring_script_pins_what_is_in_the_package():
    """The files in the package are the ones the pinned tarballs hold (checked without the network: every pinned
    file is present, and every file present is pinned)."""
    script = Path(__file__).parents[3] / "tools" / "vendor_assets.py"
    spec = importlib.util.spec_from_file_location("vendor_assets", script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while they are defined
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    pinned = {f"{p.folder}/{f}" for p in module.PACKAGES for f in p.files}
    present = {str(f.relative_to(VENDOR_DIR)) for f in VENDOR_DIR.rglob("*") if f.is_file()}
    assert pinned == present
    assert all(len(p.sha256) == 64 and int(p.sha256, 16) >= 0 for p in module.PACKAGES)
    assert hashlib.sha256(b"").hexdigest() not in {p.sha256 for p in module.PACKAGES}


@pytest.mark.parametrize(("path", "rendered"), [
    ("/graphql", 'class="graphiql-editor"'),  # GraphiQL's query editor
    ("/docs", 'class="opblock-summary'),        # Swagger UI listing an operation read from /openapi.json
])
def test_a_browser_without_internet_renders_the_page(catalog_ctx, tmp_path, path, rendered):
    with serve(create_app(ctx=catalog_ctx)) as url:
        page = open_page(f"{url}{path}", tmp_path / "profile", *OFFLINE, budget_ms=8000)
    assert rendered in page.dom, page.dom[-2000:]
    assert not page.blocked, page.blocked
    assert not page.errors, page.errors


def test_the_offline_browser_reaches_no_other_host(tmp_path):
    """The control of the test above: under the same flags, a page that loads React from a CDN does not get it."""
    page = tmp_path / "cdn.html"
    page.write_text('<html><body><script src="https://unpkg.com/react@18.2.0/umd/react.production.min.js"></script>'
                    '<script>document.body.dataset.react = typeof React;</script></body></html>')
    dom = open_page(page.as_uri(), tmp_path / "profile", *OFFLINE).dom
    assert 'data-react="undefined"' in dom, dom
