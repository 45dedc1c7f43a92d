"""`catalog demo`: the sample ERP, registered, crawled, profiled and served."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from catalog_api.cli.common import console, errors, fail, follow, follow_reports, get_settings, service
from catalog_api.cli.server import serve
from catalog_api.errors import CatalogError, InvalidInput

DEMO_SOURCE = "demo_erp"


def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API afterwards.")] = True,
    profile_after: Annotated[bool, typer.Option(
        "--profile/--no-profile", help="Profile the tables after the crawl (in-process: they are small).")] = True,
    wait_reports: Annotated[bool, typer.Option(
        "--wait-reports/--no-wait-reports",
        help="Wait for the profiles' HTML reports before serving; by default they are rendered in the background "
             "(by the server this command starts, or the next one).")] = False,
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only each job's result, one JSON line per job "
                                                           "(for scripts); progress goes to stderr.")] = False,
) -> None:
    """Build the sample ERP database, register it as `demo_erp`, crawl and profile it, and serve the API.

    The database goes to `demo/erp.db` in the first folder of CATALOG_FILE_ROOTS (default `./sources`): sources may
    only read files there, and never inside the catalog's home.
    """
    from catalog_api.demo.builder import build_demo_database
    from catalog_api.services.crawl import request_crawl
    from catalog_api.services.profiling import request_profile
    from catalog_api.services.sources import (
        SourceRegistration,
        SourceUpdate,
        get_source,
        register_source,
        update_source,
    )

    settings = get_settings()
    if not settings.file_roots:
        raise fail(InvalidInput("file_roots", "the demo writes its database under the first folder of "
                                               "CATALOG_FILE_ROOTS, which is empty"))
    path = build_demo_database(Path(settings.file_roots[0]).resolve() / "demo" / "erp.db")
    (errors if as_json else console).print(f"demo ERP database at {path}")
    with service() as ctx:
        try:
            with ctx.db.session() as session:
                registered = get_source(session, DEMO_SOURCE)
        except CatalogError:
            register_source(ctx, SourceRegistration(
                name=DEMO_SOURCE, kind="sqlite", config={"path": str(path)},
                description="Sample ERP: customers, vendors, items, orders, invoices and payments.",
            ))
        else:
            if registered.config.get("path") != str(path):  # registered by an older demo in the home, say
                update_source(ctx, DEMO_SOURCE, SourceUpdate(config={"path": str(path)}))
        job = request_crawl(ctx, DEMO_SOURCE)
        follow(ctx, job.id, as_json=as_json)
        if profile_after:
            profiled = request_profile(ctx, DEMO_SOURCE).id
            follow(ctx, profiled, as_json=as_json)
            follow_reports(ctx, profiled, wait=wait_reports, as_json=as_json)
    if serve_after:
        serve(host=host, port=port)

