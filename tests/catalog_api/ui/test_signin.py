"""Signing in to the UI of a catalog that requires authentication (`auth="required"`): the sign-in page checks a
credential with the API before keeping it and says why one is refused, returns to the page that asked (only pages of
the UI: no open redirect), the header names the caller and their role, every request the pages send carries the
credential, and signing out forgets it. Under `auth="none"` nobody is asked to sign in."""

from __future__ import annotations

import re
import sqlite3
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import expect

from catalog_api.services.api_keys import create_key, revoke_key
from catalog_api.services.audit import audit_log
from catalog_api.services.jobs import wait_for_job
from catalog_api.services.profiling import request_table_profile
from catalog_api.urns import dataset_urn
from tests.support.ui import DEMO_SOURCE, demo_site, table_address, ui_session

CUSTOMERS = dataset_urn(DEMO_SOURCE, "main", "customers")
PAYMENTS = dataset_urn(DEMO_SOURCE, "main", "payments")
CUSTOMERS_PAGE = f"/ui/tables/{quote(CUSTOMERS, safe='')}"


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """A second demo catalog (crawled, not profiled: the report test profiles one table) that answers only callers
    with a credential."""
    with demo_site(tmp_path_factory.mktemp("ui-secured"), profile=False, auth="required",
                   profile_reports_enabled=True) as served:
        yield served


@pytest.fixture(scope="module")
def viewer_key(secured):
    return create_key(secured.ctx, "ui-viewer", ["viewer"])


@pytest.fixture
def visitor(secured, chromium_browser):
    """A browser tab on the secured catalog: the 401 the shell gets before signing in is expected."""
    with ui_session(chromium_browser, secured.url, expected_statuses=(401,)) as session:
        yield session


def _sign_in(page, credential: str) -> None:
    page.get_by_role("heading", name="Sign in").wait_for()
    page.get_by_label("Credential").fill(credential)
    page.get_by_role("button", name="Sign in").click()


def _stored(page) -> int:
    return page.evaluate("sessionStorage.length")


def test_opening_the_ui_without_a_credential_lands_on_sign_in(visitor):
    page = visitor.open("/ui/sources")
    page.get_by_role("heading", name="Sign in").wait_for()
    assert page.url == f"{visitor.base}/ui/signin?next={quote('/ui/sources', safe='')}"
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    visitor.screenshot("signin")
    visitor.assert_clean()


def _refusal(secured, credential: str) -> str:
    """What the API itself answers to the credential: the oracle of the reason the page gives."""
    header = {"X-API-Key": credential} if credential.startswith("cat_") else {"Authorization": f"Bearer {credential}"}
    answer = httpx.get(secured.url + "/api/v1/me", headers=header)
    assert answer.status_code == 401
    return answer.json()["error"]["message"]


@pytest.mark.parametrize("kind", ["unknown key", "revoked key", "token without Entra ID"])
def test_a_refused_credential_is_not_kept_and_the_page_says_why(secured, visitor, kind):
    if kind == "revoked key":
        created = create_key(secured.ctx, "ui-revoked", ["admin"])
        revoke_key(secured.ctx, created.key.id)
        credential = created.secret
    else:
        credential = {"unknown key": "cat_0123456789ab_not-a-secret", "token without Entra ID": "eyJhbGciOi.x.y"}[kind]
    page = visitor.open("/ui/signin?next=/ui/sources")
    _sign_in(page, credential)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The catalog refused this credential")
    expect(alert).to_contain_text(_refusal(secured, credential))
    visitor.screenshot(f"signin-refused-{kind.replace(' ', '-')}")
    assert _stored(page) == 0
    assert page.url.endswith("/ui/signin?next=/ui/sources")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()  # the header still has nobody signed in
    visitor.assert_clean()


