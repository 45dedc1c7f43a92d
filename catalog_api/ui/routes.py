"""Serves the web UI: the HTML shell at `/ui` and every `/ui/...` page, and its scripts and styles at `/static/ui`.

The shell holds no data, so it is public like the files it loads; every page then reads the catalog through
`/graphql` and `/api/v1` with the caller's credentials (docs/ui.md), so the permissions and masking of the API
apply to the UI unchanged. The shell names each of the UI's files with a digest of its content (`?v=…`, through the
import map for modules), so a browser keeps them for a year and an upgrade, which changes the digests, takes effect
at once; a file asked for without its current digest is answered `no-cache` (revalidated by its ETag).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import APIRouter
from starlette.responses import HTMLResponse
from starlette.types import Scope

from catalog_api.rest.security import public
from catalog_api.web.assets import IMMUTABLE, CachedFiles, vendored_url
from catalog_api.web.csp import inline_source, policy

UI_PATH = "/ui"
UI_STATIC_PATH = "/static/ui"
UI_STATIC_DIR = Path(__file__).parent / "static"

STYLESHEETS = ("base", "search", "browse", "table", "profile", "lineage", "jobs")
"""One style sheet per area of the UI (static/css/<area>.css), so areas are styled and changed independently."""

router = APIRouter(include_in_schema=False)


def versioned(digests: dict[str, str], name: str) -> str:
    """The versioned address of a UI file (`js/app.js`, `css/base.css`)."""
    return f"{UI_STATIC_PATH}/{name}?v={digests[name]}"


@dataclass(frozen=True)
class UiBuild:
    """The UI's files as the shell names them: each file's digest, and the shell that names them."""

    digests: dict[str, str]
    """Each file (its path under static/) with the first 12 hex digits of its content's SHA-256."""
    page: str
    policy: str


def build(directory: Path) -> UiBuild:
    """The build of the UI files in `directory`: their digests, read once, and the shell naming them."""
    digests = {path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
               for path in sorted(directory.rglob("*")) if path.is_file()}
    return UiBuild(digests, *_shell(digests))


@lru_cache(maxsize=1)
def current_build() -> UiBuild:
    """The build of the files the package ships, computed once per process (the service has no reload mode: the
    files change with an upgrade, which restarts it), so a shell or a file costs no look at the disk."""
    return build(UI_STATIC_DIR)


class UiFiles(CachedFiles):
    """The UI's own modules and styles: immutable under their current digest, revalidated (ETag) otherwise."""

    def __init__(self) -> None:
        super().__init__(UI_STATIC_DIR)
        current_build()  # at start-up: a missing vendored file fails here, not in a user's first page

    def cache_control(self, path: str, scope: Scope) -> str:
        asked = parse_qs(scope.get("query_string", b"").decode()).get("v")
        digests = current_build().digests
        return IMMUTABLE if path in digests and asked == [digests[path]] else "no-cache"


def _import_map(digests: dict[str, str]) -> dict[str, str]:
    """Bare module names the pages import, mapped to the vendored files (tools/vendor_assets.py), and each UI module's
    address mapped to its versioned one."""
    return {
        "preact": vendored_url("preact", "11.2.0", "dist/preact.mjs"),
        "preact/hooks": vendored_url("preact", "11.2.0", "hooks/dist/hooks.mjs"),
        "htm": vendored_url("htm", "3.1.1", "dist/htm.mjs"),
        "@dagrejs/dagre": vendored_url("@dagrejs/dagre", "3.1.4", "dist/dagre.esm.js"),
        **{f"{UI_STATIC_PATH}/{name}": versioned(digests, name) for name in digests if name.endswith(".js")},
    }


def _shell(digests: dict[str, str]) -> tuple[str, str]:
    """The page every UI address answers, and its Content-Security-Policy."""
    imports = _import_map(digests)
    import_map = json.dumps({"imports": imports})
    links = "\n".join(f'<link rel="stylesheet" href="{versioned(digests, f"css/{name}.css")}">' for name in STYLESHEETS)
    # Every module at once, rather than level by level as the imports are discovered (a first visit).
    preloads = "\n".join(f'<link rel="modulepreload" href="{url}">' for url in imports.values())
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Catalog</title>
<link rel="icon" href="data:,">
{links}
<script type="importmap">{import_map}</script>
{preloads}
<script type="module" src="{versioned(digests, "js/app.js")}"></script>
</head><body><div id="app"><noscript>The catalog's web UI needs JavaScript.</noscript></div></body></html>
"""
    # The pages run this origin's scripts and the import map, draw charts as SVG and inline styles, talk to this
    # origin only (GraphQL, REST, the event stream) and load images only from it (or data: URLs).
    csp = policy(script_src=["'self'", inline_source(import_map)], style_src=["'self'", "'unsafe-inline'"],
                 img_src=["'self'", "data:"], connect_src=["'self'"])
    return page, csp


def shell() -> HTMLResponse:
    build = current_build()
    return HTMLResponse(build.page, headers={"Content-Security-Policy": build.policy, "Cache-Control": "no-cache"})


@router.get(UI_PATH, dependencies=[public()])
def ui_home() -> HTMLResponse:
    """The UI's start page (search)."""
    return shell()


@router.get(UI_PATH + "/{page:path}", dependencies=[public()])
def ui_page(page: str) -> HTMLResponse:
    """Any page of the UI: the shell loads, and its router draws the page the address names."""
    return shell()
