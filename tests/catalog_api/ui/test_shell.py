"""The UI's shell: every address under /ui answers the same page, which draws the page the address names from the
service's own files only, and the sign-in page that a catalog requiring authentication sends a browser to."""

from __future__ import annotations

from urllib.parse import quote

from catalog_api.urns import dataset_urn
from tests.support.ui import DEMO_SOURCE


def test_the_shell_is_public_and_loads_only_from_the_service(site):
    import httpx

    answer = httpx.get(site.url + "/ui/tables/whatever")
    assert answer.status_code == 200 and '<div id="app">' in answer.text
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self' 'sha256-" in policy and "connect-src 'self'" in policy and "http" not in policy
    module = httpx.get(site.url + "/static/ui/js/app.js")
    assert module.status_code == 200 and module.headers["Cache-Control"] == "no-cache" and module.headers["ETag"]
    again = httpx.get(site.url + "/static/ui/js/app.js", headers={"If-None-Match": module.headers["ETag"]})
    assert again.status_code == 304


def test_a_table_page_opens_from_its_address_with_its_header(ui):
    urn = dataset_urn(DEMO_SOURCE, "main", "customers")
    page = ui.open(f"/ui/tables/{quote(urn, safe='')}")
    page.get_by_role("heading", name="customers").wait_for()
    assert page.get_by_role("tab", name="Columns").get_attribute("aria-selected") == "true"
    page.get_by_role("tab", name="History").click()
    assert page.url.endswith("?tab=history")
    page.get_by_role("region", name="Change history").wait_for()  # loaded: a reload would abort its request
    page.reload()  # the address names the tab: a bookmark or a shared link opens it
    page.get_by_role("tab", name="History", selected=True).wait_for()
    ui.assert_clean()


def test_an_unknown_address_says_so(ui):
    page = ui.open("/ui/no/such/page")
    page.get_by_role("heading", name="Not found").wait_for()
    ui.assert_clean()


def test_the_shell_names_each_file_by_its_content_so_a_browser_keeps_it(site):
    """A page opened again needs the shell and the API only: every file the shell names carries its digest and may
    be cached for a year; the same file asked for without it (or with an old digest) is revalidated."""
    import hashlib
    import re

    import httpx

    from catalog_api.ui.routes import UI_STATIC_DIR

    shell = httpx.get(site.url + "/ui").text
    named = re.findall(r'"(/static/ui/[^"?]+)\?v=([0-9a-f]+)"', shell)
    assert {path for path, _ in named} >= {"/static/ui/js/app.js", "/static/ui/js/api.js", "/static/ui/css/base.css"}
    for path, digest in named:
        content = (UI_STATIC_DIR / path.removeprefix("/static/ui/")).read_bytes()
        assert digest == hashlib.sha256(content).hexdigest()[:len(digest)], path
        answer = httpx.get(f"{site.url}{path}?v={digest}")
        assert answer.content == content and answer.headers["Cache-Control"].endswith("immutable"), path
    stale = httpx.get(site.url + "/static/ui/js/app.js?v=000000000000")
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache"


def test_the_digests_are_read_once_and_a_changed_file_gets_a_new_address(tmp_path, monkeypatch):
    import shutil

    from catalog_api.ui import routes

    assert routes.current_build() is routes.current_build()  # once per process: no look at the disk per request
    copy = tmp_path / "static"
    shutil.copytree(routes.UI_STATIC_DIR, copy)
    before = routes.build(copy)
    assert before.digests == routes.current_build().digests
    (copy / "js" / "api.js").write_text((copy / "js" / "api.js").read_text() + "\n// edited\n")
    after = routes.build(copy)
    assert after.digests["js/api.js"] != before.digests["js/api.js"]
    assert after.digests["js/app.js"] == before.digests["js/app.js"]
    assert f"/static/ui/js/api.js?v={after.digests['js/api.js']}" in after.page
    assert after.policy != before.policy  # the import map changed, and with it its hash in the policy