def test_a_viewer_signs_in_returns_to_the_page_and_every_request_carries_the_key(secured, visitor, viewer_key):
    page = visitor.open(CUSTOMERS_PAGE + "?tab=history")
    _sign_in(page, viewer_key.secret)
    signed_in = len(visitor.requests)
    page.get_by_role("heading", name="customers").wait_for()
    assert page.url == f"{visitor.base}{CUSTOMERS_PAGE}?tab=history"
    page.get_by_role("tab", name="History", selected=True).wait_for()
    with sqlite3.connect(secured.ctx.settings.file_roots[0] / "demo" / "erp.db") as demo:
        (customers,) = demo.execute("SELECT count(*) FROM customers").fetchone()
    expect(page.get_by_text(f"{customers:,} rows")).to_be_visible()  # the catalog's data, read with the key
    header = page.get_by_label("Signed in")
    expect(header).to_contain_text("ui-viewer")
    expect(header).to_contain_text("viewer")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    visitor.screenshot("signin-signed-in")
    page.get_by_role("link", name="Sources").first.click()
    page.wait_for_url(f"{visitor.base}/ui/sources")
    page.reload()  # the tab keeps its credential: no sign-in again
    visitor.settle()
    assert page.url.endswith("/ui/sources")

    calls = [r for r in visitor.requests[signed_in:] if "/graphql" in r.url or "/api/v1/" in r.url]
    assert calls, "the pages sent no API request after signing in"
    assert [r.url for r in calls if r.headers.get("x-api-key") != viewer_key.secret] == []
    assert [r for r in visitor.responses[signed_in:] if r.status == 401] == []
    visitor.assert_clean()


def test_a_viewer_cannot_change_the_catalog_and_the_page_says_so(secured, visitor, viewer_key):
    """The mutation is sent the way a page's edit control sends it (api.js `gql`): viewers see no such control, so
    the test sends it in their place."""
    page = visitor.open("/ui/signin?next=/ui/sources")
    _sign_in(page, viewer_key.secret)
    page.wait_for_url(f"{visitor.base}/ui/sources")
    mutation = f'mutation {{ setDescription(urn: "{CUSTOMERS}", description: "changed by a viewer") {{ urn }} }}'
    refused = page.evaluate("""async (mutation) => {
        const api = await import("/static/ui/js/api.js");
        try { await api.gql(mutation); return null; }
        catch (error) { return {code: error.code, message: error.message}; }
    }""", mutation)
    assert refused and refused["code"] == "forbidden", refused
    notice = page.get_by_role("alert")  # the shell says what was refused, to whom, with which role
    expect(notice).to_contain_text(f"Not allowed: {refused['message'].rstrip('.')}")
    expect(notice).to_contain_text("Signed in as ui-viewer (viewer)")
    visitor.screenshot("signin-viewer-refused")
    with secured.ctx.db.session() as session:
        entries = audit_log(session, actor=f"api_key:{viewer_key.key.id}", action="mutation setDescription").items
    assert [entry.outcome for entry in entries] == ["forbidden"]
    assert page.url.endswith("/ui/sources")  # a refused action is not a reason to sign in again
    visitor.assert_clean()


@pytest.mark.parametrize("next_page", [
    "https://elsewhere.example/", "//elsewhere.example/ui", "/\\elsewhere.example/ui", "/api/v1/sources",
    "/ui/../api/v1/me", "javascript:alert(1)", "/uix", "/ui/signin?next=https://elsewhere.example/",
])
def test_signing_in_never_leaves_the_ui(secured, visitor, viewer_key, next_page):
    page = visitor.open(f"/ui/signin?next={quote(next_page, safe='')}")
    _sign_in(page, viewer_key.secret)
    page.get_by_label("Signed in").wait_for()
    assert page.url == f"{visitor.base}/ui"
    visitor.assert_clean()


def test_signing_out_forgets_the_credential(secured, visitor, viewer_key):
    page = visitor.open("/ui/signin?next=/ui/sources")
    _sign_in(page, viewer_key.secret)
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    assert _stored(page) == 0
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    page = visitor.open("/ui/sources")
    page.wait_for_url(re.compile(r"/ui/signin\?next="))
    visitor.assert_clean()


