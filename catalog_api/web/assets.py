"""The browser assets of GraphiQL (`/graphql`) and Swagger UI (`/docs`), served from the service's own origin.

They are vendored into the package (catalog_api/web/static/vendor/<package>-<version>/, with each license) by
tools/vendor_assets.py, so both pages work on a network without internet and their Content-Security-Policy allows
scripts and styles from 'self' only. A vendored file's path holds its version, so browsers may keep it for a year.
ReDoc is not carried: Swagger UI documents the same OpenAPI description and lets a caller try the routes.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from catalog_api.web.csp import inline_source, page_assets, policy

VENDOR_DIR = Path(__file__).parent / "static" / "vendor"
VENDOR_PATH = "/static/vendor"
"""Where the vendored files are served; public, like the pages that load them."""
IMMUTABLE = "public, max-age=31536000, immutable"

SWAGGER_UI = f"{VENDOR_PATH}/swagger-ui-dist-5.35.0"
DOCS_PATH = "/docs"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"

# A CDN address of strawberry's GraphiQL page: https://unpkg.com/<name>@<version>/<file>.
_UNPKG = re.compile(r"https://unpkg\.com/(?P<name>(?:@[\w.-]+/)?[\w.-]+)@(?P<version>[\w.-]+)/(?P<file>[^\"'\s]+)")


class CachedFiles(StaticFiles):
    """A folder of browser assets, each answer (200, or 304 on revalidation) carrying the cache lifetime that
    `cache_control` chooses for the file asked for; by default a year, immutable (the address names the version)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, check_dir=True)

    def cache_control(self, path: str, scope: Scope) -> str:
        return IMMUTABLE

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = self.cache_control(path, scope)
        return response


class VendoredFiles(CachedFiles):
    """The vendored files, each answered with a year-long, immutable cache lifetime (its path names its version)."""

    def __init__(self) -> None:
        super().__init__(VENDOR_DIR)


def vendored_url(name: str, version: str, file: str) -> str:
    """The local address of `file` of npm package `name`@`version`, as tools/vendor_assets.py lays it out; a file
    that was not vendored is an error at start-up rather than a blank page in a browser."""
    folder = f"{name.replace('@', '').replace('/', '-')}-{version}"
    if not (VENDOR_DIR / folder / file).is_file():
        raise FileNotFoundError(f"{name}@{version}/{file} is not vendored: add it to tools/vendor_assets.py and run it")
    return f"{VENDOR_PATH}/{folder}/{file}"


def local_graphiql(html: str) -> str:
    """Strawberry's GraphiQL page with every unpkg.com address replaced by the vendored copy of the same file (the
    page's integrity hashes still hold: the bytes are the registry's)."""
    return _UNPKG.sub(lambda found: vendored_url(found["name"], found["version"], found["file"]), html)


def page_policy(html: str) -> str:
    """The Content-Security-Policy of a library page: its scripts and style sheets from this origin only, its own
    inline scripts by hash; its components set styles at run time, and it talks to this origin only."""
    assets = page_assets(html)
    return policy(script_src=["'self'", *map(inline_source, assets.inline_scripts)],
                  style_src=["'self'", "'unsafe-inline'"], img_src=["'self'", "data:"], font_src=["'self'", "data:"],
                  connect_src=["'self'"])


def swagger_ui_page(openapi_url: str, title: str) -> HTMLResponse:
    """Swagger UI over `openapi_url`, from the vendored files; no online validator (it would fetch a badge from
    swagger.io for every page view)."""
    page = get_swagger_ui_html(
        openapi_url=openapi_url, title=f"{title} - Swagger UI", oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js", swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png", swagger_ui_parameters={"validatorUrl": None})
    return _with_policy(page)


def oauth2_redirect_page() -> HTMLResponse:
    return _with_policy(get_swagger_ui_oauth2_redirect_html())


def _with_policy(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = page_policy(bytes(page.body).decode())
    return page
