"""GraphiQL at /graphql: served with a Content-Security-Policy that allows exactly what the page loads (its vendored
scripts from this origin, its inline script by hash) and nothing else; in a real Chromium nothing is blocked."""

from __future__ import annotations

from catalog_api.app import create_app
from catalog_api.web.csp import inline_source, page_assets
from tests.support.browser import open_page
from tests.support.server import serve


def _directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (d.split() for d in policy.split(";"))}


def test_graphiql_may_run_only_the_scripts_it_loads(api_client):
    page = api_client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    policy = _directives(page.headers["content-security-policy"])
    assets = page_assets(page.text)
    assert policy["script-src"] == ["'self'", *map(inline_source, assets.inline_scripts)]
    assert all(src.startswith("/static/vendor/") for src in assets.scripts) and len(assets.inline_scripts) == 1
    assert policy["connect-src"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["default-src"] == ["'none'"] and policy["form-action"] == ["'none'"]


def test_graphiql_in_a_browser_is_not_blocked_by_its_policy(catalog_ctx, tmp_path):
    with serve(create_app(ctx=catalog_ctx)) as url:
        page = open_page(f"{url}/graphql", tmp_path / "profile")
    assert "graphiql" in page.dom.lower()
    assert not page.blocked, page.blocked