def test_without_authentication_nobody_is_asked_to_sign_in(ui):
    page = ui.open("/ui/sources")
    ui.settle()
    assert page.url.endswith("/ui/sources")
    expect(page.locator("header .viewer")).to_have_text("local operator")
    assert page.get_by_role("link", name="Sign in").count() == 0
    assert page.get_by_role("button", name="Sign out").count() == 0
    page = ui.open("/ui/signin?next=/ui/sources")
    expect(page.get_by_role("main")).to_contain_text("runs without authentication")
    ui.assert_clean()


def test_a_key_revoked_while_signed_in_is_forgotten_and_sign_in_returns_to_the_page(secured, visitor, viewer_key):
    revoked = create_key(secured.ctx, "ui-soon-revoked", ["viewer"])
    page = visitor.open("/ui/signin?next=/ui/sources")
    _sign_in(page, revoked.secret)
    page.get_by_label("Signed in").wait_for()
    revoke_key(secured.ctx, revoked.key.id)
    page.reload()
    page.wait_for_url(f"{visitor.base}/ui/signin?next={quote('/ui/sources', safe='')}")
    assert _stored(page) == 0
    _sign_in(page, viewer_key.secret)
    page.wait_for_url(f"{visitor.base}/ui/sources")
    expect(page.get_by_label("Signed in")).to_contain_text("ui-viewer")
    visitor.assert_clean()


def test_a_signed_in_viewer_opens_the_html_report_with_the_key_in_a_header_never_in_an_address(
        secured, visitor, viewer_key):
    """A link cannot send the key: the page fetches the report with it and opens it in a new tab from a blob:
    address, a tab that gets neither the key nor this page, and in which none of the report's scripts run."""
    profiled = wait_for_job(secured.ctx, request_table_profile(secured.ctx, PAYMENTS).id, timeout=300)
    assert profiled.status == "succeeded", profiled.error_message
    assert wait_for_job(secured.ctx, profiled.result["report_job"], timeout=300).status == "succeeded"
    served = httpx.get(f"{secured.url}/api/v1/tables/{quote(PAYMENTS, safe='')}/profile/report",
                       headers={"X-API-Key": viewer_key.secret})  # the API's own answer: the oracle
    assert served.status_code == 200 and httpx.get(served.url).status_code == 401  # a plain link gets nothing
    (title,) = re.findall(r"<title>(.*?)</title>", served.text)

    page = visitor.open(f"/ui/signin?next={quote(table_address(PAYMENTS, 'profile'), safe='')}")
    _sign_in(page, viewer_key.secret)
    with page.context.expect_page() as opening:
        page.get_by_role("link", name="HTML report").click()
    report = opening.value  # opened blank at the click, then sent to the report once it has been read
    report.wait_for_url(lambda address: address.startswith(f"blob:{visitor.base}/"))
    expect(report).to_have_title(title)
    assert report.locator("body").inner_text() != ""
    shown = report.locator(".tab-content > .tab-pane").evaluate_all(
        "(panes) => panes.map((pane) => getComputedStyle(pane).display)")
    assert len(shown) > 1 and set(shown) == {"block"}  # every section, its tabs' hidden ones too
    assert report.evaluate("typeof window.bootstrap") == "undefined"  # none of the report's scripts ran here
    assert report.evaluate("[sessionStorage.length, window.opener]") == [0, None]
    assert _stored(page) == 1  # this tab is still signed in

    reads = [request for request in visitor.requests if "/profile/report" in request.url]
    assert [request.headers.get("x-api-key") for request in reads] == [viewer_key.secret]
    assert [request.url for request in visitor.requests if viewer_key.secret in request.url] == []
    visitor.screenshot("signin-profile-report")
    visitor.assert_clean()
